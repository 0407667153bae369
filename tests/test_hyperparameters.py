"""Hyperparameters are traced.

Registry-driven, so a new loss is covered by being registered:

* every static hyperparameter says why it is static (``Hyper.why_static``);
* each traced numeric hyperparameter is drawn across its declared domain, edges included
  (for ``[0, inf)``: 0, a small, a moderate and a large value; for ``[0, 1)``: 0 and just
  below 1), and the value and the gradients, with respect to every differentiable argument
  and to the hyperparameter itself, must be finite there. One jitted program per loss:
  ``vmap`` over the drawn values, which needs them traced;
* a new value of a traced hyperparameter reuses the compiled program (no recompilation).
"""

from __future__ import annotations

import math
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lossjax
from lossjax import _readme, registry
from lossjax.registry import Hyper, Interval

SPECS = [registry.spec(n) for n in lossjax.names()]


def _seed(name: str) -> int:
    return zlib.crc32(name.encode())


def _traced_numbers(spec) -> dict[str, Hyper]:
    """The traced hyperparameters that are one real number (default a number, a real domain)."""
    return {
        k: h for k, h in spec.hyperparameters.items()
        if not h.static and isinstance(h.domain, Interval)
        and isinstance(h.default, int | float) and not isinstance(h.default, bool)
    }


def domain_values(domain: Interval, default: float) -> list[float]:
    """Values across ``domain``, edges included: each finite end (or just inside an open one),
    and, toward an infinite end, a small, a moderate and a large step from the other end."""
    lo, hi = domain.low, domain.high
    inside = 1e-3
    out = [float(default)]
    if math.isfinite(lo) and math.isfinite(hi):
        width = hi - lo
        out += [lo + inside * width if domain.low_open else lo,
                lo + 0.5 * width,
                hi - inside * width if domain.high_open else hi]
    elif math.isfinite(lo):
        base = lo + inside if domain.low_open else lo
        out += [base, lo + inside, lo + 1.0, lo + 10.0]
    elif math.isfinite(hi):
        base = hi - inside if domain.high_open else hi
        out += [base, hi - inside, hi - 1.0, hi - 10.0]
    else:
        out += [-10.0, -1.0, 0.0, 1.0, 10.0]
    seen: list[float] = []
    for v in out:
        if v not in seen and domain.contains(v):
            seen.append(v)
    return seen


def test_domain_values_cover_the_edges():
    assert domain_values(registry.NONNEGATIVE, 2.0) == [2.0, 0.0, 1e-3, 1.0, 10.0]
    assert domain_values(registry.UNIT_RIGHT_OPEN, 0.0) == [0.0, 0.5, 0.999]
    assert domain_values(registry.POSITIVE, 1.0) == [1.0, 1e-3, 10.0]


def test_every_static_hyperparameter_says_why():
    missing = [
        f"{s.name}.{k}" for s in SPECS for k, h in s.hyperparameters.items()
        if h.static and not h.why_static
    ]
    assert not missing
    with pytest.raises(ValueError, match="why_static"):
        Hyper(None, static=True)


# Numeric hyperparameters (a real domain) that stay static, each for a shape or control flow.
# A new entry needs a reason here and in its Hyper.why_static.
STATIC_NUMBERS = {
    ("bi_tempered_logistic", "num_iters"): "a loop count",
    ("linear_cross_entropy", "chunk_size"): "a shape",
    ("linear_cross_entropy", "vocab_block_size"): "a shape",
    ("dice", "spatial_dims"): "a shape",
    ("jaccard", "spatial_dims"): "a shape",
    ("tversky", "spatial_dims"): "a shape",
    ("focal_tversky", "spatial_dims"): "a shape",
    ("lovasz_hinge", "spatial_dims"): "a shape",
    ("lovasz_softmax", "spatial_dims"): "a shape",
}


def test_numeric_hyperparameters_are_traced():
    static = {
        (s.name, k) for s in SPECS if s.builtin for k, h in s.hyperparameters.items()
        if h.static and isinstance(h.domain, Interval)
    }
    assert static <= set(STATIC_NUMBERS), sorted(static - set(STATIC_NUMBERS))


def test_readme_table_says_which_are_static_and_why():
    table = _readme.markdown_table()
    assert "| `bi_tempered_logistic` | `num_iters` |" in table
    assert "| `bi_tempered_logistic` | `t2` |" not in table  # traced
    assert "`gamma=2.0` (static)" not in table
    assert "| `sigmoid_focal` | `gamma` |" not in table


@pytest.mark.parametrize(
    "spec", [pytest.param(s, id=s.name) for s in SPECS if _traced_numbers(s)])
def test_domain_draws_finite_values_and_gradients(spec):
    """One jitted program per loss: every traced hyperparameter vmapped over its domain."""
    dtype = jnp.float32
    args, kwargs = spec.sample(jax.random.key(_seed(spec.name)), (3,), dtype)
    args = [jnp.asarray(a) for a in args]
    hypers = _traced_numbers(spec)
    diff = spec.diff_argnums if spec.differentiable else ()
    values = {k: jnp.asarray(domain_values(h.domain, h.default), dtype)
              for k, h in hypers.items()}

    def loss(k, v, *d):
        full = list(args)
        for i, a in zip(diff, d, strict=True):
            full[i] = a
        return spec.fn(*full, **{**kwargs, k: v})

    @jax.jit
    def run(values):
        out = {}
        for k, vs in values.items():
            def one(v, k=k):
                primal = [args[i] for i in diff]
                res = {"value": loss(k, v, *primal)}
                if diff:
                    res["grad"] = jax.grad(lambda *d: loss(k, *d),
                                           argnums=tuple(range(len(diff) + 1)))(v, *primal)
                return res

            out[k] = jax.vmap(one)(vs)
        return out

    out = run(values)
    bad = []
    for k, res in out.items():
        for part, leaves in (("value", [res["value"]]),
                             ("gradient", list(res.get("grad", ())))):
            for j, leaf in enumerate(leaves):
                leaf = np.asarray(leaf)
                ok = np.isfinite(leaf).reshape(leaf.shape[0], -1).all(axis=1)
                for v, good in zip(np.asarray(values[k]), ok, strict=True):
                    if not good:
                        what = part if part == "value" else (
                            f"d/d{k}" if j == 0 else f"d/dargs[{diff[j - 1]}]")
                        bad.append(f"{k}={float(v):g}: {what}")
    assert not bad, f"{spec.name}: non-finite at " + ", ".join(bad)


def _new_values(h: Hyper, n: int) -> list[float]:
    """``n`` distinct Python floats inside the domain, none of them a ``fast`` value."""
    cands = [v for v in domain_values(h.domain, h.default) if v not in h.fast]
    extra = [0.3, 0.45, 0.7, 1.3, 2.5, 3.5]
    cands += [v for v in extra if h.domain.contains(v) and v not in h.fast and v not in cands]
    return cands[:n]


@pytest.mark.parametrize(
    "spec", [pytest.param(s, id=s.name) for s in SPECS if _traced_numbers(s)])
def test_a_new_value_does_not_recompile(spec):
    args, kwargs = spec.sample(jax.random.key(_seed(spec.name)), (3,), jnp.float32)
    hypers = _traced_numbers(spec)
    draws = {k: _new_values(h, 3) for k, h in hypers.items()}
    n = min(len(v) for v in draws.values())
    assert n >= 2, draws
    fn = spec.fn
    before = fn.jitted._cache_size()
    for i in range(n):
        jax.block_until_ready(fn(*args, **{**kwargs, **{k: v[i] for k, v in draws.items()}}))
    assert fn.jitted._cache_size() - before <= 1


# --------------------------------------------------------------------------------------------
# Traced gamma, temperature, t1 and t2: jit, gradients, vmap, each solver


def _xy(seed=0):
    x = jax.random.normal(jax.random.key(seed), (6,), jnp.float32) * 3
    y = (jax.random.uniform(jax.random.key(seed + 1), (6,)) > 0.5).astype(jnp.float32)
    return x, y


def test_jit_sigmoid_focal_with_gamma_argument():
    x, y = _xy()
    for g in (0.0, 0.5, 2.0, 3.7):
        got = jax.jit(lossjax.sigmoid_focal)(x, y, gamma=g)
        want = lossjax.sigmoid_focal(x, y, gamma=g)
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_sigmoid_focal_gamma_gradient_matches_finite_differences():
    x = jnp.array([1e4, -1e4, 0.0, 3.0, -2.0], jnp.float64)
    y = jnp.array([1.0, 0.0, 1.0, 0.0, 0.3], jnp.float64)
    f = lambda g: lossjax.sigmoid_focal(x, y, gamma=g)
    for g in (0.0, 0.5, 2.0):
        grad = jax.grad(f)(jnp.float64(g))
        h = 1e-6
        fd = (f(g + h) - f(g - h)) / (2 * h) if g > 0 else (f(g + h) - f(g)) / h
        np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-9)
    # confidently right logits (1 - p_t = 0): the derivative in gamma is 0, not NaN
    g = jax.grad(lambda g: lossjax.sigmoid_focal(x[:2], y[:2], gamma=g))(jnp.float32(0.5))
    assert g == 0.0


def test_traced_gamma_equals_the_specialised_kernels():
    x, y = _xy(3)
    for g in (0.0, 2.0):
        traced = jax.jit(lambda g: lossjax.sigmoid_focal(x, y, gamma=g))(jnp.float32(g))
        np.testing.assert_allclose(traced, lossjax.sigmoid_focal(x, y, gamma=g), rtol=1e-6)
        gx_t = jax.grad(lambda x, g: lossjax.sigmoid_focal(x, y, gamma=g))(x, jnp.float32(g))
        gx_s = jax.grad(lambda x, g=g: lossjax.sigmoid_focal(x, y, gamma=g))(x)
        np.testing.assert_allclose(gx_t, gx_s, rtol=1e-5, atol=1e-7)


def test_vmap_and_grad_over_gamma_and_temperature():
    x = jax.random.normal(jax.random.key(1), (4, 5), jnp.float32)
    labels = jnp.array([0, 1, 2, 3])
    gammas = jnp.array([0.0, 0.5, 2.0])
    v = jax.vmap(lambda g: lossjax.softmax_focal(x, labels, gamma=g))(gammas)
    for i, g in enumerate((0.0, 0.5, 2.0)):
        np.testing.assert_allclose(v[i], lossjax.softmax_focal(x, labels, gamma=g), rtol=1e-5)
    t1s = jnp.array([0.5, 0.8, 1.0])
    v = jax.vmap(lambda t: lossjax.bi_tempered_logistic(x, labels, t1=t))(t1s)
    for i, t in enumerate((0.5, 0.8, 1.0)):
        np.testing.assert_allclose(v[i], lossjax.bi_tempered_logistic(x, labels, t1=t),
                                   rtol=1e-5)
    assert np.isfinite(jax.grad(lambda t: lossjax.bi_tempered_logistic(x, labels, t1=t))(0.8))


def test_bi_tempered_t1_one_traced_with_zero_targets():
    x = jnp.array([[1.0, -jnp.inf, 0.5], [0.2, 0.1, -0.3]])
    y = jnp.array([[1.0, 0.0, 0.0], [0.2, 0.0, 0.8]])
    f = lambda x, y, t: lossjax.bi_tempered_logistic(x, y, t1=t, t2=1.0)
    static = f(x, y, 1.0)
    traced = jax.jit(f)(x, y, jnp.float32(1.0))
    np.testing.assert_allclose(traced, static, rtol=1e-6)
    for g in jax.grad(f, argnums=(0, 1))(x, y, jnp.float32(1.0)):
        assert np.isfinite(np.asarray(g)[np.isfinite(np.asarray(x))]).all()


def test_bi_tempered_traced_t2_values_and_gradients_match_each_solver():
    """t2 is traced: one program holds the softmax, the fixed point and the
    log-space solver and runs the one t2 needs. Values against the float64 Brent-method
    reference (tests/references_multiclass.py) and the solver Python picks for a known t2;
    gradients in the logits against the known-t2 path."""
    import references_multiclass as refs

    from lossjax.multiclass import _tempered

    x = 2.0 * jax.random.normal(jax.random.key(21), (4, 5), jnp.float64)
    y = jnp.array([0, 1, 2, 3])
    traced = jax.jit(lambda x, t: lossjax.bi_tempered_logistic(x, y, t2=t, reduction="none"))
    # the same normaliser with t2 traced (run) and with t2 a Python number (known: the solver
    # Python picks; one compile per value); each with its gradient, compiled once
    c = jnp.asarray(np.random.default_rng(3).standard_normal(x.shape))
    run = jax.jit(lambda x, t: _tempered.tempered_log_softmax(x, t, 5))
    known = jax.jit(lambda x, t: _tempered.tempered_log_softmax(x, t, 5), static_argnums=1)
    g_run = jax.jit(jax.grad(lambda x, t: jnp.sum(c * jnp.exp(run(x, t)))))
    g_known = jax.jit(jax.grad(lambda x, t: jnp.sum(c * jnp.exp(known(x, t)))),
                      static_argnums=1)
    for t2 in (1.0, 1.0001, 1.2, 2.0, 13.0, 14.0, 60.0, 1e3):  # 14 on: log space (K = 5)
        got = traced(x, jnp.float64(t2))
        if t2 <= 14.0:  # the reference's normaliser ~5**(t2-1) fits float64
            want = refs.bi_tempered_logistic(np.asarray(x), np.asarray(y), t2=t2)
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10)
        t = jnp.float64(t2)
        np.testing.assert_allclose(run(x, t), known(x, t2), rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(g_run(x, t), g_known(x, t2), rtol=1e-9, atol=1e-15)
    # outside the domain, traced: NaN (a concrete value raises)
    assert np.isnan(np.asarray(traced(x, jnp.float64(0.5)))).all()
    # a new Python t2 does not compile again
    fn = lossjax.bi_tempered_logistic
    before = fn.jitted._cache_size()
    for t2 in (1.3, 1.7, 25.0):  # 25: log space, same program
        fn(x, y, t2=t2)
    assert fn.jitted._cache_size() - before <= 1


def test_bi_tempered_t2_derivative_matches_finite_differences():
    """d/dt2 (implicit function theorem, dG/dt written without cancellation) against central
    differences in float64 (one-sided at the domain's end t2 = 1), and the second derivative
    against differences of the first; float32 near t2 = 1 against the float64 derivative."""
    from lossjax.multiclass import _tempered

    x = jax.random.normal(jax.random.key(22), (3, 4), jnp.float64)
    y = jnp.array([0, 3, 1])
    f = jax.jit(lambda t: lossjax.bi_tempered_logistic(x, y, t1=0.7, t2=t))
    df = jax.jit(jax.grad(f))
    d2f = jax.jit(jax.grad(df))
    h = 1e-6
    for t2 in (1.0, 1.001, 1.2, 2.0, 5.0):
        t = jnp.float64(t2)
        fd = (f(t + h) - f(t - h)) / (2 * h) if t2 > 1.0 else (
            -3 * f(t) + 4 * f(t + h) - f(t + 2 * h)) / (2 * h)  # second order, one-sided
        np.testing.assert_allclose(df(t), fd, rtol=1e-6)
        if t2 > 1.0:
            fd2 = (df(t + h) - df(t - h)) / (2 * h)
            np.testing.assert_allclose(d2f(t), fd2, rtol=1e-5)
    # the log-space solver's own t-derivative (at t = 3 and 5, where it is not uniform)
    c = jnp.asarray(np.random.default_rng(4).standard_normal(x.shape))
    ls = jax.jit(lambda t: jnp.sum(c * jnp.exp(_tempered.tempered_log_softmax_log_space(x, t))))
    dls = jax.jit(jax.grad(ls))
    for t2 in (3.0, 5.0):
        t = jnp.float64(t2)
        np.testing.assert_allclose(dls(t), (ls(t + h) - ls(t - h)) / (2 * h), rtol=1e-6)
    # float32 just above t2 = 1 loses no digits (no 0/0 in dG/dt)
    x32 = x.astype(jnp.float32)
    df32 = jax.jit(jax.grad(lambda t: lossjax.bi_tempered_logistic(x32, y, t1=0.7, t2=t)))
    for t2 in (1.0, 1.0001, 1.01):
        np.testing.assert_allclose(df32(jnp.float32(t2)), df(jnp.float64(t2)), rtol=2e-5)


def test_bi_tempered_t2_vmapped_across_the_solvers():
    """Under vmap the solvers are computed for every t2 (each with a value in its own range)
    and selected: values equal the one-at-a-time ones, gradients are finite."""
    x = 3.0 * jax.random.normal(jax.random.key(23), (4, 5), jnp.float32)
    y = jnp.array([4, 1, 2, 0])
    t2s = jnp.array([1.0, 1.2, 4.0, 13.0, 40.0, 1e4], jnp.float32)
    f = lambda x, t: lossjax.bi_tempered_logistic(x, y, t2=t)
    v = jax.vmap(f, (None, 0))(x, t2s)
    for i, t2 in enumerate(t2s.tolist()):
        np.testing.assert_allclose(v[i], f(x, jnp.float32(t2)), rtol=1e-6)
    gx, gt = jax.vmap(jax.grad(f, argnums=(0, 1)), (None, 0))(x, t2s)
    assert np.isfinite(np.asarray(gx)).all() and np.isfinite(np.asarray(gt)).all()


def test_label_smoothing_schedule_compiles_once():
    x = jax.random.normal(jax.random.key(2), (8, 5), jnp.float32)
    labels = jnp.arange(8) % 5
    fn = lossjax.softmax_cross_entropy
    fn(x, labels, label_smoothing=0.05)  # the traced program
    before = fn.jitted._cache_size()
    for step in range(5):
        fn(x, labels, label_smoothing=0.1 * (1 - step / 5))
    assert fn.jitted._cache_size() == before

    @jax.jit
    def train_step(x, eps):
        return jax.value_and_grad(lambda x: fn(x, labels, label_smoothing=eps))(x)

    for eps in (0.1, 0.05, 0.0):
        v, g = train_step(x, jnp.float32(eps))
        np.testing.assert_allclose(v, fn(x, labels, label_smoothing=eps), rtol=1e-6)
        gs = jax.grad(lambda x, eps=eps: fn(x, labels, label_smoothing=eps))(x)
        np.testing.assert_allclose(g, gs, rtol=1e-5, atol=1e-7)
    assert train_step._cache_size() == 1


@pytest.mark.parametrize("name", ["softmax_cross_entropy", "nll", "poly1_cross_entropy",
                                  "softmax_focal"])
def test_traced_zero_smoothing_keeps_minus_inf_logits_safe(name):
    """With a traced eps = 0, ``eps * mean(x)`` must not be ``0 * -inf``."""
    x = jnp.array([[0.0, -jnp.inf, -jnp.inf, 1.0, 2.0], [0.5, 0.1, -0.2, 0.3, 0.0]])
    if name == "nll":
        x = jax.nn.log_softmax(x)
    labels = jnp.array([0, 2])
    fn = lossjax.get(name)
    static = fn(x, labels)
    f = lambda x, eps: fn(x, labels, label_smoothing=eps)
    traced = jax.jit(f)(x, jnp.float32(0.0))
    np.testing.assert_allclose(traced, static, rtol=1e-6)
    gx, geps = jax.grad(f, argnums=(0, 1))(x, jnp.float32(0.0))
    assert np.isfinite(np.asarray(gx)[np.isfinite(np.asarray(x))]).all()
    assert np.isfinite(geps)


def test_smoothing_gradient_matches_finite_differences():
    x = jax.random.normal(jax.random.key(4), (6, 5), jnp.float64)
    labels = jnp.array([0, 1, 2, 3, 4, 0])
    for name in ("softmax_cross_entropy", "nll", "poly1_cross_entropy", "softmax_focal"):
        fn = lossjax.get(name)
        f = lambda e, fn=fn: fn(x, labels, label_smoothing=e)
        for e in (0.0, 0.3):
            h = 1e-6
            fd = (f(e + h) - f(e)) / h if e == 0 else (f(e + h) - f(e - h)) / (2 * h)
            np.testing.assert_allclose(jax.grad(f)(jnp.float64(e)), fd, rtol=1e-5, atol=1e-8)


def test_concrete_values_are_still_range_checked():
    x, y = _xy()
    with pytest.raises(ValueError, match="gamma"):
        lossjax.sigmoid_focal(x, y, gamma=-1.0)
    with pytest.raises(ValueError, match="label_smoothing"):
        lossjax.softmax_cross_entropy(jnp.zeros((2, 3)), jnp.array([0, 1]), label_smoothing=1.0)
    with pytest.raises(ValueError, match="t1"):
        lossjax.bi_tempered_logistic(jnp.zeros((2, 3)), jnp.array([0, 1]), t1=1.5)
    with pytest.raises(ValueError, match="t2"):
        lossjax.bi_tempered_logistic(jnp.zeros((2, 3)), jnp.array([0, 1]), t2=0.5)
    with pytest.raises(TypeError, match="num_iters"):
        jax.jit(lambda n: lossjax.bi_tempered_logistic(jnp.zeros((2, 3)), jnp.array([0, 1]),
                                                       num_iters=n))(3)


def test_sigmoid_focal_hessian_with_traced_gamma_is_finite():
    """Confident logits (x up to 87 in float32, where the Hessian once was NaN), gamma traced."""
    x = jnp.linspace(-90.0, 90.0, 61, dtype=jnp.float32)
    cases = [(y0, g) for y0 in (0.0, 1.0) for g in (0.0, 0.5, 2.0)]

    @jax.jit  # every case in one compiled program: gamma traced (from `gs`) and a Python number
    def hessians(x, gs):
        out = []
        for (y0, g), g_traced in zip(cases, gs, strict=True):
            f = lambda x, g, y0=y0: lossjax.sigmoid_focal(x, jnp.full_like(x, y0), gamma=g,
                                                          reduction="sum")
            out.append((jax.hessian(f)(x, g_traced), jax.hessian(f)(x, g)))
        return out

    for (y0, g), (traced, python) in zip(
            cases, hessians(x, [jnp.float32(g) for _, g in cases]), strict=True):
        assert np.isfinite(np.asarray(traced)).all(), (y0, g)
        np.testing.assert_allclose(jnp.diag(traced), jnp.diag(python), rtol=1e-5, atol=1e-6)
