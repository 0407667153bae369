"""Valid random inputs and boundary cases of the metrics losses.

Test metadata, kept out of the family module: the registry-driven tests and the benchmark
reach them through ``spec.sample`` and ``spec.boundary``.
"""

from __future__ import annotations

import jax.numpy as jnp


def metric_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    ninf = -jnp.inf
    return [
        ("huge logits", (a([[1e4, -1e4, 0, 0, 0], [-1e4, 1e4, 0, 0, 0]]), jnp.array([0, 0])), {}),
        ("-inf rows dropped by where", (a([[ninf] * 5, [0, 1, 2, 3, 4]]), jnp.array([0, 4])),
         {"where": jnp.array([False, True])}),
    ]
