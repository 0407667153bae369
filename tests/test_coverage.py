"""lossjax holds the union of the well-known libraries' losses (issue 5).

Every loss of the lists below must be named as a peer of some registered lossjax loss
(`LossSpec.peers`, several names separated by " / ", an optional remark in parentheses). The
lists were taken on 2026-11-23 from: `dir(optax.losses)` of optax 0.2.8; the loss functions of
`torch.nn.functional` in torch 2.13.0 (none of them is deprecated as a function; only the
`size_average`/`reduce` arguments are); torchvision.ops' box and focal losses; the loss
classes of `keras.losses` in Keras 3 (keras.io/api/losses).
"""

from __future__ import annotations

import re

import pytest

import lossjax

OPTAX = [
    "binary_dice_loss", "convex_kl_divergence", "cosine_distance", "cosine_similarity",
    "ctc_loss", "ctc_loss_with_forward_probs", "dice_loss", "generalized_kl_divergence",
    "hinge_loss", "huber_loss", "kl_divergence", "kl_divergence_with_log_targets", "l2_loss",
    "log_cosh", "make_fenchel_young_loss", "multiclass_generalized_dice_loss",
    "multiclass_hinge_loss", "multiclass_perceptron_loss", "multiclass_sparsemax_loss",
    "ntxent", "perceptron_loss", "poly_loss_cross_entropy", "ranking_softmax_loss",
    "safe_softmax_cross_entropy", "sigmoid_binary_cross_entropy", "sigmoid_focal_loss",
    "smooth_labels", "softmax_cross_entropy", "softmax_cross_entropy_with_integer_labels",
    "sparsemax_loss", "squared_error", "triplet_margin_loss",
]
TORCH = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cosine_embedding_loss",
    "cross_entropy", "ctc_loss", "gaussian_nll_loss", "hinge_embedding_loss", "huber_loss",
    "kl_div", "l1_loss", "margin_ranking_loss", "mse_loss", "multi_margin_loss",
    "multilabel_margin_loss", "multilabel_soft_margin_loss", "nll_loss", "poisson_nll_loss",
    "smooth_l1_loss", "soft_margin_loss", "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]
TORCHVISION = [
    "ops.generalized_box_iou_loss", "ops.distance_box_iou_loss", "ops.complete_box_iou_loss",
    "ops.sigmoid_focal_loss",
]
KERAS = [
    "BinaryCrossentropy", "BinaryFocalCrossentropy", "CTC", "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy", "CategoricalGeneralizedCrossEntropy", "CategoricalHinge",
    "Circle", "CosineSimilarity", "Dice", "Hinge", "Huber", "KLDivergence", "LogCosh",
    "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredError",
    "MeanSquaredLogarithmicError", "Poisson", "SparseCategoricalCrossentropy", "SquaredHinge",
    "Tversky",
]

# The lists of issue 5 beyond the peers (canonical names, aliases in the second column).
ZOO = {
    "poly1_cross_entropy": [], "softmax_focal": [], "generalized_cross_entropy": [],
    "symmetric_cross_entropy": [], "bi_tempered_logistic": [], "multilabel_soft_margin": [],
    "multi_margin": [], "categorical_hinge": [], "perceptron": [], "multiclass_perceptron": [],
    "quantile": ["pinball"], "poisson_nll": [], "gaussian_nll": [],
    "mean_absolute_percentage_error": ["mape"], "mean_squared_logarithmic_error": ["msle"],
    "smooth_l1": [], "cosine_distance": [], "tweedie": [],
    "js_divergence": [], "generalized_kl_divergence": [], "total_variation": [],
    "dice": [], "tversky": [], "focal_tversky": [], "jaccard": [], "lovasz_hinge": [],
    "lovasz_softmax": [],
    "contrastive": [], "triplet_margin": [], "ntxent": ["info_nce"],
    "supervised_contrastive": [], "margin_ranking": [], "cosine_embedding": [],
    "hinge_embedding": [],
    "ranking_softmax": [], "ctc": [],
}


def _peer_names(library: str) -> set[str]:
    out = set()
    for name in lossjax.names():
        entry = lossjax.spec(name).peers.get(library)
        if not entry:
            continue
        for part in entry.split(" / "):
            out.add(re.sub(r"\s*\(.*\)$", "", part).strip())
    return out


@pytest.mark.parametrize("library,wanted", [
    ("optax", OPTAX), ("torch", TORCH), ("torchvision", TORCHVISION), ("keras", KERAS),
])
def test_every_peer_loss_has_a_lossjax_counterpart(library, wanted):
    missing = sorted(set(wanted) - _peer_names(library))
    assert not missing, f"{library} losses without a lossjax counterpart: {missing}"


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_names_resolve(name):
    fn = lossjax.get(name)
    assert lossjax.spec(name).builtin
    for alias in ZOO[name]:
        assert lossjax.get(alias) is fn


def test_pairwise_ranking_losses_exist():
    ranking = lossjax.names(task="ranking")
    assert any("pairwise" in n and "hinge" in n for n in ranking), ranking
    assert any("pairwise" in n and "logistic" in n for n in ranking), ranking
    assert any("sparsemax" in n for n in lossjax.names()), "binary and multiclass sparsemax"
