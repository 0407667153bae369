"""Divergences between distributions along a class axis."""

from __future__ import annotations

import math
from typing import Unpack

import jax.numpy as jnp

from lossjax import _core, _samples
from lossjax._core import Array, ArrayLike, ExampleContract, Reduction
from lossjax._hyper import Hyper
from lossjax._samples import divergence as fixtures
from lossjax.registry import _builtin, _per_example


def _kl_terms(log_q: Array, t: Array, log_targets: bool) -> Array:
    # Only an exact zero target (a -inf log target) is left out; NaN and negative targets go
    # through the logarithm and give NaN (optax and torch give NaN for them too).
    keep = t != (-jnp.inf if log_targets else 0.0)
    if log_targets:
        lt = jnp.where(keep, t, 0.0)
        terms = jnp.exp(lt) * (lt - jnp.where(keep, log_q, 0.0))
    else:
        ts = jnp.where(keep, t, 1.0)
        terms = ts * (jnp.log(ts) - jnp.where(keep, log_q, 0.0))
    # A zero target contributes 0 whatever log_q is (0 log 0 = 0, and 0 * -inf = 0 here),
    # unless log_q is NaN: 0 * log_q, with -inf read as 0, carries that NaN (gradient 0).
    zero_term = 0.0 * jnp.where(log_q == -jnp.inf, 0.0, log_q)
    return jnp.sum(jnp.where(keep, terms, zero_term), axis=-1)


@_builtin(
    task="divergence",
    predictions="log_probabilities",
    targets="probabilities",
    granularity="example",
    bounded=False,
    convex=True,
    hyper={"log_targets": Hyper(
        None, static=True,
        why_static="chooses how targets are read, probabilities or log-probabilities (formula)",
    )},
    sample=fixtures.kl_sample,
    boundary=fixtures.kl_boundary,
    diff_argnums=(0, 1),
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
    reduction: Reduction = "mean",
) -> Array:
    r"""Kullback–Leibler divergence ``KL(targets || predictions)`` along ``axis``.

    .. math::

       \ell(q, t) = \sum_{c=1}^{K} t_c \,(\log t_c - \log q_c), \qquad 0 \log 0 = 0

    with :math:`\log q` the predictions (log-probabilities) and :math:`t` the targets
    (probabilities; with ``log_targets=True`` the targets are :math:`\log t`). A zero target
    contributes exactly 0, also where ``log q = -inf``, and its gradient is finite (0)
    with respect to both arguments.

    The argument order is optax's and PyTorch's ``kl_div(input, target)``: log-probabilities
    first. A negative target, which is what the arguments swapped the Keras way
    (``kl_divergence(probabilities, log_probabilities)``) give, makes the example's
    divergence NaN, as in optax and PyTorch, and so does a NaN in either argument: never a
    finite number for inputs outside the domain.

    ``reduction="mean"`` averages over examples (PyTorch's ``reduction="batchmean"``, the
    mathematically correct KL; PyTorch's ``"mean"`` also divides by the number of classes).

    Args:
      predictions: log-probabilities ``[..., K, ...]`` along ``axis``.
      targets: probabilities (or log-probabilities) of the same shape.
      log_targets: whether ``targets`` are log-probabilities (static).
      axis: the distribution axis (static).

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
        _core.loss_name(), lambda lq, t: _kl_terms(lq, t, log_targets), predictions, targets,
        axis=axis, weights=weights, where=where, reduction=reduction,
        safe=(0.0, -jnp.inf if log_targets else 0.0),
    )


# --------------------------------------------------------------------------------------------
# More divergences (issue 5): Jensen-Shannon, generalized KL, total variation.

_LOG2 = math.log(2.0)


def _xlog_ratio(log_a: Array, log_b: Array) -> Array:
    """``a (log a - log b)`` with ``a = exp(log_a)``; 0 where ``a = 0`` (also if ``b = 0``)."""
    keep = log_a != -jnp.inf  # a NaN log_a is kept: its term is NaN
    la = jnp.where(keep, log_a, 0.0)
    return jnp.where(keep, jnp.exp(la) * (la - jnp.where(keep, log_b, 0.0)), 0.0)


def _js_terms(log_q: Array, t: Array) -> Array:
    pos = t != 0  # NaN and negative targets go through the log and give NaN
    log_t = jnp.where(pos, jnp.log(jnp.where(pos, t, 1.0)), -jnp.inf)
    # log m = log((t + q) / 2), from logs so that tiny q keep their relative precision.
    # Where both are 0 the term is 0; log q is replaced there first, so that logaddexp of two
    # -inf (whose gradient is NaN) is never formed.
    both_zero = ~pos & (log_q == -jnp.inf)
    log_m = jnp.logaddexp(log_t, jnp.where(both_zero, 0.0, log_q)) - _LOG2
    return 0.5 * jnp.sum(_xlog_ratio(log_t, log_m) + _xlog_ratio(log_q, log_m), axis=-1)


@_per_example(
    task="divergence",
    predictions="log_probabilities",
    targets="probabilities",
    granularity="example",
    bounded=True,
    convex=False,
    sample=fixtures.kl_sample,
    boundary=fixtures.js_boundary,
    diff_argnums=(0, 1),
    peers={"scipy": "spatial.distance.jensenshannon (its square root, base e)"},
)
def js_divergence(
    predictions: ArrayLike,
    targets: ArrayLike,
    **contract: Unpack[ExampleContract],
) -> Array:
    r"""Jensen–Shannon divergence ``(KL(t || m) + KL(q || m)) / 2``, ``m = (t + q) / 2``.

    .. math::

       \ell(q, t) = \frac{1}{2} \sum_{c=1}^{K} \Bigl(t_c \log \frac{t_c}{m_c}
         + q_c \log \frac{q_c}{m_c}\Bigr),
       \qquad m = \frac{t + q}{2}

    Symmetric, bounded by ``log 2`` (reached by distributions with disjoint supports) and
    finite for any pair of distributions, zeros included; its square root is a metric
    (SciPy's ``jensenshannon``). Predictions are log-probabilities ``log q`` as for
    :func:`kl_divergence`; ``log m`` is computed with ``logaddexp``. Zero entries contribute
    0 and have finite gradients.

    Args:
      predictions: log-probabilities ``[..., K, ...]`` along ``axis``.
      targets: probabilities of the same shape.
      axis: the distribution axis (static).

    Returns:
      The reduced divergence, in nats.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> lq = jnp.log(jnp.array([[0.0, 1.0]]))  # disjoint from the target
      >>> round(float(lossjax.js_divergence(lq, jnp.array([[1.0, 0.0]]))), 6)
      0.693147

    Reference:
      Lin, "Divergence Measures Based on the Shannon Entropy", IEEE Transactions on
      Information Theory 37 (1991).
    """
    return _js_terms(predictions, targets)


@_per_example(
    task="divergence",
    predictions="log_probabilities",
    targets="values",
    granularity="example",
    bounded=False,
    convex=True,
    sample=fixtures.gkl_sample,
    boundary=fixtures.gkl_boundary,
    diff_argnums=(0, 1),
    peers={"optax": "generalized_kl_divergence / convex_kl_divergence"},
)
def generalized_kl_divergence(
    predictions: ArrayLike,
    targets: ArrayLike,
    **contract: Unpack[ExampleContract],
) -> Array:
    r"""Generalized KL divergence of non-negative vectors: ``sum_c t_c log(t_c / q_c) - t_c + q_c``.

    .. math::

       \ell(q, t) = \sum_{c=1}^{K} \Bigl(t_c \log \frac{t_c}{q_c} - t_c + q_c\Bigr)

    The I-divergence between unnormalised non-negative vectors (the Bregman divergence of
    ``x log x - x``); it is :func:`kl_divergence` plus ``sum(q) - sum(t)``, so for
    distributions the two agree. Predictions are ``log q`` (as optax); ``exp(log q)``
    overflows above about 88 in float32. Zero targets contribute ``q_c`` only; a negative or
    NaN target makes the example's divergence NaN (as in :func:`kl_divergence`).

    Args:
      predictions: ``log q``, ``[..., K, ...]`` along ``axis``.
      targets: non-negative ``t`` of the same shape.
      axis: the vector axis (static).

    Returns:
      The reduced divergence.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> lq = jnp.log(jnp.array([[1.0, 1.0]]))
      >>> round(float(lossjax.generalized_kl_divergence(lq, jnp.array([[2.0, 0.0]]))), 6)
      1.386294

    Reference:
      Csiszár, "Why Least Squares and Maximum Entropy?", Annals of Statistics 19 (1991);
      Lee and Seung, NIPS (2000).
    """
    return _kl_terms(predictions, targets, False) + jnp.sum(jnp.exp(predictions) - targets, axis=-1)


@_per_example(
    task="divergence",
    predictions="probabilities",
    targets="probabilities",
    granularity="example",
    bounded=True,
    convex=True,
    twice_differentiable=False,
    sample=_samples.default_sampler("probabilities", "probabilities", "example"),
    boundary=fixtures.tv_boundary,
    diff_argnums=(0, 1),
    peers={},
)
def total_variation(
    predictions: ArrayLike,
    targets: ArrayLike,
    **contract: Unpack[ExampleContract],
) -> Array:
    r"""Total variation distance, ``sum_c |p_c - t_c| / 2``, in ``[0, 1]``.

    .. math::

       \ell(p, t) = \frac{1}{2} \sum_{c=1}^{K} |p_c - t_c|

    Predictions and targets are probabilities (not logs). The subgradient of ``|.|`` at 0
    is 0.

    Args:
      predictions: probabilities ``[..., K, ...]`` along ``axis``.
      targets: probabilities of the same shape.
      axis: the distribution axis (static).

    Returns:
      The reduced distance.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> p, t = jnp.array([[0.5, 0.5, 0.0]]), jnp.array([[0.0, 0.5, 0.5]])
      >>> float(lossjax.total_variation(p, t))
      0.5

    Reference:
      Tsybakov, *Introduction to Nonparametric Estimation* (2009), definition 2.4.
    """
    return 0.5 * jnp.sum(jnp.abs(predictions - targets), axis=-1)
