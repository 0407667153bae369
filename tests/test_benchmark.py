"""Tests of experiments/benchmark.py on tiny sizes (structure and values only: no timing is
checked)."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lossjax
from experiments import benchmark


def test_benchmark_runs_on_tiny_sizes(tmp_path):
    results, e2e, md = benchmark.run(
        losses=["huber", "bce", "softmax_cross_entropy"], sizes=[1000], class_shapes=[(8, 16)],
        repeats=2, warmup=1, peers=("optax", "torch"), ce_cases=("plain",),
        e2e_config=dict(batch=8, width=16, classes=10, depth=1), e2e_models=("mlp",),
        out=str(tmp_path), log=lambda _: None,
    )
    by_loss = {r["loss"]: r for r in results}
    # Aliases resolve to canonical names; every loss gets lossjax, the floor and the ratios.
    assert set(by_loss) == {"huber", "binary_cross_entropy", "softmax_cross_entropy"}
    for r in results:
        assert {"lossjax_fwd", "lossjax_vag", "floor"} <= set(r["median_s"])
        assert "vag/floor" in r["ratios"] and r["compile_s"]["lossjax"] > 0
        assert r["targets"], r["loss"]
        # Every ratio comes with its spread over the rounds, and the rounds' times are kept.
        for k, v in r["ratios"].items():
            st = r["ratio_spread"][k]
            assert st["min"] <= st["q1"] <= v == st["median"] <= st["q3"] <= st["max"]
            assert st["rounds"] == 2
        assert all(len(t) == 2 for t in r["times_s"].values())
    # optax has huber and softmax cross-entropy (adapter table), not probability BCE.
    assert "vag/optax" in by_loss["huber"]["ratios"]
    assert "vag/optax" in by_loss["softmax_cross_entropy"]["ratios"]
    assert "optax_vag" not in by_loss["binary_cross_entropy"]["median_s"]
    assert "naive_vag" not in by_loss["softmax_cross_entropy"]["median_s"]  # not in peers
    assert by_loss["softmax_cross_entropy"]["shape"] == "[8, 16]"
    assert set(e2e) == {"mlp"} and e2e["mlp"]["lossjax/optax"] > 0
    saved = json.loads((tmp_path / "benchmark.json").read_text())
    assert len(saved["results"]) == 3 and saved["e2e"]["config"]["classes"] == 10
    assert saved["e2e_transformer"] is None
    assert "| loss | shape |" in md and md == (tmp_path / "benchmark.md").read_text()


def test_time_round_robin_times_every_function_every_round():
    calls = []
    fns = {k: (lambda k=k: calls.append(k)) for k in "abc"}
    times = benchmark.time_round_robin(fns, repeats=4, warmup=1, inner=2)
    assert {k: len(v) for k, v in times.items()} == {"a": 4, "b": 4, "c": 4}
    assert calls[:3] == list("abc")  # warm-up
    rounds = [calls[3 + 6 * r: 9 + 6 * r] for r in range(4)]
    # Each round calls every function `inner` times back to back; the order rotates.
    assert rounds[0] == list("aabbcc") and rounds[1] == list("bbccaa")
    assert rounds[3] == list("aabbcc")


def test_ratio_stats_and_slower_marks():
    st = benchmark.ratio_stats([1.0, 2.0, 3.0, 4.0, 10.0], [1.0, 1.0, 1.0, 1.0, 1.0])
    assert st == {"median": 3.0, "q1": 2.0, "q3": 4.0, "min": 1.0, "max": 10.0, "rounds": 5}
    assert benchmark.fmt_ratio(st) == "3.00 [2.00–4.00]"
    assert benchmark.fmt_ratio(st, mark=True) == "**3.00** [2.00–4.00]"
    one = benchmark.ratio_stats([2.0], [4.0])
    assert one["median"] == one["q1"] == one["q3"] == 0.5
    spread = {
        "vag/optax": benchmark.ratio_stats([1.3, 1.2, 1.25], [1, 1, 1]),   # clearly slower
        "fwd/naive": benchmark.ratio_stats([0.9, 1.1, 1.2], [1, 1, 1]),   # slower, IQR reaches 1
        "vag/floor": benchmark.ratio_stats([3.0, 3.0, 3.0], [1, 1, 1]),   # not a peer
        "optax_vag/floor": benchmark.ratio_stats([3.0] * 3, [1] * 3),     # not lossjax's ratio
        "fwd/optax": benchmark.ratio_stats([0.5] * 3, [1] * 3),           # faster
    }
    slow = benchmark.slower_than(spread)
    assert [(e["ratio"], e["beyond_spread"]) for e in slow] == [
        ("vag/optax", True), ("fwd/naive", False)]
    text = benchmark.fmt_slower(slow)
    assert text == "SLOWER than a peer: vag/optax 1.25, fwd/naive 1.10 (noise?)"
    assert benchmark.fmt_slower([]) == ""


@pytest.mark.parametrize("variant", benchmark.CE_CASES)
def test_softmax_ce_case_adapters_agree_with_lossjax(variant):
    kx, ky, kc = jax.random.split(jax.random.PRNGKey(1), 3)
    x = 3.0 * jax.random.normal(kx, (64, 11), jnp.float32)
    y = jax.random.randint(ky, (64,), 0, 11)
    args, kw = benchmark.ce_case_inputs(variant, x, y, kc)
    if variant == "ignore_index":
        assert 0 < int(jnp.sum(args[1] == -100)) < 64
    if variant == "probs":
        np.testing.assert_allclose(jnp.sum(args[1], -1), 1.0, rtol=1e-5)
    fns = [lambda x, *rest: lossjax.softmax_cross_entropy(x, *rest, **kw)]
    for table in (benchmark._optax_adapters, benchmark._naive_adapters):
        f = table()["softmax_cross_entropy"](kw)
        assert f is not None, (table, variant)
        fns.append(f)
    # the three in one compiled program (the adapters are not jitted: op by op, each
    # primitive would compile alone)
    (ref_v, ref_g), *theirs = jax.jit(lambda args: [jax.value_and_grad(f)(*args)
                                                    for f in fns])(args)
    for v, g in theirs:
        np.testing.assert_allclose(v, ref_v, rtol=1e-5)
        np.testing.assert_allclose(g, ref_g, rtol=1e-4, atol=1e-6)


def test_every_multiclass_loss_with_labels_is_compared_with_its_formula():
    # Issue 14, item 3: every multiclass loss that takes integer labels is benchmarked on
    # [N, K] against plain autodiff of its own formula (and optax's where optax has the loss);
    # each such peer computes lossjax's value and gradient (float64, the loss's defaults).
    labelled = {n for n in lossjax.registry.names(task="multiclass")
                if "labels" in lossjax.registry.spec(n).targets} - benchmark.SKIP_BY_DEFAULT
    assert labelled <= benchmark.CLASS_LOSSES, labelled - benchmark.CLASS_LOSSES
    naive, optax_ = benchmark._naive_adapters(), benchmark._optax_adapters()
    for name in sorted(benchmark.CLASS_LOSSES):
        spec = lossjax.registry.spec(name)
        (case,) = benchmark.make_cases(name, [], jnp.float64, [(64, 11)], ce_cases=("plain",))
        x, y = case.args
        ref_v, ref_g = jax.value_and_grad(spec.fn)(x, y)
        peers = {"naive": naive[name]({})}
        if name in optax_:
            peers["optax"] = optax_[name]({})
        assert peers["naive"] is not None, name
        # the naive bi-tempered loss iterates the paper's fixed point 10 times (lossjax solves
        # the normaliser exactly): it agrees to about 1e-8 of the largest gradient entry
        for peer, f in peers.items():
            tol = 1e-6 if name == "bi_tempered_logistic" and peer == "naive" else 1e-10
            v, g = jax.value_and_grad(f)(x, y)
            dev = benchmark._deviation(v, [g], ref_v, [ref_g])
            assert max(dev.values()) <= tol, (name, peer, dev)


def test_naive_focal_with_smoothing_is_kerass_dense_definition():
    kx, ky = jax.random.split(jax.random.PRNGKey(3))
    x = jax.random.normal(kx, (32, 7), jnp.float64)
    y = jax.random.randint(ky, (32,), 0, 7)
    f = benchmark._naive_adapters()["softmax_focal"]({"label_smoothing": 0.2})
    np.testing.assert_allclose(f(x, y), lossjax.softmax_focal(x, y, label_smoothing=0.2),
                               rtol=1e-12)


def test_probe_passes_runs_at_a_tiny_shape(capsys):
    from experiments import probe_passes

    probe_passes.main(["probe_passes", "16x32", "2"])
    out = capsys.readouterr().out
    assert "in-place update" in out and "optax value_and_grad" in out


def test_naive_class_weights_with_smoothing_is_pytorchs_definition():
    # optax has no class-weighted smoothing (no adapter); the naive formula follows lossjax.
    kx, ky, kc = jax.random.split(jax.random.PRNGKey(2), 3)
    x = jax.random.normal(kx, (32, 7))
    y = jax.random.randint(ky, (32,), 0, 7).at[:3].set(-100)
    kw = {"class_weights": jax.random.uniform(kc, (7,), minval=0.5, maxval=2.0),
          "label_smoothing": 0.2, "ignore_index": -100}
    assert benchmark._optax_adapters()["softmax_cross_entropy"](kw) is None
    f = benchmark._naive_adapters()["softmax_cross_entropy"](kw)
    np.testing.assert_allclose(f(x, y), lossjax.softmax_cross_entropy(x, y, **kw), rtol=1e-5)


def test_check_agreement_rejects_a_different_loss():
    x = jax.random.normal(jax.random.PRNGKey(0), (16, 5))
    y = jnp.arange(16) % 5
    case = benchmark.Case("softmax_cross_entropy", "[16, 5]", 80, (x, y),
                          {"label_smoothing": 0.1}, (0,), "label_smoothing")
    vag = lambda f: (lambda: jax.value_and_grad(f)(x, y))  # noqa: E731
    same = lambda x, y: lossjax.softmax_cross_entropy(x, y, label_smoothing=0.1)  # noqa: E731
    other = lambda x, y: lossjax.softmax_cross_entropy(x, y)  # no smoothing  # noqa: E731
    fns = {"lossjax_fwd": lambda: same(x, y), "lossjax_vag": vag(same),
           "optax_fwd": lambda: same(x, y), "optax_vag": vag(same)}
    dev = benchmark.check_agreement(fns, case)
    assert dev["optax"]["value"] < 1e-6
    fns.update(optax_fwd=lambda: other(x, y), optax_vag=vag(other))
    with pytest.raises(AssertionError, match="optax deviates"):
        benchmark.check_agreement(fns, case)


def test_softmax_ce_cases_run_and_are_marked(tmp_path):
    results, _, md = benchmark.run(
        losses=["softmax_cross_entropy"], class_shapes=[(16, 8)], repeats=2, warmup=0,
        inner=1, peers=("optax", "naive"), e2e=False, out=str(tmp_path), log=lambda _: None,
    )
    assert [r["variant"] for r in results] == list(benchmark.CE_CASES)
    for r in results:
        assert {"vag/optax", "vag/naive"} <= set(r["ratio_spread"])
        assert set(r["deviation"]) == {"lossjax_fwd", "optax", "naive"}
        targets = {t["ratio"]: t["bound"] for t in r["targets"]}
        assert targets["vag/optax"] == (0.8 if r["variant"] == "plain" else 1.0)
        assert targets["vag/naive"] == 1.0
        row = next(line for line in md.splitlines()
                   if line.startswith(f"| softmax_cross_entropy ({r['variant']}) |"))
        # A row is marked exactly when lossjax's median ratio to a peer is above 1.
        assert ("SLOWER than a peer" in row) == bool(r["slower_than"])
        assert ("SLOWER than a peer" in benchmark.summary_line(r)) == bool(r["slower_than"])
    assert results[3]["options"] == {"class_weights": "array[8]"}


def test_transformer_step_runs_at_tiny_size():
    r = benchmark.transformer_step_benchmark(batch=2, seq=8, vocab=64, width=16, layers=1,
                                             heads=2, repeats=2, warmup=1)
    assert r["config"]["vocab"] == 64
    # Same parameters and batch: the first step's loss is the same with either loss.
    assert abs(r["first_loss"]["lossjax"] - r["first_loss"]["optax"]) < 1e-5
    assert np.isfinite(r["first_loss"]["lossjax"]) and r["spread"]["rounds"] == 2
    assert r["lossjax/optax"] == r["spread"]["median"] > 0
    logits = jax.jit(lambda key: benchmark.lm_logits(benchmark.init_lm(key, 64, 8, 16, 1),
                                                     jnp.zeros((2, 8), jnp.int32), heads=2))(
        jax.random.PRNGKey(0))
    assert logits.shape == (2, 8, 64)


def test_lm_is_causal():
    params = jax.jit(benchmark.init_lm, static_argnums=(1, 2, 3, 4))(
        jax.random.PRNGKey(0), 32, 6, 16, 2)
    t = jnp.array([[1, 2, 3, 4, 5, 6]])
    u = t.at[0, 4].set(9)
    logits = jax.jit(benchmark.lm_logits, static_argnums=2)  # one program, not op by op
    a, b = logits(params, t, 2), logits(params, u, 2)
    np.testing.assert_allclose(a[:, :4], b[:, :4], rtol=1e-5, atol=1e-6)
    assert not np.allclose(a[:, 4:], b[:, 4:])


def test_benchmark_lce_round_robin_with_spread_and_marks():
    from experiments import benchmark_lce

    rows = benchmark_lce.run_case(16, 64, 8, jnp.float32, ["naive", "jax_cce", "lossjax"],
                                  repeats=3, warmup=1, chunk=None, block=None, cce_chunk=4096,
                                  seed=0, check=True)
    by = {r["impl"]: r for r in rows}
    assert by["naive"]["ratio_to_naive"] == 1.0
    lj = by["lossjax"]
    assert len(lj["times_s"]) == len(by["naive"]["times_s"]) == 3
    st = lj["ratio_to_naive_spread"]
    assert st["min"] <= st["q1"] <= lj["ratio_to_naive"] == st["median"] <= st["q3"] <= st["max"]
    assert max(lj["deviation"].values()) < 1e-4
    assert ("naive" in lj["slower_than"]) == (lj["ratio_to_naive"] > 1.0)
    md = benchmark_lce.markdown(rows)
    line = next(x for x in md.splitlines() if x.startswith("| 16 | 64 | lossjax |"))
    assert ("SLOWER than naive" in line) == (lj["ratio_to_naive"] > 1.0)
    if by["jax_cce"]["status"] == "not installed":
        assert "ratio_to_jax_cce" not in lj
