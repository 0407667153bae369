"""Regression losses: squared, absolute, root-mean-squared, L2, Huber, pseudo-Huber, log-cosh.

Every function here is per-element: ``predictions`` and ``targets`` have the same shape, and
``reduction="none"`` returns ``weights * loss`` with that shape (0 where ``where`` is False).
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from lossjax import _core, _fused
from lossjax._core import Array, ArrayLike
from lossjax.registry import POSITIVE, _builtin

_REGRESSION = dict(task="regression", predictions="values", targets="values", granularity="element")


@_builtin(
    "squared_error",
    aliases=("mse",),
    bounded=False,
    convex=True,
    reference="Legendre (1805), least squares; Hastie et al., The Elements of Statistical "
    "Learning (2009), eq. 2.9",
    peers={"optax": "squared_error", "torch": "mse_loss", "keras": "MeanSquaredError"},
    **_REGRESSION,
)
def squared_error(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
) -> Array:
    """Squared error, ``(predictions - targets)**2``.

    With ``reduction="mean"`` this is the mean squared error (MSE).

    Args:
      predictions: floating array ``[...]``.
      targets: array of the same shape.
      weights: optional weights broadcastable to ``[...]``.
      where: optional boolean mask broadcastable to ``[...]``; False drops a position.
      reduction: ``"none"`` (per element, shape ``[...]``), ``"sum"`` or ``"mean"``.

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
    return _core.elementwise(
        "squared_error", _squared, predictions, targets,
        weights=weights, where=where, reduction=reduction,
    )


def _squared_value(p: Array, t: Array) -> Array:
    e = p - t
    return e * e


# Fused kernels (lossjax._fused): the value and its derivative in the predictions.
_squared = _fused.elementwise_jvp(_squared_value, lambda p, t: 2.0 * (p - t), "squared")
_half_squared = _fused.elementwise_jvp(
    lambda p, t: 0.5 * _squared_value(p, t), lambda p, t: p - t, "half_squared"
)
_absolute = _fused.elementwise_jvp(
    lambda p, t: jnp.abs(p - t), lambda p, t: jnp.sign(p - t), "absolute"
)


@_builtin(
    "absolute_error",
    aliases=("mae", "l1"),
    bounded=False,
    convex=True,
    twice_differentiable=False,
    reference="Laplace (1774); least absolute deviations, Bloomfield & Steiger (1983)",
    peers={"torch": "l1_loss", "keras": "MeanAbsoluteError"},
    **_REGRESSION,
)
def absolute_error(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
) -> Array:
    """Absolute error, ``|predictions - targets|``.

    With ``reduction="mean"`` this is the mean absolute error (MAE, L1 loss). The gradient at
    a zero residual is 0 (the subgradient ``sign(0) = 0``).

    Args:
      predictions: floating array ``[...]``.
      targets: array of the same shape.
      weights: optional weights broadcastable to ``[...]``.
      where: optional boolean mask broadcastable to ``[...]``.
      reduction: ``"none"``, ``"sum"`` or ``"mean"``.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> float(lossjax.absolute_error(jnp.array([1.0, -3.0]), jnp.array([0.0, 0.0])))
      2.0

    Reference:
      Bloomfield and Steiger, *Least Absolute Deviations* (1983).
    """
    return _core.elementwise(
        "absolute_error", _absolute, predictions, targets,
        weights=weights, where=where, reduction=reduction,
    )


def _safe_sqrt(x: Array) -> Array:
    """sqrt(x) for x >= 0, with gradient 0 (not inf) at x == 0."""
    pos = x > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, x, 1)), 0)


@_builtin(
    "root_mean_squared_error",
    aliases=("rmse",),
    bounded=False,
    convex=True,
    twice_differentiable=False,
    reference="Hyndman & Koehler, Another look at measures of forecast accuracy, IJF 22 (2006)",
    peers={"keras": "RootMeanSquaredError (metric)"},
    **_REGRESSION,
)
def root_mean_squared_error(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
) -> Array:
    """Root of the mean squared error, ``sqrt(sum(w * e**2) / sum(w))`` with ``e = p - t``.

    The root is taken *after* the reduction, so the reductions mean:

    * ``"mean"``: ``sqrt(sum(w * e**2) / sum(w))`` over kept positions (the RMSE);
    * ``"sum"``: ``sqrt(sum(w * e**2))`` (the weighted Euclidean norm of the residual);
    * ``"none"``: ``w * |e|`` per element: each element's own root squared error, in the
      units of the targets, which is what one histograms to find outliers. These do *not*
      average to the RMSE (the mean of roots is not the root of the mean).

    The gradient is finite (0) when every residual is 0.

    Args:
      predictions: floating array ``[...]``.
      targets: array of the same shape.
      weights: optional weights broadcastable to ``[...]``.
      where: optional boolean mask broadcastable to ``[...]``.
      reduction: ``"none"``, ``"sum"`` or ``"mean"`` (see above).

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
    name = "root_mean_squared_error"
    if reduction == "none":
        return _core.elementwise(
            name, _absolute, predictions, targets,
            weights=weights, where=where, reduction="none",
        )
    mse = _core.elementwise(
        name, _squared, predictions, targets, weights=weights, where=where, reduction=reduction,
    )
    return _safe_sqrt(mse)


@_builtin(
    "l2",
    bounded=False,
    convex=True,
    reference="optax.l2_loss: half the squared error, so that the gradient is the residual",
    peers={"optax": "l2_loss"},
    **_REGRESSION,
)
def l2(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
) -> Array:
    """Half squared error, ``0.5 * (predictions - targets)**2``.

    The factor 1/2 makes the gradient equal to the residual (as optax's ``l2_loss``).

    Args:
      predictions: floating array ``[...]``.
      targets: array of the same shape.
      weights: optional weights broadcastable to ``[...]``.
      where: optional boolean mask broadcastable to ``[...]``.
      reduction: ``"none"``, ``"sum"`` or ``"mean"``.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> float(lossjax.l2(jnp.array([2.0]), jnp.array([0.0])))
      2.0

    Reference:
      Bishop, *Pattern Recognition and Machine Learning* (2006), eq. 1.2.
    """
    return _core.elementwise(
        "l2", _half_squared, predictions, targets,
        weights=weights, where=where, reduction=reduction,
    )


def _huber_value(p: Array, t: Array, delta: Array) -> Array:
    a = jnp.abs(p - t)
    q = jnp.minimum(a, delta)
    return 0.5 * q * q + delta * (a - q)


# The derivative is the residual clipped to [-delta, delta].
_huber = _fused.elementwise_jvp(
    _huber_value, lambda p, t, delta: jnp.clip(p - t, -delta, delta), "huber"
)


@_builtin(
    "huber",
    bounded=False,
    convex=True,
    twice_differentiable=False,
    hyper={"delta": POSITIVE},
    reference="Huber, Robust Estimation of a Location Parameter, Ann. Math. Statist. 35 (1964)",
    peers={"optax": "huber_loss", "torch": "huber_loss", "keras": "Huber"},
    **_REGRESSION,
)
def huber(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    delta: float | ArrayLike = 1.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
) -> Array:
    """Huber loss: quadratic near zero, linear in the tails.

    ``0.5 * e**2`` if ``|e| <= delta``, else ``delta * (|e| - 0.5 * delta)``, with
    ``e = predictions - targets``. Its gradient is the residual clipped to ``[-delta, delta]``.
    ``huber(delta=d) == d * smooth_l1(beta=d)``.

    Args:
      predictions: floating array ``[...]``.
      targets: array of the same shape.
      delta: positive threshold between the quadratic and the linear part.
      weights: optional weights broadcastable to ``[...]``.
      where: optional boolean mask broadcastable to ``[...]``.
      reduction: ``"none"``, ``"sum"`` or ``"mean"``.

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
    return _core.elementwise(
        "huber", lambda p, t: _huber(p, t, jnp.asarray(delta, p.dtype)),
        predictions, targets,
        weights=weights, where=where, reduction=reduction,
    )


def _hypot1(r: Array) -> Array:
    """``sqrt(1 + r**2)`` without overflow: ``m * sqrt((1/m)**2 + (r/m)**2)``, ``m = max(1, |r|)``.

    Written with ``max`` and arithmetic only (no ``select``), so it fuses into a reduction.
    """
    m = jnp.maximum(jnp.abs(r), 1.0)
    inv = 1.0 / m
    rm = r * inv
    return m * jnp.sqrt(inv * inv + rm * rm)


def _pseudo_huber_value(p: Array, t: Array, delta: Array) -> Array:
    # delta**2 * (sqrt(1 + (e/delta)**2) - 1) == e**2 / (1 + sqrt(1 + (e/delta)**2)):
    # the right side has no cancellation for small |e|, and e * (e / (1 + h)) no overflow
    # for large |e| (_hypot1 does not square e / delta).
    e = p - t
    h = _hypot1(e / delta)
    return e * (e / (1.0 + h))


def _pseudo_huber_slope(p: Array, t: Array, delta: Array) -> Array:
    # d/de = e / sqrt(1 + (e/delta)**2) = delta * r / sqrt(1 + r**2) with r = e / delta:
    # about e near 0, delta * sign(e) in the tails, never an overflow.
    r = (p - t) / delta
    return delta * (r / _hypot1(r))


_pseudo_huber = _fused.elementwise_jvp(_pseudo_huber_value, _pseudo_huber_slope, "pseudo_huber")


@_builtin(
    "pseudo_huber",
    bounded=False,
    convex=True,
    hyper={"delta": POSITIVE},
    reference="Charbonnier et al., Two deterministic half-quadratic regularization algorithms "
    "for computed imaging, ICIP (1994); Hartley & Zisserman (2003), A6.8",
    **_REGRESSION,
)
def pseudo_huber(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    delta: float | ArrayLike = 1.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
) -> Array:
    """Pseudo-Huber (Charbonnier) loss, a smooth Huber.

    ``delta**2 * (sqrt(1 + (e / delta)**2) - 1)`` with ``e = predictions - targets``:
    about ``e**2 / 2`` for small ``|e|`` and ``delta * |e|`` for large. It is computed as
    ``e**2 / (1 + sqrt(1 + (e/delta)**2))``, exact for small residuals and free of overflow
    for large ones. Infinitely differentiable.

    Args:
      predictions: floating array ``[...]``.
      targets: array of the same shape.
      delta: positive scale.
      weights: optional weights broadcastable to ``[...]``.
      where: optional boolean mask broadcastable to ``[...]``.
      reduction: ``"none"``, ``"sum"`` or ``"mean"``.

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
    return _core.elementwise(
        "pseudo_huber", lambda p, t: _pseudo_huber(p, t, jnp.asarray(delta, p.dtype)),
        predictions, targets,
        weights=weights, where=where, reduction=reduction,
    )


_LOG2 = math.log(2.0)


def _log_cosh_value(p: Array, t: Array) -> Array:
    # log(cosh(e)) = |e| + log1p(exp(-2|e|)) - log 2: no overflow of cosh for large |e|.
    a = jnp.abs(p - t)
    return a + jnp.log1p(jnp.exp(-2.0 * a)) - _LOG2


# d/de log cosh e = tanh e; written out (a fused kernel) so that the Hessian (1 - tanh**2) is
# right at 0 too, where autodiff through |e| would give 0.
_log_cosh = _fused.elementwise_jvp(_log_cosh_value, lambda p, t: jnp.tanh(p - t), "log_cosh")


@_builtin(
    "log_cosh",
    bounded=False,
    convex=True,
    reference="Neuneier & Zimmermann, How to Train Neural Networks, Neural Networks: Tricks of "
    "the Trade (1998); Chen et al., Log Hyperbolic Cosine Loss, arXiv:2208.04564",
    peers={"optax": "log_cosh", "keras": "LogCosh"},
    **_REGRESSION,
)
def log_cosh(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
) -> Array:
    """Log-cosh loss, ``log(cosh(predictions - targets))``.

    About ``e**2 / 2`` for small residuals and ``|e| - log 2`` for large ones. Computed as
    ``|e| + log1p(exp(-2|e|)) - log 2`` so that ``cosh`` never overflows; the derivative is
    ``tanh(e)`` (a custom JVP), so ``jax.hessian`` is exact at ``e = 0`` too.

    Args:
      predictions: floating array ``[...]``.
      targets: array of the same shape.
      weights: optional weights broadcastable to ``[...]``.
      where: optional boolean mask broadcastable to ``[...]``.
      reduction: ``"none"``, ``"sum"`` or ``"mean"``.

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
    return _core.elementwise(
        "log_cosh", _log_cosh, predictions, targets,
        weights=weights, where=where, reduction=reduction,
    )
