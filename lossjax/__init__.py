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
    hinge,
    sigmoid_focal,
    squared_hinge,
)
from lossjax.boxes import ciou, diou, giou, iou
from lossjax.checking import checked
from lossjax.divergence import kl_divergence
from lossjax.linear_ce import linear_cross_entropy, linear_cross_entropy_with_lse
from lossjax.metric_learning import (
    circle,
    contrastive,
    cosine_embedding,
    hinge_embedding,
    margin_ranking,
    ntxent,
    supervised_contrastive,
    triplet_margin,
)
from lossjax.metrics import accuracy, chance_cross_entropy, zero_one
from lossjax.multiclass import (
    categorical_cross_entropy,
    multiclass_hinge,
    nll,
    softmax_cross_entropy,
)
from lossjax.ranking import pairwise_hinge, pairwise_logistic, ranking_softmax
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
    huber,
    l2,
    log_cosh,
    pseudo_huber,
    root_mean_squared_error,
    squared_error,
)
from lossjax.segmentation import (
    dice,
    focal_tversky,
    jaccard,
    lovasz_hinge,
    lovasz_softmax,
    tversky,
)
from lossjax.sequence import ctc

__version__ = "0.1.0"

__all__ = [
    "LossSpec",
    "absolute_error",
    "accuracy",
    "aliases",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "categorical_cross_entropy",
    "chance_cross_entropy",
    "checked",
    "ciou",
    "circle",
    "contrastive",
    "cosine_embedding",
    "ctc",
    "diagnostics",
    "dice",
    "diou",
    "focal_tversky",
    "get",
    "giou",
    "hinge",
    "hinge_embedding",
    "huber",
    "iou",
    "jaccard",
    "kl_divergence",
    "l2",
    "linear_cross_entropy",
    "linear_cross_entropy_with_lse",
    "log_cosh",
    "lovasz_hinge",
    "lovasz_softmax",
    "margin_ranking",
    "multiclass_hinge",
    "names",
    "nll",
    "ntxent",
    "pairwise_hinge",
    "pairwise_logistic",
    "pseudo_huber",
    "ranking_softmax",
    "register",
    "register_elementwise",
    "register_per_example",
    "root_mean_squared_error",
    "sigmoid_focal",
    "softmax_cross_entropy",
    "spec",
    "squared_error",
    "squared_hinge",
    "supervised_contrastive",
    "triplet_margin",
    "tversky",
    "unregister",
    "zero_one",
]
