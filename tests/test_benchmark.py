"""Smoke test of experiments/benchmark.py on tiny sizes (structure only: no timing is checked)."""

import json

from experiments import benchmark


def test_benchmark_runs_on_tiny_sizes(tmp_path):
    results, e2e, md = benchmark.run(
        losses=["huber", "bce", "softmax_cross_entropy"], sizes=[1000], class_shapes=[(8, 16)],
        repeats=2, warmup=1, peers=("optax", "torch"),
        e2e_config=dict(batch=8, width=16, classes=10, depth=1), out=str(tmp_path),
        log=lambda _: None,
    )
    by_loss = {r["loss"]: r for r in results}
    # Aliases resolve to canonical names; every loss gets lossjax, the floor and the ratios.
    assert set(by_loss) == {"huber", "binary_cross_entropy", "softmax_cross_entropy"}
    for r in results:
        assert {"lossjax_fwd", "lossjax_vag", "floor"} <= set(r["median_s"])
        assert "vag/floor" in r["ratios"] and r["compile_s"]["lossjax"] > 0
        assert r["targets"], r["loss"]
    # optax has huber and softmax cross-entropy (adapter table), not probability BCE.
    assert "vag/optax" in by_loss["huber"]["ratios"]
    assert "vag/optax" in by_loss["softmax_cross_entropy"]["ratios"]
    assert "optax_vag" not in by_loss["binary_cross_entropy"]["median_s"]
    assert by_loss["softmax_cross_entropy"]["shape"] == "[8, 16]"
    assert e2e["lossjax/optax"] > 0
    saved = json.loads((tmp_path / "benchmark.json").read_text())
    assert len(saved["results"]) == 3 and saved["e2e"]["config"]["classes"] == 10
    assert "| loss | shape |" in md and md == (tmp_path / "benchmark.md").read_text()
