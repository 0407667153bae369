"""Smoke tests of the studies in ``experiments/``: every study on a tiny configuration.

Each study's ``run(config, out)`` must write ``metrics.json`` with the numbers its report needs
and every PNG it lists, and ``report`` must embed each of them. A few numbers are checked
against independent references (named in the comments). The command line is exercised through
absl flag parsing and one real subprocess per entry point.
"""

import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from absl import flags

from experiments import STUDIES, _common, demo

ROOT = Path(__file__).resolve().parents[1]

# Keys every study's metrics.json must have (beyond "config" and "plots").
EXPECTED_KEYS = {
    "loss_landscape": {"classification", "regression"},
    "loss_vs_accuracy": {"small", "medium"},
    "outlier": {"per_seed", "spread", "seeds_where_diagnostics_name_the_outlier",
                "seeds_where_loss_rose_and_accuracy_held"},
    "overfitting": {"runs", "parameters", "chance_cross_entropy"},
    "imbalance": {"results", "train_positives", "test_positives"},
    "robust_regression": {"results", "train_size", "test_size"},
    "boxes": {"results", "initial_mean_iou"},
}


def _pngs(metrics_plots):
    if isinstance(metrics_plots, dict):
        out = []
        for v in metrics_plots.values():
            out += _pngs(v)
        return out
    if isinstance(metrics_plots, list):
        return list(metrics_plots)
    return [metrics_plots]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """``tiny_run(name)`` -> (metrics, output folder) of ``run(TINY)`` of a study, run once per
    process: test_loss_vs_accuracy_numbers checks the numbers of the same run as
    test_study_runs_on_tiny_config[loss_vs_accuracy] (one xdist group), which ran it twice."""
    done = {}

    def get(name):
        if name not in done:
            mod = demo.study_module(name)
            out = tmp_path_factory.mktemp(name)
            done[name] = (mod.run(mod.TINY, str(out)), out)
        return done[name]

    return get


SHARED = {"loss_vs_accuracy"}  # studies whose tiny run a second test reads


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=[pytest.mark.xdist_group(f"study-{n}")] if n in SHARED else [])
    for n in STUDIES])
def test_study_runs_on_tiny_config(name, tiny_run):
    mod = demo.study_module(name)
    metrics, tmp_path = tiny_run(name)
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert {"config", "plots"} | EXPECTED_KEYS[name] <= set(on_disk)
    assert on_disk["config"] == _common.config_dict(mod.TINY)
    pngs = _pngs(on_disk["plots"])
    assert pngs and sorted(pngs) == sorted(p.name for p in tmp_path.glob("*.png"))
    for p in pngs:
        assert (tmp_path / p).stat().st_size > 5000  # a real figure, not an empty file
    section = mod.report(metrics, "plots_here")
    assert section.startswith("## ")
    for p in pngs:
        assert f"(plots_here/{p})" in section
    assert "nan" not in section.lower().replace("nan-", "")


@pytest.mark.xdist_group("study-loss_vs_accuracy")
def test_loss_vs_accuracy_numbers(tiny_run):
    from experiments import loss_vs_accuracy as lva

    m, tmp_path = tiny_run("loss_vs_accuracy")
    small = json.loads((tmp_path / "metrics.json").read_text())["small"]
    assert set(small["fit"]) >= {"a", "b", "cut", "cross_entropy", "accuracy"}
    # Reference: scipy.optimize.minimize(BFGS, tol=1e-12) of the mean logistic loss on the
    # five points (scipy 1.x, 2026-11-23): a = 1.26805088, b = -0.65427426, CE = 0.58240818.
    assert small["fit"]["a"] == pytest.approx(1.26805088, abs=1e-6)
    assert small["fit"]["b"] == pytest.approx(-0.65427426, abs=1e-6)
    assert small["fit"]["cross_entropy"] == pytest.approx(0.58240818, abs=1e-7)
    assert small["fit"]["cut"] == pytest.approx(0.65427426 / 1.26805088, abs=1e-6)
    assert small["fit"]["accuracy"] == pytest.approx(0.6)  # x=0 and x=0.9 are on the wrong side
    assert small["fit"]["gradient_norm"] < 1e-8
    pp = small["per_point_cross_entropy"]
    assert [p["x"] for p in pp] == list(lva.SMALL_X)
    assert np.mean([p["cross_entropy"] for p in pp]) == pytest.approx(
        small["fit"]["cross_entropy"], rel=1e-9)
    grid = small["grid"]
    # By hand: a cut in [-0.3, 0) or [0.9, 1) misclassifies one point of five.
    assert grid["max_accuracy"] == pytest.approx(0.8)
    for r in grid["cut_ranges"]:
        assert -0.3 <= r["low"] <= r["high"] < 0 or 0.9 <= r["low"] <= r["high"] < 1
    for key in ("along_a", "along_b"):
        assert grid[key] and set(grid[key][0]) == {"a", "b", "cross_entropy", "accuracy"}
    # The grid's accuracy at its own points is what lossjax.accuracy gives.
    pt = grid["along_b"][0]
    x, y = np.array(lva.SMALL_X), np.array(lva.SMALL_Y)
    assert pt["accuracy"] == pytest.approx(np.mean(((pt["a"] * x + pt["b"]) > 0) == (y > 0.5)))
    assert m["medium"]["n"] == 100 and m["medium"]["positives"] == 60  # data README
    assert "per_point_cross_entropy" not in m["medium"]


def test_data_files_are_inside_the_package():
    from experiments import loss_vs_accuracy as lva

    assert lva.DATA_DIR == ROOT / "experiments" / "data"
    x, y = lva.load_dataset("large")
    assert x.shape == (10000,) and int(y.sum()) == 4931  # data README: 4931 ones
    assert (lva.DATA_DIR / "README.md").exists()


def test_outlier_study_default_config_names_the_outlier(tmp_path):
    # The study's claim, on its real configuration (10 seeds x 300 epochs, one vmapped scan).
    from experiments import outlier

    m = outlier.run(outlier.Config(), str(tmp_path))
    assert m["seeds_where_diagnostics_name_the_outlier"] == 10
    assert m["seeds_where_loss_rose_and_accuracy_held"] >= 8
    for s in m["per_seed"]:
        assert s["diagnostics"]["top_index"] == s["outlier_index"]
        assert s["final_test_loss"] > s["min_test_loss"]


def test_landscape_values_match_formulas(tmp_path):
    from experiments import loss_landscape as ll

    cfg = dataclasses.replace(ll.TINY, classification_losses=("zero_one", "hinge",
                                                              "logistic_base2", "perceptron"),
                              regression_losses=("squared_error", "huber:delta=2"))
    m = ll.run(cfg, str(tmp_path))
    by = {c["label"]: c for c in m["classification"] + m["regression"]}
    # By hand: hinge(-1) = 2, logistic base 2 at 0 is log2(2) = 1 with slope -1/(2 ln 2).
    assert by["hinge"]["value_at"]["-1"] == pytest.approx(2.0)
    assert by["logistic (base 2)"]["value_at"]["0"] == pytest.approx(1.0)
    assert by["logistic (base 2)"]["gradient_at"]["0"] == pytest.approx(-0.5 / math.log(2))
    assert by["zero_one"]["value_at"]["0"] == 1.0 and by["zero_one"]["value_at"]["1"] == 0.0
    assert by["perceptron" if "perceptron" in by else "perceptron [fallback]"][
        "upper_bounds_zero_one"] is False
    assert by["hinge"]["upper_bounds_zero_one"] is True
    # Huber(delta=2) at residual 4: 2 * (4 - 1) = 6, slope 2; squared error slope 8.
    assert by["huber (delta=2)"]["value_at"]["4"] == pytest.approx(6.0)
    assert by["huber (delta=2)"]["max_abs_gradient"] == pytest.approx(2.0)
    assert by["squared_error"]["max_abs_gradient"] == pytest.approx(8.0)


# --------------------------------------------------------------------------------------------
# Command line


@pytest.mark.parametrize("name", STUDIES)
def test_flags_have_help_and_parse(name):
    mod = demo.study_module(name)
    fv = flags.FlagValues()
    _common.define_flags(mod.Config, default_out=f"results/{name}", flag_values=fv)
    fields = {f.name for f in dataclasses.fields(mod.Config)}
    assert {"seed", "out"} <= set(fv) and fields <= set(fv)
    for flag_name in fv:
        assert fv[flag_name].help and len(fv[flag_name].help) > 10, flag_name
    fv(["prog", "--seed=7", "--out=/tmp/x"])
    config = _common.config_from_flags(mod.Config, fv)
    assert config == dataclasses.replace(mod.Config(), seed=7)
    assert fv.out == "/tmp/x"


def test_loss_flags_take_registry_names_with_hyperparameters():
    from experiments import robust_regression as rr

    fv = flags.FlagValues()
    _common.define_flags(rr.Config, default_out="x", flag_values=fv)
    fv(["prog", "--losses=mse,huber:delta=0.5,l1", "--fractions=0,0.25"])
    config = _common.config_from_flags(rr.Config, fv)
    assert config.losses == ("mse", "huber:delta=0.5", "l1")
    assert config.fractions == (0.0, 0.25)
    choice = _common.parse_loss("huber:delta=0.5")
    assert choice.name == "huber" and choice.hyper() == {"delta": 0.5}
    assert _common.parse_loss("mse").name == "squared_error"
    with pytest.raises(ValueError, match="unknown loss"):
        _common.parse_loss("no_such_loss")
    with pytest.raises(ValueError, match="key=value"):
        _common.parse_loss("huber:0.5")


def _run_cli(args, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu")
    return subprocess.run([sys.executable, "-m", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_help_lists_flags(tmp_path):
    r = _run_cli(["experiments.robust_regression", "--help"], tmp_path)
    assert r.returncode in (0, 1), r.stderr  # absl exits with 1 after printing --help
    for flag in ("--losses", "--seed", "--out", "--fractions", "--steps"):
        assert f"{flag}: " in r.stdout  # listed with its help text


def test_cli_runs_a_study_alone(tmp_path):
    r = _run_cli(["experiments.boxes", "--losses=giou,l1", "--boxes=20", "--steps=5",
                  f"--out={tmp_path / 'b'}"], tmp_path)
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert [x["loss"] for x in m["results"]] == ["giou", "l1"]
    assert len(m["results"][0]["mean_iou"]) == 6  # the start and 5 steps


def test_demo_writes_report_with_every_plot(tmp_path):
    path = demo.run(tmp_path, ("loss_landscape", "robust_regression"), tiny=True)
    text = path.read_text()
    for name in ("loss_landscape", "robust_regression"):
        assert f"| {name} |" in text
        for png in (tmp_path / name).glob("*.png"):
            assert f"({name}/{png.name})" in text
    assert text.count("## ") == 2
