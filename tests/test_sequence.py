"""CTC (lossjax.sequence): PyTorch's and optax's numbers, the forward variables, the contract.

optax (a run-time dependency) is called in the tests. PyTorch numbers are stored, from PyTorch
2.13.0 (CPU, float64, run on 2026-11-23) on the inputs below:
``F.ctc_loss(F.log_softmax(logits, -1).transpose(0, 1), labels, in_len, tgt_len, blank=0,
reduction=..., zero_infinity=...)``, and autograd for its gradient. The float64 forward
algorithm is in ``references_sequence.py``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import references_sequence as ref_seq

import lossjax

F64 = jnp.float64

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


# -------------------------------------------------------- CTC with forward probabilities


def _forward_sample():
    k1, k2, k3, k4 = jax.random.split(jax.random.PRNGKey(11), 4)
    x = 1.5 * jax.random.normal(k1, (2, 3, 7, 4), F64)
    y = jax.random.randint(k2, (2, 3, 3), 1, 4).at[0, 0].set(jnp.array([2, 2, 3]))  # a repeat
    xl = jax.random.randint(k3, (2, 3), 3, 8).at[0, 1].set(2)  # [0, 1]: too few frames (if U>1)
    yl = jax.random.randint(k4, (2, 3), 0, 4).at[0, 0].set(3).at[0, 1].set(3)
    return x, y, xl, yl


def test_ctc_forward_variables_match_the_numpy_forward_algorithm():
    """Against tests/references_sequence.py's ``ctc_forward_variables`` (Graves 2006, eqs.
    5-7, float64 in probability space)."""
    x, y, xl, yl = _forward_sample()
    loss, blank, label = lossjax.ctc_with_forward_probabilities(x, y, xl, yl)
    assert blank.shape == (2, 3, 7, 4) and label.shape == (2, 3, 7, 3)
    assert blank.dtype == label.dtype == F64
    for idx in np.ndindex(2, 3):
        t_b, u_b = int(xl[idx]), int(yl[idx])
        ref = ref_seq.ctc_forward_variables(x[idx][:t_b], y[idx][:u_b], 0)  # [t_b, 2 u_b + 1]
        b, lab = np.asarray(blank[idx]), np.asarray(label[idx])
        for got, want in ((b[:t_b, :u_b + 1], ref[:, 0::2]), (lab[:t_b, :u_b], ref[:, 1::2])):
            reach = np.isfinite(want)
            np.testing.assert_allclose(got[reach], want[reach], rtol=1e-12, atol=1e-12)
            assert np.all(got[~reach] < -5e4), idx  # optax's finite stand-in for log 0
        # frames past the length repeat the last real frame; states past the labels: -inf
        np.testing.assert_array_equal(b[t_b:], np.broadcast_to(b[t_b - 1], b[t_b:].shape))
        np.testing.assert_array_equal(lab[t_b:], np.broadcast_to(lab[t_b - 1], lab[t_b:].shape))
        assert np.all(b[:, u_b + 1:] == -np.inf) and np.all(lab[:, u_b:] == -np.inf)
        ends = [ref[-1, -1]] + ([ref[-1, -2]] if u_b else [])
        with np.errstate(divide="ignore"):
            want_loss = -np.logaddexp.reduce(ends)
        if np.isfinite(want_loss):
            np.testing.assert_allclose(loss[idx], want_loss, rtol=1e-12)
        else:
            assert loss[idx] == np.inf, idx
    assert loss[0, 1] == np.inf  # 3 labels with a possible repeat in 2 frames


def test_ctc_forward_variables_match_optax_ctc_loss_with_forward_probs():
    x, y, xl, yl = _forward_sample()
    loss, blank, label = lossjax.ctc_with_forward_probabilities(x, y, xl, yl)
    t, u = 7, 3
    xpad = (jnp.arange(t) >= xl[..., None]).astype(F64).reshape(6, t)
    ypad = (jnp.arange(u) >= yl[..., None]).astype(F64).reshape(6, u)
    theirs, phi, emit = optax.ctc_loss_with_forward_probs(x.reshape(6, t, 4), xpad,
                                                          y.reshape(6, u), ypad)
    # optax's layout: time-major [T, B, U + 1] / [T, B, U]
    ours_phi = np.moveaxis(np.asarray(blank).reshape(6, t, u + 1), 1, 0)
    ours_emit = np.moveaxis(np.asarray(label).reshape(6, t, u), 1, 0)
    phi, emit = np.asarray(phi), np.asarray(emit)
    for b, (u_b, finite) in enumerate(zip(np.asarray(yl).ravel(),
                                          np.isfinite(np.asarray(loss).ravel()), strict=True)):
        np.testing.assert_allclose(ours_phi[:-1, b, :u_b + 1], phi[:-1, b, :u_b + 1],
                                   rtol=1e-12)
        np.testing.assert_allclose(ours_emit[:, b, :u_b], emit[:, b, :u_b], rtol=1e-12)
        # optax's last blank row also holds the final label -> end transition
        last = ours_phi[-1, b, :u_b + 1].copy()
        last[1:] = np.logaddexp(last[1:], ours_emit[-1, b, :u_b])
        np.testing.assert_allclose(last, phi[-1, b, :u_b + 1], rtol=1e-12)
        if finite:  # an impossible alignment: optax's large finite number, lossjax's inf
            np.testing.assert_allclose(np.asarray(loss).ravel()[b], theirs[b], rtol=1e-12)


def test_ctc_with_forward_probabilities_loss_is_ctc_with_the_contract():
    x, y, xl, yl = _forward_sample()
    w = jnp.array([[0.5, 1.0, 2.0], [1.5, 0.0, 3.0]], F64)
    keep = jnp.array([[True, True, False], [True, True, True]])
    x = x.at[0, 2].set(jnp.nan)  # the dropped sequence may hold anything
    for zi in (False, True):
        for r in ("none", "sum", "mean"):
            kw = dict(zero_infinity=zi, weights=w, where=keep, reduction=r)
            got, blank, label = lossjax.ctc_with_forward_probabilities(x, y, xl, yl, **kw)
            np.testing.assert_array_equal(got, lossjax.ctc(x, y, xl, yl, **kw))
        assert got == got  # not NaN
    got, blank, label = lossjax.ctc_with_forward_probabilities(x, y, xl, yl, where=keep)
    assert got[0, 2] == 0.0
    assert np.all(np.asarray(blank[0, 2]) == -np.inf) and np.all(np.asarray(label[0, 2]) == -np.inf)
    assert np.all(np.isfinite(blank[1, 0, :, 0]))

    def total(fn, x):
        return fn(x, y, xl, yl, zero_infinity=True, where=keep, reduction="sum")

    g = jax.grad(lambda x: total(lambda *a, **k: lossjax.ctc_with_forward_probabilities(
        *a, **k)[0], x))(x)
    np.testing.assert_array_equal(g, jax.grad(lambda x: total(lossjax.ctc, x))(x))
    assert np.all(np.isfinite(g)) and not np.any(np.asarray(g[0, 2]))


def test_ctc_with_forward_probabilities_under_jit_and_vmap():
    x, y, xl, yl = _forward_sample()
    eager = lossjax.ctc_with_forward_probabilities(x, y, xl, yl)
    jitted = jax.jit(lambda *a: lossjax.ctc_with_forward_probabilities(*a))(x, y, xl, yl)
    mapped = jax.vmap(lossjax.ctc_with_forward_probabilities)(x, y, xl, yl)
    for a, b, c in zip(eager, jitted, mapped, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
        np.testing.assert_allclose(a, c, rtol=1e-12)
    with pytest.raises(ValueError, match="`labels`"):
        lossjax.ctc_with_forward_probabilities(x, y[0], xl, yl)
    with pytest.raises(ValueError, match="reduction"):
        lossjax.ctc_with_forward_probabilities(x, y, reduction="average")
