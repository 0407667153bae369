"""Cross-entropy losses over a class axis: softmax cross-entropy, NLL, categorical
cross-entropy, the Brier score and Poly-1.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from lossjax import _core, _samples
from lossjax._classes import (
    class_inputs,
    dense_dot,
    finish,
    label_checks,
    merge_class_axes,
    pick,
    smooth,
    smoothed_nll,
    smoothing,
    targets_dense,
    x_on_label,
)
from lossjax._core import Array, ArrayLike, Reduction
from lossjax._samples import multiclass as fixtures
from lossjax.multiclass._kernel import ce_labels_smoothed, ce_probabilities, label_nll
from lossjax.multiclass._meta import (
    CE_HYPERS,
    LABEL_HYPERS,
    LOGIT_LABELS,
    MULTICLASS,
    class_args_doc,
)
from lossjax.registry import Interval, _builtin

_LOG_FLOOR = -100.0


@_builtin(
    aliases=("cross_entropy",),
    predictions="logits",
    targets="labels or probabilities",
    bounded=False,
    convex=True,
    hyper=CE_HYPERS,
    sample=_samples.default_sampler("logits", "labels", "example"),
    boundary=fixtures.class_boundary("logits"),
    peers={
        "optax": "softmax_cross_entropy / softmax_cross_entropy_with_integer_labels / "
        "safe_softmax_cross_entropy / smooth_labels (as label_smoothing)",
        "torch": "cross_entropy",
        "keras": "CategoricalCrossentropy(from_logits=True) / SparseCategoricalCrossentropy",
    },
    **MULTICLASS,
)
def softmax_cross_entropy(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    label_smoothing: float = 0.0,
    ignore_index: int | None = -100,
    class_weights: ArrayLike | None = None,
    axis: int | tuple[int, ...] = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Softmax cross-entropy on logits: ``logsumexp(x) - x[y]``, with log-softmax inside.

    .. math::

       \ell(x, y) = -(1 - \varepsilon)\, w_y \sum_c y_c \log q_c
         - \frac{\varepsilon}{K} \sum_{c=1}^{K} w_c \log q_c,
       \qquad q = \operatorname{softmax}(x)

    with :math:`y` the one-hot label (or the probability target), :math:`\varepsilon` the
    ``label_smoothing`` (the cross-entropy against :math:`(1 - \varepsilon) y + \varepsilon / K`
    over :math:`K` classes), :math:`w_c` the ``class_weights`` and :math:`w_y = \sum_c w_c y_c`
    the example's class weight (all 1 without ``class_weights``); the mean divides by the sum
    of the kept :math:`w_y`. Integer labels are computed without a one-hot array. A zero
    probability target ignores its logit, even ``-inf``. The gradient with respect to
    probability targets is ``-log_softmax(x)`` (smoothing aside), at zero targets too, as optax
    and PyTorch give; at a ``-inf`` logit it is 0 rather than ``+inf``.

    ``-inf`` logits are allowed off the label (classes that are impossible); a whole row of
    ``-inf`` is fine when the row is dropped by ``where`` or ``ignore_index``. With label
    smoothing every class gets mass, so a ``-inf`` logit in a kept row gives an infinite loss
    (unless its class weight is 0).

    With ``class_weights`` and ``label_smoothing`` both on, the loss is PyTorch's
    ``cross_entropy(weight=, label_smoothing=)`` (each class's smoothing term weighted by its
    own class weight; see the module docstring of ``lossjax._classes``).

    Args:
      predictions: logits ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or probabilities (shape of
        ``predictions``).
      label_smoothing: :math:`\varepsilon` in ``[0, 1)``; traced (a schedule or a sweep reuses the
        compiled program, and ``vmap``/``grad`` apply); a Python 0 compiles the plain kernel.
      ignore_index: integer label whose examples are dropped (static; None to drop none).
      class_weights: optional non-negative ``[K]`` weights.
      axis: the class axis (static); or a tuple of axes, as optax's, for probability
        targets: the classes are then the cells of those axes (flattened in the tuple's
        order), and the per-example shape is the predictions' without them.

    Returns:
      The reduced loss.

    Raises:
      TypeError: float targets without the class axis; integer predictions.
      ValueError: shapes that fit neither kind of target; ``label_smoothing`` outside [0, 1);
        a tuple ``axis`` with integer labels or ``class_weights``.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> logits = jnp.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
      >>> losses = lossjax.softmax_cross_entropy(logits, jnp.array([0, 2]), reduction="none")
      >>> [round(v, 4) for v in losses.tolist()]
      [0.2395, 1.0986]

    Reference:
      Bridle (1990); Szegedy et al., "Rethinking the Inception Architecture for Computer
      Vision", CVPR (2016) for label smoothing.
    """
    name = _core.loss_name()
    if isinstance(axis, tuple):
        predictions, targets = merge_class_axes(name, predictions, targets, axis, class_weights)
        axis = -1
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights, mask_predictions=False,
    )
    eps, on = smoothing(label_smoothing)
    if ci.labels is not None and not (on and ci.class_w is not None):
        per = ce_labels_smoothed(ci.x, ci.labels, ci.mask, eps)
        return finish(ci, per, reduction, name)
    if ci.labels is None and not (on and ci.class_w is not None):
        y = smooth(ci.rows, eps, ci.num_classes) if on else ci.rows
        return finish(ci, ce_probabilities(ci.x, y, ci.mask), reduction, name)
    # Labels or probabilities with smoothing and class weights (each class's smoothing term has
    # its own weight, which the kernels do not know): the plain path.
    x = ci.x if ci.labels is None else _core.mask_safe(ci.mask, ci.x, 0.0, axis=-1)
    log_probs = jax.nn.log_softmax(x, axis=-1)
    ce, extra = smoothed_nll(log_probs, ci, label_smoothing)
    return finish(ci, ce, reduction, name, extra)


@_builtin(
    predictions="log_probabilities",
    targets="labels or probabilities",
    bounded=False,
    convex=True,
    hyper=CE_HYPERS,
    sample=_samples.default_sampler("log_probabilities", "labels", "example"),
    boundary=fixtures.class_boundary("log_probabilities"),
    peers={"torch": "nll_loss"},
    **MULTICLASS,
)
def nll(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    label_smoothing: float = 0.0,
    ignore_index: int | None = -100,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Negative log-likelihood of log-probabilities: ``-log_probs[y]``.

    .. math::

       \ell(z, y) = -(1 - \varepsilon)\, w_y \sum_c y_c z_c
         - \frac{\varepsilon}{K} \sum_{c=1}^{K} w_c z_c

    with :math:`z` the log-probabilities (e.g. from ``jax.nn.log_softmax``) and the rest as in
    :func:`softmax_cross_entropy`: :math:`y` the one-hot label (or the probability target),
    :math:`\varepsilon` the ``label_smoothing`` (the cross-entropy against
    :math:`(1 - \varepsilon) y + \varepsilon / K` over :math:`K` classes), :math:`w_c` the
    ``class_weights`` and :math:`w_y = \sum_c w_c y_c` the example's class weight (all 1 without
    ``class_weights``); the mean divides by the sum of the kept :math:`w_y`. ``log(0) = -inf``
    is allowed off the label.

    Args:
      predictions: log-probabilities ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or probabilities (shape of
        ``predictions``).
      label_smoothing: :math:`\varepsilon` in ``[0, 1)`` (traced; a Python 0 compiles the plain
      path).
      ignore_index: integer label whose examples are dropped (static; None to drop none).
      class_weights: optional non-negative ``[K]`` weights.
      axis: the class axis (static).

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> lp = jnp.log(jnp.array([[0.5, 0.25, 0.25]]))
      >>> round(float(lossjax.nll(lp, jnp.array([1]))), 6)
      1.386294

    Reference:
      PyTorch's ``nll_loss`` (same semantics for ignore_index and class weights).
    """
    name = _core.loss_name()
    # Without smoothing the loss is -x_y, linear: a dropped example's log-probabilities (even
    # NaN or -inf) only meet the reduction's select, whose cotangent there is 0, so they are
    # not masked (a full-size select on the gradient saved). With a smoothing it is not:
    # the derivative in a traced eps reads every dropped row's mean.
    _, on = smoothing(label_smoothing)
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights, mask_predictions=on,
    )
    ce, extra = smoothed_nll(ci.x, ci, label_smoothing)
    return finish(ci, ce, reduction, name, extra)


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def clamped_log(p: Array, eps: float = 1e-12) -> Array:
    """``max(log p, -100)`` with derivative ``1 / max(p, eps)``: finite at ``p = 0``."""
    return jnp.maximum(jnp.log(p), _LOG_FLOOR)


@clamped_log.defjvp
def _clamped_log_jvp(eps, primals, tangents):
    (p,), (dp,) = primals, tangents
    return clamped_log(p, eps), dp / jnp.maximum(p, eps)


@_builtin(
    diff_argnums=(0, 1),  # soft targets are real-valued
    predictions="probabilities",
    targets="labels or probabilities",
    bounded=False,
    convex=True,
    hyper=CE_HYPERS,
    sample=_samples.default_sampler("probabilities", "probabilities", "example"),
    boundary=fixtures.class_boundary("probabilities"),
    peers={"keras": "CategoricalCrossentropy / SparseCategoricalCrossentropy"},
    **MULTICLASS,
)
def categorical_cross_entropy(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    label_smoothing: float = 0.0,
    ignore_index: int | None = -100,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Cross-entropy of predicted probabilities: ``-sum_c y_c log p_c``.

    .. math::

       \ell(p, y) = -(1 - \varepsilon)\, w_y \sum_c y_c \max(\log p_c, -100)
         - \frac{\varepsilon}{K} \sum_{c=1}^{K} w_c \max(\log p_c, -100)

    with :math:`y`, :math:`\varepsilon`, :math:`w` as in :func:`softmax_cross_entropy`.
    Predictions are probabilities along ``axis`` (not renormalised: Keras divides by the
    sum, lossjax trusts the caller). Each ``log p`` is clamped at -100, with derivative
    ``1 / max(p, 1e-12)`` (``2 / 65504`` for float16 inputs), so a zero probability on the
    label costs 100 nats and has a large finite gradient. With integer labels and no
    smoothing only the label's probability is read (as :func:`nll` reads only the label's
    log-probability): the other entries may hold anything. Prefer
    :func:`softmax_cross_entropy` on logits where you can.

    Args:
      predictions: probabilities ``[..., K, ...]`` along ``axis``.
      targets: integer labels (shape without ``axis``) or probabilities (shape of
        ``predictions``).
      label_smoothing: :math:`\varepsilon` in ``[0, 1)`` (traced; a Python 0 compiles the plain
      path).
      ignore_index: integer label whose examples are dropped (static; None to drop none).
      class_weights: optional non-negative ``[K]`` weights.
      axis: the class axis (static).

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> p = jnp.array([[0.5, 0.25, 0.25]])
      >>> round(float(lossjax.categorical_cross_entropy(p, jnp.array([0]))), 6)
      0.693147

    Reference:
      Goodfellow, Bengio and Courville, *Deep Learning* (2016), section 6.2.2.3.
    """
    name = _core.loss_name()
    _, on = smoothing(label_smoothing)
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights, safe=1.0,
        mask_predictions=on,
    )
    eps = _core.grad_floor(jnp.asarray(predictions).dtype)
    if ci.labels is not None and not on:
        # -log p_y: the label's probability alone is read (and masked per row), not a log
        # of every class's
        return finish(ci, -clamped_log(x_on_label(ci), eps), reduction, name)
    ce, extra = smoothed_nll(clamped_log(ci.x, eps), ci, label_smoothing)
    return finish(ci, ce, reduction, name, extra)



def _brier_checks(predictions, targets, *, axis=-1, ignore_index=-100, **_):
    p = jnp.asarray(predictions)
    return [((p >= 0) & (p <= 1), "predictions must be probabilities in [0, 1]")] + (
        label_checks(predictions, targets, axis=axis, ignore_index=ignore_index)
    )


@_builtin(
    diff_argnums=(0, 1),  # soft targets are real-valued
    predictions="probabilities",
    targets="labels or probabilities",
    bounded=True,
    convex=True,
    hyper=LABEL_HYPERS,
    sample=_samples.default_sampler("probabilities", "probabilities", "example"),
    boundary=fixtures.class_boundary("probabilities", smoothing=False),
    peers={"sklearn": "brier_score_loss (multiclass, scale_by_half=False)"},
    **{**MULTICLASS, "checks": _brier_checks},
)
@class_args_doc
def brier(
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
    r"""Multiclass Brier score: ``sum_c (p_c - y_c)**2`` per example.

    .. math::

       \ell(p, y) = \sum_{c=1}^{K} (p_c - y_c)^2

    Predictions :math:`p` are probabilities along ``axis``; targets are integer labels
    (:math:`y` is then one-hot) or probabilities of the same shape. Per example it lies in
    ``[0, 2]`` and is the squared Euclidean distance between the two distributions: a strictly
    proper scoring rule, convex in the predictions, quadratic and so smooth everywhere (gradient
    ``2 (p - y)``). With two classes it is twice the binary Brier score ``(p_1 - y_1)**2``
    (scikit-learn's ``brier_score_loss`` halves the multiclass sum only with
    ``scale_by_half=True``; its default for more than two classes is the unhalved sum, as here).
    Predictions are not checked to be probabilities (see :func:`lossjax.checked`).

    Args:
      predictions: probabilities ``[..., K, ...]`` along ``axis``.
      targets: integer labels (shape without ``axis``) or probabilities (shape of
        ``predictions``).
      {class_args}

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> p = jnp.array([[0.5, 0.25, 0.25]])
      >>> float(lossjax.brier(p, jnp.array([0])))
      0.375

    Reference:
      Brier, "Verification of forecasts expressed in terms of probability", *Monthly Weather
      Review* 78(1) (1950); scikit-learn's ``brier_score_loss``.
    """
    name = _core.loss_name()
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights,
    )
    d = ci.x - targets_dense(ci)
    return finish(ci, jnp.sum(d * d, axis=-1), reduction, name)


@_builtin(
    bounded=False,
    convex=False,
    hyper={**CE_HYPERS, "epsilon": Interval(-1.0, float("inf"))},
    boundary=fixtures.class_boundary("logits"),
    peers={"optax": "poly_loss_cross_entropy"},
    **LOGIT_LABELS,
)
@class_args_doc
def poly1_cross_entropy(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    epsilon: float | ArrayLike = 2.0,
    label_smoothing: float = 0.0,
    ignore_index: int | None = -100,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Poly-1 cross-entropy: ``CE + epsilon * (1 - p_t)``.

    .. math::

       \ell(x, y) = \mathrm{CE}(x, y) + \epsilon\, (1 - p_t),
       \qquad p_t = \sum_c \tilde y_c \operatorname{softmax}(x)_c

    with :math:`\epsilon` the ``epsilon``, :math:`\mathrm{CE}` the
    :func:`softmax_cross_entropy` (with its label smoothing) and :math:`p_t` the probability
    given to the target :math:`\tilde y` (one-hot label or probabilities) smoothed by
    ``label_smoothing``; for an integer label without smoothing, ``p_t = softmax(x)_y``.
    ``epsilon = 0``
    is plain cross-entropy; the paper recommends 2 for ImageNet classification (optax's
    default) and -1 for detection. ``epsilon >= -1`` keeps the loss non-negative.

    Args:
      predictions: logits ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or probabilities (shape of
        ``predictions``).
      epsilon: coefficient of the first polynomial term, ``>= -1``.
      label_smoothing: ``eps`` in ``[0, 1)`` (traced; a Python 0 compiles the plain path).
      {class_args}

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x = jnp.array([[0.0, 0.0]])  # p_t = 1/2
      >>> round(float(lossjax.poly1_cross_entropy(x, jnp.array([0]), epsilon=1.0)), 6)
      1.193147

    Reference:
      Leng, Tan, Liu, Cubuk, Shi, Cheng and Anguelov, "PolyLoss: A Polynomial Expansion
      Perspective of Classification Loss Functions", ICLR (2022), eq. 3.
    """
    name = _core.loss_name()
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights, mask_predictions=False,
    )
    eps, on = smoothing(label_smoothing)
    if ci.labels is not None and not (on and ci.class_w is not None):
        # c = -log p_y from the fused kernel (one exponential per logit, value and gradient),
        # so p_y = exp(-c) and 1 - p_t = (1 - eps)(1 - p_y) + eps (K - 1) / K. With a
        # smoothing, the smoothed cross-entropy is the kernel's too: both calls share their
        # passes over the logits (XLA merges the identical lse and exponentials). The kernel
        # leaves the rows dropped by ``keep`` as they were: they are replaced before exp.
        c = label_nll(ci)
        miss = -jnp.expm1(-c)  # 1 - p_y
        ce = c
        if on:
            ce = _core.mask_safe(ci.mask, ce_labels_smoothed(ci.x, ci.labels, ci.mask, eps),
                                 0.0)
            k = ci.num_classes
            miss = (1.0 - eps) * miss + eps * ((k - 1) / k)
        return finish(ci, ce + epsilon * miss, reduction, name)
    # Probability targets, or labels with smoothing and class weights (PyTorch's weighting of
    # each class's smoothing term, which the kernel does not know): the plain path.
    x = ci.x if ci.labels is None else _core.mask_safe(ci.mask, ci.x, 0.0, axis=-1)
    log_probs = jax.nn.log_softmax(x, axis=-1)
    ce, extra = smoothed_nll(log_probs, ci, label_smoothing)
    # with labels, the label's probability alone (one exponential per row, not per logit)
    p_t = (jnp.exp(pick(log_probs, ci.labels)) if ci.labels is not None
           else dense_dot(ci.rows, jnp.exp(log_probs)))
    if on:
        p_t = smooth(p_t, eps, ci.num_classes)  # sum_c smooth(y)_c p_c
    return finish(ci, ce + epsilon * (1.0 - p_t), reduction, name, extra)
