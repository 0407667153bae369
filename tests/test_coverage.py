"""lossjax holds the union of the well-known libraries' losses.

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

# Losses beyond the peers' lists (canonical names, aliases in the second column).
BEYOND_PEERS = {
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


@pytest.mark.parametrize("name", sorted(BEYOND_PEERS))
def test_losses_beyond_the_peers_resolve(name):
    fn = lossjax.get(name)
    assert lossjax.spec(name).builtin
    for alias in BEYOND_PEERS[name]:
        assert lossjax.get(alias) is fn


def test_pairwise_ranking_losses_exist():
    ranking = lossjax.names(task="ranking")
    assert any("pairwise" in n and "hinge" in n for n in ranking), ranking
    assert any("pairwise" in n and "logistic" in n for n in ranking), ranking
    assert any("sparsemax" in n for n in lossjax.names()), "binary and multiclass sparsemax"


# --------------------------------------------------------------------------------------------
# Every optax peer entry is checked against optax itself.
#
# For each loss with an `optax` peer entry and each name in it, OPTAX_CHECKS maps
# (loss, optax name) to a function of the loss's own sampled inputs (its registry `sample`,
# float64) that returns (lossjax value, optax value): the mapping of argument conventions is
# written there, one line each. optax 0.2.8 is a run-time dependency and is called here, so
# the numbers come from the peer. A peer name that cannot be compared by a call is listed in
# OPTAX_DIFFERENCES with the reason, and its registry entry must state the difference in
# parentheses. A new optax peer entry in neither table fails `test_every_optax_peer_is_checked`.

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

OL = optax.losses
F64 = jnp.float64


def _none(name, *args, **kw):
    return lossjax.get(name)(*args, **kw, reduction="none")


def _onehot(labels, k):
    return jax.nn.one_hot(labels, k, dtype=F64)


def _ctc_paddings(x, y, xl, yl):
    # lossjax takes lengths; optax takes paddings (1.0 past the length)
    return ((jnp.arange(x.shape[-2]) >= xl[..., None]).astype(F64),
            (jnp.arange(y.shape[-1]) >= yl[..., None]).astype(F64))


def _ctc(optax_fn):
    def check(args, kw):
        x, y, xl, yl = args
        xp, yp = _ctc_paddings(x, y, xl, yl)
        theirs = optax_fn(x, xp, y, yp)
        return _none("ctc", *args), theirs[0] if isinstance(theirs, tuple) else theirs
    return check


def _labelled(y):
    # optax has no ignore_index: the sample's ignored pixels (-100) get label 0, for both
    return jnp.where(y < 0, 0, y)


def _dice_multiclass(args, kw):
    # optax.dice_loss(smooth=s) is (TP + s) / (TP + (FP + FN) / 2 + s), lossjax's dice with
    # smooth = 2 s; optax's reduction="mean" is the mean over classes, per image
    x, y = args[0], _labelled(args[1])
    k = x.shape[-1]
    return (_none("dice", x, y, mode="multiclass", smooth=1.0),
            OL.dice_loss(x, _onehot(y, k), smooth=0.5, reduction="mean"))


def _dice_binary(args, kw):
    # binary: the first class's channel against "label == 0" (optax applies the sigmoid)
    x, y = args[0], _labelled(args[1])
    xb, tb = x[..., 0], (y == 0).astype(F64)
    return _none("dice", xb, tb, smooth=2.0), OL.binary_dice_loss(xb, tb, smooth=1.0)


def _tversky(args, kw):
    # binary tversky on logits = optax.dice_loss on a single class axis of length 1 (optax
    # then applies the sigmoid), same alpha (false positives), beta and smooth
    x, t = args
    return (_none("tversky", x, t, **kw, smooth=1.0),
            OL.dice_loss(x[..., None], t[..., None], smooth=1.0, alpha=kw["alpha"],
                         beta=kw["beta"]))


def _ntxent(args, kw):
    # lossjax takes sets [..., N, D]; optax one set [N, D]: one optax call per set
    x, y = args
    return (_none("ntxent", x, y, temperature=0.07),
            jnp.stack([OL.ntxent(x[i], y[i], temperature=0.07) for i in range(x.shape[0])]))


OPTAX_CHECKS = {
    ("binary_cross_entropy_with_logits", "sigmoid_binary_cross_entropy"):
        lambda a, kw: (_none("binary_cross_entropy_with_logits", *a),
                       OL.sigmoid_binary_cross_entropy(*a)),
    ("binary_sparsemax", "sparsemax_loss"):
        lambda a, kw: (_none("binary_sparsemax", *a), OL.sparsemax_loss(*a)),
    ("cosine_distance", "cosine_distance"):
        lambda a, kw: (_none("cosine_distance", *a), OL.cosine_distance(*a)),
    ("cosine_distance", "cosine_similarity"):  # "(1 - it)"
        lambda a, kw: (1.0 - _none("cosine_distance", *a), OL.cosine_similarity(*a)),
    ("ctc", "ctc_loss"): _ctc(OL.ctc_loss),
    ("ctc", "ctc_loss_with_forward_probs"): _ctc(OL.ctc_loss_with_forward_probs),  # [0]: loss
    ("dice", "dice_loss"): _dice_multiclass,
    ("dice", "binary_dice_loss"): _dice_binary,
    ("generalized_kl_divergence", "generalized_kl_divergence"):
        lambda a, kw: (_none("generalized_kl_divergence", *a), OL.generalized_kl_divergence(*a)),
    ("generalized_kl_divergence", "convex_kl_divergence"):
        lambda a, kw: (_none("generalized_kl_divergence", *a), OL.convex_kl_divergence(*a)),
    ("hinge", "hinge_loss"): lambda a, kw: (_none("hinge", *a), OL.hinge_loss(*a)),
    ("huber", "huber_loss"):
        lambda a, kw: (_none("huber", *a, delta=1.5), OL.huber_loss(*a, delta=1.5)),
    ("kl_divergence", "kl_divergence"):
        lambda a, kw: (_none("kl_divergence", *a), OL.kl_divergence(*a)),
    ("kl_divergence", "kl_divergence_with_log_targets"):  # lossjax: log_targets=True
        lambda a, kw: (_none("kl_divergence", a[0], jnp.log(a[1]), log_targets=True),
                       OL.kl_divergence_with_log_targets(a[0], jnp.log(a[1]))),
    ("l2", "l2_loss"): lambda a, kw: (_none("l2", *a), OL.l2_loss(*a)),
    ("log_cosh", "log_cosh"): lambda a, kw: (_none("log_cosh", *a), OL.log_cosh(*a)),
    ("multiclass_hinge", "multiclass_hinge_loss"):
        lambda a, kw: (_none("multiclass_hinge", *a), OL.multiclass_hinge_loss(*a)),
    ("multiclass_perceptron", "multiclass_perceptron_loss"):
        lambda a, kw: (_none("multiclass_perceptron", *a), OL.multiclass_perceptron_loss(*a)),
    ("ntxent", "ntxent"): _ntxent,
    ("perceptron", "perceptron_loss"):
        lambda a, kw: (_none("perceptron", *a), OL.perceptron_loss(*a)),
    ("poly1_cross_entropy", "poly_loss_cross_entropy"):  # optax takes one-hot targets
        lambda a, kw: (_none("poly1_cross_entropy", *a, epsilon=1.5),
                       OL.poly_loss_cross_entropy(a[0], _onehot(a[1], a[0].shape[-1]),
                                                  epsilon=1.5)),
    ("ranking_softmax", "ranking_softmax_loss"):  # lossjax's third argument is optax's where
        lambda a, kw: (_none("ranking_softmax", *a),
                       OL.ranking_softmax_loss(a[0], a[1], where=a[2], reduce_fn=None)),
    ("sigmoid_focal", "sigmoid_focal_loss"):
        lambda a, kw: (_none("sigmoid_focal", *a, gamma=1.5, alpha=0.25),
                       OL.sigmoid_focal_loss(*a, gamma=1.5, alpha=0.25)),
    ("softmax_cross_entropy", "softmax_cross_entropy"):
        lambda a, kw: (_none("softmax_cross_entropy", *a),
                       OL.softmax_cross_entropy(a[0], _onehot(a[1], a[0].shape[-1]))),
    ("softmax_cross_entropy", "softmax_cross_entropy_with_integer_labels"):
        lambda a, kw: (_none("softmax_cross_entropy", *a),
                       OL.softmax_cross_entropy_with_integer_labels(*a)),
    ("softmax_cross_entropy", "safe_softmax_cross_entropy"):
        lambda a, kw: (_none("softmax_cross_entropy", *a),
                       OL.safe_softmax_cross_entropy(a[0], _onehot(a[1], a[0].shape[-1]))),
    ("softmax_cross_entropy", "smooth_labels"):  # "(as label_smoothing)"
        lambda a, kw: (_none("softmax_cross_entropy", *a, label_smoothing=0.2),
                       OL.softmax_cross_entropy(
                           a[0], optax.smooth_labels(_onehot(a[1], a[0].shape[-1]), 0.2))),
    ("sparsemax", "multiclass_sparsemax_loss"):
        lambda a, kw: (_none("sparsemax", *a), OL.multiclass_sparsemax_loss(*a)),
    ("sparsemax", "make_fenchel_young_loss"):  # the remark: softmax CE from logsumexp
        lambda a, kw: (_none("softmax_cross_entropy", *a),
                       OL.make_fenchel_young_loss(jax.nn.logsumexp)(
                           a[0], _onehot(a[1], a[0].shape[-1]))),
    ("squared_error", "squared_error"):
        lambda a, kw: (_none("squared_error", *a), OL.squared_error(*a)),
    ("triplet_margin", "triplet_margin_loss"):  # lossjax p = optax norm_degree (even: see
        # test_metric_learning, optax does not take |.|); eps 0 in both
        lambda a, kw: (_none("triplet_margin", *a, p=2.0, margin=0.7, eps=0.0),
                       OL.triplet_margin_loss(*a, norm_degree=2.0, margin=0.7, eps=0.0)),
    ("tversky", "dice_loss"): _tversky,
}

# (loss, optax name) -> why it is not compared by a call; the registry entry states it.
OPTAX_DIFFERENCES: dict[tuple[str, str], str] = {
    # optax <= 0.2.x defined `binary_sparsemax_loss(logits, labels)` as
    # `sparsemax_loss(logits, labels)` with a deprecation warning; 0.2.8 has no such name, so
    # the check is the one of ("binary_sparsemax", "sparsemax_loss").
    ("binary_sparsemax", "binary_sparsemax_loss"): "removed alias of sparsemax_loss",
    # optax 0.2.8: mean over classes of dice_loss with class_weights 1 / (sum_batch T_c**2)
    # normalized to mean 1 (one number for the batch); lossjax's class_weighting="generalized"
    # is Sudre et al.'s 1 - 2 sum_c w_c TP_c / sum_c w_c (P_c + T_c). Different losses: on
    # this sample 0.2204 (lossjax, per_image=False) and 0.5755 (optax).
    ("dice", "multiclass_generalized_dice_loss"): "a different weighting of the Dice losses",
}


def _entries(library: str) -> list[tuple[str, str, str]]:
    """(loss, peer name, the part of the entry it came from) for every peer name."""
    out = []
    for name in lossjax.names():
        entry = lossjax.spec(name).peers.get(library)
        for part in (entry.split(" / ") if entry else []):
            out.append((name, re.sub(r"\s*\(.*\)$", "", part).strip(), part))
    return out


def test_every_optax_peer_is_checked():
    pairs = {(n, p) for n, p, _ in _entries("optax")}
    unchecked = sorted(pairs - set(OPTAX_CHECKS) - set(OPTAX_DIFFERENCES))
    assert not unchecked, f"optax peer entries without a check or a stated difference: {unchecked}"
    stale = sorted((set(OPTAX_CHECKS) | set(OPTAX_DIFFERENCES)) - pairs)
    assert not stale, f"checks for optax peers the registry no longer names: {stale}"
    for n, p, part in _entries("optax"):
        if (n, p) in OPTAX_DIFFERENCES:
            assert "(" in part, f"{n}: the optax entry {part!r} must state its difference"


@pytest.mark.parametrize("loss,peer", sorted(OPTAX_CHECKS))
def test_optax_peer_gives_the_same_value(loss, peer):
    with jax.enable_x64(True):
        args, kw = lossjax.spec(loss).sample(jax.random.key(11), (3,), F64)
        # both calls in one compiled program: optax's functions are not jitted, and run op
        # by op they compile each primitive alone (kw: the sample's static hyperparameters)
        ours, theirs = jax.jit(lambda args: OPTAX_CHECKS[(loss, peer)](args, kw))(args)
        assert np.shape(ours) == np.shape(theirs), (np.shape(ours), np.shape(theirs))
        assert np.isfinite(np.asarray(ours)).all()
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-10, atol=1e-12)
