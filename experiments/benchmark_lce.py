"""Benchmark: fused linear cross-entropy against the naive path (and jax-cce if installed).

For every (N, V) it compiles ``jax.value_and_grad`` with respect to ``hidden`` and ``weight``
of three implementations of ``mean(cross_entropy(hidden @ weight.T, labels))``:

* ``naive``: ``optax.softmax_cross_entropy_with_integer_labels(hidden @ weight.T, labels)``;
* ``jax_cce``: ``jax_cce.linear_cross_entropy`` (the ``jax-cce`` package, if importable;
  otherwise reported as not installed);
* ``lossjax``: :func:`lossjax.linear_cross_entropy`.

and reports, per implementation: the XLA temporary memory of the compiled program
(``compiled.memory_analysis().temp_size_in_bytes``), the median wall time over ``--repeats``
rounds after ``--warmup`` rounds, the time ratio to the naive path with its spread, and the
largest deviation from the naive path (value, and each gradient relative to its largest
entry; ``--check``).

Timing is per round, as in ``experiments.benchmark``: every round times all implementations
back to back (each the fastest of ``--inner`` calls; the order rotates by one each round), and
the ratio to the naive path (and lossjax's to jax-cce) is taken within the round; the table
gives the median per-round ratio with the interquartile range, the JSON also the min and max.
A lossjax row slower than a peer (median ratio above 1) is marked.

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

import lossjax
from experiments.benchmark import fmt_ratio, ratio_stats, time_round_robin

IMPLEMENTATIONS = ("naive", "jax_cce", "lossjax")
PEERS = ("naive", "jax_cce")  # the implementations lossjax's time is compared with


def jax_cce_module() -> Any | None:
    try:
        import jax_cce  # type: ignore[import-not-found]
    except ImportError:
        return None
    return jax_cce


def loss_fns(labels: jax.Array, chunk: int | None, block: int | None, cce_chunk: int
             ) -> dict[str, Callable[[jax.Array, jax.Array], jax.Array] | None]:
    """The mean loss of ``(hidden, weight)`` per implementation (None: not installed)."""
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
    """Hidden states ``[n, d]``, a weight ``[v, d]`` (scaled by 1/sqrt(d)) and labels."""
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
             check: bool, inner: int = 1) -> list[dict[str, Any]]:
    """One (N, V) point: a row per implementation in ``impls`` (see the module docstring).

    Row fields: ``status``, ``compile_s``, ``temp_mib``, ``times_s`` (seconds per round),
    ``time_s`` (median), ``ratio_to_naive`` (median per-round ratio) with
    ``ratio_to_naive_spread`` (``ratio_stats``), for lossjax also ``ratio_to_jax_cce`` (+
    spread) and ``slower_than`` (the peers whose median ratio is above 1), and with
    ``check`` the ``deviation`` from the naive path."""
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
    results: dict[str, Any] = {}

    def call(name: str) -> Any:
        results[name] = compiled[name](h, w)
        return results[name]

    times = time_round_robin({name: (lambda name=name: call(name)) for name in compiled},
                             repeats, warmup, inner)
    for name in compiled:
        row = rows[name]
        row["times_s"] = times[name]
        row["time_s"] = statistics.median(times[name]) if times[name] else float("nan")
        for peer in PEERS:
            if peer in times and times[name] and (peer == "naive" or name == "lossjax"):
                st = ratio_stats(times[name], times[peer])
                row[f"ratio_to_{peer}"] = st["median"]
                row[f"ratio_to_{peer}_spread"] = st
        if name == "lossjax":
            row["slower_than"] = [p for p in PEERS if row.get(f"ratio_to_{p}", 0.0) > 1.0]
        if check and "naive" in results and name != "naive":
            row["deviation"] = _deviation(jax.block_until_ready(results[name]),
                                          jax.block_until_ready(results["naive"]))
    return [rows[name] for name in impls]


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The table: one line per implementation and (N, V); ratios as ``median [q1–q3]`` of the
    per-round ratios; a lossjax row slower than a peer is bold and says so."""
    lines = [
        "| N | V | impl | temp MiB | time s (median) | time / naive [IQR] | "
        "lossjax / jax_cce [IQR] | max rel. dev. | slower than a peer |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if r["status"] != "ok":
            lines.append(f"| {r['n']} | {r['v']} | {r['impl']} | {r['status']} | | | | | |")
            continue
        dev = r.get("deviation")
        dev_s = f"{max(dev.values()):.1e}" if dev else "—"
        mark = r["impl"] == "lossjax"
        naive_s = fmt_ratio(r.get("ratio_to_naive_spread"), mark) or "—"
        cce_s = fmt_ratio(r.get("ratio_to_jax_cce_spread"), mark) or "—"
        slower = r.get("slower_than")
        slower_s = f"**SLOWER than {', '.join(slower)}**" if slower else ""
        lines.append(
            f"| {r['n']} | {r['v']} | {r['impl']} | {r['temp_mib']:.0f} | {r['time_s']:.2f} | "
            f"{naive_s} | {cce_s} | {dev_s} | {slower_s} |"
        )
    return "\n".join(lines) + "\n"


FLAG_NAMES = ("tokens", "vocab", "width", "dtype", "repeats", "warmup", "inner", "impls",
              "chunk_size", "vocab_block_size", "cce_chunk_size", "seed", "check")


def define_flags() -> None:
    """Defines the command-line flags (only when the module runs as a script)."""
    from absl import flags

    flags.DEFINE_list("tokens", ["1024", "4096"], "Token counts N.")
    flags.DEFINE_list("vocab", ["8192", "32768", "131072"], "Vocabulary sizes V.")
    flags.DEFINE_integer("width", 512, "Hidden width D.")
    flags.DEFINE_enum("dtype", "float32", ["float32", "bfloat16", "float16"],
                      "Dtype of hidden and weight.")
    flags.DEFINE_integer("repeats", 3, "Timed rounds; every round times every implementation, "
                         "ratios are taken per round (median and spread reported).")
    flags.DEFINE_integer("warmup", 1, "Untimed rounds first.")
    flags.DEFINE_integer("inner", 1, "Back-to-back calls per implementation and round; the "
                         "fastest is kept.")
    flags.DEFINE_list("impls", list(IMPLEMENTATIONS), "Implementations to run.")
    flags.DEFINE_integer("chunk_size", None, "lossjax chunk_size (default: automatic).")
    flags.DEFINE_integer("vocab_block_size", None, "lossjax vocab_block_size.")
    flags.DEFINE_integer("cce_chunk_size", 4096, "jax-cce chunk_size (its default).")
    flags.DEFINE_integer("seed", 0, "PRNG seed of the inputs.")
    flags.DEFINE_string("out", "results/benchmark_lce.json", "JSON output path.")
    flags.DEFINE_bool("check", True, "Compare each implementation with the naive path.")


def main(argv: Sequence[str]) -> None:
    import sys

    from absl import app, flags

    del argv
    F = flags.FLAGS
    dtype = jnp.dtype(F.dtype)
    unknown = set(F.impls) - set(IMPLEMENTATIONS)
    if unknown:
        raise app.UsageError(f"--impls: unknown {sorted(unknown)}; choose from {IMPLEMENTATIONS}")
    rows = []
    for v in map(int, F.vocab):
        for n in map(int, F.tokens):
            case = run_case(n, v, F.width, dtype, F.impls, F.repeats, F.warmup, F.chunk_size,
                            F.vocab_block_size, F.cce_chunk_size, F.seed, F.check, F.inner)
            rows.extend(case)
            print(markdown(case), flush=True)
    table = markdown(rows)
    command = "python -m experiments.benchmark_lce " + " ".join(sys.argv[1:])
    print(f"D = {F.width}, dtype {dtype.name}, value_and_grad w.r.t. hidden and weight, "
          f"{F.repeats} rounds after {F.warmup} warm-up, every round times each "
          f"implementation (fastest of {F.inner}) back to back, ratios per round: median "
          f"[interquartile range].\nCommand: `{command}`\n")
    print(table)
    meta = {
        "device": str(jax.devices()[0]),
        "platform": platform.platform(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "jax": jax.__version__,
        "jax_cce": getattr(jax_cce_module(), "__version__", None) if jax_cce_module() else None,
        "command": command,
        "method": "per-round ratios: every round times all implementations back to back "
                  "(order rotated by one each round)",
        "flags": {f: getattr(F, f) for f in FLAG_NAMES},
    }
    if F.out:
        os.makedirs(os.path.dirname(F.out) or ".", exist_ok=True)
        with open(F.out, "w", encoding="utf-8") as fh:
            json.dump({"meta": meta, "rows": rows, "table": table}, fh, indent=1)
        print(f"wrote {F.out}")


if __name__ == "__main__":
    from absl import app

    define_flags()
    app.run(main)
