"""Valid random inputs and boundary cases of the ranking losses.

Test metadata, kept out of the family module: the registry-driven tests and the benchmark
reach them through ``spec.sample`` and ``spec.boundary``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def list_sample(key, batch, dtype=jnp.float32, length=5):
    k1, k2, k3 = jax.random.split(key, 3)
    s = 2.0 * jax.random.normal(k1, (*batch, length), jnp.float32)
    y = jax.random.randint(k2, (*batch, length), 0, 4).astype(dtype)
    m = jax.random.bernoulli(k3, 0.8, (*batch, length))
    return (s.astype(dtype), y, m), {}


def list_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    nan, ninf = jnp.nan, -jnp.inf
    return [
        ("huge scores", (a([[1e4, -1e4, 0.0, 1e4]]), a([[0, 3, 1, 1]]),
                         jnp.ones((1, 4), bool)), {}),
        ("padded items hold NaN and -inf", (a([[1.0, nan, ninf, 2.0]]), a([[1, 2, 5, 0]]),
                                            jnp.array([[True, False, False, True]])), {}),
        ("every item padded", (a([[nan, ninf, 0.0, 1.0]]), a([[1, 2, 0, 0]]),
                               jnp.zeros((1, 4), bool)), {}),
        ("all labels equal (no pair)", (a([[1.0, 2.0, 3.0, 4.0]]), a([[2, 2, 2, 2]]),
                                        jnp.ones((1, 4), bool)), {}),
        ("all labels zero", (a([[1.0, 2.0, 3.0, 4.0]]), a([[0, 0, 0, 0]]), None), {}),
        ("NaN list dropped by where", (a([[nan] * 4, [1, 2, 3, 4]]), a([[1, 0, 0, 0]] * 2),
                                       None), {"where": jnp.array([False, True])}),
    ]
