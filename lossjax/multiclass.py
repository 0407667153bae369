"""Multiclass classification losses: softmax cross-entropy, NLL, categorical cross-entropy, hinge.

Every function here is per-example: ``predictions`` carry a class axis (``axis``, default -1)
and ``reduction="none"`` returns one loss per example (the predictions' shape without that
axis). Targets are either

* **integer labels** of the predictions' shape without the class axis (told apart by their
  integer dtype and shape, at trace time); they support ``ignore_index`` (default -100, as in
  PyTorch), ``class_weights`` and ``label_smoothing`` without building a one-hot array; or
* **probabilities** (or one-hot rows) of the predictions' shape.

Class weights multiply into the example weights: the mean is ``sum(w_y * loss) / sum(w_y)``
over the kept examples, as PyTorch defines it for integer labels. For probability targets the
class weight of an example is ``sum_c class_weights[c] * y[c]`` (the same for one-hot rows).

Unchecked bad values: an integer label outside ``[0, K)`` that is not ``ignore_index`` gives a
NaN loss (never a silently wrong number); use :func:`lossjax.checked` to get an error instead.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

from lossjax import _core, _samples
from lossjax._core import Array, ArrayLike
from lossjax.registry import NONNEGATIVE, UNIT_RIGHT_OPEN, Hyper, Interval, _builtin

_LOG_FLOOR = -100.0


class ClassInputs(NamedTuple):
    """Predictions and targets of a classification loss after the contract's checks.

    ``x`` is ``[..., K]`` (class axis last, compute dtype, safe values in dropped rows);
    exactly one of ``labels`` (``[...]``, int, clipped into range) and ``y`` (``[..., K]``)
    is set. ``mask`` and ``w`` are the kept examples and their weights (class weights
    included); ``invalid`` marks labels out of range (their loss is NaN).
    """

    x: Array
    labels: Array | None
    y: Array | None
    mask: Array | None
    w: Array | None
    invalid: Array | None
    num_classes: int


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
        labels = jnp.where(invalid, 0, t)
        labels = _core.mask_safe(mask, labels, 0)
        if cw is not None:
            w = _core.mul_weights(w, cw[labels])
        y = None
    else:
        y = _core.mask_safe(mask, jnp.moveaxis(t.astype(dtype), ax, -1), 0.0, axis=-1)
        if cw is not None:
            w = _core.mul_weights(w, jnp.sum(y * cw, axis=-1))
        labels = invalid = None
    if mask_predictions or not sparse:
        x = _core.mask_safe(mask, x, safe, axis=-1)
    return ClassInputs(x, labels, y, mask, w, invalid, k)


def pick(x: Array, labels: Array) -> Array:
    """``x[..., labels]`` along the last axis (labels already in range)."""
    return jnp.take_along_axis(x, labels[..., None], axis=-1)[..., 0]


def finish(ci: ClassInputs, loss: Array, reduction: str, name: str) -> Array:
    """NaN for out-of-range labels, then the shared reduction."""
    if ci.invalid is not None:
        loss = jnp.where(ci.invalid, jnp.nan, loss)
    return _core.reduce(loss, weights=ci.w, where=ci.mask, reduction=reduction, loss_name=name)


def dense_dot(y: Array, x: Array) -> Array:
    """``sum_c y_c x_c`` where a zero target makes its term 0 even if ``x_c = -inf``."""
    nz = y != 0
    return jnp.sum(jnp.where(nz, y * jnp.where(nz, x, 0), 0), axis=-1)


def smoothed_nll(log_probs: Array, ci: ClassInputs, label_smoothing: float) -> Array:
    """Cross-entropy ``-sum_c y'_c log q_c`` with ``y' = (1 - eps) y + eps / K``."""
    eps = label_smoothing
    if ci.labels is not None:
        loss = -pick(log_probs, ci.labels)
        if eps:
            loss = (1.0 - eps) * loss - eps * jnp.mean(log_probs, axis=-1)
        return loss
    y = ci.y
    if eps:
        y = (1.0 - eps) * y + eps / ci.num_classes
    return -dense_dot(y, log_probs)


def _label_checks(predictions, targets, *, axis=-1, ignore_index=-100, **_):
    p, t = jnp.asarray(predictions), jnp.asarray(targets)
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


def _class_boundary(kind: str, smoothing: bool = True):
    """Boundary cases for a classification loss whose predictions are of ``kind``."""

    def boundary(dtype):
        cases = _cases(dtype)
        return [c for c in cases if smoothing or "label_smoothing" not in c[2]]

    def _cases(dtype):
        a = lambda v: jnp.asarray(v, dtype)
        labels = jnp.array([0, 1, 2])
        ninf = -jnp.inf
        if kind == "logits":
            m = _samples.finfo_max(dtype)
            x = [[1e4, -1e4, 0, 0, 0], [1e4, -1e4, 0, 0, 0], [0, 0, 0, 0, 0]]
            masked = [[0, 1, 2, 3, 4], [ninf] * 5, [ninf, 0, ninf, 1, 2]]
            return [
                ("huge logits", (a(x), labels), {}),
                ("huge logits, smoothed", (a(x), labels), {"label_smoothing": 0.1}),
                ("dtype max on the label", (a([[m, -m, 0, 0, 0]]), jnp.array([0])), {}),
                ("-inf rows dropped by where", (a(masked), labels),
                 {"where": jnp.array([True, False, False])}),
                ("-inf rows at ignore_index", (a(masked), jnp.array([0, -100, -100])), {}),
                ("-inf off the label", (a([[0, ninf, ninf, 1, 2]]), jnp.array([0])), {}),
            ]
        if kind == "log_probabilities":
            lp = [[0, ninf, ninf, ninf, ninf], [-1e4, 0, -1e4, -1e4, -1e4], [-1.6] * 5]
            return [
                ("log(0) and log(1)", (a(lp), labels), {}),
                ("-inf rows dropped by where", (a([[ninf] * 5] * 3), labels),
                 {"where": jnp.array([False, False, False])}),
            ]
        if kind == "probabilities":
            pr = [[1, 0, 0, 0, 0], [1, 0, 0, 0, 0], [0.2] * 5]
            return [
                ("exact 0 and 1", (a(pr), labels), {}),
                ("exact 0 and 1, smoothed", (a(pr), labels), {"label_smoothing": 0.1}),
            ]
        return []

    return boundary


# --------------------------------------------------------------------------------------------
# Fused softmax cross-entropy for integer labels (one pass for logsumexp, one for the gradient)


def _label_shifted_lse(x: Array, labels: Array, keep: Array | None) -> Array:
    """``logsumexp`` of each row in one pass over ``x``, shifted by the label's logit.

    ``log sum_c exp(x_c) = x_y + log sum_c exp(x_c - x_y)``: the sum is at least 1 (the label's
    own term), so it never underflows, and it overflows only when another logit beats the
    label's by more than the dtype's ``log(max)`` (about 88 in float32). Only then (some kept
    row non-finite) is every row recomputed the usual way, shifted by its maximum (one
    ``lax.cond`` for the whole batch). The usual way needs two passes (the maximum, then the
    sum); this one needs one.
    """
    c = pick(x, labels)
    lse = c + jnp.log(jnp.sum(jnp.exp(x - c[..., None]), axis=-1))
    bad = ~jnp.isfinite(lse)
    if keep is not None:
        bad = bad & keep

    def by_max(_):
        m = jnp.max(x, axis=-1)
        m = jnp.where(jnp.isfinite(m), m, 0.0)
        return m + jnp.log(jnp.sum(jnp.exp(x - m[..., None]), axis=-1))

    return jax.lax.cond(jnp.any(bad), by_max, lambda _: lse, None)


def _ce_labels_value(x: Array, labels: Array, keep: Array | None, eps: float):
    lse = _label_shifted_lse(x, labels, keep)
    loss = lse - pick(x, labels)
    if eps:
        # -sum_c ((1 - eps) onehot_c + eps / K) log_softmax_c = lse - (1 - eps) x_y - eps mean x
        loss = lse - (1.0 - eps) * pick(x, labels) - eps * jnp.mean(x, axis=-1)
    return loss, lse


@functools.partial(jax.custom_jvp, nondiff_argnums=(3,))
def _ce_labels(x: Array, labels: Array, keep: Array | None, eps: float) -> Array:
    """Per-row softmax cross-entropy against integer labels (smoothed by ``eps``).

    A fused kernel: the tangent is ``sum_c g_c dx_c`` with ``g = softmax(x) - (1 - eps)
    onehot(y) - eps / K`` computed in one pass from ``x`` and the row's ``logsumexp`` (no
    one-hot array: the label is compared with an iota), so ``value_and_grad`` reads the
    logits twice and writes the gradient once. Rows with ``keep`` False may hold anything
    (``-inf``, NaN): their ``g`` is 0, and the caller drops their value.
    """
    return _ce_labels_value(x, labels, keep, eps)[0]


def _ce_labels_jvp(eps, primals, tangents):
    x, labels, keep = primals
    dx = tangents[0]
    loss, lse = _ce_labels_value(x, labels, keep, eps)
    if isinstance(dx, SymbolicZero):
        return loss, jnp.zeros_like(loss)
    # A barrier copy of x with a trailing unit axis (free): XLA must not share full-size
    # intermediates or broadcast constants between the logsumexp pass and the gradient pass
    # (see lossjax._fused).
    x2, y2 = jax.lax.optimization_barrier((x[..., None], labels[..., None]))
    k = x.shape[-1]
    classes = jax.lax.broadcasted_iota(y2.dtype, (*x.shape, 1), x.ndim - 1)
    g = jnp.exp(x2 - lse[..., None, None]) - jnp.where(classes == y2[..., None], 1.0 - eps, 0.0)
    if eps:
        g = g - eps / k
    if keep is not None:
        g = jnp.where(keep[..., None, None], g, 0.0)
    return loss, jnp.sum(g[..., 0] * dx, axis=-1)


_ce_labels.defjvp(_ce_labels_jvp, symbolic_zeros=True)


_CE_HYPERS = {
    "label_smoothing": Hyper(0.0, UNIT_RIGHT_OPEN, static=True),
    "ignore_index": Hyper(-100, None, static=True, optional=True),
    "class_weights": Hyper(None, NONNEGATIVE, optional=True),
}
_MULTICLASS = dict(task="multiclass", granularity="example", checks=_label_checks)


@_builtin(
    "softmax_cross_entropy",
    aliases=("cross_entropy",),
    predictions="logits",
    targets="labels or probabilities",
    bounded=False,
    convex=True,
    hyper=_CE_HYPERS,
    sample=_samples.default_sampler("logits", "labels", "example"),
    boundary=_class_boundary("logits"),
    reference="Bridle, Probabilistic Interpretation of Feedforward Classification Network "
    "Outputs (1990); label smoothing: Szegedy et al., Rethinking the Inception Architecture, "
    "CVPR (2016)",
    peers={
        "optax": "softmax_cross_entropy / softmax_cross_entropy_with_integer_labels",
        "torch": "cross_entropy",
        "keras": "CategoricalCrossentropy(from_logits=True) / SparseCategoricalCrossentropy",
    },
    **_MULTICLASS,
)
def softmax_cross_entropy(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    label_smoothing: float = 0.0,
    ignore_index: int | None = -100,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
) -> Array:
    """Softmax cross-entropy on logits: ``logsumexp(x) - x[y]``, with log-softmax inside.

    For integer labels ``y`` the loss of an example is ``logsumexp_c x_c - x_y``; with
    ``label_smoothing = eps`` it is ``logsumexp x - (1 - eps) x_y - eps * mean_c x_c`` (the
    cross-entropy against ``(1 - eps) onehot(y) + eps / K``), computed without a one-hot array.
    For probability targets it is ``logsumexp x - sum_c y_c x_c`` (a zero target ignores its
    logit, even ``-inf``).

    ``-inf`` logits are allowed off the label (classes that are impossible); a whole row of
    ``-inf`` is fine when the row is dropped by ``where`` or ``ignore_index``. With label
    smoothing every class gets mass, so a ``-inf`` logit in a kept row gives an infinite loss.

    With ``class_weights`` and ``label_smoothing`` both on, the class weight of the *label*
    multiplies the whole smoothed loss (PyTorch instead weights each class's smoothing term
    by its own class weight).

    Args:
      predictions: logits ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or probabilities (shape of
        ``predictions``).
      label_smoothing: ``eps`` in ``[0, 1)`` (static Python number).
      ignore_index: integer label whose examples are dropped (static; None to drop none).
      class_weights: optional non-negative ``[K]`` weights.
      axis: the class axis (static).
      weights: optional example weights, broadcastable to the per-example shape.
      where: optional boolean mask over examples.
      reduction: ``"none"`` (per example), ``"sum"`` or ``"mean"``.

    Returns:
      The reduced loss.

    Raises:
      TypeError: float targets without the class axis; integer predictions.
      ValueError: shapes that fit neither kind of target; ``label_smoothing`` outside [0, 1).

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
    name = "softmax_cross_entropy"
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights, mask_predictions=False,
    )
    if ci.labels is not None:
        return finish(ci, _ce_labels(ci.x, ci.labels, ci.mask, float(label_smoothing)),
                      reduction, name)
    log_probs = jax.nn.log_softmax(ci.x, axis=-1)
    return finish(ci, smoothed_nll(log_probs, ci, label_smoothing), reduction, name)


@_builtin(
    "nll",
    predictions="log_probabilities",
    targets="labels or probabilities",
    bounded=False,
    convex=True,
    hyper=_CE_HYPERS,
    sample=_samples.default_sampler("log_probabilities", "labels", "example"),
    boundary=_class_boundary("log_probabilities"),
    reference="Negative log-likelihood; PyTorch's nll_loss",
    peers={"torch": "nll_loss"},
    **_MULTICLASS,
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
    reduction: str = "mean",
) -> Array:
    """Negative log-likelihood of log-probabilities: ``-log_probs[y]``.

    Predictions are log-probabilities (e.g. from ``jax.nn.log_softmax``); ``log(0) = -inf`` is
    allowed off the label. For probability targets the loss is ``-sum_c y_c log q_c``.
    ``label_smoothing`` gives ``-(1 - eps) log q_y - eps * mean_c log q_c``.

    Args:
      predictions: log-probabilities ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or probabilities (shape of
        ``predictions``).
      label_smoothing: ``eps`` in ``[0, 1)`` (static).
      ignore_index: integer label whose examples are dropped (static; None to drop none).
      class_weights: optional non-negative ``[K]`` weights.
      axis: the class axis (static).
      weights: optional example weights.
      where: optional boolean mask over examples.
      reduction: ``"none"``, ``"sum"`` or ``"mean"``.

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
    name = "nll"
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights,
    )
    return finish(ci, smoothed_nll(ci.x, ci, label_smoothing), reduction, name)


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def clamped_log(p: Array, eps: float = 1e-12) -> Array:
    """``max(log p, -100)`` with derivative ``1 / max(p, eps)``: finite at ``p = 0``."""
    return jnp.maximum(jnp.log(p), _LOG_FLOOR)


@clamped_log.defjvp
def _clamped_log_jvp(eps, primals, tangents):
    (p,), (dp,) = primals, tangents
    return clamped_log(p, eps), dp / jnp.maximum(p, eps)


@_builtin(
    "categorical_cross_entropy",
    predictions="probabilities",
    targets="labels or probabilities",
    bounded=False,
    convex=True,
    hyper=_CE_HYPERS,
    sample=_samples.default_sampler("probabilities", "probabilities", "example"),
    boundary=_class_boundary("probabilities"),
    reference="Cross-entropy of probability vectors; clamping as in PyTorch's "
    "binary_cross_entropy",
    peers={"keras": "CategoricalCrossentropy / SparseCategoricalCrossentropy"},
    **_MULTICLASS,
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
    reduction: str = "mean",
) -> Array:
    """Cross-entropy of predicted probabilities: ``-sum_c y_c log p_c``.

    Predictions are probabilities along ``axis`` (not renormalised: Keras divides by the
    sum, lossjax trusts the caller). Each ``log p`` is clamped at -100 with derivative
    ``1 / max(p, 1e-12)`` (``2 / 65504`` for float16 inputs), so a zero probability on the label costs 100 nats and has a large
    finite gradient. Prefer :func:`softmax_cross_entropy` on logits where you can.

    Args:
      predictions: probabilities ``[..., K, ...]`` along ``axis``.
      targets: integer labels (shape without ``axis``) or probabilities (shape of
        ``predictions``).
      label_smoothing: ``eps`` in ``[0, 1)`` (static).
      ignore_index: integer label whose examples are dropped (static; None to drop none).
      class_weights: optional non-negative ``[K]`` weights.
      axis: the class axis (static).
      weights: optional example weights.
      where: optional boolean mask over examples.
      reduction: ``"none"``, ``"sum"`` or ``"mean"``.

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
    name = "categorical_cross_entropy"
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights, safe=1.0,
    )
    eps = _core.grad_floor(jnp.asarray(predictions).dtype)
    return finish(ci, smoothed_nll(clamped_log(ci.x, eps), ci, label_smoothing), reduction, name)


@_builtin(
    "multiclass_hinge",
    predictions="scores",
    targets="labels or one-hot",
    bounded=False,
    convex=True,
    twice_differentiable=False,
    hyper={
        "ignore_index": _CE_HYPERS["ignore_index"],
        "class_weights": _CE_HYPERS["class_weights"],
        "margin": Interval(0.0, float("inf")),
    },
    sample=_samples.default_sampler("scores", "labels", "example"),
    boundary=_class_boundary("logits", smoothing=False),
    reference="Crammer & Singer, On the Algorithmic Implementation of Multiclass Kernel-based "
    "Vector Machines, JMLR 2 (2001)",
    peers={"optax": "multiclass_hinge_loss"},
    **_MULTICLASS,
)
def multiclass_hinge(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    margin: float | ArrayLike = 1.0,
    ignore_index: int | None = -100,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
) -> Array:
    """Multiclass hinge loss (Crammer–Singer): ``max_k (s_k + margin [k != y]) - s_y``.

    Zero when the label's score beats every other score by ``margin``. One-hot targets give
    the same loss as integer labels (``max_k (s_k + margin (1 - y_k)) - sum_k y_k s_k``).

    Args:
      predictions: scores ``[..., K, ...]`` along ``axis``.
      targets: integer labels (shape without ``axis``) or one-hot rows (shape of
        ``predictions``).
      margin: non-negative margin (1 in the paper and optax).
      ignore_index: integer label whose examples are dropped (static; None to drop none).
      class_weights: optional non-negative ``[K]`` weights.
      axis: the class axis (static).
      weights: optional example weights.
      where: optional boolean mask over examples.
      reduction: ``"none"``, ``"sum"`` or ``"mean"``.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> float(lossjax.multiclass_hinge(jnp.array([[1.0, 1.5, 0.0]]), jnp.array([0])))
      1.5

    Reference:
      Crammer and Singer, JMLR 2 (2001).
    """
    name = "multiclass_hinge"
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights,
    )
    if ci.labels is not None:
        onehot = jax.nn.one_hot(ci.labels, ci.num_classes, dtype=ci.x.dtype)
    else:
        onehot = ci.y
    loss = jnp.max(ci.x + margin * (1.0 - onehot), axis=-1) - dense_dot(onehot, ci.x)
    return finish(ci, loss, reduction, name)

