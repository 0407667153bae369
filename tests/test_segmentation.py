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


# ------------------------------------------------ NaN, ignored pixels, empty batches, layout

REGION = ["dice", "jaccard", "tversky", "focal_tversky"]


@pytest.mark.parametrize("name", REGION)
def test_a_nan_prediction_or_target_makes_the_image_nan(name):
    # An image with a NaN prediction or target scored 0.0 (perfect)
    fn = lossjax.get(name)
    got = fn(X.at[1, 2, 3, 0].set(jnp.nan), LABELS, mode="multiclass", reduction="none")
    assert np.isnan(got[1]) and np.all(np.isfinite(got[jnp.array([0, 2])]))
    assert np.isnan(fn(X.at[1, 2, 3, 0].set(jnp.nan), LABELS, mode="multiclass"))
    got = fn(X, ONEHOT.at[2, 0, 0, 1].set(jnp.nan), mode="multilabel", reduction="none")
    assert np.isnan(got[2]) and np.all(np.isfinite(got[:2]))
    got = fn(X[..., 0], ONEHOT[..., 0].at[0, 1, 1].set(jnp.nan), reduction="sum")
    assert np.isnan(got)
    # pooled over the batch too
    assert np.isnan(fn(X.at[0, 0, 0, 2].set(jnp.nan), LABELS, mode="multiclass",
                       per_image=False))


@pytest.mark.parametrize("name", [*REGION, "lovasz_softmax"])
def test_minus_inf_logits_at_ignored_pixels_change_nothing(name):
    # -inf logits at ignore_index pixels changed the multiclass region
    # losses' value (dice 0.3665 -> 0.0) and gave NaN gradients (lovasz_softmax too)
    fn = lossjax.get(name)
    kw = {} if name == "lovasz_softmax" else {"mode": "multiclass"}
    labels = LABELS.at[0, 0, :2].set(-100).at[2, 3, 4].set(-100)
    ignored = (labels == -100)[..., None]
    dirty = jnp.where(ignored, -jnp.inf, X)
    nan = jnp.where(ignored, jnp.nan, X)

    def loss(x):
        return fn(x, labels, **kw)

    clean, g_clean = jax.value_and_grad(loss)(X)
    for bad in (dirty, nan):
        value, g = jax.value_and_grad(loss)(bad)
        assert float(value) == float(clean)
        assert np.all(np.isfinite(g))
        np.testing.assert_array_equal(g, g_clean)
        assert np.all(np.where(ignored, g, 0.0) == 0.0)
        np.testing.assert_array_equal(fn(bad, labels, reduction="none", **kw),
                                      fn(X, labels, reduction="none", **kw))


@pytest.mark.parametrize("name", ["dice", "jaccard", "lovasz_softmax"])
def test_an_empty_batch_gives_zero(name):
    # An empty batch raised ZeroDivisionError (integer modulo by zero)
    fn = lossjax.get(name)
    kw = {} if name == "lovasz_softmax" else {"mode": "multiclass"}
    x, labels = X[:0], LABELS[:0]
    assert fn(x, labels, reduction="none", **kw).shape == (0,)
    for r in ("sum", "mean"):
        assert float(fn(x, labels, reduction=r, **kw)) == 0.0
    assert float(fn(x, labels, per_image=False, **kw)) == 0.0
    g = jax.grad(lambda x: fn(x, labels, **kw))(x)
    assert g.shape == x.shape


@pytest.mark.parametrize("name", [*REGION, "lovasz_hinge"])
def test_binary_mode_refuses_a_channel_axis_unless_spatial_dims_is_given(name):
    # Binary mode (the default) took [B, H, W, C] as a batch (B, H) of
    # W x C images, silently
    fn = lossjax.get(name)
    t = ONEHOT if name != "lovasz_hinge" else ONEHOT.astype(jnp.int32)
    with pytest.raises(ValueError, match="`mode`.*`spatial_dims`") as e:
        fn(X, t)
    assert ("mode='multilabel'" in str(e.value)) == (name != "lovasz_hinge")
    # several batch axes [B1, B2, H, W], declared by passing spatial_dims: each [H, W] image is
    # a unit, with the loss it has in the flattened batch [B1 * B2, H, W]
    xg, tg = jnp.moveaxis(X, -1, 1), jnp.moveaxis(t, -1, 1)  # [3, 3, 4, 5]
    with pytest.raises(ValueError, match="`spatial_dims`"):
        fn(xg, tg)
    grid = fn(xg, tg, spatial_dims=2, reduction="none")
    assert grid.shape == (3, 3)
    want = fn(xg.reshape(9, 4, 5), tg.reshape(9, 4, 5), reduction="none")
    np.testing.assert_allclose(grid.reshape(-1), want, rtol=1e-12)
    # one batch axis or a single image keep working with the default
    assert fn(X[..., 0], t[..., 0], reduction="none").shape == (3,)
    assert fn(X[0, ..., 0], t[0, ..., 0], reduction="none").shape == ()
    # the channel modes take the [B, H, W, C] array as it is
    if name != "lovasz_hinge":
        assert fn(X, ONEHOT, mode="multilabel", reduction="none").shape == (3,)
