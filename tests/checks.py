"""Helpers shared by the family test files (``test_<family>.py``).

``close12`` and ``close10`` are ``np.testing.assert_allclose`` with the default tolerance in
their name (relative 1e-12 or 1e-10, absolute 1e-12), so that a call site shows how close it
asks for; a call that needs another tolerance passes it. ``random_logits`` draws the seeded
float64 logits several families share; ``LOGITS`` five fixed rows of four classes.

The per-family references (``references_<family>.py``) follow one convention: each takes the
loss's positional arguments as float64 NumPy arrays (integer labels stay integer) and its
hyperparameters as keyword arguments, and returns the per-unit loss of ``reduction="none"``
(no weights or masks). Each names the paper or documentation it is written from (the
registry's ``reference`` for that loss, or the peer whose definition lossjax follows); they are
plain loops or direct formulas, with SciPy for special functions, not derived from lossjax's
code. ``REFERENCES`` in each maps a canonical loss name to its reference; test_contract.py
checks every registered loss against it (a built-in without one fails
``test_every_builtin_has_a_reference``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

F64 = jnp.float64

# Five rows of four classes, shared by the multiclass, divergence and metric tests.
LOGITS = jnp.array(
    [
        [2.0, 0.5, -1.0, 0.0],
        [0.1, 0.2, 3.0, -2.0],
        [-1.0, 4.0, 0.5, 1.5],
        [0.3, -0.7, 0.0, 2.2],
        [1.0, 1.0, 1.0, 1.0],
    ],
    F64,
)


def f64(x):
    """``x`` as a float64 NumPy array (what the references compute in)."""
    return np.asarray(x, np.float64)


def class_rows(x, t, axis):
    """Predictions with the class ``axis`` last, float64; targets too when they are rows
    (probabilities), integer labels unchanged."""
    x = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    t = np.asarray(t)
    if t.ndim == x.ndim:
        t = np.moveaxis(t.astype(np.float64), axis, -1)
    return x, t


def assert_domain_error(name, kwargs):
    """A value outside a hyperparameter's declared domain raises a ValueError naming it."""
    import lossjax

    spec = lossjax.spec(name)
    args, _ = spec.sample(jax.random.PRNGKey(0), (2,), F64)
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        spec.fn(*args, **kwargs)


def a64(x):
    return jnp.asarray(x, F64)


def close12(a, b, rtol=1e-12, atol=1e-12):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                               rtol=rtol, atol=atol)


def close10(actual, expected, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol)


def grad_sum(fn, argnums=0):
    # jit: one compiled program instead of op-by-op dispatch (optax references are eager)
    return jax.jit(jax.grad(lambda *a: jnp.sum(fn(*a)), argnums=argnums))


def random_logits(k=5, n=4, seed=0):
    """``[n, k]`` float64 logits, 2 * a standard normal draw seeded by ``seed``."""
    return 2.0 * jax.random.normal(jax.random.PRNGKey(seed), (n, k), F64)


def assert_matches_reference(refs, name, kwargs):
    """``reduction="none"`` of loss ``name`` with ``kwargs`` equals the family's float64
    reference ``refs.REFERENCES[name]`` on the registry's sample inputs (batch ``(3, 2)``)."""
    import lossjax

    spec = lossjax.spec(name)
    args, _ = spec.sample(jax.random.PRNGKey(7), (3, 2), F64)
    got = spec.fn(*args, **kwargs, reduction="none")
    close10(got, refs.REFERENCES[name](*[np.asarray(a) for a in args], **kwargs), rtol=1e-9,
            atol=1e-11)


def abstract_sample(spec, key, batch, dtype):
    """``spec.sample(key, batch, dtype)`` traced abstractly: nothing is drawn or compiled.

    Returns ``(args, static, arrays)``: the positional arguments as ``jax.ShapeDtypeStruct``,
    the keyword arguments that are Python values (as the sampler gives them), and those that
    are arrays, as ``jax.ShapeDtypeStruct``. For checks that need the inputs' shapes and dtypes
    only (a signature, a trace-time error, a lowering): a concrete draw compiles each random
    kernel of the sampler (about half a second per loss and batch shape on a CPU).
    """
    box = {}

    def draw(key):
        args, kwargs = spec.sample(key, batch, dtype)
        arrays = {k: v for k, v in kwargs.items() if isinstance(v, jax.Array | np.ndarray)}
        box["static"] = {k: v for k, v in kwargs.items() if k not in arrays}
        return [jnp.asarray(a) for a in args], arrays

    args, arrays = jax.eval_shape(draw, key)
    return args, box["static"], arrays


def trace_abstractly(fn, spec, key, batch, dtype):
    """``jax.eval_shape`` of ``fn(args, kwargs)`` on ``spec.sample(key, batch, dtype)`` drawn
    inside the same trace: every shape and trace-time check of the sampler and of ``fn`` runs,
    no kernel is compiled."""
    return jax.eval_shape(lambda key: fn(*spec.sample(key, batch, dtype)), key)
