"""Tests of lossjax.linear_cross_entropy (fused, chunked linear layer + cross-entropy).

Two parts. ``LinearCrossEntropyContract`` holds the checks every implementation of the op
(``lossjax.linear_ce.api.IMPLEMENTATIONS``) must pass, run once per implementation by its
subclasses ``TestChunked`` and ``TestReference`` (a new kernel is tested by adding a
subclass; ``test_every_implementation_runs_the_contract`` fails until it is). The module-level
tests are those of the chunked kernel itself (chunk sizes, memory, matrix-product counts,
compile caches) and of the registration.

The reference throughout is the naive path (``lossjax.linear_ce.reference.
naive_linear_cross_entropy``): materialise the logits ``hidden @ weight.T + bias``
(soft-capped as Gemma 2 does), then ``lossjax.softmax_cross_entropy`` with the same options,
plus the PaLM z-loss ``z_loss * logsumexp(logits)**2`` per token where it is on; and, for the
plain case, ``optax.softmax_cross_entropy_with_integer_labels`` and an independent
NumPy/SciPy float64 formula. Shapes are small (N = 37 tokens, D = 16, V = 101 classes,
chunks of 8 tokens and vocabulary blocks of 32 rows) so that both loops and both remainders
run.
"""

from __future__ import annotations

import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import special

import lossjax
from lossjax import linear_ce
from lossjax.linear_ce import api
from lossjax.linear_ce.reference import naive_linear_cross_entropy

N, D, V = 37, 16, 101
SMALL = {"chunk_size": 8, "vocab_block_size": 32}


def _inputs(dtype=jnp.float64, seed=0, n=N, d=D, v=V):
    k = jax.random.split(jax.random.key(seed), 8)
    h = jax.random.normal(k[0], (n, d), jnp.float32).astype(dtype)
    w = (0.5 * jax.random.normal(k[1], (v, d), jnp.float32)).astype(dtype)
    b = (0.3 * jax.random.normal(k[2], (v,), jnp.float32)).astype(dtype)
    y = jax.random.randint(k[3], (n,), 0, v)
    y = y.at[3].set(-100).at[11].set(-100)  # two ignored tokens
    extras = {
        "class_weights": jax.random.uniform(k[4], (v,), jnp.float32, 0.2, 2.0).astype(dtype),
        "weights": jax.random.uniform(k[5], (n,), jnp.float32, 0.0, 2.0).astype(dtype),
        "where": jax.random.bernoulli(k[6], 0.8, (n,)),
        "cot": jax.random.normal(k[7], (n,), jnp.float32).astype(dtype),
    }
    return h, w, b, y, extras


naive = naive_linear_cross_entropy


def entry_points(implementation):
    """``(loss, loss_and_lse)`` of one implementation, called as the public functions: the
    public functions themselves for the default, the same checks and jit otherwise."""
    if implementation == api.DEFAULT_IMPLEMENTATION:
        return lossjax.linear_cross_entropy, lossjax.linear_cross_entropy_with_lse

    def loss_and_lse(h, w, y, *, weights=None, where=None, reduction="mean", **hyper):
        return api.checked_loss_and_lse(
            "linear_cross_entropy", h, w, y, weights=weights, where=where,
            reduction=reduction, hyperparameters=hyper, implementation=implementation)

    return (lambda *a, **k: loss_and_lse(*a, **k)[0]), loss_and_lse


OPTIONS = {
    "plain": {},
    "bias": {"bias": True},
    "label_smoothing": {"label_smoothing": 0.1},
    "z_loss": {"z_loss": 1e-2},
    "logit_softcap": {"logit_softcap": 2.0},
    "class_weights": {"class_weights": True},
    "weights": {"weights": True},
    "where": {"where": True},
    "no_ignore_index": {"ignore_index": None},
    "everything": {"bias": True, "label_smoothing": 0.2, "z_loss": 1e-3, "logit_softcap": 3.0,
                   "class_weights": True, "weights": True, "where": True},
}


def _resolve(opts, b, extras, y):
    kw = dict(opts)
    if kw.get("ignore_index", -100) is None:
        y = jnp.where(y < 0, 0, y)
    for k in ("class_weights", "weights", "where"):
        if kw.get(k):
            kw[k] = extras[k]
    use_bias = kw.pop("bias", False)
    return kw, use_bias, y


REDUCTIONS = ("mean", "sum", "none")


def _value_and_grads(fn, h, w, b, y, kw, use_bias, cot):
    """Value and gradients (hidden, weight, bias) for the three reductions (traced: call it
    under jit); reduction="none" is differentiated through sum(loss * cot), a per-token
    cotangent."""

    def f(h, w, b, reduction):
        out = fn(h, w, y, bias=b if use_bias else None, reduction=reduction, **kw)
        return jnp.sum(out * cot) if reduction == "none" else out

    return {r: jax.value_and_grad(f, argnums=(0, 1, 2))(h, w, b, r) for r in REDUCTIONS}


@functools.cache
def _option_matrix(implementation, dtype_name):
    """Every option, the implementation's and naive, in one compiled program per dtype (one
    compilation of the whole matrix costs much less than one per option)."""
    dtype = jnp.dtype(dtype_name)
    h, w, b, y, extras = _inputs(dtype)
    names = OPTIONS if dtype == jnp.float64 else FLOAT32_OPTIONS
    cases = {o: _resolve(OPTIONS[o], b, extras, y) for o in names}
    cot = extras["cot"]

    loss, _ = entry_points(implementation)

    def fused(*a, **k):
        return loss(*a, **k, **SMALL)

    @jax.jit
    def matrix(h, w, b):
        out = {}
        for o, (kw, use_bias, yo) in cases.items():
            per_token = naive(h, w, yo, bias=b if use_bias else None, reduction="none", **kw)
            out[o] = (_value_and_grads(fused, h, w, b, yo, kw, use_bias, cot),
                      _value_and_grads(naive, h, w, b, yo, kw, use_bias, cot), per_token)
        return out

    return matrix(h, w, b), cases, cot


# Every option in float64 (the option logic); in float32 the plain case and everything at
# once (float32 rounding of the same logic). One xdist worker compiles each dtype's matrix.
MATRIX = [pytest.param(jnp.float64, o, marks=pytest.mark.xdist_group("lce-matrix-float64"),
                       id=f"float64-{o}") for o in OPTIONS]
MATRIX += [pytest.param(jnp.float32, o, marks=pytest.mark.xdist_group("lce-matrix-float32"),
                        id=f"float32-{o}") for o in ("plain", "everything")]
FLOAT32_OPTIONS = ("plain", "everything")


@pytest.mark.parametrize("chunk_size,vocab_block_size",
                         [(1, 1), (5, 7), (N, V), (64, 200), (None, None), (36, 100)])
def test_chunking_does_not_change_the_result(chunk_size, vocab_block_size):
    h, w, b, y, extras = _inputs(jnp.float64)

    def f(h, w, b, **kw):
        return lossjax.linear_cross_entropy(h, w, y, bias=b, label_smoothing=0.1, z_loss=1e-3,
                                            weights=extras["weights"], **kw)

    ref = jax.value_and_grad(f, (0, 1, 2))(h, w, b, **SMALL)
    got = jax.value_and_grad(f, (0, 1, 2))(h, w, b, chunk_size=chunk_size,
                                           vocab_block_size=vocab_block_size)
    for a, c in zip(jax.tree.leaves(got), jax.tree.leaves(ref), strict=True):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-15)


def test_default_chunk_sizes():
    # 32 MiB of float32 logits per chunk, at least 128 tokens; 4 MiB of float32 per
    # weight-gradient block
    assert linear_ce.default_chunk_size(32768) == 256
    assert linear_ce.default_chunk_size(131072) == 128
    assert linear_ce.default_chunk_size(8192) == 1024
    assert linear_ce.default_chunk_size(10) == 4096
    assert linear_ce.default_chunk_size(1 << 30) == 128
    assert linear_ce.default_vocab_block_size(512) == 2048
    assert linear_ce.default_vocab_block_size(4096) == 256


# Finite values and gradients at the boundary cases (float32, bfloat16, float16) are the contract
# battery's test_boundary_values_and_gradients_are_finite, which reads the same spec.boundary.


def _hlo_largest_array(fn, *args) -> int:
    text = jax.jit(fn).lower(*args).compile().as_text()
    sizes = [int(np.prod([int(s) for s in m.split(",") if s])) for m in
             re.findall(r"(?:f32|f64|bf16|f16|s32|pred)\[([\d,]*)\]", text)]
    return max(sizes)


def test_logits_are_never_materialised():
    """No array in the compiled value-and-gradient program has N * V elements (or a quarter)."""
    n, d, v = 256, 16, 1000
    h, w, _, y, _ = _inputs(jnp.float32, n=n, d=d, v=v)

    def ours(h, w):
        return lossjax.linear_cross_entropy(h, w, y, chunk_size=32, vocab_block_size=128)

    def ours_none(h, w):
        return jnp.sum(lossjax.linear_cross_entropy(h, w, y, chunk_size=32, reduction="none"))

    for f in (ours, ours_none):
        assert _hlo_largest_array(jax.value_and_grad(f, (0, 1)), h, w) <= n * v // 8
    # the check itself can fail: the naive path has the [N, V] logits
    naive_vg = jax.value_and_grad(lambda h, w: naive(h, w, y), (0, 1))
    assert _hlo_largest_array(naive_vg, h, w) >= n * v


def test_temporary_memory_is_a_fraction_of_the_naive_path():
    n, d, v = 1024, 32, 4096
    h, w, _, y, _ = _inputs(jnp.float32, n=n, d=d, v=v)

    def temp(f):
        lowered = jax.jit(jax.value_and_grad(f, (0, 1))).lower(h, w)
        return lowered.compile().memory_analysis().temp_size_in_bytes

    ours = temp(lambda h, w: lossjax.linear_cross_entropy(h, w, y, chunk_size=64))
    reference = temp(lambda h, w: optax.softmax_cross_entropy_with_integer_labels(
        h @ w.T, y).mean())
    assert reference >= n * v * 4  # at least the float32 logits (16 MiB)
    # chunk logits 64 x 4096 float32 = 1 MiB, plus the weight-gradient block and small things
    assert ours <= 4 * 64 * v * 4
    assert ours * 8 <= reference


def _count_dots(fn, *args) -> int:
    return str(jax.make_jaxpr(fn)(*args)).count("dot_general[")


def test_three_matrix_products_for_value_and_gradient():
    """Mean/sum: logits, dlogits @ W and dlogits.T @ h, each once per chunk; the value alone:
    the logits only; reduction="none" recomputes the logits in the backward pass (four)."""
    h, w, _, y, _ = _inputs(jnp.float32, n=64, d=8, v=96)
    kw = dict(chunk_size=16, vocab_block_size=32)  # full chunks and blocks: one body each
    mean = lambda h, w: lossjax.linear_cross_entropy(h, w, y, **kw)
    none = lambda h, w: jnp.sum(lossjax.linear_cross_entropy(h, w, y, reduction="none", **kw))
    assert _count_dots(mean, h, w) == 1
    assert _count_dots(jax.value_and_grad(mean, (0, 1)), h, w) == 3
    assert _count_dots(jax.value_and_grad(none, (0, 1)), h, w) == 4


def test_registry_entry_and_samples():
    spec = lossjax.spec("linear_cross_entropy")
    assert lossjax.get("linear_cross_entropy") is lossjax.linear_cross_entropy
    assert spec.task == "multiclass" and spec.predictions == "hidden"
    assert spec.diff_argnums == (0, 1) and spec.batch_argnums == (0, 2)
    assert spec.hyperparameters["chunk_size"].static
    for batch in [(), (3,), (2, 5)]:
        (h, w, y), kw = spec.sample(jax.random.key(1), batch, jnp.float32)
        assert h.shape == (*batch, w.shape[1]) and y.shape == batch
        assert spec.fn(h, w, y, reduction="none", **kw).shape == batch
    checked = lossjax.checked("linear_cross_entropy")
    (h, w, y), _ = spec.sample(jax.random.key(1), (4,), jnp.float32)
    assert np.isfinite(float(checked(h, w, y)))
    with pytest.raises(Exception, match="labels must lie"):
        checked(h, w, y.at[0].set(99))


# --------------------------------------------------------------------------------------------
# label_smoothing, z_loss and logit_softcap are traced (issue 11, item 14 / deliver 2(c))

HYPER = ("label_smoothing", "z_loss", "logit_softcap")
HP = (0.2, 1e-2, 3.0)  # a point inside each domain


def _hyper_loss(fn, h, w, b, y, reduction, extra, cot, **fixed):
    """``f(hp) -> loss`` for the hyperparameters not in ``fixed`` (in HYPER order), and
    ``sum(loss * cot)`` for reduction="none"."""
    free = [k for k in HYPER if k not in fixed]
    small = {} if fn is naive else SMALL

    def f(hp):
        out = fn(h, w, y, bias=b, reduction=reduction, **dict(zip(free, hp, strict=True)),
                 **fixed, **extra, **small)
        return jnp.sum(out * cot) if reduction == "none" else out

    return f, free


def test_public_functions_compile_once_for_new_hyperparameter_values():
    """The registered function and linear_cross_entropy_with_lse: new Python values (none of
    them a fast value) reuse one program."""
    h, w, b, y, _ = _inputs(jnp.float64)
    schedule = [(0.2, 1e-3, 5.0), (0.1, 1e-2, 3.0), (0.05, 0.0, 30.0)]
    fn = lossjax.linear_cross_entropy
    fn(h, w, y, label_smoothing=0.3, z_loss=0.2, logit_softcap=4.0, **SMALL)
    before = fn.jitted._cache_size()
    for eps, zl, cap in schedule:
        fn(h, w, y, label_smoothing=eps, z_loss=zl + 1e-4, logit_softcap=cap, **SMALL)
    assert fn.jitted._cache_size() == before
    # linear_cross_entropy_with_lse likewise
    lse_fn = api._jitted
    lossjax.linear_cross_entropy_with_lse(h, w, y, label_smoothing=0.3, z_loss=0.2)
    before = lse_fn._cache_size()
    for eps in (0.1, 0.2, 0.4):
        lossjax.linear_cross_entropy_with_lse(h, w, y, label_smoothing=eps, z_loss=eps)
    assert lse_fn._cache_size() == before


def test_traced_zero_smoothing_with_minus_inf_bias():
    """A traced eps = 0 beside -inf bias entries: the value is the plain one (the smoothing
    term's limit 0, not 0 * -inf) and every derivative, in eps and the cap too, is finite;
    a traced eps > 0 gives +inf, as the naive path. (The chunked kernel's own, not the
    contract: the cap's derivative at a -inf logit is its limit here, where autodiff of the
    full logits, the reference implementation's too, gives NaN.)"""
    h, w, b, y, _ = _inputs(jnp.float64)
    y = jnp.where(y < 0, 1, y)
    b = b.at[jnp.array([0, 7, 50])].set(-jnp.inf)
    y = jnp.where((y == 0) | (y == 7) | (y == 50), 2, y)
    plain = lossjax.linear_cross_entropy(h, w, y, bias=b, **SMALL)

    def f(eps, h, cap=None):
        return lossjax.linear_cross_entropy(h, w, y, bias=b, label_smoothing=eps,
                                            logit_softcap=cap, **SMALL)

    v, grads = jax.jit(jax.value_and_grad(f, (0, 1)))(jnp.float64(0.0), h)
    np.testing.assert_allclose(v, plain, rtol=1e-14)
    assert all(np.all(np.isfinite(g)) for g in grads)
    # as lossjax.softmax_cross_entropy's traced eps = 0 (the -inf classes' term counts 0)
    want = jax.grad(lambda e: naive(h, w, y, bias=b, label_smoothing=e))(jnp.float64(0.0))
    np.testing.assert_allclose(grads[0], want, rtol=1e-12)
    assert np.isposinf(jax.jit(f)(jnp.float64(0.1), h))
    assert np.isposinf(naive(h, w, y, bias=b, label_smoothing=0.1))
    # the cap's derivative at -inf logits (u = -inf, 1 - tanh(u)**2 = 0): finite, the limit.
    # The naive path's autodiff gives 0 * inf = NaN there; a -1e30 bias caps to the same -c
    # (tanh = -1 exactly in float64) and its autodiff is the limit.
    gcap = jax.grad(lambda c: f(jnp.float64(0.1), h, c))(jnp.float64(3.0))
    big = jnp.where(jnp.isinf(b), -1e30, b)
    want = jax.grad(lambda c: naive(h, w, y, bias=big, label_smoothing=0.1,
                                    logit_softcap=c))(jnp.float64(3.0))
    assert np.isfinite(gcap)
    np.testing.assert_allclose(gcap, want, rtol=1e-11)


def test_hyperparameters_not_differentiated_cost_no_extra_work():
    """A traced hyperparameter that is not differentiated runs the same sweep as before: the
    gradient program in (hidden, weight) has no derivative in the cap (no extra reduction
    over the vocabulary), while differentiating the cap adds it."""
    h, w, _, y, _ = _inputs(jnp.float32, n=64, d=8, v=96)
    kw = dict(chunk_size=16, vocab_block_size=32)

    def f(cap, h, w):
        return lossjax.linear_cross_entropy(h, w, y, logit_softcap=cap, **kw)

    def reductions(argnums):
        jaxpr = str(jax.make_jaxpr(jax.grad(f, argnums))(jnp.float32(3.0), h, w))
        return jaxpr.count("reduce_sum[")

    assert reductions((0, 1, 2)) > reductions((1, 2))


def test_registry_declares_the_three_traced():
    hypers = lossjax.spec("linear_cross_entropy").hyperparameters
    for k in HYPER:
        assert not hypers[k].static and not hypers[k].why_static, k
    assert hypers["label_smoothing"].fast == (0.0,) and hypers["z_loss"].fast == (0.0,)
    for k in ("ignore_index", "chunk_size", "vocab_block_size"):
        assert hypers[k].static and hypers[k].why_static, k


# --------------------------------------------------------------------------------------------
# The contract every implementation of the op passes (api.IMPLEMENTATIONS): values, gradients,
# masks, weights, reductions, dtypes, errors and the traced hyperparameters, against the naive
# path. A new implementation is tested by adding a subclass below.


class LinearCrossEntropyContract:
    """The shared checks; a subclass sets ``IMPLEMENTATION`` (a key of api.IMPLEMENTATIONS)."""

    IMPLEMENTATION: str

    def loss(self, *args, **kwargs):
        return entry_points(self.IMPLEMENTATION)[0](*args, **kwargs)

    def loss_and_lse(self, *args, **kwargs):
        return entry_points(self.IMPLEMENTATION)[1](*args, **kwargs)

    @pytest.mark.parametrize("dtype,option", MATRIX)
    def test_option_matrix_matches_naive_path(self, option, dtype):
        results, cases, cot = _option_matrix(self.IMPLEMENTATION, jnp.dtype(dtype).name)
        got, want, per_token = results[option]
        use_bias = cases[option][1]
        # float64: agreement to 1e-12 relative; float32: to float32 rounding (sums over V = 101
        # classes and N = 37 tokens, so a few ulps of the largest entry).
        rtol = 1e-12 if dtype == jnp.float64 else 2e-6
        for reduction in REDUCTIONS:
            (v1, g1), (v2, g2) = got[reduction], want[reduction]
            assert v1.dtype == jnp.dtype(dtype)
            # "none" is compared through sum(loss * cot) with signed cotangents: cancellation
            # leaves an absolute error of a few ulps of the partial sums, not of the result.
            vscale = 1.0 if reduction != "none" else float(jnp.sum(jnp.abs(cot * per_token)))
            np.testing.assert_allclose(v1, v2, rtol=rtol, atol=rtol * vscale, err_msg=reduction)
            names = ("hidden", "weight", "bias") if use_bias else ("hidden", "weight")
            for name, a, c in zip(names, g1, g2, strict=False):
                assert a.dtype == jnp.dtype(dtype), name
                scale = float(jnp.max(jnp.abs(c)))
                np.testing.assert_allclose(a, c, rtol=rtol, atol=4 * rtol * scale,
                                           err_msg=f"{reduction}: {name}")
            if not use_bias:  # bias unused: zero gradient
                np.testing.assert_array_equal(g1[2], 0)

    def test_plain_case_matches_optax_float32(self):
        h, w, _, y, _ = _inputs(jnp.float32)
        y = jnp.where(y < 0, 1, y)

        def ours(h, w):
            return self.loss(h, w, y, **SMALL)

        def reference(h, w):  # the naive path the issue measures against
            return optax.softmax_cross_entropy_with_integer_labels(h @ w.T, y).mean()

        (v1, g1), (v2, g2) = (jax.value_and_grad(f, (0, 1))(h, w) for f in (ours, reference))
        np.testing.assert_allclose(v1, v2, rtol=2e-6)
        for a, c in zip(g1, g2, strict=True):
            np.testing.assert_allclose(a, c, rtol=2e-6, atol=2e-6 * float(jnp.max(jnp.abs(c))))

    def test_per_token_values_match_numpy_formula(self):
        """Independent float64 reference: -log softmax(x)[y] per token, from SciPy's logsumexp."""
        h, w, b, y, _ = _inputs(jnp.float64)
        x = np.asarray(h) @ np.asarray(w).T + np.asarray(b)
        yn = np.asarray(y)
        want = np.where(yn == -100, 0.0,
                        special.logsumexp(x, axis=1) - x[np.arange(N), np.maximum(yn, 0)])
        got = self.loss(h, w, y, bias=b, reduction="none", **SMALL)
        np.testing.assert_allclose(got, want, rtol=1e-12)
        # label smoothing eps: lse - (1 - eps) x_y - eps * mean(x) (Szegedy et al. 2016)
        eps = 0.3
        want_s = np.where(yn == -100, 0.0, special.logsumexp(x, axis=1)
                          - (1 - eps) * x[np.arange(N), np.maximum(yn, 0)] - eps * x.mean(1))
        got_s = self.loss(h, w, y, bias=b, label_smoothing=eps,
                                             reduction="none", **SMALL)
        np.testing.assert_allclose(got_s, want_s, rtol=1e-12)

    def test_leading_token_axes_and_broadcast_weights(self):
        h, w, b, y, _ = _inputs(jnp.float64, n=15)
        h3, y3 = h.reshape(3, 5, D), y.reshape(3, 5)
        wts = jnp.array([[1.0], [0.5], [2.0]])
        where = jnp.array([True, False, True, True, True])
        for reduction in ("none", "sum", "mean"):
            got = self.loss(h3, w, y3, weights=wts, where=where,
                                               reduction=reduction, chunk_size=4)
            want = naive(h3, w, y3, weights=wts, where=where, reduction=reduction)
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-12)

    @pytest.mark.parametrize("dtype", [jnp.bfloat16])  # float16: the contract battery's dtype test
    def test_half_precision_computes_in_float32(self, dtype):
        h, w, b, y, _ = _inputs(jnp.float32)
        hh, wh, bh = h.astype(dtype), w.astype(dtype), b.astype(dtype)

        def ours(h, w, b):
            return self.loss(h, w, y, bias=b, z_loss=1e-3, **SMALL)

        value, grads = jax.value_and_grad(ours, (0, 1, 2))(hh, wh, bh)
        assert value.dtype == jnp.float32
        assert [g.dtype for g in grads] == [jnp.dtype(dtype)] * 3
        # Reference: the same (rounded) inputs in float64. The value is accumulated in float32,
        # so it agrees to float32 rounding; the gradient products take dlogits in the input
        # dtype (as the naive path's backward does), so they agree to that dtype's rounding.
        up = lambda a: a.astype(jnp.float64)
        v_ref, g_ref = jax.value_and_grad(
            lambda h, w, b: naive(h, w, y, bias=b, z_loss=1e-3), (0, 1, 2))(up(hh), up(wh), up(bh))
        np.testing.assert_allclose(value, v_ref, rtol=1e-6)
        tol = float(jnp.finfo(dtype).eps) * 4
        for g, r in zip(grads, g_ref, strict=True):
            np.testing.assert_allclose(up(g), r, rtol=tol, atol=tol * float(jnp.max(jnp.abs(r))))

    def test_float64_stays_float64_and_float32_stays_float32(self):
        for dtype in (jnp.float64, jnp.float32):
            h, w, _, y, _ = _inputs(dtype)
            v, g = jax.value_and_grad(self.loss)(h, w, y)
            assert v.dtype == dtype and g.dtype == dtype

    @pytest.mark.parametrize(
        "kwargs,exc,match",
        [
            ({"weight": np.zeros((V, D + 1))}, ValueError, "weight"),
            ({"weight": np.zeros((V,))}, ValueError, "weight"),
            ({"labels": np.zeros((N,), np.float32)}, TypeError, "labels"),
            ({"labels": np.zeros((N + 1,), np.int32)}, ValueError, "labels"),
            ({"hidden": np.zeros((N, D), np.int32)}, TypeError, "hidden"),
            ({"bias": np.zeros((V + 1,))}, ValueError, "bias"),
            ({"class_weights": np.ones((V - 1,))}, ValueError, "class_weights"),
            ({"chunk_size": 0}, (TypeError, ValueError), "chunk_size"),
            ({"chunk_size": 2.5}, (TypeError, ValueError), "chunk_size"),
            ({"vocab_block_size": -1}, (TypeError, ValueError), "vocab_block_size"),
            ({"label_smoothing": 1.0}, ValueError, "label_smoothing"),
            ({"z_loss": -1.0}, ValueError, "z_loss"),
            ({"logit_softcap": 0.0}, ValueError, "logit_softcap"),
            ({"weights": np.ones((N + 1,))}, ValueError, "weights"),
            ({"where": np.ones((N,), np.int32)}, TypeError, "where"),
            ({"reduction": "avg"}, ValueError, "reduction"),
        ],
    )
    def test_static_mistakes_raise_naming_the_argument(self, kwargs, exc, match):
        kwargs = dict(kwargs)  # the parameters are shared by every implementation's run
        h, w, _, y, _ = _inputs(jnp.float32)
        args = {"hidden": h, "weight": w, "labels": y}
        for k in ("hidden", "weight", "labels"):
            if k in kwargs:
                args[k] = kwargs.pop(k)
        with pytest.raises(exc, match=match):
            self.loss(args["hidden"], args["weight"], args["labels"], **kwargs)

    def test_out_of_range_label_gives_nan_and_finite_gradients(self):
        h, w, _, y, _ = _inputs(jnp.float64)
        bad = y.at[5].set(V)  # not ignore_index, out of range
        per_token = self.loss(h, w, bad, reduction="none", **SMALL)
        assert np.isnan(per_token[5]) and np.all(np.isfinite(np.delete(np.asarray(per_token), 5)))
        for reduction in ("mean", "sum"):
            value, grads = jax.value_and_grad(
                lambda h, w, r=reduction: self.loss(h, w, bad, reduction=r,
                                                                       **SMALL), (0, 1))(h, w)
            assert np.isnan(value)
            assert all(np.all(np.isfinite(g)) for g in grads)
            # as the naive path: the bad token's gradient is 0, the others' are unchanged
            _, want = jax.value_and_grad(
                lambda h, w, r=reduction: naive(h, w, bad, reduction=r), (0, 1))(h, w)
            for g, c in zip(grads, want, strict=True):
                np.testing.assert_allclose(g, c, rtol=1e-12, atol=1e-15)

    def test_nothing_kept_gives_zero_and_zero_gradients(self):
        h, w, _, _, _ = _inputs(jnp.float64)
        y = jnp.full((N,), -100)
        for reduction in ("mean", "sum"):
            v, g = jax.value_and_grad(
                lambda h, r=reduction: self.loss(h, w, y, reduction=r))(h)
            assert float(v) == 0.0 and not np.any(g)
        assert not np.any(self.loss(h, w, y, reduction="none"))

    def test_with_lse_returns_the_log_sum_exp(self):
        h, w, b, y, extras = _inputs(jnp.float64)
        where = extras["where"]
        kw = dict(bias=b, logit_softcap=2.0, z_loss=1e-2, where=where, **SMALL)
        loss, lse = self.loss_and_lse(h, w, y, **kw)
        np.testing.assert_allclose(loss, self.loss(h, w, y, **kw), rtol=1e-14)
        x = 2.0 * jnp.tanh((h @ w.T + b) / 2.0)
        kept = where & (y != -100)
        np.testing.assert_allclose(lse, jnp.where(kept, jax.nn.logsumexp(x, -1), 0), rtol=1e-13)
        assert lse.shape == y.shape and lse.dtype == jnp.float64
        # lse carries no gradient; the loss's gradient is unchanged by asking for it
        g_lse = jax.grad(lambda h: jnp.sum(self.loss_and_lse(h, w, y)[1]))(h)
        assert not np.any(g_lse)
        g1 = jax.grad(lambda h: self.loss_and_lse(h, w, y, **kw)[0])(h)
        g2 = jax.grad(lambda h: self.loss(h, w, y, **kw))(h)
        np.testing.assert_allclose(g1, g2, rtol=1e-14)
        with pytest.raises(ValueError, match="label_smoothing"):
            self.loss_and_lse(h, w, y, label_smoothing=2.0)

    def test_boundary_values_match_naive_path(self):
        spec = lossjax.spec("linear_cross_entropy")
        for label, args, kwargs in spec.boundary(jnp.float64):
            got = self.loss(*args, reduction="none", **kwargs)
            want = naive(*args, reduction="none", **kwargs)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=label)

    def test_vmap_and_jit_compose(self):
        h, w, b, y, _ = _inputs(jnp.float64, n=12)
        h3, y3 = h.reshape(3, 4, D), y.reshape(3, 4)

        def per_row(hh, yy):
            return self.loss(hh, w, yy, bias=b, chunk_size=3)

        got = jax.jit(jax.vmap(per_row))(h3, y3)
        want = jnp.stack([per_row(h3[i], y3[i]) for i in range(3)])
        np.testing.assert_allclose(got, want, rtol=1e-13)
        g_got = jax.vmap(jax.grad(per_row))(h3, y3)
        g_want = jax.vmap(jax.grad(lambda hh, yy: naive(hh, w, yy, bias=b)))(h3, y3)
        np.testing.assert_allclose(g_got, g_want, rtol=1e-12, atol=1e-15)

    def test_hessian_and_grad_of_grad(self):
        """Second order: jax.hessian (forward over reverse) through the gradient-in-forward path
        of the mean, and grad-of-grad through the recomputing path of reduction="none"."""
        h, w, b, y, _ = _inputs(jnp.float64, n=6, d=4, v=7)
        kw = dict(logit_softcap=2.0, z_loss=0.1, label_smoothing=0.1)

        def ours(h, w, reduction="mean"):
            return jnp.sum(self.loss(h, w, y, reduction=reduction,
                                                        chunk_size=4, vocab_block_size=3, **kw))

        def ref(h, w, reduction="mean"):
            return jnp.sum(naive(h, w, y, reduction=reduction, **kw))

        hess = lambda f: jax.jit(jax.hessian(f))(h, w)
        np.testing.assert_allclose(hess(ours), hess(ref), atol=1e-13)
        gg = lambda f: jax.jit(jax.grad(lambda w: jnp.sum(jax.grad(f)(h, w, "none") ** 2)))(w)
        np.testing.assert_allclose(gg(ours), gg(ref), atol=1e-13)

    @pytest.mark.parametrize("class_weights", [False, True], ids=["plain", "class_weights"])
    @pytest.mark.parametrize("reduction", REDUCTIONS)
    def test_hyperparameter_gradients_match_finite_differences_and_naive_path(self, reduction,
                                                                              class_weights):
        """d loss / d (label_smoothing, z_loss, logit_softcap) in float64: the fused kernel's
        cotangents against central finite differences of its own value (step 1e-5: truncation
        error ~1e-10 of these smooth functions) and against autodiff of the naive path. The
        vocabulary blocks (32 of 101 rows) and token chunks (8 of 37) leave remainders."""
        h, w, b, y, extras = _inputs(jnp.float64)
        extra = {"weights": extras["weights"], "where": extras["where"]}
        if class_weights:
            extra["class_weights"] = extras["class_weights"]
        f, _ = _hyper_loss(self.loss, h, w, b, y, reduction, extra,
                           extras["cot"])
        g, _ = _hyper_loss(naive, h, w, b, y, reduction, extra, extras["cot"])
        step = 1e-5

        @jax.jit  # the kernel's side in one compiled program (not one per shifted value)
        def derivatives(hp):
            shifted = [f(hp.at[i].add(s)) for i in range(3) for s in (step, -step)]
            return jax.grad(f)(hp), jnp.stack(shifted).reshape(3, 2)

        hp = jnp.array(HP)
        got, shifted = derivatives(hp)
        # the naive path stays eager: it branches on the Python value of z_loss
        np.testing.assert_allclose(got, jax.grad(g)(hp), rtol=1e-11)
        fd = (shifted[:, 0] - shifted[:, 1]) / (2 * step)
        np.testing.assert_allclose(got, fd, rtol=1e-7)
        assert np.all(np.asarray(got) != 0)

    @pytest.mark.parametrize("reduction", ["mean", "none"])
    def test_one_traced_hyperparameter_beside_compiled_out_terms(self, reduction):
        """Each hyperparameter differentiated alone while the other terms are off (Python 0 /
        None: their fast programs), against the naive path."""
        h, w, b, y, extras = _inputs(jnp.float64)
        off = {"label_smoothing": 0.0, "z_loss": 0.0, "logit_softcap": None}
        ours, refs = [], []
        for k in HYPER:
            fixed = {o: v for o, v in off.items() if o != k}
            ours.append(_hyper_loss(self.loss, h, w, b, y, reduction, {}, extras["cot"],
                                    **fixed)[0])
            refs.append(_hyper_loss(naive, h, w, b, y, reduction, {}, extras["cot"], **fixed)[0])

        @jax.jit  # the kernel's side, the three hyperparameters in one compiled program
        def derivatives(xs):
            return [jax.value_and_grad(f)(x) for f, x in zip(ours, xs, strict=True)]

        xs = [jnp.array([v]) for v in HP]
        # the naive path stays eager: it branches on the Python value of z_loss
        for k, (v1, d1), g, x in zip(HYPER, derivatives(xs), refs, xs, strict=True):
            v2, d2 = jax.value_and_grad(g)(x)
            np.testing.assert_allclose(v1, v2, rtol=1e-12, err_msg=k)
            np.testing.assert_allclose(d1, d2, rtol=1e-11, err_msg=k)

    def test_traced_hyperparameters_compile_once(self):
        """A schedule of label_smoothing, z_loss and logit_softcap runs one compiled training
        step; each step equals the call with the same Python numbers (the naive path too)."""
        h, w, b, y, _ = _inputs(jnp.float64)

        @jax.jit
        def step(h, w, eps, zl, cap):
            return jax.value_and_grad(lambda h, w: self.loss(
                h, w, y, bias=b, label_smoothing=eps, z_loss=zl, logit_softcap=cap, **SMALL),
                (0, 1))(h, w)

        schedule = [(0.2, 1e-3, 5.0), (0.1, 1e-2, 3.0), (0.05, 0.0, 30.0), (0.0, 0.0, 2.0)]
        for eps, zl, cap in schedule:
            v, g = step(h, w, eps, zl, cap)
            kw = dict(bias=b, label_smoothing=eps, z_loss=zl, logit_softcap=cap)
            v_py, g_py = jax.value_and_grad(
                lambda h, w, kw=kw: self.loss(h, w, y, **kw, **SMALL),
                (0, 1))(h, w)
            v_ref = naive(h, w, y, **kw)
            np.testing.assert_allclose(v, v_py, rtol=1e-13)
            np.testing.assert_allclose(v, v_ref, rtol=1e-12)
            for a, c in zip(g, g_py, strict=True):
                np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-16)
        assert step._cache_size() == 1

    def test_vmap_over_label_smoothing(self):
        """vmap over eps (values and the gradient in hidden) equals one call per Python eps,
        the fast eps = 0 included; and the derivative in eps, vmapped, equals the naive path's."""
        h, w, b, y, _ = _inputs(jnp.float64)
        eps = jnp.array([0.0, 0.1, 0.3, 0.7])

        def f(e, h):
            return self.loss(h, w, y, bias=b, label_smoothing=e, z_loss=1e-3,
                                                **SMALL)

        values, grads = jax.jit(jax.vmap(jax.value_and_grad(f, 1), (0, None)))(eps, h)
        for i, e in enumerate(eps.tolist()):
            v, g = jax.value_and_grad(f, 1)(e, h)
            np.testing.assert_allclose(values[i], v, rtol=1e-13)
            np.testing.assert_allclose(grads[i], g, rtol=1e-12, atol=1e-17)
        d_eps = jax.vmap(jax.grad(f), (0, None))(eps, h)
        d_ref = jax.vmap(jax.grad(
            lambda e: naive(h, w, y, bias=b, label_smoothing=e, z_loss=1e-3)))(eps)
        np.testing.assert_allclose(d_eps, d_ref, rtol=1e-11)

    @pytest.mark.parametrize("reduction", REDUCTIONS)
    def test_traced_zeros_equal_the_fast_programs(self, reduction):
        """label_smoothing = z_loss = 0 traced takes the general path; it equals the programs
        compiled for the Python zeros (value and gradients), and a traced cap equals the
        Python one."""
        h, w, b, y, extras = _inputs(jnp.float64)
        cot = extras["cot"]

        def run(eps, zl, cap):
            def f(h, w, b):
                out = self.loss(
                    h, w, y, bias=b, label_smoothing=eps, z_loss=zl, logit_softcap=cap,
                    class_weights=extras["class_weights"], reduction=reduction, **SMALL)
                return jnp.sum(out * cot) if reduction == "none" else out

            return jax.value_and_grad(f, (0, 1, 2))(h, w, b)

        fast = run(0.0, 0.0, None)
        traced = jax.jit(run, static_argnums=2)(jnp.float64(0.0), jnp.float64(0.0), None)
        for a, c in zip(jax.tree.leaves(traced), jax.tree.leaves(fast), strict=True):
            np.testing.assert_allclose(a, c, rtol=1e-13, atol=1e-16)
        capped = run(0.0, 0.0, 2.5)
        traced_cap = jax.jit(run)(jnp.float64(0.0), jnp.float64(0.0), jnp.float64(2.5))
        for a, c in zip(jax.tree.leaves(traced_cap), jax.tree.leaves(capped), strict=True):
            np.testing.assert_allclose(a, c, rtol=1e-13, atol=1e-16)

    def test_hyperparameters_must_be_scalars(self):
        h, w, _, y, _ = _inputs(jnp.float32)
        for k in HYPER:
            with pytest.raises(ValueError, match=k):
                self.loss(h, w, y, **{k: jnp.full((N,), 0.1)})


class TestChunked(LinearCrossEntropyContract):
    """The chunked XLA kernel (the default: the public functions themselves)."""

    IMPLEMENTATION = "chunked"


class TestReference(LinearCrossEntropyContract):
    """The full-logits reference implementation (autodiff of the materialised logits)."""

    IMPLEMENTATION = "reference"


def test_every_implementation_runs_the_contract():
    tested = {c.IMPLEMENTATION for c in LinearCrossEntropyContract.__subclasses__()}
    assert tested == set(api.IMPLEMENTATIONS)
    assert api.DEFAULT_IMPLEMENTATION == "chunked"


def test_hyperparameters_are_listed_once():
    """The TypedDict of the entry points, the registered signature (defaults) and the
    registry's domains name the same hyperparameters, with the same types; help() of the
    other entry points shows them."""
    import inspect
    import typing

    hints = typing.get_type_hints(api.Hyperparameters)
    registered = lossjax.spec("linear_cross_entropy").hyperparameters
    assert list(hints) == list(registered)
    sig = inspect.signature(lossjax.linear_cross_entropy)
    body_hints = typing.get_type_hints(api.linear_cross_entropy.__wrapped__)
    for k in hints:
        assert hints[k] == body_hints[k], k
        assert sig.parameters[k].default == registered[k].default, k
    import lossjax.sharding as ls
    for fn in (lossjax.linear_cross_entropy_with_lse, ls.sharded_linear_cross_entropy):
        params = inspect.signature(fn).parameters
        for k in hints:
            assert params[k].default == sig.parameters[k].default, (fn, k)
    with pytest.raises(TypeError, match="label_smothing"):
        h, w, _, y, _ = _inputs(jnp.float32)
        lossjax.linear_cross_entropy_with_lse(h, w, y, label_smothing=0.1)
