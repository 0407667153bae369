"""A NaN at a kept position is never hidden.

Registry-driven, like ``test_contract.py``: every registered loss (built-in or custom) is
tested by being registered. For every floating-point array argument its own ``spec.sample``
produces, and for ``weights``, a NaN is put at each element of one kept unit in turn; that
unit's ``reduction="none"`` value and the ``"sum"`` and ``"mean"`` must be NaN. A loss that
returned a plausible finite number for garbage would make a diverging model look healthy.

The NaN goes to a unit that ``where`` keeps, next to units ``where`` drops: the dropped units
stay exactly 0 (the contract's other half, masked garbage changing nothing, is
``test_contract.py::test_garbage_at_masked_positions_changes_nothing``). Losses whose units
are independent must also leave the other kept units' values unchanged.

Every case of a loss is evaluated by one compiled program (``lax.map`` over the stacked
cases), so the test costs one compilation per loss.

No loss is exempt as a whole. A loss that only *compares* an input (the argmax of a metric,
a threshold, a hinge whose margin is satisfied, a label ordering) must still give NaN: a NaN
compares False, so it would otherwise read garbage as a definite answer. The positions a
loss does not read by definition are listed in ``unread`` below, each with its reason; a
NaN there must change nothing at all (every reduction equal to the clean value), the way a
position dropped by ``where`` changes nothing.
"""

from __future__ import annotations

import functools
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lossjax
from lossjax import registry

SPECS = [registry.spec(n) for n in lossjax.names()]
BATCH = (6,)
REDUCTIONS = ("none", "sum", "mean")


def params(specs):
    # grouped by loss, as in test_contract.py (`--dist loadgroup` in the Makefile)
    return [pytest.param(s, id=s.name, marks=pytest.mark.xdist_group(s.name)) for s in specs]


def _seed(spec, salt):
    return zlib.crc32(spec.name.encode()) + salt


def _is_float_array(x) -> bool:
    return isinstance(x, jax.Array | np.ndarray) and np.issubdtype(np.asarray(x).dtype,
                                                                   np.floating)


@functools.cache
def _sample(name):
    spec = registry.spec(name)
    args, kwargs = spec.sample(jax.random.PRNGKey(_seed(spec, 0)), BATCH, jnp.float64)
    return tuple(np.asarray(a) for a in args), dict(kwargs)


def _mask_and_unit(spec):
    """A seeded mask over units with a dropped unit, and the kept unit that gets the NaN."""
    rng = np.random.default_rng(_seed(spec, 13))
    keep = rng.random(BATCH) < 0.7
    keep[0], keep[-1] = True, False
    unit = int(rng.choice(np.flatnonzero(keep)))
    return keep, unit


def unread(spec, args, kwargs):
    """{argument index: (boolean mask of that argument's shape, reason)}: the positions the
    loss does not read by definition, where a NaN must change nothing."""
    out = {}
    x = args[0]
    ignore = kwargs.get("ignore_index", spec.hyperparameters.get("ignore_index"))
    ignore = getattr(ignore, "default", ignore)
    if ignore is not None and len(args) > 1 and np.issubdtype(args[1].dtype, np.integer):
        # the contract (README): an integer target equal to `ignore_index` drops its position
        # (a pixel of a segmentation, an example of a classification), which may hold anything
        hit = args[1] == ignore
        if hit.ndim == x.ndim - 1:  # labels without the class axis: the whole class row
            hit = np.broadcast_to(hit[..., None], x.shape)
        if hit.shape == x.shape and hit.any():
            out[0] = (hit, f"integer target {ignore} (ignore_index) drops the position")
    for i, a in enumerate(args):
        if a.dtype == np.bool_:
            # an item mask (ranking's `item_mask`): its False items are padding, which may
            # hold anything (NaN, -inf) by the module's documented contract
            for j, b in enumerate(args):
                if _is_float_array(b) and b.shape == a.shape and (~a).any():
                    out[j] = (~a, f"argument {i} (the item mask) marks it as padding")
    if spec.name == "nll" and np.issubdtype(args[1].dtype, np.integer) and not kwargs.get(
            "label_smoothing", 0.0):
        # nll is -log p_y (PyTorch's nll_loss): it reads the target class's entry only; the
        # other entries are often legitimately -inf (zero probability), so nothing is read
        # from them, NaN or not. A NaN at the target entry is NaN (checked here).
        other = np.ones(x.shape, bool)
        np.put_along_axis(other, args[1][..., None], False, axis=-1)
        out[0] = (other, "nll reads only the target class's log-probability")
    if spec.name == "chance_cross_entropy":
        # the chance baseline depends on the labels only; the predictions give the number of
        # classes (their values are documented as unused, with a zero gradient)
        out[0] = (np.ones(x.shape, bool), "the chance baseline does not read predictions")
    return out


def _cases(spec):
    """([(label, argument, unit or None, reason or None)], stacked args, stacked weights, clean
    args, weights).

    ``argument`` is a positional index or ``"weights"``. A batch argument gets a NaN at each
    element of the chosen unit (its leading index); a shared argument (not in
    ``spec.batch_argnums``, e.g. a weight matrix) at a few seeded elements, which may reach
    every unit (``unit`` None). ``reason`` is set where the position is not read (``unread``).
    """
    args, kwargs = _sample(spec.name)
    _, unit = _mask_and_unit(spec)
    skip = unread(spec, args, kwargs)
    weights = np.random.default_rng(_seed(spec, 17)).uniform(0.5, 2.0, BATCH)
    labels, dirty_args, dirty_w = [], [], []
    for i, a in enumerate(args):
        if not _is_float_array(a):
            continue
        if i in spec.batch_argnums:
            positions = [(unit, *rest) for rest in np.ndindex(a.shape[1:])]
            u = unit
        else:
            rng = np.random.default_rng(_seed(spec, 19 + i))
            flat = rng.choice(a.size, size=min(3, a.size), replace=False)
            positions = [np.unravel_index(f, a.shape) for f in flat]
            u = None
        for pos in positions:
            d = [np.array(x) for x in args]
            d[i][pos] = np.nan
            reason = skip[i][1] if i in skip and skip[i][0][pos] else None
            labels.append((f"NaN in argument {i} at {tuple(int(p) for p in pos)}", i, u,
                           reason))
            dirty_args.append(d)
            dirty_w.append(weights)
    w = weights.copy()
    w[unit] = np.nan
    labels.append((f"NaN weight at unit {unit}", "weights", unit, None))
    dirty_args.append([np.array(x) for x in args])
    dirty_w.append(w)
    assert any(isinstance(x, int) for _, x, _, _ in labels), (
        f"{spec.name}: its sampler gives no floating-point argument to put a NaN in")
    floats = [i for i, a in enumerate(args) if _is_float_array(a)]
    stacked = {i: np.stack([d[i] for d in dirty_args]) for i in floats}
    return labels, stacked, np.stack(dirty_w), args, weights


@functools.cache
def _results(name):
    """(labels, per case {reduction: value}, clean {reduction: value}) for one loss."""
    spec = registry.spec(name)
    labels, stacked, dirty_w, args, weights = _cases(spec)
    _, kwargs = _sample(name)
    keep, _ = _mask_and_unit(spec)
    floats = sorted(stacked)

    def values(float_args, w):
        full = list(args)
        for i, a in zip(floats, float_args, strict=True):
            full[i] = a
        return {r: spec.fn(*full, weights=w, where=keep, reduction=r, **kwargs)
                for r in REDUCTIONS}

    @jax.jit
    def program(stacked, dirty_w, clean, w):
        per_case = jax.lax.map(lambda c: values(*c), (stacked, dirty_w))
        return per_case, values(clean, w)

    per_case, clean = program([stacked[i] for i in floats], dirty_w,
                              [args[i] for i in floats], weights)
    per_case = jax.tree.map(np.asarray, per_case)
    return labels, per_case, jax.tree.map(np.asarray, clean)


@pytest.mark.parametrize("spec", params(SPECS))
def test_nan_at_a_kept_position_propagates(spec):
    labels, per_case, clean = _results(spec.name)
    keep, _ = _mask_and_unit(spec)
    assert np.all(np.isfinite(clean["none"])), f"{spec.name}: the clean sample is not finite"
    failures = []
    read = 0
    for j, (label, _, unit, reason) in enumerate(labels):
        none = per_case["none"][j]
        if reason is not None:  # not read by definition: the NaN must change nothing
            changed = [r for r in REDUCTIONS if not np.array_equal(per_case[r][j], clean[r])]
            if changed:
                failures.append(f"{label} ({reason}): {', '.join(changed)} changed")
            continue
        read += 1
        problems = [r for r in ("sum", "mean") if not np.isnan(per_case[r][j])]
        if unit is not None and not np.isnan(none[unit]):
            problems.append(f"none[{unit}] = {none[unit]!r}")
        if unit is None and not np.any(np.isnan(none)):
            problems.append("no unit is NaN")
        if np.any(none[~keep] != 0.0):
            problems.append(f"dropped units are {none[~keep]!r}, not 0")
        if not spec.batch_coupled and unit is not None:
            others = keep.copy()
            others[unit] = False
            if not np.array_equal(none[others], clean["none"][others]):
                problems.append("the other kept units changed")
        if problems:
            failures.append(f"{label}: {', '.join(problems)}")
    assert read >= 1  # the NaN weight at least
    assert not failures, f"{spec.name}: " + "; ".join(failures[:8]) + (
        f" (and {len(failures) - 8} more)" if len(failures) > 8 else "")


# ------------------------------------------------------- examples that once hid a NaN

F64 = jnp.float64
NAN = jnp.nan


def test_root_mean_squared_error_keeps_a_nan():
    # rmse([1, nan, 3], 0) was 0.0 ("mean", "sum" and a NaN weight alike)
    p, t = jnp.array([1.0, NAN, 3.0]), jnp.zeros(3)
    for r in ("mean", "sum"):
        assert np.isnan(lossjax.root_mean_squared_error(p, t, reduction=r))
    w = jnp.array([1.0, NAN, 1.0])
    assert np.isnan(lossjax.root_mean_squared_error(jnp.array([1.0, 2.0, 3.0]), t, weights=w))
    # a zero error still has a zero (not NaN) gradient
    g = jax.grad(lossjax.root_mean_squared_error)(jnp.zeros(3), t)
    assert np.all(g == 0.0)


def test_triplet_margin_and_the_set_losses_keep_a_nan_embedding():
    # triplet_margin(a.at[0].set(nan), a + 0.1, -a, "none") gave [1., 0.]
    a = jnp.array([[1.0, 2.0], [0.5, -1.0]], F64)
    got = lossjax.triplet_margin(a.at[0, 0].set(NAN), a + 0.1, -a, reduction="none")
    assert np.isnan(got[0]) and np.isfinite(got[1])
    x = jnp.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]], F64).at[2, 1].set(NAN)
    y = jnp.array([0, 0, 1, 1])
    for name in ("ntxent", "supervised_contrastive", "circle"):
        assert np.isnan(lossjax.get(name)(x, y)), name


def test_divergences_keep_a_nan_target_row():
    # kl_divergence gave 0.0 and js_divergence ½ ln 2 for a NaN target row
    lq = jnp.log(jnp.array([[0.5, 0.5], [0.25, 0.75]], F64))
    t = jnp.array([[NAN, NAN], [0.5, 0.5]], F64)
    for fn in (lossjax.kl_divergence, lossjax.js_divergence):
        got = fn(lq, t, reduction="none")
        assert np.isnan(got[0]) and np.isfinite(got[1]), fn
    assert np.isnan(lossjax.kl_divergence(lq, jnp.log(t), log_targets=True))
    # a NaN log-probability at a zero target is garbage too (a -inf one is not)
    zero = jnp.array([[1.0, 0.0]], F64)
    assert np.isnan(lossjax.kl_divergence(jnp.array([[0.0, NAN]]), zero))
    assert np.isnan(lossjax.js_divergence(jnp.array([[0.0, NAN]]), zero))
    assert float(lossjax.kl_divergence(jnp.array([[0.0, -jnp.inf]]), zero)) == 0.0


def test_kl_divergence_with_swapped_arguments_is_nan_as_in_optax():
    # kl_divergence(probs, log_probs), the Keras order, returned exactly 0.0
    # with a zero gradient (the negative "targets" were read as zero targets)
    import optax

    probs = jnp.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]], F64)
    log_probs = jnp.log(jnp.array([[0.1, 0.1, 0.8], [0.3, 0.3, 0.4]], F64))
    got = lossjax.kl_divergence(probs, log_probs, reduction="none")
    want = optax.losses.kl_divergence(probs, log_probs)
    assert np.all(np.isnan(got)) and np.all(np.isnan(want))
    assert np.isnan(lossjax.kl_divergence(probs, log_probs))
    # a single negative target is enough (also for the generalized KL, which shares the terms)
    for fn in (lossjax.kl_divergence, lossjax.generalized_kl_divergence):
        got = fn(log_probs, probs.at[1, 0].set(-0.1), reduction="none")
        assert np.isfinite(got[0]) and np.isnan(got[1]), fn
    # the right order agrees with optax
    np.testing.assert_allclose(lossjax.kl_divergence(log_probs, probs, reduction="none"),
                               optax.losses.kl_divergence(log_probs, probs), rtol=1e-12)


def test_pairwise_losses_keep_a_nan_relevance_label():
    # pairwise_hinge / pairwise_logistic gave 0 for NaN relevance labels
    s = jnp.array([[2.0, 1.0, 0.0], [0.5, 1.5, -1.0]], F64)
    y = jnp.array([[NAN, NAN, NAN], [2.0, 1.0, 0.0]], F64)
    for fn in (lossjax.pairwise_hinge, lossjax.pairwise_logistic):
        got = fn(s, y, reduction="none")
        assert np.isnan(got[0]) and np.isfinite(got[1]), fn
        # a padded item may still hold NaN (item_mask False)
        mask = jnp.array([[True, True, True], [True, True, False]])
        got = fn(s.at[1, 2].set(NAN), y.at[1, 2].set(NAN), mask, reduction="none")
        assert np.isfinite(got[1]), fn


def test_signed_targets_read_nan_as_nan_not_as_minus_one():
    # hinge_embedding / cosine_embedding read a NaN ±1 target as -1
    got = lossjax.hinge_embedding(jnp.array([0.5, 0.5]), jnp.array([NAN, 1.0]),
                                  reduction="none")
    assert np.isnan(got[0]) and float(got[1]) == 0.5
    a, b = jnp.array([[1.0, 0.0], [1.0, 0.0]]), jnp.array([[1.0, 1.0], [1.0, 1.0]])
    got = lossjax.cosine_embedding(a, b, jnp.array([NAN, 1.0]), reduction="none")
    assert np.isnan(got[0]) and np.isfinite(got[1])


def test_tweedie_keeps_a_nan_target():
    # tweedie gave a number for a NaN target
    got = lossjax.tweedie(jnp.array([0.0, 0.0]), jnp.array([NAN, 1.0]), reduction="none")
    assert np.isnan(got[0]) and float(got[1]) == 0.0


def test_metrics_give_nan_for_nan_predictions():
    # argmax and thresholds read a NaN as a definite answer (a NaN
    # logit at the label's class counted as a hit)
    logits = jnp.array([[NAN, 1.0, 0.0], [2.0, 1.0, 0.0]])
    labels = jnp.array([0, 0])
    for fn in (lossjax.accuracy, lossjax.zero_one):
        got = fn(logits, labels, reduction="none")
        assert np.isnan(got[0]) and np.isfinite(got[1]), fn
        got = fn(jnp.array([NAN, 0.9]), jnp.array([1.0, 1.0]), reduction="none")
        assert np.isnan(got[0]) and np.isfinite(got[1]), fn
    # a NaN row dropped by `where` still changes nothing
    assert float(lossjax.accuracy(logits, labels, where=jnp.array([False, True]))) == 1.0
