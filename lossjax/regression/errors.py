"""Error losses of a prediction against a real target: squared, absolute, Huber and
relatives, quantile, percentage and logarithmic errors, cosine distance.

Every function here is per-element: ``predictions`` and ``targets`` have the same shape, and
``reduction="none"`` returns ``weights * loss`` with that shape (0 where ``where`` is False).
The exception is :func:`cosine_distance`, one loss per vector along ``axis``.
"""

from __future__ import annotations

from typing import Unpack

import jax.numpy as jnp

from lossjax import _core, _samples
from lossjax._core import Array, ArrayLike, Contract, Reduction
from lossjax._hyper import NONNEGATIVE, POSITIVE, UNIT
from lossjax._samples import regression as fixtures
from lossjax.registry import _builtin, _elementwise, per_unit
from lossjax.regression._meta import REGRESSION, eps_for


@_elementwise(
    slope=lambda p, t: 2.0 * (p - t),
    aliases=("mse",),
    bounded=False,
    convex=True,
    peers={"optax": "squared_error", "torch": "mse_loss", "keras": "MeanSquaredError"},
    **REGRESSION,
)
def squared_error(
    predictions: ArrayLike,
    targets: ArrayLike,
    **contract: Unpack[Contract],
) -> Array:
    r"""Squared error, ``(predictions - targets)**2``.

    .. math::

       \ell(p, t) = (p - t)^2

    With ``reduction="mean"`` this is the mean squared error (MSE).

    Args:
      predictions: floating array ``[...]``.
      targets: array of the same shape.

    Returns:
      The reduced loss, in float32 or wider.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> float(lossjax.squared_error(jnp.array([1.0, 2.0]), jnp.array([0.0, 0.0])))
      2.5

    Reference:
      Legendre (1805); Hastie, Tibshirani and Friedman, *The Elements of Statistical
      Learning*, 2nd ed. (2009), eq. 2.9.
    """
    e = predictions - targets
    return e * e


@_elementwise(
    # sign(0) = 0 in both arguments: autodiff of abs would give d/dt = -1 at p = t (issue 11,
    # item 7), where PyTorch's l1_loss gives 0 and 0.
    slope=lambda p, t: jnp.sign(p - t),
    target_slope=lambda p, t: -jnp.sign(p - t),
    aliases=("mae", "l1"),
    bounded=False,
    convex=True,
    twice_differentiable=False,
    peers={"torch": "l1_loss", "keras": "MeanAbsoluteError"},
    **REGRESSION,
)
def absolute_error(
    predictions: ArrayLike,
    targets: ArrayLike,
    **contract: Unpack[Contract],
) -> Array:
    r"""Absolute error, ``|predictions - targets|``.

    .. math::

       \ell(p, t) = |p - t|

    With ``reduction="mean"`` this is the mean absolute error (MAE, L1 loss). The gradient at
    a zero residual is 0 with respect to both predictions and targets (the subgradient
    ``sign(0) = 0``, as PyTorch's ``l1_loss``).

    Args:
      predictions: floating array ``[...]``.
      targets: array of the same shape.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> float(lossjax.absolute_error(jnp.array([1.0, -3.0]), jnp.array([0.0, 0.0])))
      2.0

    Reference:
      Bloomfield and Steiger, *Least Absolute Deviations* (1983).
    """
    return jnp.abs(predictions - targets)


def _safe_sqrt(x: Array) -> Array:
    """sqrt(x) for x >= 0, with gradient 0 (not inf) at x == 0; NaN stays NaN."""
    pos = ~(x <= 0)  # NaN takes the sqrt branch: a NaN mean square must not read as 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, x, 1)), 0)


@_builtin(
    aliases=("rmse",),
    bounded=False,
    convex=True,
    twice_differentiable=False,
    peers={"keras": "RootMeanSquaredError (metric)"},
    **REGRESSION,
)
def root_mean_squared_error(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Root of the mean squared error, ``sqrt(sum(w * e**2) / sum(w))`` with ``e = p - t``.

    .. math::

       \mathrm{RMSE} = \sqrt{\frac{\sum_i w_i e_i^2}{\sum_i w_i}}, \qquad e_i = p_i - t_i

    over the kept positions :math:`i`, with weights :math:`w_i`. The root is taken *after*
    the reduction, so the reductions mean:

    * ``"mean"``: the RMSE above;
    * ``"sum"``: :math:`\sqrt{\sum_i w_i e_i^2}` (the weighted Euclidean norm of the residual);
    * ``"none"``: :math:`w_i |e_i|` per element: each element's own root squared error, in the
      units of the targets, which is what one histograms to find outliers. These do *not*
      average to the RMSE (the mean of roots is not the root of the mean).

    The gradient is finite (0) when every residual is 0.

    Args:
      predictions: floating array ``[...]``.
      targets: array of the same shape.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> float(lossjax.root_mean_squared_error(jnp.array([3.0, -3.0]), jnp.zeros(2)))
      3.0

    Reference:
      Hyndman and Koehler, "Another look at measures of forecast accuracy", International
      Journal of Forecasting 22 (2006).
    """
    name = _core.loss_name()
    if reduction == "none":
        return _core.elementwise(
            name, per_unit(absolute_error), predictions, targets,
            weights=weights, where=where, reduction="none",
        )
    mse = _core.elementwise(
        name, per_unit(squared_error), predictions, targets, weights=weights, where=where,
        reduction=reduction,
    )
    return _safe_sqrt(mse)


@_elementwise(
    slope=lambda p, t: p - t,
    bounded=False,
    convex=True,
    peers={"optax": "l2_loss"},
    **REGRESSION,
)
def l2(
    predictions: ArrayLike,
    targets: ArrayLike,
    **contract: Unpack[Contract],
) -> Array:
    r"""Half squared error, ``0.5 * (predictions - targets)**2``.

    .. math::

       \ell(p, t) = \tfrac{1}{2} (p - t)^2

    The factor 1/2 makes the gradient equal to the residual (as optax's ``l2_loss``).

    Args:
      predictions: floating array ``[...]``.
      targets: array of the same shape.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> float(lossjax.l2(jnp.array([2.0]), jnp.array([0.0])))
      2.0

    Reference:
      Bishop, *Pattern Recognition and Machine Learning* (2006), eq. 1.2.
    """
    e = predictions - targets
    return 0.5 * e * e


@_elementwise(
    slope=lambda p, t, delta: jnp.clip(p - t, -delta, delta),
    bounded=False,
    convex=True,
    twice_differentiable=False,
    hyper={"delta": POSITIVE},
    peers={"optax": "huber_loss", "torch": "huber_loss", "keras": "Huber"},
    **REGRESSION,
)
def huber(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    delta: float | ArrayLike = 1.0,
    **contract: Unpack[Contract],
) -> Array:
    r"""Huber loss: quadratic near zero, linear in the tails.

    .. math::

       \ell(p, t) = \begin{cases} \tfrac{1}{2} e^2 & |e| \le \delta \\
         \delta \bigl(|e| - \tfrac{1}{2} \delta\bigr) & |e| > \delta \end{cases},
       \qquad e = p - t

    with :math:`\delta` the ``delta``. Its gradient is the residual clipped to
    ``[-delta, delta]``.
    ``huber(delta=d) == d * smooth_l1(beta=d)``.

    Args:
      predictions: floating array ``[...]``.
      targets: array of the same shape.
      delta: positive threshold between the quadratic and the linear part.

    Returns:
      The reduced loss.

    Raises:
      ValueError: if ``delta`` is a concrete value ``<= 0``.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> lossjax.huber(jnp.array([0.5, 3.0]), jnp.zeros(2), reduction="none").tolist()
      [0.125, 2.5]

    Reference:
      Huber, "Robust Estimation of a Location Parameter", Annals of Mathematical Statistics
      35 (1964).
    """
    a = jnp.abs(predictions - targets)
    q = jnp.minimum(a, delta)
    return 0.5 * q * q + delta * (a - q)


def _hypot1(r: Array) -> Array:
    """``sqrt(1 + r**2)`` without overflow: ``m * sqrt((1/m)**2 + (r/m)**2)``, ``m = max(1, |r|)``.

    Written with ``max`` and arithmetic only (no ``select``), so it fuses into a reduction.
    """
    m = jnp.maximum(jnp.abs(r), 1.0)
    inv = 1.0 / m
    rm = r * inv
    return m * jnp.sqrt(inv * inv + rm * rm)


def _pseudo_huber_slope(p: Array, t: Array, delta: Array) -> Array:
    # d/de = e / sqrt(1 + (e/delta)**2) = delta * r / sqrt(1 + r**2) with r = e / delta:
    # about e near 0, delta * sign(e) in the tails, never an overflow.
    r = (p - t) / delta
    return delta * (r / _hypot1(r))


@_elementwise(
    slope=_pseudo_huber_slope,
    bounded=False,
    convex=True,
    hyper={"delta": POSITIVE},
    **REGRESSION,
)
def pseudo_huber(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    delta: float | ArrayLike = 1.0,
    **contract: Unpack[Contract],
) -> Array:
    r"""Pseudo-Huber (Charbonnier) loss, a smooth Huber.

    .. math::

       \ell(p, t) = \delta^2 \Bigl(\sqrt{1 + (e / \delta)^2} - 1\Bigr), \qquad e = p - t

    with :math:`\delta` the ``delta``: about ``e**2 / 2`` for small ``|e|`` and ``delta * |e|``
    for large. It is computed as ``e**2 / (1 + sqrt(1 + (e/delta)**2))``, exact for small
    residuals and free of overflow for large ones. Infinitely differentiable.

    Args:
      predictions: floating array ``[...]``.
      targets: array of the same shape.
      delta: positive scale.

    Returns:
      The reduced loss.

    Raises:
      ValueError: if ``delta`` is a concrete value ``<= 0``.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> round(float(lossjax.pseudo_huber(jnp.array([1.0]), jnp.array([0.0]))), 6)
      0.414214

    Reference:
      Charbonnier, Blanc-Féraud, Aubert and Barlaud, ICIP (1994); Hartley and Zisserman,
      *Multiple View Geometry*, 2nd ed. (2003), appendix A6.8.
    """
    # delta**2 * (sqrt(1 + (e/delta)**2) - 1) == e**2 / (1 + sqrt(1 + (e/delta)**2)): the
    # right side has no cancellation for small |e|, and e * (e / (1 + h)) no overflow for large
    # |e| (_hypot1 does not square e / delta).
    e = predictions - targets
    h = _hypot1(e / delta)
    return e * (e / (1.0 + h))


@_elementwise(
    slope=lambda p, t: jnp.tanh(p - t),
    bounded=False,
    convex=True,
    peers={"optax": "log_cosh", "keras": "LogCosh"},
    **REGRESSION,
)
def log_cosh(
    predictions: ArrayLike,
    targets: ArrayLike,
    **contract: Unpack[Contract],
) -> Array:
    r"""Log-cosh loss, ``log(cosh(predictions - targets))``.

    .. math::

       \ell(p, t) = \log \cosh (p - t)

    About ``e**2 / 2`` for small residuals and ``|e| - log 2`` for large ones. Computed as
    ``log1p(v**2 / (2 (1 + v)))`` with ``v = expm1(|e|)`` (``cosh - 1`` without cancellation,
    so float32 values keep their relative accuracy down to tiny residuals, where the usual
    ``|e| + log1p(exp(-2|e|)) - log 2`` is off by ~1e-7 absolute), linear past
    ``|e| = 40`` so that nothing overflows; the derivative is ``tanh(e)`` (a custom JVP), so
    ``jax.hessian`` is exact at ``e = 0`` too.

    Args:
      predictions: floating array ``[...]``.
      targets: array of the same shape.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> round(float(lossjax.log_cosh(jnp.array([1.0]), jnp.array([0.0]))), 6)
      0.433781

    Reference:
      Chen et al., "Log Hyperbolic Cosine Loss Improves Variational Auto-Encoder",
      arXiv:2208.04564 (2022).
    """
    # With a = |e|, b = min(a, 40) and v = expm1(b): cosh b - 1 = v**2 / (2 (1 + v)), a sum of
    # positive terms, so log cosh b = log1p(v**2 / (2 (1 + v))) keeps full relative accuracy
    # down to a**2 / 2 at tiny errors (the textbook a + log1p(exp(-2a)) - log 2 cancels to an
    # absolute error of ~1e-7 there, so its float32 value is noise below |e| ~ 1e-3). Past 40,
    # log cosh a = a - log 2 + log1p(exp(-2a)) is linear to float64 precision, so the tail
    # adds a - b; no overflow of v**2 (e**80 < float32's max). min, not select: the value
    # still fuses into its reduction (lossjax._fused). The slope tanh(e) is written out so
    # that the Hessian (1 - tanh**2) is right at 0 too, where autodiff through |e| gives 0.
    a = jnp.abs(predictions - targets)
    b = jnp.minimum(a, 40.0)
    v = jnp.expm1(b)
    return jnp.log1p(v * v / (2.0 * (1.0 + v))) + (a - b)


# --------------------------------------------------------------------------------------------
# More regression losses (issue 5): smooth L1, quantile, percentage and logarithmic errors,
# likelihoods (Poisson, Gaussian, Tweedie), cosine distance.


def _smooth_l1(e: Array, beta: ArrayLike) -> Array:
    a = jnp.abs(e)
    q = jnp.minimum(a, beta)
    # beta = 0 is the L1 loss: q = 0 then, and the division by a safe 1 leaves 0.
    return 0.5 * q * q / jnp.where(beta > 0, beta, 1.0) + (a - q)


@_elementwise(
    bounded=False,
    convex=True,
    twice_differentiable=False,
    hyper={"beta": NONNEGATIVE},
    peers={"torch": "smooth_l1_loss"},
    **REGRESSION,
)
def smooth_l1(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    beta: float | ArrayLike = 1.0,
    **contract: Unpack[Contract],
) -> Array:
    r"""Smooth L1 loss (Fast R-CNN): ``0.5 e**2 / beta`` if ``|e| < beta``, else ``|e| - beta/2``.

    .. math::

       \ell(p, t) = \begin{cases} \tfrac{1}{2} e^2 / \beta & |e| < \beta \\
         |e| - \tfrac{1}{2} \beta & |e| \ge \beta \end{cases},
       \qquad e = p - t

    with :math:`\beta` the ``beta``. It is the Huber loss divided by its threshold,
    ``smooth_l1(beta=b) == huber(delta=b) / b``, so its slope in the tails is 1 whatever
    ``beta`` (Huber's is ``delta``); ``beta = 0`` gives the absolute error.

    Args:
      predictions: floating array ``[...]``.
      targets: array of the same shape.
      beta: non-negative width of the quadratic zone (1 in Fast R-CNN and PyTorch).

    Returns:
      The reduced loss.

    Raises:
      ValueError: if ``beta`` is a concrete value ``< 0``.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> lossjax.smooth_l1(jnp.array([0.5, 3.0]), jnp.zeros(2), reduction="none").tolist()
      [0.125, 2.5]

    Reference:
      Girshick, "Fast R-CNN", ICCV (2015), eq. 3.
    """
    return _smooth_l1(predictions - targets, beta)


@_elementwise(
    aliases=("pinball",),
    bounded=False,
    convex=True,
    twice_differentiable=False,
    hyper={"tau": UNIT},
    peers={"sklearn": "mean_pinball_loss (alpha=tau)"},
    **REGRESSION,
)
def quantile(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    tau: float | ArrayLike = 0.5,
    **contract: Unpack[Contract],
) -> Array:
    r"""Quantile (pinball) loss, ``max(tau * e, (tau - 1) * e)`` with ``e = targets - predictions``.

    .. math::

       \ell(p, t) = \max\bigl(\tau e,\, (\tau - 1) e\bigr), \qquad e = t - p

    with :math:`\tau` the ``tau``. Its minimiser over a constant prediction is the
    ``tau``-quantile of the targets; ``tau = 0.5`` gives half the absolute error.
    Under-prediction costs ``tau`` per unit, over-prediction ``1 - tau``.

    Args:
      predictions: floating array ``[...]``.
      targets: array of the same shape.
      tau: quantile level in ``[0, 1]`` (scalar or broadcastable, e.g. one per output).

    Returns:
      The reduced loss.

    Raises:
      ValueError: if ``tau`` is a concrete value outside ``[0, 1]``.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> loss = lossjax.quantile(jnp.array([0.0, 2.0]), jnp.array([1.0, 1.0]), tau=0.9,
      ...                         reduction="none")
      >>> [round(v, 6) for v in loss.tolist()]
      [0.9, 0.1]

    Reference:
      Koenker and Bassett, "Regression Quantiles", Econometrica 46 (1978).
    """
    e = targets - predictions
    return jnp.maximum(tau * e, (tau - 1.0) * e)


@_builtin(
    aliases=("mape",),
    bounded=False,
    convex=True,
    twice_differentiable=False,
    hyper={"epsilon": POSITIVE},
    boundary=fixtures.mape_boundary,
    peers={"keras": "MeanAbsolutePercentageError"},
    **REGRESSION,
)
def mean_absolute_percentage_error(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    epsilon: float | ArrayLike = 1e-7,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Absolute percentage error, ``100 * |targets - predictions| / max(|targets|, epsilon)``.

    .. math::

       \ell(p, t) = 100\, \frac{|t - p|}{\max(|t|, \epsilon)}

    with :math:`\epsilon` the ``epsilon``. With ``reduction="mean"`` this is the MAPE, in
    percent, as Keras computes it (same ``epsilon = 1e-7`` clamp of the denominator). A target
    of 0 makes the error huge (divided by ``epsilon``) but finite. For float16 inputs the clamp
    is raised to ``200 / 65504`` (about 3e-3) so that the gradient ``100 / max(|t|, epsilon)``
    fits the dtype.

    Args:
      predictions: floating array ``[...]``.
      targets: array of the same shape.
      epsilon: positive floor of ``|targets|``.

    Returns:
      The reduced loss, in percent.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> p, t = jnp.array([110.0, 45.0]), jnp.array([100.0, 50.0])
      >>> float(lossjax.mean_absolute_percentage_error(p, t))
      10.0

    Reference:
      Hyndman and Koehler, "Another look at measures of forecast accuracy", International
      Journal of Forecasting 22 (2006); Keras's ``MeanAbsolutePercentageError``.
    """
    eps = eps_for(predictions, epsilon, 100.0)
    return _core.elementwise(
        _core.loss_name(),
        lambda p, t: 100.0 * jnp.abs(t - p) / jnp.maximum(jnp.abs(t), eps.astype(p.dtype)),
        predictions, targets, weights=weights, where=where, reduction=reduction,
    )


_MSLE_EPS = 1e-7  # Keras's backend epsilon


def _log_ratio(p: Array, t: Array) -> tuple[Array, Array]:
    """``|log1p(a) - log1p(b)|`` with ``a, b = max(p, eps), max(t, eps)``, and ``a - b``.

    ``log((1 + hi) / (1 + lo)) = log1p((hi - lo) / (1 + lo))``: the argument is never negative
    and ``hi - lo`` is exact when the two are close, so the log ratio keeps its relative
    accuracy when ``p`` and ``t`` agree to many digits (the plain difference of the two
    ``log1p`` is then float rounding noise).
    """
    a, b = jnp.maximum(p, _MSLE_EPS), jnp.maximum(t, _MSLE_EPS)
    return jnp.log1p(jnp.abs(a - b) / (1.0 + jnp.minimum(a, b))), a - b


# The slope written out (a fused kernel, lossjax._fused), 2 e / (1 + p) where p > eps: the
# autodiff of the cancellation-free value goes through (1 + lo)**2, which overflows float32
# when a prediction is far above 1e19.
def _msle_slope(p: Array, t: Array) -> Array:
    e, d = _log_ratio(p, t)
    # max(p, eps) keeps the unused branch finite (p = -1) for the derivative of this slope
    return jnp.where(p > _MSLE_EPS, 2.0 * jnp.sign(d) * e / (1.0 + jnp.maximum(p, _MSLE_EPS)),
                     0.0)


@_elementwise(
    slope=_msle_slope,
    aliases=("msle",),
    bounded=False,
    convex=False,
    sample=fixtures.positive_sample,
    boundary=fixtures.msle_boundary,
    peers={"keras": "MeanSquaredLogarithmicError"},
    **REGRESSION,
)
def mean_squared_logarithmic_error(
    predictions: ArrayLike,
    targets: ArrayLike,
    **contract: Unpack[Contract],
) -> Array:
    r"""Squared logarithmic error, ``(log1p(max(p, eps)) - log1p(max(t, eps)))**2``.

    .. math::

       \ell(p, t) = \bigl(\log(1 + \max(p, \epsilon)) - \log(1 + \max(t, \epsilon))\bigr)^2,
       \qquad \epsilon = 10^{-7}

    For non-negative predictions and targets (counts, prices): it penalises ratios rather
    than differences. As in Keras, both arguments are clamped below at ``eps = 1e-7``, so a
    negative prediction costs as much as ``eps`` and gets a zero gradient. The log ratio is
    computed as ``log1p(|a - b| / (1 + min(a, b)))``, which keeps float32's relative accuracy
    when predictions and targets nearly agree (the difference of two ``log1p`` does not).

    Args:
      predictions: non-negative floating array ``[...]``.
      targets: non-negative array of the same shape.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> p = jnp.expm1(jnp.array([1.0]))  # log1p(p) = 1
      >>> round(float(lossjax.mean_squared_logarithmic_error(p, jnp.zeros(1))), 6)
      1.0

    Reference:
      Keras's ``MeanSquaredLogarithmicError``.
    """
    e = _log_ratio(predictions, targets)[0]
    return e * e



def _cosine(p, t, eps):
    dot = jnp.sum(p * t, axis=-1)
    return 1.0 - dot / (jnp.maximum(_safe_norm(p), eps) * jnp.maximum(_safe_norm(t), eps))


def _safe_norm(x: Array) -> Array:
    return _safe_sqrt(jnp.sum(x * x, axis=-1))


@_builtin(
    task="regression",
    predictions="values",
    targets="values",
    granularity="example",
    diff_argnums=(0, 1),  # target vectors are real-valued
    bounded=True,
    convex=False,
    hyper={"epsilon": POSITIVE},
    sample=_samples.default_sampler("values", "values", "example"),
    boundary=fixtures.cosine_boundary,
    peers={
        "optax": "cosine_distance / cosine_similarity (1 - it)",
        "torch": "cosine_embedding_loss (y=1) / cosine_similarity (1 - it)",
        "keras": "CosineSimilarity (its negative, -cos)",
    },
)
def cosine_distance(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    epsilon: float | ArrayLike = 1e-8,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Cosine distance, ``1 - <p, t> / (max(|p|, eps) * max(|t|, eps))`` along ``axis``.

    .. math::

       \ell(p, t) = 1 - \frac{\langle p, t \rangle}{\max(\lVert p \rVert, \epsilon)\,
         \max(\lVert t \rVert, \epsilon)}

    for the vectors :math:`p` and :math:`t` along ``axis``, with :math:`\epsilon` the
    ``epsilon``. In ``[0, 2]``: 0 for vectors pointing the same way, 2 for opposite ones. Each
    norm is clamped below at ``epsilon`` as in PyTorch's ``cosine_similarity``, so a zero vector
    gives distance 1 with a finite gradient (optax's default ``epsilon=0`` gives NaN there;
    optax clamps the *squared* norm). For float16 inputs the clamp is raised to at least
    ``2 / 65504`` so that the gradient fits the dtype. The cosine similarity that optax's
    ``cosine_similarity`` returns is ``1 - cosine_distance``; Keras's ``CosineSimilarity`` loss
    is ``-similarity = cosine_distance - 1``.

    Args:
      predictions: vectors ``[..., D, ...]`` along ``axis``.
      targets: vectors of the same shape.
      epsilon: positive floor of each norm.
      axis: the vector axis (static).

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> p, t = jnp.array([[1.0, 0.0], [1.0, 1.0]]), jnp.array([[0.0, 1.0], [2.0, 0.0]])
      >>> [round(v, 6) for v in lossjax.cosine_distance(p, t, reduction="none").tolist()]
      [1.0, 0.292893]

    Reference:
      Salton and McGill, *Introduction to Modern Information Retrieval* (1983); PyTorch's
      ``cosine_similarity`` for the clamp.
    """
    eps = eps_for(predictions, epsilon)
    return _core.per_example(
        _core.loss_name(), lambda p, t: _cosine(p, t, eps.astype(p.dtype)), predictions,
        targets, axis=axis, weights=weights, where=where, reduction=reduction,
    )
