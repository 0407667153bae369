"""Options the peers have, against the peers' own numbers.

Every expected number below comes from a peer called here (scikit-learn 1.9.1 and optax 0.2.8,
installed with the tests) or from a closed form written out in the test; the registry-driven
battery (test_contract, test_nan_propagation, ...) covers the new losses by their registration.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from sklearn import metrics

import lossjax

F64 = jnp.float64


def _rng(seed):
    return np.random.default_rng(seed)


# ----------------------------------------------------------------- Poisson and gamma deviance


def test_poisson_deviance_is_sklearns_mean_poisson_deviance():
    r = _rng(0)
    s = r.normal(size=20)
    y = r.poisson(2.0, size=20).astype(np.float64)
    w = r.uniform(0.5, 2.0, size=20)
    with jax.enable_x64(True):
        got = lossjax.poisson_deviance(jnp.asarray(s), jnp.asarray(y))
        got_w = lossjax.poisson_deviance(jnp.asarray(s), jnp.asarray(y), weights=jnp.asarray(w))
    assert (y == 0).any()  # the y log y = 0 limit is exercised
    np.testing.assert_allclose(got, metrics.mean_poisson_deviance(y, np.exp(s)), rtol=1e-12)
    np.testing.assert_allclose(
        got_w, metrics.mean_poisson_deviance(y, np.exp(s), sample_weight=w), rtol=1e-12
    )


def test_gamma_deviance_is_sklearns_mean_gamma_deviance():
    r = _rng(1)
    s = r.normal(size=20)
    y = np.exp(r.normal(size=20))
    w = r.uniform(0.5, 2.0, size=20)
    with jax.enable_x64(True):
        got = lossjax.gamma_deviance(jnp.asarray(s), jnp.asarray(y))
        got_w = lossjax.gamma_deviance(jnp.asarray(s), jnp.asarray(y), weights=jnp.asarray(w))
    np.testing.assert_allclose(got, metrics.mean_gamma_deviance(y, np.exp(s)), rtol=1e-12)
    np.testing.assert_allclose(
        got_w, metrics.mean_gamma_deviance(y, np.exp(s), sample_weight=w), rtol=1e-12
    )


@pytest.mark.parametrize("loss,power", [("poisson_deviance", 1.0), ("gamma_deviance", 2.0)])
def test_deviances_are_sklearns_tweedie_at_powers_1_and_2(loss, power):
    # scikit-learn's mean_tweedie_deviance accepts power 1 and 2 (its limits)
    r = _rng(2)
    s = r.normal(size=10)
    y = np.exp(r.normal(size=10))
    with jax.enable_x64(True):
        got = lossjax.get(loss)(jnp.asarray(s), jnp.asarray(y))
    np.testing.assert_allclose(
        got, metrics.mean_tweedie_deviance(y, np.exp(s), power=power), rtol=1e-12
    )


def test_deviance_gradients_in_the_log_mean():
    # closed forms: d/ds 2 (y log(y/mu) - y + mu) = 2 (mu - y); d/ds 2 (log(mu/y) + y/mu - 1)
    # = 2 (1 - y / mu), mu = exp(s); at y = 0 the Poisson gradient is 2 mu (finite)
    s = jnp.array([-1.0, 0.0, 2.0, 0.5])
    y = jnp.array([0.0, 1.0, 3.0, 0.2])
    g = jax.grad(lambda s: lossjax.poisson_deviance(s, y, reduction="sum"))(s)
    np.testing.assert_allclose(g, 2 * (np.exp(s) - y), rtol=1e-6)
    yg = jnp.array([0.3, 1.0, 3.0, 0.2])
    g = jax.grad(lambda s: lossjax.gamma_deviance(s, yg, reduction="sum"))(s)
    np.testing.assert_allclose(g, 2 * (1 - yg * np.exp(-s)), rtol=1e-6)
    # convex in the log-mean: the second derivative 2 y / mu of the gamma deviance is positive
    h = jax.hessian(lambda s: lossjax.gamma_deviance(s, yg, reduction="sum"))(s)
    np.testing.assert_allclose(jnp.diag(h), 2 * yg * np.exp(-s), rtol=1e-6)


def test_deviances_outside_their_target_domain():
    s = jnp.zeros(3)
    # Poisson: a negative count is NaN; gamma: y = 0 is +inf (log(mu / 0)), y < 0 NaN
    assert np.isnan(lossjax.poisson_deviance(s, jnp.array([1.0, -1.0, 2.0]), reduction="none")[1])
    g = lossjax.gamma_deviance(s, jnp.array([0.0, -1.0, 2.0]), reduction="none")
    assert g[0] == np.inf and np.isnan(g[1]) and np.isfinite(g[2])


# --------------------------------------------------------------------------------- Brier


def test_brier_is_sklearns_multiclass_brier_score_loss():
    r = _rng(3)
    p = r.dirichlet(np.ones(4), size=12)
    y = r.integers(0, 4, size=12)
    with jax.enable_x64(True):
        got = lossjax.brier(jnp.asarray(p), jnp.asarray(y))
        dense = lossjax.brier(jnp.asarray(p), jax.nn.one_hot(y, 4, dtype=F64))
    want = metrics.brier_score_loss(y, p, labels=[0, 1, 2, 3], scale_by_half=False)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(dense, want, rtol=1e-12)
    # two classes: twice scikit-learn's binary score (which is the squared error of p_1)
    p2 = np.stack([1 - p[:, 0], p[:, 0]], axis=-1)
    y2 = (y > 1).astype(np.int64)
    with jax.enable_x64(True):
        got2 = lossjax.brier(jnp.asarray(p2), jnp.asarray(y2))
    np.testing.assert_allclose(got2, 2 * metrics.brier_score_loss(y2, p2[:, 1]), rtol=1e-12)


def test_brier_options():
    p = jnp.array([[0.5, 0.25, 0.25], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6]])
    # closed forms: row 0 vs label 0: 0.25 + 0.0625 + 0.0625 = 0.375; row 1 vs label 2:
    # 0.01 + 0.36 + 0.49 = 0.86
    np.testing.assert_allclose(
        lossjax.brier(p[:2], jnp.array([0, 2]), reduction="none"), [0.375, 0.86], rtol=1e-6
    )
    # class axis first
    np.testing.assert_allclose(
        lossjax.brier(p[:2].T, jnp.array([0, 2]), axis=0, reduction="none"), [0.375, 0.86],
        rtol=1e-6,
    )
    # ignore_index drops the example; class weights weigh by the label's weight
    np.testing.assert_allclose(lossjax.brier(p[:2], jnp.array([0, -100])), 0.375, rtol=1e-6)
    np.testing.assert_allclose(
        lossjax.brier(p[:2], jnp.array([0, 2]), class_weights=jnp.array([1.0, 1.0, 3.0])),
        (0.375 + 3 * 0.86) / 4, rtol=1e-6,
    )
    # a label outside [0, K) is NaN (as for every classification loss); checked mode raises
    assert np.isnan(lossjax.brier(p[:2], jnp.array([0, 3])))
    from jax.experimental import checkify
    with pytest.raises(checkify.JaxRuntimeError, match="probabilities"):
        lossjax.checked("brier")(jnp.array([[1.5, -0.5]]), jnp.array([0]))


# ----------------------------------------------------------------------------- smooth_labels


def test_smooth_labels_is_optaxs():
    r = _rng(4)
    y = r.integers(0, 5, size=(3, 4))
    onehot = jax.nn.one_hot(y, 5)
    want = optax.smooth_labels(onehot, 0.2)
    np.testing.assert_allclose(lossjax.smooth_labels(onehot, 0.2), want, rtol=1e-7)
    np.testing.assert_allclose(lossjax.smooth_labels(jnp.asarray(y), 0.2, num_classes=5), want,
                               rtol=1e-7)
    # the class axis elsewhere, for labels and for rows
    np.testing.assert_allclose(
        lossjax.smooth_labels(jnp.asarray(y), 0.2, num_classes=5, axis=0),
        jnp.moveaxis(want, -1, 0), rtol=1e-7,
    )
    np.testing.assert_allclose(
        lossjax.smooth_labels(jnp.moveaxis(onehot, -1, 1), 0.2, axis=1),
        jnp.moveaxis(want, -1, 1), rtol=1e-7,
    )


def test_smooth_labels_is_what_label_smoothing_trains_against():
    r = _rng(5)
    x = jnp.asarray(r.normal(size=(6, 4)), jnp.float32)
    y = jnp.asarray(r.integers(0, 4, size=6))
    smoothed = lossjax.smooth_labels(y, 0.1, num_classes=4)
    np.testing.assert_allclose(
        lossjax.softmax_cross_entropy(x, y, label_smoothing=0.1),
        lossjax.softmax_cross_entropy(x, smoothed), rtol=1e-6,
    )
    # traced alpha (a schedule) and its derivative, d/dalpha = 1/K - onehot
    g = jax.grad(lambda a: lossjax.smooth_labels(y, a, num_classes=4)[0, 0])(0.3)
    assert g == pytest.approx(0.25 - float(y[0] == 0))


def test_smooth_labels_errors_and_out_of_range_labels():
    out = lossjax.smooth_labels(jnp.array([1, 4, -1]), 0.1, num_classes=4)
    assert np.isfinite(out[0]).all() and np.isnan(out[1]).all() and np.isnan(out[2]).all()
    with pytest.raises(TypeError, match="`alpha`"):
        lossjax.smooth_labels(jnp.eye(3), "0.1")
    with pytest.raises(ValueError, match="`alpha`"):
        lossjax.smooth_labels(jnp.eye(3), 1.5)
    with pytest.raises(TypeError, match="`num_classes`"):
        lossjax.smooth_labels(jnp.array([0, 1]), 0.1)
    with pytest.raises(ValueError, match="`num_classes`"):
        lossjax.smooth_labels(jnp.eye(3), 0.1, num_classes=4)


# ------------------------------------------------------------------ binary label smoothing


def test_binary_label_smoothing_is_keras_and_optax():
    r = _rng(6)
    x = r.normal(size=10) * 3
    y = r.integers(0, 2, size=10).astype(np.float64)
    eps = 0.2
    # optax: sigmoid_binary_cross_entropy against optax.smooth_labels of the two-class one-hot
    # rows [1 - y, y] (the positive column), which is Keras's y (1 - eps) + eps / 2
    two = np.stack([1 - y, y], axis=-1)
    y_s = np.asarray(optax.smooth_labels(jnp.asarray(two), eps))[:, 1]
    np.testing.assert_allclose(y_s, y * (1 - eps) + 0.5 * eps, rtol=1e-15)
    with jax.enable_x64(True):
        want = optax.losses.sigmoid_binary_cross_entropy(jnp.asarray(x), jnp.asarray(y_s))
        got = lossjax.binary_cross_entropy_with_logits(
            jnp.asarray(x), jnp.asarray(y), label_smoothing=eps, reduction="none")
        np.testing.assert_allclose(got, want, rtol=1e-12)
        # on probabilities: the closed form -(y' log p + (1 - y') log(1 - p)) (Keras's formula;
        # Keras also clips p to [1e-7, 1 - 1e-7], which these p stay inside)
        p = 1 / (1 + np.exp(-x))
        got_p = lossjax.binary_cross_entropy(jnp.asarray(p), jnp.asarray(y), label_smoothing=eps,
                                             reduction="none")
        np.testing.assert_allclose(got_p, -(y_s * np.log(p) + (1 - y_s) * np.log1p(-p)),
                                   rtol=1e-12)


def test_binary_label_smoothing_is_traced_and_checked():
    x, y = jnp.array([2.0, -1.0]), jnp.array([1.0, 0.0])
    f = jax.jit(lambda e: lossjax.binary_cross_entropy_with_logits(x, y, label_smoothing=e))
    values = jax.vmap(f)(jnp.array([0.0, 0.1, 0.2]))
    for e, v in zip([0.0, 0.1, 0.2], values, strict=True):
        assert v == pytest.approx(
            float(lossjax.binary_cross_entropy_with_logits(x, y, label_smoothing=e)), rel=1e-6)
    # d/deps of the mean of softplus-CE against y' = y + eps (1/2 - y): mean((1/2 - y) (-x))
    g = jax.grad(lambda e: lossjax.binary_cross_entropy_with_logits(x, y, label_smoothing=e))(0.1)
    assert g == pytest.approx(float(jnp.mean((0.5 - y) * -x)), rel=1e-6)
    with pytest.raises(ValueError, match="label_smoothing"):
        lossjax.binary_cross_entropy(jnp.array([0.5]), jnp.array([1.0]), label_smoothing=1.5)
    with pytest.raises(TypeError, match="label_smoothing"):
        lossjax.binary_cross_entropy_with_logits(x, y, label_smoothing="0.1")


# ------------------------------------------------------------------------ dice class weights


@pytest.mark.parametrize("ignore_background", [False, True])
def test_dice_class_weights_are_optaxs(ignore_background):
    # optax 0.2.8 dice_loss(class_weights=w): mean over classes of w_c * (per-class Dice loss);
    # its smooth s is lossjax's smooth 2 s (see test_coverage's ("dice", "dice_loss") check)
    r = _rng(7)
    x = r.normal(size=(2, 4, 5, 3)) * 2
    y = r.integers(0, 3, size=(2, 4, 5))
    w = np.array([0.2, 1.0, 3.0])
    with jax.enable_x64(True):
        got = lossjax.dice(jnp.asarray(x), jnp.asarray(y), mode="multiclass", smooth=1.0,
                           class_weights=jnp.asarray(w), ignore_background=ignore_background,
                           reduction="none")
        want = optax.losses.dice_loss(jnp.asarray(x), jax.nn.one_hot(y, 3, dtype=F64),
                                      smooth=0.5, class_weights=jnp.asarray(w),
                                      ignore_background=ignore_background)
        plain = lossjax.dice(jnp.asarray(x), jnp.asarray(y), mode="multiclass", smooth=1.0,
                             ignore_background=ignore_background, reduction="none")
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert not np.allclose(got, plain)  # the weights change the number


def test_dice_class_weights_errors():
    x = jnp.zeros((1, 2, 2, 3))
    y = jnp.zeros((1, 2, 2), jnp.int32)
    with pytest.raises(ValueError, match="class_weights"):
        lossjax.dice(x, y, mode="multiclass", class_weights=jnp.ones(4))
    with pytest.raises(ValueError, match="class_weights"):
        lossjax.dice(x, y, mode="multiclass", class_weights=jnp.ones(3),
                     class_weighting="generalized")
    with pytest.raises(ValueError, match="class_weights"):
        lossjax.dice(x, y, mode="multiclass", class_weights=-1.0)


# ------------------------------------------------------- per-class output of region losses


@pytest.mark.parametrize("ignore_background", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_dice_and_tversky_per_class_are_optaxs(ignore_background, weighted):
    # optax 0.2.8 dice_loss(reduction="none"): the per-image, per-class losses [B, C] (times
    # class_weights, class 0 dropped by ignore_background); its smooth s is lossjax's dice
    # smooth 2 s, and its (alpha, beta) are tversky's with the same smooth
    r = _rng(8)
    x = jnp.asarray(r.normal(size=(2, 4, 5, 3)) * 2)
    y = r.integers(0, 3, size=(2, 4, 5))
    onehot = jax.nn.one_hot(y, 3, dtype=F64)
    cw = jnp.asarray([0.2, 1.0, 3.0]) if weighted else None
    with jax.enable_x64(True):
        got = lossjax.dice(x, jnp.asarray(y), mode="multiclass", smooth=1.0, class_weights=cw,
                           ignore_background=ignore_background, per_class=True,
                           reduction="none")
        want = optax.losses.dice_loss(x, onehot, smooth=0.5, class_weights=cw,
                                      ignore_background=ignore_background, reduction="none")
        assert got.shape == want.shape == (2, 2 if ignore_background else 3)
        np.testing.assert_allclose(got, want, rtol=1e-12)
        got = lossjax.tversky(x, onehot, mode="multiclass", smooth=0.5, alpha=0.3, beta=0.7,
                              ignore_background=ignore_background, per_class=True,
                              reduction="none")
        want = optax.losses.dice_loss(x, onehot, smooth=0.5, alpha=0.3, beta=0.7,
                                      ignore_background=ignore_background, reduction="none")
        np.testing.assert_allclose(got, want, rtol=1e-12)
        # binary: one class, [B, 1] (optax's [..., 1] predictions)
        xb, tb = x[..., 0], jnp.asarray(y == 1, F64)
        got = lossjax.dice(xb, tb, smooth=1.0, per_class=True, reduction="none")
        want = optax.losses.dice_loss(xb[..., None], tb[..., None], smooth=0.5,
                                      reduction="none")
        assert got.shape == want.shape == (2, 1)
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("loss", ["dice", "tversky", "focal_tversky", "jaccard"])
def test_per_class_against_the_numpy_reference_and_the_class_mean(loss):
    # tests/references_segmentation.py (float64 loops over pixels, per class), with integer
    # labels and an ignored pixel; the reductions run over images, per class
    import references_segmentation as ref

    r = _rng(9)
    x = r.normal(size=(2, 3, 3, 4, 4)) * 2  # B = (2, 3), 3 x 4 pixels, 4 classes
    y = r.integers(0, 4, size=(2, 3, 3, 4))
    y[0, 0, 0, 0] = -100
    w = r.uniform(0.5, 2.0, size=(2, 3))
    keep = np.ones((2, 3), bool)
    keep[1, 2] = False
    x[1, 2] = np.nan  # a dropped image may hold anything
    fn = lossjax.get(loss)
    for ignore_background in (False, True):
        kw = dict(mode="multiclass", ignore_background=ignore_background)
        want = getattr(ref, loss)(np.where(keep[..., None, None, None], x, 0.0), y,
                                  per_class=True, **kw)
        c = 3 if ignore_background else 4
        assert want.shape == (2, 3, c)
        with jax.enable_x64(True):
            @jax.jit  # the seven calls in one compiled program (not one kernel each)
            def calls(x, y, w, keep, kw=kw):
                out = {r_: fn(x, y, per_class=True, weights=w, where=keep, reduction=r_, **kw)
                       for r_ in ("none", "sum", "mean")}
                plain = {r_: fn(x, y, weights=w, where=keep, reduction=r_, **kw)
                         for r_ in ("none", "sum", "mean")}
                pooled = fn(x[:1], y[:1], per_class=True, per_image=False, reduction="none",
                            **kw)
                return out, plain, pooled

            out, plain, pooled = calls(jnp.asarray(x), jnp.asarray(y), jnp.asarray(w),
                                       jnp.asarray(keep))
        wk = np.where(keep, w, 0.0)[..., None]
        np.testing.assert_allclose(out["none"], wk * want, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(out["sum"], np.sum(wk * want, axis=(0, 1)), rtol=1e-10)
        np.testing.assert_allclose(out["mean"], np.sum(wk * want, axis=(0, 1)) / wk.sum(),
                                   rtol=1e-10)
        for r_ in out:  # the class mean is the loss without per_class
            np.testing.assert_allclose(np.mean(out[r_], axis=-1), plain[r_], rtol=1e-12)
        want_pooled = getattr(ref, loss)(x[:1], y[:1], per_image=False, per_class=True, **kw)
        assert pooled.shape == (c,)
        np.testing.assert_allclose(pooled, want_pooled, rtol=1e-10)


def test_per_class_contract_and_errors():
    x = jnp.asarray(_rng(10).normal(size=(3, 2, 2, 3)))
    y = jnp.array([[[0, 1], [2, 1]], [[0, 5], [1, 1]], [[2, 2], [0, 1]]])  # 5: out of range
    got = lossjax.dice(x, y, mode="multiclass", per_class=True, reduction="none")
    assert np.all(np.isnan(got[1])) and np.all(np.isfinite(got[::2]))  # the bad image
    keep = jnp.array([True, False, True])
    g = jax.grad(lambda x: jnp.sum(lossjax.dice(x.at[1].set(jnp.nan), y, mode="multiclass",
                                                per_class=True, where=keep)))(x)
    assert np.all(np.isfinite(g)) and not np.any(np.asarray(g[1]))
    jitted = jax.jit(lambda x: lossjax.jaccard(x, y, mode="multiclass", per_class=True,
                                               where=keep, reduction="sum"))(x)
    assert jitted.shape == (3,)
    with pytest.raises(ValueError, match="per_class.*class_weighting"):
        lossjax.dice(x, y, mode="multiclass", per_class=True, class_weighting="generalized")
    with pytest.raises(ValueError, match="per_class"):
        lossjax.dice(x, y, mode="multiclass", per_class="yes")


# ------------------------------------------------------------------ focal on probabilities


def _keras_binary_focal(y, p, gamma, alpha=None):
    # Keras 3 keras/src/losses/losses.py binary_focal_crossentropy(from_logits=False), written
    # out: bce = binary_crossentropy(y, p) with p clipped to [1e-7, 1 - 1e-7]; p_t = y p +
    # (1 - y)(1 - p); loss = (1 - p_t)**gamma * bce, times alpha y + (1 - alpha)(1 - y) with
    # apply_class_balancing=True
    c = np.clip(p, 1e-7, 1 - 1e-7)
    bce = -(y * np.log(c) + (1 - y) * np.log(1 - c))
    p_t = y * p + (1 - y) * (1 - p)
    out = (1 - p_t) ** gamma * bce
    return out if alpha is None else (alpha * y + (1 - alpha) * (1 - y)) * out


@pytest.mark.parametrize("gamma,alpha", [(2.0, None), (0.5, 0.25), (0.0, None)])
def test_focal_on_probabilities_is_keras(gamma, alpha):
    r = _rng(8)
    p = r.uniform(0.001, 0.999, size=12)
    y = np.concatenate([r.integers(0, 2, size=9).astype(np.float64), [0.3, 0.7, 0.5]])
    with jax.enable_x64(True):
        got = lossjax.sigmoid_focal(jnp.asarray(p), jnp.asarray(y), gamma=gamma, alpha=alpha,
                                    from_logits=False, reduction="none")
    np.testing.assert_allclose(got, _keras_binary_focal(y, p, gamma, alpha), rtol=1e-10)


def test_focal_on_probabilities_edges():
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    p = np.array([0.0, 1.0, 0.0, 1.0, 1.5, -0.1])
    with jax.enable_x64(True):
        got = lossjax.sigmoid_focal(jnp.asarray(p), jnp.asarray(y), from_logits=False,
                                    reduction="none")
        g = jax.grad(lambda q: lossjax.sigmoid_focal(q, jnp.asarray(y[:4]), from_logits=False))(
            jnp.asarray(p[:4]))
    # Keras clips p in the cross-entropy only; lossjax's focal factor sees the clipped p too,
    # so (docstring) a right prediction at exactly 0 or 1 costs (1e-7)**2 * 1e-7 = 1e-21
    # instead of 0, and a wrong one (1 - 1e-7)**2 times Keras's value
    want = _keras_binary_focal(y[:4], p[:4], 2.0)
    np.testing.assert_allclose(got[:2], [1e-21, 1e-21], rtol=1e-6)
    np.testing.assert_allclose(got[2:4], want[2:] * (1 - 1e-7) ** 2, rtol=1e-10)
    assert np.isnan(got[4]) and np.isnan(got[5])  # outside [0, 1]: NaN, not Keras's clip
    np.testing.assert_array_equal(g, 0.0)  # clipped, as in Keras


# ------------------------------------------------------------ several class axes at once


@pytest.mark.parametrize("axis", [(1, 3), (3, 1), (-1,), (1, 2, 3)])
def test_softmax_cross_entropy_tuple_axis_is_optaxs(axis):
    # optax 0.2.8 softmax_cross_entropy(logits, labels, axis=tuple): the log-softmax over the
    # cells of those axes
    r = _rng(9)
    x = r.normal(size=(2, 3, 4, 5)) * 2
    t = r.uniform(0.1, 1.0, size=(2, 3, 4, 5))
    t = t / t.sum(axis=axis, keepdims=True)
    with jax.enable_x64(True):
        got = lossjax.softmax_cross_entropy(jnp.asarray(x), jnp.asarray(t), axis=axis,
                                            reduction="none")
        want = optax.losses.softmax_cross_entropy(jnp.asarray(x), jnp.asarray(t), axis=axis)
        g = jax.grad(lambda x: lossjax.softmax_cross_entropy(x, jnp.asarray(t), axis=axis,
                                                             reduction="sum"))(jnp.asarray(x))
        g_want = jax.grad(lambda x: optax.losses.softmax_cross_entropy(
            x, jnp.asarray(t), axis=axis).sum())(jnp.asarray(x))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(g, g_want, rtol=1e-10, atol=1e-14)


def test_tuple_axis_contract_and_errors():
    r = _rng(10)
    x = jnp.asarray(r.normal(size=(2, 3, 4)), jnp.float32)
    t = jax.nn.softmax(jnp.asarray(r.normal(size=(2, 3, 4)), jnp.float32), axis=(1, 2))
    per = lossjax.softmax_cross_entropy(x, t, axis=(1, 2), reduction="none")
    assert per.shape == (2,)
    keep = jnp.array([True, False])
    np.testing.assert_allclose(
        lossjax.softmax_cross_entropy(x, t, axis=(1, 2), where=keep), per[0], rtol=1e-6)
    with pytest.raises(ValueError, match="tuple `axis`"):
        lossjax.softmax_cross_entropy(x, jnp.array([0, 1]), axis=(1, 2))
    with pytest.raises(ValueError, match="class_weights"):
        lossjax.softmax_cross_entropy(x, t, axis=(1, 2), class_weights=jnp.ones(12))
    with pytest.raises(ValueError, match="`axis`"):
        lossjax.softmax_cross_entropy(x, t, axis=(1, 1))
    from jax.experimental import checkify
    ce = lossjax.checked("softmax_cross_entropy")
    assert np.isfinite(ce(x, t, axis=(1, 2)))
    with pytest.raises(checkify.JaxRuntimeError, match="sum to 1"):
        ce(x, 2 * t, axis=(1, 2))


@pytest.mark.parametrize("from_logits", [True, False])
def test_focal_label_smoothing_is_keras(from_logits):
    # Keras 3 binary_focal_crossentropy smooths y_true first (y (1 - eps) + eps / 2) and uses
    # the smoothed y in the cross-entropy, p_t and the class balancing alike
    r = _rng(11)
    p = r.uniform(0.01, 0.99, size=10)
    y = r.integers(0, 2, size=10).astype(np.float64)
    eps = 0.2
    want = _keras_binary_focal(y * (1 - eps) + 0.5 * eps, p, 2.0, 0.25)
    pred = p if not from_logits else np.log(p) - np.log1p(-p)
    with jax.enable_x64(True):
        got = lossjax.sigmoid_focal(jnp.asarray(pred), jnp.asarray(y), alpha=0.25,
                                    label_smoothing=eps, from_logits=from_logits,
                                    reduction="none")
    np.testing.assert_allclose(got, want, rtol=1e-10)


# ------------------------------------------------------------------- Fenchel-Young losses


def test_fenchel_young_is_optaxs():
    r = _rng(12)
    x = r.normal(size=(4, 6)) * 2
    y = r.dirichlet(np.ones(6), size=4)
    with jax.enable_x64(True):
        for max_fun in (jax.nn.logsumexp, lambda v: jnp.max(v), lambda v: 0.5 * jnp.sum(v * v)):
            ours = lossjax.make_fenchel_young_loss(max_fun)
            theirs = optax.losses.make_fenchel_young_loss(max_fun)
            np.testing.assert_allclose(ours(jnp.asarray(x), jnp.asarray(y), reduction="none"),
                                       theirs(jnp.asarray(x), jnp.asarray(y)), rtol=1e-12)
            g = jax.grad(lambda s, f=ours: f(s, jnp.asarray(y), reduction="sum"))(jnp.asarray(x))
            g_want = jax.grad(lambda s, f=theirs: f(s, jnp.asarray(y)).sum())(jnp.asarray(x))
            np.testing.assert_allclose(g, g_want, rtol=1e-12, atol=1e-15)
        # logsumexp is the softmax cross-entropy (the conjugate of the negative entropy)
        fy = lossjax.make_fenchel_young_loss(jax.nn.logsumexp)
        np.testing.assert_allclose(fy(jnp.asarray(x), jnp.asarray(y), reduction="none"),
                                   lossjax.softmax_cross_entropy(jnp.asarray(x), jnp.asarray(y),
                                                                 reduction="none"), rtol=1e-12)


def test_fenchel_young_contract():
    fy = lossjax.make_fenchel_young_loss(jax.nn.logsumexp)
    x = jnp.array([[2.0, 0.0, -jnp.inf], [0.0, 1.0, 0.0], [jnp.nan, 0.0, 0.0]])
    y = jnp.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    per = fy(x, y, reduction="none")
    # a -inf score with target 0 is fine; a NaN score at a kept example is NaN
    assert np.isfinite(per[:2]).all() and np.isnan(per[2])
    keep = jnp.array([True, True, False])
    np.testing.assert_allclose(fy(x, y, where=keep), per[:2].mean(), rtol=1e-6)
    np.testing.assert_allclose(fy(x, y, weights=jnp.array([1.0, 3.0, 0.0]), where=keep),
                               (per[0] + 3 * per[1]) / 4, rtol=1e-6)
    np.testing.assert_allclose(fy(x.T, y.T, axis=0, reduction="none")[:2], per[:2], rtol=1e-6)
    g = jax.grad(lambda s: fy(s, y, where=keep))(x)
    assert np.isfinite(g).all() and (g[2] == 0).all()
    with pytest.raises(TypeError, match="max_fun"):
        lossjax.make_fenchel_young_loss(3.0)
    with pytest.raises(ValueError, match="targets"):
        fy(x, y[:, :2])
