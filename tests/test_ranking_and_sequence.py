"""Peer comparisons for lossjax.ranking and lossjax.sequence.

optax is called directly. PyTorch CTC numbers come from ``/tmp/zoob/torch_refs.py`` (PyTorch
2.13.0 CPU, float64, 2026-11-23): ``F.ctc_loss(F.log_softmax(logits, -1).transpose(0, 1),
labels, in_len, tgt_len, blank=0, reduction=..., zero_infinity=...)``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

import lossjax

F64 = jnp.float64


def test_ranking_softmax_matches_optax_with_item_mask():
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
    s = jax.random.normal(k1, (4, 6), F64)
    y = jax.random.randint(k2, (4, 6), 0, 3).astype(F64)
    m = jax.random.bernoulli(k3, 0.7, (4, 6)).at[:, 0].set(True)
    want = optax.losses.ranking_softmax_loss(s, y, where=m, reduce_fn=None)
    np.testing.assert_allclose(lossjax.ranking_softmax(s, y, m, reduction="none"), want,
                               rtol=1e-12)


def test_padded_items_get_no_gradient_and_lists_without_pairs_cost_zero():
    s = jnp.array([[1.0, jnp.nan, 0.5, -jnp.inf], [1.0, 2.0, 3.0, 4.0]], F64)
    y = jnp.array([[2.0, 9.0, 1.0, 9.0], [1.0, 1.0, 1.0, 1.0]], F64)
    m = jnp.array([[True, False, True, False], [True, True, True, True]])
    for fn in (lossjax.ranking_softmax, lossjax.pairwise_hinge, lossjax.pairwise_logistic):
        g = jax.grad(lambda s, fn=fn: fn(s, y, m))(s)
        assert np.all(np.isfinite(g))
        assert not np.any(np.asarray(g)[~np.asarray(m)])
    for fn in (lossjax.pairwise_hinge, lossjax.pairwise_logistic):
        assert float(fn(s, y, m, reduction="none")[1]) == 0.0
    # the first list has one pair (item 0 over item 2): hinge 1 - 0.5, logistic softplus(-0.5)
    np.testing.assert_allclose(lossjax.pairwise_hinge(s, y, m, reduction="none")[0], 0.5)
    np.testing.assert_allclose(lossjax.pairwise_logistic(s, y, m, reduction="none")[0],
                               np.logaddexp(0.0, -0.5), rtol=1e-12)


CTC_LOGITS = jnp.array(
    [[[-2.25, -0.25, -1.0, 1.0], [-1.0, -1.25, -0.5, -0.75], [-1.25, 1.5, 0.25, 2.0],
      [1.25, -1.25, 0.0, 0.25], [0.25, -0.75, -1.25, -0.75]],
     [[-0.0, 0.25, 0.25, -0.75], [1.0, -0.25, -0.75, -1.5], [-0.75, 1.5, -0.5, -1.0],
      [-0.0, 0.5, -0.0, -1.25], [-1.25, -1.0, 1.25, 1.0]],
     [[0.75, 0.25, -1.25, 1.75], [1.0, 0.0, 0.25, 1.0], [-1.25, -0.0, 1.0, -0.0],
      [0.75, -0.25, -0.5, -3.5], [0.75, -0.5, 0.0, 2.0]]], F64)
CTC_LABELS = jnp.array([[1, 2, 2], [3, 1, 0], [2, 2, 0]])
IN_LEN = jnp.array([5, 4, 2])
TGT_LEN = jnp.array([3, 2, 2])


def test_ctc_matches_torch_values_gradients_and_infinity():
    # torch reduction="none": [6.752132079577, 2.691486911305, inf]; zero_infinity: [..., 0.0]
    got = lossjax.ctc(CTC_LOGITS, CTC_LABELS, IN_LEN, TGT_LEN, reduction="none")
    np.testing.assert_allclose(got, [6.752132079577, 2.691486911305, np.inf], rtol=1e-11)
    got = lossjax.ctc(CTC_LOGITS, CTC_LABELS, IN_LEN, TGT_LEN, zero_infinity=True,
                      reduction="none")
    np.testing.assert_allclose(got, [6.752132079577, 2.691486911305, 0.0], rtol=1e-11)
    # gradient of the summed first two losses with respect to the logits (torch autograd)
    g = jax.grad(lambda x: lossjax.ctc(x, CTC_LABELS[:2], IN_LEN[:2], TGT_LEN[:2],
                                       reduction="sum"))(CTC_LOGITS[:2])
    want = np.array(
        [[0.00301236424, -0.780312225415, 0.092656414739, 0.684643446435, -0.011041240197,
          -0.032133069554, -0.229353012693, 0.272527322443, -0.189833786636, 0.333427367768,
          -0.693322374605, 0.549728793473, -0.295111938259, 0.047271208088, 0.035985873543,
          0.211854856628, 0.405020725344, 0.187800040325, -0.780620805994, 0.187800040325],
         [0.075528525444, 0.317795240932, 0.317795240932, -0.711119007309, -0.019549149801,
          0.016241787196, 0.112667290512, -0.109359927908, 0.026307003548, -0.121679764884,
          0.102308200461, -0.006935439124, -0.083717372662, -0.243202802894, 0.254115007075,
          0.072805168481, 0.0, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(np.asarray(g).reshape(2, -1), want, rtol=1e-8, atol=1e-10)
    # an impossible alignment (zero_infinity) gets a zero gradient, never NaN
    g = jax.grad(lambda x: lossjax.ctc(x, CTC_LABELS, IN_LEN, TGT_LEN, zero_infinity=True))(
        CTC_LOGITS)
    assert np.all(np.isfinite(g)) and not np.any(np.asarray(g)[2])


def test_ctc_torch_default_mean_via_weights():
    # torch's reduction="mean" (divide by target lengths, then average): 1.798227074422
    w = 1.0 / TGT_LEN[:2].astype(F64)
    got = lossjax.ctc(CTC_LOGITS[:2], CTC_LABELS[:2], IN_LEN[:2], TGT_LEN[:2], weights=w,
                      reduction="sum") / 2
    np.testing.assert_allclose(got, 1.798227074422, rtol=1e-11)


def test_ctc_matches_optax_on_full_lengths_and_takes_leading_batch_axes():
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 3, 7, 5), F64)
    y = jax.random.randint(jax.random.PRNGKey(2), (2, 3, 3), 1, 5)
    got = lossjax.ctc(x, y, reduction="none")
    want = optax.ctc_loss(x.reshape(6, 7, 5), jnp.zeros((6, 7)), y.reshape(6, 3),
                          jnp.zeros((6, 3))).reshape(2, 3)
    np.testing.assert_allclose(got, want, rtol=1e-10)
