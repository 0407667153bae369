"""The chunked implementation's derivatives: two ``custom_vjp`` functions over the sweeps.

* :func:`weighted_total` (``reduction="mean"`` / ``"sum"``): the output is a scalar, so its
  cotangent is one number ``g``. Differentiated, the forward pass runs a
  :attr:`~lossjax.linear_ce.chunked.Sweep.GRADIENT` sweep (value and gradients in one
  pass); the backward pass only multiplies by ``g``. Undifferentiated, a value-only sweep.
* :func:`token_losses` (``reduction="none"``): each token has its own cotangent, unknown
  during the forward pass, which therefore keeps the per-token log-sum-exp; the backward
  pass runs a :attr:`~lossjax.linear_ce.chunked.Sweep.GRADIENT_FROM_LSE` sweep.

``symbolic_zeros=True`` tells whether the hyperparameters (``Operands.hyper``) are being
differentiated; only then do the sweeps form their derivatives.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp

from lossjax._core import Array
from lossjax.linear_ce.base import Implementation, KernelConfig, Operands
from lossjax.linear_ce.chunked import Sweep, SweepOutput
from lossjax.linear_ce.mesh import run_sweep


def _primal(x: Any) -> tuple[Any, bool]:
    """``(value, perturbed)`` of a ``custom_vjp`` argument under ``symbolic_zeros=True``."""
    if isinstance(x, jax.custom_derivatives.CustomVJPPrimal):
        return x.value, bool(x.perturbed)
    return x, False


def _primal_operands(ops: Any) -> tuple[Operands, bool]:
    """The values of ``ops`` and whether ``ops.hyper`` is being differentiated."""
    return Operands(*(_primal(a)[0] for a in ops)), _primal(ops.hyper)[1]


def _dense(ct: Any, shape: tuple[int, ...], dtype: Any) -> Array:
    """A cotangent as an array (a symbolic zero as zeros)."""
    if isinstance(ct, jax.custom_derivatives.SymbolicZero):
        return jnp.zeros(shape, dtype)
    return ct


def _hyper_grads(config: KernelConfig, ops: Operands, scale: Array, out: SweepOutput) -> Array:
    """``d(sum_i scale_i * loss_i) / d hyper`` [3] from a sweep's outputs (zeros where a term
    is off): ``sum scale * dloss_dsmoothing``, ``sum scale * w_y * lse**2`` and the sweep's
    ``dtotal_dcap``."""
    zero = jnp.zeros((), ops.hyper.dtype)
    keep = scale != 0  # as the total: a dropped token's value never reaches the sums
    d_smoothing = d_zloss = d_cap = zero
    if config.smoothing:
        assert out.dloss_dsmoothing is not None
        d_smoothing = jnp.sum(jnp.where(keep, scale * out.dloss_dsmoothing, 0))
    if config.zloss:
        assert out.lse is not None
        lse2 = jnp.square(out.lse)
        if ops.label_weights is not None:  # the label's class weight is inside the loss
            lse2 = lse2 * ops.label_weights
        d_zloss = jnp.sum(jnp.where(keep, scale * lse2, 0))
    if config.softcap:
        assert out.dtotal_dcap is not None
        d_cap = out.dtotal_dcap
    return jnp.stack([d_smoothing, d_zloss, d_cap]).astype(ops.hyper.dtype)


# The cotangents of the operands that are never differentiated: labels, kept, class weights
# and label weights.
_NOT_DIFFERENTIATED = (None, None, None, None)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def weighted_total(config: KernelConfig, ops: Operands, scale: Array) -> tuple[Array, Array]:
    """``(sum_i scale_i * loss_i, lse)``; differentiated by the gradient-in-forward sweep.

    ``ops.class_weights`` / ``ops.label_weights`` are not differentiated.
    """
    out = run_sweep(config, Sweep.VALUE, ops)
    assert out.loss is not None and out.lse is not None
    total = jnp.sum(jnp.where(scale != 0, scale * out.loss, 0))
    return total, out.lse


def _weighted_total_fwd(config: KernelConfig, ops: Any, scale: Any):
    ops, hyper = _primal_operands(ops)
    scale = _primal(scale)[0]
    run_config = dataclasses.replace(config, hyper_grads=hyper)
    out = run_sweep(run_config, Sweep.GRADIENT, ops, scale)
    dhyper = _hyper_grads(run_config, ops, scale, out) if hyper else None
    residuals = (dhyper, out.dhidden, out.dweight, out.dbias, out.loss, ops.kept)
    return (out.total, out.lse), residuals


def _weighted_total_bwd(config: KernelConfig, residuals: tuple, cts: Any):
    dhyper, dhidden, dweight, dbias, loss, kept = residuals
    g = _dense(cts[0], (), loss.dtype)  # lse is returned without gradient (stop_gradient)
    scale_ct = jnp.where(kept, g * loss, 0).astype(loss.dtype)
    ops_ct = Operands._make((
        None if dhyper is None else (g * dhyper).astype(dhyper.dtype),
        (g * dhidden).astype(dhidden.dtype),
        (g * dweight).astype(dweight.dtype),
        None if dbias is None else (g * dbias).astype(dbias.dtype),
        *_NOT_DIFFERENTIATED,
    ))
    return ops_ct, scale_ct


weighted_total.defvjp(_weighted_total_fwd, _weighted_total_bwd, symbolic_zeros=True)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def token_losses(config: KernelConfig, ops: Operands) -> tuple[Array, Array]:
    """Per-token ``(loss, lse)``; differentiated by a second, recomputing sweep."""
    out = run_sweep(config, Sweep.VALUE, ops)
    assert out.loss is not None and out.lse is not None
    return out.loss, out.lse


def _token_losses_fwd(config: KernelConfig, ops: Any):
    ops, hyper = _primal_operands(ops)
    out = run_sweep(dataclasses.replace(config, hyper_grads=hyper), Sweep.VALUE, ops)
    # whether hyper is differentiated, as the residuals' structure: () yes, None no
    residuals = (ops, () if hyper else None, out.lse, out.dloss_dsmoothing)
    return (out.loss, out.lse), residuals


def _token_losses_bwd(config: KernelConfig, residuals: tuple, cts: Any):
    ops, hyper, lse, dloss_dsmoothing = residuals
    hyper = hyper is not None
    g = jnp.where(ops.kept, _dense(cts[0], lse.shape, lse.dtype), 0).astype(lse.dtype)
    run_config = dataclasses.replace(config, hyper_grads=hyper)
    out = run_sweep(run_config, Sweep.GRADIENT_FROM_LSE, ops, g, lse)
    dhyper = None
    if hyper:
        dhyper = _hyper_grads(run_config, ops, g,
                              out._replace(lse=lse, dloss_dsmoothing=dloss_dsmoothing))
    return (Operands._make((dhyper, out.dhidden, out.dweight, out.dbias,
                            *_NOT_DIFFERENTIATED)),)


token_losses.defvjp(_token_losses_fwd, _token_losses_bwd, symbolic_zeros=True)

CHUNKED = Implementation(token_losses=token_losses, weighted_total=weighted_total,
                         supports_mesh=True)
