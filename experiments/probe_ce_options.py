"""Probe: the losses on the softmax CE kernel with options, this tree against an earlier commit.

:mod:`experiments.compare_versions` times each loss at its defaults; this probe times the
forms it does not reach (issue 14 item 3, session 7): Poly-1 with a static and a traced
``label_smoothing``, softmax CE with a traced one, softmax focal with one (Keras's dense
definition, which stays on the generic path), every tenth label ``ignore_index``. For each
form and shape it jits ``value_and_grad`` (in the logits) of the mean loss of this tree's
``lossjax`` and of ``lossjax_old`` (the commit given, imported by
:func:`experiments.compare_versions.import_old`), checks that the two agree, and times both
back to back in every round (the order alternating); the ratio new / old is taken per round
and printed as a markdown row: median times in ms, median ratio [interquartile range].

``python -m experiments.probe_ce_options 77e80f6 15`` (commit, rounds; float32).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import lossjax
from experiments.compare_versions import import_old

SHAPES = ((8192, 1000), (4096, 8192))
# (loss, whether label_smoothing = 0.1 is a traced argument rather than a Python number)
FORMS = (("poly1_cross_entropy", False), ("poly1_cross_entropy", True),
         ("softmax_cross_entropy", True), ("softmax_focal", False))


def _vag(lib, name: str, traced: bool):
    fn = getattr(lib, name)
    if traced:
        return jax.jit(jax.value_and_grad(lambda x, y, e: fn(x, y, label_smoothing=e)))
    return jax.jit(jax.value_and_grad(lambda x, y, e: fn(x, y, label_smoothing=0.1)))


def main(commit: str, rounds: int) -> None:
    old = import_old(commit, Path(tempfile.mkdtemp()))
    print("| loss, form | shape | new ms | old ms | new / old [IQR] |\n|---|---|---:|---:|---:|")
    for n, k in SHAPES:
        rng = np.random.default_rng(0)
        x = jnp.asarray(rng.normal(size=(n, k)), jnp.float32)
        labels = rng.integers(0, k, n)
        labels[::10] = -100
        y = jnp.asarray(labels)
        eps = jnp.float32(0.1)
        for name, traced in FORMS:
            fs = (_vag(lossjax, name, traced), _vag(old, name, traced))
            (v1, g1), (v0, g0) = fs[0](x, y, eps), fs[1](x, y, eps)
            np.testing.assert_allclose(v1, v0, rtol=1e-5)
            np.testing.assert_allclose(g1, g0, rtol=1e-4, atol=1e-9)
            t = np.zeros((rounds + 1, 2))
            for r in range(rounds + 1):  # round 0 is a warm-up
                for i in ((0, 1) if r % 2 else (1, 0)):
                    t0 = time.perf_counter()
                    jax.block_until_ready(fs[i](x, y, eps))
                    t[r, i] = time.perf_counter() - t0
            t = t[1:]
            q = t[:, 0] / t[:, 1]
            form = "ls=0.1" + (" traced" if traced else "") + ", 1/10 ignored"
            print(f"| {name}, {form} | {n}x{k} | {np.median(t[:, 0]) * 1e3:.1f} | "
                  f"{np.median(t[:, 1]) * 1e3:.1f} | {np.median(q):.2f} "
                  f"[{np.quantile(q, 0.25):.2f}–{np.quantile(q, 0.75):.2f}] |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "HEAD~1", int(sys.argv[2]) if len(sys.argv) > 2
         else 15)
