"""Benchmark: fused linear cross-entropy against the naive path (and jax-cce if installed).

For every (N, V) it compiles ``jax.value_and_grad`` with respect to ``hidden`` and ``weight``
of three implementations of ``mean(cross_entropy(hidden @ weight.T, labels))``:

* ``naive``: ``optax.softmax_cross_entropy_with_integer_labels(hidden @ weight.T, labels)``;
* ``jax_cce``: ``jax_cce.linear_cross_entropy`` (the ``jax-cce`` package, if importable;
  otherwise reported as not installed);
* ``lossjax``: :func:`lossjax.linear_cross_entropy`.

and reports, per implementation: the XLA temporary memory of the compiled program
(``compiled.memory_analysis().temp_size_in_bytes``), the median wall time over ``--repeats``
calls after ``--warmup`` calls (the implementations alternate within each repeat, so slow
phases of a shared machine hit all of them), the median of the per-repeat time ratios to the
naive path, and the largest deviation from the naive path (value, and each gradient relative
to its largest entry).

Run ``python -m experiments.benchmark_lce`` (``--help`` lists the flags); it prints a markdown
table and writes JSON to ``--out``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import app, flags

import lossjax

IMPLEMENTATIONS = ("naive", "jax_cce", "lossjax")

_N = flags.DEFINE_list("tokens", ["1024", "4096"], "Token counts N.")
_V = flags.DEFINE_list("vocab", ["8192", "32768", "131072"], "Vocabulary sizes V.")
_D = flags.DEFINE_integer("width", 512, "Hidden width D.")
_DTYPE = flags.DEFINE_enum("dtype", "float32", ["float32", "bfloat16", "float16"],
                           "Dtype of hidden and weight.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed calls per implementation (median).")
_WARMUP = flags.DEFINE_integer("warmup", 1, "Untimed calls per implementation first.")
_IMPLS = flags.DEFINE_list("impls", list(IMPLEMENTATIONS), "Implementations to run.")
_CHUNK = flags.DEFINE_integer("chunk_size", None, "lossjax chunk_size (default: automatic).")
_BLOCK = flags.DEFINE_integer("vocab_block_size", None, "lossjax vocab_block_size.")
_CCE_CHUNK = flags.DEFINE_integer("cce_chunk_size", 4096, "jax-cce chunk_size (its default).")
_SEED = flags.DEFINE_integer("seed", 0, "PRNG seed of the inputs.")
_OUT = flags.DEFINE_string("out", "results/benchmark_lce.json", "JSON output path.")
_CHECK = flags.DEFINE_bool("check", True, "Compare each implementation with the naive path.")


def jax_cce_module() -> Any | None:
    try:
        import jax_cce  # type: ignore[import-not-found]
    except ImportError:
        return None
    return jax_cce


def loss_fns(labels: jax.Array, chunk: int | None, block: int | None, cce_chunk: int
             ) -> dict[str, Callable[[jax.Array, jax.Array], jax.Array] | None]:
    cce = jax_cce_module()

    def naive(h, w):
        logits = h @ w.T
        return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

    def ours(h, w):
        return lossjax.linear_cross_entropy(h, w, labels, chunk_size=chunk,
                                            vocab_block_size=block)

    def jax_cce(h, w):
        return cce.linear_cross_entropy(h, w, labels, chunk_size=cce_chunk)

    return {"naive": naive, "jax_cce": jax_cce if cce is not None else None, "lossjax": ours}


def inputs(n: int, v: int, d: int, dtype: Any, seed: int):
    k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
    h = jax.random.normal(k1, (n, d), jnp.float32).astype(dtype)
    w = (jax.random.normal(k2, (v, d), jnp.float32) / np.sqrt(d)).astype(dtype)
    y = jax.random.randint(k3, (n,), 0, v)
    return h, w, y


def _deviation(got, ref) -> dict[str, float]:
    (v1, g1), (v2, g2) = got, ref
    out = {"value": abs(float(v1) - float(v2)) / max(abs(float(v2)), 1e-30)}
    for name, a, b in zip(("d_hidden", "d_weight"), g1, g2, strict=True):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        out[name] = float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))
    return out


def run_case(n: int, v: int, d: int, dtype: Any, impls: Sequence[str], repeats: int,
             warmup: int, chunk: int | None, block: int | None, cce_chunk: int, seed: int,
             check: bool) -> list[dict[str, Any]]:
    h, w, y = inputs(n, v, d, dtype, seed)
    fns = loss_fns(y, chunk, block, cce_chunk)
    rows: dict[str, dict[str, Any]] = {}
    compiled: dict[str, Any] = {}
    for name in impls:
        row = {"n": n, "v": v, "d": d, "dtype": jnp.dtype(dtype).name, "impl": name}
        rows[name] = row
        if fns.get(name) is None:
            row["status"] = "not installed"
            continue
        t0 = time.perf_counter()
        c = jax.jit(jax.value_and_grad(fns[name], argnums=(0, 1))).lower(h, w).compile()
        row["compile_s"] = time.perf_counter() - t0
        row["temp_mib"] = c.memory_analysis().temp_size_in_bytes / 2**20
        row["status"] = "ok"
        compiled[name] = c
    results = {}
    for _ in range(warmup):
        for name, c in compiled.items():
            results[name] = jax.block_until_ready(c(h, w))
    times: dict[str, list[float]] = {name: [] for name in compiled}
    for _ in range(repeats):
        for name, c in compiled.items():  # alternate: each repeat times every implementation
            t0 = time.perf_counter()
            results[name] = jax.block_until_ready(c(h, w))
            times[name].append(time.perf_counter() - t0)
    for name in compiled:
        row = rows[name]
        row["times_s"] = times[name]
        row["time_s"] = statistics.median(times[name]) if times[name] else float("nan")
        if "naive" in times and times[name]:
            row["ratio_to_naive"] = statistics.median(
                a / b for a, b in zip(times[name], times["naive"], strict=True))
        if check and "naive" in results and name != "naive":
            row["deviation"] = _deviation(results[name], results["naive"])
    return [rows[name] for name in impls]


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| N | V | impl | temp MiB | time s (median) | time / naive | max rel. dev. |",
        "|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r["status"] != "ok":
            lines.append(f"| {r['n']} | {r['v']} | {r['impl']} | {r['status']} | | | |")
            continue
        dev = r.get("deviation")
        dev_s = f"{max(dev.values()):.1e}" if dev else "—"
        ratio = r.get("ratio_to_naive")
        ratio_s = f"{ratio:.2f}" if ratio is not None else "—"
        lines.append(
            f"| {r['n']} | {r['v']} | {r['impl']} | {r['temp_mib']:.0f} | {r['time_s']:.2f} | "
            f"{ratio_s} | {dev_s} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str]) -> None:
    del argv
    dtype = jnp.dtype(_DTYPE.value)
    unknown = set(_IMPLS.value) - set(IMPLEMENTATIONS)
    if unknown:
        raise app.UsageError(f"--impls: unknown {sorted(unknown)}; choose from {IMPLEMENTATIONS}")
    rows = []
    for v in map(int, _V.value):
        for n in map(int, _N.value):
            case = run_case(n, v, _D.value, dtype, _IMPLS.value, _REPEATS.value, _WARMUP.value,
                            _CHUNK.value, _BLOCK.value, _CCE_CHUNK.value, _SEED.value,
                            _CHECK.value)
            rows.extend(case)
            print(markdown(case), flush=True)
    table = markdown(rows)
    print(f"D = {_D.value}, dtype {dtype.name}, value_and_grad w.r.t. hidden and weight, "
          f"median of {_REPEATS.value} after {_WARMUP.value} warm-up\n")
    print(table)
    meta = {
        "device": str(jax.devices()[0]),
        "platform": platform.platform(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "jax": jax.__version__,
        "jax_cce": getattr(jax_cce_module(), "__version__", None) if jax_cce_module() else None,
        "flags": {f: getattr(flags.FLAGS, f) for f in
                  ("tokens", "vocab", "width", "dtype", "repeats", "warmup", "impls", "chunk_size",
                   "vocab_block_size", "cce_chunk_size", "seed")},
    }
    if _OUT.value:
        os.makedirs(os.path.dirname(_OUT.value) or ".", exist_ok=True)
        with open(_OUT.value, "w", encoding="utf-8") as fh:
            json.dump({"meta": meta, "rows": rows, "table": table}, fh, indent=1)
        print(f"wrote {_OUT.value}")


if __name__ == "__main__":
    app.run(main)
