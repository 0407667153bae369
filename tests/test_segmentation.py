"""Peer comparisons and options of lossjax.segmentation.

optax is called directly; Keras's ``Dice``/``Tversky`` are written from the Keras 3
documentation's formulas (Keras is not installable here). The float64 references in
``references_segmentation.py`` cover the options the registry sample does not reach.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import references_segmentation as ref

import lossjax

F64 = jnp.float64
KEY = jax.random.PRNGKey(0)
X = 2.0 * jax.random.normal(KEY, (3, 4, 5, 3), F64)  # [B, H, W, C] logits
LABELS = jax.random.randint(jax.random.PRNGKey(1), (3, 4, 5), 0, 3)
ONEHOT = jax.nn.one_hot(LABELS, 3, dtype=F64)


def test_dice_and_tversky_match_optax():
    # optax.dice_loss(smooth=s) = (TP + s) / (TP + (FP + FN) / 2 + s) = lossjax dice(smooth=2s)
    want = optax.losses.dice_loss(X, ONEHOT, smooth=0.5, reduction="mean")
    got = lossjax.dice(X, LABELS, mode="multiclass", smooth=1.0, reduction="none")
    np.testing.assert_allclose(got, want, rtol=1e-12)
    want = optax.losses.dice_loss(X, ONEHOT, smooth=1.0, alpha=0.3, beta=0.7, reduction="mean")
    got = lossjax.tversky(X, ONEHOT, mode="multiclass", alpha=0.3, beta=0.7, reduction="none")
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # binary: optax.binary_dice_loss on [B, H, W] logits
    xb, tb = X[..., 0], (LABELS == 0).astype(F64)
    np.testing.assert_allclose(lossjax.dice(xb, tb, smooth=2.0, reduction="none"),
                               optax.losses.binary_dice_loss(xb, tb, smooth=1.0), rtol=1e-12)


def test_per_batch_matches_keras_dice_and_tversky_formulas():
    # keras.losses.Dice: 1 - (2 sum(y p) + 1e-7) / (sum(y) + sum(p) + 1e-7) on flattened inputs
    p = jax.nn.sigmoid(X[..., 1])
    y = (LABELS == 1).astype(F64)
    keras_dice = 1 - (2 * jnp.sum(y * p) + 1e-7) / (jnp.sum(y) + jnp.sum(p) + 1e-7)
    got = lossjax.dice(p, y, from_logits=False, per_image=False, smooth=1e-7)
    np.testing.assert_allclose(got, keras_dice, rtol=1e-12)
    assert got.shape == ()
    # keras.losses.tversky in Keras 3.15.1 (keras/src/losses/losses.py, tag v3.15.1):
    # inputs = y_true, targets = y_pred, fp = sum((1 - targets) * inputs) (the false
    # *negatives*), fn = sum(targets * (1 - inputs)) (the false positives), and
    # 1 - TP / (TP + alpha * fp + beta * fn + epsilon): its alpha weighs false negatives
    # (swapped back on Keras master by #23333, after 3.15.1). With epsilon set to 0 here
    # (Keras's is 1e-7, in the denominator only), Tversky(alpha=0.7, beta=0.3) is lossjax's
    # tversky(alpha=0.3, beta=0.7, smooth=0) exactly.
    tp, fp, fn = jnp.sum(y * p), jnp.sum((1 - y) * p), jnp.sum(y * (1 - p))
    k_alpha, k_beta = 0.7, 0.3
    keras_tv = 1 - tp / (tp + k_alpha * fn + k_beta * fp)
    got = lossjax.tversky(p, y, from_logits=False, per_image=False, smooth=0.0, alpha=k_beta,
                          beta=k_alpha)
    np.testing.assert_allclose(got, keras_tv, rtol=1e-12)
    # the same alpha and beta are not the same loss (the peer entry states the swap)
    same = lossjax.tversky(p, y, from_logits=False, per_image=False, smooth=0.0, alpha=k_alpha,
                           beta=k_beta)
    assert abs(float(same) - float(keras_tv)) > 1e-3


OPTIONS = [
    ("dice", {"mode": "multiclass", "class_weighting": "generalized"}),
    ("dice", {"mode": "multiclass", "per_image": False, "ignore_background": True}),
    ("tversky", {"mode": "multilabel", "smooth": 0.0, "alpha": 0.2, "beta": 0.9}),
    ("focal_tversky", {"mode": "multiclass", "gamma": 1.5, "per_image": False}),
    ("jaccard", {"mode": "binary"}),
    ("lovasz_hinge", {"per_image": False}),
    ("lovasz_softmax", {"classes": "all"}),
    ("lovasz_softmax", {"per_image": False, "from_logits": True}),
]


@pytest.mark.parametrize("name,kw", OPTIONS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIONS)])
def test_options_match_the_float64_reference(name, kw):
    mode = kw.get("mode", "multiclass" if name == "lovasz_softmax" else "binary")
    labels = LABELS.at[0, 0, :2].set(-100)  # a few ignored pixels
    if mode == "binary":
        x, t = X[..., 0], jnp.where(labels == -100, -100, (labels == 2).astype(jnp.int32))
    elif mode == "multilabel":
        x, t = X, (ONEHOT + (jnp.roll(ONEHOT, 1, -1))).astype(F64)
    else:
        x, t = X, labels
    got = lossjax.get(name)(x, t, reduction="none", **kw)
    want = ref.REFERENCES[name](np.asarray(x), np.asarray(t), **kw)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_spatial_dims_and_leading_batch_axes():
    x3d = X.reshape(3, 2, 2, 5, 3)  # [B, D, H, W, C] volumes
    lab3d = LABELS.reshape(3, 2, 2, 5)
    got = lossjax.dice(x3d, lab3d, mode="multiclass", spatial_dims=3, reduction="none")
    np.testing.assert_allclose(got, lossjax.dice(X, LABELS, mode="multiclass", reduction="none"),
                               rtol=1e-12)
    # a single image (no batch axis) gives a scalar; two batch axes give a [2, ...] shape
    single = lossjax.dice(X[0], LABELS[0], mode="multiclass", reduction="none")
    assert single.shape == ()
    grid = lossjax.dice(X[None], LABELS[None], mode="multiclass", reduction="none")
    assert grid.shape == (1, 3)
    np.testing.assert_allclose(grid[0, 0], single, rtol=1e-12)


def test_per_batch_refuses_weights_and_respects_where():
    with pytest.raises(ValueError, match="`weights`"):
        lossjax.dice(X, LABELS, mode="multiclass", per_image=False, weights=jnp.ones(3))
    keep = jnp.array([True, False, True])
    got = lossjax.jaccard(X, LABELS, mode="multiclass", per_image=False, where=keep)
    want = lossjax.jaccard(X[keep], LABELS[keep], mode="multiclass", per_image=False)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_out_of_range_labels_give_nan_for_their_image_only():
    bad = LABELS.at[1, 0, 0].set(7)
    got = lossjax.dice(X, bad, mode="multiclass", reduction="none")
    assert np.isnan(got[1]) and np.all(np.isfinite(got[jnp.array([0, 2])]))


def test_lovasz_hinge_is_zero_beyond_the_margin_and_matches_a_hand_value():
    t = jnp.array([[1, 0, 0, 0]])
    assert float(lossjax.lovasz_hinge(jnp.array([[2.0, -1.5, -3.0, -1.0]], F64), t)) == 0.0
    # one false positive with hinge error 1.5, Jaccard weight 1/2 (Berman et al., Alg. 1)
    np.testing.assert_allclose(
        float(lossjax.lovasz_hinge(jnp.array([[2.0, -1.0, 0.5, -3.0]], F64), t)), 0.75)
