"""Issue 5 (share a): peer-library agreement, identities and errors for the added losses.

Peer numbers are hardcoded (tests never import torch): each block names the library, its
version and the call that produced it. The scripts are reproduced in the comments: PyTorch
2.13.0 CPU in float64, scikit-learn 1.9.1. optax (a run-time dependency) is called directly.
Keras 3 cannot be installed here; its losses are checked against the formulas of the Keras
documentation, written out in the tests. Per-unit agreement with the float64 NumPy references
of ``tests/references_zoo_a.py`` for non-default hyperparameters is checked at the end.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.test_util import check_grads

import lossjax
from tests import references_zoo_a as refs

F64 = jnp.float64


def a64(x):
    return jnp.asarray(x, F64)


def close(actual, expected, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol)


def grad_sum(fn, argnums=0):
    # jit: one compiled program instead of op-by-op dispatch (optax references are eager)
    return jax.jit(jax.grad(lambda *a: jnp.sum(fn(*a)), argnums=argnums))


# ------------------------------------------------------------------------------ PyTorch 2.13.0
# x = [-2, -0.3, 0, 0.4, 1.5, 3], y = [1, -1, 1, -1, 1, -1]
# F.soft_margin_loss(x, y, reduction="none") and the gradient of its sum
SOFT_MARGIN = [2.126928011042973, 0.554355244468527, 0.693147180559945, 0.913015252399953,
               0.201413277982752, 3.048587351573742]
SOFT_MARGIN_GRAD = [-0.880797077977882, 0.425557483188341, -0.5, 0.598687660112452,
                    -0.182425523806356, 0.952574126822433]


def test_soft_margin_matches_torch():
    x, y = a64([-2.0, -0.3, 0.0, 0.4, 1.5, 3.0]), a64([1, -1, 1, -1, 1, -1])
    f = lambda x: lossjax.soft_margin(x, y, reduction="none")
    close(f(x), SOFT_MARGIN)
    close(grad_sum(f)(x), SOFT_MARGIN_GRAD)


# p = [0, 0.2, -0.7, 1.5, 3, -4], t = [0.1, 0, 0, 0, 0.5, 0]
# F.smooth_l1_loss(p, t, beta=beta, reduction="none")
SMOOTH_L1 = {
    1.0: [0.005, 0.02, 0.245, 1.0, 2.0, 3.5],
    0.5: [0.01, 0.04, 0.45, 1.25, 2.25, 3.75],
    0.0: [0.1, 0.2, 0.7, 1.5, 2.5, 4.0],
}


@pytest.mark.parametrize("beta", [1.0, 0.5, 0.0])
def test_smooth_l1_matches_torch_and_is_huber_over_beta(beta):
    p, t = a64([0.0, 0.2, -0.7, 1.5, 3.0, -4.0]), a64([0.1, 0.0, 0.0, 0.0, 0.5, 0.0])
    got = lossjax.smooth_l1(p, t, beta=beta, reduction="none")
    close(got, SMOOTH_L1[beta])
    if beta > 0:  # smooth_l1(beta) == huber(delta=beta) / beta, value and gradient
        close(got, lossjax.huber(p, t, delta=beta, reduction="none") / beta)
        g1 = jax.grad(lambda p: lossjax.smooth_l1(p, t, beta=beta, reduction="sum"))(p)
        g2 = jax.grad(lambda p: lossjax.huber(p, t, delta=beta, reduction="sum"))(p)
        close(g1, g2 / beta)
    else:
        close(got, lossjax.absolute_error(p, t, reduction="none"))


# s = [-1, 0, 0.5, 2, -3, 1], c = [0, 1, 2, 5, 0, 3]; for log_input=False the input is |s|
# F.poisson_nll_loss(inp, c, log_input=li, full=full, reduction="none") and grad of its sum
POISSON = {
    (True, False): [0.367879441171442, 1.0, 0.648721270700128, -2.61094390106935,
                    0.049787068367864, -0.281718171540955],
    (True, True): [0.367879441171442, 1.0, 1.300527755304664, 2.159903150522875,
                   0.049787068367864, 1.482363372002102],
    (False, False): [1.0, 18.420680743952367, 1.886294321119891, -1.465735927799726, 3.0,
                     0.99999997],
    (False, True): [1.0, 18.420680743952367, 2.538100805724427, 3.305111123792498, 3.0,
                    2.764081513543057],
}
POISSON_GRAD = {
    True: [0.367879441171442, 0.0, -0.351278729299872, 2.38905609893065, 0.049787068367864,
           -0.281718171540955],
    False: [1.0, -99999999.0, -2.999999920000001, -1.4999999875, 1.0, -1.999999970000001],
}


@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
def test_poisson_nll_matches_torch(log_input, full):
    s, c = a64([-1.0, 0.0, 0.5, 2.0, -3.0, 1.0]), a64([0.0, 1.0, 2.0, 5.0, 0.0, 3.0])
    inp = s if log_input else jnp.abs(s)
    f = lambda x: lossjax.poisson_nll(x, c, log_input=log_input, full=full, reduction="none")
    close(f(inp), POISSON[(log_input, full)])
    close(grad_sum(f)(inp), POISSON_GRAD[log_input])


def test_poisson_nll_rate_input_is_keras_poisson():
    # Keras docs, Poisson: y_pred - y_true * log(y_pred + epsilon), epsilon = 1e-7
    p, t = a64([0.5, 2.0, 1e-3, 4.0]), a64([1.0, 0.0, 2.0, 3.0])
    keras = p - t * jnp.log(p + 1e-7)
    close(lossjax.poisson_nll(p, t, log_input=False, eps=1e-7, reduction="none"), keras)


# mu = [0, 1, -2, 0.5, 3, 0], t = [0.5, 1, 0, -0.5, 1, 2], var = [1, 0.5, 2, 1e-8, 0, 3]
# F.gaussian_nll_loss(mu, t, var, full=full, eps=1e-6, reduction="none"), grads of its sum
GAUSS = {
    False: [0.125, -0.346573590279973, 1.346573590279973, 499993.092244721, 1999993.092244721,
            1.215972811000722],
    True: [1.043938533204673, 0.5723649429247, 2.265512123484645, 499994.01118325425,
           1999994.0111832542, 2.134911344205394],
}
GAUSS_GRAD_MU = [-0.5, 0.0, -1.0, 1000000.0, 2000000.0, -0.666666666666667]
GAUSS_GRAD_VAR = [0.375, 1.0, -0.25, -499999500000.0, -1999999500000.0, -0.055555555555556]


@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_matches_torch_including_the_clamp(full):
    mu, t = a64([0.0, 1.0, -2.0, 0.5, 3.0, 0.0]), a64([0.5, 1.0, 0.0, -0.5, 1.0, 2.0])
    var = a64([1.0, 0.5, 2.0, 1e-8, 0.0, 3.0])
    f = lambda m, v: lossjax.gaussian_nll(m, t, v, full=full, reduction="none")
    close(f(mu, var), GAUSS[full])
    gm, gv = grad_sum(f, (0, 1))(mu, var)
    close(gm, GAUSS_GRAD_MU)
    close(gv, GAUSS_GRAD_VAR)  # straight-through clamp, as torch


def test_gaussian_nll_shared_variance_broadcasts():
    mu, t = a64([[0.0, 1.0], [2.0, 3.0]]), a64([[1.0, 1.0], [0.0, 0.0]])
    v = a64([[2.0], [0.5]])
    close(lossjax.gaussian_nll(mu, t, v, reduction="none"),
          lossjax.gaussian_nll(mu, t, jnp.broadcast_to(v, (2, 2)), reduction="none"))
    with pytest.raises(ValueError, match="variance"):
        lossjax.gaussian_nll(mu, t, a64([1.0, 2.0, 3.0]))


# a = [[1,2,3],[0,0,0],[-1,0.5,2],[1e-9,0,0]], b = [[1,2,3.5],[1,2,3],[2,-1,0],[1,1,0]]
# F.cosine_similarity(a, b, dim=-1, eps=1e-8); gradient of sum(1 - cos) w.r.t. a
COSINE_SIM = [0.99740865073607, 0.0, -0.487950036474267, 0.070710678118655]
COSINE_DIST_GRAD = [[0.006894529843798, 0.013789059687595, -0.011490883072996],
                    [-26726124.191242438, -53452248.382484876, -80178372.57372732],
                    [-0.297417165089077, 0.148708582544538, -0.185885728180673],
                    [-63639610.306789264, -70710678.11865474, 0.0]]


def test_cosine_distance_matches_torch_and_optax():
    a = a64([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [-1.0, 0.5, 2.0], [1e-9, 0.0, 0.0]])
    b = a64([[1.0, 2.0, 3.5], [1.0, 2.0, 3.0], [2.0, -1.0, 0.0], [1.0, 1.0, 0.0]])
    f = lambda a: lossjax.cosine_distance(a, b, reduction="none")
    close(f(a), 1.0 - np.array(COSINE_SIM))
    g = grad_sum(f)(a)
    # Rows 0-2 (the zero vector included) match torch; in row 3 the norm 1e-9 is below eps,
    # where torch's hand-written backward passes a gradient through the clamped norm and
    # lossjax differentiates the clamped function itself (documented).
    close(g[:3], np.array(COSINE_DIST_GRAD)[:3], rtol=1e-9)
    close(g[3], np.array([1.0, 1.0, 0.0]) / math.sqrt(2.0) / -1e-8, rtol=1e-9)
    # optax (epsilon=0 clamps squared norms; it is NaN at the zero vector, so rows 0 and 2)
    rows = jnp.array([0, 2])
    close(f(a)[rows], optax.losses.cosine_distance(a[rows], b[rows]))
    close(1.0 - f(a)[rows], optax.losses.cosine_similarity(a[rows], b[rows]))
    # Keras docs, CosineSimilarity: -sum(l2_normalize(y_true) * l2_normalize(y_pred))
    keras = -jnp.sum(a[rows] / jnp.linalg.norm(a[rows], axis=-1, keepdims=True)
                     * b[rows] / jnp.linalg.norm(b[rows], axis=-1, keepdims=True), axis=-1)
    close(f(a)[rows] - 1.0, keras)


def test_cosine_distance_axis_and_float16_zero_vector():
    a = jax.random.normal(jax.random.PRNGKey(0), (3, 4, 2), F64)
    b = jax.random.normal(jax.random.PRNGKey(1), (3, 4, 2), F64)
    close(lossjax.cosine_distance(a, b, axis=1, reduction="none"),
          lossjax.cosine_distance(jnp.moveaxis(a, 1, -1), jnp.moveaxis(b, 1, -1),
                                  reduction="none"))
    z = jnp.zeros((1, 3), jnp.float16)
    g = jax.grad(lambda z: lossjax.cosine_distance(z, jnp.ones((1, 3), jnp.float16)))(z)
    assert g.dtype == jnp.float16 and bool(jnp.all(jnp.isfinite(g)))


# X = [[0.1,0.2,0.4,0.8],[2,-1,0.5,0],[-3,1,1,4]], Y = [[1,0,0,1],[0,0,1,0],[1,1,0,0]],
# W = [1, 0.5, 2, 0.25]: F.multilabel_soft_margin_loss(X, Y[, weight=W], reduction="none")
X = [[0.1, 0.2, 0.4, 0.8], [2.0, -1.0, 0.5, 0.0], [-3.0, 1.0, 1.0, 4.0]]
MLSM = [0.681662861950723, 0.901853465825312, 2.173315163631999]
MLSM_W = [0.740567941512804, 0.851249904575571, 1.709069763087188]
W4 = [1.0, 0.5, 2.0, 0.25]


def test_multilabel_soft_margin_matches_torch():
    x = a64(X)
    y = a64([[1, 0, 0, 1], [0, 0, 1, 0], [1, 1, 0, 0]])
    close(lossjax.multilabel_soft_margin(x, y, reduction="none"), MLSM)
    close(lossjax.multilabel_soft_margin(x, y, class_weights=a64(W4), reduction="none"), MLSM_W)
    close(lossjax.multilabel_soft_margin(x.T, y.T, axis=0, reduction="none"), MLSM)


# T = [[3,0,-1,1],[2,-1,0,0],[0,1,2,3]]: F.multilabel_margin_loss(X, T, reduction="none")
MLM = [0.85, 0.75, 0.0]
MLM_GRAD = [[-0.5, 0.5, 0.5, -0.5], [0.25, 0.0, -0.5, 0.25], [0.0, 0.0, 0.0, 0.0]]


def test_multilabel_margin_matches_torch():
    x, t = a64(X), jnp.array([[3, 0, -1, 1], [2, -1, 0, 0], [0, 1, 2, 3]])
    f = lambda x: lossjax.multilabel_margin(x, t, reduction="none")
    close(f(x), MLM)
    close(grad_sum(f)(x), MLM_GRAD)
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
    close(lossjax.multi_margin(x, lab, p=p, margin=margin, reduction="none"),
          MULTI_MARGIN[(p, margin)])
    onehot = jax.nn.one_hot(lab, 4, dtype=F64)
    close(lossjax.multi_margin(x, onehot, p=p, margin=margin, reduction="none"),
          MULTI_MARGIN[(p, margin)])


def test_multi_margin_class_weights_vs_torch():
    x, lab, w = a64(X), jnp.array([3, 0, 2]), a64(W4)
    f = lambda x: lossjax.multi_margin(x, lab, p=2, class_weights=w, reduction="none")
    close(f(x), MM_W)
    close(grad_sum(f)(x), MM_W_GRAD)
    # Deliberate difference: lossjax divides by sum(w[y]), torch by the number of examples.
    mean = lossjax.multi_margin(x, lab, p=2, class_weights=w)
    close(mean, sum(MM_W) / float(w[3] + w[0] + w[2]))
    close(mean * float(w[3] + w[0] + w[2]) / 3, MM_W_MEAN_TORCH)


# --------------------------------------------------------------------------- scikit-learn 1.9.1
# sklearn.linear_model._sgd_fast.ModifiedHuber().py_loss(f, y) / .py_dloss(f, y)
MOD_F = [-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 0.3]
MOD_Y = [1.0, 1.0, 1.0, -1.0, -1.0, 1.0, -1.0, -1.0]
MOD_HUBER = [12.0, 4.0, 2.25, 1.0, 2.25, 0.0, 8.0, 1.6900000000000002]
MOD_HUBER_DLOSS = [-4.0, -4.0, -3.0, 2.0, 3.0, 0.0, 4.0, 2.6]


def test_modified_huber_matches_sklearn():
    f = lambda x: lossjax.modified_huber(x, a64(MOD_Y), reduction="none")
    close(f(a64(MOD_F)), MOD_HUBER)
    close(grad_sum(f)(a64(MOD_F)), MOD_HUBER_DLOSS)


# sklearn.metrics.mean_pinball_loss([t], [p], alpha=tau), one element at a time
PIN_P, PIN_T = [0.0, 1.0, 2.5, -1.0, 3.0], [1.0, 1.0, 0.5, 2.0, -1.0]
PINBALL = {
    0.1: [0.1, 0.0, 1.8, 0.30000000000000004, 3.6],
    0.5: [0.5, 0.0, 1.0, 1.5, 2.0],
    0.9: [0.9, 0.0, 0.19999999999999996, 2.7, 0.3999999999999999],
}


@pytest.mark.parametrize("tau", [0.1, 0.5, 0.9])
def test_quantile_matches_sklearn_pinball(tau):
    close(lossjax.quantile(a64(PIN_P), a64(PIN_T), tau=tau, reduction="none"), PINBALL[tau])
    close(lossjax.get("pinball")(a64(PIN_P), a64(PIN_T), tau=tau), np.mean(PINBALL[tau]))


# sklearn.metrics.mean_tweedie_deviance([c], [exp(s)], power=power), one element at a time
TW_S, TW_C = [-1.0, 0.0, 0.5, 2.0, -3.0, 1.0], [0.0, 1.0, 2.0, 5.0, 0.0, 3.0]
TWEEDIE = {
    1.2: [1.123322410293054, 0.0, 0.06254602241926577, 0.5998543829137812,
          0.22679488322353122, 0.022966347561977685],
    1.5: [2.4261226388505337, 0.0, 0.05279943233744344, 0.3421723172667086,
          0.8925206405937194, 0.016846538801096322],
    1.8: [8.18730753077982, 0.0, 0.04457997347173759, 0.1953326830807125, 5.488116360940266,
          0.012358067286896812],
}


@pytest.mark.parametrize("power", [1.2, 1.5, 1.8])
def test_tweedie_matches_sklearn_deviance(power):
    close(lossjax.tweedie(a64(TW_S), a64(TW_C), power=power, reduction="none"),
          TWEEDIE[power], atol=1e-11)


# ------------------------------------------------------------------------------------- optax


def test_binary_losses_match_optax():
    x = a64([-2.0, -1.0, -0.4, 0.0, 0.3, 1.0, 2.5, -3.0])
    y01 = a64([1, 0, 1, 1, 0, 1, 0, 0])
    f = lambda x: lossjax.binary_sparsemax(x, y01, reduction="none")
    ref = jax.jit(lambda x: optax.losses.sparsemax_loss(x, y01))
    close(f(x), ref(x))
    close(grad_sum(f)(x), grad_sum(ref)(x))
    ys = 2.0 * y01 - 1.0
    close(lossjax.perceptron(x, ys, reduction="none"), optax.losses.perceptron_loss(x, ys))


def test_binary_sparsemax_soft_targets_vanish_at_the_sparse_sigmoid():
    x = a64([-3.0, -0.5, 0.2, 0.9, 4.0])
    y = jnp.clip((x + 1.0) / 2.0, 0.0, 1.0)
    close(lossjax.binary_sparsemax(x, y, reduction="none"), jnp.zeros(5), atol=1e-15)


def _logits(k=5, n=4, seed=0):
    return 2.0 * jax.random.normal(jax.random.PRNGKey(seed), (n, k), F64)


LABELS = jnp.array([0, 3, 4, 1])


def test_multiclass_losses_match_optax():
    x = _logits()
    onehot = jax.nn.one_hot(LABELS, 5, dtype=F64)
    pairs = [
        (lambda x: lossjax.poly1_cross_entropy(x, LABELS, epsilon=1.5, reduction="none"),
         lambda x: optax.losses.poly_loss_cross_entropy(x, onehot, epsilon=1.5)),
        (lambda x: lossjax.sparsemax(x, LABELS, reduction="none"),
         lambda x: optax.losses.multiclass_sparsemax_loss(x, LABELS)),
        (lambda x: lossjax.multiclass_perceptron(x, LABELS, reduction="none"),
         lambda x: optax.losses.multiclass_perceptron_loss(x, LABELS)),
    ]
    for ours, theirs in pairs:
        close(ours(x), jax.jit(theirs)(x))
        close(grad_sum(ours)(x), grad_sum(theirs)(x))
    # Soft targets for poly-1 (optax takes probabilities)
    soft = jax.nn.softmax(_logits(seed=3), axis=-1)
    close(lossjax.poly1_cross_entropy(x, soft, reduction="none"),
          optax.losses.poly_loss_cross_entropy(x, soft))


def test_softmax_cross_entropy_optax_peers():
    x, onehot = _logits(), jax.nn.one_hot(LABELS, 5, dtype=F64)
    ce = lossjax.softmax_cross_entropy(x, LABELS, reduction="none")
    close(ce, optax.losses.safe_softmax_cross_entropy(x, onehot))
    smoothed = optax.smooth_labels(onehot, 0.2)
    close(lossjax.softmax_cross_entropy(x, LABELS, label_smoothing=0.2, reduction="none"),
          optax.losses.softmax_cross_entropy(x, smoothed))


def test_divergences_match_optax():
    lq = jax.random.normal(jax.random.PRNGKey(1), (3, 4), F64)
    t = jnp.exp(jax.random.normal(jax.random.PRNGKey(2), (3, 4), F64))
    f = lambda lq, t: lossjax.generalized_kl_divergence(lq, t, reduction="none")
    ref = jax.jit(lambda lq, t: optax.losses.generalized_kl_divergence(lq, t))
    close(f(lq, t), ref(lq, t))
    for i in (0, 1):
        close(grad_sum(f, i)(lq, t), grad_sum(ref, i)(lq, t))
    # For distributions the generalized KL is the KL.
    lp = jax.nn.log_softmax(lq)
    p = jax.nn.softmax(jnp.log(t))
    close(lossjax.generalized_kl_divergence(lp, p, reduction="none"),
          lossjax.kl_divergence(lp, p, reduction="none"))


# ------------------------------------------------------------- Keras 3 (documented formulas)


def test_keras_formulas():
    p, t = a64([110.0, 45.0, 3.0, -1.0]), a64([100.0, 50.0, 0.0, 2.0])
    # MeanAbsolutePercentageError: 100 * |t - p| / max(|t|, epsilon), epsilon = 1e-7
    close(lossjax.mean_absolute_percentage_error(p, t, reduction="none"),
          100.0 * jnp.abs(t - p) / jnp.maximum(jnp.abs(t), 1e-7))
    # MeanSquaredLogarithmicError: (log(max(p, eps) + 1) - log(max(t, eps) + 1))^2
    p2, t2 = a64([0.0, 1.0, 5.0, -2.0]), a64([1.0, 1.0, 0.5, 3.0])
    close(lossjax.mean_squared_logarithmic_error(p2, t2, reduction="none"),
          (jnp.log(jnp.maximum(p2, 1e-7) + 1) - jnp.log(jnp.maximum(t2, 1e-7) + 1)) ** 2)
    # CategoricalHinge: max(0, max((1 - y) x) - sum(y x) + 1), one-hot y
    x = a64([[0.5, 1.0, -2.0], [-1.0, -2.0, 0.5], [-1.0, -2.0, -0.5]])
    y = jax.nn.one_hot(jnp.array([0, 2, 2]), 3, dtype=F64)
    keras = jnp.maximum(0.0, jnp.max((1 - y) * x, -1) - jnp.sum(y * x, -1) + 1)
    close(lossjax.categorical_hinge(x, y, reduction="none"), keras)
    close(lossjax.categorical_hinge(x, jnp.array([0, 2, 2]), reduction="none"), keras)
    # CategoricalFocalCrossentropy(from_logits=True, alpha, gamma): on softmax probabilities,
    # -sum(alpha * (1 - p)^gamma * y * log p)
    x = _logits()
    pr, y = jax.nn.softmax(x), jax.nn.one_hot(LABELS, 5, dtype=F64)
    keras = -jnp.sum(0.25 * (1 - pr) ** 2.0 * y * jnp.log(pr), -1)
    close(lossjax.softmax_focal(x, LABELS, alpha=0.25, reduction="none"), keras)
    close(lossjax.softmax_focal(x, y, alpha=0.25, reduction="none"), keras)
    # CategoricalGeneralizedCrossEntropy(q): (1 - p_y^q) / q on probabilities
    keras = (1 - jnp.sum(y * pr, -1) ** 0.5) / 0.5
    close(lossjax.generalized_cross_entropy(x, LABELS, q=0.5, reduction="none"), keras)


# ---------------------------------------------------------------------------- identities


def test_reductions_to_cross_entropy():
    x = _logits()
    ce = lossjax.softmax_cross_entropy(x, LABELS, reduction="none")
    close(lossjax.poly1_cross_entropy(x, LABELS, epsilon=0.0, reduction="none"), ce)
    close(lossjax.softmax_focal(x, LABELS, gamma=0.0, reduction="none"), ce)
    close(lossjax.symmetric_cross_entropy(x, LABELS, alpha=1.0, beta=0.0, reduction="none"), ce)
    close(lossjax.generalized_cross_entropy(x, LABELS, q=1e-7, reduction="none"), ce, rtol=1e-5)
    # t1 = t2 = 1: the bi-tempered loss is the softmax cross-entropy, values and gradients
    bt = lambda x: lossjax.bi_tempered_logistic(x, LABELS, t1=1.0, t2=1.0, reduction="none")
    close(bt(x), ce)
    close(grad_sum(bt)(x),
          grad_sum(lambda x: lossjax.softmax_cross_entropy(x, LABELS, reduction="none"))(x))


def test_bi_tempered_normaliser_and_gradients():
    from lossjax.multiclass import _tempered_log_softmax

    x = 3.0 * _logits(k=6, n=5)
    grid = [(t2, iters) for t2 in (1.2, 2.0, 4.0) for iters in (1, 5, 20)]
    sums = jax.jit(lambda x: [jnp.sum(jnp.exp(_tempered_log_softmax(x, t2, i)), -1)
                              for t2, i in grid])(x)  # one compiled program for the grid
    for total in sums:
        close(total, jnp.ones(5), rtol=1e-13)
    # The implicit-function gradient agrees with central differences (second order and the
    # default temperatures: the contract battery's finite-difference test).
    f = jax.jit(lambda x: lossjax.bi_tempered_logistic(x, LABELS[:1], t1=0.7, t2=1.8))
    check_grads(f, (x[:1],), order=1, modes=["fwd", "rev"], eps=1e-4)
    # Heavier tails: a large wrong logit costs less (bounded, t1 < 1) than under the CE.
    xb = a64([[10.0, 0.0, 0.0]])
    assert float(lossjax.bi_tempered_logistic(xb, jnp.array([1]), t1=0.2, t2=4.0)) < 2.0
    assert float(lossjax.softmax_cross_entropy(xb, jnp.array([1]))) > 9.0


def test_sparsemax_is_zero_on_its_own_projection_and_has_gradient_p_minus_y():
    from lossjax.multiclass import sparsemax_probabilities

    z = _logits()
    p = sparsemax_probabilities(z)
    close(jnp.sum(p, -1), jnp.ones(4))
    close(lossjax.sparsemax(z, p, reduction="none"), jnp.zeros(4), atol=1e-14)
    y = jax.nn.one_hot(LABELS, 5, dtype=F64)
    close(grad_sum(lambda z: lossjax.sparsemax(z, LABELS, reduction="none"))(z), p - y)
    close(lossjax.get("multiclass_sparsemax")(z, LABELS), lossjax.sparsemax(z, y))


def test_symmetric_ce_reverse_term_and_divergence_bounds():
    x = _logits()
    p = jax.nn.softmax(x)
    rce = lossjax.symmetric_cross_entropy(x, LABELS, alpha=0.0, beta=1.0, A=-4.0,
                                          reduction="none")
    close(rce, 4.0 * (1.0 - p[jnp.arange(4), LABELS]))
    lq = jax.nn.log_softmax(_logits(seed=5))
    q = jax.nn.softmax(_logits(seed=6))
    js = lossjax.js_divergence(lq, q, reduction="none")
    close(js, lossjax.js_divergence(jnp.log(q), jnp.exp(lq), reduction="none"))  # symmetric
    assert bool(jnp.all((js >= 0) & (js <= math.log(2.0))))
    tv = lossjax.total_variation(jnp.exp(lq), q, reduction="none")
    assert bool(jnp.all((tv >= 0) & (tv <= 1.0)))
    assert bool(jnp.all(2 * tv**2 <= lossjax.kl_divergence(lq, q, reduction="none")))  # Pinsker


def test_exponential_and_perceptron_values():
    f, y = a64([0.0, 1.0, -2.0, 3.0]), a64([1.0, -1.0, 1.0, 1.0])
    close(lossjax.exponential(f, y, reduction="none"), jnp.exp(-y * f))
    close(lossjax.perceptron(f, y, reduction="none"), [0.0, 1.0, 2.0, 0.0])


# ---------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("quantile", {"tau": 1.5}),
        ("smooth_l1", {"beta": -1.0}),
        ("tweedie", {"power": 2.0}),
        ("poisson_nll", {"log_input": 1}),
        ("mean_absolute_percentage_error", {"epsilon": 0.0}),
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
    spec = lossjax.spec(name)
    args, _ = spec.sample(jax.random.PRNGKey(0), (2,), F64)
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        spec.fn(*args, **kwargs)


def test_static_mistakes():
    x = _logits()
    with pytest.raises(ValueError, match="alpha"):
        lossjax.softmax_focal(x, LABELS, alpha=jnp.ones(3))
    with pytest.raises(ValueError, match="class_weights"):
        lossjax.multilabel_soft_margin(x, jnp.zeros_like(x), class_weights=jnp.ones(3))
    with pytest.raises(ValueError, match="targets"):
        lossjax.poisson_nll(jnp.zeros(3), jnp.zeros(4))


# ------------------------------------------------------- references, non-default settings

CASES = [
    ("smooth_l1", {"beta": 0.3}),
    ("quantile", {"tau": 0.2}),
    ("mean_absolute_percentage_error", {"epsilon": 0.5}),
    ("poisson_nll", {"full": True}),
    ("gaussian_nll", {"full": True, "eps": 0.5}),
    ("tweedie", {"power": 1.3}),
    ("cosine_distance", {"epsilon": 0.1}),
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
    spec = lossjax.spec(name)
    args, _ = spec.sample(jax.random.PRNGKey(7), (3, 2), F64)
    got = spec.fn(*args, **kwargs, reduction="none")
    close(got, refs.REFERENCES[name](*[np.asarray(a) for a in args], **kwargs), rtol=1e-9,
          atol=1e-11)


@pytest.mark.parametrize("name", ["poly1_cross_entropy", "softmax_focal", "sparsemax",
                                  "generalized_cross_entropy", "symmetric_cross_entropy",
                                  "bi_tempered_logistic", "multi_margin", "categorical_hinge",
                                  "multiclass_perceptron"])
def test_probability_targets_against_references(name):
    x = _logits(seed=11)
    y = jax.nn.softmax(2.0 * _logits(seed=12))
    if name in ("multi_margin", "categorical_hinge", "multiclass_perceptron"):
        y = jax.nn.one_hot(LABELS, 5, dtype=F64)
    got = lossjax.get(name)(x, y, reduction="none")
    close(got, refs.REFERENCES[name](np.asarray(x), np.asarray(y)), rtol=1e-9, atol=1e-11)
