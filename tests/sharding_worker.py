"""Runs the mesh checks of test_sharding.py on 8 virtual CPU devices; prints JSON results.

Started by tests/test_sharding.py in its own process with
``XLA_FLAGS=--xla_force_host_platform_device_count=8`` (which must be set before jax is
imported; the main pytest process keeps one device). Every check compares a computation on
sharded inputs with the same computation on one device and records the largest deviation (or
the error), so that the test can report each failing case by name.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

jax.config.update("jax_enable_x64", True)

import lossjax  # noqa: E402
import lossjax.sharding as ls  # noqa: E402

AT = jax.sharding.AxisType


def mesh_of(shape, names, kind):
    return jax.make_mesh(shape, names, axis_types=(getattr(AT, kind),) * len(names))


def max_rel_dev(got, want) -> float:
    """Largest |got - want| over all leaves, relative to each leaf's largest |want| entry."""
    dev = 0.0
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        a = np.asarray(a, np.float64)
        b = np.asarray(b, np.float64)
        if a.shape != b.shape:
            return float("inf")
        both_nan = np.isnan(a) & np.isnan(b)
        if np.any(np.isnan(a) != np.isnan(b)):
            return float("inf")
        scale = max(float(np.max(np.abs(np.where(both_nan, 0, b)), initial=0.0)), 1e-30)
        diff = np.abs(np.where(both_nan, 0, a - b))
        dev = max(dev, float(np.max(diff, initial=0.0)) / scale)
    return dev


def lce_inputs(n, dtype):
    k = jax.random.split(jax.random.key(0), 6)
    d, v = 8, 24
    h = jax.random.normal(k[0], (n, d), jnp.float32).astype(dtype)
    w = (0.5 * jax.random.normal(k[1], (v, d), jnp.float32)).astype(dtype)
    b = (0.3 * jax.random.normal(k[2], (v,), jnp.float32)).astype(dtype)
    y = jax.random.randint(k[3], (n,), 0, v).at[2].set(-100)
    wt = jax.random.uniform(k[4], (n,), jnp.float32, 0.1, 2.0).astype(dtype)
    cot = jax.random.normal(k[5], (n,), jnp.float32).astype(dtype)
    return h, w, b, y, wt, cot


OPTS = dict(label_smoothing=0.1, z_loss=1e-2, logit_softcap=3.0, chunk_size=4,
            vocab_block_size=4)


def lce_value_and_grads(fn, h, w, b, y, wt, cot, reduction, **kw):
    def f(h, w, b):
        out = fn(h, w, y, bias=b, weights=wt, reduction=reduction, **OPTS, **kw)
        return jnp.sum(out * cot) if reduction == "none" else out

    return jax.jit(jax.value_and_grad(f, argnums=(0, 1, 2)))(h, w, b)


def check_lce_sharded(out):
    """sharded_linear_cross_entropy (data / vocabulary / both parallel) vs one device."""
    layouts = [("data", None), (None, "model"), ("data", "model"), (("data", "model"), None)]
    cases = [("Auto", lay, "mean", "float64", 30) for lay in layouts]
    cases += [("Auto", ("data", "model"), red, "float64", 30) for red in ("sum", "none")]
    cases += [("Explicit", ("data", "model"), red, "float64", 30) for red in ("mean", "none")]
    cases += [("Auto", ("data", "model"), "mean", "float32", 32)]
    reference = {}
    for kind, (batch_axis, vocab_axis), red, dtype, n in cases:
        name = f"{kind} batch={batch_axis} vocab={vocab_axis} {red} {dtype} N={n}"
        try:
            mesh = mesh_of((2, 4), ("data", "model"), kind)
            h, w, b, y, wt, cot = lce_inputs(n, jnp.dtype(dtype))
            if (red, dtype, n) not in reference:
                reference[red, dtype, n] = lce_value_and_grads(
                    lossjax.linear_cross_entropy, h, w, b, y, wt, cot, red)
            want = reference[red, dtype, n]
            got = lce_value_and_grads(ls.sharded_linear_cross_entropy, h, w, b, y, wt, cot, red,
                                      mesh=mesh, batch_axis=batch_axis, vocab_axis=vocab_axis)
            out.append({"case": name, "dtype": dtype, "dev": max_rel_dev(got, want)})
        except Exception as e:  # recorded, reported by the test
            out.append({"case": name, "dtype": dtype, "error": _err(e)})


def check_lce_traced_hyperparameters(out):
    """label_smoothing, z_loss and logit_softcap as traced arguments of one jitted program,
    differentiated (with hidden and weight) on the mesh vs one device: the derivative in the
    cap sums every vocabulary shard's columns, those in smoothing and z-loss every token
    shard's tokens."""
    h, w, b, y, wt, cot = lce_inputs(30, jnp.float64)
    cw = jnp.linspace(0.5, 1.5, w.shape[0])
    hp = jnp.array([0.1, 1e-2, 3.0])

    def program(fn, red, extra, **axes):
        def f(hp, h, w):
            out = fn(h, w, y, bias=b, weights=wt, reduction=red, label_smoothing=hp[0],
                     z_loss=hp[1], logit_softcap=hp[2], chunk_size=4, vocab_block_size=4,
                     **extra, **axes)
            return jnp.sum(out * cot) if red == "none" else out

        return jax.jit(jax.value_and_grad(f, argnums=(0, 1, 2)))

    for kind, (batch_axis, vocab_axis), red, extra in [
        ("Auto", ("data", "model"), "mean", {}),
        ("Auto", (None, "model"), "none", {}),
        ("Auto", ("data", "model"), "sum", {"class_weights": cw}),
        ("Explicit", ("data", "model"), "none", {"class_weights": cw}),
    ]:
        name = (f"{kind} batch={batch_axis} vocab={vocab_axis} {red} "
                f"class_weights={bool(extra)}")
        try:
            mesh = mesh_of((2, 4), ("data", "model"), kind)
            want = program(lossjax.linear_cross_entropy, red, extra)(hp, h, w)
            got = program(ls.sharded_linear_cross_entropy, red, extra, mesh=mesh,
                          batch_axis=batch_axis, vocab_axis=vocab_axis)(hp, h, w)
            assert np.all(np.asarray(want[1][0]) != 0), want[1][0]  # each one a real cotangent
            out.append({"case": name, "dev": max_rel_dev(got, want)})
        except Exception as e:
            out.append({"case": name, "error": _err(e)})


def check_plain_jit(out):
    """jit(linear_cross_entropy) on inputs placed with NamedSharding: tokens over "data"
    (Auto: XLA's partitioner; Explicit: the sharded kernel, chosen from the input types),
    and, on the explicit mesh, the weight over "model" too."""
    k = jax.random.split(jax.random.key(1), 3)
    h = jax.random.normal(k[0], (4, 6, 8), jnp.float64)
    w = jax.random.normal(k[1], (24, 8), jnp.float64)
    y = jax.random.randint(k[2], (4, 6), 0, 24)
    cw = jnp.linspace(0.5, 1.5, 24)

    def f(h, w):
        return lossjax.linear_cross_entropy(h, w, y, class_weights=cw, label_smoothing=0.1,
                                            chunk_size=4)

    want = jax.value_and_grad(f, (0, 1))(h, w)
    for kind, w_spec in [("Auto", P()), ("Explicit", P()), ("Explicit", P("model", None))]:
        name = f"{kind} hidden P('data') weight {w_spec}"
        try:
            mesh = mesh_of((2, 4), ("data", "model"), kind)
            hs = jax.device_put(h, NamedSharding(mesh, P("data", None, None)))
            ws = jax.device_put(w, NamedSharding(mesh, w_spec))
            got = jax.jit(jax.value_and_grad(f, (0, 1)))(hs, ws)
            out.append({"case": name, "dev": max_rel_dev(got, want),
                        "grad_shardings": [str(g.sharding.spec) for g in got[1]]})
        except Exception as e:
            out.append({"case": name, "error": _err(e)})


def check_registry(out):
    """Every registered loss: batch-sharded inputs under jit vs unsharded, float32, on an
    Auto mesh; on an Explicit mesh one loss per family module (`explicit_sample`).

    All losses go through one compiled program per mesh kind (a compilation of many losses
    costs much less than one per loss); a program that fails is retried loss by loss, so that
    each failure is reported under its loss's name. Losses named in LOSSJAX_KNOWN_EXPLICIT
    (test_sharding.KNOWN_EXPLICIT_FAILURES) run alone on the explicit mesh.
    """
    known = set(filter(None, os.environ.get("LOSSJAX_KNOWN_EXPLICIT", "").split(",")))
    meshes = {kind: mesh_of((8,), ("data",), kind) for kind in ("Auto", "Explicit")}
    args_of, programs = {}, {}
    for name in lossjax.names():
        spec = lossjax.spec(name)
        try:
            args, kwargs = spec.sample(jax.random.key(2), (16,), jnp.float32)
            args_of[name], programs[name] = args, _all_reductions(spec, kwargs)
        except Exception as e:
            out.append({"loss": name, "mesh": "none", "error": _err(e)})
    want = _run_together(programs, args_of, list(programs))
    for name, res in want.items():
        if isinstance(res, str):
            out.append({"loss": name, "mesh": "none", "error": res})
    for kind, mesh in meshes.items():
        placed = {
            name: [
                jax.device_put(a, NamedSharding(mesh, P("data", *[None] * (a.ndim - 1))))
                if i in lossjax.spec(name).batch_argnums else a
                for i, a in enumerate(args)
            ]
            for name, args in args_of.items() if not isinstance(want[name], str)
        }
        if kind == "Explicit":
            sample = explicit_sample(placed, known)
            placed = {n: a for n, a in placed.items() if n in sample}
        alone = [n for n in placed if kind == "Explicit" and n in known]
        got = _run_together(programs, placed, [n for n in placed if n not in alone])
        got.update(_run_alone(programs, placed, alone))
        for name, res in got.items():
            if isinstance(res, str):
                out.append({"loss": name, "mesh": kind, "error": res})
            else:
                out.append({"loss": name, "mesh": kind, "dev": max_rel_dev(res, want[name])})


# Losses that once failed on an explicit mesh and were fixed: always checked there.
EXPLICIT_REGRESSIONS = {"chance_cross_entropy"}


def explicit_sample(names, known=()) -> set[str]:
    """The losses checked on the explicit mesh: the first of each family module (what the
    explicit mode rejects is a way of indexing or reducing, which a family's losses share;
    all of them on both meshes cost a third more of this worker's time), the known
    failures (so that their warning still fires when they start working) and the losses
    fixed for it once (EXPLICIT_REGRESSIONS)."""
    first: dict[str, str] = {}
    for n in sorted(names):
        first.setdefault(lossjax.spec(n).fn.__module__, n)
    return set(first.values()) | ((set(known) | EXPLICIT_REGRESSIONS) & set(names))


def _run_together(programs, args_of, names):
    """{name: result} from one jit over all `names`; loss by loss if that fails."""
    try:
        res = jax.jit(lambda a: {n: programs[n](*a[n]) for n in names})(
            {n: args_of[n] for n in names})
        return jax.block_until_ready(res)
    except Exception:
        return _run_alone(programs, args_of, names)


def _run_alone(programs, args_of, names):
    res = {}
    for n in names:
        try:
            res[n] = jax.block_until_ready(programs[n](*args_of[n]))
        except Exception as e:
            res[n] = _err(e)
    return res


def _all_reductions(spec, kwargs):
    def run(*args):
        res = {r: spec.fn(*args, reduction=r, **kwargs) for r in ("none", "mean")}
        if spec.differentiable:
            diff = spec.diff_argnums

            def mean(*d):
                full = list(args)
                for i, a in zip(diff, d, strict=True):
                    full[i] = a
                return spec.fn(*full, reduction="mean", **kwargs)

            res["grad"] = jax.grad(mean, argnums=tuple(range(len(diff))))(
                *(args[i] for i in diff))
        return res

    return jax.jit(run)


def check_mesh_defaults(out):
    """Every entry point of lossjax.sharding with ``jax.make_mesh``'s default (Explicit) axes
    and with Auto axes; under ``jit`` and outside it; inside ``jax.set_mesh`` and outside it;
    on inputs placed on the mesh and on plain single-device arrays. Value and gradient of
    the mean are compared with one device.

    One combination is JAX's own rule, not lossjax's: differentiating outside ``jit`` and
    outside ``jax.set_mesh`` when the *inputs* are explicitly sharded (``jax.grad`` of
    ``jnp.sum`` fails the same way, because the cotangent of the loss is made without a
    mesh). There JAX's error must say what to write (``jax.set_mesh``), which the test checks.
    """
    import contextlib
    import itertools

    k = jax.random.split(jax.random.key(4), 6)
    h = jax.random.normal(k[0], (16, 8), jnp.float32)
    w = jax.random.normal(k[1], (24, 8), jnp.float32)
    y = jax.random.randint(k[2], (16,), 0, 24)
    logits = jax.random.normal(k[3], (16, 6), jnp.float32)
    labels = jax.random.randint(k[4], (16,), 0, 6)
    cw = jnp.linspace(0.5, 2.0, 6, dtype=jnp.float32)
    opts = dict(label_smoothing=0.1, chunk_size=4)

    def lce(fn, **axes):
        return lambda mesh: lambda h, w: fn(h, w, y, mesh=mesh, **axes, **opts)

    def lce_single(h, w):
        return lossjax.linear_cross_entropy(h, w, y, **opts)

    def ce(mesh):
        return lambda x, t: lossjax.softmax_cross_entropy(x, t, class_weights=cw)

    # name: (loss on a mesh, loss on one device, inputs, the inputs placed on a mesh)
    entry = {
        "sharded_linear_cross_entropy": (
            lce(ls.sharded_linear_cross_entropy, batch_axis="data", vocab_axis="model"),
            lce_single, (h, w),
            lambda m: (ls.shard_batch(h, m), jax.device_put(w, ls.vocab_sharding(m)))),
        "vocab_parallel_linear_cross_entropy": (
            lce(ls.vocab_parallel_linear_cross_entropy), lce_single, (h, w),
            lambda m: (h, jax.device_put(w, ls.vocab_sharding(m)))),
        "data_parallel_linear_cross_entropy": (
            lce(ls.data_parallel_linear_cross_entropy), lce_single, (h, w),
            lambda m: (ls.shard_batch(h, m), ls.replicate(w, m))),
        "shard_batch + softmax_cross_entropy": (
            ce, ce(None), (logits, labels), lambda m: ls.shard_batch((logits, labels), m)),
    }
    want = {name: jax.value_and_grad(single)(*args)
            for name, (_, single, args, _) in entry.items()}
    # The two wrappers only fix an argument of sharded_linear_cross_entropy: the README's
    # case (default mesh, eager, no context, plain arrays) and its mirror image for them.
    wrappers = {"vocab_parallel_linear_cross_entropy", "data_parallel_linear_cross_entropy"}
    for (name, (make, _, args, place)), kind, jitted, ctx, placed in itertools.product(
            entry.items(), ("Explicit", "Auto"), (True, False), (True, False), (True, False)):
        if name in wrappers and (kind, jitted, ctx, placed) not in (
                ("Explicit", False, False, False), ("Explicit", True, False, True)):
            continue
        case = (f"{name} {kind} {'jit' if jitted else 'eager'} "
                f"{'set_mesh' if ctx else 'no context'} {'placed' if placed else 'plain'}")
        mesh = jax.make_mesh((2, 4), ("data", "model")) if kind == "Explicit" else \
            mesh_of((2, 4), ("data", "model"), kind)
        jax_rule = kind == "Explicit" and placed and not jitted and not ctx
        try:
            with jax.set_mesh(mesh) if ctx else contextlib.nullcontext():
                a = place(mesh) if placed else args
                f = jax.value_and_grad(make(mesh))
                got = (jax.jit(f) if jitted else f)(*a)
            out.append({"case": case, "dtype": "float32", "dev": max_rel_dev(got, want[name]),
                        "jax_rule": jax_rule})
        except Exception as e:
            out.append({"case": case, "error": _err(e), "jax_rule": jax_rule})


def check_export(out):
    """The sharded linear cross-entropy (data and vocabulary parallel, bfloat16) lowers for
    GPU and TPU on the 8-device mesh: ``jax.export`` for ``cuda`` and ``tpu``."""
    import re

    from jax import export

    mesh = jax.make_mesh((2, 4), ("data", "model"))
    y = jnp.zeros((16,), jnp.int32)

    def f(h, w):
        return ls.sharded_linear_cross_entropy(h, w, y, mesh=mesh, batch_axis="data",
                                               vocab_axis="model", chunk_size=4)

    try:
        h, w = (jax.ShapeDtypeStruct(s, jnp.bfloat16) for s in ((16, 8), (24, 8)))
        exported = export.export(jax.jit(jax.value_and_grad(f, argnums=(0, 1))),
                                 platforms=("cuda", "tpu"))(h, w)
        text = exported.mlir_module()
        out.append({"platforms": list(exported.platforms), "devices": exported.nr_devices,
                    "collectives": sorted(set(re.findall(r"stablehlo\.(all_reduce|all_gather)",
                                                         text)))})
    except Exception as e:
        out.append({"error": _err(e)})


def _err(e: Exception) -> str:
    lines = traceback.format_exception_only(type(e), e)
    return "".join(lines).strip().splitlines()[0][:300]


CHECKS = {"lce": check_lce_sharded, "lce_hyper": check_lce_traced_hyperparameters,
          "plain_jit": check_plain_jit, "registry": check_registry,
          "mesh_defaults": check_mesh_defaults, "export": check_export}


def main(names):
    """Runs the checks named on the command line (all without names); JSON on stdout."""
    assert jax.device_count() == 8, jax.devices()
    results = {name: [] for name in names or CHECKS}
    for name, rows in results.items():
        CHECKS[name](rows)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
