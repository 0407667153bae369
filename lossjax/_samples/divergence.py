"""Valid random inputs and boundary cases of the divergence losses.

Test metadata, kept out of the family module: the registry-driven tests and the benchmark
reach them through ``spec.sample`` and ``spec.boundary``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lossjax import _samples


def kl_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    ninf = -jnp.inf
    lq = a([[0.0, ninf, ninf, ninf, ninf], [-1e4, -1e-4, -1e4, -1e4, -1e4]])
    t = a([[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0, 0.0]])
    return [
        ("zero targets, log(0) predictions", (lq, t), {}),
        ("zero targets as -inf log targets", (lq, jnp.log(t)), {"log_targets": True}),
        (
            "-inf rows dropped by where",
            (a([[ninf] * 5, [-1.6] * 5]), t),
            {"where": jnp.array([False, True])},
        ),
    ]


def kl_sample(key, batch, dtype=jnp.float32):
    k1, k2 = jax.random.split(key)
    shape = (*batch, _samples.NUM_CLASSES)
    lq = _samples.predictions_of("log_probabilities", k1, shape, dtype, True)
    t = _samples.targets_of("probabilities", k2, shape, batch, dtype, True)
    return (lq, t), {}


def js_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    ninf = -jnp.inf
    lq = a([[0.0, ninf, ninf, ninf, ninf], [-1e4, -1e-4, -1e4, -1e4, -1e4],
            [ninf, 0.0, ninf, ninf, ninf]])
    t = a([[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0, 0.0]])
    return [
        ("log(0) predictions, zero targets, disjoint supports", (lq, t), {}),
        ("-inf rows dropped by where", (a([[ninf] * 5, [-1.6] * 5, [-1.6] * 5]), t),
         {"where": jnp.array([False, True, True])}),
    ]


def gkl_sample(key, batch, dtype=jnp.float32):
    k1, k2 = jax.random.split(key)
    shape = (*batch, _samples.NUM_CLASSES)
    log_q = jax.random.normal(k1, shape, dtype)
    t = jnp.exp(jax.random.normal(k2, shape, jnp.float32)).astype(dtype)
    return (log_q, t), {}


def gkl_boundary(dtype):
    cases = kl_boundary(dtype)
    a = lambda v: jnp.asarray(v, dtype)
    cases.append(("unnormalised, log q = 10", (a([[10.0, -10.0]]), a([[100.0, 0.0]])), {}))
    return [c for c in cases if not c[2].get("log_targets")]


def tv_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    e = [[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0, 0.0]]
    return [
        ("identical", (a(e), a(e)), {}),
        ("disjoint", (a(e), a(e[::-1])), {}),
    ]
