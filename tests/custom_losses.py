"""Custom losses registered by the test suite, the way a user would register their own.

``conftest.py`` imports this module, so these losses are in the registry for every test
module: the registry-driven battery in ``test_contract.py`` must test them like the built-in
ones (that is the promise made to users of ``register_elementwise``/``register_per_example``).
``REFERENCES`` holds their float64 NumPy references, written from the formulas below.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import lossjax

QUARTIC = "test_quartic"
BRIER = "test_brier"


@lossjax.register_elementwise(
    QUARTIC,
    bounded=False,
    convex=True,
    reference="(p - t)^4 scaled; a test fixture",
    hyper={"scale": lossjax.registry.POSITIVE},
    # 4 e^3 overflows float16 beyond |e| ~ 25: the boundary is where the loss is finite
    boundary=lambda dtype: [
        ("zero residual", (jnp.zeros(3, dtype), jnp.zeros(3, dtype)), {}),
        ("residual 20", (jnp.asarray([20.0, -20.0], dtype), jnp.zeros(2, dtype)), {}),
    ],
)
def _quartic(predictions, targets, *, scale=1.0):
    """Scaled quartic error, scale * (p - t)^4."""
    return scale * (predictions - targets) ** 4


@lossjax.register_per_example(
    BRIER,
    predictions="probabilities",
    targets="probabilities",
    bounded=True,
    convex=True,
    reference="Brier (1950), Monthly Weather Review 78(1)",
)
def _brier(predictions, targets):
    """Multiclass Brier score, sum_k (p_k - t_k)^2."""
    return jnp.sum((predictions - targets) ** 2, axis=-1)


def _quartic_ref(p, t, scale=1.0):
    return scale * (np.asarray(p, np.float64) - np.asarray(t, np.float64)) ** 4


def _brier_ref(p, t):
    return np.sum((np.asarray(p, np.float64) - np.asarray(t, np.float64)) ** 2, axis=-1)


REFERENCES = {QUARTIC: _quartic_ref, BRIER: _brier_ref}
