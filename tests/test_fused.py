"""The fused value-and-gradient kernels agree with plain autodiff of the textbook formulas.

Every loss that has a hand-written derivative (``lossjax._fused`` and the fused softmax
cross-entropy) is compared with a *reference*: the same formula written naively in this file
and differentiated by JAX's autodiff. The references are evaluated on inputs away from the
points where the naive formula overflows or has a kink, so plain autodiff is exact there.

Tolerances: float64 comparisons use ``rtol=1e-10`` (the fused and the naive formula differ
only by rounding, a few ulps of 1e-16, amplified by at most a few operations); float32 ones
use ``rtol=2e-5`` (a few float32 ulps, 1.2e-7 each, through exp/log/sqrt of moderate
arguments), with ``atol`` at the same scale relative to the largest entry.

No test here measures time; the last one checks the *structure* of the compiled program (no
full-size temporary in XLA's memory analysis), which is what the speed rests on.
"""

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lossjax
from lossjax import registry

N = 257  # odd, so that no vector-width coincidence hides a remainder bug


def _pair(seed, dtype, scale=2.0):
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    p = scale * jax.random.normal(k1, (N,), jnp.float64)
    t = jax.random.normal(k2, (N,), jnp.float64)
    return p.astype(dtype), t.astype(dtype)


def _binary(seed, dtype, soft=False):
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    x = 3.0 * jax.random.normal(k1, (N,), jnp.float64)
    y = jax.random.uniform(k2, (N,), jnp.float64) if soft else (
        jax.random.bernoulli(k2, 0.5, (N,)).astype(jnp.float64))
    return x.astype(dtype), y.astype(dtype)


def _signed(seed, dtype):
    x, y = _binary(seed, dtype)
    return x, (2 * y - 1).astype(dtype)


def _probs(seed, dtype):
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    p = jax.random.uniform(k1, (N,), jnp.float64, 0.02, 0.98)
    y = jax.random.uniform(k2, (N,), jnp.float64)
    return p.astype(dtype), y.astype(dtype)


def _counts(seed, dtype):
    """Non-negative predictions and targets over several decades, a few predictions < 0."""
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    p = jnp.exp(2.0 * jax.random.normal(k1, (N,), jnp.float64)).at[:5].set(-0.5)
    t = jnp.exp(2.0 * jax.random.normal(k2, (N,), jnp.float64))
    return p.astype(dtype), t.astype(dtype)


# --- naive references (textbook formulas; autodiff gives their derivatives) ----------------


def ref_huber(p, t, delta=1.0):
    e = p - t
    return jnp.where(jnp.abs(e) <= delta, 0.5 * e**2, delta * (jnp.abs(e) - 0.5 * delta))


def ref_pseudo_huber(p, t, delta=1.0):
    return delta**2 * (jnp.sqrt(1 + ((p - t) / delta) ** 2) - 1)


def ref_sigmoid_ce(x, y, pos_weight=1.0):
    return -(pos_weight * y * jax.nn.log_sigmoid(x) + (1 - y) * jax.nn.log_sigmoid(-x))


def ref_focal(x, y, gamma=2.0, alpha=None):
    # Lin et al. (2017), eq. 5, with soft targets: p_t = y p + (1 - y)(1 - p).
    p = jax.nn.sigmoid(x)
    p_t = y * p + (1 - y) * (1 - p)
    out = (1 - p_t) ** gamma * ref_sigmoid_ce(x, y)
    if alpha is not None:
        out = (alpha * y + (1 - alpha) * (1 - y)) * out
    return out


# name -> (kwargs, inputs(seed, dtype), reference, twice differentiable)
CASES = {
    "squared_error": ({}, _pair, lambda p, t: (p - t) ** 2, True),
    "l2": ({}, _pair, lambda p, t: 0.5 * (p - t) ** 2, True),
    "absolute_error": ({}, _pair, lambda p, t: jnp.abs(p - t), False),
    "huber": ({}, _pair, ref_huber, False),
    "huber_delta": ({"delta": 0.7}, _pair, lambda p, t: ref_huber(p, t, 0.7), False),
    "pseudo_huber": ({"delta": 0.5}, _pair, lambda p, t: ref_pseudo_huber(p, t, 0.5), True),
    "log_cosh": ({}, _pair, lambda p, t: jnp.log(jnp.cosh(p - t)), True),
    "hinge": ({}, _signed, lambda f, y: jnp.maximum(0, 1 - y * f), False),
    "squared_hinge": ({}, _signed, lambda f, y: jnp.maximum(0, 1 - y * f) ** 2, False),
    "binary_cross_entropy_with_logits": ({}, _binary, ref_sigmoid_ce, True),
    "bce_logits_pos_weight": ({"pos_weight": 3.0}, lambda s, d: _binary(s, d, soft=True),
                              lambda x, y: ref_sigmoid_ce(x, y, 3.0), True),
    "sigmoid_focal": ({}, _binary, ref_focal, True),
    "focal_soft_alpha": ({"alpha": 0.25, "gamma": 2.0}, lambda s, d: _binary(s, d, soft=True),
                         lambda x, y: ref_focal(x, y, 2.0, 0.25), True),
    "focal_gamma_half": ({"gamma": 0.5}, _binary, lambda x, y: ref_focal(x, y, 0.5), False),
    "focal_gamma_0": ({"gamma": 0.0}, _binary, lambda x, y: ref_focal(x, y, 0.0), True),
    "mean_squared_logarithmic_error": (
        {}, _counts,
        lambda p, t: (jnp.log1p(jnp.maximum(p, 1e-7)) - jnp.log1p(jnp.maximum(t, 1e-7))) ** 2,
        True),
    "binary_cross_entropy": ({}, _probs,
                             lambda p, y: -(y * jnp.log(p) + (1 - y) * jnp.log1p(-p)), True),
}
LOSS_OF = {"huber_delta": "huber", "bce_logits_pos_weight": "binary_cross_entropy_with_logits",
           "focal_soft_alpha": "sigmoid_focal", "focal_gamma_half": "sigmoid_focal",
           "focal_gamma_0": "sigmoid_focal"}
TOL = {jnp.float64: dict(rtol=1e-10, atol=1e-12), jnp.float32: dict(rtol=2e-5, atol=2e-6)}


def _fns(case):
    kwargs, make, ref, twice = CASES[case]
    fn = lossjax.get(LOSS_OF.get(case, case))
    return (lambda p, t: fn(p, t, **kwargs)), (lambda p, t: jnp.mean(ref(p, t))), make, twice


def _close(a, b, dtype):
    tol = TOL[dtype]
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(1.0, float(np.max(np.abs(b))))
    np.testing.assert_allclose(a, b, rtol=tol["rtol"], atol=tol["atol"] * scale)


def _derivatives(f):
    """Value, gradients in both arguments, a JVP and vmapped gradients: one compiled program."""

    @jax.jit
    def run(p, t, dp, dt, pb, tb):
        v, (gp, gt) = jax.value_and_grad(f, argnums=(0, 1))(p, t)
        _, tan = jax.jvp(f, (p, t), (dp, dt))
        return v, gp, gt, tan, jax.vmap(jax.grad(f))(pb, tb)

    return run


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_value_grad_jvp_vmap_match_autodiff(case, dtype):
    f, ref, make, _ = _fns(case)
    p, t = make(0, dtype)
    dp, dt = _pair(1, dtype)  # a random direction, in predictions and targets together
    pb, tb = jnp.stack([p, p[::-1], p]), jnp.stack([t, t, t[::-1]])  # 3 problems for vmap
    # kernel and reference in one compiled program
    got, want = jax.jit(lambda *a: (_derivatives(f)(*a), _derivatives(ref)(*a)))(
        p, t, dp, dt, pb, tb)
    assert got[0].dtype == dtype and got[1].dtype == dtype
    # value, d/dpredictions, d/dtargets (the kernel's autodiff fallback), JVP, vmapped grads
    for a, b in zip(got, want, strict=True):
        _close(a, b, dtype)


@pytest.mark.parametrize("case", sorted(c for c in CASES if CASES[c][3]))
def test_hessian_matches_autodiff(case):
    f, ref, make, _ = _fns(case)
    p, t = make(2, jnp.float64)
    p, t = p[:9], t[:9]
    for a, b in zip(_second(f)(p, t), _second(ref)(p, t), strict=True):
        _close(a, b, jnp.float64)


def _second(fn):
    @jax.jit
    def run(p, t):
        # Hessian in the predictions; mixed (predictions, targets): autodiff of the slope.
        return jax.hessian(fn)(p, t), jax.jacfwd(jax.grad(fn), argnums=1)(p, t)

    return run


def test_log_cosh_hessian_at_zero():
    # d^2/de^2 log cosh e = 1 - tanh(e)^2 = 1 at e = 0 (autodiff through |e| would give 0).
    h = jax.hessian(lambda p: lossjax.log_cosh(p, jnp.zeros(3), reduction="sum"))(jnp.zeros(3))
    np.testing.assert_allclose(h, np.eye(3))


def test_log_cosh_float32_keeps_relative_accuracy_from_tiny_to_huge_errors():
    """float32 log-cosh against a float64 reference over 1e-18 <= |e| <= 1e30.

    Reference: log cosh e = logaddexp(e, -e) - log 2 in float64, and the Taylor series
    e**2/2 - e**4/12 + e**6/45 below 1e-3 (where the float64 formula itself cancels). The
    textbook float32 form |e| + log1p(exp(-2|e|)) - log 2 fails this below |e| ~ 1e-3 (an
    absolute error of ~1e-7 against a value of e**2/2)."""
    e = np.concatenate([np.geomspace(1e-18, 1e30, 3001), [39.9, 40.0, 40.1, 88.0, 89.0]])
    e = e.astype(np.float32).astype(np.float64)  # the float32 inputs, exactly
    want = np.logaddexp(e, -e) - np.log(2.0)
    small = e < 1e-3
    want[small] = e[small] ** 2 / 2 - e[small] ** 4 / 12 + e[small] ** 6 / 45
    got = lossjax.log_cosh(jnp.asarray(e, jnp.float32), jnp.zeros(e.shape, jnp.float32),
                           reduction="none")
    assert got.dtype == jnp.float32
    # 1e-6 relative: a few float32 ulps (the form of the kernel: expm1, a division, log1p)
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=1e-6, atol=0)
    # both signs give the same value
    neg = lossjax.log_cosh(-jnp.asarray(e, jnp.float32), jnp.zeros(e.shape, jnp.float32),
                           reduction="none")
    np.testing.assert_array_equal(neg, got)


def test_msle_float32_keeps_relative_accuracy_when_prediction_and_target_agree():
    """Reference: (log1p(p) - log1p(t))**2 in float64 on the same float32 inputs, where the
    difference of the two log1p is exact to ~1e-16 (far below the 1e-7 ratio between p and t);
    in float32 that difference is rounding noise (relative error ~10 here before the fix)."""
    rng = np.random.default_rng(3)
    t = rng.uniform(0.5, 3.0, 400).astype(np.float32)
    p = (t * (1 + rng.choice([1e-6, 1e-5, 1e-3, 0.5], 400) * rng.standard_normal(400)))
    p = p.astype(np.float32)
    p64, t64 = p.astype(np.float64), t.astype(np.float64)
    keep = p64 != t64
    want = (np.log1p(p64) - np.log1p(t64)) ** 2
    got = lossjax.mean_squared_logarithmic_error(jnp.asarray(p), jnp.asarray(t), reduction="none")
    np.testing.assert_allclose(np.asarray(got, np.float64)[keep], want[keep], rtol=2e-6)
    # far-apart values (ratios up to 1e30): value and gradient still match float64
    big_t = np.array([1e10, 1.0, 3.9e28, 1e-9], np.float32)
    big_p = np.array([1.0, 1e10, 2.6e14, 3e38], np.float32)
    f = lambda p, t: lossjax.mean_squared_logarithmic_error(p, t, reduction="sum")
    g32 = jax.grad(f)(jnp.asarray(big_p), jnp.asarray(big_t))
    g64 = jax.grad(f)(jnp.asarray(big_p, jnp.float64), jnp.asarray(big_t, jnp.float64))
    np.testing.assert_allclose(np.asarray(g32, np.float64), g64, rtol=2e-6)


def test_hyperparameter_gradient_matches_autodiff():
    # A traced delta / pos_weight is differentiated by the autodiff fallback of the kernel.
    p, t = _pair(3, jnp.float64)
    x, y = _binary(3, jnp.float64, soft=True)

    @jax.jit
    def grads(d):
        return [
            jax.grad(lambda d: lossjax.huber(p, t, delta=d))(d),
            jax.grad(lambda d: lossjax.pseudo_huber(p, t, delta=d))(d),
            jax.grad(lambda w: lossjax.binary_cross_entropy_with_logits(x, y, pos_weight=w))(d),
        ]

    @jax.jit
    def ref_grads(d):
        return [
            jax.grad(lambda d: jnp.mean(ref_huber(p, t, d)))(d),
            jax.grad(lambda d: jnp.mean(ref_pseudo_huber(p, t, d)))(d),
            jax.grad(lambda w: jnp.mean(ref_sigmoid_ce(x, y, w)))(d),
        ]

    np.testing.assert_allclose(grads(0.8), ref_grads(0.8), rtol=1e-10)


def test_weights_and_where_reach_the_fused_gradient():
    # Reduction weights and masks multiply the cotangent; dropped positions get 0.
    p, t = _pair(4, jnp.float64)
    w = jnp.linspace(0.0, 2.0, N)
    m = jnp.arange(N) % 3 != 0
    g = jax.jit(jax.grad(lambda p: lossjax.huber(p, t, weights=w, where=m)))(p)
    rg = jax.jit(jax.grad(lambda p: jnp.sum(jnp.where(m, w * ref_huber(p, t), 0)) / jnp.sum(
        jnp.where(m, w, 0))))(p)
    np.testing.assert_allclose(g, rg, rtol=1e-10, atol=1e-15)


# --- softmax cross-entropy with integer labels --------------------------------------------


def _logits(seed, dtype, n=33, k=7, scale=3.0):
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    x = scale * jax.random.normal(k1, (n, k), jnp.float64)
    return x.astype(dtype), jax.random.randint(k2, (n,), 0, k)


def _ref_ce(x, y, eps=0.0):
    # optax 0.2.8 (softmax_cross_entropy with smoothed one-hot targets), differentiated by
    # autodiff: an independent implementation.
    k = x.shape[-1]
    target = optax.smooth_labels(jax.nn.one_hot(y, k, dtype=x.dtype), eps)
    return jnp.mean(optax.softmax_cross_entropy(x, target))


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_softmax_ce_labels_matches_autodiff(dtype, eps):
    x, y = _logits(5, dtype)
    dx = _logits(6, dtype)[0]

    def run(f):
        @jax.jit
        def go(x, dx):
            v, g = jax.value_and_grad(f)(x)
            tan = jax.jvp(f, (x,), (dx,))[1]
            out = [v, g, tan, jax.vmap(jax.grad(f))(jnp.stack([x, -x]))]
            if dtype == jnp.float64:
                out.append(jax.hessian(lambda x4: f(jnp.concatenate([x4, x[4:]])))(x[:4]))
            return out

        return go(x, dx)

    got = run(lambda x: lossjax.softmax_cross_entropy(x, y, label_smoothing=eps))
    want = run(lambda x: _ref_ce(x, y, eps))
    for a, b in zip(got, want, strict=True):
        _close(a, b, dtype)


def test_softmax_ce_fallback_when_a_logit_beats_the_label_by_more_than_exp_range():
    # The one-pass logsumexp is shifted by the label's logit; a wrong class 1e4 above it
    # overflows that shift and takes the max-shifted path (same value and gradient).
    x = jnp.array([[1e4, -1e4, 0.0, 0.0], [0.5, 0.1, -0.3, 2.0]], jnp.float32)
    y = jnp.array([1, 3])
    v, g = jax.value_and_grad(lossjax.softmax_cross_entropy)(x, y)
    rv, rg = jax.value_and_grad(lambda x: _ref_ce(x, y))(x)
    assert np.isfinite(v) and np.all(np.isfinite(g))
    np.testing.assert_allclose(v, rv, rtol=1e-6)
    np.testing.assert_allclose(g, rg, rtol=1e-5, atol=1e-7)


def _probability_ce_reference(x, y, hessian=True):
    """Closed forms in float64 numpy: value -sum_c y_c log p_c (a zero target leaves its class
    out, a positive one at p = 0 is inf), gradient in x softmax * sum(y) - y, in y -log p (0
    where p = 0, the convention of lossjax's dense_dot), Hessian in x sum(y) (diag p - p p^T)
    per row."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    m = np.max(np.where(np.isfinite(x), x, -np.inf), axis=-1, keepdims=True)
    lp = x - (m + np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True)))
    p = np.exp(lp)
    ruled = x == -np.inf
    with np.errstate(invalid="ignore"):
        terms = np.where(ruled, np.where(y != 0, np.inf, 0.0), -y * np.where(ruled, 0.0, lp))
    mass = np.sum(np.where(ruled, 0.0, y), axis=-1, keepdims=True)
    hess = None if not hessian else mass[..., None] * (
        np.einsum("ni,ij->nij", p, np.eye(x.shape[-1])) - p[..., :, None] * p[..., None, :])
    return terms.sum(-1), p * mass - np.where(ruled, 0.0, y), -np.where(ruled, 0.0, lp), hess


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32], ids=["f64", "f32"])
def test_softmax_ce_probability_targets_match_closed_forms(dtype):
    # The probability-target kernel (session 8): value, gradients in logits and targets, a
    # JVP and the Hessian, against closed forms; rows with a -inf logit under a zero target
    # (left out: finite), under a positive one (inf), unnormalised targets (mass 2), and a
    # row dropped by `where` holding NaN.
    rng = np.random.default_rng(88)
    x = rng.normal(0.0, 2.0, (6, 5))
    y = rng.dirichlet(np.ones(5), 6)
    x[1, 2], y[1, 2] = -np.inf, 0.0
    x[2, 0], y[2, 0] = -np.inf, 0.3
    y[3] *= 2.0
    x[5] = np.nan
    keep = np.array([True, True, True, True, True, False])
    xs, ys = jnp.asarray(x, dtype), jnp.asarray(y, dtype)

    def per_row(x, y):
        return lossjax.softmax_cross_entropy(x, y, where=keep, reduction="none")

    v = per_row(xs, ys)
    rv, rgx, rgy, rh = _probability_ce_reference(np.where(keep[:, None], x, 0.0),
                                                 np.where(keep[:, None], y, 0.0))
    rv[~keep] = 0.0
    assert np.isinf(v[2]) and v[5] == 0.0
    fin = np.isfinite(rv)
    _close(np.asarray(v)[fin], rv[fin], dtype)
    # derivatives of the finite rows' sum; the dropped row's are 0
    rows = jnp.asarray(fin & keep)

    def total(x, y):
        return jnp.sum(jnp.where(rows, per_row(x, y), 0.0))

    gx, gy = jax.grad(total, argnums=(0, 1))(xs, ys)
    want = fin & keep
    _close(np.asarray(gx)[want], rgx[want], dtype)
    _close(np.asarray(gy)[want], rgy[want], dtype)
    np.testing.assert_array_equal(np.asarray(gx)[5], 0.0)
    dx = jnp.asarray(rng.normal(size=x.shape), dtype)
    _, t = jax.jvp(lambda x: per_row(x, ys), (xs,), (dx,))
    _close(np.asarray(t)[want], np.sum(rgx * np.asarray(dx, np.float64), -1)[want], dtype)
    if dtype == jnp.float64:
        h = jax.hessian(lambda x: per_row(x, ys)[0])(xs)
        _close(np.asarray(h)[0, :, 0, :], rh[0], dtype)


def test_softmax_ce_probability_targets_keep_relative_accuracy_when_confident():
    # The value is -sum_c y_c (x_c - lse), each difference taken before the weighting: in
    # float32 a confident prediction (target class 30 above the rest, target mass 1 - 1e-6 on
    # it; loss ~3e-5) keeps a relative error of ~1e-5 against float64, where the cheaper
    # lse(x) - sum_c y_c x_c that the benchmark's naive form writes loses ~2 % (two numbers
    # ~30 apart cancel to 3e-5; measured here, session 8). Reference: float64 numpy.
    rng = np.random.default_rng(30)
    n, k = 256, 1000
    x = rng.normal(0.0, 1.0, (n, k))
    lab = rng.integers(0, k, n)
    x[np.arange(n), lab] += 30.0
    y = np.full((n, k), 1e-6 / (k - 1))
    y[np.arange(n), lab] = 1.0 - 1e-6
    ref, _, _, _ = _probability_ce_reference(x, y, hessian=False)
    xs, ys = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
    got = np.asarray(lossjax.softmax_cross_entropy(xs, ys, reduction="none"), np.float64)
    cheap = np.asarray(jax.nn.logsumexp(xs, -1) - jnp.sum(ys * xs, -1), np.float64)
    assert np.max(np.abs(got - ref) / ref) < 2e-4
    assert np.median(np.abs(cheap - ref) / ref) > 1e-3  # why the cheaper form is not used


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="XLA:CPU program structure")
def test_softmax_ce_probability_targets_write_one_intermediate():
    # XLA:CPU writes every full-size input of a YNNPACK reduction out first: autodiff of the
    # log-softmax (its backward needs the row sum of its cotangent) wrote four [N, K] arrays
    # in value_and_grad; the kernel writes the exponentials and the gradient, as plain
    # autodiff of lse(x) sum(y) - sum(y x) does, and nothing full-size for the value alone.
    x = jnp.zeros((64, 100), jnp.float32)
    y = jnp.full((64, 100), 0.01, jnp.float32)

    def count(f):
        hlo = f.lower(x, y).compile().as_text()
        entry = hlo[hlo.index("ENTRY"):]
        return len(re.findall(r"= f32\[64,100\]\{[0-9,]+\} fusion\(", entry))

    def ce(x, y):
        return lossjax.softmax_cross_entropy(x, y)

    assert count(jax.jit(ce)) == 0
    assert count(jax.jit(jax.value_and_grad(ce))) == 2


KERNEL_LOSSES = ["softmax_cross_entropy", "poly1_cross_entropy", "softmax_focal",
                 "generalized_cross_entropy", "symmetric_cross_entropy"]


@pytest.mark.parametrize("name", KERNEL_LOSSES)
def test_one_rows_overflow_leaves_the_other_rows_values_bit_for_bit(name):
    # The overflow fallback (a lax.cond for the whole batch) recomputes every row shifted by
    # its maximum, but only the rows that were not finite take its logsumexp: the others keep
    # their own value exactly, with or without a derivative (the JVP's program), so that a
    # batch's values do not depend on an unrelated row. Row 0 overflows the label shift
    # (1e4 above the label), row 1 holds a NaN (it propagates, kept), the rest are ordinary
    # and must equal the batch of the ordinary rows alone.
    fn = registry.get(name)
    rng = np.random.default_rng(80)
    ok = jnp.asarray(rng.normal(0.0, 3.0, (6, 7)), jnp.float32)
    y = jnp.asarray(rng.integers(0, 7, 8), jnp.int32)
    bad = jnp.zeros((2, 7), jnp.float32).at[0, 3].set(1e4).at[1, 2].set(jnp.nan)
    x = jnp.concatenate([bad, ok])
    y = y.at[0].set(0)

    def per_row(x, y):
        return fn(x, y, reduction="none")

    def per_row_in_jvp(x, y):  # the value the derivative's program computes
        return jax.jvp(lambda x: per_row(x, y), (x,), (jnp.ones_like(x),))[0]

    for f in (per_row, per_row_in_jvp):
        whole = np.asarray(jax.jit(f)(x, y))
        alone = np.asarray(jax.jit(f)(ok, y[2:]))
        assert np.isfinite(whole[0]) and np.isnan(whole[1]), (f.__name__, whole[:2])
        np.testing.assert_array_equal(whole[2:], alone, err_msg=f.__name__)


def test_softmax_ce_dropped_rows_may_hold_anything():
    # Rows dropped by ignore_index or where are not masked before the kernel (a pass saved);
    # their NaN/-inf logits must still not reach the value or the gradient.
    x = jnp.array([[0.0, 1.0, 2.0], [jnp.nan, 0.0, 0.0], [-jnp.inf] * 3], jnp.float32)
    y = jnp.array([2, -100, 1])
    keep = jnp.array([True, True, False])
    v, g = jax.value_and_grad(
        lambda x: lossjax.softmax_cross_entropy(x, y, where=keep))(x)
    rv, rg = jax.value_and_grad(lambda x: _ref_ce(x, y[:1]))(x[:1])
    np.testing.assert_allclose(v, rv, rtol=1e-6)
    np.testing.assert_allclose(g[:1], rg, rtol=1e-5)
    np.testing.assert_array_equal(g[1:], 0.0)


@pytest.mark.parametrize("name", ["softmax_cross_entropy", "poly1_cross_entropy"])
def test_dropped_rows_stay_out_of_the_traced_smoothing_derivative(name):
    # A dropped row's NaN/-inf logits must not reach d loss / d eps either (the kernel's
    # tangent in a traced eps reads x_y - mean_c x_c of every row). Reference, float64
    # numpy: d/d eps of -(1 - eps) log q_y - eps mean_c log q_c is log q_y - mean_c log q_c
    # = x_y - mean_c x_c (Szegedy et al. 2016, section 7); Poly-1 (Leng et al. 2022, eq. 3)
    # adds epsilon d(1 - p_t)/d eps = epsilon ((K - 1) / K - (1 - q_y)), p_t = (1 - eps) q_y
    # + eps / K; the mean is over the kept rows.
    x = np.array([[0.0, 1.0, 2.0], [np.nan, 0.0, 0.0], [-np.inf] * 3, [0.5, -1.0, 0.3]])
    y = np.array([2, -100, 1, 0])
    keep = np.array([True, True, False, True])
    fn = getattr(lossjax, name)
    d = jax.grad(lambda e: fn(jnp.asarray(x), jnp.asarray(y), label_smoothing=e,
                              where=jnp.asarray(keep)))(jnp.float64(0.1))
    kept = keep & (y != -100)
    xk, yk = x[kept], y[kept]
    rows = np.arange(len(yk))
    want = xk[rows, yk] - xk.mean(-1)
    if name == "poly1_cross_entropy":
        q_y = np.exp(xk[rows, yk] - np.log(np.exp(xk).sum(-1)))
        want = want + 2.0 * (2.0 / 3.0 - (1.0 - q_y))
    np.testing.assert_allclose(d, want.mean(), rtol=1e-12)



def _np_ce(x, y, keep, w, cw, eps):
    """Mean softmax CE and its gradient in float64 numpy (log-softmax shifted by the row max).

    The textbook definition (Bridle 1990; smoothing as Szegedy et al. 2016, section 7:
    targets ``(1 - eps) onehot + eps / K``; weights and class weights as PyTorch's
    ``cross_entropy``: the mean divides by ``sum w * w_y`` over the kept rows), written out
    here with its closed-form gradient ``w_i / W (softmax - (1 - eps) onehot - eps / K)``.
    """
    x = np.asarray(x, np.float64)
    n, k = x.shape
    keep = np.ones(n, bool) if keep is None else np.asarray(keep)
    xs = np.where(keep[:, None], x, 0.0)
    m = xs.max(-1, keepdims=True)
    log_q = xs - (m + np.log(np.exp(xs - m).sum(-1, keepdims=True)))
    rows = np.arange(n)
    yk = np.where(keep, y, 0)
    per = -(1 - eps) * log_q[rows, yk] - eps * log_q.mean(-1)
    wt = np.where(keep, 1.0 if w is None else np.asarray(w, np.float64), 0.0)
    if cw is not None:
        wt = wt * np.asarray(cw, np.float64)[yk]
    total = wt.sum()
    onehot = np.eye(k)[yk]
    grad = (wt / total)[:, None] * (np.exp(log_q) - (1 - eps) * onehot - eps / k)
    return (wt * per).sum() / total, grad


@pytest.mark.parametrize("dtype,spread", [(jnp.float32, 100.0), (jnp.float32, 1e4),
                                          (jnp.float64, 800.0)], ids=["f32-100", "f32-1e4",
                                                                      "f64-800"])
@pytest.mark.parametrize("form", ["plain", "ignore_where_weights", "class_weights", "smooth",
                                  "traced_smooth", "traced_zero"])
def test_softmax_ce_overflow_fallback_matches_float64_log_softmax(dtype, spread, form):
    # The kernel writes e = exp(x - x_y) once; a logit more than log(max) (88 in float32,
    # 709 in float64) above the label's overflows it, and the whole batch must take the
    # max-shifted program instead: finite, correct values and gradients (and tangents).
    n, k = 9, 7
    x, y = _logits(11, jnp.float64)
    x, y = np.array(x[:n, :k]), np.array(y[:n]) % k
    x[2, (y[2] + 1) % k] = spread / 2  # another class `spread` above the label
    x[2, y[2]] = -spread / 2
    x[5, :] = [0.0, spread, -spread, 1.0, 2.0, 3.0, -1.0]
    y[5] = 2
    keep = w = cw = None
    eps = 0.0
    kwargs = {}
    if form == "ignore_where_weights":
        y[1] = -100
        keep = np.array([True] * (n - 1) + [False])
        w = np.linspace(0.5, 2.0, n)
        x[n - 1, 0] = np.nan  # dropped by where: may hold anything
        kwargs = dict(where=jnp.asarray(keep), weights=jnp.asarray(w, dtype))
        keep = keep & (y != -100)
    elif form == "class_weights":
        cw = np.linspace(0.2, 1.5, k)
        kwargs = dict(class_weights=jnp.asarray(cw, dtype))
    elif form in ("smooth", "traced_smooth", "traced_zero"):
        eps = 0.0 if form == "traced_zero" else 0.1
    xj = jnp.asarray(x, dtype)
    yj = jnp.asarray(y)

    @jax.jit
    def run(x, e, dx):
        le = e if form.startswith("traced") else eps
        f = lambda x: lossjax.softmax_cross_entropy(x, yj, label_smoothing=le, **kwargs)
        v, g = jax.value_and_grad(f)(x)
        return v, g, jax.jvp(f, (x,), (dx,))[1]

    dx = jnp.asarray(np.cos(np.arange(n * k)).reshape(n, k), dtype)
    v, g, tan = run(xj, jnp.asarray(eps, dtype), dx)
    rv, rg = _np_ce(np.asarray(xj, np.float64), y, keep, w, cw, eps)
    rtan = np.sum(np.nan_to_num(rg) * np.asarray(dx, np.float64))
    assert np.isfinite(v) and np.all(np.isfinite(g)), (v, g)
    tol = TOL[dtype]
    np.testing.assert_allclose(v, rv, rtol=tol["rtol"])
    np.testing.assert_allclose(g, rg, rtol=tol["rtol"], atol=tol["atol"])
    np.testing.assert_allclose(tan, rtan, rtol=tol["rtol"], atol=tol["atol"])


def test_softmax_ce_overflow_fallback_second_derivatives():
    # Forward-over-reverse through the lax.cond of the one-exponential kernel, on a batch
    # that takes the max-shifted program (float64: a logit 800 above the label).
    x, y = _logits(12, jnp.float64)
    x, y = x[:3, :4], y[:3] % 4
    x = x.at[0, (y[0] + 1) % 4].set(800.0)

    def ref(x):
        return jnp.mean(jax.nn.logsumexp(x, -1) - jnp.take_along_axis(x, y[:, None], -1)[:, 0])

    for eps in (0.0, jnp.float64(0.0)):
        f = lambda x, eps=eps: lossjax.softmax_cross_entropy(x, y, label_smoothing=eps)
        _close(jax.hessian(f)(x), jax.hessian(ref)(x), jnp.float64)


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16], ids=["bf16", "f16"])
@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_softmax_ce_half_precision_computes_in_float32(dtype, eps):
    # Half-precision logits are upcast: the value (float32) and the gradient (rounded back to
    # the input dtype) are those of the float64 definition at the rounded inputs, also where
    # the batch takes the overflow fallback (a logit 100 above the label).
    x, y = _logits(13, jnp.float64)
    x, y = x[:16, :10], y[:16] % 10
    for spread in (0.0, 100.0):
        xh = x.at[3, (y[3] + 1) % 10].add(spread).astype(dtype)
        v, g = jax.value_and_grad(
            lambda x: lossjax.softmax_cross_entropy(x, y, label_smoothing=eps))(xh)
        rv, rg = _np_ce(np.asarray(xh.astype(jnp.float32), np.float64), np.asarray(y), None,
                        None, None, eps)
        assert v.dtype == jnp.float32 and g.dtype == dtype
        np.testing.assert_allclose(v, rv, rtol=1e-6)
        # the gradient's only error is its rounding to the half dtype (8 or 11 bits)
        bits = 8 if dtype == jnp.bfloat16 else 11
        np.testing.assert_allclose(np.asarray(g, np.float64), rg, rtol=2.0 ** -bits,
                                   atol=2.0 ** -bits * 1e-3)


# --- structure of the compiled program ----------------------------------------------------


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="XLA:CPU fusion structure")
@pytest.mark.parametrize("name", ["huber", "hinge", "log_cosh", "sigmoid_focal",
                                  "binary_cross_entropy_with_logits", "pseudo_huber"])
def test_value_and_grad_has_no_full_size_temporary(name):
    # The point of the fused kernels: value_and_grad of the mean compiles to a reduction of
    # the loss and one pass writing the gradient, with no full-size intermediate array in
    # between. (Autodiff of the plain formulas needs one or more, e.g. 2-4 MiB here.)
    spec = lossjax.spec(name)
    (args, kwargs) = spec.sample(jax.random.PRNGKey(0), (1 << 16,), jnp.float32)
    f = jax.jit(jax.value_and_grad(lambda p, t: spec.fn(p, t, **kwargs)))
    temp = f.lower(*args).compile().memory_analysis().temp_size_in_bytes
    assert temp < 4 * (1 << 16), f"{name}: {temp} bytes of temporaries"


# --- every loss registered with a hand-written slope (derived from the registry) -----------

SLOPED = [n for n in lossjax.names() if lossjax.spec(n).slope is not None]


def test_the_sloped_losses_include_the_known_fused_kernels():
    # The list above is derived from the registry; this pins that the derivation sees them.
    assert {"squared_error", "absolute_error", "huber", "hinge", "log_cosh"} <= set(SLOPED)


@pytest.mark.parametrize("name", SLOPED)
def test_a_hand_written_slope_is_the_derivative_of_its_loss(name):
    # For every loss registered with `slope=`, the registered function's value, gradients in
    # predictions and targets and (where twice differentiable) second derivative equal plain
    # autodiff of its own per-unit formula `spec.unit`, at the registry's sample inputs and at
    # each hyperparameter's default (float64; random inputs avoid the kinks).
    spec = lossjax.spec(name)
    (p, t), kwargs = spec.sample(jax.random.PRNGKey(7), (N,), jnp.float64)
    hyper = {k: h.default for k, h in spec.hyperparameters.items() if h.default is not None}
    hyper.update(kwargs)
    fused = lambda p, t: spec.fn(p, t, reduction="sum", **hyper)
    plain = lambda p, t: jnp.sum(spec.unit(p, t, **hyper))

    @jax.jit  # both sides in one compiled program (op by op, each primitive compiled alone)
    def derivatives(p, t):
        out = [jax.value_and_grad(f, argnums=(0, 1))(p, t) for f in (fused, plain)]
        if spec.twice_differentiable:
            out += [jax.grad(lambda p, f=f: jnp.sum(jax.grad(f)(p, t)))(p)
                    for f in (fused, plain)]
        return out

    (v, g), (rv, rg), *second = derivatives(p, t)
    np.testing.assert_allclose(v, rv, rtol=1e-12)
    for a, b in zip(g, rg, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    if spec.twice_differentiable:
        h, rh = second
        np.testing.assert_allclose(h, rh, rtol=1e-9, atol=1e-12)


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="XLA:CPU program structure")
@pytest.mark.parametrize("form", ["plain", "ignore_index", "smooth", "traced_smooth",
                                  "poly1", "poly1_traced_smooth", "focal", "generalized",
                                  "symmetric"])
def test_softmax_ce_value_and_grad_evaluates_one_exponential_per_logit(form):
    # The speed of softmax CE on a CPU rests on the exponential count (BUILD_NOTES, session
    # 6): value_and_grad compiles to one full-size exponential in the usual program and one in
    # the overflow fallback (the branch of a lax.cond), not a second one for the gradient.
    # Poly-1, softmax focal, generalized and symmetric cross-entropy with integer labels run
    # on the same kernel (sessions 7 and 8; Poly-1 with a smoothing calls it twice, and XLA
    # merges the two calls' exponentials).
    x = jnp.zeros((64, 100), jnp.float32)
    y = jnp.zeros((64,), jnp.int32)
    kw = {"ignore_index": {"ignore_index": 3}, "smooth": {"label_smoothing": 0.1}}.get(form, {})
    fn = {"poly1": lossjax.poly1_cross_entropy, "poly1_traced_smooth":
          lossjax.poly1_cross_entropy, "focal": lossjax.softmax_focal,
          "generalized": lossjax.generalized_cross_entropy,
          "symmetric": lossjax.symmetric_cross_entropy}.get(form, lossjax.softmax_cross_entropy)

    def f(x, y, eps):
        if form.endswith("traced_smooth"):
            return fn(x, y, label_smoothing=eps)
        return fn(x, y, **kw)

    hlo = jax.jit(jax.value_and_grad(f)).lower(x, y, jnp.float32(0.1)).compile().as_text()
    full = re.findall(r"f32\[64,100(?:,1)*\]\{[0-9,]+\} exponential\(", hlo)
    assert len(full) == 2, hlo
    assert " conditional(" in hlo
