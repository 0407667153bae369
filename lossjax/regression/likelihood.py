"""Regression losses that are negative log-likelihoods or deviances of a distribution:
Poisson and Gaussian NLL, Tweedie, Poisson and gamma deviances (per element).
"""

from __future__ import annotations

import math
from typing import Unpack

import jax
import jax.numpy as jnp

from lossjax import _core
from lossjax._core import Array, ArrayLike, Contract, Reduction
from lossjax._hyper import POSITIVE, Choice, Hyper, Interval
from lossjax._samples import regression as fixtures
from lossjax.registry import _builtin, _elementwise
from lossjax.regression._meta import REGRESSION, eps_for

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _poisson(p, t, log_input, full, eps):
    if log_input:
        loss = jnp.exp(p) - t * p
    else:
        loss = p - t * jnp.log(p + eps)
    if full:
        big = t > 1
        ts = jnp.where(big, t, 2.0)
        stirling = ts * jnp.log(ts) - ts + 0.5 * jnp.log(2.0 * math.pi * ts)
        loss = loss + jnp.where(big, stirling, 0.0)
    return loss


@_builtin(
    bounded=False,
    convex=True,
    hyper={
        "log_input": Hyper(Choice((True, False)), static=True,
                           why_static="a flag that chooses the formula (different code)"),
        "full": Hyper(Choice((True, False)), static=True,
                      why_static="a flag that chooses the formula (different code)"),
        "eps": POSITIVE,
    },
    sample=fixtures.count_sample,
    boundary=fixtures.poisson_boundary,
    peers={"torch": "poisson_nll_loss", "keras": "Poisson (log_input=False, eps=1e-7)"},
    **REGRESSION,
)
def poisson_nll(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    log_input: bool = True,
    full: bool = False,
    eps: float | ArrayLike = 1e-8,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Poisson negative log-likelihood of counts ``t`` under rate ``lambda``.

    .. math::

       \ell = \begin{cases} e^{s} - t s & \text{log-rates } s \\
         \lambda - t \log(\lambda + \epsilon) & \text{rates } \lambda \end{cases} \; + \; S(t),
       \qquad S(t) = \begin{cases} t \log t - t + \tfrac{1}{2} \log(2 \pi t) & \text{full, } t >
         1 \\ 0 & \text{otherwise} \end{cases}

    with predictions the log-rates :math:`s` (``log_input=True``, the default) or the rates
    :math:`\lambda` (``log_input=False``), and :math:`\epsilon` the ``eps``. The loss drops the
    :math:`\log t!` term; ``full=True`` adds its Stirling approximation :math:`S(t)` (as
    PyTorch).
    Keras's ``Poisson`` is ``log_input=False, eps=1e-7``.

    ``exp(s)`` overflows for log-rates above about 88 (float32): keep log-rates in range, or
    use rates. For float16 rates ``eps`` is raised to ``2 / 65504`` so that the gradient
    ``1 - t / (lambda + eps)`` at a zero rate fits the dtype (for counts up to 1).

    Args:
      predictions: log-rates (or rates) ``[...]``.
      targets: non-negative counts of the same shape.
      log_input: whether predictions are log-rates (static).
      full: add the Stirling term (static).
      eps: positive offset inside the log when ``log_input=False``.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> float(lossjax.poisson_nll(jnp.array([0.0]), jnp.array([2.0])))
      1.0

    Reference:
      McCullagh and Nelder, *Generalized Linear Models*, 2nd ed. (1989), sec. 6.2; PyTorch's
      ``poisson_nll_loss``.
    """
    e = eps_for(predictions, eps)
    return _core.elementwise(
        _core.loss_name(), lambda p, t: _poisson(p, t, log_input, full, e.astype(p.dtype)),
        predictions, targets, weights=weights, where=where, reduction=reduction,
    )


@_builtin(
    bounded=False,
    convex=False,
    hyper={"full": Hyper(Choice((True, False)), static=True,
                         why_static="a flag that chooses the formula (different code)"),
           "eps": POSITIVE},
    sample=fixtures.gaussian_sample,
    boundary=fixtures.gaussian_boundary,
    batch_argnums=(0, 1, 2),
    peers={"torch": "gaussian_nll_loss"},
    **{**REGRESSION, "diff_argnums": (0, 1, 2)},
)
def gaussian_nll(
    predictions: ArrayLike,
    targets: ArrayLike,
    variance: ArrayLike,
    *,
    full: bool = False,
    eps: float | ArrayLike = 1e-6,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Gaussian negative log-likelihood with a predicted variance.

    .. math::

       \ell(\mu, t, v) = \frac{1}{2} \Bigl(\log \bar v + \frac{(\mu - t)^2}{\bar v}\Bigr) + c,
       \qquad \bar v = \max(v, \epsilon)

    with :math:`\mu` the prediction, :math:`v` the ``variance``, :math:`\epsilon` the ``eps``,
    and the constant :math:`c = \tfrac{1}{2} \log 2\pi` with ``full=True``, else 0. As in
    PyTorch, the clamp passes the gradient straight through to ``variance`` (it is computed
    at the clamped value), so a variance pushed below ``eps`` keeps a gradient. For float16
    variances ``eps`` is raised to at least ``2 / 65504``. The loss is convex in the mean,
    not in the variance.

    Args:
      predictions: means ``[...]``.
      targets: array of the same shape.
      variance: non-negative variances, broadcastable to ``[...]`` (e.g. ``[..., 1]`` for
        one variance shared by the last axis). Differentiated, like ``predictions``.
      full: add ``0.5 log(2 pi)`` (static).
      eps: positive floor of the variance.

    Returns:
      The reduced loss.

    Raises:
      ValueError: if ``variance`` does not broadcast to the predictions' shape.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> float(lossjax.gaussian_nll(jnp.array([2.0]), jnp.array([0.0]), jnp.array([1.0])))
      2.0

    Reference:
      Nix and Weigend, "Estimating the mean and variance of the target probability
      distribution", ICNN (1994); PyTorch's ``gaussian_nll_loss``.
    """
    name = _core.loss_name()
    p = _core.float_input("predictions", predictions, name)
    t = _core.numeric_input("targets", targets, name)
    v = _core.float_input("variance", variance, name)
    _core.check_same_shape("predictions", p, "targets", t, name)
    if not _core._broadcastable(v.shape, p.shape):
        raise ValueError(
            f"{name}: `variance` must broadcast to the predictions' shape {tuple(p.shape)}; got "
            f"{tuple(v.shape)}."
        )
    dtype = _core.compute_dtype(p, t, v)
    floor = eps_for(v, eps).astype(dtype)
    mask = _core.prepare_where(where, p.shape, name)
    w = _core.prepare_weights(weights, p.shape, dtype, name)
    p = _core.mask_safe(mask, p.astype(dtype), 0.0)
    t = _core.mask_safe(mask, t.astype(dtype), 0.0)
    v = _core.mask_safe(mask, jnp.broadcast_to(v.astype(dtype), p.shape), 1.0)
    # Straight-through clamp: the value uses max(v, floor), the gradient passes to v as is.
    v = v + jax.lax.stop_gradient(jnp.maximum(v, floor) - v)
    e = p - t
    loss = 0.5 * (jnp.log(v) + e * e / v)
    if full:
        loss = loss + _HALF_LOG_2PI
    return _core.reduce(loss, weights=w, where=mask, reduction=reduction, loss_name=name)


def _tweedie(s, y, power):
    a, b = 1.0 - power, 2.0 - power
    # only y = 0 takes the limit; a NaN or negative target goes through the y terms and makes
    # the loss NaN (y**(2-p) of a negative y), not the loss of a zero count
    pos = y != 0
    ys = jnp.where(pos, y, 1.0)
    # y^(2-p) / ((1-p)(2-p)) - y mu^(1-p) / (1-p) + mu^(2-p) / (2-p), mu = exp(s); the y terms
    # are 0 at y = 0 (where exp((1-p) s) may overflow for very negative s).
    s_pos = jnp.where(pos, s, 0.0)
    y_terms = jnp.where(pos, ys ** b / (a * b) - ys * jnp.exp(a * s_pos) / a, 0.0)
    return 2.0 * (y_terms + jnp.exp(b * s) / b)


@_elementwise(
    bounded=False,
    convex=True,
    hyper={"power": Interval(1.0, 2.0, low_open=True, high_open=True)},
    sample=fixtures.count_sample,
    boundary=fixtures.tweedie_boundary,
    peers={
        "sklearn": "mean_tweedie_deviance (of exp(predictions))",
        "lightgbm": "objective='tweedie' (same gradient, up to a factor 2)",
    },
    # not the targets: d/dy of y**(2 - power) is infinite at y = 0, a count they often hold
    **{**REGRESSION, "diff_argnums": (0,)},
)
def tweedie(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    power: float | ArrayLike = 1.5,
    **contract: Unpack[Contract],
) -> Array:
    r"""Tweedie deviance for a compound Poisson-gamma target, with a log link.

    .. math::

       \ell(s, y) = 2 \Bigl(\frac{y^{2-p}}{(1-p)(2-p)} - \frac{y \mu^{1-p}}{1-p}
         + \frac{\mu^{2-p}}{2-p}\Bigr), \qquad \mu = e^{s}

    with :math:`p` the ``power`` in ``(1, 2)``: predictions are log-means :math:`s` (raw
    scores, as LightGBM and XGBoost take them), and the loss is the unit deviance (what
    scikit-learn's ``mean_tweedie_deviance(y, mu, power)`` averages); the terms in :math:`y`
    are 0 at :math:`y = 0`. It is 0 when ``mu = y`` and convex in ``s``. Targets are
    non-negative (zeros are the point mass of the compound Poisson); a negative target gives
    NaN. ``exp`` overflows for log-means beyond about ``±88 / (2 - p)`` in float32.

    The limits ``power = 1`` and ``power = 2`` are :func:`poisson_deviance` and
    :func:`gamma_deviance` (same log link).

    Args:
      predictions: log-means ``[...]``.
      targets: non-negative array of the same shape.
      power: Tweedie power in ``(1, 2)`` (1 is Poisson, 2 is gamma).

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> float(lossjax.tweedie(jnp.array([0.0]), jnp.array([1.0])))
      0.0

    Reference:
      Jørgensen, *The Theory of Dispersion Models* (1997), eq. 4.2; scikit-learn's
      ``mean_tweedie_deviance``.
    """
    return _tweedie(predictions, targets, power)


# --------------------------------------------------------------------------------------------
# Poisson and gamma deviances: the Tweedie deviance's limits at powers 1 and 2, with the same
# log link as `tweedie` (predictions are log-means s, mu = exp(s)).


def _count_check(predictions, targets, **_):
    t = jnp.asarray(targets)
    return [(t >= 0, "targets must be non-negative")]


def _positive_check(predictions, targets, **_):
    t = jnp.asarray(targets)
    return [(t > 0, "targets must be positive")]


def _poisson_deviance(s, y):
    # 2 (y log(y / mu) - y + mu); the y term is 0 at y = 0 (its limit), where log(y) is -inf.
    # A negative target goes through log and gives NaN; so does a NaN target.
    pos = y != 0
    ys = jnp.where(pos, y, 1.0)
    y_terms = jnp.where(pos, ys * (jnp.log(ys) - s) - ys, 0.0)
    return 2.0 * (y_terms + jnp.exp(s))


def _gamma_deviance(s, y):
    # 2 (log(mu / y) + y / mu - 1) = 2 (exp(d) - 1 - d) with d = log(y) - s = log(y / mu); the
    # gradient in s is -2 expm1(d). y = 0 gives +inf (d = -inf), y < 0 NaN.
    d = jnp.log(y) - s
    return 2.0 * (jnp.expm1(d) - d)


@_elementwise(
    bounded=False,
    convex=True,
    sample=fixtures.count_sample,
    boundary=fixtures.poisson_deviance_boundary,
    checks=_count_check,
    peers={"sklearn": "mean_poisson_deviance (of exp(predictions))"},
    # not the targets: d/dy = 2 (log y - s) is -inf at y = 0, a count they often hold
    **{**REGRESSION, "diff_argnums": (0,)},
)
def poisson_deviance(
    predictions: ArrayLike,
    targets: ArrayLike,
    **contract: Unpack[Contract],
) -> Array:
    r"""Poisson deviance of counts, with a log link: ``tweedie`` at ``power = 1``.

    .. math::

       \ell(s, y) = 2 \Bigl(y \log \frac{y}{\mu} - y + \mu\Bigr), \qquad \mu = e^{s}

    with predictions the log-means :math:`s` (as :func:`tweedie` takes them) and
    :math:`y \log(y / \mu) = 0` at :math:`y = 0`: the Poisson unit deviance that
    scikit-learn's ``mean_poisson_deviance(y, mu)`` averages.

    It is ``2 * (poisson_nll(s, y) - (y log y - y))``: the negative log-likelihood shifted to be
    0 at ``mu = y``; convex in ``s``, with gradient ``2 * (mu - y)``. Targets are
    non-negative; a negative target gives NaN (:func:`lossjax.checked` raises on it).

    Args:
      predictions: log-means ``[...]``.
      targets: non-negative array of the same shape.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> float(lossjax.poisson_deviance(jnp.array([0.0, 0.0]), jnp.array([0.0, 1.0])))
      1.0

    Reference:
      McCullagh and Nelder, *Generalized Linear Models* (1989), sec. 2.3; scikit-learn's
      ``mean_poisson_deviance``.
    """
    return _poisson_deviance(predictions, targets)


@_elementwise(
    bounded=False,
    convex=True,
    sample=fixtures.log_mean_sample,
    boundary=fixtures.gamma_deviance_boundary,
    checks=_positive_check,
    peers={"sklearn": "mean_gamma_deviance (of exp(predictions))"},
    **REGRESSION,  # positive real targets: differentiable
)
def gamma_deviance(
    predictions: ArrayLike,
    targets: ArrayLike,
    **contract: Unpack[Contract],
) -> Array:
    r"""Gamma deviance of positive targets, with a log link: ``tweedie`` at ``power = 2``.

    .. math::

       \ell(s, y) = 2 \Bigl(\log \frac{\mu}{y} + \frac{y}{\mu} - 1\Bigr), \qquad \mu = e^{s}

    with predictions the log-means :math:`s` (as :func:`tweedie` takes them): the gamma unit
    deviance that scikit-learn's ``mean_gamma_deviance(y, mu)`` averages, computed as
    ``2 * (expm1(d) - d)`` with ``d = log(y) - s``. It is 0 at ``mu = y``, depends only on the
    ratio ``y / mu`` (scale-free), and is convex in ``s`` (gradient ``-2 * expm1(d)``, second
    derivative ``2 y / mu``; not convex in ``mu``). Targets are positive: ``y = 0`` gives
    ``inf`` and ``y < 0`` NaN (:func:`lossjax.checked` raises on both).

    Args:
      predictions: log-means ``[...]``.
      targets: positive array of the same shape.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> float(lossjax.gamma_deviance(jnp.array([0.0]), jnp.array([1.0])))
      0.0

    Reference:
      McCullagh and Nelder, *Generalized Linear Models* (1989), sec. 2.3; scikit-learn's
      ``mean_gamma_deviance``.
    """
    return _gamma_deviance(predictions, targets)
