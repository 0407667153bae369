"""Multiclass and multilabel classification losses over a class axis.

Every loss here is per-example over a class axis, with integer-label or probability targets,
``ignore_index``, ``class_weights`` and label smoothing as the classification contract
(:mod:`lossjax._classes`) defines them. The family is a package of small modules:

* :mod:`~lossjax.multiclass.cross_entropy`: softmax cross-entropy, NLL, categorical
  cross-entropy, Brier, Poly-1 (the label kernel in :mod:`~lossjax.multiclass._kernel`);
* :mod:`~lossjax.multiclass.robust`: focal, generalized, symmetric and bi-tempered
  cross-entropies (the tempered softmax in :mod:`~lossjax.multiclass._tempered`);
* :mod:`~lossjax.multiclass.sparse`: sparsemax and :func:`make_fenchel_young_loss`;
* :mod:`~lossjax.multiclass.margin`: the multiclass hinges, perceptron and multilabel margins.

Registry metadata the modules share is in :mod:`~lossjax.multiclass._meta`.
"""

from lossjax.multiclass.cross_entropy import (
    brier,
    categorical_cross_entropy,
    clamped_log,
    nll,
    poly1_cross_entropy,
    softmax_cross_entropy,
)
from lossjax.multiclass.margin import (
    categorical_hinge,
    multi_margin,
    multiclass_hinge,
    multiclass_perceptron,
    multilabel_margin,
    multilabel_soft_margin,
)
from lossjax.multiclass.robust import (
    bi_tempered_logistic,
    generalized_cross_entropy,
    softmax_focal,
    symmetric_cross_entropy,
)
from lossjax.multiclass.sparse import make_fenchel_young_loss, sparsemax, sparsemax_probabilities

__all__ = [
    "bi_tempered_logistic",
    "brier",
    "categorical_cross_entropy",
    "categorical_hinge",
    "clamped_log",
    "generalized_cross_entropy",
    "make_fenchel_young_loss",
    "multi_margin",
    "multiclass_hinge",
    "multiclass_perceptron",
    "multilabel_margin",
    "multilabel_soft_margin",
    "nll",
    "poly1_cross_entropy",
    "softmax_cross_entropy",
    "softmax_focal",
    "sparsemax",
    "sparsemax_probabilities",
    "symmetric_cross_entropy",
]
