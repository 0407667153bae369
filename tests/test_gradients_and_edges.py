"""Gradients with respect to targets, second derivatives, rank promotion, edges, errors.

Each test says what it guards and where its reference numbers come from (central finite
differences in float64, a closed form, optax called directly, or a PyTorch 2.13 /
torchvision value stored in the test).
"""

from __future__ import annotations

import inspect
import math
import os
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from checks import abstract_sample, trace_abstractly

import lossjax
from lossjax import registry
from lossjax.multiclass import _tempered

F64 = jnp.float64
FD_EPS = 1e-6


def a64(x):
    return jnp.asarray(x, F64)


def central_differences(f, y):
    """d f / d y_i by central differences in float64, one coordinate at a time."""
    y = np.asarray(y, np.float64)
    out = np.zeros_like(y)
    for i in np.ndindex(y.shape):
        e = np.zeros_like(y)
        e[i] = FD_EPS
        out[i] = (float(f(a64(y + e))) - float(f(a64(y - e)))) / (2 * FD_EPS)
    return out


# ------------------------------------------------------------- gradient w.r.t. targets

# logits and probability targets with zeros, float64 (rows: a one-hot row; a soft row)
LOGITS = [[10.0, 1.0, -2.0], [0.5, -1.0, 2.0]]
TARGETS = [[0.0, 1.0, 0.0], [0.3, 0.0, 0.7]]

# Losses linear (or smooth) in the targets around a zero target, so that central differences
# across 0 are the derivative. bi_tempered_logistic is not (y log_t1 y): its own test below.
TARGET_LINEAR = {
    "softmax_cross_entropy": lambda x: x,
    "nll": lambda x: jax.nn.log_softmax(x),
    "categorical_cross_entropy": lambda x: jax.nn.softmax(x),
    "poly1_cross_entropy": lambda x: x,
    "softmax_focal": lambda x: x,
    "generalized_cross_entropy": lambda x: x,
    "symmetric_cross_entropy": lambda x: x,
    "sparsemax": lambda x: x,
}


def check_ruled_out_class(name):
    """At the boundary: a -inf logit on a zero target leaves the value and
    the prediction gradient as for the one-hot row's integer label, and the target gradient
    there is 0 (documented in _classes.dense_dot; for generalized_cross_entropy the term
    is finite there, 1 / q, and so is its true derivative), elsewhere finite."""
    fn = lossjax.get(name)
    x = a64([[0.0, -jnp.inf, 1.0, 2.0]])
    y = a64([[1.0, 0.0, 0.0, 0.0]])
    value, (gx, gy) = jax.value_and_grad(fn, argnums=(0, 1))(x, y)
    label_value, gx_label = jax.value_and_grad(fn)(x, jnp.array([0]))
    np.testing.assert_allclose(float(value), float(label_value), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(gx), np.asarray(gx_label), rtol=1e-12, atol=1e-300)
    assert np.all(np.isfinite(np.asarray(gy)))
    assert float(gy[0, 1]) == (1 / 0.7 if name == "generalized_cross_entropy" else 0.0)


@pytest.mark.parametrize("name", sorted(TARGET_LINEAR))
def test_target_gradient_at_zero_targets_matches_finite_differences(name):
    # The gradient w.r.t. probability targets is not 0 where a target is 0.
    # Reference: central finite differences (float64, step 1e-6) of the same loss.
    fn = lossjax.get(name)
    x = TARGET_LINEAR[name](a64(LOGITS))
    f = lambda y: fn(x, y)
    g = jax.grad(f)(a64(TARGETS))
    fd = central_differences(f, TARGETS)
    assert np.any(np.abs(fd[np.asarray(TARGETS) == 0]) > 0.1)  # zero targets have a slope
    np.testing.assert_allclose(np.asarray(g), fd, rtol=1e-6, atol=1e-8)
    # forward mode agrees
    v = jnp.asarray(np.random.default_rng(6).standard_normal(np.shape(TARGETS)))
    np.testing.assert_allclose(float(jax.jvp(f, (a64(TARGETS),), (v,))[1]),
                               float(jnp.vdot(g, v)), rtol=1e-10)
    if name not in ("nll", "categorical_cross_entropy"):  # those take no logits
        check_ruled_out_class(name)


def test_softmax_cross_entropy_target_gradient_matches_optax_and_torch():
    # References: [0.00013, 9.00013, 12.00013] (optax, PyTorch 2.13 and finite differences
    # agree), and optax.softmax_cross_entropy's own gradient, called directly.
    x, y = a64([10.0, 1.0, -2.0]), a64([0.0, 1.0, 0.0])
    g = jax.grad(lambda t: lossjax.softmax_cross_entropy(x, t))(y)
    np.testing.assert_allclose(np.asarray(g), [0.00013, 9.00013, 12.00013], atol=1e-5)
    want = jax.grad(lambda t: optax.softmax_cross_entropy(x, t))(y)
    np.testing.assert_allclose(np.asarray(g), np.asarray(want), rtol=1e-12)


def test_bi_tempered_target_gradient_at_zero_targets_is_the_closed_form():
    # d loss / d y_c = log_t1(y_c) - log_t1(y_hat_c) (differentiate
    # sum_c [y_c (log_t1 y_c - log_t1 y_hat_c) - (y_c**(2-t1) - y_hat_c**(2-t1)) / (2-t1)]),
    # with log_t1(0) = -1 / (1 - t1): finite for t1 < 1. y_hat (the tempered softmax) comes
    # from lossjax; the closed form is checked against finite differences at positive targets.
    t1, t2 = 0.8, 1.2
    x, y = a64(LOGITS), a64(TARGETS)
    f = lambda t: lossjax.bi_tempered_logistic(x, t, t1=t1, t2=t2, reduction="sum")
    g = np.asarray(jax.grad(f)(y))
    log_t = lambda v: (v ** (1 - t1) - 1) / (1 - t1)
    y_hat = np.exp(np.asarray(_tempered.tempered_log_softmax(x, t2, 5)))
    want = log_t(np.asarray(TARGETS)) - log_t(y_hat)
    np.testing.assert_allclose(g, want, rtol=1e-9)
    pos = np.asarray(TARGETS) > 0
    np.testing.assert_allclose(g[pos], central_differences(f, TARGETS)[pos], rtol=1e-6)
    check_ruled_out_class("bi_tempered_logistic")


# -------------------------------------------------------------- absolute error at a tie


def test_absolute_error_gradient_at_zero_residual_is_zero_for_both_arguments():
    # d/dtargets is 0 at a zero residual, not -1. Reference: torch.nn.functional.l1_loss
    # (PyTorch 2.13) gives 0 and 0 there; elsewhere -+1/n (closed form).
    p, t = a64([1.0, 2.0, 3.0]), a64([1.0, 0.0, 5.0])
    gp, gt = jax.grad(lossjax.absolute_error, argnums=(0, 1))(p, t)
    np.testing.assert_array_equal(np.asarray(gp), [0.0, 1 / 3, -1 / 3])
    np.testing.assert_array_equal(np.asarray(gt), [0.0, -1 / 3, 1 / 3])
    # forward mode, per element
    jp, jt = jax.jacfwd(lambda p, t: lossjax.absolute_error(p, t, reduction="none"),
                        argnums=(0, 1))(p, t)
    np.testing.assert_array_equal(np.diag(np.asarray(jt)), [0.0, -1.0, 1.0])
    np.testing.assert_array_equal(np.diag(np.asarray(jp)), [0.0, 1.0, -1.0])


# ------------------------------------------------------------- sigmoid_focal's Hessian


@pytest.mark.parametrize("gamma", [0.5, 1.0, 2.0, 3.0])
def test_sigmoid_focal_hessian_is_finite_for_confident_logits_in_float32(gamma):
    # jax.hessian must not be NaN for x in [44, 87] with y = 1 (every x >= 44 for gamma =
    # 0.5). Reference: optax and torchvision (with PyTorch 2.13) give 0 there; the
    # exact second derivative scales as exp(-(gamma + 1) x): below 1e-27 for x >= 44.
    xs = jnp.concatenate([jnp.linspace(-120.0, 120.0, 961, dtype=jnp.float32),
                          jnp.array([1e4, -1e4, 3e38, -3e38], jnp.float32)])

    @jax.jit
    def hessians(xs):
        out = []
        for y in (0.0, 1.0, 0.3):
            f = lambda x, y=y: lossjax.sigmoid_focal(x, jnp.float32(y), gamma=gamma)
            out.append(jax.vmap(jax.hessian(f))(xs))
        return jnp.stack(out)

    h = np.asarray(hessians(xs))
    assert np.all(np.isfinite(h)), xs[~np.all(np.isfinite(h), axis=0)]
    confident = (np.asarray(xs) >= 44) & (np.asarray(xs) <= 87)
    assert np.all(np.abs(h[1, confident]) < 1e-27)  # y = 1, confidently right
    # and where it is not tiny, it is the float64 Hessian to float32 precision
    moderate = np.abs(np.asarray(xs)) <= 10

    @jax.jit  # the three float64 references in one compiled program (not op by op)
    def hessians64(xs):
        return [jax.vmap(jax.hessian(lambda x, y=y: lossjax.sigmoid_focal(x, a64(y),
                                                                          gamma=gamma)))(xs)
                for y in (0.0, 1.0, 0.3)]

    for i, want in enumerate(hessians64(a64(np.asarray(xs)[moderate]))):
        np.testing.assert_allclose(h[i, moderate], np.asarray(want), rtol=2e-4, atol=1e-6)


# ------------------------------------------------------ jax.numpy_rank_promotion("raise")

SPECS = [registry.spec(n) for n in lossjax.names()]


def params(specs):
    """One param per loss, in the loss's xdist group (as tests/test_contract.py does)."""
    return [pytest.param(s, id=s.name, marks=pytest.mark.xdist_group(s.name)) for s in specs]


@pytest.mark.parametrize("spec", params(SPECS))
def test_every_loss_runs_under_rank_promotion_raise(spec):
    # huber, pseudo_huber, sparsemax, multilabel_margin, ctc, ntxent,
    # supervised_contrastive and circle broadcast implicitly across ranks inside lossjax and
    # failed under jax.numpy_rank_promotion("raise"). Every registered loss: its own sampled
    # inputs, with weights and a mask, value and gradient. Rank promotion is decided while
    # tracing, so the sample and the value_and_grad are traced abstractly (nothing compiles);
    # that the values and gradients are finite is the contract battery's, whose compiled
    # programs (float64 with weights and masks, float32 and half precision, first and second
    # derivatives) are traced under "raise" too (tests/test_contract.py, rank_raise).
    def value_and_grad(args, kwargs):
        unit = spec.fn(*args, reduction="none", **kwargs).shape
        weights = jnp.linspace(0.5, 1.5, math.prod(unit), dtype=jnp.float32).reshape(unit)
        where = (jnp.arange(math.prod(unit)) % 3 != 1).reshape(unit)

        def f(*diff):
            full = list(args)
            for i, d in zip(spec.diff_argnums, diff, strict=True):
                full[i] = d
            return spec.fn(*full, weights=weights, where=where, **kwargs)

        with jax.numpy_rank_promotion("raise"):  # the loss's trace; not the sampler's
            return jax.value_and_grad(f, argnums=tuple(range(len(spec.diff_argnums))))(
                *(args[i] for i in spec.diff_argnums))

    value, grads = trace_abstractly(value_and_grad, spec,
                                    jax.random.PRNGKey(zlib.crc32(spec.name.encode())),
                                    (4,), jnp.float32)
    assert value.shape == () and value.dtype == jnp.float32
    assert len(grads) == len(spec.diff_argnums)


# ---------------------------------------------------- errors that name what went wrong

NUMERIC_HYPERS = [
    (s, h) for s in SPECS for h, hyp in s.hyperparameters.items()
    if isinstance(hyp.domain, registry.Interval) or (
        hyp.domain is None and isinstance(hyp.default, int | float)
        and not isinstance(hyp.default, bool))
]


@pytest.mark.parametrize("spec,hyper", NUMERIC_HYPERS,
                         ids=[f"{s.name}-{h}" for s, h in NUMERIC_HYPERS])
def test_a_string_for_a_numeric_hyperparameter_raises_naming_it(spec, hyper):
    # softmax_cross_entropy(label_smoothing="abc") and softmax_focal(
    # gamma="abc") raised messages that did not name the hyperparameter, and
    # label_smoothing="0.1" was silently accepted. Every numeric hyperparameter of every loss
    # (Hyper.check in the registry, before anything is traced).
    # The sample is drawn abstractly (trace_abstractly): no values needed, nothing compiles.
    default = spec.hyperparameters[hyper].default
    looks_numeric = str(default if default is not None else 0.5)
    for bad in ("abc", looks_numeric):
        with pytest.raises(TypeError, match=f"`{hyper}` must be a real number.*{bad!r}"):
            trace_abstractly(
                lambda args, kwargs, bad=bad: spec.fn(*args, **{**kwargs, hyper: bad}),
                spec, jax.random.PRNGKey(0), (2,), jnp.float32)


def test_string_hyperparameters_of_cross_entropy_and_focal_raise():
    # Three calls that a user may write.
    x, y = jnp.zeros((2, 3)), jnp.array([0, 1])
    with pytest.raises(TypeError, match="`label_smoothing`"):
        lossjax.softmax_cross_entropy(x, y, label_smoothing="abc")
    with pytest.raises(TypeError, match="`label_smoothing`"):
        lossjax.softmax_cross_entropy(x, y, label_smoothing="0.1")
    with pytest.raises(TypeError, match="`gamma`"):
        lossjax.softmax_focal(x, y, gamma="abc")
    # numbers, NumPy numbers and arrays still pass, traced values too
    lossjax.softmax_cross_entropy(x, y, label_smoothing=np.float32(0.1),
                                  class_weights=[1, 2, 3])
    jax.jit(lambda q: lossjax.generalized_cross_entropy(x, y, q=q))(0.5)


def test_names_with_an_unknown_task_raises_naming_the_valid_tasks():
    # names(task="regresion") must not return [] silently.
    with pytest.raises(ValueError, match="`task` must be one of regression, binary.*"
                                         "Did you mean 'regression'"):
        lossjax.names(task="regresion")
    assert "huber" in lossjax.names(task="regression")


@pytest.mark.parametrize("spec", params(SPECS))
def test_every_sampler_accepts_a_two_dimensional_batch(spec):
    # The segmentation specs' sample(key, (3, 5)) once raised although the losses
    # accept that batch. Every loss: the sample's per-unit loss has the batch's shape (the
    # sampler and the loss traced abstractly together: nothing compiles).
    out = trace_abstractly(lambda args, kwargs: spec.fn(*args, reduction="none", **kwargs),
                           spec, jax.random.PRNGKey(1), (3, 5), jnp.float32)
    assert out.shape == (3, 5)


# -------------------------------------------- bi_tempered_logistic's t2, exponential's range


def test_bi_tempered_is_finite_and_exact_for_large_t2():
    # Finite (not NaN) for t2 >= ~60, inside the domain [1, inf). References: the float64
    # Brent-method reference of tests/references_multiclass.py (while its normaliser, ~5**(t2-1),
    # fits float64), and for t2 -> inf the closed form with a uniform y_hat = 1/K:
    # -log_t1(1/K) - 1/(2-t1) + K (1/K)**(2-t1) / (2-t1).
    import references_multiclass as refs

    x = 2.0 * jax.random.normal(jax.random.PRNGKey(11), (4, 5), jnp.float32)
    y = jnp.array([0, 1, 2, 3])
    for t2 in (13.0, 14.0, 60.0, 100.0):  # 13: the fixed point; 14 on: the log-space solve
        for dtype, rtol in ((jnp.float32, 2e-6), (F64, 1e-10)):
            got = lossjax.bi_tempered_logistic(x.astype(dtype), y, t2=t2, reduction="none")
            want = refs.bi_tempered_logistic(np.asarray(x, np.float64), np.asarray(y), t2=t2)
            np.testing.assert_allclose(np.asarray(got), want, rtol=rtol)
    k, t1 = 5, 0.8
    log_t = lambda v: (v ** (1 - t1) - 1) / (1 - t1)
    limit = -log_t(1 / k) - 1 / (2 - t1) + k * (1 / k) ** (2 - t1) / (2 - t1)
    for t2 in (1e3, 1e6, 1e30):
        value, g = jax.value_and_grad(lossjax.bi_tempered_logistic)(x, y, t2=t2)
        np.testing.assert_allclose(float(value), limit, rtol=1e-6)
        assert np.all(np.isfinite(np.asarray(g)))
    with pytest.raises(ValueError, match="`t2`"):  # inf: no temperature (domain [1, inf))
        lossjax.bi_tempered_logistic(x, y, t2=float("inf"))


def test_bi_tempered_log_space_normaliser_matches_finite_differences():
    # The log-space tempered softmax (used where (t2 - 1) log K > 20) and its
    # implicit-function-theorem derivative. At those t2 the softmax is uniform to ~K**-(t2-1),
    # below what finite differences resolve, so the log-space function is checked directly at
    # t2 = 3 and 5: against the fixed-point path (its values), and central finite differences
    # in float64 (step 1e-6) for the first and second derivatives of a projection of it.
    x = jax.random.normal(jax.random.PRNGKey(12), (3, 4), F64)
    c = jax.random.normal(jax.random.PRNGKey(13), (3, 4), F64)
    v = jnp.asarray(np.random.default_rng(14).standard_normal(x.shape))
    log_space = _tempered.tempered_log_softmax_log_space
    fixed_point = jax.jit(_tempered.tempered_log_softmax, static_argnums=(1, 2))
    # each compiled once, t2 an argument (the log-space solver takes it traced)
    f = jax.jit(lambda x, t2: jnp.sum(c * jnp.exp(log_space(x, t2))))
    gv = jax.jit(lambda x, t2: jnp.vdot(jax.grad(f)(x, t2), v))
    hv = jax.jit(lambda x, t2: jax.jvp(lambda x: gv(x, t2), (x,), (v,))[1])
    for t2 in (3.0, 5.0):
        t = jnp.float64(t2)
        np.testing.assert_allclose(np.asarray(log_space(x, t)),
                                   np.asarray(fixed_point(x, t2, 5)), rtol=1e-9, atol=1e-12)
        fd = (f(x + FD_EPS * v, t) - f(x - FD_EPS * v, t)) / (2 * FD_EPS)
        np.testing.assert_allclose(float(gv(x, t)), float(fd), rtol=1e-6)
        fd2 = (gv(x + FD_EPS * v, t) - gv(x - FD_EPS * v, t)) / (2 * FD_EPS)
        np.testing.assert_allclose(float(hv(x, t)), float(fd2), rtol=1e-5)


def test_exponential_is_finite_exactly_where_its_value_fits_the_dtype():
    # The README once promised finite values for every finite input; exp(-y f)
    # exceeds float32 below a margin of -log(finfo(float32).max) = -88.72 (closed form). The
    # README and the docstring now state that range; this is what they say.
    for dtype in (jnp.float32, F64):
        edge = float(np.log(np.finfo(dtype).max))  # 88.72 / 709.78
        f = jnp.asarray([edge - 0.1, edge + 0.1], dtype)
        y = jnp.asarray([-1.0, -1.0], dtype)
        values = lossjax.exponential(f, y, reduction="none")
        np.testing.assert_allclose(float(values[0]), np.exp(np.float64(edge - 0.1)), rtol=1e-5)
        assert np.isinf(float(values[1]))
        g = jax.grad(lambda f, y=y[:1]: lossjax.exponential(f, y, reduction="sum"))(f[:1])
        assert np.isfinite(float(g[0]))
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md")).read()
    assert "below about -88 in float32" in readme and "`exponential`" in readme


# --------------------------------------------------- every differentiable argument is declared

# Target kinds whose values are discrete by definition (a sign, a pair's label, a relevance
# grade): the one floating argument a spec may leave out of diff_argnums is such a target.
DISCRETE_TARGETS = {
    "signed", "signed (1 = similar)", "signed (1 = similar pair)", "binary (1 = similar pair)",
    "signed (1: first should rank higher)", "graded relevance",
}


# Real-valued targets a spec does not differentiate, with the reason.
NOT_DIFFERENTIATED = {
    ("tweedie", "targets"): "d/dy of y**(2 - power) is infinite at y = 0 (a count)",
    ("poisson_deviance", "targets"): "d/dy = 2 (log y - s) is -inf at y = 0 (a count)",
}


@pytest.mark.parametrize("spec", params(SPECS))
def test_every_floating_argument_is_declared_differentiable(spec):
    # Each spec declares every differentiable argument (predictions,
    # real-valued targets, variances, embeddings) in diff_argnums, which the finite-difference
    # battery of tests/test_contract.py then checks in float64. Before, regression targets,
    # target boxes and soft targets were left out (diff_argnums=(0,)).
    args, _, _ = abstract_sample(spec, jax.random.PRNGKey(2), (2,), jnp.float32)  # dtypes only
    names = list(inspect.signature(spec.fn).parameters)
    for i, a in enumerate(args):
        if i in spec.diff_argnums or not jnp.issubdtype(a.dtype, jnp.floating):
            continue
        if (spec.name, names[i]) in NOT_DIFFERENTIATED:
            continue
        assert names[i] in ("targets", "labels") and spec.targets in DISCRETE_TARGETS, (
            f"{spec.name}: floating argument `{names[i]}` is not in diff_argnums")
