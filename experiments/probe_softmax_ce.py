"""Probe: where the softmax cross-entropy's value_and_grad spends its time (issue 14).

Times, round by round (every implementation back to back in each round; ratios per round),
the jitted ``value_and_grad`` of the mean softmax cross-entropy with integer labels for:

* ``lossjax``: :func:`lossjax.softmax_cross_entropy` (since session 6: ``e = exp(x - x_y)``
  written once, its sum, the gradient ``e / s - onehot`` from ``e``: one exponential per
  logit, with a ``lax.cond`` to the max-shifted program where a row overflows);
* ``lossjax_old``: where a package ``lossjax_old`` is importable (a copy of an earlier
  ``lossjax`` with its imports renamed, on ``PYTHONPATH``), the same call into it, to tell a
  kernel change from the machine's noise in one run;
* ``optax``: ``softmax_cross_entropy_with_integer_labels`` (max pass, one exponential whose
  result is written out, sum, gradient from it, scatter of the one-hot);
* ``one_exp``: the prototype of session 5 (now the kernel): ``e = exp(x - x_y)`` written once (an
  ``optimization_barrier`` keeps XLA from fusing it into the reduction), ``s = sum e``, and
  the gradient ``e / s - onehot`` from ``e``: one exponential per logit. It has no overflow
  fallback (``x_c - x_y > 88`` overflows ``e``): a measurement, not a kernel;
* ``floor``: reads the logits once and writes an array of their size.

``python -m experiments.probe_softmax_ce 4096x8192 15`` prints the median time of each and
its ratio to optax with the interquartile range of the per-round ratios (and, with
``lossjax_old``, lossjax's time over lossjax_old's, also per round); a third argument
``smooth`` (``label_smoothing=0.1``, a Python number), ``traced`` (the same ``eps`` as a
traced argument) or ``ignore`` (every 8th label ``ignore_index``) times lossjax in that form,
against the optax code a user would write for it, instead of the plain call.
"""

from __future__ import annotations

import statistics
import sys
import time

import jax
import jax.numpy as jnp
import optax

import lossjax
from lossjax.multiclass import pick

try:
    import lossjax_old
except ImportError:
    lossjax_old = None


@jax.custom_jvp
def _one_exp_ce(x, labels):
    c = pick(x, labels)
    return jnp.log(jnp.sum(jnp.exp(x - c[:, None]), -1))


@_one_exp_ce.defjvp
def _one_exp_ce_jvp(primals, tangents):
    x, labels = primals
    c = pick(x, labels)
    e = jax.lax.optimization_barrier(jnp.exp(x - c[:, None]))
    s = jnp.sum(e, -1)
    classes = jax.lax.broadcasted_iota(labels.dtype, x.shape, 1)
    g = e * (1.0 / s)[:, None] - jnp.where(classes == labels[:, None], 1.0, 0.0)
    return jnp.log(s), jnp.sum(g * tangents[0], -1)


def _optax_ce(x, y, eps=0.0, keep=None):
    if eps:
        onehot = jax.nn.one_hot(y, x.shape[-1], dtype=x.dtype)
        per = optax.losses.softmax_cross_entropy(x, optax.smooth_labels(onehot, eps))
    else:
        per = optax.losses.softmax_cross_entropy_with_integer_labels(x, y)
    if keep is None:
        return per.mean()
    return jnp.sum(jnp.where(keep, per, 0.0)) / jnp.sum(keep)


def implementations(case: str) -> dict:
    """``{name: f(x, y, eps)}`` for ``case`` (plain, smooth, traced, ignore)."""
    def ours(pkg):
        if case == "plain":
            return lambda x, y, eps: pkg.softmax_cross_entropy(x, y)
        if case == "smooth":
            return lambda x, y, eps: pkg.softmax_cross_entropy(x, y, label_smoothing=0.1)
        if case == "traced":
            return lambda x, y, eps: pkg.softmax_cross_entropy(x, y, label_smoothing=eps)
        if case == "ignore":
            return lambda x, y, eps: pkg.softmax_cross_entropy(x, y, ignore_index=-100)
        raise ValueError(f"unknown case {case!r}")

    impls = {"lossjax": ours(lossjax)}
    if lossjax_old is not None:
        impls["lossjax_old"] = ours(lossjax_old)
    if case in ("smooth", "traced"):
        impls["optax"] = lambda x, y, eps: _optax_ce(x, y, 0.1)
    elif case == "ignore":
        impls["optax"] = lambda x, y, eps: _optax_ce(x, jnp.where(y < 0, 0, y), keep=y >= 0)
    else:
        impls["optax"] = lambda x, y, eps: _optax_ce(x, y)
        impls["one_exp"] = lambda x, y, eps: jnp.mean(_one_exp_ce(x, y))
    return impls


def run(n: int, k: int, rounds: int, case: str = "plain"
        ) -> dict[str, tuple[float, float, float, float]]:
    """{name: (median ms, median ratio to optax, q1, q3)}."""
    x = jax.random.normal(jax.random.key(0), (n, k), jnp.float32)
    y = jax.random.randint(jax.random.key(1), (n,), 0, k)
    if case == "ignore":
        y = jnp.where(jnp.arange(n) % 8 == 0, -100, y)
    eps = jnp.float32(0.1)
    fns = {name: jax.jit(jax.value_and_grad(f)) for name, f in implementations(case).items()}
    fns["floor"] = jax.jit(lambda x, y, eps: (jnp.sum(x), x * 2.0))
    ref = fns["optax"](x, y, eps)
    for name, f in fns.items():
        out = jax.block_until_ready(f(x, y, eps))
        if name != "floor":
            assert jnp.allclose(out[0], ref[0], rtol=1e-5), name
            assert jnp.allclose(out[1], ref[1], atol=1e-6), name
    times: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            t0 = time.perf_counter()
            jax.block_until_ready(fns[name](x, y, eps))
            times[name].append(time.perf_counter() - t0)
    out = {}
    for name, ts in times.items():
        out[name] = (1e3 * statistics.median(ts), *_ratio(ts, times["optax"]))
    if "lossjax_old" in times:
        out["new / old"] = (float("nan"), *_ratio(times["lossjax"], times["lossjax_old"]))
    return out


def _ratio(ts: list[float], base: list[float]) -> tuple[float, float, float]:
    """Median of the per-round ratios ``ts / base`` and its quartiles."""
    ratios = sorted(a / b for a, b in zip(ts, base, strict=True))
    return (statistics.median(ratios), ratios[len(ratios) // 4], ratios[3 * len(ratios) // 4])


def main(argv: list[str]) -> None:
    shape = argv[1] if len(argv) > 1 else "4096x8192"
    rounds = int(argv[2]) if len(argv) > 2 else 15
    case = argv[3] if len(argv) > 3 else "plain"
    n, k = map(int, shape.split("x"))
    for name, (ms, r, q1, q3) in run(n, k, rounds, case).items():
        if name == "new / old":  # lossjax's time over lossjax_old's, per round
            print(f"{shape} {case} lossjax / lossjax_old {r:.2f} [{q1:.2f}, {q3:.2f}]")
        else:
            print(f"{shape} {case} {name:11s} {ms:8.2f} ms  /optax {r:.2f} [{q1:.2f}, {q3:.2f}]")


if __name__ == "__main__":
    main(sys.argv)
