"""Before / after: this tree's losses against those of an earlier commit, in one run.

A refactoring must not slow a loss down, and two benchmark runs at different times on a
shared machine cannot show that (single timings move by up to 2x with other tenants' load).
This experiment imports both versions into one process, the earlier one as a package copy
``lossjax_old`` (``git archive <commit> lossjax``, its imports renamed), and times the jitted
``value_and_grad`` of each loss on the benchmark's inputs (``experiments.benchmark.
make_cases``), both versions back to back in every round; the ratio new / old is taken per
round and reported as the median with its interquartile range. Values and gradients of the
two versions must agree before timing.

``python -m experiments.compare_versions --old f715a84 --losses huber,softmax_cross_entropy``
prints a markdown table (and writes it with the JSON under ``--out``);
``--losses linear_cross_entropy --lce_shapes 1024x32768x512`` times the linear
cross-entropy (hidden ``[N, D]``, weight ``[V, D]``).
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import lossjax
from experiments import benchmark
from lossjax import registry

ROOT = Path(__file__).resolve().parents[1]
# The rows of `make bench-check` (experiments/benchmark.py): the losses every refactoring of
# the kernels must keep at speed.
DEFAULT_LOSSES = ("squared_error", "huber", "log_cosh", "binary_cross_entropy_with_logits",
                  "sigmoid_focal", "hinge", "softmax_cross_entropy")


def import_old(commit: str, into: Path) -> Any:
    """Imports ``lossjax`` as of ``commit`` under the name ``lossjax_old``."""
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "lossjax"],
                         check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=tar, check=True)
    pkg = into / "lossjax_old"
    (into / "lossjax").rename(pkg)
    for path in pkg.rglob("*.py"):
        text = path.read_text()
        path.write_text(re.sub(r"\blossjax\b(?!_old)", "lossjax_old", text))
    sys.path.insert(0, str(into))
    return importlib.import_module("lossjax_old")


def _vag(fn: Callable[..., Any], case: benchmark.Case) -> Callable[[], Any]:
    compiled, _, _ = benchmark.compile_vag(lambda *a: fn(*a, **case.kwargs), case)
    return lambda: compiled(*case.args)


def linear_ce_cases(shapes: Sequence[tuple[int, int, int]]) -> list[benchmark.Case]:
    """``linear_cross_entropy`` rows: hidden ``[N, D]``, weight ``[V, D]``, labels ``[N]``
    (float32, seeded), the mean at defaults ("plain") and with every term on ("all": bias,
    label smoothing, z-loss, soft cap); differentiated in hidden and weight."""
    cases = []
    for n, v, d in shapes:
        k = jax.random.split(jax.random.key(0), 4)
        h = jax.random.normal(k[0], (n, d), jnp.float32)
        w = 0.05 * jax.random.normal(k[1], (v, d), jnp.float32)
        y = jax.random.randint(k[2], (n,), 0, v)
        b = 0.1 * jax.random.normal(k[3], (v,), jnp.float32)
        options = {"plain": {}, "all": {"bias": b, "label_smoothing": 0.1, "z_loss": 1e-4,
                                        "logit_softcap": 30.0}}
        for variant, kwargs in options.items():
            cases.append(benchmark.Case("linear_cross_entropy", f"{n}x{v}x{d}", n * v,
                                        (h, w, y), kwargs, (0, 1), variant))
    return cases


def compare(old: Any, names: Sequence[str], sizes: Sequence[int],
            class_shapes: Sequence[tuple[int, int]], repeats: int, warmup: int,
            inner: int, lce_shapes: Sequence[tuple[int, int, int]] = ()) -> list[dict[str, Any]]:
    rows = []
    for name in names:
        if name not in old.registry.names():
            continue
        if name == "linear_cross_entropy":
            cases = linear_ce_cases(lce_shapes)
        else:
            cases = benchmark.make_cases(name, sizes, class_shapes=class_shapes,
                                         ce_cases=("plain",))
        for case in cases:
            fns = {"new": _vag(registry.get(name), case),
                   "old": _vag(old.registry.get(name), case)}
            (v1, g1), (v0, g0) = fns["new"](), fns["old"]()
            np.testing.assert_allclose(np.asarray(v1), np.asarray(v0), rtol=1e-5, atol=1e-6)
            for a, b in zip(jax.tree.leaves(g1), jax.tree.leaves(g0), strict=True):
                np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)
            times = benchmark.time_round_robin(fns, repeats, warmup, inner)
            st = benchmark.ratio_stats(times["new"], times["old"])
            label = f"{name} ({case.variant})" if name == "linear_cross_entropy" else name
            rows.append({"loss": label, "shape": case.shape,
                         "new_ms": 1e3 * float(np.median(times["new"])),
                         "old_ms": 1e3 * float(np.median(times["old"])), **st})
    return rows


def markdown(rows: Sequence[dict[str, Any]], commit: str, command: str) -> str:
    lines = [f"`{command}` (new: this tree; old: {commit}; value_and_grad, jitted, float32)",
             "", "| loss | shape | new ms | old ms | new / old [IQR] |", "|---|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['loss']} | {r['shape']} | {r['new_ms']:.3f} | {r['old_ms']:.3f} | "
                     f"{benchmark.fmt_ratio(r)} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str]) -> None:
    from absl import flags

    del argv
    F = flags.FLAGS
    names = registry.names() if F.losses == ["all"] else [registry.spec(n).name
                                                         for n in F.losses]
    shapes = [tuple(int(v) for v in s.split("x")) for s in F.class_shapes]
    with tempfile.TemporaryDirectory() as tmp:
        old = import_old(F.old, Path(tmp))
        lce = [tuple(int(v) for v in s.split("x")) for s in F.lce_shapes]
        rows = compare(old, names, [int(s) for s in F.sizes], shapes, F.repeats, F.warmup,
                       F.inner, lce)
    command = "python -m experiments.compare_versions " + " ".join(sys.argv[1:])
    md = markdown(rows, F.old, command)
    out = Path(F.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare_versions.md").write_text(md)
    (out / "compare_versions.json").write_text(json.dumps(
        {"old": F.old, "lossjax": lossjax.__file__, "machine": benchmark.machine(),
         "rows": rows}, indent=1))
    print(md)


def define_flags() -> None:
    from absl import flags

    flags.DEFINE_string("old", "HEAD~1", "The earlier commit (any git revision).")
    flags.DEFINE_list("losses", list(DEFAULT_LOSSES), "Registry names, or 'all'.")
    flags.DEFINE_list("sizes", ["4194304"], "Element counts of element-wise losses.")
    flags.DEFINE_list("class_shapes", ["4096x8192"], "NxK shapes of classification losses.")
    flags.DEFINE_list("lce_shapes", ["1024x32768x512"],
                      "NxVxD shapes of linear_cross_entropy (when it is among --losses).")
    flags.DEFINE_integer("repeats", 15, "Timed rounds (both versions in each).")
    flags.DEFINE_integer("warmup", 2, "Untimed rounds first.")
    flags.DEFINE_integer("inner", 3, "Calls per version and round; the fastest is kept.")
    flags.DEFINE_string("out", "experiments/results/compare_versions", "Output folder.")


if __name__ == "__main__":
    from absl import app

    define_flags()
    app.run(main)
