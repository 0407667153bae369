"""The contract, checked for every registered loss, driven from the registry.

A loss is tested here by being registered: built-in losses, and the custom losses that
``custom_losses.py`` registers the way a user would. Inputs come from each loss's own
``spec.sample`` (valid random inputs, seeded from the loss's name) and ``spec.boundary``
(edge-of-domain inputs). Values are compared with the independent float64 NumPy/SciPy
references in ``references*.py`` (written from each loss's formula; see those modules).
"""

from __future__ import annotations

import functools
import glob
import importlib
import math
import os
import zlib

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import parameterized

import lossjax
from lossjax import registry

# ------------------------------------------------------------------------------ fixtures


def _load_references() -> dict:
    refs = {}
    here = os.path.dirname(__file__)
    modules = ["custom_losses"] + sorted(
        os.path.splitext(os.path.basename(p))[0]
        for p in glob.glob(os.path.join(here, "references*.py"))
    )
    for mod in modules:
        table = importlib.import_module(mod).REFERENCES
        clash = set(refs) & set(table)
        assert not clash, f"references for {sorted(clash)} are defined twice"
        refs.update(table)
    return refs


REFERENCES = _load_references()
SPECS = [registry.spec(n) for n in lossjax.names()]
DIFF_SPECS = [s for s in SPECS if s.differentiable]
FD_SPECS = [s for s in DIFF_SPECS if s.exact_gradient]
# The root mean squared error is the one loss whose "sum"/"mean" are not sums of its
# per-element values: they are sqrt(sum w e^2) and sqrt(sum w e^2 / sum w) (see its docstring
# and test_regression.py). The linear identities below are checked on its square instead.
ROOT_REDUCED = {"root_mean_squared_error"}
BATCH = (6,)
REDUCTIONS = ("none", "sum", "mean")
HALF = (jnp.bfloat16, jnp.float16)


def ids(specs):
    return [s.name for s in specs]


def params(specs):
    """One pytest param per loss, grouped by loss so that one xdist worker (with its compiled
    programs cached) runs all of a loss's tests (`--dist loadgroup` in the Makefile)."""
    return [pytest.param(s, id=s.name, marks=pytest.mark.xdist_group(s.name)) for s in specs]


def key_for(spec, salt: int = 0) -> jax.Array:
    # a fixed seed per loss (crc32 of its name), so that every run draws the same inputs
    return jax.random.PRNGKey(zlib.crc32(spec.name.encode()) + salt)


def rng_for(spec, salt: int) -> np.random.Generator:
    """NumPy generator with the same per-loss seed, for masks and weights (no XLA kernels)."""
    return np.random.default_rng(zlib.crc32(spec.name.encode()) + salt)


def _cast(x, dtype):
    """Host-side cast of a floating array (NumPy with ml_dtypes: no XLA kernel to compile).

    `jnp.issubdtype`, not NumPy's: bfloat16 (an ml_dtypes type) is not a `np.floating`, and
    its arrays were left in bfloat16 by the widening in `test_dtypes`, which so compared the
    bfloat16 program with itself (and compiled it twice)."""
    if not _is_array(x) or not jnp.issubdtype(np.asarray(x).dtype, jnp.floating):
        return x
    return jnp.asarray(np.asarray(x).astype(jnp.dtype(dtype)))


@functools.cache
def _sample64(name, batch, salt):
    spec = registry.spec(name)
    args, kwargs = spec.sample(key_for(spec, salt), batch, jnp.float64)
    return tuple(args), tuple(kwargs.items())


def sample(spec, batch=BATCH, dtype=jnp.float64, salt=0):
    """The loss's own float64 sample, cast to `dtype` on the host.

    Random kernels cost more to compile than most losses, so each loss draws once per batch
    shape and seed, in float64; lower precisions are the same inputs rounded.
    """
    args, kwargs = _sample64(spec.name, tuple(batch), salt)
    if jnp.dtype(dtype) != jnp.float64:
        args = tuple(_cast(a, dtype) for a in args)
        kwargs = tuple((k, _cast(v, dtype)) for k, v in kwargs)
    return tuple(args), dict(kwargs)


def take(spec, args, index):
    """Indexes the batch-carrying arguments (``spec.batch_argnums``) along their batch axis."""
    return tuple(
        jnp.asarray(np.asarray(a)[index]) if i in spec.batch_argnums else a
        for i, a in enumerate(args)
    )


def is_float(x) -> bool:
    return jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)


def diff_of(spec, args):
    """The spec's differentiable arguments that are floating in this call: a real-valued
    target argument may hold integer labels (a classification or segmentation boundary case)."""
    return tuple(i for i in spec.diff_argnums if is_float(args[i]))


def _split(kwargs):
    """(sorted static items, sorted names of array values) of a loss's keyword arguments."""
    static = tuple(sorted((k, v) for k, v in kwargs.items() if not _is_array(v)))
    return static, tuple(sorted(k for k, v in kwargs.items() if _is_array(v)))


def outputs(spec, args, kwargs, reductions=REDUCTIONS):
    """({reduction: value}, gradient of the mean) traced in one go.

    The mean's value comes from the same `value_and_grad` (one forward trace instead of two);
    the other reductions are traced alongside. Metrics (differentiable=False) too: their
    gradient must be a finite zero, not an error.
    """

    argnums = diff_of(spec, args)

    def f(*diff):
        full = list(args)
        for i, d in zip(argnums, diff, strict=True):
            full[i] = d
        return spec.fn(*full, reduction="mean", **kwargs)

    mean, g = jax.value_and_grad(f, argnums=tuple(range(len(argnums))))(
        *(args[i] for i in argnums)
    )
    values = {r: mean if r == "mean" else spec.fn(*args, reduction=r, **kwargs)
              for r in reductions}
    return values, g


def as64(x):
    return np.asarray(x).astype(np.float64)  # on the host: no conversion kernel to compile


def close(a, b, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(as64(a), as64(b), rtol=rtol, atol=atol)


def mask_for(spec, batch=BATCH):
    """A seeded boolean mask with at least one kept and one dropped unit."""
    m = rng_for(spec, 7).random(batch) < 0.5
    m.flat[0], m.flat[-1] = True, False
    return jnp.asarray(m)


def _is_array(v) -> bool:
    return isinstance(v, jax.Array | np.ndarray)


def rank_raise():
    """The context the battery's compiled programs are traced in: `run` (float64, weights and
    masks, every reduction, the gradient) and `_fixed`'s finite-difference and low-precision
    parts (second derivatives; float32, bfloat16, float16) run under
    `jax.numpy_rank_promotion("raise")`, so an implicit broadcast across ranks inside a loss
    fails them. tests/test_gradients_and_edges.py traces each loss's float32 value and
    gradient with weights and a mask under it as well, abstractly."""
    return jax.numpy_rank_promotion("raise")


@functools.cache
def _program(name: str, static: tuple, array_keys: tuple, has_weights: bool, has_where: bool):
    spec = registry.spec(name)

    def program(args, arrays, weights, where):
        kwargs = dict(static, **dict(zip(array_keys, arrays, strict=True)))
        if has_weights:
            kwargs["weights"] = weights
        if has_where:
            kwargs["where"] = where
        return outputs(spec, args, kwargs)

    return jax.jit(program)


def run(spec, args, kwargs, *, weights=None, where=None):
    """Every reduction's value and the mean's gradient, from one compiled program.

    XLA compilation dominates the battery's time on a CPU, so each test asks this cached
    program (one per loss, static hyperparameters and input signature) instead of compiling
    one kernel per reduction and transformation.
    """
    static, array_keys = _split(kwargs)
    if weights is None or where is None:
        # unit weights and an all-True mask stand in for None, so that the plain, weighted and
        # masked calls of a test share one compiled program (None itself goes through the
        # eager kernel in test_jit_equals_eager and test_weights_and_reductions)
        shape = jax.eval_shape(lambda: spec.fn(*args, reduction="none", **kwargs)).shape
        wide = any(is_float(a) and jnp.asarray(a).dtype == jnp.float64 for a in args)
        if weights is None:
            weights = np.ones(shape, np.float64 if wide else np.float32)
        if where is None:
            where = np.ones(shape, bool)
    prog = _program(spec.name, static, array_keys, True, True)
    with rank_raise():
        return prog(tuple(args), tuple(kwargs[k] for k in array_keys), weights, where)


# ------------------------------------------------------------------------------ registry


def test_registry_is_not_empty_and_names_resolve():
    assert len(SPECS) >= 24
    for s in SPECS:
        assert lossjax.get(s.name) is s.fn
        for alias in s.aliases:
            assert lossjax.get(alias) is s.fn
            assert lossjax.spec(alias) is s


@pytest.mark.parametrize("spec", params([s for s in SPECS if s.builtin]))
def test_every_builtin_has_a_reference_a_doc_and_boundary_inputs(spec):
    assert spec.name in REFERENCES, f"add a float64 reference for {spec.name!r} in references*.py"
    doc = spec.fn.__doc__ or ""
    for section in ("Args:", "Returns:", "Example:"):
        assert section in doc, f"{spec.name}: docstring lacks {section!r}"
    assert spec.reference, spec.name
    assert spec.boundary is not None and spec.boundary(jnp.float32), (
        f"{spec.name}: no boundary inputs"
    )


# ----------------------------------------------------------------------------- references


@pytest.mark.parametrize("spec", params(SPECS))
def test_matches_float64_reference(spec):
    ref = REFERENCES.get(spec.name)
    if ref is None:
        pytest.skip("custom loss without a reference")
    args, kwargs = sample(spec)
    got = run(spec, args, kwargs)[0]["none"]  # unit weights: the per-unit losses
    want = ref(*[np.asarray(a) for a in args], **kwargs)
    assert got.shape == BATCH
    assert got.dtype == jnp.float64
    close(got, want, rtol=1e-9, atol=1e-10)


# ------------------------------------------------------------------------------ transforms


@pytest.mark.parametrize("spec", params(SPECS))
def test_jit_equals_eager_and_the_kernel_is_cached(spec):
    args, kwargs = sample(spec)
    traced, _ = run(spec, args, kwargs)
    compiled = spec.fn(*args, **kwargs)
    close(traced["mean"], compiled)
    # an eager call runs a cached compiled kernel: new values of the same shape do not retrace
    size = spec.fn.jitted._cache_size()
    args2 = tuple(jnp.asarray(np.asarray(a) * 0.5) if is_float(a) else a for a in args)
    spec.fn(*args2, reduction="mean", **kwargs)
    assert spec.fn.jitted._cache_size() == size


@pytest.mark.parametrize("spec", params(SPECS))
def test_vmap_equals_python_loop(spec):
    args, kwargs = sample(spec)
    in_axes = tuple(0 if i in spec.batch_argnums else None for i in range(len(args)))
    per_unit = jax.vmap(lambda *a: spec.fn(*a, reduction="mean", **kwargs), in_axes)(*args)
    loop = [spec.fn(*take(spec, args, i), reduction="mean", **kwargs) for i in range(BATCH[0])]
    close(per_unit, jnp.stack(loop))
    if not spec.batch_coupled:  # otherwise a unit's loss depends on the rest of the batch
        close(per_unit, run(spec, args, kwargs)[0]["none"])


@pytest.mark.parametrize("spec", params(SPECS))
def test_where_equals_slicing(spec):
    args, kwargs = sample(spec)
    mask = mask_for(spec)
    kept = np.flatnonzero(np.asarray(mask))
    masked, _ = run(spec, args, kwargs, where=mask)
    if spec.batch_coupled or spec.name in ROOT_REDUCED:
        # a unit's loss depends on the rest of the batch (or the reduction is not a sum):
        # compare with the loss of the sliced batch itself
        sliced, _ = run(spec, take(spec, args, kept), kwargs)
    else:
        # independent units: the sliced batch's losses are the full batch's at the kept
        # positions (the same compiled program; a sliced batch would need its own)
        per = as64(run(spec, args, kwargs)[0]["none"])[kept]
        sliced = {"none": per, "sum": np.sum(per), "mean": np.mean(per)}
    for r in ("sum", "mean"):
        close(masked[r], sliced[r])
    close(masked["none"][kept], sliced["none"])
    assert np.all(as64(masked["none"])[~np.asarray(mask)] == 0.0)


@pytest.mark.parametrize("spec", params(SPECS))
def test_garbage_at_masked_positions_changes_nothing(spec):
    """NaN (float inputs) at positions dropped by `where`: value and gradient stay clean."""
    args, kwargs = sample(spec)
    mask = mask_for(spec)
    drop = ~np.asarray(mask)
    dirty = list(args)
    for i in spec.batch_argnums:
        if is_float(args[i]):
            a = np.array(args[i])
            a[drop] = np.nan
            dirty[i] = jnp.asarray(a)
    clean, g_clean = run(spec, args, kwargs, where=mask)
    value, g = run(spec, tuple(dirty), kwargs, where=mask)
    for r in REDUCTIONS:
        close(value[r], clean[r])
    chex.assert_tree_all_finite(g)
    for gi, gc, argnum in zip(g, g_clean, diff_of(spec, args), strict=True):
        close(gi, gc)
        if argnum in spec.batch_argnums:
            assert np.all(as64(gi)[drop] == 0.0)


@pytest.mark.parametrize("spec", params(SPECS))
def test_weights_and_reductions(spec):
    args, kwargs = sample(spec)
    w = jnp.asarray(rng_for(spec, 3).uniform(0.1, 2.0, BATCH))
    sq = (lambda x: as64(x) ** 2) if spec.name in ROOT_REDUCED else as64
    plain, _ = run(spec, args, kwargs)
    weighted, _ = run(spec, args, kwargs, weights=w)
    per = as64(plain["none"])
    none = as64(weighted["none"])
    if spec.name in ROOT_REDUCED:  # "none" is w * |e|; the reductions see w * e^2
        close(none, as64(w) * per)
        none = as64(w) * per**2
        per = per**2
    elif spec.batch_coupled:  # weights also enter the other units' losses
        pass
    else:
        close(none, as64(w) * per)
    close(sq(weighted["sum"]), np.sum(none))
    close(sq(weighted["mean"]), np.sum(none) / np.sum(as64(w)))
    close(sq(plain["mean"]), np.mean(per))
    close(sq(plain["sum"]), np.sum(per))
    # the default reduction is the mean
    close(sq(spec.fn(*args, **kwargs)), np.mean(per))
    # zero weights act like `where`
    mask = mask_for(spec)
    zeroed, _ = run(spec, args, kwargs, weights=jnp.where(mask, w, 0.0))
    both, _ = run(spec, args, kwargs, weights=w, where=mask)
    for r in REDUCTIONS:
        close(zeroed[r], both[r])


@pytest.mark.parametrize("spec", params(SPECS))
def test_nothing_kept_gives_zero_and_a_finite_gradient(spec):
    args, kwargs = sample(spec)
    nothing = jnp.zeros(BATCH, bool)
    values, g = run(spec, args, kwargs, where=nothing)
    for r in ("mean", "sum"):
        assert float(values[r]) == 0.0
    assert float(run(spec, args, kwargs, weights=jnp.zeros(BATCH))[0]["mean"]) == 0.0
    for gi in g:
        chex.assert_tree_all_finite(gi)
        assert not np.any(as64(gi)), "masked units must get a zero gradient"


def _vdot(xs, ys):
    return sum(jnp.vdot(x, y) for x, y in zip(xs, ys, strict=True))


# Three checks have inputs fixed in advance: finite differences, low precision and boundary
# cases. Each is a "part" (inputs, traced function); `_fixed` compiles a loss's parts as one
# program, because one compilation of several computations costs far less than one each
# (compilation dominates this battery's time on a CPU). If that program fails, each part is
# compiled alone so that the failure is reported by the test it belongs to.

FD_EPS = 1e-6
LOW = (jnp.float32, jnp.bfloat16, jnp.float16)
# The three low-precision dtypes. bfloat16 shares float32's exponent range, but
# its 8-bit significand rounds boundary inputs differently (1 - 1e-3 becomes 1, a logit gap
# of 1e-3 becomes 0), so it gets its own cases.
BOUNDARY_DTYPES = (jnp.float32, jnp.bfloat16, jnp.float16)


def _fd_part(spec):
    """Directional derivatives and central differences (float64) of the mean loss."""
    args, kwargs = sample(spec)  # its first 3 units: no second draw (random kernels compile)
    args = take(spec, args, np.arange(3))
    argnums = diff_of(spec, args)
    primals = tuple(args[i] for i in argnums)
    rng = rng_for(spec, 5)
    v = tuple(jnp.asarray(rng.standard_normal(p.shape)) for p in primals)  # direction
    u = tuple(jnp.asarray(rng.standard_normal(p.shape)) for p in primals)  # second direction
    every = tuple(range(len(primals)))

    def f(*diff):
        full = list(args)
        for i, d in zip(argnums, diff, strict=True):
            full[i] = d
        return spec.fn(*full, reduction="mean", **kwargs)

    def shift(p, t):
        return tuple(a + t * b for a, b in zip(p, v, strict=True))

    def grad_u(*p):  # <grad f(p), u>
        return _vdot(jax.grad(f, argnums=every)(*p), u)

    def program(p):
        out = {
            "fd": (f(*shift(p, FD_EPS)) - f(*shift(p, -FD_EPS))) / (2 * FD_EPS),
            "rev": _vdot(jax.grad(f, argnums=every)(*p), v),
        }
        if spec.forward_mode:
            out["fwd"] = jax.jvp(f, p, v)[1]
        if spec.twice_differentiable:
            out["fd2"] = (grad_u(*shift(p, FD_EPS)) - grad_u(*shift(p, -FD_EPS))) / (2 * FD_EPS)
            out["rev2"] = _vdot(jax.grad(grad_u, argnums=every)(*p), v)
            out["fwd2"] = jax.jvp(grad_u, p, v)[1]  # forward over reverse, as jax.hessian
        return out

    return primals, program, None


def _low_part(spec):
    """Every reduction and the mean gradient for float32, bfloat16 and float16 inputs."""
    samples = [sample(spec, dtype=d) for d in LOW]
    static, names = _split(samples[0][1])
    arrays = [{k: kw[k] for k in names} for _, kw in samples]

    def program(inputs):
        out = []
        for args, arrs in zip(*inputs, strict=True):
            out.append(outputs(spec, args, dict(static, **arrs)))
        return out

    meta = {jnp.dtype(d).name: (i, a, kw)
            for i, (d, (a, kw)) in enumerate(zip(LOW, samples, strict=True))}
    return ([a for a, _ in samples], arrays), program, meta


def _signature(x):
    return (jnp.shape(x), jnp.result_type(x).name) if _is_array(x) else ("static", x)


def _boundary_part(spec):
    """Every boundary case of each BOUNDARY_DTYPES: "none" and "mean" values, the mean gradient.

    Cases with the same signature (dtypes, shapes, static hyperparameters) are stacked and run
    through `lax.map`, whose body is the loss's own unbatched trace compiled once (not a
    `vmap`, which would turn `lax.cond` into a `select` and so test another program); each
    group costs one copy of the loss in the compiled program instead of one per case.
    "sum" is a sum of the finite "none" values: checking it would only add compile time.
    """
    cases = [(jnp.dtype(d).name, *c) for d in BOUNDARY_DTYPES
             for c in (spec.boundary(d) if spec.boundary else [])]
    groups: dict = {}
    for index, (_, _, args, kw) in enumerate(cases):
        static, names = _split(kw)
        key = (tuple(_signature(a) for a in args), static, names,
               tuple(_signature(kw[k]) for k in names))
        groups.setdefault(key, []).append(index)
    keys = list(groups)

    def stack(xs):  # on the host: no stacking kernel to compile
        return np.stack([np.asarray(x) for x in xs])

    inputs = []
    for key in keys:
        members = [cases[i] for i in groups[key]]
        arg_sig, _, names, _ = key
        args = tuple(stack([m[2][j] for m in members]) if s[0] != "static" else None
                     for j, s in enumerate(arg_sig))
        arrays = tuple(stack([m[3][k] for m in members]) for k in names)
        inputs.append((args, arrays))

    def program(inputs):
        out = []
        for key, (args, arrays) in zip(keys, inputs, strict=True):
            arg_sig, static, names, _ = key

            def one(case, arg_sig=arg_sig, static=static, names=names):
                case_args, case_arrays = case
                full = tuple(s[1] if s[0] == "static" else a
                             for s, a in zip(arg_sig, case_args, strict=True))
                kw = dict(static, **dict(zip(names, case_arrays, strict=True)))
                return outputs(spec, full, kw, ("none", "mean"))

            out.append(jax.lax.map(one, (args, arrays)))
        # back to one (values, gradient) per case, in the order of `cases`
        per_case = [None] * len(cases)
        for key, result in zip(keys, out, strict=True):
            for j, i in enumerate(groups[key]):
                per_case[i] = jax.tree.map(lambda x, j=j: x[j], result)
        return per_case

    return inputs, program, [c[:2] for c in cases]


PARTS = {"fd": _fd_part, "low": _low_part, "boundary": _boundary_part}


@functools.cache
def _fixed(name):
    """{part: (meta, result or the exception it raised)} for one loss."""
    spec = registry.spec(name)
    wanted = [k for k in PARTS if k != "fd" or name in {s.name for s in FD_SPECS}]
    parts, result = {}, {}
    for k in wanted:
        try:
            parts[k] = PARTS[k](spec)
        except Exception as e:  # reported by the part's test
            result[k] = (None, e)
    for k in RANK_RAISE_PARTS & set(parts):
        inputs, program, meta = parts[k]
        parts[k] = (inputs, _traced_under_rank_raise(program), meta)
    try:
        out = jax.jit(lambda ins: {k: parts[k][1](ins[k]) for k in parts})(
            {k: p[0] for k, p in parts.items()})
        result.update({k: (parts[k][2], out[k]) for k in parts})
    except Exception:
        for k, (inputs, program, meta) in parts.items():
            try:
                result[k] = (meta, jax.jit(program)(inputs))
            except Exception as e:
                result[k] = (meta, e)
    return result


# The parts traced under rank_raise() (the boundary cases since session 8, when the two
# implicit broadcasts inside lossjax they found were made explicit: linear_cross_entropy's
# `bias` [V] added to logits [N, V], softmax_focal's per-class `alpha` [K] times [N, K]).
RANK_RAISE_PARTS = {"fd", "low", "boundary"}


def _traced_under_rank_raise(program):
    def traced(inputs):
        with rank_raise():
            return program(inputs)
    return traced


def fixed(spec, part):
    meta, out = _fixed(spec.name)[part]
    if isinstance(out, Exception):
        raise out
    return meta, out


@pytest.mark.parametrize("spec", params(FD_SPECS))
def test_gradients_match_finite_differences_in_float64(spec):
    """Directional derivatives against central differences (step 1e-6, float64), first order
    in forward and reverse mode, second order as reverse over reverse and forward over
    reverse (the composition `jax.hessian` uses): `jax.test_util.check_grads`, compiled."""
    _, out = fixed(spec, "fd")
    chex.assert_tree_all_finite(out)
    tol = dict(rtol=1e-5, atol=1e-5)
    for mode in ("rev", "fwd"):
        if mode in out:
            np.testing.assert_allclose(float(out[mode]), float(out["fd"]), err_msg=mode, **tol)
    for mode in ("rev2", "fwd2"):
        if mode in out:
            np.testing.assert_allclose(float(out[mode]), float(out["fd2"]), err_msg=mode, **tol)


# ------------------------------------------------------------------------ dtypes, boundary


@pytest.mark.parametrize("dtype", [*LOW, jnp.float64], ids=lambda d: jnp.dtype(d).name)
@pytest.mark.parametrize("spec", params(SPECS))
def test_dtypes(spec, dtype):
    """Half precision computes in float32; float32 stays float32; float64 stays float64."""
    if jnp.dtype(dtype) == jnp.float64:
        args, kwargs = sample(spec)
        values, g = run(spec, args, kwargs)
        want = jnp.float64
    else:
        meta, out = fixed(spec, "low")
        i, args, kwargs = meta[jnp.dtype(dtype).name]
        values, g = out[i]
        want = jnp.float32
    for r, out in values.items():
        assert out.dtype == want, (r, out.dtype)
        chex.assert_tree_all_finite(out)
    # the half-precision value agrees with the exact value on the same (rounded) inputs: the
    # float64 program of `run` on those inputs, widened
    # the same (rounded) inputs widened to float64, through the float64 program already
    # compiled for this loss (hyperparameter arrays widened too: same signature, no compile)
    if dtype != jnp.float64:
        up = tuple(_cast(a, jnp.float64) for a in args)
        up_kw = {k: _cast(v, jnp.float64) for k, v in kwargs.items()}
        exact = run(spec, up, up_kw)[0]
    if dtype in HALF:  # computed in float32 from the rounded inputs: the mean agrees
        np.testing.assert_allclose(as64(values["mean"]), as64(exact["mean"]),
                                   rtol=1e-5, atol=1e-6)
    if dtype == jnp.float32:  # and unit by unit, to a few float32 ulps of the unit's value
        want = as64(exact["none"])
        np.testing.assert_allclose(as64(values["none"]), want, rtol=2e-5,
                                   atol=1e-6 * max(1.0, float(np.max(np.abs(want)))))
    for gi, i in zip(g, diff_of(spec, args), strict=True):
        assert gi.dtype == args[i].dtype
        chex.assert_tree_all_finite(gi)


@pytest.mark.parametrize("dtype", BOUNDARY_DTYPES, ids=lambda d: jnp.dtype(d).name)
@pytest.mark.parametrize("spec", params(SPECS))
def test_boundary_values_and_gradients_are_finite(spec, dtype):
    labels, results = fixed(spec, "boundary")
    mine = [(label, r) for (d, label), r in zip(labels, results, strict=True)
            if d == jnp.dtype(dtype).name]
    if not mine:
        pytest.skip("no boundary inputs registered")
    for label, (values, g) in mine:
        for out in values.values():
            assert out.dtype == jnp.float32, label
            chex.assert_tree_all_finite(out, custom_message=f"{spec.name}: {label}")
        chex.assert_tree_all_finite(g, custom_message=f"{spec.name}: {label} (gradient)")


@pytest.mark.parametrize(
    "spec", params([s for s in SPECS if s.has_axis and s.granularity == "example"])
)
def test_class_axis_can_be_moved(spec):
    args, kwargs = sample(spec)
    ref_shape = args[0].shape
    moved = tuple(
        jnp.moveaxis(a, -1, 0) if a.ndim == len(ref_shape) and a.shape == ref_shape else a
        for a in args
    )

    @jax.jit  # one program for every reduction, both layouts
    def both(args, moved):
        return [(spec.fn(*moved, axis=0, reduction=r, **kwargs),
                 spec.fn(*args, reduction=r, **kwargs)) for r in REDUCTIONS]

    for a, b in both(args, moved):
        close(a, b)


# --------------------------------------------------------------------------------- errors


def _param_names(spec):
    import inspect

    return list(inspect.signature(spec.fn).parameters)


@pytest.mark.parametrize("spec", params(SPECS))
def test_unknown_reduction_raises(spec):
    args, kwargs = sample(spec)
    with pytest.raises(ValueError, match="reduction"):
        spec.fn(*args, reduction="average", **kwargs)
    with pytest.raises(ValueError, match="reduction"):
        spec.fn(*args, reduction=None, **kwargs)


@pytest.mark.parametrize("spec", params(SPECS))
def test_integer_predictions_raise_naming_the_argument(spec):
    args, kwargs = sample(spec)
    name = _param_names(spec)[0]
    bad = (jnp.asarray(np.round(np.asarray(args[0])).astype(np.int32)), *args[1:])
    with pytest.raises(TypeError, match=f"`{name}`"):
        spec.fn(*bad, **kwargs)


@pytest.mark.parametrize("spec", params(SPECS))
def test_mismatched_batch_shapes_raise_naming_the_argument(spec):
    args, kwargs = sample(spec)
    i = spec.batch_argnums[-1]
    name = _param_names(spec)[i]
    bad = list(args)
    bad[i] = jnp.asarray(np.asarray(args[i])[:-1])
    with pytest.raises(ValueError, match=f"`{name}`"):
        spec.fn(*bad, **kwargs)


@pytest.mark.parametrize("spec", params(SPECS))
def test_bad_where_and_weights_raise(spec):
    args, kwargs = sample(spec)
    with pytest.raises(TypeError, match="`where`"):
        spec.fn(*args, where=jnp.ones(BATCH, jnp.float32), **kwargs)
    with pytest.raises(ValueError, match="`where`"):
        spec.fn(*args, where=jnp.ones((BATCH[0] + 1,), bool), **kwargs)
    with pytest.raises(ValueError, match="`weights`"):
        spec.fn(*args, weights=jnp.ones((BATCH[0] + 1,)), **kwargs)


def _out_of_domain(domain):
    if isinstance(domain, registry.Interval):
        if math.isfinite(domain.low):
            return domain.low if domain.low_open else domain.low - 1.0
        if math.isfinite(domain.high):
            return domain.high if domain.high_open else domain.high + 1.0
        return math.nan
    if isinstance(domain, registry.Choice):
        return "not-a-valid-choice"
    return None


HYPER_CASES = [
    (s, h, _out_of_domain(hyp.domain))
    for s in SPECS
    for h, hyp in s.hyperparameters.items()
    if _out_of_domain(hyp.domain) is not None
]


@pytest.mark.parametrize("spec,hyper,bad", HYPER_CASES,
                         ids=[f"{s.name}-{h}" for s, h, _ in HYPER_CASES])
def test_hyperparameter_out_of_range_raises_naming_it(spec, hyper, bad):
    args, kwargs = sample(spec)
    kwargs[hyper] = bad
    with pytest.raises((ValueError, TypeError), match=f"`{hyper}`"):
        spec.fn(*args, **kwargs)


def test_every_numeric_hyperparameter_has_a_domain():
    """A hyperparameter given as a Python number is range-checked (delta > 0, gamma >= 0...)."""
    missing = [
        f"{s.name}.{h}"
        for s in SPECS
        if s.builtin
        for h, hyp in s.hyperparameters.items()
        if isinstance(hyp.default, float) and hyp.domain is None
    ]
    assert not missing, missing


# ------------------------------------------------------- the same checks, as chex variants


PER_TASK = [(n, n) for n in sorted({s.task: s.name for s in reversed(SPECS)
                                     if s.builtin and s.name != "linear_cross_entropy"}.values())]


class ReductionVariantsTest(chex.TestCase, parameterized.TestCase):
    """The mean/sum identities under jit and without, run through chex's variants."""

    # one loss per task: the battery above already runs every loss both ways
    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(PER_TASK)
    def test_mean_is_weighted_sum_over_weight_sum(self, name):
        spec = registry.spec(name)
        args, kwargs = sample(spec)
        w = jnp.asarray(rng_for(spec, 11).uniform(0.5, 1.5, BATCH))
        fn = self.variant(lambda *a, w=w: (
            spec.fn(*a, weights=w, reduction="mean", **kwargs),
            spec.fn(*a, weights=w, reduction="sum", **kwargs),
        ))
        mean, total = fn(*args)
        if name in ROOT_REDUCED:
            mean, total = mean**2, total**2
        np.testing.assert_allclose(float(mean), float(total) / float(jnp.sum(w)), rtol=1e-10)

    @parameterized.named_parameters(PER_TASK)
    def test_op_by_op_under_disable_jit_equals_the_compiled_kernel(self, name):
        """What a user debugging a loss sees: every primitive run alone, in Python."""
        spec = registry.spec(name)
        args, kwargs = sample(spec)
        compiled = spec.fn(*args, reduction="none", **kwargs)
        with jax.disable_jit():
            eager = spec.fn(*args, reduction="none", **kwargs)
        close(compiled, eager)
