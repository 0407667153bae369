"""Multiclass losses (lossjax.multiclass): peers' numbers, identities, limits and errors.

These are the family's own checks; the registry-driven battery (test_contract.py and the other
batteries) tests every registered loss. Peer numbers are stored, not computed (torch is not a
dependency of the tests): each block names the library, its version and the call that produced
it — PyTorch 2.13.0 (CPU, float64, run on 2026-11-23). optax, a run-time dependency, is called
in the tests. Keras 3 cannot be installed here; its losses are checked against the formulas of
the Keras documentation, written out in the tests.

Per-unit float64 references: ``references_multiclass.py``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import references_multiclass as refs
from checks import (
    F64,
    LOGITS,
    a64,
    assert_domain_error,
    assert_matches_reference,
    close10,
    close12,
    grad_sum,
    random_logits,
)
from jax.experimental import checkify
from jax.test_util import check_grads

import lossjax

# Labels of the five rows of LOGITS; the fourth is ignored (-100).
LABELS = jnp.array([0, 2, 1, -100, 3])
CLASS_WEIGHTS = jnp.array([1.0, 2.0, 0.5, 3.0], jnp.float64)


# The labels of random_logits(): four examples, five classes.
LABELS_K5 = jnp.array([0, 3, 4, 1])


# -------------------------------------------------------- PyTorch 2.13.0: cross-entropy


def test_cross_entropy_class_weights_and_ignore_index_match_pytorch():
    # PyTorch 2.13.0: F.cross_entropy(logits, labels, weight=cw, ignore_index=-100,
    # reduction=...) on the float64 LOGITS/LABELS/CLASS_WEIGHTS above
    ce = lossjax.softmax_cross_entropy
    close12(ce(LOGITS, LABELS, class_weights=CLASS_WEIGHTS), 0.7359924239754378)
    close12(ce(LOGITS, LABELS, class_weights=CLASS_WEIGHTS, reduction="sum"), 4.783950755840346)
    close12(ce(LOGITS, LABELS, class_weights=CLASS_WEIGHTS, reduction="none"),
            [0.342349582389822, 0.05781089745335922, 0.2249071926374932, 0.0,
           4.1588830833596715])
    # F.nll_loss(F.log_softmax(logits, -1), labels, weight=cw): the same number
    close12(lossjax.nll(jax.nn.log_softmax(LOGITS), LABELS, class_weights=CLASS_WEIGHTS),
            0.7359924239754378)


def test_cross_entropy_label_smoothing_matches_pytorch_and_optax():
    # PyTorch 2.13.0: F.cross_entropy(logits, labels, ignore_index=-100, label_smoothing=0.2)
    ce = lossjax.softmax_cross_entropy
    close12(ce(LOGITS, LABELS, label_smoothing=0.2), 0.8416798336837944)
    close12(ce(LOGITS, LABELS, label_smoothing=0.2, reduction="none"),
            [0.6673495823898221, 0.6506217949067185, 0.6624535963187467, 0.0,
           1.3862943611198906])
    # optax: smooth_labels + softmax_cross_entropy on the kept rows
    kept = np.asarray(LABELS) >= 0
    onehot = jax.nn.one_hot(LABELS[kept], 4, dtype=jnp.float64)
    want = optax.softmax_cross_entropy(LOGITS[kept], optax.smooth_labels(onehot, 0.2))
    close12(ce(LOGITS[kept], LABELS[kept], label_smoothing=0.2, reduction="none"), want)


def test_cross_entropy_smoothing_with_class_weights_matches_pytorch():
    # PyTorch 2.13.0: F.cross_entropy(logits, labels, weight=cw, label_smoothing=0.2) on the
    # float64 LOGITS/LABELS/CLASS_WEIGHTS above gives 1.0577837520709554: each class's
    # smoothing term is weighted by its own class weight, the mean divides by sum(w_y).
    # (Weighting the whole smoothed loss by w_y instead would give 0.99.)
    ce = lossjax.softmax_cross_entropy
    got = ce(LOGITS, LABELS, label_smoothing=0.2, class_weights=CLASS_WEIGHTS)
    close12(got, 1.0577837520709554, rtol=1e-14)
    # the fused linear cross-entropy (identity weight: its logits are LOGITS), mean and sum
    lce = functools.partial(lossjax.linear_cross_entropy, label_smoothing=0.2,
                            class_weights=CLASS_WEIGHTS)
    close12(lce(LOGITS, jnp.eye(4, dtype=jnp.float64), LABELS), 1.0577837520709554, rtol=1e-14)
    close12(lce(LOGITS, jnp.eye(4, dtype=jnp.float64), LABELS, reduction="none"),
            ce(LOGITS, LABELS, label_smoothing=0.2, class_weights=CLASS_WEIGHTS, reduction="none"))
    # The README's example: torch.nn.functional.cross_entropy gives 0.4230 (stored to 4
    # digits); the formula in float64 NumPy gives 0.42297159327562.
    x = jnp.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]], jnp.float64)
    y, cw = jnp.array([0, 2]), jnp.array([1.0, 2.0, 1.0], jnp.float64)
    lp = np.asarray(jax.nn.log_softmax(x))
    per = [0.9 * cw[t] * -lp[i, t] + 0.1 / 3 * -(np.asarray(cw) * lp[i]).sum()
           for i, t in enumerate([0, 2])]
    close12(ce(x, y, label_smoothing=0.1, class_weights=cw, reduction="none"), per)
    close12(ce(x, y, label_smoothing=0.1, class_weights=cw), sum(per) / 2.0)
    assert round(float(ce(x, y, label_smoothing=0.1, class_weights=cw)), 4) == 0.4230
    # Every cross-entropy with label_smoothing and class_weights has the same definition, for
    # labels and for one-hot targets.
    kept = np.asarray(LABELS) >= 0
    onehot = jax.nn.one_hot(LABELS[kept], 4, dtype=jnp.float64)
    kw = dict(label_smoothing=0.2, class_weights=CLASS_WEIGHTS)
    want = ce(LOGITS[kept], LABELS[kept], **kw)
    for fn, pred in [
        (ce, LOGITS[kept]),
        (lossjax.nll, jax.nn.log_softmax(LOGITS[kept])),
        (lossjax.categorical_cross_entropy, jax.nn.softmax(LOGITS[kept])),
        (functools.partial(lossjax.poly1_cross_entropy, epsilon=0.0), LOGITS[kept]),
    ]:
        close12(fn(pred, LABELS[kept], **kw), want)
        close12(fn(pred, onehot, **kw), want)
        close12(fn(pred, onehot, **kw, reduction="sum"), fn(pred, LABELS[kept], **kw,
                                                              reduction="sum"))


def test_smoothing_with_a_zero_class_weight_counts_like_pytorch():
    # A label of weight 0 adds its smoothing terms to the sum but nothing to the denominator,
    # as PyTorch's formula does; a class of weight 0 with a -inf logit is left out (finite).
    x = jnp.array([[1.0, 0.0, -jnp.inf], [0.5, 2.0, 0.0]], jnp.float64)
    y, cw = jnp.array([0, 2]), jnp.array([1.0, 2.0, 0.0], jnp.float64)
    lp = np.asarray(jax.nn.log_softmax(x))
    per = np.array([0.9 * 1.0 * -lp[0, 0] + 0.1 / 3 * -(1.0 * lp[0, 0] + 2.0 * lp[0, 1]),
                    0.0 + 0.1 / 3 * -(1.0 * lp[1, 0] + 2.0 * lp[1, 1])])
    got = lossjax.softmax_cross_entropy(x, y, label_smoothing=0.1, class_weights=cw,
                                        reduction="none")
    close12(got, per)
    close12(lossjax.softmax_cross_entropy(x, y, label_smoothing=0.1, class_weights=cw),
            per.sum() / 1.0)
    g = jax.grad(lambda v: lossjax.softmax_cross_entropy(v, y, label_smoothing=0.1,
                                                         class_weights=cw))(x)
    assert np.isfinite(np.asarray(g)).all()


def test_integer_labels_equal_one_hot_targets():
    kept = np.asarray(LABELS) >= 0
    x, y = LOGITS[kept], LABELS[kept]
    onehot = jax.nn.one_hot(y, 4, dtype=jnp.float64)
    fns = [lossjax.softmax_cross_entropy, lossjax.nll, lossjax.categorical_cross_entropy,
           lossjax.multiclass_hinge]

    @jax.jit  # every loss, both label forms, values and gradients in one compiled program
    def both_forms(x):
        preds = [x, jax.nn.log_softmax(x), jax.nn.softmax(x), x]
        out = []
        for fn, pred in zip(fns, preds, strict=True):
            values = [(fn(pred, y, reduction="none", **kw),
                       fn(pred, onehot, reduction="none", **kw))
                      for kw in ({}, {"class_weights": CLASS_WEIGHTS})]
            grads = (jax.grad(lambda p, fn=fn: fn(p, y))(pred),
                     jax.grad(lambda p, fn=fn: fn(p, onehot))(pred))
            out.append((values, grads))
        return out

    for values, (g_int, g_hot) in both_forms(x):
        for labels, one_hot in values:
            close12(labels, one_hot)
        close12(g_int, g_hot)


def test_all_ignored_mean_is_zero_where_pytorch_gives_nan():
    # PyTorch 2.13.0: F.cross_entropy(logits, torch.full((5,), -100)) is nan; lossjax gives 0
    # (documented: the contract's mean over nothing kept) with a zero gradient.
    labels = jnp.full((5,), -100)
    assert float(lossjax.softmax_cross_entropy(LOGITS, labels)) == 0.0
    g = jax.grad(lambda x: lossjax.softmax_cross_entropy(x, labels))(LOGITS)
    assert not np.any(np.asarray(g))


def test_minus_inf_logits_in_ignored_rows_and_off_label():
    x = LOGITS.at[3].set(-jnp.inf).at[0, 3].set(-jnp.inf)
    v, g = jax.value_and_grad(lambda x: lossjax.softmax_cross_entropy(x, LABELS))(x)
    assert np.isfinite(float(v)) and np.all(np.isfinite(np.asarray(g)))
    close12(v, lossjax.softmax_cross_entropy(LOGITS.at[0, 3].set(-jnp.inf), LABELS))


def test_out_of_range_label_gives_nan_unchecked_and_raises_checked():
    bad = jnp.array([0, 7])
    assert np.isnan(float(lossjax.softmax_cross_entropy(LOGITS[:2], bad)))
    with pytest.raises(checkify.JaxRuntimeError, match="labels"):
        lossjax.checked("softmax_cross_entropy")(LOGITS[:2], bad)
    err, value = jax.jit(lossjax.checked("softmax_cross_entropy", throw=False))(LOGITS[:2], bad)
    with pytest.raises(checkify.JaxRuntimeError, match="labels"):
        err.throw()
    # good values pass the checks and give the plain value
    close12(lossjax.checked("cross_entropy")(LOGITS[:2], LABELS[:2]),
            lossjax.softmax_cross_entropy(LOGITS[:2], LABELS[:2]))


# -------------------------------------------------------------- PyTorch 2.13.0: margins


# X = [[0.1,0.2,0.4,0.8],[2,-1,0.5,0],[-3,1,1,4]], Y = [[1,0,0,1],[0,0,1,0],[1,1,0,0]],
# W = [1, 0.5, 2, 0.25]: F.multilabel_soft_margin_loss(X, Y[, weight=W], reduction="none")
X = [[0.1, 0.2, 0.4, 0.8], [2.0, -1.0, 0.5, 0.0], [-3.0, 1.0, 1.0, 4.0]]
MLSM = [0.681662861950723, 0.901853465825312, 2.173315163631999]
MLSM_W = [0.740567941512804, 0.851249904575571, 1.709069763087188]
W4 = [1.0, 0.5, 2.0, 0.25]


def test_multilabel_soft_margin_matches_torch():
    x = a64(X)
    y = a64([[1, 0, 0, 1], [0, 0, 1, 0], [1, 1, 0, 0]])
    close10(lossjax.multilabel_soft_margin(x, y, reduction="none"), MLSM)
    close10(lossjax.multilabel_soft_margin(x, y, class_weights=a64(W4), reduction="none"), MLSM_W)
    close10(lossjax.multilabel_soft_margin(x.T, y.T, axis=0, reduction="none"), MLSM)


# T = [[3,0,-1,1],[2,-1,0,0],[0,1,2,3]]: F.multilabel_margin_loss(X, T, reduction="none")
MLM = [0.85, 0.75, 0.0]
MLM_GRAD = [[-0.5, 0.5, 0.5, -0.5], [0.25, 0.0, -0.5, 0.25], [0.0, 0.0, 0.0, 0.0]]


def test_multilabel_margin_matches_torch():
    x, t = a64(X), jnp.array([[3, 0, -1, 1], [2, -1, 0, 0], [0, 1, 2, 3]])
    f = lambda x: lossjax.multilabel_margin(x, t, reduction="none")
    close10(f(x), MLM)
    close10(grad_sum(f)(x), MLM_GRAD)
    with pytest.raises(TypeError, match="integer"):
        lossjax.multilabel_margin(x, t.astype(F64))
    assert bool(jnp.isnan(lossjax.multilabel_margin(x[:1], jnp.array([[7, -1, 0, 0]]))))


# labels [3, 0, 2]: F.multi_margin_loss(X, lab, p=p, margin=margin, reduction="none");
# with weight=W, p=2: per example, the mean, and the gradient of the sum
MULTI_MARGIN = {
    (1, 1.0): [0.325, 0.0, 1.25], (1, 0.5): [0.025, 0.0, 1.0],
    (2, 1.0): [0.1525, 0.0, 4.25], (2, 0.5): [0.0025, 0.0, 3.125],
}
MM_W = [0.038125, 0.0, 8.5]
MM_W_MEAN_TORCH = 2.846041666666667
MM_W_GRAD = [[0.0375, 0.05, 0.075, -0.1625], [0.0, 0.0, 0.0, 0.0], [0.0, 1.0, -5.0, 4.0]]


@pytest.mark.parametrize("p,margin", list(MULTI_MARGIN))
def test_multi_margin_matches_torch(p, margin):
    x, lab = a64(X), jnp.array([3, 0, 2])
    close10(lossjax.multi_margin(x, lab, p=p, margin=margin, reduction="none"),
            MULTI_MARGIN[(p, margin)])
    onehot = jax.nn.one_hot(lab, 4, dtype=F64)
    close10(lossjax.multi_margin(x, onehot, p=p, margin=margin, reduction="none"),
            MULTI_MARGIN[(p, margin)])


def test_multi_margin_class_weights_vs_torch():
    x, lab, w = a64(X), jnp.array([3, 0, 2]), a64(W4)
    f = lambda x: lossjax.multi_margin(x, lab, p=2, class_weights=w, reduction="none")
    close10(f(x), MM_W)
    close10(grad_sum(f)(x), MM_W_GRAD)
    # Deliberate difference: lossjax divides by sum(w[y]), torch by the number of examples.
    mean = lossjax.multi_margin(x, lab, p=2, class_weights=w)
    close10(mean, sum(MM_W) / float(w[3] + w[0] + w[2]))
    close10(mean * float(w[3] + w[0] + w[2]) / 3, MM_W_MEAN_TORCH)


# -------------------------------------------------------------------------------- optax


def test_multiclass_hinge_matches_optax():
    kept = np.asarray(LABELS) >= 0
    x, y = LOGITS[kept], LABELS[kept]
    close12(lossjax.multiclass_hinge(x, y, reduction="none"),
            optax.losses.multiclass_hinge_loss(x, y))


def test_multiclass_losses_match_optax():
    x = random_logits()
    onehot = jax.nn.one_hot(LABELS_K5, 5, dtype=F64)
    pairs = [
        (lambda x: lossjax.poly1_cross_entropy(x, LABELS_K5, epsilon=1.5, reduction="none"),
         lambda x: optax.losses.poly_loss_cross_entropy(x, onehot, epsilon=1.5)),
        (lambda x: lossjax.sparsemax(x, LABELS_K5, reduction="none"),
         lambda x: optax.losses.multiclass_sparsemax_loss(x, LABELS_K5)),
        (lambda x: lossjax.multiclass_perceptron(x, LABELS_K5, reduction="none"),
         lambda x: optax.losses.multiclass_perceptron_loss(x, LABELS_K5)),
    ]
    for ours, theirs in pairs:
        close10(ours(x), jax.jit(theirs)(x))
        close10(grad_sum(ours)(x), grad_sum(theirs)(x))
    # Soft targets for poly-1 (optax takes probabilities)
    soft = jax.nn.softmax(random_logits(seed=3), axis=-1)
    close10(lossjax.poly1_cross_entropy(x, soft, reduction="none"),
            optax.losses.poly_loss_cross_entropy(x, soft))


def test_softmax_cross_entropy_optax_peers():
    x, onehot = random_logits(), jax.nn.one_hot(LABELS_K5, 5, dtype=F64)
    ce = lossjax.softmax_cross_entropy(x, LABELS_K5, reduction="none")
    close10(ce, optax.losses.safe_softmax_cross_entropy(x, onehot))
    smoothed = optax.smooth_labels(onehot, 0.2)
    close10(lossjax.softmax_cross_entropy(x, LABELS_K5, label_smoothing=0.2, reduction="none"),
            optax.losses.softmax_cross_entropy(x, smoothed))


# -------------------------------------------------------- Keras 3 (documented formulas)


def test_keras_multiclass_formulas():
    # CategoricalHinge: max(0, max((1 - y) x) - sum(y x) + 1), one-hot y
    x = a64([[0.5, 1.0, -2.0], [-1.0, -2.0, 0.5], [-1.0, -2.0, -0.5]])
    y = jax.nn.one_hot(jnp.array([0, 2, 2]), 3, dtype=F64)
    keras = jnp.maximum(0.0, jnp.max((1 - y) * x, -1) - jnp.sum(y * x, -1) + 1)
    close10(lossjax.categorical_hinge(x, y, reduction="none"), keras)
    close10(lossjax.categorical_hinge(x, jnp.array([0, 2, 2]), reduction="none"), keras)
    # CategoricalFocalCrossentropy(from_logits=True, alpha, gamma): on softmax probabilities,
    # -sum(alpha * (1 - p)^gamma * y * log p)
    x = random_logits()
    pr, y = jax.nn.softmax(x), jax.nn.one_hot(LABELS_K5, 5, dtype=F64)
    keras = -jnp.sum(0.25 * (1 - pr) ** 2.0 * y * jnp.log(pr), -1)
    close10(lossjax.softmax_focal(x, LABELS_K5, alpha=0.25, reduction="none"), keras)
    close10(lossjax.softmax_focal(x, y, alpha=0.25, reduction="none"), keras)
    # CategoricalGeneralizedCrossEntropy(q): (1 - p_y^q) / q on probabilities
    keras = (1 - jnp.sum(y * pr, -1) ** 0.5) / 0.5
    close10(lossjax.generalized_cross_entropy(x, LABELS_K5, q=0.5, reduction="none"), keras)


# --------------------------------------------------------------------------- identities


def test_reductions_to_cross_entropy():
    x = random_logits()
    ce = lossjax.softmax_cross_entropy(x, LABELS_K5, reduction="none")
    close10(lossjax.poly1_cross_entropy(x, LABELS_K5, epsilon=0.0, reduction="none"), ce)
    close10(lossjax.softmax_focal(x, LABELS_K5, gamma=0.0, reduction="none"), ce)
    close10(lossjax.symmetric_cross_entropy(x, LABELS_K5, alpha=1.0, beta=0.0,
                                            reduction="none"), ce)
    close10(lossjax.generalized_cross_entropy(x, LABELS_K5, q=1e-7, reduction="none"), ce,
            rtol=1e-5)
    # t1 = t2 = 1: the bi-tempered loss is the softmax cross-entropy, values and gradients
    bt = lambda x: lossjax.bi_tempered_logistic(x, LABELS_K5, t1=1.0, t2=1.0, reduction="none")
    close10(bt(x), ce)
    close10(grad_sum(bt)(x),
            grad_sum(lambda x: lossjax.softmax_cross_entropy(x, LABELS_K5, reduction="none"))(x))


def test_bi_tempered_normaliser_and_gradients():
    from lossjax.multiclass._tempered import tempered_log_softmax as _tempered_log_softmax

    x = 3.0 * random_logits(k=6, n=5)
    grid = [(t2, iters) for t2 in (1.2, 2.0, 4.0) for iters in (1, 5, 20)]
    sums = jax.jit(lambda x: [jnp.sum(jnp.exp(_tempered_log_softmax(x, t2, i)), -1)
                              for t2, i in grid])(x)  # one compiled program for the grid
    for total in sums:
        close10(total, jnp.ones(5), rtol=1e-13)
    # The implicit-function gradient agrees with central differences (second order and the
    # default temperatures: the contract battery's finite-difference test).
    f = jax.jit(lambda x: lossjax.bi_tempered_logistic(x, LABELS_K5[:1], t1=0.7, t2=1.8))
    check_grads(f, (x[:1],), order=1, modes=["fwd", "rev"], eps=1e-4)
    # Heavier tails: a large wrong logit costs less (bounded, t1 < 1) than under the CE.
    xb = a64([[10.0, 0.0, 0.0]])
    assert float(lossjax.bi_tempered_logistic(xb, jnp.array([1]), t1=0.2, t2=4.0)) < 2.0
    assert float(lossjax.softmax_cross_entropy(xb, jnp.array([1]))) > 9.0


def test_sparsemax_is_zero_on_its_own_projection_and_has_gradient_p_minus_y():
    from lossjax.multiclass import sparsemax_probabilities

    z = random_logits()
    p = sparsemax_probabilities(z)
    close10(jnp.sum(p, -1), jnp.ones(4))
    close10(lossjax.sparsemax(z, p, reduction="none"), jnp.zeros(4), atol=1e-14)
    y = jax.nn.one_hot(LABELS_K5, 5, dtype=F64)
    close10(grad_sum(lambda z: lossjax.sparsemax(z, LABELS_K5, reduction="none"))(z), p - y)
    close10(lossjax.get("multiclass_sparsemax")(z, LABELS_K5), lossjax.sparsemax(z, y))


def test_symmetric_ce_reverse_term():
    x = random_logits()
    p = jax.nn.softmax(x)
    rce = lossjax.symmetric_cross_entropy(x, LABELS_K5, alpha=0.0, beta=1.0, A=-4.0,
                                          reduction="none")
    close10(rce, 4.0 * (1.0 - p[jnp.arange(4), LABELS_K5]))


# ------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("generalized_cross_entropy", {"q": 0.0}),
        ("symmetric_cross_entropy", {"A": 1.0}),
        ("bi_tempered_logistic", {"t2": 0.5}),
        ("bi_tempered_logistic", {"t1": 1.5}),
        ("multi_margin", {"p": 3}),
        ("poly1_cross_entropy", {"epsilon": -2.0}),
        ("softmax_focal", {"gamma": -1.0}),
    ],
)
def test_hyperparameter_domains(name, kwargs):
    assert_domain_error(name, kwargs)


def test_static_mistakes():
    x = random_logits()
    with pytest.raises(ValueError, match="alpha"):
        lossjax.softmax_focal(x, LABELS_K5, alpha=jnp.ones(3))
    with pytest.raises(ValueError, match="class_weights"):
        lossjax.multilabel_soft_margin(x, jnp.zeros_like(x), class_weights=jnp.ones(3))


# ----------------------------------------------------- references, non-default settings


CASES = [
    ("poly1_cross_entropy", {"epsilon": -0.5, "label_smoothing": 0.1}),
    ("softmax_focal", {"gamma": 0.5, "alpha": 0.3, "label_smoothing": 0.2}),
    ("generalized_cross_entropy", {"q": 0.3}),
    ("symmetric_cross_entropy", {"alpha": 0.5, "beta": 2.0, "A": -6.0}),
    ("bi_tempered_logistic", {"t1": 0.5, "t2": 2.5}),
    ("bi_tempered_logistic", {"t1": 1.0, "t2": 1.5, "num_iters": 2}),
    ("bi_tempered_logistic", {"t1": 0.3, "t2": 1.0}),
    ("multi_margin", {"p": 2, "margin": 0.7}),
    ("multilabel_soft_margin", {"class_weights": np.array(W4 + [3.0])}),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=lambda c: str(c))
def test_against_references_with_hyperparameters(name, kwargs):
    assert_matches_reference(refs, name, kwargs)


@pytest.mark.parametrize("name", ["poly1_cross_entropy", "softmax_focal", "sparsemax",
                                  "generalized_cross_entropy", "symmetric_cross_entropy",
                                  "bi_tempered_logistic", "multi_margin", "categorical_hinge",
                                  "multiclass_perceptron"])
def test_probability_targets_against_references(name):
    x = random_logits(seed=11)
    y = jax.nn.softmax(2.0 * random_logits(seed=12))
    if name in ("multi_margin", "categorical_hinge", "multiclass_perceptron"):
        y = jax.nn.one_hot(LABELS_K5, 5, dtype=F64)
    got = lossjax.get(name)(x, y, reduction="none")
    close10(got, refs.REFERENCES[name](np.asarray(x), np.asarray(y)), rtol=1e-9, atol=1e-11)


# The losses that read integer-label predictions without a masked [..., K] copy (issue 14:
# XLA:CPU writes such a copy out in full before a reduction): the rows dropped by
# `ignore_index` or `where` reach them as they are, and the kernels keep them out.
UNMASKED = ["multiclass_perceptron", "multiclass_hinge", "categorical_hinge",
            "categorical_cross_entropy", "generalized_cross_entropy",
            "symmetric_cross_entropy", "softmax_focal", "poly1_cross_entropy", "nll"]


@pytest.mark.parametrize("name", UNMASKED)
def test_unmasked_predictions_keep_dropped_rows_out(name):
    # Reference: the same loss on a copy whose dropped rows are replaced by ordinary values
    # (what masking gives). Kept rows include a tie for the maximum (row 0: the derivative is
    # split evenly between the tied entries, as jnp.max's). Dropped rows hold NaN, inf and
    # -inf; a kept row holding NaN (where the loss reads it) gives NaN, in the value and in
    # its gradient row, and leaves the other rows' gradients as they were.
    fn = lossjax.registry.get(name)
    probs = lossjax.registry.spec(name).predictions == "probabilities"
    rng = np.random.default_rng(14)
    x = rng.normal(0.0, 1.0, (7, 5))
    if probs:
        x = np.exp(x) / np.exp(x).sum(-1, keepdims=True)
    x[0, :] = x[0, 1]  # a tie everywhere in row 0
    y = np.array([2, 1, -100, 3, 0, 4, 1])
    keep = np.array([True, True, True, True, False, True, False])
    dirty = x.copy()
    dirty[2] = np.nan  # ignore_index
    dirty[4] = np.inf  # where
    dirty[6] = -np.inf  # where
    clean = x.copy()
    clean[[2, 4, 6]] = 0.2 if probs else 0.0

    def vg(a):
        return jax.value_and_grad(lambda a: fn(a, y, where=keep))(jnp.asarray(a))

    v, g = vg(dirty)
    rv, rg = vg(clean)
    g, rg = np.asarray(g), np.asarray(rg)
    np.testing.assert_allclose(v, rv, rtol=1e-12)
    np.testing.assert_allclose(g, rg, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(g[[2, 4, 6]], 0.0)
    assert np.all(np.isfinite(g))
    nan_row = dirty.copy()
    # nll and categorical_cross_entropy with labels read the label's entry alone (-log p_y)
    nan_row[3, y[3] if name in ("nll", "categorical_cross_entropy") else 1] = np.nan
    v, g = vg(nan_row)
    g = np.asarray(g)
    assert np.isnan(v)
    if name != "nll":  # nll is linear in the predictions (-x_y): its gradient is constant
        assert np.any(np.isnan(g[3])), g[3]
    np.testing.assert_allclose(g[[0, 1, 5]], rg[[0, 1, 5]], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("gamma", [2.0, 1.5, "traced"])
def test_focal_smoothing_with_labels_equals_its_one_hot_form(gamma):
    # With integer labels and a smoothing, softmax focal expands Keras's dense definition
    # (1 - eps) T_y + eps / K sum_c T_c (session 8); one-hot targets take the dense sum itself.
    # Both must agree, value and gradient: per-class alpha, -inf logits off the label (inf
    # with eps > 0; left out when a traced eps is 0) and on it (inf), a NaN in a dropped row.
    x = np.array(random_logits(seed=21))
    x[1, 0] = -np.inf  # off the label (3)
    x[2, 4] = -np.inf  # on the label (4)
    x[3] = np.nan  # dropped by `where`
    keep = np.array([True, True, True, False])
    onehot = jax.nn.one_hot(LABELS_K5, 5, dtype=F64)
    alpha = a64([0.5, 1.0, 2.0, 0.25, 1.5])

    def run(targets, eps, g):
        def f(x, eps, g):
            return lossjax.softmax_focal(x, targets, gamma=g, alpha=alpha, label_smoothing=eps,
                                         where=keep, reduction="none")
        return f(a64(x), eps, g), jax.jacrev(lambda x: jnp.sum(jnp.where(
            jnp.isfinite(f(x, eps, g)), f(x, eps, g), 0.0)))(a64(x))

    g = jnp.asarray(2.5) if gamma == "traced" else gamma
    for eps in (0.1, jnp.asarray(0.1), jnp.asarray(0.0)):
        v, d = run(LABELS_K5, eps, g)
        rv, rd = run(onehot, eps, g)
        close10(v, rv)
        close10(d, rd)
        assert np.isinf(v[2]) and v[3] == 0.0
        assert np.isinf(v[1]) == (float(eps) != 0.0)
        np.testing.assert_array_equal(np.asarray(d)[3], 0.0)
