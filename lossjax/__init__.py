"""lossjax: differentiable loss functions for JAX under one contract.

Every loss is a pure function ``fn(predictions, targets, *, <hyperparameters>, weights=None,
where=None, reduction="mean")`` (classification losses also take ``axis``) that composes with
``jit``, ``vmap`` and ``grad``. See the README for the contract and the table of losses, and
:mod:`lossjax.registry` for the registry.
"""

from lossjax import diagnostics
from lossjax.binary import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    binary_sparsemax,
    exponential,
    hinge,
    modified_huber,
    perceptron,
    sigmoid_focal,
    soft_margin,
    squared_hinge,
)
from lossjax.boxes import ciou, diou, giou, iou
from lossjax.checking import checked
from lossjax.divergence import kl_divergence
from lossjax.linear_ce import linear_cross_entropy, linear_cross_entropy_with_lse
from lossjax.metrics import accuracy, chance_cross_entropy, zero_one
from lossjax.multiclass import (
    categorical_cross_entropy,
    multiclass_hinge,
    nll,
    softmax_cross_entropy,
)
from lossjax.registry import (
    LossSpec,
    aliases,
    get,
    names,
    register,
    register_elementwise,
    register_per_example,
    spec,
    unregister,
)
from lossjax.regression import (
    absolute_error,
    cosine_distance,
    gaussian_nll,
    huber,
    l2,
    log_cosh,
    mean_absolute_percentage_error,
    mean_squared_logarithmic_error,
    poisson_nll,
    pseudo_huber,
    quantile,
    root_mean_squared_error,
    smooth_l1,
    squared_error,
    tweedie,
)

__version__ = "0.1.0"

__all__ = [
    "LossSpec",
    "absolute_error",
    "accuracy",
    "aliases",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "binary_sparsemax",
    "categorical_cross_entropy",
    "chance_cross_entropy",
    "checked",
    "ciou",
    "cosine_distance",
    "diagnostics",
    "diou",
    "exponential",
    "gaussian_nll",
    "get",
    "giou",
    "hinge",
    "huber",
    "iou",
    "kl_divergence",
    "l2",
    "linear_cross_entropy",
    "linear_cross_entropy_with_lse",
    "log_cosh",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "modified_huber",
    "multiclass_hinge",
    "names",
    "nll",
    "perceptron",
    "poisson_nll",
    "pseudo_huber",
    "quantile",
    "register",
    "register_elementwise",
    "register_per_example",
    "root_mean_squared_error",
    "sigmoid_focal",
    "smooth_l1",
    "soft_margin",
    "softmax_cross_entropy",
    "spec",
    "squared_error",
    "squared_hinge",
    "tweedie",
    "unregister",
    "zero_one",
]
