"""Metric-learning losses: pairs, triplets and in-batch contrastive objectives on embeddings.

Three shapes of input occur here:

* **pairs and triplets** (:func:`contrastive`, :func:`triplet_margin`,
  :func:`cosine_embedding`): embeddings ``[..., D]`` with the feature axis last;
  ``reduction="none"`` gives one loss per pair or triplet (shape ``[...]``).
* **scores** (:func:`margin_ranking`, :func:`hinge_embedding`): element-wise, like PyTorch.
* **sets** (:func:`ntxent`, :func:`supervised_contrastive`, :func:`circle`): every example
  contrasts with the others of its set, so the unit of the contract is a *set*: embeddings
  ``[..., N, D]`` with integer labels ``[..., N]`` give one loss per set (shape ``[...]``);
  ``where``/``weights`` act on whole sets. A single batch ``[N, D]`` is one set and gives a
  scalar. This keeps ``where`` equal to slicing: dropping a set cannot change another's loss.

Distances and norms are safe at zero: identical embeddings and zero vectors give finite values
and gradients (the gradient of a norm at 0 is taken as 0, a subgradient).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from lossjax import _core
from lossjax._core import Array, ArrayLike, Reduction
from lossjax._samples import metric_learning as fixtures
from lossjax.registry import NONNEGATIVE, POSITIVE, Choice, Hyper, Interval, _builtin

# ------------------------------------------------------------------------------ helpers


def _safe_pnorm(v: Array, p) -> Array:
    """``||v||_p`` along the last axis; scaled (no underflow) and with gradient 0 at ``v = 0``."""
    m = jax.lax.stop_gradient(jnp.max(jnp.abs(v), axis=-1, keepdims=True))
    m_safe = jnp.where(m > 0, m, 1.0)
    s = jnp.sum(jnp.abs(v / m_safe) ** p, axis=-1)
    pos = ~(s <= 0)  # NaN takes the norm branch: a NaN coordinate gives a NaN norm, not 0
    return jnp.where(pos, m_safe[..., 0] * jnp.where(pos, s, 1.0) ** (1.0 / p), 0.0)


def _unit(x: Array) -> Array:
    """``x / ||x||_2`` along the last axis; 0 (with gradient 0) for a zero vector.

    A vector with a NaN coordinate gives a NaN vector (not the zero vector).
    """
    n2 = jnp.sum(x * x, axis=-1, keepdims=True)
    pos = ~(n2 <= 0)
    return jnp.where(pos, x * jax.lax.rsqrt(jnp.where(pos, n2, 1.0)), 0.0)


def _cosine_matrix(x: Array, ref: Array | None = None) -> Array:
    """Cosine similarities ``[..., N, M]`` of the rows of ``x`` ``[..., N, D]`` with those of
    ``ref`` ``[..., M, D]`` (``ref = x`` when None: ``[..., N, N]``)."""
    u = _unit(x)
    return jnp.einsum("...id,...jd->...ij", u, u if ref is None else _unit(ref))


def _masked_lse(x: Array, mask: Array, axis: int = -1) -> tuple[Array, Array]:
    """``log sum_{mask} exp(x)`` along ``axis`` and whether the set is non-empty.

    An empty set gives 0 (not ``-inf``) with zero gradient; callers use the flag.
    """
    has = jnp.any(mask, axis=axis)
    m = jnp.max(jnp.where(mask, x, -jnp.inf), axis=axis, keepdims=True)
    m = jax.lax.stop_gradient(jnp.where(jnp.isfinite(m), m, 0.0))
    e = jnp.exp(jnp.where(mask, x - m, -jnp.inf))
    total = jnp.sum(e, axis=axis)
    return jnp.where(has, jnp.log(jnp.where(has, total, 1.0)) + jnp.squeeze(m, axis), 0.0), has


def _finish(name, loss, mask, w, reduction):
    return _core.reduce(loss, weights=w, where=mask, reduction=reduction, loss_name=name)


def _embedding(name: str, arg: str, x: ArrayLike) -> Array:
    a = _core.float_input(arg, x, name)
    if a.ndim == 0:
        raise ValueError(f"{name}: `{arg}` must have a feature axis [..., D]; got a scalar.")
    return a


def _signed_boundary_check(name, y):
    return [(jnp.isin(jnp.asarray(y), jnp.array([-1, 1])), f"{name}: targets must be 1 or -1")]


# ---------------------------------------------------------------------------- contrastive


@_builtin(
    task="metric_learning",
    predictions="embeddings",
    targets="binary (1 = similar pair)",
    granularity="example",
    units=("pair", "``[...]``"),
    bounded=False,
    convex=False,
    twice_differentiable=False,
    hyper={"margin": NONNEGATIVE},
    sample=fixtures.pair_sample,
    boundary=fixtures.pair_boundary,
    diff_argnums=(0, 1),
    batch_argnums=(0, 1, 2),
    peers={},
)
def contrastive(
    embeddings_a: ArrayLike,
    embeddings_b: ArrayLike,
    targets: ArrayLike,
    *,
    margin: float = 1.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Contrastive pair loss: ``y d**2 / 2 + (1 - y) max(0, margin - d)**2 / 2``.

    .. math::

       \ell(a, b, y) = \tfrac{1}{2}\, y\, d^2 + \tfrac{1}{2}\, (1 - y) \max(0,\, m - d)^2,
       \qquad d = \lVert a - b \rVert_2

    with :math:`m` the ``margin``; :math:`y = 1` marks a similar pair (Hadsell et al. write
    ``Y = 0`` for similar pairs; the targets here follow the more common ``1 = similar``).
    Similar pairs are pulled together, dissimilar pairs pushed apart until they are ``margin``
    away. The gradient of ``d`` at ``d = 0`` is taken as 0.

    Args:
      embeddings_a: embeddings ``[..., D]``.
      embeddings_b: embeddings of the same shape.
      targets: ``[...]``, 1 for a similar pair and 0 for a dissimilar one.
      margin: the distance beyond which dissimilar pairs cost nothing (``>= 0``).

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> a, b = jnp.array([[0.0, 0.0], [0.0, 0.0]]), jnp.array([[0.6, 0.8], [0.3, 0.4]])
      >>> losses = lossjax.contrastive(a, b, jnp.array([1.0, 0.0]), reduction="none")
      >>> [round(v, 4) for v in losses.tolist()]
      [0.5, 0.125]

    Reference:
      Hadsell, Chopra and LeCun, "Dimensionality Reduction by Learning an Invariant
      Mapping", CVPR (2006), eq. 4.
    """
    name = _core.loss_name()
    a = _embedding(name, "embeddings_a", embeddings_a)
    b = _core.float_input("embeddings_b", embeddings_b, name)
    _core.check_same_shape("embeddings_a", a, "embeddings_b", b, name)
    y = _core.numeric_input("targets", targets, name)
    unit = a.shape[:-1]
    _core.check_shape("targets", y, unit, name, "one target per pair")
    dtype = _core.compute_dtype(a, b, y)
    mask = _core.prepare_where(where, unit, name)
    w = _core.prepare_weights(weights, unit, dtype, name)
    a = _core.mask_safe(mask, a.astype(dtype), 0.0, axis=-1)
    b = _core.mask_safe(mask, b.astype(dtype), 0.0, axis=-1)
    y = _core.mask_safe(mask, y.astype(dtype), 0.0)
    diff = a - b
    d2 = jnp.sum(diff * diff, axis=-1)
    d = _safe_pnorm(diff, 2.0)
    loss = 0.5 * (y * d2 + (1.0 - y) * jax.nn.relu(margin - d) ** 2)
    return _finish(name, loss, mask, w, reduction)


# -------------------------------------------------------------------------------- triplet


@_builtin(
    aliases=("triplet",),
    task="metric_learning",
    predictions="embeddings",
    targets="embeddings (positives, negatives)",
    granularity="example",
    units=("triplet", "``[...]``"),
    bounded=False,
    convex=False,
    twice_differentiable=False,
    hyper={
        "margin": NONNEGATIVE,
        "p": Interval(1.0, math.inf),
        "eps": NONNEGATIVE,
        "swap": Hyper(Choice((False, True)), static=True,
                      why_static="a flag that chooses the formula (different code)"),
        "distance": Hyper(None, static=True, optional=True,
                           why_static="a Python callable (code, not a number)"),
    },
    sample=fixtures.triplet_sample,
    boundary=fixtures.triplet_boundary,
    diff_argnums=(0, 1, 2),
    batch_argnums=(0, 1, 2),
    peers={
        "optax": "triplet_margin_loss",
        "torch": "triplet_margin_loss / triplet_margin_with_distance_loss",
    },
)
def triplet_margin(
    anchors: ArrayLike,
    positives: ArrayLike,
    negatives: ArrayLike,
    *,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    distance: Callable[[Array, Array], Array] | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Triplet margin loss: ``max(d(a, p) - d(a, n) + margin, 0)``.

    .. math::

       \ell = \max\bigl(d(a, x^{+}) - d^{-} + m,\, 0\bigr), \qquad
       d(u, v) = \lVert u - v + \epsilon \rVert_p, \qquad
       d^{-} = \begin{cases} \min\bigl(d(a, x^{-}),\, d(x^{+}, x^{-})\bigr) & \text{swap} \\
         d(a, x^{-}) & \text{otherwise} \end{cases}

    with :math:`a`, :math:`x^{+}`, :math:`x^{-}` the anchor, positive and negative, :math:`m`
    the ``margin``, and by default :math:`d` the ``p``-norm with :math:`\epsilon` the ``eps``
    added to every coordinate of the difference (as ``torch.nn.functional.pairwise_distance``),
    so the value matches ``torch.nn.functional.triplet_margin_loss``; optax's
    ``triplet_margin_loss`` instead adds ``eps`` inside the sum
    (``(sum |x - y|**p + eps)**(1/p)``), which differs by ``O(eps)``. With ``eps=0`` both agree
    exactly; the gradient of the norm at 0 is then taken as 0. ``swap=True`` is the distance
    swap of Balntas et al. ``distance`` (static; a Python callable ``(x, y) -> [...]`` on
    ``[..., D]`` arrays) replaces the p-norm, as
    ``torch.nn.functional.triplet_margin_with_distance_loss``; it must be hashable and safe at
    identical inputs.

    Args:
      anchors: embeddings ``[..., D]``.
      positives: embeddings of the same shape (should be close to the anchors).
      negatives: embeddings of the same shape (should be far from the anchors).
      margin: required gap between the negative and the positive distance (``>= 0``).
      p: norm degree (``>= 1``).
      eps: added to the difference before the norm (``>= 0``).
      swap: use the distance swap (static).
      distance: optional distance function (static); ``p`` and ``eps`` are then unused.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> a = jnp.array([[0.0, 0.0]])
      >>> pos, neg = jnp.array([[0.0, 1.0]]), jnp.array([[1.5, 0.0]])
      >>> float(lossjax.triplet_margin(a, pos, neg, eps=0.0))
      0.5

    Reference:
      Balntas, Riba, Ponsa and Mikolajczyk, "Learning local feature descriptors with
      triplets and shallow convolutional neural networks", BMVC (2016); Schroff, Kalenichenko
      and Philbin, "FaceNet", CVPR (2015).
    """
    name = _core.loss_name()
    a = _embedding(name, "anchors", anchors)
    pos = _core.float_input("positives", positives, name)
    neg = _core.float_input("negatives", negatives, name)
    _core.check_same_shape("anchors", a, "positives", pos, name)
    _core.check_same_shape("anchors", a, "negatives", neg, name)
    if distance is not None and not callable(distance):
        raise TypeError(f"{name}: `distance` must be a callable (x, y) -> distances.")
    unit = a.shape[:-1]
    dtype = _core.compute_dtype(a, pos, neg)
    mask = _core.prepare_where(where, unit, name)
    w = _core.prepare_weights(weights, unit, dtype, name)
    a, pos, neg = (_core.mask_safe(mask, x.astype(dtype), 0.0, axis=-1) for x in (a, pos, neg))
    if distance is None:
        dist = lambda x, y: _safe_pnorm(x - y + eps, p)
    else:
        def dist(x, y):
            d = jnp.asarray(distance(x, y))
            if d.shape != unit:
                raise ValueError(
                    f"{name}: `distance` returned shape {d.shape}; expected {unit} (one "
                    "distance per row)."
                )
            return d.astype(dtype)
    d_ap = dist(a, pos)
    d_an = dist(a, neg)
    if swap:
        d_an = jnp.minimum(d_an, dist(pos, neg))
    loss = jax.nn.relu(d_ap - d_an + margin)
    return _finish(name, loss, mask, w, reduction)


# ------------------------------------------------------------------- margin / hinge on scores


@_builtin(
    task="metric_learning",
    predictions="scores",
    targets="signed (1: first should rank higher)",
    granularity="element",
    bounded=False,
    convex=True,
    twice_differentiable=False,
    hyper={"margin": Interval()},
    sample=fixtures.score_triple_sample,
    boundary=fixtures.score_triple_boundary,
    diff_argnums=(0, 1),
    batch_argnums=(0, 1, 2),
    peers={"torch": "margin_ranking_loss"},
)
def margin_ranking(
    scores_a: ArrayLike,
    scores_b: ArrayLike,
    targets: ArrayLike,
    *,
    margin: float = 0.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Margin ranking loss: ``max(0, -y (a - b) + margin)``, element-wise.

    .. math::

       \ell(a, b, y) = \max\bigl(0,\, -y\, (a - b) + m\bigr)

    with :math:`m` the ``margin``: ``y = 1`` says ``a`` should score higher than ``b`` by at
    least ``margin``; ``y = -1`` the opposite.

    Args:
      scores_a: scores of any shape.
      scores_b: scores of the same shape.
      targets: ``1`` or ``-1``, same shape.
      margin: the required gap (any real; default 0).

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> a, b, y = jnp.array([1.0, 1.0]), jnp.array([0.5, 0.5]), jnp.array([1.0, -1.0])
      >>> lossjax.margin_ranking(a, b, y, margin=1.0, reduction="none").tolist()
      [0.5, 1.5]

    Reference:
      Herbrich, Graepel and Obermayer, "Large Margin Rank Boundaries for Ordinal Regression"
      (2000); the same formula as ``torch.nn.functional.margin_ranking_loss``.
    """
    name = _core.loss_name()
    a = _core.float_input("scores_a", scores_a, name)
    b = _core.float_input("scores_b", scores_b, name)
    y = _core.numeric_input("targets", targets, name)
    _core.check_same_shape("scores_a", a, "scores_b", b, name)
    _core.check_same_shape("scores_a", a, "targets", y, name)
    dtype = _core.compute_dtype(a, b, y)
    mask = _core.prepare_where(where, a.shape, name)
    w = _core.prepare_weights(weights, a.shape, dtype, name)
    a, b, y = (_core.mask_safe(mask, x.astype(dtype), 0.0) for x in (a, b, y))
    return _finish(name, jax.nn.relu(margin - y * (a - b)), mask, w, reduction)


@_builtin(
    task="metric_learning",
    predictions="values",
    targets="signed (1 = similar)",
    granularity="element",
    bounded=False,
    convex=True,
    twice_differentiable=False,
    hyper={"margin": Interval()},
    sample=fixtures.hinge_emb_sample,
    boundary=fixtures.hinge_emb_boundary,
    peers={"torch": "hinge_embedding_loss"},
)
def hinge_embedding(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    margin: float = 1.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Hinge embedding loss: ``x`` for ``y = 1`` and ``max(0, margin - x)`` for ``y = -1``.

    .. math::

       \ell(x, y) = [y \ne -1]\, x + [y \ne 1] \max(0,\, m - x)

    with :math:`[\cdot]` 1 when true and 0 otherwise and :math:`m` the ``margin``. ``x`` is
    usually a distance between two embeddings (e.g. an L1 distance): similar pairs
    (``y = 1``) are pulled to distance 0, dissimilar ones pushed beyond ``margin``. As in
    PyTorch, a target that is neither 1 nor -1 gets both terms; unlike PyTorch (which reads
    it that way too), a NaN target gives NaN.

    Args:
      predictions: distances (or any scores) of any shape.
      targets: ``1`` or ``-1``, same shape.
      margin: the margin for dissimilar pairs.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x, y = jnp.array([0.25, 0.25, 2.0]), jnp.array([1.0, -1.0, -1.0])
      >>> lossjax.hinge_embedding(x, y, reduction="none").tolist()
      [0.25, 0.75, 0.0]

    Reference:
      The definition of ``torch.nn.HingeEmbeddingLoss`` (PyTorch documentation).
    """
    name = _core.loss_name()

    def fn(x, y):
        loss = jnp.where(y != -1, x, 0.0) + jnp.where(y != 1, jax.nn.relu(margin - x), 0.0)
        return jnp.where(jnp.isnan(y), y, loss)  # a NaN target is neither +1 nor -1: NaN

    return _core.elementwise(name, fn, predictions, targets, weights=weights, where=where,
                             reduction=reduction, safe=(0.0, 1.0))


# -------------------------------------------------------------------------- cosine embedding


@_builtin(
    task="metric_learning",
    predictions="embeddings",
    targets="signed (1 = similar pair)",
    granularity="example",
    units=("pair", "``[...]``"),
    bounded=True,
    convex=False,
    twice_differentiable=False,
    hyper={"margin": Interval(-1.0, 1.0)},
    sample=fixtures.cosine_sample,
    boundary=fixtures.cosine_boundary,
    diff_argnums=(0, 1),
    batch_argnums=(0, 1, 2),
    peers={"torch": "cosine_embedding_loss"},
)
def cosine_embedding(
    embeddings_a: ArrayLike,
    embeddings_b: ArrayLike,
    targets: ArrayLike,
    *,
    margin: float = 0.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Cosine embedding loss: ``1 - cos(a, b)`` for ``y = 1``, ``max(0, cos(a, b) - margin)``
    for ``y = -1``.

    .. math::

       \ell(a, b, y) = [y = 1]\, (1 - \cos) + [y = -1] \max(0,\, \cos - m), \qquad
       \cos = \frac{\langle a, b \rangle}
         {\sqrt{(\lVert a \rVert^2 + \epsilon)\,(\lVert b \rVert^2 + \epsilon)}}

    with :math:`[\cdot]` 1 when true and 0 otherwise, :math:`m` the ``margin`` and
    :math:`\epsilon = 10^{-12}` as in PyTorch, so a zero vector has cosine 0 and a finite
    gradient (for float16 inputs ``eps`` is about 1e-9, which keeps that gradient, about
    ``1 / sqrt(eps)``, finite). As in PyTorch, a target that is neither 1 nor -1 gets loss 0,
    except a NaN target, which gives NaN (never a finite number for garbage). A NaN coordinate
    gives NaN.

    Args:
      embeddings_a: embeddings ``[..., D]``.
      embeddings_b: embeddings of the same shape.
      targets: ``[...]``, ``1`` (similar) or ``-1`` (dissimilar).
      margin: in ``[-1, 1]``; dissimilar pairs cost nothing below this cosine.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> a, b = jnp.array([[1.0, 0.0], [1.0, 0.0]]), jnp.array([[1.0, 1.0], [1.0, 1.0]])
      >>> [round(v, 4) for v in lossjax.cosine_embedding(a, b, jnp.array([1.0, -1.0]),
      ...                                                 reduction="none").tolist()]
      [0.2929, 0.7071]

    Reference:
      The definition of ``torch.nn.CosineEmbeddingLoss`` (PyTorch documentation).
    """
    name = _core.loss_name()
    a = _embedding(name, "embeddings_a", embeddings_a)
    b = _core.float_input("embeddings_b", embeddings_b, name)
    _core.check_same_shape("embeddings_a", a, "embeddings_b", b, name)
    y = _core.numeric_input("targets", targets, name)
    unit = a.shape[:-1]
    _core.check_shape("targets", y, unit, name, "one target per pair")
    # PyTorch's 1e-12; for float16 inputs the square of the gradient floor, so that the
    # gradient at a zero vector (about 1 / sqrt(eps)) stays finite in float16
    eps0 = max(1e-12, _core.grad_floor(a.dtype) ** 2, _core.grad_floor(b.dtype) ** 2)
    dtype = _core.compute_dtype(a, b, y)
    mask = _core.prepare_where(where, unit, name)
    w = _core.prepare_weights(weights, unit, dtype, name)
    a = _core.mask_safe(mask, a.astype(dtype), 0.0, axis=-1)
    b = _core.mask_safe(mask, b.astype(dtype), 0.0, axis=-1)
    y = _core.mask_safe(mask, y.astype(dtype), 1.0)
    # scale each pair by its largest coordinate first: the products cannot overflow float32
    scale = jax.lax.stop_gradient(jnp.maximum(jnp.max(jnp.abs(a), -1, keepdims=True),
                                              jnp.max(jnp.abs(b), -1, keepdims=True)))
    scale = jnp.where(scale > 1.0, scale, 1.0)
    sa, sb = a / scale, b / scale
    s2 = scale[..., 0] ** 2
    eps = eps0 / s2
    cos = jnp.sum(sa * sb, -1) * jax.lax.rsqrt(
        (jnp.sum(sa * sa, -1) + eps) * (jnp.sum(sb * sb, -1) + eps))
    loss = jnp.where(y == 1, 1.0 - cos, 0.0) + jnp.where(y == -1, jax.nn.relu(cos - margin), 0.0)
    loss = jnp.where(jnp.isnan(y), y, loss)  # a NaN target is neither +1 nor -1: NaN
    return _finish(name, loss, mask, w, reduction)


# ------------------------------------------------------------------------------- set losses


def _set_inputs(name, embeddings, labels, weights, where):
    x = _core.float_input("embeddings", embeddings, name)
    if x.ndim < 2:
        raise ValueError(
            f"{name}: `embeddings` must be a set [..., N, D] (N embeddings of size D); got "
            f"shape {tuple(x.shape)}."
        )
    y = _core.integer_input("labels", labels, name)
    _core.check_shape("labels", y, x.shape[:-1], name, "one integer label per embedding")
    unit = x.shape[:-2]
    dtype = _core.compute_dtype(x)
    mask = _core.prepare_where(where, unit, name)
    w = _core.prepare_weights(weights, unit, dtype, name)
    m = None if mask is None else mask[..., None]
    x = _core.mask_safe(m, x.astype(dtype), 0.0, axis=-1)
    same = y[..., :, None] == y[..., None, :]
    eye = _core.lift(jnp.eye(x.shape[-2], dtype=bool), same.ndim)
    return x, same & ~eye, ~same, eye, mask, w


_SET = dict(
    task="metric_learning",
    predictions="embeddings",
    targets="labels",
    granularity="example",
    units=("set", "``[...]``"),
    bounded=False,
    convex=False,
    sample=fixtures.set_sample,
    boundary=fixtures.set_boundary(),
)


@_builtin(
    aliases=("info_nce", "nt_xent"),
    hyper={"temperature": POSITIVE},
    peers={"optax": "ntxent"},
    **_SET,
)
def ntxent(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    temperature: float = 0.07,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""NT-Xent (normalized temperature-scaled cross-entropy; InfoNCE with in-set negatives).

    .. math::

       \ell = \frac{1}{|\mathcal{P}|} \sum_{(i, j) \in \mathcal{P}}
         -\log \frac{e^{s_{ij}}}{e^{s_{ij}} + \sum_{k : y_k \ne y_i} e^{s_{ik}}},
       \qquad s_{ij} = \frac{\cos(x_i, x_j)}{\tau}

    with :math:`\tau` the ``temperature`` and :math:`\mathcal{P}` the ordered positive pairs
    of the set (:math:`i \ne j`, same label :math:`y`): the loss of a set is the mean over its
    positive pairs (0 when it has none).
    This is the formulation of optax's ``ntxent`` (and pytorch-metric-learning's
    ``NTXentLoss``), which agrees with SimCLR when each label occurs exactly twice.

    A set is the unit of the contract: ``embeddings [..., N, D]`` and ``labels [..., N]``
    give one loss per set; a single ``[N, D]`` batch gives a scalar, equal to
    ``optax.ntxent``. Zero vectors have cosine 0 with every vector (and gradient 0).

    Args:
      embeddings: ``[..., N, D]``: sets of ``N`` embeddings.
      labels: integer ``[..., N]``; equal labels within a set mark positive pairs.
      temperature: ``> 0``.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x = jnp.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
      >>> round(float(lossjax.ntxent(x, jnp.array([0, 0, 1, 1]), temperature=0.5)), 4)
      0.2899

    Reference:
      Chen, Kornblith, Norouzi and Hinton, "A Simple Framework for Contrastive Learning of
      Visual Representations", ICML (2020); van den Oord, Li and Vinyals, "Representation
      Learning with Contrastive Predictive Coding" (2018).
    """
    name = _core.loss_name()
    x, pos, neg, _, mask, w = _set_inputs(name, embeddings, labels, weights, where)
    s = _cosine_matrix(x) / temperature
    neg_lse, _ = _masked_lse(s, neg)  # [..., N]; 0 (unused) where there is no negative
    has_neg = jnp.any(neg, -1)
    # -log(exp(s_ij) / (exp(s_ij) + exp(neg_lse_i))) = softplus(neg_lse_i - s_ij)
    pair = jnp.where(has_neg[..., None], jax.nn.softplus(neg_lse[..., None] - s), 0.0)
    n_pairs = jnp.sum(pos, axis=(-2, -1))
    total = jnp.sum(jnp.where(pos, pair, 0.0), axis=(-2, -1))
    loss = _core.safe_divide(total, n_pairs.astype(total.dtype))
    return _finish(name, loss, mask, w, reduction)


@_builtin(
    aliases=("supcon",),
    hyper={"temperature": POSITIVE},
    peers={},
    **_SET,
)
def supervised_contrastive(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    temperature: float = 0.1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Supervised contrastive loss (SupCon, ``L_out``).

    .. math::

       \ell = \frac{1}{|A|} \sum_{i \in A} \frac{-1}{|P(i)|} \sum_{p \in P(i)}
         \Bigl(s_{ip} - \log \sum_{a \ne i} e^{s_{ia}}\Bigr),
       \qquad s_{ia} = \frac{z_i \cdot z_a}{\tau}

    with :math:`z` the unit embeddings, :math:`\tau` the ``temperature``, :math:`P(i)` the
    positives of anchor :math:`i` (same label, not :math:`i`) and :math:`A` the anchors that
    have at least one positive (the loss is 0 when none has). The official
    code's extra factor ``temperature / base_temperature`` is left out (it is 1 by default).

    Args:
      embeddings: ``[..., N, D]``: sets of ``N`` embeddings (normalized inside).
      labels: integer ``[..., N]``.
      temperature: ``> 0``.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x = jnp.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
      >>> round(float(lossjax.supervised_contrastive(x, jnp.array([0, 0, 1, 1]))), 4)
      0.0003

    Reference:
      Khosla et al., "Supervised Contrastive Learning", NeurIPS (2020), eq. 2.
    """
    name = _core.loss_name()
    x, pos, _, eye, mask, w = _set_inputs(name, embeddings, labels, weights, where)
    s = _cosine_matrix(x) / temperature
    lse, _ = _masked_lse(s, jnp.broadcast_to(~eye, s.shape))
    n_pos = jnp.sum(pos, -1)
    has_pos = n_pos > 0
    anchor = jnp.sum(jnp.where(pos, lse[..., None] - s, 0.0), -1)
    anchor = jnp.where(has_pos, anchor / jnp.where(has_pos, n_pos, 1).astype(s.dtype), 0.0)
    n_anchors = jnp.sum(has_pos, -1).astype(s.dtype)
    loss = _core.safe_divide(jnp.sum(anchor, -1), n_anchors)
    return _finish(name, loss, mask, w, reduction)


def _ref_inputs(name, x, labels, ref_embeddings, ref_labels, mask):
    """The reference set of :func:`circle`: ``ref [..., M, D]`` (safe where ``mask`` drops a
    set), positives and negatives ``[..., N, M]`` and the common dtype."""
    if (ref_embeddings is None) != (ref_labels is None):
        given = "ref_labels" if ref_embeddings is None else "ref_embeddings"
        raise ValueError(f"{name}: pass `ref_embeddings` and `ref_labels` together (or "
                         f"neither); got only `{given}`.")
    r = _core.float_input("ref_embeddings", ref_embeddings, name)
    if r.ndim != x.ndim or r.shape[:-2] != x.shape[:-2] or r.shape[-1] != x.shape[-1]:
        raise ValueError(
            f"{name}: `ref_embeddings` must have shape {(*x.shape[:-2], 'M', x.shape[-1])} (the "
            f"embeddings' set axes, then M reference embeddings of the same size); got "
            f"{tuple(r.shape)}.")
    ry = _core.integer_input("ref_labels", ref_labels, name)
    _core.check_shape("ref_labels", ry, r.shape[:-1], name,
                      "one integer label per reference embedding")
    y = _core.integer_input("labels", labels, name)
    dtype = _core.compute_dtype(x, r)
    m = None if mask is None else mask[..., None]
    r = _core.mask_safe(m, r.astype(dtype), 0.0, axis=-1)
    same = y[..., :, None] == ry[..., None, :]
    return r, same, ~same, dtype


@_builtin(
    hyper={"gamma": POSITIVE, "margin": Interval(0.0, 1.0)},
    peers={"keras": "Circle (Keras's mean is over the anchors with a non-zero loss, lossjax's "
                    "over all anchors: an anchor without a positive or a negative counts as 0)"},
    twice_differentiable=False,
    **{**_SET, "sample": fixtures.circle_sample,
       "boundary": fixtures.set_boundary(fixtures.circle_ref_boundary)},
)
def circle(
    embeddings: ArrayLike,
    labels: ArrayLike,
    ref_embeddings: ArrayLike | None = None,
    ref_labels: ArrayLike | None = None,
    *,
    gamma: float = 80.0,
    margin: float = 0.4,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Circle loss on the cosine similarities within a set.

    .. math::

       \begin{aligned}
       \ell &= \frac{1}{N} \sum_{i=1}^{N} \operatorname{softplus}\Bigl(
         \log \sum_{p} e^{-\gamma \alpha_p (s_p - 1 + m)}
         + \log \sum_{n} e^{\gamma \alpha_n (s_n - m)}
         \Bigr),\\
       \alpha_p &= \max(0,\, 1 + m - s_p), \qquad \alpha_n = \max(0,\, s_n + m)
       \end{aligned}

    with :math:`s_p`, :math:`s_n` the cosine similarities of anchor :math:`i` to its positives
    and negatives (the other members with the same / another label), :math:`\gamma` the
    ``gamma`` and :math:`m` the ``margin``: the mean over all :math:`N` anchors of the set, an
    anchor without a positive or a negative counting 0. ``keras.losses.Circle`` (whose default
    ``gamma=80``, ``margin=0.4`` are kept) has the same per-anchor loss but masks the anchors
    whose loss is 0 out of its mean (``set_keras_mask(loss, loss > 0)``): where some anchors
    have no positive or no negative, Keras's value is lossjax's times
    ``N / (number of anchors with both)``. The weights ``alpha`` are differentiated (as Keras;
    the authors' code holds them constant).

    With ``ref_embeddings`` ``[..., M, D]`` and ``ref_labels`` ``[..., M]`` (both or neither)
    the anchors are compared with this separate reference set instead of with their own set:
    ``s`` is the ``[..., N, M]`` matrix of cosines between embeddings and references, every
    reference with the anchor's label is a positive and every other one a negative, and no
    pair is dropped (a reference is not the anchor itself, even when it holds the same
    vector). This is ``keras.losses.circle(labels, embeddings, ref_labels, ref_embeddings,
    remove_diagonal=False)`` per anchor; Keras's default ``remove_diagonal=True`` drops the
    pairs ``(i, i)`` of the ``N x M`` matrix also for a separate reference set. The
    references belong to their set: ``where`` and ``weights`` act on sets as before, and a
    NaN in a kept set's reference is NaN.

    Args:
      embeddings: ``[..., N, D]``: sets of ``N`` embeddings (normalized inside).
      labels: integer ``[..., N]``.
      ref_embeddings: optional ``[..., M, D]`` reference embeddings per set (normalized
        inside), with ``ref_labels``.
      ref_labels: optional integer ``[..., M]``: the references' labels.
      gamma: scale ``> 0``.
      margin: relaxation ``m`` in ``[0, 1]``.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x = jnp.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
      >>> round(float(lossjax.circle(x, jnp.array([0, 0, 1, 1]), gamma=8.0)), 4)
      0.1614
      >>> refs = jnp.array([[1.0, 0.05], [0.05, 1.0]])  # a reference per class
      >>> round(float(lossjax.circle(x, jnp.array([0, 0, 1, 1]), refs, jnp.array([0, 1]),
      ...                            gamma=8.0)), 4)
      0.0821

    Reference:
      Sun et al., "Circle Loss: A Unified Perspective of Pair Similarity Optimization",
      CVPR (2020), eqs. 4-6.
    """
    name = _core.loss_name()
    x, pos, neg, _, mask, w = _set_inputs(name, embeddings, labels, weights, where)
    if ref_embeddings is None and ref_labels is None:
        s = _cosine_matrix(x)
    else:
        ref, pos, neg, dtype = _ref_inputs(name, x, labels, ref_embeddings, ref_labels, mask)
        w = None if w is None else w.astype(dtype)
        s = _cosine_matrix(x.astype(dtype), ref)
    pos_logits = -gamma * jax.nn.relu(1.0 + margin - s) * (s - 1.0 + margin)
    neg_logits = gamma * jax.nn.relu(s + margin) * (s - margin)
    lse_p, has_p = _masked_lse(pos_logits, pos)
    lse_n, has_n = _masked_lse(neg_logits, neg)
    ok = has_p & has_n
    anchor = jnp.where(ok, jax.nn.softplus(jnp.where(ok, lse_p + lse_n, 0.0)), 0.0)
    loss = jnp.mean(anchor, axis=-1)
    return _finish(name, loss, mask, w, reduction)
