"""Valid random inputs and boundary cases of the regression losses.

Test metadata, kept out of the family module: the registry-driven tests and the benchmark
reach them through ``spec.sample`` and ``spec.boundary``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def positive_sample(key, batch, dtype=jnp.float32):
    k1, k2 = jax.random.split(key)
    p = jnp.exp(jax.random.normal(k1, batch, jnp.float32)).astype(dtype)
    t = jnp.exp(jax.random.normal(k2, batch, jnp.float32)).astype(dtype)
    return (p, t), {}


def mape_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    return [
        ("zero targets", (a([0.0, 1.0, -1.0]), a([0.0, 0.0, 0.0])), {}),
        ("zero residual", (a([2.0, -3.0]), a([2.0, -3.0])), {}),
        ("large values", (a([1e4, -1e4]), a([-1e4, 1e-3])), {}),
    ]


def msle_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    return [
        ("zeros", (a([0.0, 0.0, 1.0]), a([0.0, 1.0, 0.0])), {}),
        ("negative predictions (clamped)", (a([-1.0, -1e4]), a([1.0, 0.0])), {}),
        ("large values", (a([1e4, 0.0]), a([0.0, 1e4])), {}),
    ]


def count_sample(key, batch, dtype=jnp.float32):
    k1, k2 = jax.random.split(key)
    p = jax.random.normal(k1, batch, dtype)
    t = jax.random.poisson(k2, 2.0, batch).astype(dtype)
    return (p, t), {}


def poisson_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    counts = a([0.0, 1.0, 3.0])
    return [
        ("very negative log rates", (a([-1e4, -1e4, -1e4]), counts), {}),
        ("log rate 10", (a([10.0, 10.0, 10.0]), counts), {}),
        ("log rates, full", (a([0.0, -3.0, 2.0]), counts), {"full": True}),
        ("zero rates", (a([0.0, 0.0]), a([0.0, 1.0])), {"log_input": False}),
        ("zero rates, full", (a([0.0, 1.0, 0.5]), counts), {"log_input": False, "full": True}),
    ]


def gaussian_sample(key, batch, dtype=jnp.float32):
    k1, k2, k3 = jax.random.split(key, 3)
    mu = jax.random.normal(k1, batch, dtype)
    t = jax.random.normal(k2, batch, dtype)
    var = jax.random.uniform(k3, batch, jnp.float32, 0.2, 2.0).astype(dtype)
    return (mu, t, var), {}


def gaussian_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    cases = [
        ("zero variance, zero residual", (a([1.0, 0.0]), a([1.0, 0.0]), a([0.0, 0.0])), {}),
        ("large residual, large variance", (a([1e4, -1e4]), a([-1e4, 1e4]), a([1e4, 4e4])), {}),
        ("large variance", (a([0.0, 1.0]), a([1.0, 0.0]), a([1e4, 1e4])), {"full": True}),
    ]
    if jnp.finfo(dtype).bits >= 32:
        # A float16 gradient cannot hold 0.5 * e**2 / var**2 for var near 0.
        cases.append(("zero variance", (a([1.0, 0.0]), a([0.0, 1.0]), a([0.0, 0.0])), {}))
    return cases


def tweedie_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    counts = a([0.0, 1.0, 3.0])
    return [
        ("very negative log means, zero targets", (a([-1e4, -1e4]), a([0.0, 0.0])), {}),
        ("log means +-10", (a([10.0, -10.0, 10.0]), counts), {}),
        ("power near 1", (a([0.0, 1.0, -1.0]), counts), {"power": 1.01}),
        ("power near 2", (a([0.0, 1.0, -1.0]), counts), {"power": 1.99}),
    ]


def log_mean_sample(key, batch, dtype=jnp.float32):
    k1, k2 = jax.random.split(key)
    p = jax.random.normal(k1, batch, dtype)
    t = jnp.exp(jax.random.normal(k2, batch, jnp.float32)).astype(dtype)
    return (p, t), {}


def poisson_deviance_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    counts = a([0.0, 1.0, 3.0])
    return [
        ("very negative log means, zero targets", (a([-1e4, -1e4]), a([0.0, 0.0])), {}),
        ("log means +-10", (a([10.0, -10.0, 10.0]), counts), {}),
        ("exact fit", (a([0.0, 1.0]), jnp.exp(a([0.0, 1.0]))), {}),
    ]


def gamma_deviance_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    return [
        ("log means +-10", (a([10.0, -10.0, 10.0]), a([1.0, 1.0, 3.0])), {}),
        ("tiny and large targets", (a([0.0, 0.0]), a([1e-3, 1e3])), {}),
        ("exact fit", (a([0.0, 1.0]), jnp.exp(a([0.0, 1.0]))), {}),
    ]


def cosine_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    return [
        ("zero vectors", (a([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]),
                          a([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])), {}),
        ("identical and opposite", (a([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]),
                                    a([[1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]])), {}),
        ("large vectors", (a([[1e4, -1e4, 1e4]]), a([[1e4, 1e4, 1e4]])), {}),
        ("tiny vectors", (a([[1e-3, 0.0, 0.0]]), a([[1e-3, 1e-3, 0.0]])), {}),
    ]
