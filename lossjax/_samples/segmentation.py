"""Valid random inputs and boundary cases of the segmentation losses.

Test metadata, kept out of the family module: the registry-driven tests and the benchmark
reach them through ``spec.sample`` and ``spec.boundary``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def seg_sample(mode, kwargs=None, h=3, w=3, classes=3, with_mode=True):
    kwargs = dict(kwargs or {})

    def sample(key, batch, dtype=jnp.float32):
        # images of h x w pixels (and `classes` channels) for any batch shape, e.g. (3, 5)
        k1, k2 = jax.random.split(key)
        img = (*batch, h, w)
        if mode == "binary":
            x = 2.0 * jax.random.normal(k1, img, jnp.float32)
            t = jax.random.bernoulli(k2, 0.4, img).astype(dtype)
            if kwargs.get("integer_targets"):
                t = jax.random.randint(k2, img, 0, 2)
                t = t.at[..., 0, 0].set(-100)
            out = {k: v for k, v in kwargs.items() if k != "integer_targets"}
            if len(batch) != 1:  # several (or no) batch axes: the pixel axes must be named
                out.setdefault("spatial_dims", 2)
            return (x.astype(dtype), t), out
        x = 2.0 * jax.random.normal(k1, (*img, classes), jnp.float32)
        if mode == "multilabel":
            t = jax.random.bernoulli(k2, 0.4, (*img, classes)).astype(dtype)
        else:
            t = jax.random.randint(k2, img, 0, classes).at[..., 0, 0].set(-100)
        if not kwargs.get("from_logits", True):
            x = jax.nn.softmax(x, -1) if mode == "multiclass" else jax.nn.sigmoid(x)
        return (x.astype(dtype), t), ({"mode": mode} if with_mode else {}) | kwargs

    return sample


def seg_boundary(kind="region"):
    """Few cases, each a batch of edge images (every case compiles anew)."""

    def boundary(dtype):
        a = lambda v: jnp.asarray(v, dtype)
        big, nan = 1e4, jnp.nan
        x0 = [[big, -big], [-big, big]]
        # perfect, all wrong, empty targets, every pixel ignored, NaN dropped by `where`
        xb = a([x0, [[-big, big], [big, -big]], [[0, 0], [0, 0]], x0, [[nan, nan], [nan, nan]]])
        tb = jnp.array([[[1, 0], [0, 1]]] * 2 + [[[0, 0], [0, 0]]] + [[[-100] * 2] * 2] * 2)
        keep = jnp.array([True, True, True, True, False])
        cases = [
            ("binary edge images", (xb, tb), {"where": keep}),
            ("binary edge images, per batch", (xb, tb), {"where": keep, "per_image": False}),
        ]
        # huge logits with an ignored pixel, every label ignored, NaN dropped by `where`
        xm = a([[[[big, -big, 0], [-big, big, 0]], [[0, 0, big], [0, 0, 0]]]] * 2
               + [[[[nan] * 3] * 2] * 2])
        lab = jnp.array([[[0, 1], [2, -100]], [[-100, -100], [-100, -100]], [[0, 0], [0, 0]]])
        multi = ("multiclass edge images", (xm, lab), {"where": jnp.array([True, True, False])})
        if kind == "lovasz_softmax":
            probs = jax.nn.softmax(a([[[[big, -big, 0], [-big, big, 0]]]]).astype(jnp.float32),
                                   -1).astype(dtype)
            return [multi, ("exact probabilities, every class", (probs, lab[:1, :1]),
                            {"from_logits": False, "classes": "all"})]
        if kind == "region":
            probs = a([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]]])
            perfect = a([[[1, 0], [0, 1]], [[0, 0], [0, 0]]])
            cases += [
                (multi[0], multi[1], {"mode": "multiclass", **multi[2]}),
                ("exact probabilities, empty image, smooth 0", (probs, perfect),
                 {"from_logits": False, "smooth": 0.0}),
                ("multilabel, huge logits", (xm[:2], (xm[:2] > 0).astype(dtype)),
                 {"mode": "multilabel", "ignore_background": True}),
            ]
        return cases

    return boundary
