"""Ranking losses (lossjax.ranking): optax's numbers, padded items and lists without pairs.

optax (a run-time dependency) is called in the tests. The registry-driven battery tests every
registered loss against the float64 references of ``references_ranking.py``.
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
