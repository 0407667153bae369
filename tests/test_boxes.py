"""Box losses (lossjax.boxes): CIoU's gradient and the behaviour of disjoint boxes.

These are the family's own checks; the registry-driven battery (test_contract.py and the other
batteries) tests every registered loss, against the float64 references of
``references_boxes.py``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from checks import close12
from jax.test_util import check_grads

import lossjax


def test_ciou_gradient_holds_alpha_constant():
    """CIoU's gradient treats alpha = v / (1 - IoU + v) as a constant (Zheng et al. 2020)."""
    p = jnp.array([[0.1, 0.2, 2.3, 1.4], [1.0, 1.0, 2.0, 4.0]], jnp.float64)
    t = jnp.array([[0.0, 0.0, 2.0, 1.0], [0.0, 0.5, 3.0, 3.0]], jnp.float64)
    alpha = jax.lax.stop_gradient(_alpha(p, t))

    def frozen(p):
        return (lossjax.diou(p, t, reduction="none") + alpha * _v(p, t)).mean()

    close12(lossjax.ciou(p, t), frozen(p))
    close12(jax.grad(lossjax.ciou)(p, t), jax.grad(frozen)(p), rtol=1e-9)
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
