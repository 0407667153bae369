"""Valid random inputs and boundary cases of the metric learning losses.

Test metadata, kept out of the family module: the registry-driven tests and the benchmark
reach them through ``spec.sample`` and ``spec.boundary``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def pair_sample(key, batch, dtype=jnp.float32):
    k1, k2, k3 = jax.random.split(key, 3)
    a = jax.random.normal(k1, (*batch, 4), jnp.float32)
    b = a + 0.8 * jax.random.normal(k2, (*batch, 4), jnp.float32)
    y = jax.random.bernoulli(k3, 0.5, batch).astype(dtype)
    return (a.astype(dtype), b.astype(dtype), y), {}


def pair_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    x = a([[0.0, 0.0, 0.0], [1.0, -2.0, 3.0], [1e4, -1e4, 1e4]])
    return [
        ("identical embeddings and zero vectors", (x, x, a([1, 0, 0])), {}),
        ("far apart", (x, -x, a([1, 0, 1])), {}),
        ("NaN pair dropped by where", (a([[jnp.nan] * 3, [1, 2, 3]]), a([[0] * 3, [1, 2, 2]]),
                                       a([0, 1])), {"where": jnp.array([False, True])}),
    ]


def triplet_sample(key, batch, dtype=jnp.float32):
    k1, k2, k3 = jax.random.split(key, 3)
    a = jax.random.normal(k1, (*batch, 4), jnp.float32)
    p = a + 0.5 * jax.random.normal(k2, (*batch, 4), jnp.float32)
    n = a + 0.9 * jax.random.normal(k3, (*batch, 4), jnp.float32)
    return (a.astype(dtype), p.astype(dtype), n.astype(dtype)), {}


def triplet_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    x = a([[0.0, 0.0, 0.0], [1.0, -2.0, 3.0], [1e4, -1e4, 1e4]])
    z = jnp.zeros_like(x)
    return [
        ("identical embeddings", (x, x, x), {}),
        ("zero vectors", (z, z, z), {"eps": 0.0}),
        ("identical, eps=0, swap", (x, x, x), {"eps": 0.0, "swap": True}),
        ("far negatives", (x, x, -x), {"p": 1.0}),
        ("large p", (x, x + 1, x - 1), {"p": 7.0}),
        ("NaN triplet dropped by where", (a([[jnp.nan] * 3, [1, 2, 3]]), a([[0] * 3, [1, 2, 2]]),
                                          a([[0] * 3, [0, 2, 2]])),
         {"where": jnp.array([False, True])}),
    ]


def score_triple_sample(key, batch, dtype=jnp.float32):
    k1, k2, k3 = jax.random.split(key, 3)
    x1 = jax.random.normal(k1, batch, jnp.float32).astype(dtype)
    x2 = jax.random.normal(k2, batch, jnp.float32).astype(dtype)
    y = (2.0 * jax.random.bernoulli(k3, 0.5, batch) - 1.0).astype(dtype)
    return (x1, x2, y), {"margin": 0.25}


def score_triple_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    return [
        ("huge scores", (a([1e4, -1e4, 1e4, 0.0]), a([-1e4, 1e4, 1e4, 0.0]), a([1, 1, -1, -1])),
         {}),
        ("on the margin", (a([1.0, 0.0]), a([0.0, 1.0]), a([1, -1])), {"margin": 1.0}),
    ]


def hinge_emb_sample(key, batch, dtype=jnp.float32):
    k1, k2 = jax.random.split(key)
    x = jax.random.uniform(k1, batch, jnp.float32, 0.0, 2.0).astype(dtype)
    y = (2.0 * jax.random.bernoulli(k2, 0.5, batch) - 1.0).astype(dtype)
    return (x, y), {}


def hinge_emb_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    return [
        ("zero and huge distances", (a([0.0, 0.0, 1e4, 1e4]), a([1, -1, 1, -1])), {}),
        ("on the margin", (a([1.0, 1.0]), a([1, -1])), {}),
    ]


def cosine_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    x = a([[0.0, 0.0, 0.0], [1.0, -2.0, 3.0], [1e4, -1e4, 1e4], [1.0, 0.0, 0.0]])
    y = a([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1e4, -1e4, 1e4], [-1.0, 0.0, 0.0]])
    return [
        ("zero vectors, parallel and antiparallel", (x, y, a([1, -1, 1, -1])), {}),
        ("zero vectors, dissimilar", (x, y, a([-1, -1, -1, 1])), {"margin": -0.5}),
    ]


def cosine_sample(key, batch, dtype=jnp.float32):
    (a, b, y), _ = pair_sample(key, batch, dtype)
    return (a, b, (2.0 * y - 1.0).astype(dtype)), {"margin": 0.1}


SET_SIZE = 6


def set_sample(key, batch, dtype=jnp.float32, n=SET_SIZE, d=3, classes=3):
    k1, k2 = jax.random.split(key)
    x = jax.random.normal(k1, (*batch, n, d), jnp.float32).astype(dtype)
    labels = jax.random.randint(k2, (*batch, n), 0, classes)
    return (x, labels), {}


def set_boundary(extra=None):
    def boundary(dtype):
        a = lambda v: jnp.asarray(v, dtype)
        same = a([[[1.0, 2.0]] * 4])
        zeros = a([[[0.0, 0.0]] * 4])
        mixed = a([[[1e4, 0.0], [0.0, 0.0], [-1e4, 1e4], [1e4, 1e-4]]])
        labels = jnp.array([[0, 0, 1, 1]])
        cases = [
            ("identical embeddings", (same, labels), {}),
            ("zero vectors", (zeros, labels), {}),
            ("huge and zero vectors", (mixed, labels), {}),
            ("no positive pair", (mixed, jnp.array([[0, 1, 2, 3]])), {}),
            ("no negative", (mixed, jnp.array([[5, 5, 5, 5]])), {}),
            ("a set of one", (a([[[1.0, 2.0]]]), jnp.array([[0]])), {}),
            ("NaN set dropped by where", (jnp.concatenate([a([[[jnp.nan] * 2] * 4]), same]),
                                          jnp.concatenate([labels, labels])),
             {"where": jnp.array([False, True])}),
        ]
        return cases + (extra(dtype) if extra else [])

    return boundary


def circle_sample(key, batch, dtype=jnp.float32):
    args, _ = set_sample(key, batch, dtype)
    return args, {"gamma": 8.0, "margin": 0.25}


def circle_ref_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    x = a([[[1e4, 0.0], [0.0, 0.0], [-1e4, 1e4], [1e4, 1e-4]]])
    ref = a([[[1.0, 2.0], [0.0, 0.0], [1e4, 1e-4]]])
    return [("reference set with zero and huge vectors",
             (x, jnp.array([[0, 0, 1, 1]]), ref, jnp.array([[0, 1, 1]])), {})]
