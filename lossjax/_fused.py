"""Fused value-and-gradient kernels: per-element losses with a hand-written derivative.

Autodiff through ``abs``, ``minimum``, ``where`` and ``logaddexp`` builds a gradient out of
several passes over the arrays and several full-size temporaries. :func:`elementwise_jvp`
turns a pair of plain functions

* ``value(p, t, *params)``: the per-element loss, and
* ``slope(p, t, *params)``: its derivative in ``p``,

into one function with a ``jax.custom_jvp`` whose tangent in ``p`` is ``slope * dp``. Under
``jax.value_and_grad`` of a mean, XLA then sees two independent element-wise programs that
both read only the inputs: the reduction of ``value`` (one fused pass, no temporary) and
``ct * slope`` (one fused pass writing the gradient). Three details make that happen:

* the slope is computed from ``lax.optimization_barrier`` copies of the inputs and parameters
  (no copy at run time), each with a trailing unit axis (a free bitcast), so that XLA's
  common-subexpression elimination cannot merge a shared intermediate (``p - t``, ``|e|``, or
  a broadcast constant such as the ``1`` of ``1 - y f``) between the two programs, which
  would force it into a full-size temporary read by both;
* ``value`` is written with operations that XLA:CPU's reduction fusion accepts (``min``,
  ``max``, ``abs``, arithmetic, ``exp``/``log1p``/``tanh``/``logistic``, no ``select`` or
  ``clamp``), so the whole loss fuses into its reduction;
* tangents of the targets and parameters are symbolic zeros in the usual case
  (``symbolic_zeros=True``) and cost nothing; when they are not (differentiating with respect
  to the targets or a traced hyperparameter), that part of the tangent is plain autodiff of
  ``value``, so every derivative stays exact; a kernel may give its own ``target_slope``
  where that autodiff would pick another subgradient than ``slope`` (``|p - t|`` at a tie)
  or form ``0 * inf`` (the focal loss at a confident right logit).

The rule calls the custom function itself for the primal output and differentiates ``slope``
by autodiff, so ``jax.jvp``, ``jax.hessian`` (where the loss is twice differentiable; the
second derivative is the derivative of ``slope``) and ``vmap`` keep working.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import lax
from jax.custom_derivatives import SymbolicZero

from lossjax._core import Array


def _is_zero(t) -> bool:
    return isinstance(t, SymbolicZero)


def _instantiate(t, x) -> Array:
    return jnp.zeros(jnp.shape(x), jnp.result_type(x)) if t is None or _is_zero(t) else t


def _lift(x, ndim: int) -> Array:
    """``x`` with leading unit axes up to rank ``ndim``."""
    return jnp.reshape(x, (1,) * (ndim - jnp.ndim(x)) + jnp.shape(x))


def _unit_axis(x: Array) -> Array:
    return jnp.asarray(x)[..., None]


def elementwise_jvp(
    value: Callable[..., Array],
    slope: Callable[..., Array],
    name: str | None = None,
    target_slope: Callable[..., Array] | None = None,
) -> Callable[..., Array]:
    """``f(p, t, *params) = value(p, t, *params)`` with tangent ``slope(p, t, *params) * dp``.

    ``p``, ``t`` and ``params`` are arrays (``params`` broadcastable to ``p``); ``slope`` must
    be the derivative of ``value`` in ``p`` (the tests compare both with plain autodiff).
    ``target_slope``, when given, is the derivative in ``t`` (the tangent in ``t`` is then
    ``target_slope * dt``): for a kink where autodiff of ``value`` picks another subgradient
    than ``slope`` does (``|p - t|`` at ``p = t``).
    """

    @jax.custom_jvp
    def f(p, t, *params):
        return value(p, t, *params)

    def rule(primals, tangents):
        p, t, *params = primals
        dp, *drest = tangents
        out = f(p, t, *params)
        tan = None
        if not _is_zero(dp):
            # The barrier keeps the gradient pass from sharing intermediates with the value's
            # reduction (see the module docstring); it is free at run time.
            # (parameters get p's rank first, scalars too: the rank promotion is explicit, for
            # jax.numpy_rank_promotion("raise"))
            p2, t2, *params2 = lax.optimization_barrier(
                tuple(_unit_axis(_lift(x, jnp.ndim(p))) for x in (p, t, *params))
            )
            tan = slope(p2, t2, *params2)[..., 0] * dp
        if target_slope is not None and not _is_zero(drest[0]):
            extra = target_slope(p, t, *params) * drest[0]
            tan = extra if tan is None else tan + extra
            drest = [None, *drest[1:]]  # done with t: autodiff below for the parameters only
        if not all(d is None or _is_zero(d) for d in drest):
            # (t is held constant when target_slope took its tangent: autodiff of value in t
            # may meet 0 * inf even with a zero tangent)
            first = 1 if drest[0] is None else 0
            rest = (t, *params)[first:]
            _, extra = jax.jvp(
                lambda *xs: value(p, *((t, *xs) if first else xs)), rest,
                tuple(_instantiate(d, x) for d, x in zip(drest[first:], rest, strict=True)),
            )
            tan = extra if tan is None else tan + extra
        if tan is None:
            tan = jnp.zeros(jnp.shape(out), out.dtype)
        return out, jnp.broadcast_to(tan, jnp.shape(out)).astype(out.dtype)

    f.defjvp(rule, symbolic_zeros=True)
    if name:
        f.__name__ = name  # type: ignore[attr-defined]  # custom_jvp forwards it to the wrapped
    return f
