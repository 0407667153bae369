"""Valid random inputs and boundary inputs for registered losses.

The registry-driven tests and the benchmark call ``spec.sample(key, batch_shape, dtype)`` and
``spec.boundary(dtype)``; these are the defaults chosen from what a loss's predictions and
targets are. A family module passes its own where the defaults do not fit.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

NUM_CLASSES = 5


def big(dtype: Any) -> float:
    """A large finite magnitude for logits: 1e4, representable in every float dtype."""
    return 1e4


def finfo_max(dtype: Any) -> float:
    return float(jnp.finfo(dtype).max)


def predictions_of(
    kind: str, key: jax.Array, shape: tuple[int, ...], dtype: Any, per_example: bool
):
    if kind == "values":
        return jax.random.normal(key, shape, dtype)
    if kind in ("logits", "scores"):
        return (2.0 * jax.random.normal(key, shape, jnp.float32)).astype(dtype)
    if kind == "probabilities":
        if per_example:
            return jax.nn.softmax(jax.random.normal(key, shape, jnp.float32), -1).astype(dtype)
        return jax.random.uniform(key, shape, jnp.float32, 0.02, 0.98).astype(dtype)
    if kind == "log_probabilities":
        return jax.nn.log_softmax(jax.random.normal(key, shape, jnp.float32), -1).astype(dtype)
    return None


def targets_of(kind: str, key: jax.Array, shape: tuple[int, ...], batch: tuple[int, ...],
               dtype: Any, per_example: bool):
    if kind == "values":
        return jax.random.normal(key, shape, dtype)
    if kind == "binary":
        return jax.random.bernoulli(key, 0.5, shape).astype(dtype)
    if kind == "signed":
        return (2.0 * jax.random.bernoulli(key, 0.5, shape) - 1.0).astype(dtype)
    if kind == "labels":
        return jax.random.randint(key, batch, 0, shape[-1])
    if kind == "probabilities":
        if per_example:
            return jax.nn.softmax(2 * jax.random.normal(key, shape, jnp.float32), -1).astype(dtype)
        return jax.random.uniform(key, shape, dtype)
    return None


def default_sampler(predictions: str, targets: str, granularity: str):
    """A sampler for the usual (predictions, targets) kinds, or None when there is none."""
    per_example = granularity == "example"

    def sample(key: jax.Array, batch: tuple[int, ...], dtype: Any = jnp.float32):
        k1, k2 = jax.random.split(key)
        shape = (*batch, NUM_CLASSES) if per_example else tuple(batch)
        p = predictions_of(predictions, k1, shape, dtype, per_example)
        t = targets_of(targets, k2, shape, tuple(batch), dtype, per_example)
        if p is None or t is None:
            raise NotImplementedError(
                f"no default sampler for predictions={predictions!r}, targets={targets!r}"
            )
        return (p, t), {}

    return sample


def default_boundary(predictions: str, targets: str, granularity: str):
    """Boundary inputs for element-wise losses of the usual kinds (empty list otherwise)."""

    def boundary(dtype: Any):
        a = lambda v: jnp.asarray(v, dtype)
        if granularity != "element":
            return []
        if predictions == "values" and targets == "values":
            return [
                ("zero residual", (a([0.0, 1.0, -1.0]), a([0.0, 1.0, -1.0])), {}),
                ("large residual", (a([1e4, -1e4, 3.0]), a([-1e4, 1e4, 3.0])), {}),
            ]
        if predictions in ("logits", "scores") and targets in ("binary", "probabilities"):
            m = finfo_max(dtype)
            return [
                ("huge logits", (a([1e4, -1e4, 1e4, -1e4, 0.0]), a([1, 0, 0, 1, 1])), {}),
                ("dtype max, right side", (a([m, -m]), a([1, 0])), {}),
                ("zero logits", (a([0.0, 0.0]), a([0, 1])), {}),
            ]
        if predictions == "probabilities" and targets in ("binary", "probabilities"):
            return [
                ("exact 0 and 1", (a([0, 1, 0, 1, 0.5]), a([0, 0, 1, 1, 0.5])), {}),
            ]
        if predictions == "scores" and targets == "signed":
            return [
                ("huge scores", (a([1e4, -1e4, 1e4, -1e4]), a([1, 1, -1, -1])), {}),
                ("on the margin", (a([1.0, -1.0, 0.0]), a([1, -1, 1])), {}),
            ]
        return []

    return boundary
