"""Drop-in proof: lossjax losses train tiny models in Flax NNX, Flax Linen and Haiku.

Each framework trains the same kind of two-headed MLP (3-class logits and a regression value)
for 20 Adam steps on a seeded synthetic batch, with ``lossjax.softmax_cross_entropy`` on the
class head and ``lossjax.huber`` on the regression head, and must lower both losses. Arrays are
float32 explicitly (the suite runs with x64 on).
"""

import flax.linen as nn
import haiku as hk
import jax
import jax.numpy as jnp
import optax
import pytest
from flax import nnx

import lossjax

STEPS = 20
N, D, K = 64, 8, 3


def _data():
    kx, kw, kv = jax.random.split(jax.random.PRNGKey(0), 3)
    x = jax.random.normal(kx, (N, D), jnp.float32)
    labels = jnp.argmax(x @ jax.random.normal(kw, (D, K), jnp.float32), -1)
    y = x @ jax.random.normal(kv, (D,), jnp.float32)
    # The last 8 rows are padding: dropped from both losses with `where`.
    keep = jnp.arange(N) < N - 8
    labels = jnp.where(keep, labels, -100)  # also ignored by ignore_index
    return x, labels, y, keep


def _losses(out, labels, y, keep):
    ce = lossjax.softmax_cross_entropy(out[:, :K], labels)
    hub = lossjax.huber(out[:, K], y, delta=1.0, where=keep)
    return ce, hub


def _check(history):
    (ce0, hub0), (ce1, hub1) = history[0], history[-1]
    assert jnp.isfinite(ce1) and jnp.isfinite(hub1)
    assert ce1 < 0.9 * ce0, (ce0, ce1)
    assert hub1 < 0.9 * hub0, (hub0, hub1)


def test_flax_nnx():
    class MLP(nnx.Module):
        def __init__(self, rngs):
            self.l1 = nnx.Linear(D, 32, rngs=rngs, param_dtype=jnp.float32)
            self.l2 = nnx.Linear(32, K + 1, rngs=rngs, param_dtype=jnp.float32)

        def __call__(self, x):
            return self.l2(jax.nn.relu(self.l1(x)))

    x, labels, y, keep = _data()
    model = MLP(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)

    def total(m):
        ce, hub = _losses(m(x), labels, y, keep)
        return ce + hub, (ce, hub)

    @nnx.jit
    def step(m, opt):
        (_, parts), grads = nnx.value_and_grad(total, has_aux=True)(m)
        opt.update(m, grads)
        return parts

    history = [step(model, optimizer) for _ in range(STEPS)]
    history.append(total(model)[1])
    assert model.l1.kernel[...].dtype == jnp.float32
    _check(history)


def test_flax_linen():
    class MLP(nn.Module):
        @nn.compact
        def __call__(self, x):
            return nn.Dense(K + 1, param_dtype=jnp.float32)(
                nn.relu(nn.Dense(32, param_dtype=jnp.float32)(x)))

    x, labels, y, keep = _data()
    model = MLP()
    params = model.init(jax.random.PRNGKey(1), x)
    tx = optax.adam(1e-2)
    state = tx.init(params)

    def total(p):
        ce, hub = _losses(model.apply(p, x), labels, y, keep)
        return ce + hub, (ce, hub)

    @jax.jit
    def step(p, s):
        (_, parts), g = jax.value_and_grad(total, has_aux=True)(p)
        u, s = tx.update(g, s, p)
        return optax.apply_updates(p, u), s, parts

    history = []
    for _ in range(STEPS):
        params, state, parts = step(params, state)
        history.append(parts)
    history.append(total(params)[1])
    _check(history)


def test_haiku():
    def forward(x):
        return hk.nets.MLP([32, K + 1])(x)

    model = hk.without_apply_rng(hk.transform(forward))
    x, labels, y, keep = _data()
    params = model.init(jax.random.PRNGKey(2), x)
    tx = optax.adam(1e-2)
    state = tx.init(params)

    def total(p):
        ce, hub = _losses(model.apply(p, x), labels, y, keep)
        return ce + hub, (ce, hub)

    @jax.jit
    def step(p, s):
        (_, parts), g = jax.value_and_grad(total, has_aux=True)(p)
        u, s = tx.update(g, s, p)
        return optax.apply_updates(p, u), s, parts

    history = []
    for _ in range(STEPS):
        params, state, parts = step(params, state)
        history.append(parts)
    history.append(total(params)[1])
    _check(history)


def test_padding_does_not_move_the_loss():
    # The padded rows (label -100, `where` False) carry no weight: changing them changes nothing.
    x, labels, y, keep = _data()
    out = jax.random.normal(jax.random.PRNGKey(3), (N, K + 1), jnp.float32)
    junk = out.at[N - 8:].set(jnp.nan)
    a = _losses(out, labels, y, keep)
    b = _losses(junk, labels, jnp.where(keep, y, jnp.inf), keep)
    assert float(a[0]) == pytest.approx(float(b[0]))
    assert float(a[1]) == pytest.approx(float(b[1]))
