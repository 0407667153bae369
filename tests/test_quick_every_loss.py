"""A quick pass over every registered loss and the mesh entry points, with JAX, jaxlib, optax,
chex and absl-py only (no SciPy, PyTorch or hypothesis).

It is the whole test of the *version floors*: ``make test-floors`` (part of ``make test``)
builds a second environment with exactly the minimum versions that ``pyproject.toml``
declares (.ci/floors.py reads them) and runs this file there with 8 virtual CPU devices. The
main suite leaves it out (the Makefile's ``--ignore``): tests/test_contract.py checks the same
and more on the newest versions. It runs there too with a plain ``pytest tests``.

Per loss: the value under each reduction is finite and "mean"
is the weighted mean of "none"; the gradient agrees with a central finite difference along
a random direction in float64. On the mesh: a batch-sharded loss and the sharded linear
cross-entropy (data and vocabulary parallel) agree with one device, value and gradient.
"""

from __future__ import annotations

import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lossjax
import lossjax.sharding as ls
from lossjax import registry

SPECS = [registry.spec(n) for n in lossjax.names()]
STEP = 1e-6  # central difference in float64: truncation ~1e-12, rounding ~1e-10 relative


def _seed(name: str) -> int:
    return zlib.crc32(name.encode())


@pytest.mark.parametrize("spec", [pytest.param(s, id=s.name) for s in SPECS])
def test_value_reductions_and_gradient(spec):
    args, kwargs = spec.sample(jax.random.key(_seed(spec.name)), (5,), jnp.float64)
    args = [jnp.asarray(a) for a in args]
    weights = jnp.asarray(np.random.default_rng(_seed(spec.name)).uniform(0.5, 2.0, 5))
    diff = spec.diff_argnums if spec.differentiable else ()

    def with_args(d):
        full = list(args)
        for i, a in zip(diff, d, strict=True):
            full[i] = a
        return full

    def mean(*d):
        return spec.fn(*with_args(d), reduction="mean", **kwargs)

    primal = [args[i] for i in diff]
    direction = [jnp.asarray(np.random.default_rng(i).normal(size=a.shape)) for i, a in
                 enumerate(primal)]

    @jax.jit
    def run():
        out = {r: spec.fn(*args, reduction=r, weights=weights, **kwargs)
               for r in ("none", "sum", "mean")}
        if diff:
            out["grad"] = jax.grad(mean, argnums=tuple(range(len(diff))))(*primal)
            shifted = [[a + s * STEP * v for a, v in zip(primal, direction, strict=True)]
                       for s in (1, -1)]
            out["fd"] = (mean(*shifted[0]) - mean(*shifted[1])) / (2 * STEP)
        return out

    out = jax.device_get(run())
    assert out["none"].shape == (5,) and np.all(np.isfinite(out["none"])), out["none"]
    if spec.name == "root_mean_squared_error":  # the root of the weighted mean square
        np.testing.assert_allclose(out["mean"] ** 2, np.sum(out["none"] ** 2 / weights)
                                   / np.sum(weights), rtol=1e-12)
    else:  # "none" is w * loss: "sum" adds it up, "mean" divides by the sum of weights
        np.testing.assert_allclose(out["sum"], np.sum(out["none"]), rtol=1e-12)
        np.testing.assert_allclose(out["mean"], np.sum(out["none"]) / np.sum(weights),
                                   rtol=1e-12)
    if diff and spec.exact_gradient:
        along = sum(float(np.vdot(g, v)) for g, v in zip(out["grad"], direction, strict=True))
        assert np.all([np.all(np.isfinite(g)) for g in out["grad"]])
        np.testing.assert_allclose(along, out["fd"], rtol=1e-5, atol=1e-8)


def _mesh(shape, names):
    n = jax.device_count()
    if n % int(np.prod(shape)):
        shape = (n,) + (1,) * (len(shape) - 1)
    return jax.make_mesh(shape, names)


def test_batch_sharded_loss_equals_one_device():
    k = jax.random.split(jax.random.key(0), 2)
    x = jax.random.normal(k[0], (16, 5), jnp.float32)
    y = jax.random.randint(k[1], (16,), 0, 5)
    cw = jnp.linspace(0.5, 2.0, 5, dtype=jnp.float32)
    f = jax.jit(jax.value_and_grad(
        lambda x, y: lossjax.softmax_cross_entropy(x, y, class_weights=cw, label_smoothing=0.1)))
    want = f(x, y)
    got = f(*ls.shard_batch((x, y), _mesh((8,), ("data",))))
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("jitted", [True, False], ids=["jit", "eager"])
def test_sharded_linear_cross_entropy_equals_one_device(jitted):
    k = jax.random.split(jax.random.key(1), 3)
    h = jax.random.normal(k[0], (16, 8), jnp.float32)
    w = jax.random.normal(k[1], (24, 8), jnp.float32)
    y = jax.random.randint(k[2], (16,), 0, 24)
    mesh = _mesh((2, 4), ("data", "model"))

    def sharded(h, w):
        return ls.sharded_linear_cross_entropy(h, w, y, mesh=mesh, batch_axis="data",
                                               vocab_axis="model", z_loss=1e-3, chunk_size=4)

    f = jax.value_and_grad(sharded, argnums=(0, 1))
    got = (jax.jit(f) if jitted else f)(h, w)
    want = jax.value_and_grad(lambda h, w: lossjax.linear_cross_entropy(h, w, y, z_loss=1e-3),
                              argnums=(0, 1))(h, w)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7)
