"""The classification contract: inputs, label lookup, label smoothing, class weights, reduction.

Every loss over a class axis (the multiclass losses, the metrics, the fused linear
cross-entropy) prepares its inputs with :func:`class_inputs` and reduces with
:func:`finish`; label smoothing is written once (:func:`smooth`) and any class loss can take
it (:func:`smoothing`, :func:`smoothed_nll`).

``predictions`` carry a class axis (``axis``, default -1) and one loss is computed per example
(the predictions' shape without that axis). Targets are either

* **integer labels** of the predictions' shape without the class axis (told apart by their
  integer dtype and shape, at trace time); they support ``ignore_index`` (default -100, as in
  PyTorch), ``class_weights`` and ``label_smoothing`` without building a one-hot array; or
* **probabilities** (or one-hot rows) of the predictions' shape.

Class weights multiply into the example weights: the mean is ``sum(w_y * loss) / sum(w_y)``
over the kept examples, as PyTorch defines it for integer labels. For probability targets the
class weight of an example is ``sum_c class_weights[c] * y[c]`` (the same for one-hot rows).

With label smoothing ``eps`` as well, the cross-entropy against ``(1 - eps) y + eps / K`` is
weighted as PyTorch's ``cross_entropy(weight=, label_smoothing=)`` weights it: the target part
``(1 - eps) * CE(y)`` by the example's class weight ``w_y``, and each class's smoothing term
``eps / K * (-log q_c)`` by that class's own weight ``w_c``; the mean still divides by
``sum(w_y)``. Per example (before the example weight):
``(1 - eps) w_y (-log q_y) + eps / K * sum_c w_c (-log q_c)``. Without class weights this is
the plain smoothed cross-entropy; with them, an example whose label has weight 0 still adds
its smoothing terms to the sum (not to the denominator), as in PyTorch.

Unchecked bad values: an integer label outside ``[0, K)`` that is not ``ignore_index`` gives a
NaN loss (never a silently wrong number); use :func:`lossjax.checked` to get an error instead.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from lossjax import _core
from lossjax._core import Array, ArrayLike


class ClassInputs(NamedTuple):
    """Predictions and targets of a classification loss after the contract's checks.

    ``x`` is ``[..., K]`` (class axis last, compute dtype, safe values in dropped rows);
    exactly one of ``labels`` (``[...]``, int, clipped into range) and ``y`` (``[..., K]``)
    is set. ``mask`` and ``w`` are the kept examples and their weights (class weights
    included); ``invalid`` marks labels out of range (their loss is NaN). ``class_w`` and
    ``example_w`` are the two factors of ``w`` (for label smoothing with class weights).
    """

    x: Array
    labels: Array | None
    y: Array | None
    mask: Array | None
    w: Array | None
    invalid: Array | None
    num_classes: int
    class_w: Array | None = None  # the [K] class weights, if given
    example_w: Array | None = None  # the example weights alone (without class weights)
    safe: float = 0.0  # the value the dropped rows' predictions are (or would be) given

    @property
    def rows(self) -> Array:
        """The probability targets ``y``; for the probability-target branch of a loss."""
        if self.y is None:
            raise TypeError("integer-label inputs have no probability rows (use `labels`)")
        return self.y


def class_inputs(
    name: str,
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis: int,
    weights: ArrayLike | None,
    where: ArrayLike | None,
    ignore_index: int | None = None,
    class_weights: ArrayLike | None = None,
    safe: float = 0.0,
    mask_predictions: bool = True,
) -> ClassInputs:
    """Checks and prepares the inputs of a classification loss (see :class:`ClassInputs`).

    ``mask_predictions=False`` leaves the predictions of dropped examples as they are (for
    integer labels only; saves a full pass over them): the caller's kernel must then keep
    their value and gradient out of the result itself, as the fused softmax cross-entropy
    does.
    """
    p = _core.float_input("predictions", predictions, name)
    ax = _core.normalize_axis(axis, p.ndim, name)
    t = _core.numeric_input("targets", targets, name)
    dtype = _core.compute_dtype(p, t)
    x = jnp.moveaxis(p.astype(dtype), ax, -1)
    k = x.shape[-1]
    unit = x.shape[:-1]
    sparse = t.ndim == p.ndim - 1
    if sparse:
        _core.check_shape("targets", t, unit, name, "integer labels: the predictions' shape "
                          f"without axis {ax}")
        if not jnp.issubdtype(t.dtype, jnp.integer):
            raise TypeError(
                f"{name}: `targets` of shape {t.shape} must be integer class labels; got dtype "
                f"{t.dtype} (probability targets need the predictions' shape {p.shape})."
            )
    else:
        _core.check_shape("targets", t, p.shape, name,
                          "probabilities/one-hot; or integer labels without the class axis")
        if ignore_index is not None and ignore_index != -100:
            raise ValueError(f"{name}: `ignore_index` applies to integer labels only.")
    mask = _core.prepare_where(where, unit, name)
    w = _core.prepare_weights(weights, unit, dtype, name)
    example_w = w
    cw = None
    if class_weights is not None:
        cw = _core.numeric_input("class_weights", class_weights, name).astype(dtype)
        _core.check_shape("class_weights", cw, (k,), name, "one weight per class")

    if sparse:
        if ignore_index is not None:
            mask = _core.and_masks(mask, t != ignore_index)
        invalid = (t < 0) | (t >= k)
        if mask is not None:
            invalid = invalid & mask
        in_range = _core.mask_safe(mask, jnp.where(invalid, 0, t), 0)
        if cw is not None:
            w = _core.mul_weights(w, _core.lookup(cw, in_range))
        labels: Array | None = in_range
        y = None
    else:
        y = _core.mask_safe(mask, jnp.moveaxis(t.astype(dtype), ax, -1), 0.0, axis=-1)
        if cw is not None:
            w = _core.mul_weights(w, jnp.sum(y * cw, axis=-1))
        labels = invalid = None
    if mask_predictions or not sparse:
        x = _core.mask_safe(mask, x, safe, axis=-1)
    return ClassInputs(x, labels, y, mask, w, invalid, k, cw, example_w, safe)


def pick(x: Array, labels: Array) -> Array:
    """``x[..., labels]`` along the last axis (labels already in range)."""
    return jnp.take_along_axis(x, labels[..., None], axis=-1)[..., 0]


def finish(
    ci: ClassInputs, loss: Array, reduction: str, name: str, extra: Array | None = None
) -> Array:
    """NaN for out-of-range labels, then the shared reduction.

    ``extra`` (from :func:`smoothed_nll`) is an already weighted per-example term added to the
    numerator of the mean but not to its denominator: ``sum(w * loss + extra) / sum(w)``.
    """
    if ci.invalid is not None:
        loss = jnp.where(ci.invalid, jnp.nan, loss)
    if extra is None:
        return _core.reduce(loss, weights=ci.w, where=ci.mask, reduction=reduction,
                            loss_name=name)
    per = _core.reduce(loss, weights=ci.w, where=ci.mask, reduction="none", loss_name=name)
    per = per + _core.mask_safe(ci.mask, extra, 0.0)
    if reduction == "none":
        return per
    total = jnp.sum(per)
    if reduction == "sum":
        return total
    den = _core.reduce(jnp.ones_like(loss), weights=ci.w, where=ci.mask, reduction="sum",
                       loss_name=name)
    return _core.safe_divide(total, den)


def dense_dot(y: Array, x: Array) -> Array:
    """``sum_c y_c x_c`` where a zero target makes its term 0 even if ``x_c = -inf``.

    The gradient with respect to ``y`` is ``x``, at zero targets too (the partial derivative
    that finite differences, optax and PyTorch give), except where ``x_c = -inf`` (a class
    ruled out): there it is 0 instead of the infinite true derivative, and a non-zero target
    makes the sum ``-inf``. The gradient with respect to ``x`` is ``y`` where ``x`` is finite.
    """
    ruled_out = x == -jnp.inf
    # double where: the product never sees the -inf, so its gradient holds no 0 * inf
    finite = y * jnp.where(ruled_out, 0, x)
    return jnp.sum(jnp.where(ruled_out, jnp.where(y != 0, -jnp.inf, 0), finite), axis=-1)


def smoothing(label_smoothing) -> tuple[Array | float, bool]:
    """``(eps, on)`` for a ``label_smoothing`` hyperparameter (traced or a Python number).

    ``on`` is False only where Python knows ``eps = 0`` (the default, compiled as its own
    fast path); a traced ``eps`` takes the smoothing path, which equals the plain one at 0.
    """
    return _core.hyper_value(label_smoothing), not _core.is_known(label_smoothing, 0.0)


def scaled(eps, v: Array) -> Array:
    """``eps * v``, and 0 where a traced ``eps`` is 0 and ``v`` infinite (not ``0 * inf``).

    The where keeps ``v`` wherever it is finite, so the derivative in ``eps`` there is ``v``
    (at ``eps = 0`` too); at ``v = +-inf`` with ``eps = 0`` the value is the limit 0 and the
    gradients are 0, never NaN.
    """
    if _core.known_value(eps) is not None:
        return eps * v
    return eps * jnp.where((eps == 0) & ~jnp.isfinite(v), 0.0, v)


def smooth(y: Array, eps, k: int) -> Array:
    """Label smoothing, ``(1 - eps) * y + eps / k``: the one formula.

    Used by :func:`smooth_labels`, by the classification losses with probability targets and
    by the binary losses (``k = 2``: Keras's ``y (1 - eps) + eps / 2``). The integer-label
    kernels use its expansion ``-sum_c smooth(onehot)_c log q_c = -(1 - eps) log q_y - eps *
    mean_c log q_c`` so as not to build the one-hot array.
    """
    return (1.0 - eps) * y + eps / k


def smooth_labels(
    targets: ArrayLike,
    alpha: float | ArrayLike,
    *,
    num_classes: int | None = None,
    axis: int = -1,
) -> Array:
    r"""Smoothed target distributions: ``(1 - alpha) * y + alpha / K``.

    .. math::

       \tilde y = (1 - \alpha)\, y + \alpha / K

    ``targets`` are one-hot or probability rows along ``axis`` (``K = targets.shape[axis]``),
    or integer labels, which need ``num_classes = K`` and gain the class axis at ``axis``. The
    result is what the classification losses' ``label_smoothing = alpha`` trains against (the
    losses compute it without building the array); it is optax's ``smooth_labels`` for
    one-hot input. An integer label outside ``[0, K)`` gives a row of NaN (as the losses give
    NaN for it).

    Args:
      targets: float ``[..., K, ...]`` rows, or integer labels ``[...]``.
      alpha: smoothing in ``[0, 1]`` (a Python number is checked; an array may be traced).
      num_classes: ``K`` for integer labels (static); for rows, optional and must equal
        ``targets.shape[axis]``.
      axis: the class axis (static).

    Returns:
      Float rows of the targets' shape (integer labels: with the class axis inserted), in the
      default float dtype for integer labels, else in at least float32.

    Raises:
      TypeError: ``alpha`` not a real number; integer labels without ``num_classes``.
      ValueError: ``alpha`` outside [0, 1]; ``num_classes`` that does not match the rows.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> rows = lossjax.smooth_labels(jnp.array([0, 2]), 0.3, num_classes=3).tolist()
      >>> [[round(v, 3) for v in row] for row in rows]
      [[0.8, 0.1, 0.1], [0.1, 0.1, 0.8]]

    Reference:
      Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", CVPR
      (2016), section 7; optax's ``smooth_labels``.
    """
    name = "smooth_labels"  # not a registered loss: no traced name to read
    if isinstance(alpha, (str, bytes)) or not (
        isinstance(alpha, (int, float)) or hasattr(alpha, "dtype")
    ) or isinstance(alpha, bool):
        raise TypeError(f"{name}: `alpha` must be a real number in [0, 1]; got {alpha!r}.")
    if isinstance(alpha, (int, float)) and not 0.0 <= alpha <= 1.0:
        raise ValueError(f"{name}: `alpha` must lie in [0, 1]; got {alpha!r}.")
    a = jnp.asarray(alpha)
    if not (jnp.issubdtype(a.dtype, jnp.floating) or jnp.issubdtype(a.dtype, jnp.integer)):
        raise TypeError(f"{name}: `alpha` must be a real number in [0, 1]; got dtype {a.dtype}.")
    t = _core.numeric_input("targets", targets, name)
    if jnp.issubdtype(t.dtype, jnp.integer):
        if num_classes is None:
            raise TypeError(f"{name}: integer labels need `num_classes` (the number of classes).")
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
            raise ValueError(f"{name}: `num_classes` must be a positive int; got {num_classes!r}.")
        ax = _core.normalize_axis(axis, t.ndim + 1, name)
        dtype = jnp.result_type(float)
        k = num_classes
        y = jax.nn.one_hot(t, k, dtype=dtype, axis=ax)
        invalid = jnp.expand_dims((t < 0) | (t >= k), ax)
        return jnp.where(invalid, jnp.nan, smooth(y, a.astype(dtype), k))
    if t.ndim == 0:
        raise ValueError(f"{name}: `targets` rows need a class axis; got a scalar.")
    ax = _core.normalize_axis(axis, t.ndim, name)
    k = t.shape[ax]
    if num_classes is not None and num_classes != k:
        raise ValueError(
            f"{name}: `num_classes`={num_classes!r} does not match targets.shape[{axis}] = {k}."
        )
    dtype = _core.compute_dtype(t)
    return smooth(t.astype(dtype), a.astype(dtype), k)


def smoothed_nll(
    log_probs: Array, ci: ClassInputs, label_smoothing: float | Array
) -> tuple[Array, Array | None]:
    """Cross-entropy ``-sum_c y'_c log q_c`` with ``y' = (1 - eps) y + eps / K``: ``(loss, extra)``.

    Pass both to :func:`finish`. Without class weights (or without smoothing) ``extra`` is
    None and ``loss`` is the whole smoothed cross-entropy. With both, as PyTorch (see the
    module docstring), ``loss`` is the target part ``(1 - eps) * (-sum_c y_c log q_c)``, which
    ``finish`` weighs by the example's class weight, and ``extra`` the smoothing part weighted
    by each class's own weight and the example weight,
    ``example_w * eps / K * sum_c w_c (-log q_c)`` (a class of weight 0 is left out, even where
    ``log q_c = -inf``).
    """
    eps, on = smoothing(label_smoothing)
    if on and ci.class_w is not None:
        target = -(pick(log_probs, ci.labels) if ci.labels is not None
                   else dense_dot(ci.rows, log_probs))
        extra = scaled(eps, -dense_dot(jnp.broadcast_to(ci.class_w, log_probs.shape),
                                       log_probs)) / ci.num_classes
        if ci.example_w is not None:
            extra = extra * ci.example_w
        return (1.0 - eps) * target, extra
    return _smoothed_nll(log_probs, ci, eps, on), None


def _smoothed_nll(log_probs: Array, ci: ClassInputs, eps, on: bool) -> Array:
    if ci.labels is not None:
        loss = -pick(log_probs, ci.labels)
        if on:
            loss = (1.0 - eps) * loss - scaled(eps, jnp.mean(log_probs, axis=-1))
        return loss
    y = ci.rows
    if on:
        y = smooth(y, eps, ci.num_classes)
    return -dense_dot(y, log_probs)


def merge_class_axes(
    name: str, predictions: ArrayLike, targets: ArrayLike, axis: tuple, class_weights=None
) -> tuple[Array, Array]:
    """Moves the class axes ``axis`` (a tuple, as optax's) last and flattens them into one.

    For probability targets of the predictions' shape only (an integer label would have to
    name a cell of several axes); the classes are the cells of those axes, in the order the
    tuple names them. Returns ``(predictions, targets)`` with one class axis, last.
    """
    p = _core.float_input("predictions", predictions, name)
    t = _core.numeric_input("targets", targets, name)
    if not axis:
        raise ValueError(f"{name}: `axis` must name at least one class axis; got {axis!r}.")
    axes = tuple(_core.normalize_axis(a, p.ndim, name) for a in axis)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{name}: `axis` names an axis twice: {axis!r}.")
    if jnp.issubdtype(t.dtype, jnp.integer) or t.ndim != p.ndim:
        raise ValueError(
            f"{name}: a tuple `axis` needs probability targets of the predictions' shape "
            f"{tuple(p.shape)}; got {t.dtype} targets of shape {tuple(t.shape)}."
        )
    if class_weights is not None:
        raise ValueError(f"{name}: `class_weights` needs a single class `axis`; got {axis!r}.")
    _core.check_shape("targets", t, p.shape, name, "probabilities over the class axes")
    n = len(axes)
    dest = tuple(range(p.ndim - n, p.ndim))
    k = math.prod(p.shape[a] for a in axes)

    def merge(x):
        x = jnp.moveaxis(x, axes, dest)
        return x.reshape(x.shape[: x.ndim - n] + (k,))

    return merge(p), merge(t)


def label_checks(predictions, targets, *, axis=-1, ignore_index=-100, **_):
    p, t = jnp.asarray(predictions), jnp.asarray(targets)
    if isinstance(axis, tuple):
        p, t = merge_class_axes("checked", p, t, axis)
        axis = -1
    if t.ndim == p.ndim - 1:
        k = p.shape[axis]
        ok = (t >= 0) & (t < k)
        if ignore_index is not None:
            ok = ok | (t == ignore_index)
        return [(ok, f"integer labels must lie in [0, {k}) or equal ignore_index")]
    t = jnp.moveaxis(t, axis, -1)
    return [
        (t >= 0, "probability targets must be non-negative"),
        (jnp.abs(jnp.sum(t, -1) - 1) < 1e-3, "probability targets must sum to 1 along axis"),
    ]


def targets_dense(ci: ClassInputs) -> Array:
    """The targets as ``[..., K]`` rows (one-hot for integer labels)."""
    if ci.labels is not None:
        return jax.nn.one_hot(ci.labels, ci.num_classes, dtype=ci.x.dtype)
    return ci.rows


def on_label(values: Array, ci: ClassInputs) -> Array:
    """``values[y]`` for labels, ``sum_c y_c values_c`` for probability targets."""
    if ci.labels is not None:
        return pick(values, ci.labels)
    return dense_dot(ci.rows, values)


@jax.custom_jvp
def row_max(x: Array, keep: Array | None) -> Array:
    """``max_c x_c`` over the last axis, for predictions whose dropped rows are not masked.

    The derivative is ``jnp.max``'s (split evenly among the maximal entries; NaN in a kept row
    holding NaN), except in the rows ``keep`` drops, where it is 0 whatever they hold
    (``jnp.max``'s divides by the count of maximal entries, 0 in a row holding NaN, and ``0 /
    0`` is NaN even under a zero cotangent). So the predictions need no masked ``[..., K]``
    copy, which XLA:CPU writes out in full before a reduction (a pass over them saved).
    """
    return jnp.max(x, axis=-1)


@row_max.defjvp
def _row_max_jvp(primals, tangents):
    x, keep = primals
    m = jnp.max(x, axis=-1)
    at = (x == m[..., None]).astype(x.dtype)
    count = jnp.sum(at, axis=-1)
    if keep is not None:
        count = jnp.where(keep, count, 1.0)
    return m, jnp.sum(tangents[0] * at, axis=-1) / count


def x_on_label(ci: ClassInputs) -> Array:
    """``on_label(ci.x, ci)``: the prediction at the label (``sum_c y_c x_c`` for probability
    targets).

    For labels it is masked per row (the same values as reading masked predictions), so the
    loss can leave its predictions unmasked (``class_inputs(mask_predictions=False)``): no
    masked ``[..., K]`` copy, which XLA would write out in full before a reduction. The
    per-row select also gives the dropped rows a zero gradient, whatever they hold.
    """
    if ci.labels is None:
        return on_label(ci.x, ci)
    return _core.mask_safe(ci.mask, pick(ci.x, ci.labels), jnp.asarray(ci.safe, ci.x.dtype))
