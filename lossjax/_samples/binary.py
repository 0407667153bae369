"""Valid random inputs and boundary cases of the binary losses.

Test metadata, kept out of the family module: the registry-driven tests and the benchmark
reach them through ``spec.sample`` and ``spec.boundary``.
"""

from __future__ import annotations

import jax.numpy as jnp

from lossjax import _samples


def focal_boundary(dtype):
    cases = _samples.default_boundary("logits", "binary", "element")(dtype)
    out = list(cases)
    for label, args, kw in cases:
        out.append((label + ", gamma=0", args, {**kw, "gamma": 0.0}))
        out.append((label + ", gamma=0.5, alpha=0.25", args, {**kw, "gamma": 0.5, "alpha": 0.25}))
    a = lambda v: jnp.asarray(v, dtype)
    out.append(("soft targets", (a([1e4, -1e4, 0.0]), a([0.3, 0.7, 0.5])), {}))
    out.append(("huge logits, smoothed", (a([1e4, -1e4, 1e4]), a([1.0, 0.0, 0.0])),
                {"label_smoothing": 0.1, "alpha": 0.25}))
    probs, hard = a([0.0, 1.0, 0.0, 1.0, 0.5]), a([0.0, 1.0, 1.0, 0.0, 1.0])
    out.append(("probabilities 0 and 1", (probs, hard), {"from_logits": False}))
    out.append(("probabilities 0 and 1, gamma=0.5, alpha=0.25", (probs, hard),
                {"from_logits": False, "gamma": 0.5, "alpha": 0.25}))
    return out


def margin_boundary(dtype):
    """Huge right-side scores and margins whose loss fits every dtype (|y f| <= 10)."""
    a = lambda v: jnp.asarray(v, dtype)
    return [
        ("huge right-side scores", (a([1e4, -1e4]), a([1, -1])), {}),
        ("wrong side by 10", (a([-10.0, 10.0]), a([1, -1])), {}),
        ("zero scores", (a([0.0, 0.0]), a([1, -1])), {}),
    ]
