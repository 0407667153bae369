"""Divergences (lossjax.divergence): peers' numbers, identities and bounds.

These are the family's own checks; the registry-driven battery (test_contract.py and the other
batteries) tests every registered loss. PyTorch numbers are stored (torch 2.13.0, CPU,
float64, run on 2026-11-23, the call quoted beside them); optax is called in the tests.
Per-unit float64 references: ``references_divergence.py``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
from checks import F64, LOGITS, close10, close12, grad_sum, random_logits

import lossjax

# ----------------------------------------------------------------------- PyTorch 2.13.0


def test_kl_divergence_matches_pytorch_kl_div():
    # PyTorch 2.13.0: F.kl_div(F.log_softmax(logits, -1), tp, reduction="sum") with
    # tp = F.softmax(2 * logits.flip(0), -1) and tp[0] = (0, .5, .5, 0): 10.327517922899805
    lq = jax.nn.log_softmax(LOGITS)
    tp = jax.nn.softmax(2 * LOGITS[::-1], -1).at[0].set(jnp.array([0.0, 0.5, 0.5, 0.0]))
    close12(lossjax.kl_divergence(lq, tp, reduction="sum"), 10.327517922899805)
    close12(lossjax.kl_divergence(lq, tp), 2.065503584579961)  # = torch's "batchmean"
    close12(lossjax.kl_divergence(lq, jnp.log(tp), log_targets=True, reduction="sum"),
            10.327517922899805)
    g = jax.grad(lambda t: lossjax.kl_divergence(lq, t))(tp)
    assert np.all(np.isfinite(np.asarray(g)))  # finite where a target is exactly 0


# -------------------------------------------------------------------------------- optax


def test_divergences_match_optax():
    lq = jax.random.normal(jax.random.PRNGKey(1), (3, 4), F64)
    t = jnp.exp(jax.random.normal(jax.random.PRNGKey(2), (3, 4), F64))
    f = lambda lq, t: lossjax.generalized_kl_divergence(lq, t, reduction="none")
    ref = jax.jit(lambda lq, t: optax.losses.generalized_kl_divergence(lq, t))
    close10(f(lq, t), ref(lq, t))
    for i in (0, 1):
        close10(grad_sum(f, i)(lq, t), grad_sum(ref, i)(lq, t))
    # For distributions the generalized KL is the KL.
    lp = jax.nn.log_softmax(lq)
    p = jax.nn.softmax(jnp.log(t))
    close10(lossjax.generalized_kl_divergence(lp, p, reduction="none"),
            lossjax.kl_divergence(lp, p, reduction="none"))


# ------------------------------------------------------------------------------- bounds


def test_divergence_bounds():
    lq = jax.nn.log_softmax(random_logits(seed=5))
    q = jax.nn.softmax(random_logits(seed=6))
    js = lossjax.js_divergence(lq, q, reduction="none")
    close10(js, lossjax.js_divergence(jnp.log(q), jnp.exp(lq), reduction="none"))  # symmetric
    assert bool(jnp.all((js >= 0) & (js <= math.log(2.0))))
    tv = lossjax.total_variation(jnp.exp(lq), q, reduction="none")
    assert bool(jnp.all((tv >= 0) & (tv <= 1.0)))
    assert bool(jnp.all(2 * tv**2 <= lossjax.kl_divergence(lq, q, reduction="none")))  # Pinsker
