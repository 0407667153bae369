"""Divergences between distributions along a class axis."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lossjax import _core, _samples
from lossjax._core import Array, ArrayLike
from lossjax.registry import Hyper, _builtin


def _kl_terms(log_q: Array, t: Array, log_targets: bool) -> Array:
    if log_targets:
        keep = t > -jnp.inf
        lt = jnp.where(keep, t, 0.0)
        terms = jnp.exp(lt) * (lt - jnp.where(keep, log_q, 0.0))
    else:
        keep = t > 0
        ts = jnp.where(keep, t, 1.0)
        terms = ts * (jnp.log(ts) - jnp.where(keep, log_q, 0.0))
    # A zero target contributes 0 whatever log_q is (0 log 0 = 0, and 0 * -inf = 0 here).
    return jnp.sum(jnp.where(keep, terms, 0.0), axis=-1)


def _kl_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    ninf = -jnp.inf
    lq = a([[0.0, ninf, ninf, ninf, ninf], [-1e4, -1e-4, -1e4, -1e4, -1e4]])
    t = a([[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0, 0.0]])
    return [
        ("zero targets, log(0) predictions", (lq, t), {}),
        ("zero targets as -inf log targets", (lq, jnp.log(t)), {"log_targets": True}),
        ("-inf rows dropped by where", (a([[ninf] * 5, [-1.6] * 5]), t), {"where": jnp.array([False, True])}),
    ]


def _kl_sample(key, batch, dtype=jnp.float32):
    k1, k2 = jax.random.split(key)
    shape = (*batch, _samples.NUM_CLASSES)
    lq = _samples.predictions_of("log_probabilities", k1, shape, dtype, True)
    t = _samples.targets_of("probabilities", k2, shape, batch, dtype, True)
    return (lq, t), {}


@_builtin(
    "kl_divergence",
    task="divergence",
    predictions="log_probabilities",
    targets="probabilities",
    granularity="example",
    bounded=False,
    convex=True,
    hyper={"log_targets": Hyper(False, None, static=True)},
    sample=_kl_sample,
    boundary=_kl_boundary,
    diff_argnums=(0, 1),
    reference="Kullback & Leibler, On Information and Sufficiency, Ann. Math. Statist. 22 (1951)",
    peers={
        "optax": "kl_divergence / kl_divergence_with_log_targets",
        "torch": "kl_div",
        "keras": "KLDivergence",
    },
)
def kl_divergence(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    log_targets: bool = False,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
) -> Array:
    """Kullback–Leibler divergence ``KL(targets || predictions)`` along ``axis``.

    ``sum_c t_c (log t_c - log q_c)`` with ``log q`` the predictions (log-probabilities) and
    ``t`` the targets (probabilities, or log-probabilities when ``log_targets=True``). A zero
    target contributes exactly 0, also where ``log q = -inf``, and its gradient is finite (0)
    with respect to both arguments.

    ``reduction="mean"`` averages over examples (PyTorch's ``reduction="batchmean"``, the
    mathematically correct KL; PyTorch's ``"mean"`` also divides by the number of classes).

    Args:
      predictions: log-probabilities ``[..., K, ...]`` along ``axis``.
      targets: probabilities (or log-probabilities) of the same shape.
      log_targets: whether ``targets`` are log-probabilities (static).
      axis: the distribution axis (static).
      weights: optional example weights.
      where: optional boolean mask over examples.
      reduction: ``"none"`` (per example), ``"sum"`` or ``"mean"``.

    Returns:
      The reduced divergence.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> lq = jnp.log(jnp.array([[0.5, 0.5]]))
      >>> round(float(lossjax.kl_divergence(lq, jnp.array([[1.0, 0.0]]))), 6)
      0.693147

    Reference:
      Kullback and Leibler, "On Information and Sufficiency", Annals of Mathematical
      Statistics 22 (1951).
    """
    return _core.per_example(
        "kl_divergence", lambda lq, t: _kl_terms(lq, t, log_targets), predictions, targets,
        axis=axis, weights=weights, where=where, reduction=reduction,
        safe=(0.0, -jnp.inf if log_targets else 0.0),
    )
