"""Regression losses: a prediction against a real-valued target.

* :mod:`~lossjax.regression.errors`: squared, absolute, Huber and relatives, quantile,
  percentage and logarithmic errors, cosine distance;
* :mod:`~lossjax.regression.likelihood`: Poisson and Gaussian negative log-likelihoods, the
  Tweedie, Poisson and gamma deviances.

Every loss here is per-element (``reduction="none"`` keeps the predictions' shape), except
:func:`cosine_distance`, one loss per vector along ``axis``.
"""

from lossjax.regression.errors import (
    absolute_error,
    cosine_distance,
    huber,
    l2,
    log_cosh,
    mean_absolute_percentage_error,
    mean_squared_logarithmic_error,
    pseudo_huber,
    quantile,
    root_mean_squared_error,
    smooth_l1,
    squared_error,
)
from lossjax.regression.likelihood import (
    gamma_deviance,
    gaussian_nll,
    poisson_deviance,
    poisson_nll,
    tweedie,
)

__all__ = [
    "absolute_error",
    "cosine_distance",
    "gamma_deviance",
    "gaussian_nll",
    "huber",
    "l2",
    "log_cosh",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "poisson_deviance",
    "poisson_nll",
    "pseudo_huber",
    "quantile",
    "root_mean_squared_error",
    "smooth_l1",
    "squared_error",
    "tweedie",
]
