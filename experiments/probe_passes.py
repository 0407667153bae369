"""Probe: what one full-size pass costs on this machine (issue 14, item 2).

The softmax cross-entropy's ``value_and_grad`` with integer labels is a few passes over
``[N, K]`` arrays; whether it can reach 0.8 x optax depends on what each pass costs. This
probe times, at one shape, round by round (each pass once per round, the order rotated;
median of the rounds):

* ``copy to a new buffer``: read ``x``, write an array of its size that XLA allocates for the
  result (the benchmark's "floor");
* ``exp to a new buffer``: the same with one exponential per element;
* ``exp(x - row) - onehot to a new buffer``: the gradient pass of a two-pass kernel;
* ``row sum``: read ``x``, write ``N`` numbers;
* ``row sum of exp(x - row)``: the same with the exponential fused into the reduction;
* ``in-place update``: ``e * (1 / s) - onehot`` written over its donated input (memory the
  process has touched before), the last pass of lossjax's CPU kernel;
* the whole jitted ``value_and_grad`` of the mean loss, lossjax's and optax's.

``python -m experiments.probe_passes 4096x8192 15`` prints each median in milliseconds.
"""

from __future__ import annotations

import statistics
import sys
import time

import jax
import jax.numpy as jnp
import optax

import lossjax


def passes(n: int, k: int) -> dict:
    """``{name: (f, make_args)}``: each pass jitted, with a function making its inputs."""
    x = jax.random.normal(jax.random.PRNGKey(0), (n, k), jnp.float32) * 3.0
    y = jax.random.randint(jax.random.PRNGKey(1), (n,), 0, k)
    row = jax.nn.logsumexp(x, axis=-1)
    s = jnp.exp(x - row[:, None]).sum(-1)

    def onehot(y):
        return jax.lax.broadcasted_iota(y.dtype, (n, k), 1) == y[:, None]

    fresh = jax.jit(lambda x: x * 1.0001)  # a new copy to donate, made outside the timing
    return {
        "copy to a new buffer": (jax.jit(lambda x: x * 2.0), lambda: (x,)),
        "exp to a new buffer": (jax.jit(jnp.exp), lambda: (x,)),
        "exp(x - row) - onehot to a new buffer": (
            jax.jit(lambda x, r, y: jnp.exp(x - r[:, None]) - onehot(y)), lambda: (x, row, y)),
        "row sum": (jax.jit(lambda x: x.sum(-1)), lambda: (x,)),
        "row sum of exp(x - row)": (
            jax.jit(lambda x, r: jnp.exp(x - r[:, None]).sum(-1)), lambda: (x, row)),
        "in-place update": (
            jax.jit(lambda e, s, y: e * (1.0 / s)[:, None] - onehot(y), donate_argnums=0),
            lambda: (jax.block_until_ready(fresh(x)), s, y)),
        "lossjax value_and_grad": (
            jax.jit(jax.value_and_grad(lambda x, y: lossjax.softmax_cross_entropy(x, y))),
            lambda: (x, y)),
        "optax value_and_grad": (
            jax.jit(jax.value_and_grad(lambda x, y: jnp.mean(
                optax.losses.softmax_cross_entropy_with_integer_labels(x, y)))),
            lambda: (x, y)),
    }


def main(argv: list[str]) -> None:
    shape = argv[1] if len(argv) > 1 else "4096x8192"
    rounds = int(argv[2]) if len(argv) > 2 else 15
    n, k = (int(v) for v in shape.split("x"))
    fns = passes(n, k)
    names = list(fns)
    for f, make in fns.values():  # compile and warm up
        jax.block_until_ready(f(*make()))
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            f, make = fns[name]
            args = make()
            t0 = time.perf_counter()
            jax.block_until_ready(f(*args))
            times[name].append(time.perf_counter() - t0)
    print(f"[{n}, {k}] float32, median of {rounds} rounds (ms):")
    for name in names:
        print(f"  {name:40s} {statistics.median(times[name]) * 1e3:8.1f}")


if __name__ == "__main__":
    main(sys.argv)
