"""Multiclass classification losses: softmax cross-entropy, NLL, categorical cross-entropy, hinge.

Every function here is per-example over a class axis, with integer-label or probability
targets, ``ignore_index``, ``class_weights`` and label smoothing as the classification
contract (:mod:`lossjax._classes`) defines them.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

from lossjax import _core, _samples
from lossjax._classes import (
    class_inputs,
    dense_dot,
    finish,
    label_checks,
    merge_class_axes,
    on_label,
    pick,
    scaled,
    smooth,
    smoothed_nll,
    smoothing,
    targets_dense,
)
from lossjax._core import Array, ArrayLike, Reduction
from lossjax._samples import multiclass as fixtures
from lossjax.registry import NONNEGATIVE, UNIT_RIGHT_OPEN, Choice, Hyper, Interval, _builtin

_LOG_FLOOR = -100.0


# --------------------------------------------------------------------------------------------
# Fused softmax cross-entropy for integer labels (one exponential per logit)


def _label_shifted_lse(x: Array, labels: Array, keep: Array | None) -> Array:
    """``logsumexp`` of each row in one pass over ``x``, shifted by the label's logit.

    ``log sum_c exp(x_c) = x_y + log sum_c exp(x_c - x_y)``: the sum is at least 1 (the label's
    own term), so it never underflows, and it overflows only when another logit beats the
    label's by more than the dtype's ``log(max)`` (about 88 in float32). Only then (some kept
    row non-finite) is every row recomputed the usual way, shifted by its maximum (one
    ``lax.cond`` for the whole batch). The usual way needs two passes (the maximum, then the
    sum); this one needs one. The value alone (no derivative) takes this path.
    """
    c = pick(x, labels)
    lse = c + jnp.log(jnp.sum(jnp.exp(x - c[..., None]), axis=-1))
    return jax.lax.cond(_overflowed(lse, keep), lambda _: _by_max(x)[2], lambda _: lse, None)


def _overflowed(lse: Array, keep: Array | None) -> Array:
    """Whether some kept row's label-shifted ``logsumexp`` is not finite (overflow or NaN)."""
    bad = ~jnp.isfinite(lse)
    if keep is not None:
        bad = bad & keep
    return jnp.any(bad)


def _by_max(x: Array) -> tuple[Array, Array, Array]:
    """``(e, s, lse)`` with ``e = exp(x - max)``, ``s = sum e``: the overflow fallback."""
    m = jnp.max(x, axis=-1)
    m = jnp.where(jnp.isfinite(m), m, 0.0)
    e = jnp.exp(x - m[..., None])
    s = jnp.sum(e, axis=-1)
    return e, s, m + jnp.log(s)


def _label_shifted_exp(x: Array, labels: Array, keep: Array | None):
    """``(e, s, lse)``: ``e = exp(x - shift)`` written once, ``s = sum e``, ``lse = shift + log s``.

    The shift is the label's logit (as in :func:`_label_shifted_lse`); where some kept row
    overflows, every row is recomputed shifted by its maximum (:func:`_by_max`, one
    ``lax.cond`` between the two whole programs, so each evaluates one exponential per logit).
    The softmax is ``e / s`` in both: the gradient reads ``e`` instead of evaluating a second
    exponential. The barrier keeps XLA from fusing the exponential into the sum's reduction
    (evaluated there, it would have to be evaluated again for the gradient).
    """
    c = pick(x, labels)
    e = jax.lax.optimization_barrier(jnp.exp(x - c[..., None]))
    s = jnp.sum(e, axis=-1)
    lse = c + jnp.log(s)
    return jax.lax.cond(_overflowed(lse, keep), lambda _: _by_max(x), lambda _: (e, s, lse),
                        None)


def _lse_then_exp(x: Array, labels: Array, keep: Array | None):
    """``(e, s, lse)`` of :func:`_label_shifted_exp` with ``e = exp(x - lse)``, ``s = 1``.

    The program for accelerators (memory-bound, where an exponential costs little): the
    ``logsumexp`` in one fused pass, and ``e`` left for XLA to fuse into the gradient's pass
    (two reads of the logits and one write, instead of writing ``e`` and reading it back).
    The barrier copy of ``x`` with a trailing unit axis (free) keeps XLA from sharing
    full-size intermediates between the two passes (see :mod:`lossjax._fused`).
    """
    lse = _label_shifted_lse(x, labels, keep)
    x2 = jax.lax.optimization_barrier(x[..., None])
    return jnp.exp(x2 - lse[..., None, None])[..., 0], jnp.ones_like(lse), lse


def _softmax_parts(x: Array, labels: Array, keep: Array | None):
    """``(e, s, lse)`` with ``softmax(x) = e / s``: one exponential per logit on the CPU.

    On the CPU the exponential, not memory, decides (BUILD_NOTES, sessions 5 and 6), so ``e``
    is written once (:func:`_label_shifted_exp`); elsewhere the fused two-pass program
    (:func:`_lse_then_exp`), unmeasured on accelerators so far and lighter on memory. The
    choice is made when lowering for a platform (``lax.platform_dependent``: no conditional
    reaches the compiler).
    """
    return jax.lax.platform_dependent(x, labels, keep, cpu=_label_shifted_exp,
                                      default=_lse_then_exp)


def _ce_labels_loss(x: Array, labels: Array, lse: Array, eps, on: bool) -> Array:
    if on:
        # -sum_c ((1 - eps) onehot_c + eps / K) log_softmax_c = lse - (1 - eps) x_y - eps mean x
        return lse - (1.0 - eps) * pick(x, labels) - scaled(eps, jnp.mean(x, axis=-1))
    return lse - pick(x, labels)


@functools.partial(jax.custom_jvp, nondiff_argnums=(3,))
def _ce_labels(x: Array, labels: Array, keep: Array | None, eps: float) -> Array:
    """Per-row softmax cross-entropy against integer labels (smoothed by ``eps``).

    A fused kernel: the tangent is ``sum_c g_c dx_c`` with ``g = softmax(x) - (1 - eps)
    onehot(y) - eps / K``, the softmax ``e / s`` from :func:`_label_shifted_exp` (one
    exponential per logit, written once) and no one-hot array (the label is compared with an
    iota). ``value_and_grad`` reads the logits once, writes and reads ``e`` and writes the
    gradient. Rows with ``keep`` False may hold anything (``-inf``, NaN): their ``g`` is 0,
    and the caller drops their value.
    """
    return _ce_labels_loss(x, labels, _label_shifted_lse(x, labels, keep), eps, bool(eps))


def _ce_labels_jvp(eps, primals, tangents):
    x, labels, keep = primals
    dx = tangents[0]
    on = bool(eps)
    if isinstance(dx, SymbolicZero):
        loss = _ce_labels_loss(x, labels, _label_shifted_lse(x, labels, keep), eps, on)
        return loss, jnp.zeros_like(loss)
    e, s, lse = _softmax_parts(x, labels, keep)
    loss = _ce_labels_loss(x, labels, lse, eps, on)
    return loss, _ce_labels_tangent(labels, keep, eps, on, e, s, dx)


def _ce_labels_tangent(labels, keep, eps, on: bool, e, s, dx) -> Array:
    """``sum_c g_c dx_c``, ``g = e / s - (1 - eps) onehot(y) - eps / K``, in one pass over e."""
    k = e.shape[-1]
    classes = jax.lax.broadcasted_iota(labels.dtype, e.shape, e.ndim - 1)
    g = e * (1.0 / s)[..., None] - jnp.where(classes == labels[..., None], 1.0 - eps, 0.0)
    if on:
        g = g - eps / k
    if keep is not None:
        g = jnp.where(keep[..., None], g, 0.0)
    return jnp.sum(g * dx, axis=-1)


_ce_labels.defjvp(_ce_labels_jvp, symbolic_zeros=True)


@jax.custom_jvp
def _ce_labels_traced(x: Array, labels: Array, keep: Array | None, eps: Array) -> Array:
    """:func:`_ce_labels` for a traced ``eps`` (a schedule, ``vmap`` or ``grad`` over it).

    The same fused tangent in ``x``; the tangent in ``eps`` is ``(x_y - mean_c x_c) deps``
    (0 where ``eps = 0`` and a logit is ``-inf``, as :func:`scaled` gives the value there).
    """
    return _ce_labels_loss(x, labels, _label_shifted_lse(x, labels, keep), eps, True)


def _ce_labels_traced_jvp(primals, tangents):
    x, labels, keep, eps = primals
    dx, deps = tangents[0], tangents[3]
    if isinstance(dx, SymbolicZero):
        loss = _ce_labels_loss(x, labels, _label_shifted_lse(x, labels, keep), eps, True)
        tan = jnp.zeros_like(loss)
    else:
        e, s, lse = _softmax_parts(x, labels, keep)
        loss = _ce_labels_loss(x, labels, lse, eps, True)
        tan = _ce_labels_tangent(labels, keep, eps, True, e, s, dx)
    if not isinstance(deps, SymbolicZero):
        m = jnp.mean(x, axis=-1)
        m = jnp.where((eps == 0) & ~jnp.isfinite(m), 0.0, m)
        tan = tan + (pick(x, labels) - m) * deps
    return loss, tan


_ce_labels_traced.defjvp(_ce_labels_traced_jvp, symbolic_zeros=True)


_CE_HYPERS = {
    "label_smoothing": Hyper(UNIT_RIGHT_OPEN, fast=(0.0,)),
    "ignore_index": Hyper(None, static=True, optional=True,
                          why_static=("a class id, not a quantity: whether it applies (None drops "
                                      "nothing) and whether the targets are labels it can apply to"
                                      " are decided at trace time")),
    "class_weights": Hyper(NONNEGATIVE, optional=True),
}
_MULTICLASS = dict(task="multiclass", granularity="example", checks=label_checks)


@_builtin(
    aliases=("cross_entropy",),
    predictions="logits",
    targets="labels or probabilities",
    bounded=False,
    convex=True,
    hyper=_CE_HYPERS,
    sample=_samples.default_sampler("logits", "labels", "example"),
    boundary=fixtures.class_boundary("logits"),
    peers={
        "optax": "softmax_cross_entropy / softmax_cross_entropy_with_integer_labels / "
        "safe_softmax_cross_entropy / smooth_labels (as label_smoothing)",
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
    axis: int | tuple[int, ...] = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    """Softmax cross-entropy on logits: ``logsumexp(x) - x[y]``, with log-softmax inside.

    For integer labels ``y`` the loss of an example is ``logsumexp_c x_c - x_y``; with
    ``label_smoothing = eps`` it is ``logsumexp x - (1 - eps) x_y - eps * mean_c x_c`` (the
    cross-entropy against ``(1 - eps) onehot(y) + eps / K``), computed without a one-hot array.
    For probability targets it is ``logsumexp x - sum_c y_c x_c`` (a zero target ignores its
    logit, even ``-inf``). The gradient with respect to probability targets is
    ``-log_softmax(x)`` (smoothing aside), at zero targets too, as optax and PyTorch give; at
    a ``-inf`` logit it is 0 rather than ``+inf``.

    ``-inf`` logits are allowed off the label (classes that are impossible); a whole row of
    ``-inf`` is fine when the row is dropped by ``where`` or ``ignore_index``. With label
    smoothing every class gets mass, so a ``-inf`` logit in a kept row gives an infinite loss
    (unless its class weight is 0).

    With ``class_weights`` and ``label_smoothing`` both on, the loss is PyTorch's
    ``cross_entropy(weight=, label_smoothing=)``: ``(1 - eps) w_y (-log q_y) + eps / K *
    sum_c w_c (-log q_c)`` per example, the mean divided by ``sum(w_y)`` (module docstring).

    Args:
      predictions: logits ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or probabilities (shape of
        ``predictions``).
      label_smoothing: ``eps`` in ``[0, 1)``; traced (a schedule or a sweep reuses the
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
    name = "softmax_cross_entropy"
    if isinstance(axis, tuple):
        predictions, targets = merge_class_axes(name, predictions, targets, axis, class_weights)
        axis = -1
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights, mask_predictions=False,
    )
    eps, on = smoothing(label_smoothing)
    if ci.labels is not None and not (on and ci.class_w is not None):
        if _core.known_value(eps) is not None:  # a Python number: the static kernel
            per = _ce_labels(ci.x, ci.labels, ci.mask, float(eps))
        else:
            per = _ce_labels_traced(ci.x, ci.labels, ci.mask, jnp.asarray(eps, ci.x.dtype))
        return finish(ci, per, reduction, name)
    # Probability targets, or labels with smoothing and class weights (each class's smoothing
    # term has its own weight, which the fused kernel does not know): the plain path.
    x = ci.x if ci.labels is None else _core.mask_safe(ci.mask, ci.x, 0.0, axis=-1)
    log_probs = jax.nn.log_softmax(x, axis=-1)
    ce, extra = smoothed_nll(log_probs, ci, label_smoothing)
    return finish(ci, ce, reduction, name, extra)


@_builtin(
    predictions="log_probabilities",
    targets="labels or probabilities",
    bounded=False,
    convex=True,
    hyper=_CE_HYPERS,
    sample=_samples.default_sampler("log_probabilities", "labels", "example"),
    boundary=fixtures.class_boundary("log_probabilities"),
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
    reduction: Reduction = "mean",
) -> Array:
    """Negative log-likelihood of log-probabilities: ``-log_probs[y]``.

    Predictions are log-probabilities (e.g. from ``jax.nn.log_softmax``); ``log(0) = -inf`` is
    allowed off the label. For probability targets the loss is ``-sum_c y_c log q_c``.
    ``label_smoothing`` gives ``-(1 - eps) log q_y - eps * mean_c log q_c``.

    Args:
      predictions: log-probabilities ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or probabilities (shape of
        ``predictions``).
      label_smoothing: ``eps`` in ``[0, 1)`` (traced; a Python 0 compiles the plain path).
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
    name = "nll"
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights,
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
    hyper=_CE_HYPERS,
    sample=_samples.default_sampler("probabilities", "probabilities", "example"),
    boundary=fixtures.class_boundary("probabilities"),
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
    reduction: Reduction = "mean",
) -> Array:
    """Cross-entropy of predicted probabilities: ``-sum_c y_c log p_c``.

    Predictions are probabilities along ``axis`` (not renormalised: Keras divides by the
    sum, lossjax trusts the caller). Each ``log p`` is clamped at -100 with derivative
    ``1 / max(p, 1e-12)`` (``2 / 65504`` for float16 inputs), so a zero probability on the
    label costs 100 nats and has a large finite gradient. Prefer
    :func:`softmax_cross_entropy` on logits where you can.

    Args:
      predictions: probabilities ``[..., K, ...]`` along ``axis``.
      targets: integer labels (shape without ``axis``) or probabilities (shape of
        ``predictions``).
      label_smoothing: ``eps`` in ``[0, 1)`` (traced; a Python 0 compiles the plain path).
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
    name = "categorical_cross_entropy"
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights, safe=1.0,
    )
    eps = _core.grad_floor(jnp.asarray(predictions).dtype)
    ce, extra = smoothed_nll(clamped_log(ci.x, eps), ci, label_smoothing)
    return finish(ci, ce, reduction, name, extra)


@_builtin(
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
    boundary=fixtures.class_boundary("logits", smoothing=False),
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
    reduction: Reduction = "mean",
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
        onehot = ci.rows
    loss = jnp.max(ci.x + margin * (1.0 - onehot), axis=-1) - dense_dot(onehot, ci.x)
    return finish(ci, loss, reduction, name)


# --------------------------------------------------------------------------------------------
# More multiclass losses (issue 5). Shared pieces first.


_LABEL_HYPERS = {"ignore_index": _CE_HYPERS["ignore_index"],
                 "class_weights": _CE_HYPERS["class_weights"]}
_LOGIT_LABELS = dict(
    predictions="logits", targets="labels or probabilities",
    sample=_samples.default_sampler("logits", "labels", "example"), **_MULTICLASS,
)
_SCORE_LABELS = dict(
    predictions="scores", targets="labels or one-hot",
    sample=_samples.default_sampler("scores", "labels", "example"),
    boundary=fixtures.class_boundary("logits", smoothing=False), **_MULTICLASS,
)

_ARGS_CLASS = """
      ignore_index: integer label whose examples are dropped (static; None to drop none).
      class_weights: optional non-negative ``[K]`` weights (they multiply into the example
        weights, so the mean is ``sum(w_y * loss) / sum(w_y)``).
      axis: the class axis (static)."""


def _doc(f):
    f.__doc__ = f.__doc__.replace("{class_args}", _ARGS_CLASS.strip())
    return f


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
    hyper=_LABEL_HYPERS,
    sample=_samples.default_sampler("probabilities", "probabilities", "example"),
    boundary=fixtures.class_boundary("probabilities", smoothing=False),
    peers={"sklearn": "brier_score_loss (multiclass, scale_by_half=False)"},
    **{**_MULTICLASS, "checks": _brier_checks},
)
@_doc
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
    """Multiclass Brier score: ``sum_c (p_c - y_c)**2`` per example.

    Predictions are probabilities along ``axis``; targets are integer labels (``y`` is then
    one-hot) or probabilities of the same shape. Per example it lies in ``[0, 2]`` and is the
    squared Euclidean distance between the two distributions: a strictly proper scoring rule,
    convex in the predictions, quadratic and so smooth everywhere (gradient
    ``2 (p - y)``). With two classes it is twice the binary Brier score ``(p_1 - y_1)**2``
    (scikit-learn's ``brier_score_loss`` halves the multiclass sum only with
    ``scale_by_half=True``; its default for more than two classes is the unhalved sum, as
    here). Predictions are not checked to be probabilities (see :func:`lossjax.checked`).

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
    name = "brier"
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights,
    )
    d = ci.x - targets_dense(ci)
    return finish(ci, jnp.sum(d * d, axis=-1), reduction, name)


@_builtin(
    bounded=False,
    convex=False,
    hyper={**_CE_HYPERS, "epsilon": Interval(-1.0, float("inf"))},
    boundary=fixtures.class_boundary("logits"),
    peers={"optax": "poly_loss_cross_entropy"},
    **_LOGIT_LABELS,
)
@_doc
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
    """Poly-1 cross-entropy: ``CE + epsilon * (1 - p_t)``.

    ``CE`` is :func:`softmax_cross_entropy` (with its label smoothing) and
    ``p_t = sum_c y'_c softmax(x)_c`` the probability given to the (smoothed) target
    ``y'``; for an integer label without smoothing, ``p_t = softmax(x)_y``. ``epsilon = 0``
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
    name = "poly1_cross_entropy"
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights,
    )
    log_probs = jax.nn.log_softmax(ci.x, axis=-1)
    ce, extra = smoothed_nll(log_probs, ci, label_smoothing)
    # with labels, the label's probability alone (one exponential per row, not per logit)
    p_t = (jnp.exp(pick(log_probs, ci.labels)) if ci.labels is not None
           else dense_dot(ci.rows, jnp.exp(log_probs)))
    eps, on = smoothing(label_smoothing)
    if on:
        p_t = smooth(p_t, eps, ci.num_classes)  # sum_c smooth(y)_c p_c
    return finish(ci, ce + epsilon * (1.0 - p_t), reduction, name, extra)


def _one_minus_p_pow(log_p: Array, gamma: float) -> Array:
    """``(1 - p)**gamma`` from ``log p``, finite with a finite gradient at ``p = 1``.

    ``1 - p = -expm1(log p)`` is exact for small ``p`` and floored at the smallest normal
    number, so that a fractional ``gamma`` never differentiates ``x**gamma`` at 0.
    """
    one_minus = jnp.maximum(-jnp.expm1(log_p), jnp.finfo(log_p.dtype).tiny)
    return jnp.exp(gamma * jnp.log(one_minus))


@_builtin(
    bounded=False,
    convex=False,
    hyper={
        "gamma": Hyper(NONNEGATIVE, fast=(0.0,)),
        "alpha": Hyper(NONNEGATIVE, optional=True),
        "label_smoothing": _CE_HYPERS["label_smoothing"],
        "ignore_index": _CE_HYPERS["ignore_index"],
    },
    boundary=fixtures.focal_boundary,
    peers={"keras": "CategoricalFocalCrossentropy(from_logits=True)"},
    **_LOGIT_LABELS,
)
def softmax_focal(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    gamma: float = 2.0,
    alpha: float | ArrayLike | None = None,
    label_smoothing: float = 0.0,
    ignore_index: int | None = -100,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    """Softmax focal loss: ``-sum_c alpha_c y_c (1 - p_c)**gamma log p_c``, ``p = softmax(x)``.

    For an integer label this is ``-alpha_y (1 - p_y)**gamma log p_y``. ``alpha`` is a scalar
    or one weight per class ``[K]`` (None: 1); unlike ``class_weights`` elsewhere it is *not*
    part of the mean's denominator, as in Keras (whose default is ``alpha=0.25``; lossjax's is
    None). ``(1 - p)**gamma`` is computed from log-probabilities, finite with finite gradients
    for fractional ``gamma`` at ``p = 1``, and in ``gamma`` too. ``gamma`` is traced (a sweep
    or ``vmap``/``grad`` over it reuses the compiled program); ``gamma = 0`` and
    ``alpha=None`` is the softmax cross-entropy.

    Args:
      predictions: logits ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or probabilities (shape of
        ``predictions``).
      gamma: focusing parameter ``>= 0`` (traced; a Python 0 compiles the plain path).
      alpha: optional non-negative scalar or ``[K]`` class weights.
      label_smoothing: ``eps`` in ``[0, 1)`` (traced; a Python 0 compiles the plain path).
      ignore_index: integer label whose examples are dropped (static; None to drop none).
      axis: the class axis (static).

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x = jnp.array([[0.0, 0.0]])  # p_y = 1/2: (1/2)**2 * log 2
      >>> round(float(lossjax.softmax_focal(x, jnp.array([1]))), 6)
      0.173287

    Reference:
      Lin, Goyal, Girshick, He and Dollár, "Focal Loss for Dense Object Detection", ICCV
      (2017); Keras's ``CategoricalFocalCrossentropy``.
    """
    name = "softmax_focal"
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index,
    )
    a = None
    if alpha is not None:
        a = _core.numeric_input("alpha", alpha, name).astype(ci.x.dtype)
        if a.ndim > 1 or (a.ndim == 1 and a.shape[0] != ci.num_classes):
            raise ValueError(
                f"{name}: `alpha` must be a scalar or have shape ({ci.num_classes},) (one per "
                f"class); got {tuple(a.shape)}."
            )
    log_probs = jax.nn.log_softmax(ci.x, axis=-1)

    def term(lp, alpha_c):
        if _core.is_known(gamma, 0.0):
            out = -lp
        else:
            out = -_one_minus_p_pow(lp, _core.hyper_value(gamma)) * lp
        return out if alpha_c is None else alpha_c * out

    eps, on = smoothing(label_smoothing)
    if ci.labels is not None and not on:
        lp_y = pick(log_probs, ci.labels)
        a_y = None if a is None else (a if a.ndim == 0 else a[ci.labels])
        loss = term(lp_y, a_y)
    else:
        y = targets_dense(ci)
        if on:
            y = smooth(y, eps, ci.num_classes)
        # A zero target leaves out its class's term, even with a -inf logit (log p = -inf),
        # where a non-zero target makes the loss inf. The term is evaluated on a safe log p
        # there (double where), so that the gradient with respect to a zero target elsewhere
        # is the term itself, as finite differences give.
        ruled_out = log_probs == -jnp.inf
        terms = term(jnp.where(ruled_out, 0.0, log_probs), a)
        loss = jnp.sum(jnp.where(ruled_out, jnp.where(y != 0, jnp.inf, 0.0), y * terms),
                       axis=-1)
    return finish(ci, loss, reduction, name)


@_builtin(
    bounded=True,
    convex=False,
    hyper={**_LABEL_HYPERS, "q": Interval(0.0, 1.0, low_open=True)},
    boundary=fixtures.class_boundary("logits", smoothing=False),
    peers={"keras": "CategoricalGeneralizedCrossEntropy (on softmax probabilities)"},
    **_LOGIT_LABELS,
)
@_doc
def generalized_cross_entropy(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    q: float | ArrayLike = 0.7,
    ignore_index: int | None = -100,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    """Generalized cross-entropy (L_q loss): ``(1 - p_y**q) / q`` with ``p = softmax(x)``.

    A Box-Cox interpolation between the cross-entropy (``q -> 0``) and the mean absolute
    error of the probabilities (``q = 1``, ``1 - p_y``), robust to label noise; bounded by
    ``1 / q``. ``p_y**q = exp(q log p_y)`` comes from log-probabilities. For probability
    targets the loss is the expectation ``sum_c y_c (1 - p_c**q) / q``. The paper uses
    ``q = 0.7`` (the default here; Keras's default is 0.5, and Keras takes probabilities
    where lossjax takes logits).

    Args:
      predictions: logits ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or probabilities (shape of
        ``predictions``).
      q: exponent in ``(0, 1]``.
      {class_args}

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x = jnp.log(jnp.array([[0.25, 0.75]]))
      >>> float(lossjax.generalized_cross_entropy(x, jnp.array([0]), q=0.5))
      1.0

    Reference:
      Zhang and Sabuncu, "Generalized Cross Entropy Loss for Training Deep Neural Networks
      with Noisy Labels", NeurIPS (2018), eq. 6.
    """
    name = "generalized_cross_entropy"
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights,
    )
    log_probs = jax.nn.log_softmax(ci.x, axis=-1)
    if ci.labels is not None:
        loss = -jnp.expm1(q * pick(log_probs, ci.labels)) / q
    else:
        # finite (1 / q) with a zero gradient at log p = -inf: no class needs leaving out
        loss = jnp.sum(ci.rows * (-jnp.expm1(q * log_probs) / q), axis=-1)
    return finish(ci, loss, reduction, name)


@_builtin(
    bounded=False,
    convex=False,
    hyper={
        **_LABEL_HYPERS,
        "alpha": NONNEGATIVE,
        "beta": NONNEGATIVE,
        "A": Interval(-float("inf"), 0.0, high_open=True),
    },
    boundary=fixtures.class_boundary("logits", smoothing=False),
    peers={},
    **_LOGIT_LABELS,
)
@_doc
def symmetric_cross_entropy(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    alpha: float | ArrayLike = 0.1,
    beta: float | ArrayLike = 1.0,
    A: float | ArrayLike = -4.0,
    ignore_index: int | None = -100,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    """Symmetric cross-entropy: ``alpha * CE(y, p) + beta * RCE(y, p)``, ``p = softmax(x)``.

    ``CE = -sum_c y_c log p_c`` and the reverse cross-entropy
    ``RCE = -sum_c p_c log y_c``, with ``log 0`` clamped to ``A < 0``: for an integer label
    ``RCE = -A (1 - p_y)``. For probability targets every ``log y_c`` is clamped below at
    ``A``. Defaults are the paper's CIFAR-10 values (``alpha = 0.1``, ``beta = 1``,
    ``A = -4``).

    Args:
      predictions: logits ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or probabilities (shape of
        ``predictions``).
      alpha: non-negative weight of the cross-entropy.
      beta: non-negative weight of the reverse cross-entropy.
      A: negative value that stands for ``log 0``.
      {class_args}

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x = jnp.log(jnp.array([[0.5, 0.5]]))  # CE = log 2, RCE = 4 * 0.5
      >>> round(float(lossjax.symmetric_cross_entropy(x, jnp.array([0]), alpha=1.0)), 6)
      2.693147

    Reference:
      Wang, Ma, Chen, Luo, Yi and Bailey, "Symmetric Cross Entropy for Robust Learning with
      Noisy Labels", ICCV (2019), eqs. 4-6.
    """
    name = "symmetric_cross_entropy"
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights,
    )
    log_probs = jax.nn.log_softmax(ci.x, axis=-1)
    ce, _ = smoothed_nll(log_probs, ci, 0.0)
    probs = jnp.exp(log_probs)
    if ci.labels is not None:
        rce = -A * (1.0 - pick(probs, ci.labels))
    else:
        pos = ci.rows > 0
        log_y = jnp.maximum(jnp.log(jnp.where(pos, ci.rows, 1.0)), A)
        rce = -jnp.sum(probs * jnp.where(pos, log_y, A), axis=-1)
    return finish(ci, alpha * ce + beta * rce, reduction, name)


# --------------------------------------------------------------------------------------------
# Bi-tempered logistic loss


def _log_t(log_x: Array, t: float | Array) -> Array:
    """Tempered logarithm ``(x**(1-t) - 1) / (1-t)`` of ``x = exp(log_x)`` (``log`` at t=1).

    For a traced ``t`` both cases are computed (a double where: the division never sees
    ``1 - t = 0``); near ``t = 1`` the quotient is ``log x`` to rounding.
    """
    if _core.known_value(t) is not None:
        if t == 1.0:
            return log_x
        return jnp.expm1((1.0 - t) * log_x) / (1.0 - t)
    one = t == 1.0
    d = jnp.where(one, 1.0, 1.0 - t)
    return jnp.where(one, log_x, jnp.expm1(d * log_x) / d)


def _log_exp_t(u: Array, t: float | Array) -> Array:
    """``log exp_t(u)`` for ``u <= 0`` and ``t > 1``: ``log1p((1-t) u) / (1-t)`` (``u`` at a
    Python ``t = 1``)."""
    if _core.known_value(t) == 1.0:
        return u
    return jnp.log1p((1.0 - t) * u) / (1.0 - t)


_NEWTON_STEPS = 6  # quadratic convergence: enough from the fixed point's start, even after 1


def _tempered_lambda_solve(a: Array, t: float | Array, num_iters: int) -> Array:
    """Normaliser ``lambda`` with ``sum_c exp_t(a_c - lambda) = 1`` (t > 1), no gradient."""
    mu = jnp.max(a, axis=-1, keepdims=True)
    a0 = a - mu
    at = a0
    # Fixed-point iteration of Amid et al. (2019), Algorithm 1 ...
    for _ in range(num_iters):
        z = jnp.sum(jnp.exp(_log_exp_t(at, t)), axis=-1, keepdims=True)
        at = z ** (1.0 - t) * a0
    z = jnp.sum(jnp.exp(_log_exp_t(at, t)), axis=-1, keepdims=True)
    lam = -_log_t(-jnp.log(z), t)
    # ... polished by Newton steps on g(lam) = sum_c exp_t(a0_c - lam) - 1 (convex and
    # decreasing, so the iterates stay at or right of the root's left bound 0), to full
    # precision: the gradient below assumes an exact normaliser.
    for _ in range(_NEWTON_STEPS):
        e = jnp.exp(_log_exp_t(a0 - lam, t))
        lam = lam + (jnp.sum(e, -1, keepdims=True) - 1.0) / jnp.sum(e**t, -1, keepdims=True)
        lam = jnp.maximum(lam, 0.0)
    return (lam + mu)[..., 0]


def _fixed_point_log_softmax(a: Array, t: float | Array, num_iters: int) -> Array:
    # a - lambda <= 0 (lambda >= max a); a -inf activation gets log y_hat = -inf.
    lam = _tempered_lambda_solve(a, t, num_iters)
    return _log_exp_t(a - lam[..., None], t)


# Above this (t - 1) log K the normaliser lambda ~ K**(t-1) / (t-1) is found in log space: in
# float32 it overflows at (t - 1) log K ~ 88 (t2 >= 56 for 5 classes, issue 11, item 11), and
# well before that the tempered softmax is uniform to the dtype's precision anyway.
_LOG_SPACE_SPREAD = 20.0
_LOG_SPACE_STEPS = 40  # safeguarded Newton steps (bisection where Newton leaves the bracket)


def _log_space_log_softmax(a: Array, t: float | Array) -> Array:
    """``log y_hat`` of the tempered softmax for a large ``(t - 1) log K``, without ``lambda``.

    With ``beta = t - 1``, ``d_c = max(a) - a_c`` and ``s_c = 1 + beta (lambda' + d_c)``
    (``lambda' = lambda - max a``), ``log y_hat_c = -log(s_c) / beta``. The unknown is
    ``l = log(1 + beta lambda')`` in ``[0, beta log K]``, the root of the decreasing
    ``h(l) = logsumexp_c log y_hat_c(l)`` with ``log s_c = l + log1p(beta d_c exp(-l))``:
    every quantity stays in range for any ``t`` (``lambda'`` itself would not).
    """
    beta = t - 1.0
    k = a.shape[-1]
    d = jnp.max(a, axis=-1, keepdims=True) - a
    log_bd = jnp.log(beta) + jnp.log(d)  # -inf for the maximum, +inf for a -inf logit

    def log_yhat(l):
        return -(l + jnp.log1p(jnp.exp(log_bd - l))) / beta

    def step(_, carry):
        l, lo, hi = carry
        ly = log_yhat(l)
        h = jax.nn.logsumexp(ly, axis=-1, keepdims=True)
        # h'(l) = -(1 / beta) sum_c softmax(ly)_c / (1 + beta d_c exp(-l))
        dh = -jnp.sum(jax.nn.softmax(ly, axis=-1) * jax.nn.sigmoid(l - log_bd), axis=-1,
                      keepdims=True) / beta
        lo = jnp.where(h > 0, l, lo)
        hi = jnp.where(h > 0, hi, l)
        newton = l - h / dh
        inside = (newton >= lo) & (newton <= hi)
        return jnp.where(inside, newton, 0.5 * (lo + hi)), lo, hi

    lo = jnp.zeros(d.shape[:-1] + (1,), a.dtype)
    hi = lo + beta * math.log(k)
    l, _, _ = jax.lax.fori_loop(0, _LOG_SPACE_STEPS, step, (lo, lo, hi))
    return log_yhat(l)


def _phi(z: Array) -> Array:
    """``(exp(-z) - 1 + z) / z**2`` for ``z >= 0`` (1/2 at 0), without the cancellation near 0:
    its Taylor series ``sum_k (-z)**k / (k + 2)!`` below 1/2 (truncation < 1e-9)."""
    small = z < 0.5
    zs = jnp.where(small, 1.0, z)  # a double where: neither branch sees the other's inputs
    direct = (jnp.expm1(-zs) + zs) / (zs * zs)
    zz = jnp.where(small, z, 0.0)
    series = jnp.zeros_like(zz)
    for k in range(7, -1, -1):  # Horner
        series = series * -zz + 1.0 / math.factorial(k + 2)
    return jnp.where(small, series, direct)


@functools.partial(jax.custom_jvp, nondiff_argnums=(2, 3))
def _tempered(a: Array, t: Array, num_iters: int, solver: str) -> Array:
    """``log y_hat`` of the tempered softmax, ``t >= 1`` an array (traced or not).

    ``solver`` is ``"fixed"`` (fixed point and Newton steps), ``"log"`` (log space) or
    ``"auto"``: chosen from ``t`` by ``lax.switch`` (the softmax at ``t = 1``, log space where
    ``(t - 1) log K > 20``, else the fixed point). Each branch gets ``t`` where it applies and
    a value inside its own range elsewhere, so under ``vmap`` (a ``select`` of every branch)
    no branch divides by ``1 - t = 0`` or overflows; the result is NaN for a traced ``t < 1``
    (outside the domain: never a silently wrong number). No gradient flows through the
    solvers: :func:`_tempered_jvp` gives the exact derivatives in ``a`` and ``t``.
    """
    a, t = jax.lax.stop_gradient(a), jax.lax.stop_gradient(t)
    if solver == "fixed":
        return _fixed_point_log_softmax(a, t, num_iters)
    if solver == "log":
        return _log_space_log_softmax(a, t)
    log_k = math.log(max(a.shape[-1], 2))
    is_log = (t - 1.0) * log_k > _LOG_SPACE_SPREAD
    is_soft = t == 1.0
    t_fixed = jnp.where(is_soft | is_log, 1.0 + 1.0 / log_k, t)
    t_log = jnp.where(is_log, t, 1.0 + 2.0 * _LOG_SPACE_SPREAD / log_k)
    index = jnp.where(is_soft, 0, jnp.where(is_log, 2, 1))
    out = jax.lax.switch(index, [
        lambda a, tf, tl: jax.nn.log_softmax(a, axis=-1),
        lambda a, tf, tl: _fixed_point_log_softmax(a, tf, num_iters),
        lambda a, tf, tl: _log_space_log_softmax(a, tl),
    ], a, t_fixed, t_log)
    return jnp.where(t >= 1.0, out, jnp.nan)


@_tempered.defjvp
def _tempered_jvp(num_iters, solver, primals, tangents):
    # Implicit function theorem on sum_c y_c = 1 with log y_c = G(a_c - lambda, t),
    # G(u, t) = log exp_t(u): dG/du = y_c**(t-1), and at fixed u, with z = (t - 1)(-log y_c),
    # dG/dt = (log y_c)**2 (exp(-z) - 1 + z) / z**2 (from 1 + (1-t) u = y**(1-t); (log y)**2 / 2
    # at t = 1). Then dlambda = sum_c (y_c**t da_c + y_c dG_c/dt dt) / sum_c y_c**t and
    # d log y_c = y_c**(t-1) (da_c - dlambda) + dG_c/dt dt. The same formula serves every
    # solver (at t = 1 it is the softmax's own derivative); a -inf log y_hat (a -inf logit)
    # keeps the tangent 0; NaN propagates.
    (a, t), (da, dt) = primals, tangents
    log_yhat = _tempered(a, t, num_iters, solver)
    live = log_yhat != -jnp.inf
    ly = jnp.where(live, log_yhat, 0.0)
    g_t = jnp.where(live, ly * ly * _phi((t - 1.0) * -ly), 0.0)
    # The sums over classes are taken relative to the largest log y_hat (m, a constant: the
    # expression is invariant to it), so that y**t and y**(t-1) cannot underflow to 0 / 0 for
    # a large t (t = 1e4: y = 1/K, y**t = 0 in float32): with r = log y - m,
    # y_c**(t-1) sum_j y_j g_j / sum_j y_j**t = exp((t-1) r_c) sum_j e**r_j g_j / sum_j e**(t r_j).
    m = jax.lax.stop_gradient(jnp.max(ly, axis=-1, keepdims=True))
    r = jnp.where(live, ly - m, 0.0)
    e_t = jnp.where(live, jnp.exp(t * r), 0.0)
    den = jnp.sum(e_t, axis=-1, keepdims=True)  # >= 1: the largest class gives 1
    da_mean = jnp.sum(e_t * da, axis=-1, keepdims=True) / den
    g_mean = jnp.sum(jnp.where(live, jnp.exp(r), 0.0) * g_t, axis=-1, keepdims=True) / den
    y_tm1 = jnp.where(live, jnp.exp((t - 1.0) * ly), 0.0)
    r_tm1 = jnp.where(live, jnp.exp((t - 1.0) * r), 0.0)
    d_log_yhat = y_tm1 * (da - da_mean) + (g_t - r_tm1 * g_mean) * dt
    return log_yhat, jnp.where(live, d_log_yhat, 0.0)


def _tempered_log_softmax_log_space(a: Array, t: float) -> Array:
    """The log-space solver alone (for tests), with the exact derivatives."""
    return _tempered(a, jnp.asarray(t, a.dtype), 0, "log")


def _tempered_log_softmax(a: Array, t: float | Array, num_iters: int) -> Array:
    """``log y_hat`` of the tempered softmax ``y_hat_c = exp_t(a_c - lambda(a))``, t >= 1.

    A ``t`` known to Python picks its solver at trace time (the softmax for 1); a traced
    ``t`` compiles every solver and picks one at run time (one program for every ``t``).
    """
    known = _core.known_value(t)
    if known == 1.0:
        return jax.nn.log_softmax(a, axis=-1)
    tt = jnp.asarray(_core.hyper_value(t), a.dtype)
    if known is None:
        return _tempered(a, tt, num_iters, "auto")
    spread = (known - 1.0) * math.log(max(a.shape[-1], 2))
    return _tempered(a, tt, num_iters, "log" if spread > _LOG_SPACE_SPREAD else "fixed")


@_builtin(
    bounded=False,
    convex=False,
    hyper={
        **_LABEL_HYPERS,
        "t1": Hyper(Interval(0.0, 1.0), fast=(1.0,)),
        # t2 = inf is no temperature: exp_inf is not defined (the domain's right end is open)
        "t2": Hyper(Interval(1.0, float("inf"), high_open=True), fast=(1.0,)),
        "num_iters": Hyper(Interval(1.0, 100.0), static=True,
                           why_static="the number of unrolled fixed-point iterations (a loop)"),
    },
    boundary=fixtures.class_boundary("logits", smoothing=False),
    peers={"google-research": "bi_tempered_loss"},
    **_LOGIT_LABELS,
)
@_doc
def bi_tempered_logistic(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    t1: float = 0.8,
    t2: float = 1.2,
    num_iters: int = 5,
    ignore_index: int | None = -100,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    """Bi-tempered logistic loss: bounded (``t1 < 1``), on a heavy-tailed softmax (``t2 > 1``).

    With the tempered logarithm ``log_t(x) = (x**(1-t) - 1) / (1-t)`` and exponential
    ``exp_t(x) = [1 + (1-t) x]_+**(1/(1-t))``, the tempered softmax is
    ``y_hat_c = exp_t2(x_c - lambda(x))`` with ``lambda`` such that ``sum_c y_hat_c = 1``,
    and the loss is

    ``sum_c [y_c (log_t1 y_c - log_t1 y_hat_c) - (y_c**(2-t1) - y_hat_c**(2-t1)) / (2-t1)]``.

    ``t1 = t2 = 1`` is exactly the softmax cross-entropy. For ``t2 > 1``, ``lambda`` is found
    by the paper's fixed-point iteration (``num_iters`` steps) and polished by six Newton
    steps to full precision; its gradient comes from the implicit function theorem, so
    ``grad`` and ``hessian`` are exact, in ``t2`` too (``d lambda / d t2`` from the same
    theorem; ``d log exp_t(u) / dt`` is written as ``(log y)**2 (exp(-z) - 1 + z) / z**2``
    with ``z = (t2 - 1)(-log y)``, a series near ``z = 0``, so ``t2 -> 1`` loses no digits).
    Where ``(t2 - 1) log K > 20`` the normaliser
    (about ``K**(t2-1) / (t2-1)``, past float32's range from ``t2 ~ 56`` for 5 classes) is
    not formed: ``log y_hat`` is found in log space by a safeguarded Newton iteration
    (``num_iters`` is then unused), so every finite ``t2 >= 1`` gives finite values and
    gradients (the tempered softmax tends to uniform as ``t2`` grows). ``t2 < 1`` (the
    light-tailed, finite-support softmax, which needs a bisection) is not supported. All
    powers are taken in log space, so values and gradients stay finite for logits of ±1e4.
    The defaults (0.8, 1.2) are one of the paper's settings.

    The gradient with respect to probability targets is ``log_t1(y_c) - log_t1(y_hat_c)``,
    at zero targets too (``log_t1(0) = -1 / (1 - t1)``). For ``t1 = 1`` the derivative of
    ``y log y`` at ``y = 0`` is ``-inf``: that term is given the gradient 0 there.

    Args:
      predictions: logits ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or probabilities (shape of
        ``predictions``).
      t1: temperature of the loss in ``[0, 1]`` (traced; < 1 bounds the loss).
      t2: temperature of the softmax, finite and ``>= 1`` (traced; > 1 gives heavier
        tails). A Python ``1.0`` compiles the plain softmax; any other value, or an array,
        shares one program that holds every solver and runs the one ``t2`` needs
        (``lax.switch``; under ``vmap`` each is computed with a value in its own range and
        selected). A traced ``t2 < 1`` (outside the domain) gives NaN.
      num_iters: fixed-point iterations for the normaliser (static; unused where
        ``(t2 - 1) log K > 20``).
      {class_args}

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x, y = jnp.array([[2.0, 0.0, -1.0]]), jnp.array([0])
      >>> ce = lossjax.softmax_cross_entropy(x, y)
      >>> bool(jnp.allclose(lossjax.bi_tempered_logistic(x, y, t1=1.0, t2=1.0), ce))
      True
      >>> round(float(lossjax.bi_tempered_logistic(x, y, t1=0.8, t2=1.2)), 4)
      0.16

    Reference:
      Amid, Warmuth, Anil and Koren, "Robust Bi-Tempered Logistic Loss Based on Bregman
      Divergences", NeurIPS (2019), eq. 9 and Algorithm 1.
    """
    name = "bi_tempered_logistic"
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights,
    )
    log_yhat = _tempered_log_softmax(ci.x, t2, num_iters)
    t1 = _core.hyper_value(t1)
    if _core.is_known(t1, 1.0):
        # The terms -sum y + sum y_hat cancel (both distributions sum to 1).
        if ci.labels is not None:
            loss = -pick(log_yhat, ci.labels)
        else:
            # sum_c y_c log y_c (0 log 0 = 0, gradient 0 there) - sum_c y_c log y_hat_c
            nz = ci.rows > 0
            ys = jnp.where(nz, ci.rows, 1.0)
            loss = jnp.sum(jnp.where(nz, ci.rows * jnp.log(ys), 0.0), axis=-1)
            loss = loss - dense_dot(ci.rows, log_yhat)
    else:
        b = 2.0 - t1
        mass = jnp.sum(jnp.exp(b * log_yhat), axis=-1) / b
        if ci.labels is not None:
            loss = -_log_t(pick(log_yhat, ci.labels), t1) - 1.0 / b + mass
        else:
            # log_t1 is finite (-1 / (1 - t1)) with a zero derivative at log 0 = -inf, so no
            # term needs leaving out: at y_c = 0 the gradient with respect to y_c is the
            # true partial derivative log_t1(y_c) - log_t1(y_hat_c), finite for t1 < 1.
            y = ci.rows
            nz = y > 0
            log_y = jnp.where(nz, jnp.log(jnp.where(nz, y, 1.0)), -jnp.inf)
            log_t_y = _log_t(log_y, t1)
            if _core.known_value(t1) is None:
                # t1 = 1 traced: log_1(0) = -inf, whose term 0 log 0 is 0 (gradient 0 there)
                log_t_y = jnp.where(nz | (t1 != 1.0), log_t_y, 0.0)
            own = y * log_t_y - jnp.exp(b * log_y) / b
            if _core.known_value(t1) is None:  # log_1(y_hat) = -inf at a -inf logit
                loss = jnp.sum(own, axis=-1) - dense_dot(y, _log_t(log_yhat, t1)) + mass
            else:
                cross = y * _log_t(log_yhat, t1)
                loss = jnp.sum(own - cross, axis=-1) + mass
    return finish(ci, loss, reduction, name)


# --------------------------------------------------------------------------------------------
# Sparsemax (a Fenchel-Young loss)


def sparsemax_probabilities(z: Array) -> Array:
    """Sparsemax: the Euclidean projection of ``z`` ``[..., K]`` onto the simplex.

    ``max(z - tau, 0)`` with ``tau`` from the sorted scores (Martins & Astudillo 2016,
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
    hyper=_LABEL_HYPERS,
    boundary=fixtures.class_boundary("logits", smoothing=False),
    peers={
        "optax": "multiclass_sparsemax_loss / make_fenchel_young_loss (Fenchel-Young losses: "
        "sparsemax here, softmax_cross_entropy for the softmax)",
    },
    **_LOGIT_LABELS,
)
@_doc
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
    """Sparsemax loss: the Fenchel-Young loss of sparsemax (Gini entropy).

    ``<p, z> - |p|**2 / 2 + |y|**2 / 2 - <y, z>`` with ``p = sparsemax(z)`` the projection
    of the scores onto the simplex; for an integer label ``y`` this is
    ``sum_j p_j (z_j - z_y) + (1 - |p|**2) / 2`` (optax's ``multiclass_sparsemax_loss``).
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
    name = "sparsemax"
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


@_builtin(
    diff_argnums=(0, 1),  # soft targets are real-valued
    task="multilabel",
    predictions="logits",
    targets="binary",
    granularity="example",
    bounded=False,
    convex=True,
    hyper={"class_weights": _CE_HYPERS["class_weights"]},
    sample=_samples.default_sampler("logits", "binary", "example"),
    boundary=fixtures.multilabel_boundary,
    peers={"torch": "multilabel_soft_margin_loss"},
)
def multilabel_soft_margin(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    """Multi-label soft margin loss: the sigmoid cross-entropy averaged over the labels.

    ``-(1/K) sum_c w_c (y_c log sigmoid(x_c) + (1 - y_c) log sigmoid(-x_c))`` per example,
    with ``K`` labels along ``axis`` and optional per-label weights ``w`` (PyTorch's
    ``weight``). It equals ``binary_cross_entropy_with_logits(..., reduction="none")``
    averaged over ``axis``; use it when the loss must be per example (weights, ``where``).

    Args:
      predictions: logits ``[..., K, ...]`` with the labels along ``axis``.
      targets: multi-hot (or soft) targets in ``[0, 1]``, same shape.
      class_weights: optional non-negative ``[K]`` per-label weights (inside the average
        over labels, not in the mean's denominator, as PyTorch).
      axis: the label axis (static).

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x, y = jnp.array([[0.0, 0.0]]), jnp.array([[1.0, 0.0]])
      >>> round(float(lossjax.multilabel_soft_margin(x, y)), 6)
      0.693147

    Reference:
      PyTorch's ``multilabel_soft_margin_loss``; Cox (1958) for the binary cross-entropy.
    """
    name = "multilabel_soft_margin"
    cw = None
    if class_weights is not None:
        p = _core.float_input("predictions", predictions, name)
        k = p.shape[_core.normalize_axis(axis, p.ndim, name)]
        cw = _core.numeric_input("class_weights", class_weights, name)
        _core.check_shape("class_weights", cw, (k,), name, "one weight per label")

    def fn(x, y):
        terms = -(y * jax.nn.log_sigmoid(x) + (1.0 - y) * jax.nn.log_sigmoid(-x))
        if cw is not None:
            terms = terms * cw.astype(x.dtype)
        return jnp.mean(terms, axis=-1)

    return _core.per_example(
        name, fn, predictions, targets, axis=axis, weights=weights, where=where,
        reduction=reduction,
    )


def _label_list_checks(predictions, targets, *, axis=-1, **_):
    p, t = jnp.asarray(predictions), jnp.moveaxis(jnp.asarray(targets), axis, -1)
    k = p.shape[axis]
    valid = jnp.cumprod(t != -1, axis=-1).astype(bool)
    return [((~valid) | ((t >= 0) & (t < k)), f"labels must lie in [0, {k}) before the first -1")]


@_builtin(
    task="multilabel",
    predictions="scores",
    targets="label lists padded with -1",
    granularity="example",
    bounded=False,
    convex=True,
    twice_differentiable=False,
    sample=fixtures.label_list_sample,
    boundary=fixtures.label_list_boundary,
    checks=_label_list_checks,
    peers={"torch": "multilabel_margin_loss"},
)
def multilabel_margin(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    """Multi-label margin (ranking hinge) loss, as PyTorch's ``multilabel_margin_loss``.

    ``targets`` are integer label lists along ``axis``: the labels of an example come first
    and the list ends at the first ``-1`` (what follows is ignored). With ``J`` the listed
    labels and ``K`` classes the loss is
    ``sum_{j in J} sum_{i not in J} max(0, 1 - (x_j - x_i)) / K``: every label must beat
    every non-label by a margin of 1. An example without labels (or with every class a
    label) costs 0. A listed label outside ``[0, K)`` makes the loss NaN (use
    :func:`lossjax.checked` to catch it). ``-inf`` scores are allowed off the labels.

    Args:
      predictions: scores ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer array of the same shape: label lists padded with -1.
      axis: the class axis (static).

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x = jnp.array([[0.1, 0.2, 0.4, 0.8]])
      >>> round(float(lossjax.multilabel_margin(x, jnp.array([[3, 0, -1, 1]]))), 6)
      0.85

    Reference:
      Crammer and Singer, "A Family of Additive Online Algorithms for Category Ranking", JMLR
      3 (2003); PyTorch's ``multilabel_margin_loss``.
    """
    name = "multilabel_margin"
    _core.check_reduction(reduction, name)
    p = _core.float_input("predictions", predictions, name)
    t = _core.integer_input("targets", targets, name)
    _core.check_same_shape("predictions", p, "targets", t, name)
    ax = _core.normalize_axis(axis, p.ndim, name)
    dtype = _core.compute_dtype(p)
    x = jnp.moveaxis(p.astype(dtype), ax, -1)
    t = jnp.moveaxis(t, ax, -1)
    k = x.shape[-1]
    unit = x.shape[:-1]
    mask = _core.prepare_where(where, unit, name)
    w = _core.prepare_weights(weights, unit, dtype, name)
    x = _core.mask_safe(mask, x, 0.0, axis=-1)
    t = _core.mask_safe(mask, t, -1, axis=-1)
    listed = jnp.cumprod(t != -1, axis=-1).astype(bool)  # [..., J]: before the first -1
    invalid = jnp.any(listed & ((t < 0) | (t >= k)), axis=-1)
    labels = jnp.where(listed & ~((t < 0) | (t >= k)), t, 0)
    classes = _core.lift(jnp.arange(k), labels.ndim + 1)
    is_label = jnp.any(listed[..., :, None] & (labels[..., :, None] == classes), axis=-2)
    x_label = jnp.take_along_axis(x, labels, axis=-1)  # [..., J]
    keep = listed[..., :, None] & ~is_label[..., None, :]  # [..., J, K]
    x_other = jnp.where(keep, x[..., None, :], -jnp.inf)
    hinge = jax.nn.relu(1.0 - jnp.where(keep, x_label[..., :, None], 0.0) + x_other)
    loss = jnp.sum(hinge, axis=(-2, -1)) / k
    loss = jnp.where(invalid, jnp.nan, loss)
    return _core.reduce(loss, weights=w, where=mask, reduction=reduction, loss_name=name)


# --------------------------------------------------------------------------------------------
# Margin losses on integer labels: multi-margin, categorical hinge, perceptron


@_builtin(
    bounded=False,
    convex=True,
    twice_differentiable=False,
    hyper={
        **_LABEL_HYPERS,
        "p": Hyper(Choice((1, 2)), static=True,
                   why_static="chooses the margin's power, 1 or 2 (the formula)"),
        "margin": NONNEGATIVE,
    },
    peers={"torch": "multi_margin_loss"},
    **_SCORE_LABELS,
)
@_doc
def multi_margin(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    p: int = 1,
    margin: float | ArrayLike = 1.0,
    ignore_index: int | None = -100,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    """Multi-class margin loss (Weston–Watkins), as PyTorch's ``multi_margin_loss``.

    ``sum_{i != y} max(0, margin - x_y + x_i)**p / K`` for ``K`` classes: a hinge for every
    wrong class (:func:`multiclass_hinge` takes only the worst one). One-hot targets give the
    same loss as integer labels. With ``class_weights`` the per-example losses equal
    PyTorch's ``weight[y] * loss``; the mean divides by ``sum(weight[y])`` (lossjax's rule
    for class weights) where PyTorch divides by the number of examples.

    Args:
      predictions: scores ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or one-hot rows (shape of
        ``predictions``).
      p: 1 (hinge) or 2 (squared hinge) (static).
      margin: non-negative margin.
      {class_args}

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x = jnp.array([[0.1, 0.2, 0.4, 0.8]])
      >>> round(float(lossjax.multi_margin(x, jnp.array([3]))), 6)
      0.325

    Reference:
      Weston and Watkins, "Support Vector Machines for Multi-Class Pattern Recognition",
      ESANN (1999); PyTorch's ``multi_margin_loss``.
    """
    name = "multi_margin"
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights,
    )
    y = targets_dense(ci)
    x_y = on_label(ci.x, ci)
    h = jax.nn.relu(margin - x_y[..., None] + ci.x)
    if p == 2:
        h = h * h
    off = y != 1
    loss = jnp.sum(jnp.where(off, (1.0 - y) * h, 0.0), axis=-1) / ci.num_classes
    return finish(ci, loss, reduction, name)


@_builtin(
    bounded=False,
    convex=True,
    twice_differentiable=False,
    hyper=_LABEL_HYPERS,
    peers={"keras": "CategoricalHinge"},
    **_SCORE_LABELS,
)
@_doc
def categorical_hinge(
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
    """Keras's categorical hinge, ``max(0, 1 + max_c((1 - y_c) x_c) - sum_c y_c x_c)``.

    For one-hot targets this is the Crammer–Singer hinge with one quirk kept from Keras: the
    maximum runs over ``(1 - y) * x``, which is 0 at the label, so the "best wrong score"
    is never below 0 (with all wrong scores negative the loss is ``max(0, 1 - x_y)``).
    :func:`multiclass_hinge` is the textbook version.

    Args:
      predictions: scores ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or one-hot rows (shape of
        ``predictions``).
      {class_args}

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x = jnp.array([[0.5, 1.0, -2.0], [-1.0, -2.0, 0.5]])
      >>> lossjax.categorical_hinge(x, jnp.array([0, 2]), reduction="none").tolist()
      [1.5, 0.5]

    Reference:
      Keras's ``CategoricalHinge``; Crammer and Singer, JMLR 2 (2001).
    """
    name = "categorical_hinge"
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights,
    )
    y = targets_dense(ci)
    neg = jnp.max(jnp.where(y == 1, 0.0, (1.0 - y) * jnp.where(y == 1, 0.0, ci.x)), axis=-1)
    loss = jax.nn.relu(1.0 + neg - on_label(ci.x, ci))
    return finish(ci, loss, reduction, name)


@_builtin(
    bounded=False,
    convex=True,
    twice_differentiable=False,
    hyper=_LABEL_HYPERS,
    peers={"optax": "multiclass_perceptron_loss"},
    **_SCORE_LABELS,
)
@_doc
def multiclass_perceptron(
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
    """Multiclass perceptron loss, ``max_c x_c - x_y``.

    Zero when the label has the top score (ties included); :func:`multiclass_hinge` adds a
    margin. One-hot targets give ``max_c x_c - sum_c y_c x_c``.

    Args:
      predictions: scores ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or one-hot rows (shape of
        ``predictions``).
      {class_args}

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x = jnp.array([[0.5, 2.0, -1.0]])
      >>> float(lossjax.multiclass_perceptron(x, jnp.array([0])))
      1.5

    Reference:
      Collins, "Discriminative Training Methods for Hidden Markov Models: Theory and
      Experiments with Perceptron Algorithms", EMNLP (2002).
    """
    name = "multiclass_perceptron"
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights,
    )
    loss = jnp.max(ci.x, axis=-1) - on_label(ci.x, ci)
    return finish(ci, loss, reduction, name)


# --------------------------------------------------------------------------------------------
# Fenchel-Young losses from any regulariser


def make_fenchel_young_loss(max_fun, name: str = "fenchel_young"):
    """A Fenchel–Young loss from its max function: ``max_fun(x) - <y, x>`` per example.

    ``max_fun`` maps one score vector ``[K]`` to a scalar: the convex conjugate ``Omega*`` of a
    regulariser ``Omega`` (``jax.nn.logsumexp``, the conjugate of the negative entropy, gives
    the softmax cross-entropy for targets that sum to 1). The returned loss is
    ``Omega*(x) - <y, x>`` along ``axis``, whose gradient in the scores is
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
