"""Benchmark: every registered loss against optax, PyTorch eager and a memory-traffic floor.

For each loss (by registry name) and size it measures, in one run with the implementations
alternated (round-robin within every repeat, so that a slow phase of a shared machine hits
all of them alike):

* ``fwd``: the jitted mean loss;
* ``vag``: the jitted ``jax.value_and_grad`` of the mean loss (with respect to the loss's
  ``diff_argnums``);
* ``compile``: seconds to lower and compile ``vag``;
* XLA's compiled memory of ``vag`` (``memory_analysis()``: temporary and output bytes);

for ``lossjax``, for optax's equivalent where there is one (an explicit adapter table: the
argument order and conventions differ), for PyTorch eager on the CPU where ``torch`` is
importable (optional), and for the **floor**: a jitted element-wise op that reads the same
inputs and writes one array of the gradient's size, the least work any ``value_and_grad``
must do. Times are medians of ``--repeats`` calls after ``--warmup`` calls; the reported
ratios are medians of the per-repeat ratios (robust to load that varies during the run).

Inputs come from the registry (``spec.sample``), so every registered loss is covered, also
ones added later. Element-wise losses run at ``--sizes`` elements; per-example losses at
``size / (elements per example)`` examples of their sampler, except the classification losses
on logits/scores/probabilities with integer labels, which run at the ``--class_shapes``
``[N, K]`` (softmax cross-entropy at ``[8192, 1000]`` and ``[2048, 32768]`` by default).
An end-to-end training step (an MLP classifier; ``jit`` of ``value_and_grad`` over the
parameters) compares lossjax's cross-entropy with optax's.

Run ``python -m experiments.benchmark`` (``--help`` lists the flags); it writes
``benchmark.json`` and ``benchmark.md`` to ``--out`` and prints the markdown.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import lossjax
from lossjax import registry

# Element-wise losses whose formula has no transcendental function (their targets are
# "value_and_grad within 2.5x of the floor"; the others get 5x).
NON_TRANSCENDENTAL = frozenset(
    {"squared_error", "absolute_error", "l2", "huber", "hinge", "squared_hinge",
     "root_mean_squared_error", "smooth_l1", "epsilon_insensitive", "quantile", "pinball"}
)
# Not benchmarked by "all": linear_cross_entropy has its own benchmark (benchmark_lce); the
# metrics are not differentiable.
SKIP_BY_DEFAULT = frozenset({"linear_cross_entropy"})
CLASS_LOSSES = frozenset(
    {"softmax_cross_entropy", "nll", "categorical_cross_entropy", "multiclass_hinge"}
)
DEFAULT_SIZES = (1 << 22, 1 << 24)
DEFAULT_CLASS_SHAPES = ((8192, 1000), (2048, 32768))


# --------------------------------------------------------------------------------------------
# Peers: optax (jitted) and PyTorch (eager). Each adapter maps lossjax's (args, kwargs) to a
# function of the same positional arrays returning the mean loss, or None if not comparable.


def _optax_adapters() -> dict[str, Callable[..., Callable[..., Any] | None]]:
    import optax

    L = optax.losses

    def plain(fn):
        return lambda kw: (lambda p, t: jnp.mean(fn(p, t))) if not kw else None

    def huber(kw):
        d = kw.get("delta", 1.0)
        return lambda p, t: jnp.mean(L.huber_loss(p, t, delta=d))

    def bce_logits(kw):
        if kw.get("pos_weight") is not None:
            return None
        return lambda x, y: jnp.mean(L.sigmoid_binary_cross_entropy(x, y))

    def focal(kw):
        a, g = kw.get("alpha"), kw.get("gamma", 2.0)
        return lambda x, y: jnp.mean(L.sigmoid_focal_loss(x, y, alpha=a, gamma=g))

    def softmax_ce(kw):
        if set(kw) - {"axis"} or kw.get("axis", -1) != -1:
            return None

        def f(x, y):
            if y.ndim == x.ndim - 1:
                return jnp.mean(L.softmax_cross_entropy_with_integer_labels(x, y))
            return jnp.mean(L.softmax_cross_entropy(x, y))

        return f

    def mc_hinge(kw):
        if kw:
            return None
        return lambda s, y: jnp.mean(L.multiclass_hinge_loss(s, y))

    def kl(kw):
        if kw.get("log_targets"):
            return lambda lq, lp: jnp.mean(L.kl_divergence_with_log_targets(lq, lp))
        return lambda lq, p: jnp.mean(L.kl_divergence(lq, p))

    return {
        "squared_error": plain(L.squared_error),
        "l2": plain(L.l2_loss),
        "huber": huber,
        "log_cosh": plain(L.log_cosh),
        "hinge": plain(L.hinge_loss),
        "binary_cross_entropy_with_logits": bce_logits,
        "sigmoid_focal": focal,
        "softmax_cross_entropy": softmax_ce,
        "multiclass_hinge": mc_hinge,
        "kl_divergence": kl,
    }


def torch_module() -> Any | None:
    try:
        import torch  # type: ignore[import-not-found]
    except ImportError:
        return None
    return torch


def _torch_adapters(torch) -> dict[str, Callable[..., Callable[..., Any] | None]]:
    F = torch.nn.functional

    def simple(fn):
        return lambda kw: fn if not kw else None

    def ce(kw):
        if set(kw) - {"axis"}:
            return None
        return lambda x, y: F.cross_entropy(x, y)

    def nll(kw):
        if set(kw) - {"axis"}:
            return None
        return lambda x, y: F.nll_loss(x, y)

    return {
        "squared_error": simple(F.mse_loss),
        "absolute_error": simple(F.l1_loss),
        "l2": simple(lambda p, t: 0.5 * F.mse_loss(p, t)),
        "huber": lambda kw: (lambda p, t: F.huber_loss(p, t, delta=float(kw.get("delta", 1.0)))),
        "binary_cross_entropy": simple(F.binary_cross_entropy),
        "binary_cross_entropy_with_logits": simple(F.binary_cross_entropy_with_logits),
        "softmax_cross_entropy": ce,
        "nll": nll,
        "kl_divergence": lambda kw: (
            None if kw else (lambda lq, p: F.kl_div(lq, p, reduction="batchmean"))
        ),
    }


# --------------------------------------------------------------------------------------------
# Cases


@dataclasses.dataclass
class Case:
    loss: str
    shape: str
    elements: int
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    diff_argnums: tuple[int, ...]


def _as_dtype(dtype: Any) -> Any:
    return jnp.dtype(dtype)


def make_cases(
    name: str,
    sizes: Sequence[int],
    dtype: Any = jnp.float32,
    class_shapes: Sequence[tuple[int, int]] = DEFAULT_CLASS_SHAPES,
    seed: int = 0,
) -> list[Case]:
    """The inputs on which ``name`` is benchmarked (see the module docstring)."""
    spec = registry.spec(name)
    key = jax.random.PRNGKey(seed)
    cases = []
    if name in CLASS_LOSSES:
        from lossjax import _samples

        for n, k in class_shapes:
            k1, k2 = jax.random.split(jax.random.fold_in(key, n * k))
            x = _samples.predictions_of(spec.predictions, k1, (n, k), dtype, True)
            y = jax.random.randint(k2, (n,), 0, k)
            cases.append(Case(name, f"[{n}, {k}]", n * k, (x, y), {}, _floating(spec, (x, y))))
        return cases
    (probe, _) = spec.sample(key, (2,), dtype)
    per_unit = max(1, int(np.prod(np.shape(probe[0]))) // 2)
    for size in sizes:
        batch = (max(1, int(size) // per_unit),)
        args, kwargs = spec.sample(jax.random.fold_in(key, size), batch, dtype)
        shape = "x".join(str(s) for s in np.shape(args[0]))
        cases.append(Case(name, f"[{shape}]", int(np.prod(np.shape(args[0]))), tuple(args),
                          dict(kwargs), _floating(spec, args)))
    return cases


def _floating(spec, args) -> tuple[int, ...]:
    """The spec's differentiable arguments that are floating here (integer labels are not)."""
    return tuple(i for i in spec.diff_argnums if jnp.issubdtype(jnp.asarray(args[i]).dtype,
                                                                   jnp.floating))


def floor_fn(case: Case) -> Callable[..., Any]:
    """A jitted element-wise op reading every input and writing one array of the gradient's
    size (the size of the differentiated arguments)."""
    big = [i for i in case.diff_argnums]

    def f(*args):
        out = []
        for i in big:
            acc = args[i].astype(jnp.float32)
            for j, a in enumerate(args):
                if j == i or not hasattr(a, "shape"):
                    continue
                a = jnp.asarray(a)
                if a.shape == args[i].shape:
                    acc = acc + a.astype(jnp.float32)
                elif a.ndim == args[i].ndim - 1 and a.shape == args[i].shape[:-1]:
                    acc = acc + a.astype(jnp.float32)[..., None]
            out.append(acc.astype(args[i].dtype))
        return out

    return jax.jit(f)


# --------------------------------------------------------------------------------------------
# Timing


def _block(x: Any) -> Any:
    return jax.block_until_ready(x)


def compile_vag(fn: Callable[..., Any], case: Case) -> tuple[Any, float, dict[str, int]]:
    """Compiles value_and_grad of ``fn`` (mean loss of the positional arrays)."""
    vag = jax.jit(jax.value_and_grad(fn, argnums=case.diff_argnums))
    t0 = time.perf_counter()
    compiled = vag.lower(*case.args).compile()
    seconds = time.perf_counter() - t0
    mem = {}
    try:
        ma = compiled.memory_analysis()
        mem = {"temp_bytes": int(ma.temp_size_in_bytes),
               "output_bytes": int(ma.output_size_in_bytes)}
    except Exception:  # noqa: BLE001  (not every backend reports it)
        pass
    return compiled, seconds, mem


def _torch_callables(torch, tfn, case: Case):
    def to_t(a):
        a = np.asarray(a.astype(jnp.float32) if jnp.issubdtype(a.dtype, jnp.floating) else a)
        t = torch.from_numpy(np.ascontiguousarray(a))
        return t.long() if not t.is_floating_point() else t

    targs = [to_t(a) for a in case.args]

    def fwd():
        with torch.no_grad():
            return float(tfn(*targs))

    def vag():
        leaves = [targs[i].detach().requires_grad_(True) for i in case.diff_argnums]
        args = list(targs)
        for i, leaf in zip(case.diff_argnums, leaves, strict=True):
            args[i] = leaf
        loss = tfn(*args)
        loss.backward()
        return float(loss), [leaf.grad for leaf in leaves]

    return fwd, vag


def time_round_robin(
    fns: dict[str, Callable[[], Any]], repeats: int, warmup: int, inner: int = 1
) -> dict[str, list[float]]:
    """Calls every function ``warmup`` times, then ``repeats`` rounds; in each round every
    function in turn gets ``inner`` back-to-back calls, of which the fastest is kept (load
    from other processes only ever adds time, so the fastest call is the least disturbed)."""
    for _ in range(warmup):
        for f in fns.values():
            _block(f())
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            best = float("inf")
            for _ in range(max(1, inner)):
                t0 = time.perf_counter()
                _block(f())
                best = min(best, time.perf_counter() - t0)
            times[k].append(best)
    return times


def _median_ratio(a: list[float], b: list[float]) -> float:
    return float(statistics.median(x / y for x, y in zip(a, b, strict=True)))


def target_for(case: Case, res: dict[str, Any]) -> list[tuple[str, float, float]]:
    """The issue's targets for this case: (what, measured ratio, bound)."""
    spec = registry.spec(case.loss)
    r = res["ratios"]
    out = []
    if spec.granularity == "element":
        if "vag/optax" in r:
            if res["ratios"].get("optax_vag/floor", 1e9) <= 2.5:
                out.append(("vag/floor", r["vag/floor"], 1.2))
            else:
                out.append(("vag/optax", r["vag/optax"], 0.5))
            out.append(("fwd/optax", r["fwd/optax"], 1.0))
        bound = 2.5 if case.loss in NON_TRANSCENDENTAL else 5.0
        out.append(("vag/floor", r["vag/floor"], bound))
    elif case.loss == "softmax_cross_entropy":
        if "vag/optax" in r:
            out.append(("vag/optax", r["vag/optax"], 0.8))
        out.append(("vag/floor", r["vag/floor"], 1.5))
        if "vag/torch" in r:
            out.append(("vag/torch", r["vag/torch"], 0.5))
    # dedupe (a case can get the same bound twice)
    seen, uniq = set(), []
    for t in out:
        if (t[0], t[2]) not in seen:
            seen.add((t[0], t[2]))
            uniq.append(t)
    return uniq


def run_case(
    case: Case, peers: Sequence[str], repeats: int, warmup: int, torch=None, inner: int = 1
) -> dict[str, Any]:
    fn = registry.get(case.loss)
    kw = case.kwargs
    lj = lambda *a: fn(*a, **kw)
    fns: dict[str, Callable[[], Any]] = {}
    res: dict[str, Any] = {"loss": case.loss, "shape": case.shape, "elements": case.elements}
    compiled, secs, mem = compile_vag(lj, case)
    fwd = jax.jit(lj).lower(*case.args).compile()
    fns["lossjax_fwd"] = lambda: fwd(*case.args)
    fns["lossjax_vag"] = lambda: compiled(*case.args)
    res["compile_s"] = {"lossjax": secs}
    res["memory"] = {"lossjax": mem}
    if "optax" in peers:
        adapter = _optax_adapters().get(case.loss)
        ofn = adapter(kw) if adapter else None
        if ofn is not None:
            oc, osecs, omem = compile_vag(ofn, case)
            ofwd = jax.jit(ofn).lower(*case.args).compile()
            fns["optax_fwd"] = lambda: ofwd(*case.args)
            fns["optax_vag"] = lambda: oc(*case.args)
            res["compile_s"]["optax"] = osecs
            res["memory"]["optax"] = omem
    if "torch" in peers and torch is not None:
        adapter = _torch_adapters(torch).get(case.loss)
        tfn = adapter(kw) if adapter else None
        if tfn is not None:
            tf, tv = _torch_callables(torch, tfn, case)
            try:
                tv()
            except Exception:  # noqa: BLE001  (adapter does not fit these inputs)
                tf = tv = None
            if tf is not None:
                fns["torch_fwd"] = tf
                fns["torch_vag"] = tv
    fl = floor_fn(case).lower(*case.args).compile()
    fns["floor"] = lambda: fl(*case.args)
    times = time_round_robin(fns, repeats, warmup, inner)
    res["median_s"] = {k: float(statistics.median(v)) for k, v in times.items()}
    ratios: dict[str, float] = {}
    ratios["vag/floor"] = _median_ratio(times["lossjax_vag"], times["floor"])
    ratios["fwd/floor"] = _median_ratio(times["lossjax_fwd"], times["floor"])
    for peer in ("optax", "torch"):
        if f"{peer}_vag" in times:
            ratios[f"vag/{peer}"] = _median_ratio(times["lossjax_vag"], times[f"{peer}_vag"])
            ratios[f"fwd/{peer}"] = _median_ratio(times["lossjax_fwd"], times[f"{peer}_fwd"])
            ratios[f"{peer}_vag/floor"] = _median_ratio(times[f"{peer}_vag"], times["floor"])
    res["ratios"] = ratios
    res["targets"] = [
        {"ratio": what, "measured": m, "bound": b, "met": bool(m <= b)}
        for what, m, b in target_for(case, res)
    ]
    return res


# --------------------------------------------------------------------------------------------
# End-to-end training step


def mlp_step_benchmark(
    batch: int = 1024, width: int = 1024, classes: int = 1000, depth: int = 2,
    repeats: int = 20, warmup: int = 3, seed: int = 0, inner: int = 1,
) -> dict[str, Any]:
    """Times ``jit(value_and_grad)`` of an MLP classifier's mean cross-entropy over the
    parameters, with lossjax's and optax's cross-entropy (alternated)."""
    import optax

    key = jax.random.PRNGKey(seed)
    keys = jax.random.split(key, depth + 3)
    dims = [width] * (depth + 1) + [classes]
    params = [
        (jax.random.normal(keys[i], (dims[i], dims[i + 1]), jnp.float32) / np.sqrt(dims[i]),
         jnp.zeros((dims[i + 1],), jnp.float32))
        for i in range(depth + 1)
    ]
    x = jax.random.normal(keys[-2], (batch, width), jnp.float32)
    y = jax.random.randint(keys[-1], (batch,), 0, classes)

    def logits(params, x):
        h = x
        for w, b in params[:-1]:
            h = jax.nn.relu(h @ w + b)
        w, b = params[-1]
        return h @ w + b

    losses = {
        "lossjax": lambda p: lossjax.softmax_cross_entropy(logits(p, x), y),
        "optax": lambda p: jnp.mean(
            optax.losses.softmax_cross_entropy_with_integer_labels(logits(p, x), y)),
    }
    compiled = {k: jax.jit(jax.value_and_grad(f)).lower(params).compile()
                for k, f in losses.items()}
    fns = {k: (lambda c=c: c(params)) for k, c in compiled.items()}
    times = time_round_robin(fns, repeats, warmup, inner)
    return {
        "config": {"batch": batch, "width": width, "classes": classes, "depth": depth},
        "median_s": {k: float(statistics.median(v)) for k, v in times.items()},
        "lossjax/optax": _median_ratio(times["lossjax"], times["optax"]),
    }


# --------------------------------------------------------------------------------------------
# Report


def machine() -> dict[str, Any]:
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "jax": jax.__version__, "backend": jax.default_backend(),
            "devices": [str(d) for d in jax.devices()], "cpu_count": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import optax

        info["optax"] = optax.__version__
    except ImportError:
        pass
    return info


def _ms(x: float | None) -> str:
    return "" if x is None else f"{1e3 * x:.2f}"


def _r(x: float | None) -> str:
    return "" if x is None else f"{x:.2f}"


def markdown(
    results: list[dict[str, Any]], e2e: dict[str, Any] | None, meta: dict[str, Any]
) -> str:
    lines = [
        f"Benchmark ({meta.get('date', '')}; {meta['machine'].get('cpu', '')}, "
        f"{meta['machine'].get('cpu_count')} CPUs, backend {meta['machine']['backend']}; "
        f"jax {meta['machine']['jax']}, optax {meta['machine'].get('optax', '-')}, torch "
        f"{meta.get('torch', 'not installed')}; dtype {meta['dtype']}, median of "
        f"{meta['repeats']} repeats (each the fastest of {meta['inner']} back-to-back calls) "
        f"after {meta['warmup']} warm-up, implementations alternated).",
        "",
        f"Command: `{meta['command']}`",
        "",
        "Times in ms. Ratios are medians of per-repeat ratios. `vag` = jitted "
        "value_and_grad of the mean loss; floor = one jitted element-wise pass reading the "
        "inputs and writing one gradient-sized array. Temp = XLA temporary bytes of `vag` "
        "(MiB, lossjax / optax).",
        "",
        "| loss | shape | fwd | vag | optax fwd | optax vag | torch vag | floor | "
        "vag/optax | vag/torch | vag/floor | fwd/optax | compile s | temp MiB | targets |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for res in results:
        m, r = res["median_s"], res["ratios"]
        mem = res["memory"]
        temp = "/".join(
            f"{mem[k]['temp_bytes'] / 2**20:.0f}" for k in ("lossjax", "optax")
            if k in mem and "temp_bytes" in mem[k]
        )
        comp = "/".join(f"{res['compile_s'][k]:.2f}" for k in ("lossjax", "optax")
                        if k in res["compile_s"])
        tg = "; ".join(
            f"{t['ratio']} {t['measured']:.2f} <= {t['bound']} {'OK' if t['met'] else 'MISSED'}"
            for t in res["targets"]
        )
        lines.append(
            f"| {res['loss']} | {res['shape']} | {_ms(m.get('lossjax_fwd'))} | "
            f"{_ms(m.get('lossjax_vag'))} | {_ms(m.get('optax_fwd'))} | {_ms(m.get('optax_vag'))} "
            f"| {_ms(m.get('torch_vag'))} | {_ms(m.get('floor'))} | {_r(r.get('vag/optax'))} | "
            f"{_r(r.get('vag/torch'))} | {_r(r.get('vag/floor'))} | {_r(r.get('fwd/optax'))} | "
            f"{comp} | {temp} | {tg} |"
        )
    if e2e:
        c = e2e["config"]
        lines += [
            "",
            f"End-to-end MLP step (batch {c['batch']}, width {c['width']}, depth {c['depth']}, "
            f"{c['classes']} classes; jit(value_and_grad) over the parameters): lossjax "
            f"{_ms(e2e['median_s']['lossjax'])} ms, optax {_ms(e2e['median_s']['optax'])} ms, "
            f"ratio lossjax/optax {e2e['lossjax/optax']:.3f} (target <= 1.0: "
            f"{'OK' if e2e['lossjax/optax'] <= 1.0 else 'MISSED'}).",
        ]
    return "\n".join(lines) + "\n"


def default_losses() -> list[str]:
    out = []
    for n in registry.names():
        s = registry.spec(n)
        if n in SKIP_BY_DEFAULT or not s.differentiable or s.sample is None:
            continue
        out.append(n)
    return out


def run(
    losses: Sequence[str] | None = None,
    sizes: Sequence[int] = DEFAULT_SIZES,
    class_shapes: Sequence[tuple[int, int]] = DEFAULT_CLASS_SHAPES,
    dtype: Any = "float32",
    repeats: int = 15,
    warmup: int = 2,
    inner: int = 3,
    peers: Sequence[str] = ("optax", "torch"),
    e2e: bool = True,
    e2e_config: dict[str, int] | None = None,
    command: str = "python -m experiments.benchmark",
    out: str | None = None,
    log: Callable[[str], None] = print,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None, str]:
    torch = torch_module() if "torch" in peers else None
    names = default_losses() if not losses or list(losses) == ["all"] else list(losses)
    names = [registry.spec(n).name for n in names]  # aliases -> canonical names
    results = []
    for name in names:
        for case in make_cases(name, sizes, _as_dtype(dtype), class_shapes):
            res = run_case(case, peers, repeats, warmup, torch, inner)
            results.append(res)
            r = res["ratios"]
            log(f"{name} {case.shape}: " + ", ".join(f"{k} {v:.2f}" for k, v in r.items()))
            del case
    e2e_res = (mlp_step_benchmark(repeats=repeats, warmup=warmup, inner=inner,
                                  **(e2e_config or {}))
               if e2e else None)
    meta = {
        "date": time.strftime("%Y-%m-%d"), "machine": machine(), "dtype": str(dtype),
        "repeats": repeats, "warmup": warmup, "inner": inner, "peers": list(peers),
        "command": command,
    }
    if torch is not None:
        meta["torch"] = f"{torch.__version__} eager, {torch.get_num_threads()} threads"
    md = markdown(results, e2e_res, meta)
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        with open(Path(out) / "benchmark.json", "w") as f:
            json.dump({"meta": meta, "results": results, "e2e": e2e_res}, f, indent=1)
        with open(Path(out) / "benchmark.md", "w") as f:
            f.write(md)
    return results, e2e_res, md


def main(argv: Sequence[str]) -> None:
    import sys

    from absl import flags

    del argv
    F = flags.FLAGS
    shapes = [tuple(int(v) for v in s.split("x")) for s in F.class_shapes]
    _, _, md = run(
        losses=F.losses, sizes=[int(s) for s in F.sizes], class_shapes=shapes,
        dtype=F.dtype, repeats=F.repeats, warmup=F.warmup, inner=F.inner, peers=F.peers,
        e2e=F.e2e,
        command="python -m experiments.benchmark " + " ".join(sys.argv[1:]), out=F.out,
    )
    print(md)


def define_flags() -> None:
    from absl import flags

    flags.DEFINE_list("losses", ["all"], "Registry names (or aliases) to benchmark, or 'all'.")
    flags.DEFINE_list("sizes", [str(s) for s in DEFAULT_SIZES],
                      "Element counts for element-wise (and sampler-based per-example) losses.")
    flags.DEFINE_list("class_shapes", [f"{n}x{k}" for n, k in DEFAULT_CLASS_SHAPES],
                      "NxK shapes for classification losses with integer labels.")
    flags.DEFINE_enum("dtype", "float32", ["float32", "bfloat16", "float16", "float64"],
                      "Dtype of the inputs.")
    flags.DEFINE_integer("repeats", 15, "Timed rounds (median).")
    flags.DEFINE_integer("warmup", 2, "Untimed rounds first.")
    flags.DEFINE_integer("inner", 3, "Back-to-back calls per implementation and round; the "
                         "fastest is kept (robust to other processes' load).")
    flags.DEFINE_list("peers", ["optax", "torch"], "Peers to compare with (optax, torch).")
    flags.DEFINE_bool("e2e", True, "Also time the end-to-end MLP training step.")
    flags.DEFINE_string("out", "experiments/results/benchmark", "Folder for JSON + markdown.")


if __name__ == "__main__":
    from absl import app

    define_flags()
    app.run(main)
