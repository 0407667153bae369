"""The naive logits path: build the ``[N, V]`` logits, then the log-softmax.

Two references, each written without the chunked kernel:

* :data:`REFERENCE` is an :class:`~lossjax.linear_ce.base.Implementation` (the
  ``"reference"`` entry of ``api.IMPLEMENTATIONS``): the per-token loss of
  :class:`~lossjax.linear_ce.base.Operands` from the full logits, differentiated by JAX's
  autodiff. It shows what a new implementation must compute, and the shared test suite runs
  on it as on the chunked kernel.
* :func:`naive_linear_cross_entropy` is the whole loss through
  :func:`lossjax.softmax_cross_entropy` on the materialised logits (plus the z-loss): the
  independent path that the tests compare every implementation with.

Both hold ``N * V`` logits (and as much again for their gradient): for checking, not for
training with large vocabularies.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from lossjax import _core
from lossjax._core import Array, ArrayLike, Reduction
from lossjax.linear_ce.base import (
    LABEL_SMOOTHING,
    LOGIT_SOFTCAP,
    Z_LOSS,
    Implementation,
    KernelConfig,
    Operands,
)


def _logits(config: KernelConfig, ops: Operands) -> Array:
    """The ``[n, v]`` logits, soft-capped where the cap is on (dropped tokens' hidden 0)."""
    compute = jnp.dtype(config.compute_dtype)
    operand = jnp.promote_types(ops.hidden.dtype, ops.weight.dtype)
    hidden = jnp.where(ops.kept[:, None], ops.hidden, jnp.zeros((), ops.hidden.dtype))
    x = lax.dot_general(hidden.astype(operand), ops.weight.astype(operand),
                        (((1,), (1,)), ((), ())), preferred_element_type=compute)
    if ops.bias is not None:
        x = x + ops.bias.astype(compute)[None, :]
    if config.softcap:
        cap = ops.hyper[LOGIT_SOFTCAP]
        x = cap * jnp.tanh(x / cap)
    return x


def _losses(config: KernelConfig, ops: Operands) -> tuple[Array, Array]:
    """Per-token ``(loss, lse)`` from the full logits (the formula of
    :class:`~lossjax.linear_ce.base.Operands`)."""
    z = _logits(config, ops)
    lse = jax.nn.logsumexp(z, axis=-1)
    label_logit = jnp.take_along_axis(z, ops.labels[:, None], axis=-1)[:, 0]
    eps = ops.hyper[LABEL_SMOOTHING] if config.smoothing else 0.0
    zloss = ops.hyper[Z_LOSS] * jnp.square(lse) if config.zloss else 0.0
    cw = ops.class_weights
    if not config.smoothing:
        return lse - label_logit + zloss, lse
    weighted = z if cw is None else jnp.where(cw != 0, cw.astype(z.dtype) * z, 0)
    logit_sum = jnp.sum(weighted, axis=-1)
    # eps = 0 with a -inf logit: the smoothing term is its limit 0, not 0 * -inf
    logit_sum = jnp.where((eps == 0) & (logit_sum == -jnp.inf), 0, logit_sum)
    if cw is None:
        loss = lse - (1.0 - eps) * label_logit - eps / config.vocab * logit_sum + zloss
        return loss, lse
    assert ops.label_weights is not None
    label_weight = ops.label_weights.astype(z.dtype)
    total_weight = jnp.sum(cw.astype(z.dtype))
    loss = (label_weight * ((1.0 - eps) * (lse - label_logit) + zloss)
            + eps / config.vocab * (total_weight * lse - logit_sum))
    return loss, lse


def _token_losses(config: KernelConfig, ops: Operands) -> tuple[Array, Array]:
    loss, lse = _losses(config, ops)
    return loss, lax.stop_gradient(lse)


def _weighted_total(config: KernelConfig, ops: Operands, scale: Array) -> tuple[Array, Array]:
    loss, lse = _losses(config, ops)
    return jnp.sum(jnp.where(scale != 0, scale * loss, 0)), lax.stop_gradient(lse)


REFERENCE = Implementation(token_losses=_token_losses, weighted_total=_weighted_total,
                           supports_mesh=False)


def naive_linear_cross_entropy(
    h: ArrayLike, w: ArrayLike, y: ArrayLike, *, bias: ArrayLike | None = None,
    ignore_index: int | None = -100, label_smoothing: Any = 0.0, z_loss: Any = 0.0,
    logit_softcap: Any = None, class_weights: ArrayLike | None = None,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
    **_: Any,
) -> Array:
    """The naive path: materialised logits, then :func:`lossjax.softmax_cross_entropy`
    (+ z-loss). Same arguments as :func:`lossjax.linear_cross_entropy` (the chunk sizes are
    accepted and ignored).

    Example:
      >>> import jax.numpy as jnp
      >>> from lossjax.linear_ce.reference import naive_linear_cross_entropy
      >>> hidden = jnp.array([[1.0, 0.0], [0.0, 2.0]])
      >>> weight = jnp.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
      >>> round(float(naive_linear_cross_entropy(hidden, weight, jnp.array([0, 1]))), 4)
      0.3955
    """
    from lossjax.multiclass import softmax_cross_entropy

    h, w, y = jnp.asarray(h), jnp.asarray(w), jnp.asarray(y)
    x = h @ w.T
    if bias is not None:
        bias = jnp.asarray(bias)
        x = x + jnp.reshape(bias, (1,) * (x.ndim - bias.ndim) + bias.shape)
    if logit_softcap is not None:
        x = logit_softcap * jnp.tanh(x / logit_softcap)
    if not z_loss:
        return softmax_cross_entropy(
            x, y, label_smoothing=label_smoothing, ignore_index=ignore_index,
            class_weights=class_weights, weights=weights, where=where, reduction=reduction)
    # With z-loss: the weighted per-token cross-entropy plus z * lse**2 weighted as the
    # label's term (token weight times the label's class weight, the mean's denominator).
    ce = softmax_cross_entropy(x, y, label_smoothing=label_smoothing, ignore_index=ignore_index,
                               class_weights=class_weights, weights=weights, where=where,
                               reduction="none")
    mask = jnp.ones(y.shape, bool) if ignore_index is None else y != ignore_index
    if where is not None:
        mask = mask & where
    wts = weights
    if class_weights is not None:
        cw = jnp.asarray(class_weights)[jnp.where(mask, y, 0)]
        wts = cw if wts is None else wts * cw
    z = _core.reduce(z_loss * jax.nn.logsumexp(x, axis=-1) ** 2, weights=wts, where=mask,
                     reduction="none")
    per_token = ce + z
    if reduction == "none":
        return per_token
    if reduction == "sum":
        return jnp.sum(per_token)
    den = _core.reduce(jnp.ones(y.shape, x.dtype), weights=wts, where=mask, reduction="sum")
    return _core.safe_divide(jnp.sum(per_token), den)
