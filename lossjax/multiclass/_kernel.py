"""Softmax cross-entropy with integer labels, one exponential per logit.

The kernel behind :func:`lossjax.softmax_cross_entropy` for labels: value and a custom JVP
that reuses the row's exponentials (a static label smoothing, and a traced one). Poly-1,
softmax focal, generalized and symmetric cross-entropy with integer labels are functions of
its output ``c = -log p_y`` (``p_y = exp(-c)``, :func:`label_nll`), their gradients flowing
through its JVP.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

from lossjax import _core
from lossjax._classes import (
    ClassInputs,
    dense_dot,
    pick,
    scaled,
)
from lossjax._core import Array

# --------------------------------------------------------------------------------------------
# Fused softmax cross-entropy for integer labels (one exponential per logit)


def _label_shifted_lse(x: Array, labels: Array, keep: Array | None) -> Array:
    """``logsumexp`` of each row in one pass over ``x``, shifted by the label's logit.

    ``log sum_c exp(x_c) = x_y + log sum_c exp(x_c - x_y)``: the sum is at least 1 (the label's
    own term), so it never underflows, and it overflows only when another logit beats the
    label's by more than the dtype's ``log(max)`` (about 88 in float32). Only then (some kept
    row non-finite) is the batch recomputed the usual way, shifted by each row's maximum (one
    ``lax.cond`` for the whole batch), and the rows that were not finite take that value. The
    usual way needs two passes (the maximum, then the sum); this one needs one. The value
    alone (no derivative) takes this path.
    """
    c = pick(x, labels)
    lse = c + jnp.log(jnp.sum(jnp.exp(x - c[..., None]), axis=-1))
    bad = _overflowed(lse, keep)
    return jax.lax.cond(jnp.any(bad), lambda _: jnp.where(bad, _by_max(x)[2], lse),
                        lambda _: lse, None)


def _overflowed(lse: Array, keep: Array | None) -> Array:
    """The kept rows whose label-shifted ``logsumexp`` is not finite (overflow or NaN).

    Only these rows take the fallback's ``logsumexp``: the others keep their own, bit for bit,
    so that one row's overflow (or NaN) leaves every other row's value as it was.
    """
    bad = ~jnp.isfinite(lse)
    if keep is not None:
        bad = bad & keep
    return bad


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
    overflows, ``e`` and ``s`` of every row are recomputed shifted by its maximum
    (:func:`_by_max`, one ``lax.cond`` between the two whole programs, so each evaluates one
    exponential per logit); ``lse`` changes only in the rows that were not finite.
    The softmax is ``e / s`` in both: the gradient reads ``e`` instead of evaluating a second
    exponential. The barrier keeps XLA from fusing the exponential into the sum's reduction
    (evaluated there, it would have to be evaluated again for the gradient).
    """
    c = pick(x, labels)
    e = jax.lax.optimization_barrier(jnp.exp(x - c[..., None]))
    s = jnp.sum(e, axis=-1)
    lse = c + jnp.log(s)
    bad = _overflowed(lse, keep)

    def fallback(_):
        e_m, s_m, lse_m = _by_max(x)
        return e_m, s_m, jnp.where(bad, lse_m, lse)

    return jax.lax.cond(jnp.any(bad), fallback, lambda _: (e, s, lse), None)


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
def ce_labels(x: Array, labels: Array, keep: Array | None, eps: float) -> Array:
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


ce_labels.defjvp(_ce_labels_jvp, symbolic_zeros=True)


@jax.custom_jvp
def ce_labels_traced(x: Array, labels: Array, keep: Array | None, eps: Array) -> Array:
    """:func:`ce_labels` for a traced ``eps`` (a schedule, ``vmap`` or ``grad`` over it).

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
        d = pick(x, labels) - m
        if keep is not None:  # a dropped row's logits may hold anything (NaN, -inf)
            d = jnp.where(keep, d, 0.0)
        tan = tan + d * deps
    return loss, tan


ce_labels_traced.defjvp(_ce_labels_traced_jvp, symbolic_zeros=True)


def ce_labels_smoothed(x: Array, labels: Array, keep: Array | None, eps) -> Array:
    """:func:`ce_labels` for a smoothing Python knows (compiled for its value, 0 the plain
    kernel), :func:`ce_labels_traced` for an array or a tracer."""
    known = _core.known_value(eps)
    if known is not None:
        return ce_labels(x, labels, keep, known)
    return ce_labels_traced(x, labels, keep, jnp.asarray(eps, x.dtype))


def label_nll(ci: ClassInputs) -> Array:
    """``c = -log softmax(x)_y`` per row from :func:`ce_labels` (integer labels), 0 on the rows
    ``ci.mask`` drops.

    For the losses that are functions of the label's probability ``p_y = exp(-c)``: their
    value and gradient cost the kernel's one exponential per logit. The kernel leaves the
    dropped rows' value as it was (their logits may hold anything, NaN or ``-inf``, when
    :func:`lossjax._classes.class_inputs` ran with ``mask_predictions=False``): it is replaced
    here, before it meets ``exp`` or a power, and their gradient is 0.
    """
    return _core.mask_safe(ci.mask, ce_labels(ci.x, ci.labels, ci.mask, 0.0), 0.0)


# --------------------------------------------------------------------------------------------
# Softmax cross-entropy for probability targets


@jax.custom_jvp
def ce_probabilities(x: Array, y: Array, keep: Array | None) -> Array:
    """Per-row ``-sum_c y_c log softmax(x)_c`` for probability (or any non-negative) targets.

    The value is ``-sum_c y_c (x_c - lse)``; a row where that is NaN (a ``-inf`` logit meeting
    a zero target, ``0 * inf``) takes :func:`lossjax._classes.dense_dot`'s value instead (a
    zero target leaves out its class; a positive one meets a ``-inf`` logit as an infinite
    loss), through one ``lax.cond`` for the batch, as the integer-label kernel's overflow
    fallback. The derivative is written out: ``softmax(x) m - y`` in ``x`` with ``m = sum_c
    y_c`` the row's target mass, and ``-log softmax(x)`` in ``y`` (0 at a ``-inf`` logit, as
    ``dense_dot``'s). Autodiff of the log-softmax would need the row sum of its cotangent, a
    reduction over a ``[..., K]`` product that XLA:CPU writes out first; the mass is a sum of
    the targets alone, taken with the value.
    """
    return _ce_probabilities_value(x, y, keep)[0]


def _ce_probabilities_value(x: Array, y: Array, keep: Array | None):
    lse = jax.nn.logsumexp(x, axis=-1, keepdims=True)
    value = -jnp.sum(y * (x - lse), axis=-1)
    bad = jnp.isnan(value)
    if keep is not None:
        bad = bad & keep
    # the fallback recomputes x - lse (passing it in would make XLA write it out for both)
    value = jax.lax.cond(jnp.any(bad), lambda _: jnp.where(bad, -dense_dot(y, x - lse), value),
                         lambda _: value, None)
    return value, lse


def _ce_probabilities_jvp(primals, tangents):
    x, y, keep = primals
    dx, dy = tangents[:2]
    value, lse = _ce_probabilities_value(x, y, keep)
    tangent = jnp.zeros_like(value)
    if not isinstance(dx, SymbolicZero):
        mass = jnp.sum(y, axis=-1, keepdims=True)
        tangent = tangent + jnp.sum((jnp.exp(x - lse) * mass - y) * dx, axis=-1)
    if not isinstance(dy, SymbolicZero):
        tangent = tangent - jnp.sum(jnp.where(x == -jnp.inf, 0.0, x - lse) * dy, axis=-1)
    return value, tangent


ce_probabilities.defjvp(_ce_probabilities_jvp, symbolic_zeros=True)
