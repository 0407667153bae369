"""Family-specific behaviour of the founding losses, beyond the registry-driven contract.

Reference numbers marked "PyTorch 2.13.0" were produced on 2026-11-23 with torch 2.13.0+cpu in
float64 by the calls quoted beside them (torch is not a dependency; the numbers are stored
here). optax numbers are computed by calling optax (a run-time dependency) in the test.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.experimental import checkify
from jax.test_util import check_grads

import lossjax

LOGITS = jnp.array(
    [
        [2.0, 0.5, -1.0, 0.0],
        [0.1, 0.2, 3.0, -2.0],
        [-1.0, 4.0, 0.5, 1.5],
        [0.3, -0.7, 0.0, 2.2],
        [1.0, 1.0, 1.0, 1.0],
    ],
    jnp.float64,
)
LABELS = jnp.array([0, 2, 1, -100, 3])
CLASS_WEIGHTS = jnp.array([1.0, 2.0, 0.5, 3.0], jnp.float64)


def close(a, b, rtol=1e-12, atol=1e-12):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                               rtol=rtol, atol=atol)


# ----------------------------------------------------------------------- softmax family


def test_cross_entropy_class_weights_and_ignore_index_match_pytorch():
    # PyTorch 2.13.0: F.cross_entropy(logits, labels, weight=cw, ignore_index=-100,
    # reduction=...) on the float64 LOGITS/LABELS/CLASS_WEIGHTS above
    ce = lossjax.softmax_cross_entropy
    close(ce(LOGITS, LABELS, class_weights=CLASS_WEIGHTS), 0.7359924239754378)
    close(ce(LOGITS, LABELS, class_weights=CLASS_WEIGHTS, reduction="sum"), 4.783950755840346)
    close(ce(LOGITS, LABELS, class_weights=CLASS_WEIGHTS, reduction="none"),
          [0.342349582389822, 0.05781089745335922, 0.2249071926374932, 0.0,
           4.1588830833596715])
    # F.nll_loss(F.log_softmax(logits, -1), labels, weight=cw): the same number
    close(lossjax.nll(jax.nn.log_softmax(LOGITS), LABELS, class_weights=CLASS_WEIGHTS),
          0.7359924239754378)


def test_cross_entropy_label_smoothing_matches_pytorch_and_optax():
    # PyTorch 2.13.0: F.cross_entropy(logits, labels, ignore_index=-100, label_smoothing=0.2)
    ce = lossjax.softmax_cross_entropy
    close(ce(LOGITS, LABELS, label_smoothing=0.2), 0.8416798336837944)
    close(ce(LOGITS, LABELS, label_smoothing=0.2, reduction="none"),
          [0.6673495823898221, 0.6506217949067185, 0.6624535963187467, 0.0,
           1.3862943611198906])
    # optax: smooth_labels + softmax_cross_entropy on the kept rows
    kept = np.asarray(LABELS) >= 0
    onehot = jax.nn.one_hot(LABELS[kept], 4, dtype=jnp.float64)
    want = optax.softmax_cross_entropy(LOGITS[kept], optax.smooth_labels(onehot, 0.2))
    close(ce(LOGITS[kept], LABELS[kept], label_smoothing=0.2, reduction="none"), want)


def test_cross_entropy_smoothing_with_class_weights_matches_pytorch():
    # PyTorch 2.13.0: F.cross_entropy(logits, labels, weight=cw, label_smoothing=0.2) on the
    # float64 LOGITS/LABELS/CLASS_WEIGHTS above gives 1.0577837520709554: each class's
    # smoothing term is weighted by its own class weight, the mean divides by sum(w_y).
    # (lossjax gave 0.99 before issue 11, weighting the whole smoothed loss by w_y.)
    ce = lossjax.softmax_cross_entropy
    got = ce(LOGITS, LABELS, label_smoothing=0.2, class_weights=CLASS_WEIGHTS)
    close(got, 1.0577837520709554, rtol=1e-14)
    # the fused linear cross-entropy (identity weight: its logits are LOGITS), mean and sum
    lce = functools.partial(lossjax.linear_cross_entropy, label_smoothing=0.2,
                            class_weights=CLASS_WEIGHTS)
    close(lce(LOGITS, jnp.eye(4, dtype=jnp.float64), LABELS), 1.0577837520709554, rtol=1e-14)
    close(lce(LOGITS, jnp.eye(4, dtype=jnp.float64), LABELS, reduction="none"),
          ce(LOGITS, LABELS, label_smoothing=0.2, class_weights=CLASS_WEIGHTS, reduction="none"))
    # The README's example (issue 11): torch.nn.functional.cross_entropy gives 0.4230 (4
    # digits, quoted in the issue); the formula in float64 NumPy gives 0.42297159327562.
    x = jnp.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]], jnp.float64)
    y, cw = jnp.array([0, 2]), jnp.array([1.0, 2.0, 1.0], jnp.float64)
    lp = np.asarray(jax.nn.log_softmax(x))
    per = [0.9 * cw[t] * -lp[i, t] + 0.1 / 3 * -(np.asarray(cw) * lp[i]).sum()
           for i, t in enumerate([0, 2])]
    close(ce(x, y, label_smoothing=0.1, class_weights=cw, reduction="none"), per)
    close(ce(x, y, label_smoothing=0.1, class_weights=cw), sum(per) / 2.0)
    assert round(float(ce(x, y, label_smoothing=0.1, class_weights=cw)), 4) == 0.4230
    # Every cross-entropy with label_smoothing and class_weights has the same definition, for
    # labels and for one-hot targets.
    kept = np.asarray(LABELS) >= 0
    onehot = jax.nn.one_hot(LABELS[kept], 4, dtype=jnp.float64)
    kw = dict(label_smoothing=0.2, class_weights=CLASS_WEIGHTS)
    want = ce(LOGITS[kept], LABELS[kept], **kw)
    for fn, pred in [
        (ce, LOGITS[kept]),
        (lossjax.nll, jax.nn.log_softmax(LOGITS[kept])),
        (lossjax.categorical_cross_entropy, jax.nn.softmax(LOGITS[kept])),
        (functools.partial(lossjax.poly1_cross_entropy, epsilon=0.0), LOGITS[kept]),
    ]:
        close(fn(pred, LABELS[kept], **kw), want)
        close(fn(pred, onehot, **kw), want)
        close(fn(pred, onehot, **kw, reduction="sum"), fn(pred, LABELS[kept], **kw,
                                                              reduction="sum"))


def test_smoothing_with_a_zero_class_weight_counts_like_pytorch():
    # A label of weight 0 adds its smoothing terms to the sum but nothing to the denominator,
    # as PyTorch's formula does; a class of weight 0 with a -inf logit is left out (finite).
    x = jnp.array([[1.0, 0.0, -jnp.inf], [0.5, 2.0, 0.0]], jnp.float64)
    y, cw = jnp.array([0, 2]), jnp.array([1.0, 2.0, 0.0], jnp.float64)
    lp = np.asarray(jax.nn.log_softmax(x))
    per = np.array([0.9 * 1.0 * -lp[0, 0] + 0.1 / 3 * -(1.0 * lp[0, 0] + 2.0 * lp[0, 1]),
                    0.0 + 0.1 / 3 * -(1.0 * lp[1, 0] + 2.0 * lp[1, 1])])
    got = lossjax.softmax_cross_entropy(x, y, label_smoothing=0.1, class_weights=cw,
                                        reduction="none")
    close(got, per)
    close(lossjax.softmax_cross_entropy(x, y, label_smoothing=0.1, class_weights=cw),
          per.sum() / 1.0)
    g = jax.grad(lambda v: lossjax.softmax_cross_entropy(v, y, label_smoothing=0.1,
                                                         class_weights=cw))(x)
    assert np.isfinite(np.asarray(g)).all()


def test_integer_labels_equal_one_hot_targets():
    kept = np.asarray(LABELS) >= 0
    x, y = LOGITS[kept], LABELS[kept]
    onehot = jax.nn.one_hot(y, 4, dtype=jnp.float64)
    for fn, pred in [
        (lossjax.softmax_cross_entropy, x),
        (lossjax.nll, jax.nn.log_softmax(x)),
        (lossjax.categorical_cross_entropy, jax.nn.softmax(x)),
        (lossjax.multiclass_hinge, x),
    ]:
        for kw in ({}, {"class_weights": CLASS_WEIGHTS}):
            close(fn(pred, y, reduction="none", **kw), fn(pred, onehot, reduction="none", **kw))
        g_int = jax.grad(lambda p, fn=fn: fn(p, y))(pred)
        g_hot = jax.grad(lambda p, fn=fn: fn(p, onehot))(pred)
        close(g_int, g_hot)


def test_all_ignored_mean_is_zero_where_pytorch_gives_nan():
    # PyTorch 2.13.0: F.cross_entropy(logits, torch.full((5,), -100)) is nan; lossjax gives 0
    # (documented: the contract's mean over nothing kept) with a zero gradient.
    labels = jnp.full((5,), -100)
    assert float(lossjax.softmax_cross_entropy(LOGITS, labels)) == 0.0
    g = jax.grad(lambda x: lossjax.softmax_cross_entropy(x, labels))(LOGITS)
    assert not np.any(np.asarray(g))


def test_minus_inf_logits_in_ignored_rows_and_off_label():
    x = LOGITS.at[3].set(-jnp.inf).at[0, 3].set(-jnp.inf)
    v, g = jax.value_and_grad(lambda x: lossjax.softmax_cross_entropy(x, LABELS))(x)
    assert np.isfinite(float(v)) and np.all(np.isfinite(np.asarray(g)))
    close(v, lossjax.softmax_cross_entropy(LOGITS.at[0, 3].set(-jnp.inf), LABELS))


def test_out_of_range_label_gives_nan_unchecked_and_raises_checked():
    bad = jnp.array([0, 7])
    assert np.isnan(float(lossjax.softmax_cross_entropy(LOGITS[:2], bad)))
    with pytest.raises(checkify.JaxRuntimeError, match="labels"):
        lossjax.checked("softmax_cross_entropy")(LOGITS[:2], bad)
    err, value = jax.jit(lossjax.checked("softmax_cross_entropy", throw=False))(LOGITS[:2], bad)
    with pytest.raises(checkify.JaxRuntimeError, match="labels"):
        err.throw()
    # good values pass the checks and give the plain value
    close(lossjax.checked("cross_entropy")(LOGITS[:2], LABELS[:2]),
          lossjax.softmax_cross_entropy(LOGITS[:2], LABELS[:2]))


def test_checked_mode_catches_probabilities_outside_the_unit_interval():
    with pytest.raises(checkify.JaxRuntimeError, match="predictions"):
        lossjax.checked("bce")(jnp.array([0.5, 1.5]), jnp.array([0.0, 1.0]))
    with pytest.raises(checkify.JaxRuntimeError, match="targets"):
        lossjax.checked("hinge")(jnp.array([0.5, 1.5]), jnp.array([0.0, 1.0]))


def test_multiclass_hinge_matches_optax():
    kept = np.asarray(LABELS) >= 0
    x, y = LOGITS[kept], LABELS[kept]
    close(lossjax.multiclass_hinge(x, y, reduction="none"),
          optax.losses.multiclass_hinge_loss(x, y))


def test_kl_divergence_matches_pytorch_kl_div():
    # PyTorch 2.13.0: F.kl_div(F.log_softmax(logits, -1), tp, reduction="sum") with
    # tp = F.softmax(2 * logits.flip(0), -1) and tp[0] = (0, .5, .5, 0): 10.327517922899805
    lq = jax.nn.log_softmax(LOGITS)
    tp = jax.nn.softmax(2 * LOGITS[::-1], -1).at[0].set(jnp.array([0.0, 0.5, 0.5, 0.0]))
    close(lossjax.kl_divergence(lq, tp, reduction="sum"), 10.327517922899805)
    close(lossjax.kl_divergence(lq, tp), 2.065503584579961)  # = torch's "batchmean"
    close(lossjax.kl_divergence(lq, jnp.log(tp), log_targets=True, reduction="sum"),
          10.327517922899805)
    g = jax.grad(lambda t: lossjax.kl_divergence(lq, t))(tp)
    assert np.all(np.isfinite(np.asarray(g)))  # finite where a target is exactly 0


# ------------------------------------------------------------------------------- binary


def test_bce_with_logits_pos_weight_matches_pytorch():
    # PyTorch 2.13.0: F.binary_cross_entropy_with_logits(x, y, pos_weight=3.0, reduction="none")
    x = jnp.array([3.0, -2.0, 0.5, 0.0, -40.0, 40.0], jnp.float64)
    y = jnp.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0], jnp.float64)
    close(lossjax.binary_cross_entropy_with_logits(x, y, pos_weight=3.0, reduction="none"),
          [0.1457620547212262, 0.1269280110429727, 1.42223095254032, 0.6931471805599453,
           120.0, 40.0])


def test_bce_with_logits_matches_optax_far_out():
    x = jnp.array([-1e4, -50.0, -3.0, 0.0, 3.0, 50.0, 1e4], jnp.float64)
    for y in (jnp.zeros_like(x), jnp.ones_like(x), jnp.full_like(x, 0.3)):
        close(lossjax.get("sigmoid_cross_entropy")(x, y, reduction="none"),
              optax.sigmoid_binary_cross_entropy(x, y))


def test_bce_on_exact_zero_and_one_matches_pytorch_clamp():
    # PyTorch 2.13.0: F.binary_cross_entropy(p, t, reduction="none"): logs clamped at -100
    p = jnp.array([0.0, 1.0, 0.0, 1.0, 0.3], jnp.float64)
    t = jnp.array([0.0, 0.0, 1.0, 1.0, 1.0], jnp.float64)
    close(lossjax.get("bce")(p, t, reduction="none"), [0.0, 100.0, 100.0, 0.0, 1.2039728043259361])
    g = jax.grad(lambda p: lossjax.get("bce")(p, t, reduction="sum"))(p)
    assert np.all(np.isfinite(np.asarray(g)))


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
@pytest.mark.parametrize("alpha", [None, 0.25])
def test_sigmoid_focal_matches_optax(gamma, alpha):
    x = jnp.linspace(-8.0, 8.0, 33, dtype=jnp.float64)
    y = (jnp.arange(33) % 2).astype(jnp.float64)
    close(lossjax.sigmoid_focal(x, y, alpha=alpha, gamma=gamma, reduction="none"),
          optax.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma), rtol=1e-10)


def test_sigmoid_focal_with_gamma_zero_is_cross_entropy_and_gradients_are_finite():
    x = jnp.array([-1e4, -20.0, 0.0, 20.0, 1e4], jnp.float32)
    y = jnp.array([1.0, 0.0, 1.0, 1.0, 0.0], jnp.float32)
    close(lossjax.get("focal")(x, y, gamma=0.0, reduction="none"),
          lossjax.get("sigmoid_cross_entropy")(x, y, reduction="none"), rtol=1e-6)
    for gamma in (0.0, 0.5, 2.0):
        g = jax.grad(lambda x, gamma=gamma: lossjax.get("focal")(x, y, gamma=gamma))(x)
        assert np.all(np.isfinite(np.asarray(g))), gamma


def test_hinge_matches_optax():
    s = jnp.array([-2.0, -0.5, 0.5, 2.0, 1.0], jnp.float64)
    y = jnp.array([1.0, -1.0, 1.0, -1.0, 1.0], jnp.float64)
    close(lossjax.hinge(s, y, reduction="none"), optax.hinge_loss(s, y))
    close(lossjax.squared_hinge(s, y, reduction="none"), optax.hinge_loss(s, y) ** 2)


# --------------------------------------------------------------------------- regression


def test_huber_matches_pytorch_and_optax():
    # PyTorch 2.13.0: F.huber_loss(p, t, delta=1.5, reduction="none")
    p = jnp.array([0.0, 0.5, 3.0, -2.0, 10.0], jnp.float64)
    t = jnp.array([0.2, 0.5, 0.0, 0.0, 0.0], jnp.float64)
    close(lossjax.huber(p, t, delta=1.5, reduction="none"),
          [0.020000000000000004, 0.0, 3.375, 1.875, 13.875])
    close(lossjax.huber(p, t, delta=1.5, reduction="none"), optax.huber_loss(p, t, delta=1.5))


def test_regression_losses_match_optax():
    p = jnp.linspace(-30.0, 30.0, 41, dtype=jnp.float64)
    t = jnp.cos(p)
    close(lossjax.squared_error(p, t, reduction="none"), optax.squared_error(p, t))
    close(lossjax.l2(p, t, reduction="none"), optax.l2_loss(p, t))
    close(lossjax.log_cosh(p, t, reduction="none"), optax.log_cosh(p, t), rtol=1e-10)


def test_log_cosh_far_out_is_finite_in_float32():
    e = jnp.array([-1e4, -100.0, 0.0, 100.0, 1e4, 3e38], jnp.float32)
    v, g = jax.value_and_grad(lambda e: lossjax.log_cosh(e, jnp.zeros_like(e), reduction="sum"))(e)
    assert np.isfinite(float(v)) and np.all(np.isfinite(np.asarray(g)))
    close(g[:5], np.tanh(np.asarray(e[:5], np.float64)), rtol=1e-6)


def test_pseudo_huber_limits():
    # small residuals: e^2 / 2; large: delta * |e| - delta^2 (Charbonnier 1994; Hartley and
    # Zisserman, Multiple View Geometry, 2nd ed., A6.8)
    d = 2.0
    small = jnp.array([1e-4], jnp.float64)
    close(lossjax.pseudo_huber(small, 0 * small, delta=d, reduction="none"), small**2 / 2,
          rtol=1e-7)
    big = jnp.array([1e6], jnp.float64)
    close(lossjax.pseudo_huber(big, 0 * big, delta=d, reduction="none"), d * big - d**2,
          rtol=1e-9)


def test_root_mean_squared_error_reductions():
    p = jnp.array([1.0, -2.0, 3.0, 0.5], jnp.float64)
    t = jnp.zeros(4, jnp.float64)
    w = jnp.array([1.0, 2.0, 0.5, 1.0], jnp.float64)
    e2 = np.asarray(p) ** 2
    close(lossjax.get("rmse")(p, t), np.sqrt(e2.mean()))
    close(lossjax.get("rmse")(p, t, weights=w), np.sqrt((np.asarray(w) * e2).sum() / np.sum(w)))
    close(lossjax.get("rmse")(p, t, weights=w, reduction="sum"),
          np.sqrt((np.asarray(w) * e2).sum()))
    close(lossjax.get("rmse")(p, t, weights=w, reduction="none"), np.asarray(w) * np.abs(p))
    # a zero residual everywhere: the root's gradient is finite (0), not NaN
    g = jax.grad(lambda p: lossjax.get("rmse")(p, p * 0))(jnp.zeros(3))
    assert np.all(np.asarray(g) == 0)


# -------------------------------------------------------------------------------- boxes


def test_ciou_gradient_holds_alpha_constant():
    """CIoU's gradient treats alpha = v / (1 - IoU + v) as a constant (Zheng et al. 2020)."""
    p = jnp.array([[0.1, 0.2, 2.3, 1.4], [1.0, 1.0, 2.0, 4.0]], jnp.float64)
    t = jnp.array([[0.0, 0.0, 2.0, 1.0], [0.0, 0.5, 3.0, 3.0]], jnp.float64)
    alpha = jax.lax.stop_gradient(_alpha(p, t))

    def frozen(p):
        return (lossjax.diou(p, t, reduction="none") + alpha * _v(p, t)).mean()

    close(lossjax.ciou(p, t), frozen(p))
    close(jax.grad(lossjax.ciou)(p, t), jax.grad(frozen)(p), rtol=1e-9)
    check_grads(frozen, (p,), order=1, modes=("rev",), eps=1e-6)


def _v(p, t):
    wp, hp = p[:, 2] - p[:, 0], p[:, 3] - p[:, 1]
    wt, ht = t[:, 2] - t[:, 0], t[:, 3] - t[:, 1]
    return 4 / jnp.pi**2 * (jnp.arctan(wt / (ht + 1e-7)) - jnp.arctan(wp / (hp + 1e-7))) ** 2


def _alpha(p, t):
    iou = 1.0 - lossjax.iou(p, t, reduction="none")
    v = _v(p, t)
    return v / (1.0 - iou + v + 1e-7)  # lossjax's eps of 1e-7 in the denominator


def test_giou_of_disjoint_boxes_exceeds_one_and_has_a_gradient():
    p = jnp.array([[0.0, 0.0, 1.0, 1.0]], jnp.float64)
    t = jnp.array([[3.0, 3.0, 4.0, 4.0]], jnp.float64)
    assert float(lossjax.iou(p, t)) == pytest.approx(1.0)
    assert not np.any(np.asarray(jax.grad(lossjax.iou)(p, t)))  # IoU: no signal when disjoint
    assert float(lossjax.giou(p, t)) > 1.0
    assert np.any(np.asarray(jax.grad(lossjax.giou)(p, t)))


# ------------------------------------------------------------------------------ metrics


def test_chance_cross_entropy_is_log_k_for_balanced_classes():
    y = jnp.arange(12) % 4
    scores = jnp.zeros((12, 4), jnp.float32)
    close(lossjax.chance_cross_entropy(scores, y), np.log(4.0), rtol=1e-6)
    yb = jnp.array([0.0, 1.0] * 5, jnp.float32)
    close(lossjax.chance_cross_entropy(jnp.zeros(10), yb), np.log(2.0), rtol=1e-6)


def test_accuracy_and_zero_one():
    close(lossjax.accuracy(LOGITS[:3], jnp.array([0, 2, 0])), 2 / 3)
    close(lossjax.zero_one(LOGITS[:3], jnp.array([0, 2, 0])), 1 / 3)
    p = jnp.array([0.2, 0.7, 0.5, 0.9])
    close(lossjax.accuracy(p, jnp.array([0.0, 1.0, 1.0, 0.0])), 0.5)
    assert not lossjax.spec("accuracy").differentiable
