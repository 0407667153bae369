"""Regression losses (lossjax.regression): peers' numbers, identities, limits and errors.

These are the family's own checks; the registry-driven battery (test_contract.py and the other
batteries) tests every registered loss. Peer numbers are stored, not computed (torch and
scikit-learn are not dependencies of the tests): each block names the library, its version and
the call that produced it — PyTorch 2.13.0 (CPU, float64, run on 2026-11-23), scikit-learn
1.9.1. optax, a run-time dependency, is called in the tests. Keras 3 cannot be installed here;
its losses are checked against the formulas of the Keras documentation, written out in the
tests.

Per-unit float64 references for non-default hyperparameters: ``references_regression.py``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import references_regression as refs
from checks import (
    F64,
    a64,
    assert_domain_error,
    assert_matches_reference,
    close10,
    close12,
    grad_sum,
)

import lossjax

# ----------------------------------------------------------------------- PyTorch 2.13.0


def test_huber_matches_pytorch_and_optax():
    # PyTorch 2.13.0: F.huber_loss(p, t, delta=1.5, reduction="none")
    p = jnp.array([0.0, 0.5, 3.0, -2.0, 10.0], jnp.float64)
    t = jnp.array([0.2, 0.5, 0.0, 0.0, 0.0], jnp.float64)
    close12(lossjax.huber(p, t, delta=1.5, reduction="none"),
            [0.020000000000000004, 0.0, 3.375, 1.875, 13.875])
    close12(lossjax.huber(p, t, delta=1.5, reduction="none"), optax.huber_loss(p, t, delta=1.5))


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
    close10(got, SMOOTH_L1[beta])
    if beta > 0:  # smooth_l1(beta) == huber(delta=beta) / beta, value and gradient
        close10(got, lossjax.huber(p, t, delta=beta, reduction="none") / beta)
        g1 = jax.grad(lambda p: lossjax.smooth_l1(p, t, beta=beta, reduction="sum"))(p)
        g2 = jax.grad(lambda p: lossjax.huber(p, t, delta=beta, reduction="sum"))(p)
        close10(g1, g2 / beta)
    else:
        close10(got, lossjax.absolute_error(p, t, reduction="none"))


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
    close10(f(inp), POISSON[(log_input, full)])
    close10(grad_sum(f)(inp), POISSON_GRAD[log_input])


def test_poisson_nll_rate_input_is_keras_poisson():
    # Keras docs, Poisson: y_pred - y_true * log(y_pred + epsilon), epsilon = 1e-7
    p, t = a64([0.5, 2.0, 1e-3, 4.0]), a64([1.0, 0.0, 2.0, 3.0])
    keras = p - t * jnp.log(p + 1e-7)
    close10(lossjax.poisson_nll(p, t, log_input=False, eps=1e-7, reduction="none"), keras)


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
    close10(f(mu, var), GAUSS[full])
    gm, gv = grad_sum(f, (0, 1))(mu, var)
    close10(gm, GAUSS_GRAD_MU)
    close10(gv, GAUSS_GRAD_VAR)  # straight-through clamp, as torch


def test_gaussian_nll_shared_variance_broadcasts():
    mu, t = a64([[0.0, 1.0], [2.0, 3.0]]), a64([[1.0, 1.0], [0.0, 0.0]])
    v = a64([[2.0], [0.5]])
    close10(lossjax.gaussian_nll(mu, t, v, reduction="none"),
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
    close10(f(a), 1.0 - np.array(COSINE_SIM))
    g = grad_sum(f)(a)
    # Rows 0-2 (the zero vector included) match torch; in row 3 the norm 1e-9 is below eps,
    # where torch's hand-written backward passes a gradient through the clamped norm and
    # lossjax differentiates the clamped function itself (documented).
    close10(g[:3], np.array(COSINE_DIST_GRAD)[:3], rtol=1e-9)
    close10(g[3], np.array([1.0, 1.0, 0.0]) / math.sqrt(2.0) / -1e-8, rtol=1e-9)
    # optax (epsilon=0 clamps squared norms; it is NaN at the zero vector, so rows 0 and 2)
    rows = jnp.array([0, 2])
    close10(f(a)[rows], optax.losses.cosine_distance(a[rows], b[rows]))
    close10(1.0 - f(a)[rows], optax.losses.cosine_similarity(a[rows], b[rows]))
    # Keras docs, CosineSimilarity: -sum(l2_normalize(y_true) * l2_normalize(y_pred))
    keras = -jnp.sum(a[rows] / jnp.linalg.norm(a[rows], axis=-1, keepdims=True)
                     * b[rows] / jnp.linalg.norm(b[rows], axis=-1, keepdims=True), axis=-1)
    close10(f(a)[rows] - 1.0, keras)


def test_cosine_distance_axis_and_float16_zero_vector():
    a = jax.random.normal(jax.random.PRNGKey(0), (3, 4, 2), F64)
    b = jax.random.normal(jax.random.PRNGKey(1), (3, 4, 2), F64)
    close10(lossjax.cosine_distance(a, b, axis=1, reduction="none"),
            lossjax.cosine_distance(jnp.moveaxis(a, 1, -1), jnp.moveaxis(b, 1, -1),
                                  reduction="none"))
    z = jnp.zeros((1, 3), jnp.float16)
    g = jax.grad(lambda z: lossjax.cosine_distance(z, jnp.ones((1, 3), jnp.float16)))(z)
    assert g.dtype == jnp.float16 and bool(jnp.all(jnp.isfinite(g)))


# ------------------------------------------------------------------- scikit-learn 1.9.1


# sklearn.metrics.mean_pinball_loss([t], [p], alpha=tau), one element at a time
PIN_P, PIN_T = [0.0, 1.0, 2.5, -1.0, 3.0], [1.0, 1.0, 0.5, 2.0, -1.0]
PINBALL = {
    0.1: [0.1, 0.0, 1.8, 0.30000000000000004, 3.6],
    0.5: [0.5, 0.0, 1.0, 1.5, 2.0],
    0.9: [0.9, 0.0, 0.19999999999999996, 2.7, 0.3999999999999999],
}


@pytest.mark.parametrize("tau", [0.1, 0.5, 0.9])
def test_quantile_matches_sklearn_pinball(tau):
    close10(lossjax.quantile(a64(PIN_P), a64(PIN_T), tau=tau, reduction="none"), PINBALL[tau])
    close10(lossjax.get("pinball")(a64(PIN_P), a64(PIN_T), tau=tau), np.mean(PINBALL[tau]))


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
    close10(lossjax.tweedie(a64(TW_S), a64(TW_C), power=power, reduction="none"),
            TWEEDIE[power], atol=1e-11)


# -------------------------------------------------------------------------------- optax


def test_regression_losses_match_optax():
    p = jnp.linspace(-30.0, 30.0, 41, dtype=jnp.float64)
    t = jnp.cos(p)
    close12(lossjax.squared_error(p, t, reduction="none"), optax.squared_error(p, t))
    close12(lossjax.l2(p, t, reduction="none"), optax.l2_loss(p, t))
    close12(lossjax.log_cosh(p, t, reduction="none"), optax.log_cosh(p, t), rtol=1e-10)


# -------------------------------------------------------- Keras 3 (documented formulas)


def test_keras_regression_formulas():
    p, t = a64([110.0, 45.0, 3.0, -1.0]), a64([100.0, 50.0, 0.0, 2.0])
    # MeanAbsolutePercentageError: 100 * |t - p| / max(|t|, epsilon), epsilon = 1e-7
    close10(lossjax.mean_absolute_percentage_error(p, t, reduction="none"),
            100.0 * jnp.abs(t - p) / jnp.maximum(jnp.abs(t), 1e-7))
    # MeanSquaredLogarithmicError: (log(max(p, eps) + 1) - log(max(t, eps) + 1))^2
    p2, t2 = a64([0.0, 1.0, 5.0, -2.0]), a64([1.0, 1.0, 0.5, 3.0])
    close10(lossjax.mean_squared_logarithmic_error(p2, t2, reduction="none"),
            (jnp.log(jnp.maximum(p2, 1e-7) + 1) - jnp.log(jnp.maximum(t2, 1e-7) + 1)) ** 2)


# ---------------------------------------------------------------- limits and reductions


def test_log_cosh_far_out_is_finite_in_float32():
    e = jnp.array([-1e4, -100.0, 0.0, 100.0, 1e4, 3e38], jnp.float32)
    v, g = jax.value_and_grad(lambda e: lossjax.log_cosh(e, jnp.zeros_like(e), reduction="sum"))(e)
    assert np.isfinite(float(v)) and np.all(np.isfinite(np.asarray(g)))
    close12(g[:5], np.tanh(np.asarray(e[:5], np.float64)), rtol=1e-6)


def test_pseudo_huber_limits():
    # small residuals: e^2 / 2; large: delta * |e| - delta^2 (Charbonnier 1994; Hartley and
    # Zisserman, Multiple View Geometry, 2nd ed., A6.8)
    d = 2.0
    small = jnp.array([1e-4], jnp.float64)
    close12(lossjax.pseudo_huber(small, 0 * small, delta=d, reduction="none"), small**2 / 2,
            rtol=1e-7)
    big = jnp.array([1e6], jnp.float64)
    close12(lossjax.pseudo_huber(big, 0 * big, delta=d, reduction="none"), d * big - d**2,
            rtol=1e-9)


def test_root_mean_squared_error_reductions():
    p = jnp.array([1.0, -2.0, 3.0, 0.5], jnp.float64)
    t = jnp.zeros(4, jnp.float64)
    w = jnp.array([1.0, 2.0, 0.5, 1.0], jnp.float64)
    e2 = np.asarray(p) ** 2
    close12(lossjax.get("rmse")(p, t), np.sqrt(e2.mean()))
    close12(lossjax.get("rmse")(p, t, weights=w), np.sqrt((np.asarray(w) * e2).sum() / np.sum(w)))
    close12(lossjax.get("rmse")(p, t, weights=w, reduction="sum"),
            np.sqrt((np.asarray(w) * e2).sum()))
    close12(lossjax.get("rmse")(p, t, weights=w, reduction="none"), np.asarray(w) * np.abs(p))
    # a zero residual everywhere: the root's gradient is finite (0), not NaN
    g = jax.grad(lambda p: lossjax.get("rmse")(p, p * 0))(jnp.zeros(3))
    assert np.all(np.asarray(g) == 0)


# ------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("quantile", {"tau": 1.5}),
        ("smooth_l1", {"beta": -1.0}),
        ("tweedie", {"power": 2.0}),
        ("poisson_nll", {"log_input": 1}),
        ("mean_absolute_percentage_error", {"epsilon": 0.0}),
    ],
)
def test_hyperparameter_domains(name, kwargs):
    assert_domain_error(name, kwargs)


def test_static_mistakes():
    with pytest.raises(ValueError, match="targets"):
        lossjax.poisson_nll(jnp.zeros(3), jnp.zeros(4))


# ----------------------------------------------------- references, non-default settings


CASES = [
    ("smooth_l1", {"beta": 0.3}),
    ("quantile", {"tau": 0.2}),
    ("mean_absolute_percentage_error", {"epsilon": 0.5}),
    ("poisson_nll", {"full": True}),
    ("gaussian_nll", {"full": True, "eps": 0.5}),
    ("tweedie", {"power": 1.3}),
    ("cosine_distance", {"epsilon": 0.1}),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=lambda c: str(c))
def test_against_references_with_hyperparameters(name, kwargs):
    assert_matches_reference(refs, name, kwargs)
