"""Valid random inputs and boundary cases of the boxes losses.

Test metadata, kept out of the family module: the registry-driven tests and the benchmark
reach them through ``spec.sample`` and ``spec.boundary``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def box_sample(key, batch, dtype=jnp.float32):
    k1, k2, k3, k4 = jax.random.split(key, 4)
    def boxes(ka, kb):
        xy = jax.random.uniform(ka, (*batch, 2), jnp.float32, 0.0, 2.0)
        wh = jax.random.uniform(kb, (*batch, 2), jnp.float32, 0.2, 1.5)
        return jnp.concatenate([xy, xy + wh], -1).astype(dtype)
    return (boxes(k1, k2), boxes(k3, k4)), {}


def box_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    return [
        ("identical boxes", (a([[0, 0, 1, 1], [2, 3, 4, 7]]), a([[0, 0, 1, 1], [2, 3, 4, 7]])), {}),
        ("disjoint boxes", (a([[0, 0, 1, 1]]), a([[5, 5, 6, 8]])), {}),
        ("touching boxes", (a([[0, 0, 1, 1]]), a([[1, 0, 2, 1]])), {}),
        ("zero-area boxes", (a([[1, 1, 1, 1], [0, 0, 0, 2]]), a([[1, 1, 1, 1], [0, 0, 3, 0]])), {}),
        ("large coordinates", (a([[0, 0, 1e4, 1e4]]), a([[-1e4, -1e4, 1, 1]])), {}),
        ("NaN boxes dropped by where", (a([[jnp.nan] * 4, [0, 0, 1, 1]]), a([[0, 0, 1, 1]] * 2)),
         {"where": jnp.array([False, True])}),
    ]
