"""Helpers shared by the family test files (``test_<family>.py``).

``close12`` and ``close10`` are ``np.testing.assert_allclose`` with the default tolerance in
their name (relative 1e-12 or 1e-10, absolute 1e-12), so that a call site shows how close it
asks for; a call that needs another tolerance passes it. ``random_logits`` draws the seeded
float64 logits several families share.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

F64 = jnp.float64


def a64(x):
    return jnp.asarray(x, F64)


def close12(a, b, rtol=1e-12, atol=1e-12):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                               rtol=rtol, atol=atol)


def close10(actual, expected, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol)


def grad_sum(fn, argnums=0):
    # jit: one compiled program instead of op-by-op dispatch (optax references are eager)
    return jax.jit(jax.grad(lambda *a: jnp.sum(fn(*a)), argnums=argnums))


def random_logits(k=5, n=4, seed=0):
    """``[n, k]`` float64 logits, 2 * a standard normal draw seeded by ``seed``."""
    return 2.0 * jax.random.normal(jax.random.PRNGKey(seed), (n, k), F64)
