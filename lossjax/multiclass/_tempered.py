"""The tempered softmax of the bi-tempered logistic loss: its normaliser and solvers.

``log y_hat`` of ``y_hat_c = exp_t(a_c - lambda(a))`` for ``t >= 1``: a fixed-point solver
(Amid et al.'s), a safeguarded Newton solver in log space for large spreads, and the exact
derivatives through the normaliser as a custom JVP.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from lossjax import _core
from lossjax._core import Array


def log_t(log_x: Array, t: float | Array) -> Array:
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
    lam = -log_t(-jnp.log(z), t)
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


def tempered_log_softmax_log_space(a: Array, t: float) -> Array:
    """The log-space solver alone (for tests), with the exact derivatives."""
    return _tempered(a, jnp.asarray(t, a.dtype), 0, "log")


def tempered_log_softmax(a: Array, t: float | Array, num_iters: int) -> Array:
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
