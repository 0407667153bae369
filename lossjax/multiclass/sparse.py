"""Sparse probability maps and Fenchel–Young losses: sparsemax and its loss, and
:func:`make_fenchel_young_loss` for any regulariser's max function.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lossjax import _core
from lossjax._classes import (
    class_inputs,
    dense_dot,
    finish,
    pick,
)
from lossjax._core import Array, ArrayLike, Reduction
from lossjax._samples import multiclass as fixtures
from lossjax.multiclass._meta import (
    LABEL_HYPERS,
    LOGIT_LABELS,
    class_args_doc,
)
from lossjax.registry import _builtin


def sparsemax_probabilities(z: Array) -> Array:
    r"""Sparsemax: the Euclidean projection of ``z`` ``[..., K]`` onto the simplex.

    .. math::

       \operatorname{sparsemax}(z)
         = \operatorname*{arg\,min}_{p \in \Delta^{K-1}} \lVert p - z \rVert^2
         = \bigl[z - \tau(z)\bigr]_+

    with :math:`\Delta^{K-1}` the simplex and the threshold :math:`\tau(z)` (making the sum 1)
    from the sorted scores (Martins & Astudillo 2016,
    Algorithm 1). ``-inf`` scores get probability 0.
    """
    # Scores more than 1 below the maximum never enter the support (tau >= max z - 1), so
    # clamping them there changes nothing and keeps -inf out of the cumulative sums.
    zmax = jax.lax.stop_gradient(jnp.max(z, axis=-1, keepdims=True))
    z = jnp.maximum(z - zmax, -2.0)
    k = z.shape[-1]
    zs = -jnp.sort(-z, axis=-1)
    cs = jnp.cumsum(zs, axis=-1)
    ranks = _core.lift(jnp.arange(1, k + 1, dtype=z.dtype), z.ndim)
    support = jnp.sum(1.0 + ranks * zs > cs, axis=-1, keepdims=True)
    tau = (jnp.take_along_axis(cs, support - 1, axis=-1) - 1.0) / support.astype(z.dtype)
    return jax.nn.relu(z - tau)


@_builtin(
    aliases=("multiclass_sparsemax",),
    bounded=False,
    convex=True,
    twice_differentiable=False,
    hyper=LABEL_HYPERS,
    boundary=fixtures.class_boundary("logits", smoothing=False),
    peers={
        "optax": "multiclass_sparsemax_loss / make_fenchel_young_loss (Fenchel-Young losses: "
        "sparsemax here, softmax_cross_entropy for the softmax)",
    },
    **LOGIT_LABELS,
)
@class_args_doc
def sparsemax(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    ignore_index: int | None = -100,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Sparsemax loss: the Fenchel-Young loss of sparsemax (Gini entropy).

    .. math::

       \ell(z, y) = \langle p, z \rangle - \tfrac{1}{2} \lVert p \rVert^2
         + \tfrac{1}{2} \lVert y \rVert^2 - \langle y, z \rangle,
       \qquad p = \operatorname{sparsemax}(z)

    with :math:`p` the projection of the scores :math:`z` onto the simplex
    (:func:`sparsemax_probabilities`) and :math:`y` the probability target; for an integer label
    :math:`y` this is :math:`\sum_j p_j (z_j - z_y) + (1 - \lVert p \rVert^2) / 2` (optax's
    ``multiclass_sparsemax_loss``).
    It is zero exactly when ``sparsemax(z) = y`` (so, unlike the cross-entropy, it reaches
    0 at finite scores); its gradient is ``sparsemax(z) - y``. Scores may be ``-inf`` off
    the label.

    Args:
      predictions: scores (logits) ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or probabilities (shape of
        ``predictions``).
      {class_args}

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> z = jnp.array([[1.0, 0.5, -1.0], [3.0, 0.0, 0.0]])  # sparsemax: [.75, .25, 0], e_0
      >>> lossjax.sparsemax(z, jnp.array([1, 0]), reduction="none").tolist()
      [0.5625, 0.0]

    Reference:
      Martins and Astudillo, "From Softmax to Sparsemax: A Sparse Model of Attention and
      Multi-Label Classification", ICML (2016), eq. 20; Blondel, Martins and Niculae,
      "Learning with Fenchel-Young Losses", JMLR 21 (2020).
    """
    name = _core.loss_name()
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights,
    )
    z = ci.x - jax.lax.stop_gradient(jnp.max(ci.x, axis=-1, keepdims=True))
    p = sparsemax_probabilities(z)
    on = p > 0
    pz = jnp.sum(jnp.where(on, p * jnp.where(on, z, 0.0), 0.0), axis=-1)
    half = 0.5 * jnp.sum(p * p, axis=-1)
    if ci.labels is not None:
        loss = pz - pick(z, ci.labels) + 0.5 - half
    else:
        loss = pz - half + 0.5 * jnp.sum(ci.rows * ci.rows, axis=-1) - dense_dot(ci.rows, z)
    return finish(ci, loss, reduction, name)


# --------------------------------------------------------------------------------------------
# Multi-label margin losses (PyTorch's)



def make_fenchel_young_loss(max_fun, name: str = "fenchel_young"):
    r"""A Fenchel–Young loss from its max function: ``max_fun(x) - <y, x>`` per example.

    .. math::

       \ell(x, y) = \Omega^*(x) - \langle y, x \rangle

    ``max_fun`` maps one score vector ``[K]`` to a scalar: the convex conjugate ``Omega*`` of a
    regulariser ``Omega`` (``jax.nn.logsumexp``, the conjugate of the negative entropy, gives
    the softmax cross-entropy for targets that sum to 1). The returned loss is
    this, along ``axis``; its gradient in the scores is
    ``grad Omega*(x) - y`` (the regularised prediction minus the target), as optax's
    ``make_fenchel_young_loss``: like it, it leaves out the term ``Omega(y)`` of the
    Fenchel–Young loss proper, a constant in the scores (so the loss is not 0 at its minimum
    unless ``Omega(y) = 0``). It takes the
    contract's ``axis``, ``weights``, ``where`` and ``reduction`` (``"none"`` per example);
    ``max_fun`` is applied row by row (``jnp.vectorize``), so it need not handle batches. A
    target of 0 contributes 0 even where a score is ``-inf``.

    To give the result the registry's tests, register it:
    ``lossjax.register_per_example(...)`` on a function that calls it.

    Args:
      max_fun: ``[K] -> []``, convex (static: part of the returned function).
      name: the name errors give.

    Returns:
      ``loss(predictions, targets, *, axis=-1, weights=None, where=None, reduction="mean")``.

    Example:
      >>> import jax, jax.numpy as jnp, lossjax
      >>> fy = lossjax.make_fenchel_young_loss(jax.nn.logsumexp)
      >>> x, y = jnp.array([[2.0, 0.0, 0.0]]), jnp.array([[1.0, 0.0, 0.0]])
      >>> round(float(fy(x, y)), 4), round(float(lossjax.softmax_cross_entropy(x, y)), 4)
      (0.2395, 0.2395)

    Reference:
      Blondel, Martins and Niculae, "Learning with Fenchel-Young Losses", JMLR 21 (2020);
      optax's ``make_fenchel_young_loss``.
    """
    if not callable(max_fun):
        raise TypeError(f"make_fenchel_young_loss: `max_fun` must be callable; got {max_fun!r}.")
    row_max = jnp.vectorize(max_fun, signature="(n)->()")

    def fn(x, y):
        return row_max(x) - dense_dot(y, x)

    def fenchel_young_loss(predictions, targets, *, axis=-1, weights=None, where=None,
                           reduction="mean"):
        return _core.per_example(name, fn, predictions, targets, axis=axis, weights=weights,
                                 where=where, reduction=reduction)

    fenchel_young_loss.__name__ = name
    what = getattr(max_fun, "__name__", repr(max_fun))
    fenchel_young_loss.__doc__ = (f"Fenchel–Young loss of ``{what}`` (see "
                                  ":func:`lossjax.make_fenchel_young_loss`).")
    return fenchel_young_loss
