"""Metrics (lossjax.metrics: accuracy, zero_one, chance_cross_entropy): known values.

These are the family's own checks; the registry-driven battery (test_contract.py and the other
batteries) tests every registered loss, against the float64 references of
``references_metrics.py``.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from checks import LOGITS, close12

import lossjax


def test_chance_cross_entropy_is_log_k_for_balanced_classes():
    y = jnp.arange(12) % 4
    scores = jnp.zeros((12, 4), jnp.float32)
    close12(lossjax.chance_cross_entropy(scores, y), np.log(4.0), rtol=1e-6)
    yb = jnp.array([0.0, 1.0] * 5, jnp.float32)
    close12(lossjax.chance_cross_entropy(jnp.zeros(10), yb), np.log(2.0), rtol=1e-6)


def test_accuracy_and_zero_one():
    close12(lossjax.accuracy(LOGITS[:3], jnp.array([0, 2, 0])), 2 / 3)
    close12(lossjax.zero_one(LOGITS[:3], jnp.array([0, 2, 0])), 1 / 3)
    p = jnp.array([0.2, 0.7, 0.5, 0.9])
    close12(lossjax.accuracy(p, jnp.array([0.0, 1.0, 1.0, 0.0])), 0.5)
    assert not lossjax.spec("accuracy").differentiable
