"""Valid random inputs and boundary cases of the fused linear cross-entropy.

Test metadata, kept out of the loss's package: the registry-driven tests and the benchmark
reach them through ``spec.sample`` and ``spec.boundary``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def sample(key: jax.Array, batch: tuple[int, ...], dtype: Any = jnp.float32):
    """Hidden states ``[*batch, 8]``, a ``[13, 8]`` weight and labels; chunks of 4 tokens and
    vocabulary blocks of 5 rows, so that both loops and both remainders run."""
    k1, k2, k3 = jax.random.split(key, 3)
    h = jax.random.normal(k1, (*batch, 8), jnp.float32).astype(dtype)
    w = (0.7 * jax.random.normal(k2, (13, 8), jnp.float32)).astype(dtype)
    y = jax.random.randint(k3, tuple(batch), 0, 13)
    return (h, w, y), {"chunk_size": 4, "vocab_block_size": 5}


def boundary(dtype: Any):
    a = lambda x: jnp.asarray(x, dtype)
    big = 1e2  # hidden * weight = 1e4 per feature: logits about 4e4, far past exp's range
    eye = np.eye(4, dtype=np.float32)
    w = a(np.concatenate([eye, -eye, np.zeros((1, 4), np.float32)]))  # V = 9, D = 4
    h = np.array([[big, 0, 0, 0], [0, -big, 0, 0], [0, 0, 0, 0]], np.float32)
    y = jnp.array([0, 5, 8])
    ninf_bias = a([0, -np.inf, 0, -np.inf, 0, 0, 0, 0, 0])
    bad = np.array([[np.inf, np.nan, 0, 0], [0, 0, 0, 0], [1, 2, 3, 4]], np.float32)
    return [
        ("huge logits, right and wrong", (a(h), w, y), {}),
        ("huge logits, smoothed", (a(h), w, y), {"label_smoothing": 0.1}),
        ("huge logits, z-loss", (a(h), w, y), {"z_loss": 1e-4}),
        ("huge logits, soft-capped", (a(h), w, y), {"logit_softcap": 30.0}),
        ("-inf bias off the label", (a(h), w, y), {"bias": ninf_bias}),
        ("inf/nan hidden dropped by where", (a(bad), w, y),
         {"where": jnp.array([False, True, True])}),
        ("inf/nan hidden at ignore_index", (a(bad), w, jnp.array([-100, 1, 2])), {}),
        ("every token ignored", (a(h), w, jnp.array([-100, -100, -100])), {}),
    ]
