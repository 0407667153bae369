"""Valid random inputs and boundary cases of the multiclass losses.

Test metadata, kept out of the family module: the registry-driven tests and the benchmark
reach them through ``spec.sample`` and ``spec.boundary``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lossjax import _samples


def class_boundary(kind: str, smoothing: bool = True):
    """Boundary cases for a classification loss whose predictions are of ``kind``."""

    def boundary(dtype):
        cases = _cases(dtype)
        return [c for c in cases if smoothing or "label_smoothing" not in c[2]]

    def _cases(dtype):
        a = lambda v: jnp.asarray(v, dtype)
        labels = jnp.array([0, 1, 2])
        ninf = -jnp.inf
        if kind == "logits":
            m = _samples.finfo_max(dtype)
            x = [[1e4, -1e4, 0, 0, 0], [1e4, -1e4, 0, 0, 0], [0, 0, 0, 0, 0]]
            masked = [[0, 1, 2, 3, 4], [ninf] * 5, [ninf, 0, ninf, 1, 2]]
            return [
                ("huge logits", (a(x), labels), {}),
                ("huge logits, smoothed", (a(x), labels), {"label_smoothing": 0.1}),
                ("dtype max on the label", (a([[m, -m, 0, 0, 0]]), jnp.array([0])), {}),
                ("-inf rows dropped by where", (a(masked), labels),
                 {"where": jnp.array([True, False, False])}),
                ("-inf rows at ignore_index", (a(masked), jnp.array([0, -100, -100])), {}),
                ("-inf off the label", (a([[0, ninf, ninf, 1, 2]]), jnp.array([0])), {}),
            ]
        if kind == "log_probabilities":
            lp = [[0, ninf, ninf, ninf, ninf], [-1e4, 0, -1e4, -1e4, -1e4], [-1.6] * 5]
            return [
                ("log(0) and log(1)", (a(lp), labels), {}),
                ("-inf rows dropped by where", (a([[ninf] * 5] * 3), labels),
                 {"where": jnp.array([False, False, False])}),
            ]
        if kind == "probabilities":
            pr = [[1, 0, 0, 0, 0], [1, 0, 0, 0, 0], [0.2] * 5]
            return [
                ("exact 0 and 1", (a(pr), labels), {}),
                ("exact 0 and 1, smoothed", (a(pr), labels), {"label_smoothing": 0.1}),
            ]
        return []

    return boundary


def focal_boundary(dtype):
    cases = class_boundary("logits")(dtype)
    extra = []
    for label, args, kw in cases:
        extra.append((label + ", gamma=0.5, alpha", args,
                      {**kw, "gamma": 0.5, "alpha": jnp.full((5,), 0.25, dtype)}))
    return cases + extra


def multilabel_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    m = _samples.finfo_max(dtype)
    y = a([[1, 0, 1, 0, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]])
    return [
        ("huge logits", (a([[1e4, -1e4, -1e4, 1e4, 0]] * 3), y), {}),
        ("dtype max, right side", (a([[m, -m, m, -m, -m]]), a([[1, 0, 1, 0, 0]])), {}),
        ("NaN rows dropped by where", (a([[jnp.nan] * 5, [0] * 5, [1] * 5]), y),
         {"where": jnp.array([False, True, True])}),
    ]


def label_list_sample(key, batch, dtype=jnp.float32):
    k1, k2, k3 = jax.random.split(key, 3)
    k = _samples.NUM_CLASSES
    x = (2.0 * jax.random.normal(k1, (*batch, k), jnp.float32)).astype(dtype)
    perm = jnp.argsort(jax.random.uniform(k2, (*batch, k)), axis=-1)
    n = jax.random.randint(k3, (*batch, 1), 0, k + 1)
    return (x, jnp.where(jnp.arange(k) < n, perm, -1).astype(jnp.int32)), {}


def label_list_boundary(dtype):
    a = lambda v: jnp.asarray(v, dtype)
    t = jnp.array([[3, 0, -1, 1, 2], [-1, 0, 1, 2, 3], [0, 1, 2, 3, 4], [4, -1, -1, -1, -1]])
    return [
        ("huge scores", (a([[1e4, -1e4, 0, 0, 1e4]] * 4), t), {}),
        ("equal scores", (a([[0.0] * 5] * 4), t), {}),
        ("-inf off the labels",
         (a([[0, -jnp.inf, 1, -jnp.inf, 2]]), jnp.array([[0, 2, 4, -1, -1]])), {}),
    ]
