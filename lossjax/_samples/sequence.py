"""Valid random inputs and boundary cases of the sequence losses.

Test metadata, kept out of the family module: the registry-driven tests and the benchmark
reach them through ``spec.sample`` and ``spec.boundary``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def ctc_sample(key, batch, dtype=jnp.float32, t=6, k=4, u=3):
    k1, k2, k3, k4 = jax.random.split(key, 4)
    logits = 2.0 * jax.random.normal(k1, (*batch, t, k), jnp.float32)
    labels = jax.random.randint(k2, (*batch, u), 1, k)
    logit_lengths = jax.random.randint(k3, batch, 4, t + 1)
    label_lengths = jax.random.randint(k4, batch, 0, u + 1)
    return (logits.astype(dtype), labels, logit_lengths, label_lengths), {}


def ctc_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    big = 1e4
    onehot = a([[[big, -big, -big], [-big, big, -big], [big, -big, -big], [-big, -big, big]]])
    lab = jnp.array([[1, 2]])
    return [
        ("huge logits, the right path", (onehot, lab, jnp.array([4]), jnp.array([2])), {}),
        ("huge logits, the wrong path", (-onehot, lab, jnp.array([4]), jnp.array([2])), {}),
        ("empty label", (onehot, lab, jnp.array([4]), jnp.array([0])), {}),
        ("impossible alignment, zero_infinity", (onehot, jnp.array([[1, 1]]), jnp.array([2]),
                                                 jnp.array([2])), {"zero_infinity": True}),
        ("repeated label, just enough frames", (onehot * 0, jnp.array([[1, 1]]),
                                                jnp.array([3]), jnp.array([2])), {}),
        ("NaN sequence dropped by where",
         (jnp.concatenate([a(jnp.full((1, 4, 3), jnp.nan)), onehot]), jnp.array([[1, 2]] * 2),
          jnp.array([4, 4]), jnp.array([2, 2])), {"where": jnp.array([False, True])}),
    ]
