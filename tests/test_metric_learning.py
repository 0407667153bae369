"""Peer comparisons for lossjax.metric_learning (values and gradients).

PyTorch numbers are stored: PyTorch 2.13.0 (CPU, float64, run on 2026-11-23), by the calls
quoted in the comment of each test (``torch.nn.functional`` losses and autograd for their
gradients); optax is called directly.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.test_util import check_grads

import lossjax

F64 = jnp.float64
A = jnp.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75], [0.0, 0.0, 0.0]], F64)
P = jnp.array([[0.25, -0.5, 1.0], [1.0, 1.25, -0.5], [0.0, 0.0, 0.0]], F64)
N = jnp.array([[1.0, 0.5, 1.5], [1.25, 0.5, -1.0], [1.0, -1.0, 0.5]], F64)

# torch.nn.functional.triplet_margin_loss(A, P, N, reduction="none", **kw) and the gradient of
# its sum with respect to A (torch 2.13.0, float64)
TORCH_TRIPLET = [
    ({}, [0.487333087749, 1.712629989841, 0.0],
     [[0.519729544426, 0.468099265884, 0.571359822969],
      [-0.140914906049, -0.295523996867, -0.795568950844], [0.0, 0.0, 0.0]]),
    ({"p": 1.0}, [0.250002, 1.999998, 0.0],
     [[2.0, 0.0, 0.0], [0.0, 0.0, -2.0], [0.0, 0.0, 0.0]]),
    ({"p": 3.0, "margin": 0.5}, [0.008678083997, 1.184271181499, 0.0],
     [[0.163193265568, 0.724473902679, 0.810077562125],
      [-0.251746291007, -0.435274294087, -0.538003266177], [0.0, 0.0, 0.0]]),
    ({"swap": True, "margin": 2.0}, [1.799355047868, 2.712629989841, 0.500002065383],
     [[0.218218638411, -0.436434658209, 0.872871935031],
      [-0.140914906049, -0.295523996867, -0.795568950844],
      [0.910683343263, 0.244016528449, 0.74401663956]]),
]


@pytest.mark.parametrize("kw,value,grad", TORCH_TRIPLET)
def test_triplet_margin_matches_torch(kw, value, grad):
    got = lossjax.triplet_margin(A, P, N, reduction="none", **kw)
    np.testing.assert_allclose(got, value, rtol=1e-9, atol=1e-11)
    g = jax.grad(lambda a: lossjax.triplet_margin(a, P, N, reduction="sum", **kw))(A)
    np.testing.assert_allclose(g, grad, rtol=1e-9, atol=1e-11)


def _cosine_distance(x, y):
    return 1.0 - jnp.sum(x * y, -1) / jnp.sqrt(jnp.sum(x * x, -1) * jnp.sum(y * y, -1))


def test_triplet_with_distance_matches_torch():
    # torch.nn.functional.triplet_margin_with_distance_loss(A[:2], P[:2], N[:2],
    #     distance_function=lambda x, y: 1 - F.cosine_similarity(x, y), margin=0.5,
    #     reduction="none")  (cosine_similarity's eps=1e-8 does not bind for these rows)
    got = lossjax.triplet_margin(A[:2], P[:2], N[:2], distance=_cosine_distance, margin=0.5,
                                 reduction="none")
    np.testing.assert_allclose(got, [0.199854212224, 0.697814142019], rtol=1e-9)


def test_triplet_matches_optax_with_eps_zero():
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
    a, p, n = (jax.random.normal(k, (5, 4), F64) for k in (k1, k2, k3))
    # optax 0.2.8 raises the difference to the power without |.|, so only even degrees are
    # norms there (lossjax uses |x - y|**p); compare p = 2 and 4
    for deg in (2.0, 4.0):
        want = optax.losses.triplet_margin_loss(a, p, n, norm_degree=deg, margin=0.7, eps=0.0)
        got = lossjax.triplet_margin(a, p, n, p=deg, margin=0.7, eps=0.0, reduction="none")
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_triplet_identical_embeddings_have_finite_gradients():
    x = jnp.zeros((2, 3), jnp.float32)
    for kw in ({}, {"eps": 0.0}, {"eps": 0.0, "swap": True}):
        g = jax.grad(lambda a, kw=kw: lossjax.triplet_margin(a, a, a, **kw))(x)
        assert np.all(np.isfinite(g))


def test_margin_ranking_and_hinge_embedding_match_torch():
    x1 = jnp.array([0.5, -1.0, 2.0, 0.0, 3.0], F64)
    x2 = jnp.array([1.0, -2.0, 2.5, 0.0, -1.0], F64)
    y = jnp.array([1.0, -1.0, 1.0, -1.0, 1.0], F64)
    # F.margin_ranking_loss(x1, x2, y, margin=0.3, reduction="none")
    np.testing.assert_allclose(lossjax.margin_ranking(x1, x2, y, margin=0.3, reduction="none"),
                               [0.8, 1.3, 0.8, 0.3, 0.0], atol=1e-12)
    # F.hinge_embedding_loss(x1, y, margin=1.5, reduction="none")
    np.testing.assert_allclose(lossjax.hinge_embedding(x1, y, margin=1.5, reduction="none"),
                               [0.5, 2.5, 2.0, 1.5, 3.0], atol=1e-12)


def test_cosine_embedding_matches_torch():
    y = jnp.array([1.0, -1.0, -1.0], F64)
    # F.cosine_embedding_loss(A, N, y, margin=0.1, reduction="none"), gradient of the sum wrt A
    got = lossjax.cosine_embedding(A, N, y, margin=0.1, reduction="none")
    np.testing.assert_allclose(got, [0.300145787776, 0.86709136098, 0.0], rtol=1e-9, atol=1e-12)
    g = jax.grad(lambda a: lossjax.cosine_embedding(a, N, y, margin=0.1, reduction="sum"))(A)
    np.testing.assert_allclose(
        g, [[-0.166631955291, -0.249947932937, -0.083315977646],
            [-0.064982423465, 0.091739891951, -0.099384882947], [0.0, 0.0, 0.0]],
        rtol=1e-9, atol=1e-11)
    # a zero vector: F.cosine_embedding_loss(A, P, [1, 1, -1], reduction="none")
    got = lossjax.cosine_embedding(A, P, jnp.array([1.0, 1.0, -1.0], F64), reduction="none")
    np.testing.assert_allclose(got, [0.0, 0.230722781039, 0.0], atol=1e-11)


def test_ntxent_matches_optax_per_set():
    k1, k2 = jax.random.split(jax.random.PRNGKey(1))
    x = jax.random.normal(k1, (3, 8, 5), F64)
    labels = jnp.array([[0, 0, 1, 1, 2, 2, 3, 3], [0, 1, 0, 1, 0, 1, 0, 1],
                        [0, 0, 0, 1, 2, 3, 4, 5]])
    got = lossjax.ntxent(x, labels, temperature=0.2, reduction="none")

    @jax.jit  # optax is not jitted: op by op it compiles each primitive alone
    def theirs_and_gradients(x):
        want = jnp.stack([optax.ntxent(x[i], labels[i], temperature=0.2) for i in range(3)])
        g = jax.grad(lambda e: lossjax.ntxent(e, labels[0], temperature=0.2))(x[0])
        g_optax = jax.grad(lambda e: optax.ntxent(e, labels[0], temperature=0.2))(x[0])
        return want, g, g_optax

    want, g, g_optax = theirs_and_gradients(x)
    np.testing.assert_allclose(got, want, rtol=1e-10)
    # a single set [N, D] gives a scalar equal to optax's, gradients too
    np.testing.assert_allclose(g, g_optax, rtol=1e-8, atol=1e-12)
    del k2


def test_set_losses_on_a_set_without_positives_are_zero():
    x = jax.random.normal(jax.random.PRNGKey(2), (4, 3), F64)
    labels = jnp.arange(4)
    for fn in (lossjax.ntxent, lossjax.supervised_contrastive, lossjax.circle):
        assert float(fn(x, labels)) == 0.0
        g = jax.grad(lambda e, fn=fn: fn(e, labels))(x)
        assert not np.any(np.asarray(g))


def test_supervised_contrastive_equals_ntxent_for_pairs_of_two_when_alone():
    # with exactly one positive per anchor and no other positives in the denominator, SupCon's
    # denominator (all a != i) equals NT-Xent's (positive + negatives): the losses agree
    x = jax.random.normal(jax.random.PRNGKey(3), (6, 4), F64)
    labels = jnp.array([0, 0, 1, 1, 2, 2])
    np.testing.assert_allclose(lossjax.supervised_contrastive(x, labels, temperature=0.3),
                               lossjax.ntxent(x, labels, temperature=0.3), rtol=1e-12)


def _keras_circle(x, labels, gamma, margin, ref=None, ref_labels=None, remove_diagonal=True):
    """keras.losses.circle in NumPy float64, written from keras/src/losses/losses.py `circle`
    and keras/src/utils/numerical_utils.py `build_pos_neg_masks` (Keras master, snapshot of
    2026-08-21, https://github.com/keras-team/keras): cosine *distances* ``max(1 - x r^T, 0)``
    of L2-normalized embeddings to the references (``ref = x`` by default), positives of
    equal label minus ``eye(N, M)`` when ``remove_diagonal`` (also for a separate reference
    set), every other pair a negative."""
    x = np.asarray(x, np.float64)
    u = x / np.linalg.norm(x, axis=-1, keepdims=True)
    r = u if ref is None else np.asarray(ref, np.float64)
    r = r / np.linalg.norm(r, axis=-1, keepdims=True)
    d = np.maximum(1.0 - u @ r.T, 0.0)
    lab = np.asarray(labels)
    rlab = lab if ref_labels is None else np.asarray(ref_labels)
    pos = lab[:, None] == rlab[None, :]
    neg = ~pos
    if remove_diagonal:
        pos = pos & ~np.eye(len(lab), len(rlab), dtype=bool)
    pos_w = np.maximum((margin + d) * pos, 0.0)
    neg_w = np.maximum((1 + margin - d) * neg, 0.0)
    p_logits = np.where(pos, -gamma * pos_w * (margin - d), -np.inf)
    n_logits = np.where(neg, gamma * neg_w * ((1 - margin) - d), -np.inf)
    from scipy import special

    with np.errstate(divide="ignore"):
        total = special.logsumexp(p_logits, axis=1) + special.logsumexp(n_logits, axis=1)
    per_anchor = np.logaddexp(0.0, total)
    # keras.losses.circle marks the anchors with a positive loss (set_keras_mask(circle_loss,
    # circle_loss > 0), Keras 3.15.1), and the Circle class's default "sum_over_batch_size"
    # reduction divides by the number of marked anchors (keras/src/losses/loss.py apply_mask)
    return per_anchor, per_anchor.sum() / np.count_nonzero(per_anchor > 0)


def test_circle_matches_the_keras_distance_formulation():
    x = jax.random.normal(jax.random.PRNGKey(4), (8, 5), F64)
    labels = jnp.array([0, 0, 1, 1, 1, 2, 2, 3])  # the anchor of label 3 has no positive
    for gamma, margin in ((80.0, 0.4), (16.0, 0.25)):
        per_anchor, keras_mean = _keras_circle(x, labels, gamma, margin)
        assert per_anchor[7] == 0.0 and (per_anchor[:7] > 0).all()
        got = lossjax.circle(x, labels, gamma=gamma, margin=margin)
        # lossjax: the mean over all 8 anchors (the peer entry states the difference)
        np.testing.assert_allclose(got, per_anchor.mean(), rtol=1e-10)
        np.testing.assert_allclose(got * 8 / 7, keras_mean, rtol=1e-10)


def _circle_ref_sample():
    k1, k2, k3, k4 = jax.random.split(jax.random.PRNGKey(12), 4)
    x = jax.random.normal(k1, (3, 6, 4), F64)
    y = jax.random.randint(k2, (3, 6), 0, 3).at[:, 0].set(3).at[:, 1].set(1)  # 3: no positive
    ref = jax.random.normal(k3, (3, 5, 4), F64)
    ry = jax.random.randint(k4, (3, 5), 0, 3).at[:, :3].set(jnp.array([0, 1, 2]))
    return x, y, ref, ry


def test_circle_against_reference_embeddings_matches_keras():
    x, y, ref, ry = _circle_ref_sample()
    for gamma, margin in ((80.0, 0.4), (8.0, 0.25)):
        got = lossjax.circle(x, y, ref, ry, gamma=gamma, margin=margin, reduction="none")
        assert got.shape == (3,)
        for i in range(3):
            per_anchor, keras_mean = _keras_circle(x[i], y[i], gamma, margin, ref[i], ry[i],
                                                   remove_diagonal=False)
            assert per_anchor[0] == 0.0 and (per_anchor[1:] > 0).all()
            # lossjax: the mean over all 6 anchors; Keras: over the 5 with a non-zero loss
            np.testing.assert_allclose(got[i], per_anchor.mean(), rtol=1e-10)
            np.testing.assert_allclose(got[i] * 6 / 5, keras_mean, rtol=1e-10)
            # Keras's default remove_diagonal=True drops the pairs (j, j) of the 6 x 5 matrix
            # even for a separate reference set: another number, which lossjax does not give
            dropped, _ = _keras_circle(x[i], y[i], gamma, margin, ref[i], ry[i])
            assert not np.allclose(dropped.mean(), per_anchor.mean(), rtol=1e-6)
    # the set itself as its own reference set: Keras with remove_diagonal=False (self pairs
    # are positives), and without references: Keras's default (self pairs dropped)
    got = lossjax.circle(x, y, x, y, gamma=8.0, reduction="none")
    plain = lossjax.circle(x, y, gamma=8.0, reduction="none")
    for i in range(3):
        keep_diag, _ = _keras_circle(x[i], y[i], 8.0, 0.4, x[i], y[i], remove_diagonal=False)
        np.testing.assert_allclose(got[i], keep_diag.mean(), rtol=1e-10)
        np.testing.assert_allclose(plain[i], _keras_circle(x[i], y[i], 8.0, 0.4)[0].mean(),
                                   rtol=1e-10)


def test_circle_reference_set_contract():
    x, y, ref, ry = _circle_ref_sample()
    keep = jnp.array([True, False, True])
    clean = lossjax.circle(x, y, ref, ry, gamma=8.0, where=keep, reduction="none")
    # a NaN in a kept set's reference is NaN; in a dropped set's, nothing changes
    for j in range(5):
        got = lossjax.circle(x, y, ref.at[0, j, 1].set(jnp.nan), ry, gamma=8.0, where=keep,
                             reduction="none")
        assert np.isnan(got[0]) and np.array_equal(got[1:], clean[1:]), j
    dirty = ref.at[1].set(jnp.nan)
    np.testing.assert_array_equal(
        lossjax.circle(x, y, dirty, ry, gamma=8.0, where=keep, reduction="none"), clean)
    assert clean[1] == 0.0

    def mean(x, ref):
        return lossjax.circle(x, y, ref, ry, gamma=8.0, where=keep)

    gx, gr = jax.grad(mean, argnums=(0, 1))(x, dirty)
    assert np.all(np.isfinite(gx)) and np.all(np.isfinite(gr))
    assert not np.any(np.asarray(gr[1])) and np.any(np.asarray(gr[0]))
    # the gradients with respect to both sets of embeddings, against central differences
    check_grads(lambda a, b: lossjax.circle(a, y, b, ry, gamma=8.0), (x, ref), order=1,
                modes=("rev",), eps=1e-6, atol=1e-6, rtol=1e-6)
    # each set alone, under vmap and jit
    one = jax.jit(jax.vmap(lambda a, b, c, d: lossjax.circle(a, b, c, d, gamma=8.0)))(
        x, y, ref, ry)
    np.testing.assert_allclose(one, lossjax.circle(x, y, ref, ry, gamma=8.0, reduction="none"),
                               rtol=1e-12)
    # float32 embeddings with float64 references compute in float64
    assert lossjax.circle(x.astype(jnp.float32), y, ref, ry).dtype == F64


@pytest.mark.parametrize("args, match", [
    ((jnp.ones((3, 5, 4)),), "`ref_labels`"),
    ((None, jnp.zeros((3, 5), int)), "`ref_embeddings`"),
    ((jnp.ones((3, 5, 2)), jnp.zeros((3, 5), int)), "`ref_embeddings`"),
    ((jnp.ones((2, 5, 4)), jnp.zeros((2, 5), int)), "`ref_embeddings`"),
    ((jnp.ones((3, 5, 4)), jnp.zeros((3, 4), int)), "`ref_labels`"),
])
def test_circle_reference_set_errors_name_the_argument(args, match):
    x, y, _, _ = _circle_ref_sample()
    with pytest.raises(ValueError, match=match):
        lossjax.circle(x, y, *args)
    with pytest.raises(ValueError, match=match):
        jax.jit(lambda x: lossjax.circle(x, y, *args))(x)
    with pytest.raises(TypeError, match="`ref_labels`"):
        lossjax.circle(x, y, jnp.ones((3, 5, 4)), jnp.zeros((3, 5)))


def test_contrastive_on_hand_computed_pairs():
    # d = 5 and d = 0.5 with margin 1: similar 0.5 * 25; dissimilar 0.5 * 0.5**2
    a = jnp.zeros((2, 2), F64)
    b = jnp.array([[3.0, 4.0], [0.3, 0.4]], F64)
    got = lossjax.contrastive(a, b, jnp.array([1.0, 0.0], F64), reduction="none")
    np.testing.assert_allclose(got, [12.5, 0.125], rtol=1e-12)
