"""Binary losses (lossjax.binary): peers' numbers, identities, limits and errors.

These are the family's own checks; the registry-driven battery (test_contract.py and the other
batteries) tests every registered loss. Peer numbers are stored, not computed (torch and
scikit-learn are not dependencies of the tests): each block names the library, its version and
the call that produced it — PyTorch 2.13.0 (CPU, float64, run on 2026-11-23), scikit-learn
1.9.1. optax, a run-time dependency, is called in the tests.

Per-unit float64 references: ``references_binary.py``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from checks import a64, close10, close12, grad_sum
from jax.experimental import checkify

import lossjax

# ----------------------------------------------------------------------- PyTorch 2.13.0


def test_bce_with_logits_pos_weight_matches_pytorch():
    # PyTorch 2.13.0: F.binary_cross_entropy_with_logits(x, y, pos_weight=3.0, reduction="none")
    x = jnp.array([3.0, -2.0, 0.5, 0.0, -40.0, 40.0], jnp.float64)
    y = jnp.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0], jnp.float64)
    close12(lossjax.binary_cross_entropy_with_logits(x, y, pos_weight=3.0, reduction="none"),
            [0.1457620547212262, 0.1269280110429727, 1.42223095254032, 0.6931471805599453,
           120.0, 40.0])


def test_bce_on_exact_zero_and_one_matches_pytorch_clamp():
    # PyTorch 2.13.0: F.binary_cross_entropy(p, t, reduction="none"): logs clamped at -100
    p = jnp.array([0.0, 1.0, 0.0, 1.0, 0.3], jnp.float64)
    t = jnp.array([0.0, 0.0, 1.0, 1.0, 1.0], jnp.float64)
    close12(lossjax.get("bce")(p, t, reduction="none"),
            [0.0, 100.0, 100.0, 0.0, 1.2039728043259361])
    g = jax.grad(lambda p: lossjax.get("bce")(p, t, reduction="sum"))(p)
    assert np.all(np.isfinite(np.asarray(g)))


# x = [-2, -0.3, 0, 0.4, 1.5, 3], y = [1, -1, 1, -1, 1, -1]
# F.soft_margin_loss(x, y, reduction="none") and the gradient of its sum
SOFT_MARGIN = [2.126928011042973, 0.554355244468527, 0.693147180559945, 0.913015252399953,
               0.201413277982752, 3.048587351573742]


SOFT_MARGIN_GRAD = [-0.880797077977882, 0.425557483188341, -0.5, 0.598687660112452,
                    -0.182425523806356, 0.952574126822433]


def test_soft_margin_matches_torch():
    x, y = a64([-2.0, -0.3, 0.0, 0.4, 1.5, 3.0]), a64([1, -1, 1, -1, 1, -1])
    f = lambda x: lossjax.soft_margin(x, y, reduction="none")
    close10(f(x), SOFT_MARGIN)
    close10(grad_sum(f)(x), SOFT_MARGIN_GRAD)


# ------------------------------------------------------------------- scikit-learn 1.9.1


# sklearn.linear_model._sgd_fast.ModifiedHuber().py_loss(f, y) / .py_dloss(f, y)
MOD_F = [-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 0.3]
MOD_Y = [1.0, 1.0, 1.0, -1.0, -1.0, 1.0, -1.0, -1.0]
MOD_HUBER = [12.0, 4.0, 2.25, 1.0, 2.25, 0.0, 8.0, 1.6900000000000002]
MOD_HUBER_DLOSS = [-4.0, -4.0, -3.0, 2.0, 3.0, 0.0, 4.0, 2.6]


def test_modified_huber_matches_sklearn():
    f = lambda x: lossjax.modified_huber(x, a64(MOD_Y), reduction="none")
    close10(f(a64(MOD_F)), MOD_HUBER)
    close10(grad_sum(f)(a64(MOD_F)), MOD_HUBER_DLOSS)


# -------------------------------------------------------------------------------- optax


def test_bce_with_logits_matches_optax_far_out():
    x = jnp.array([-1e4, -50.0, -3.0, 0.0, 3.0, 50.0, 1e4], jnp.float64)
    for y in (jnp.zeros_like(x), jnp.ones_like(x), jnp.full_like(x, 0.3)):
        close12(lossjax.get("sigmoid_cross_entropy")(x, y, reduction="none"),
                optax.sigmoid_binary_cross_entropy(x, y))


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
@pytest.mark.parametrize("alpha", [None, 0.25])
def test_sigmoid_focal_matches_optax(gamma, alpha):
    x = jnp.linspace(-8.0, 8.0, 33, dtype=jnp.float64)
    y = (jnp.arange(33) % 2).astype(jnp.float64)
    close12(lossjax.sigmoid_focal(x, y, alpha=alpha, gamma=gamma, reduction="none"),
            optax.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma), rtol=1e-10)


def test_hinge_matches_optax():
    s = jnp.array([-2.0, -0.5, 0.5, 2.0, 1.0], jnp.float64)
    y = jnp.array([1.0, -1.0, 1.0, -1.0, 1.0], jnp.float64)
    close12(lossjax.hinge(s, y, reduction="none"), optax.hinge_loss(s, y))
    close12(lossjax.squared_hinge(s, y, reduction="none"), optax.hinge_loss(s, y) ** 2)


def test_binary_losses_match_optax():
    x = a64([-2.0, -1.0, -0.4, 0.0, 0.3, 1.0, 2.5, -3.0])
    y01 = a64([1, 0, 1, 1, 0, 1, 0, 0])
    f = lambda x: lossjax.binary_sparsemax(x, y01, reduction="none")
    ref = jax.jit(lambda x: optax.losses.sparsemax_loss(x, y01))
    close10(f(x), ref(x))
    close10(grad_sum(f)(x), grad_sum(ref)(x))
    ys = 2.0 * y01 - 1.0
    close10(lossjax.perceptron(x, ys, reduction="none"), optax.losses.perceptron_loss(x, ys))


# ---------------------------------------------------------------- identities and limits


def test_sigmoid_focal_with_gamma_zero_is_cross_entropy_and_gradients_are_finite():
    x = jnp.array([-1e4, -20.0, 0.0, 20.0, 1e4], jnp.float32)
    y = jnp.array([1.0, 0.0, 1.0, 1.0, 0.0], jnp.float32)
    close12(lossjax.get("focal")(x, y, gamma=0.0, reduction="none"),
            lossjax.get("sigmoid_cross_entropy")(x, y, reduction="none"), rtol=1e-6)
    for gamma in (0.0, 0.5, 2.0):
        g = jax.grad(lambda x, gamma=gamma: lossjax.get("focal")(x, y, gamma=gamma))(x)
        assert np.all(np.isfinite(np.asarray(g))), gamma


def test_binary_sparsemax_soft_targets_vanish_at_the_sparse_sigmoid():
    x = a64([-3.0, -0.5, 0.2, 0.9, 4.0])
    y = jnp.clip((x + 1.0) / 2.0, 0.0, 1.0)
    close10(lossjax.binary_sparsemax(x, y, reduction="none"), jnp.zeros(5), atol=1e-15)


def test_exponential_and_perceptron_values():
    f, y = a64([0.0, 1.0, -2.0, 3.0]), a64([1.0, -1.0, 1.0, 1.0])
    close10(lossjax.exponential(f, y, reduction="none"), jnp.exp(-y * f))
    close10(lossjax.perceptron(f, y, reduction="none"), [0.0, 1.0, 2.0, 0.0])


# ------------------------------------------------------------------------- checked mode


def test_checked_mode_catches_probabilities_outside_the_unit_interval():
    with pytest.raises(checkify.JaxRuntimeError, match="predictions"):
        lossjax.checked("bce")(jnp.array([0.5, 1.5]), jnp.array([0.0, 1.0]))
    with pytest.raises(checkify.JaxRuntimeError, match="targets"):
        lossjax.checked("hinge")(jnp.array([0.5, 1.5]), jnp.array([0.0, 1.0]))
