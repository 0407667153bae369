"""Figures and shape facts of the loss pages: run as a script by ``lossjax_pages.py``.

``python docs/_ext/lossjax_figures.py --out DIR --stamp S NAME...`` draws ``DIR/NAME.png`` (the
loss and its derivative along the loss's natural axis, computed by lossjax itself: value by
``reduction="sum"`` of one unit, derivative by ``jax.grad``; matplotlib's Agg backend) and
writes ``DIR/NAME.json`` (the caption, the inputs held fixed, the shapes of a sampled example
under each reduction, and ``S``, the stamp of the sources the figure was drawn from).

The axis, by what the registry says of the loss (:func:`_case`):

* element-wise regression: the prediction around the target 1 (a loss defined on part of the
  axis only, such as a log-domain one, is redrawn over the part where it is finite);
* element-wise binary losses: the logit, score or probability, one curve per target;
* losses over a class axis: the first of the logits ``(z, 0, 0)`` (probabilities
  ``(q, (1-q)/2, (1-q)/2)``) of one example with three classes, against the label 0;
* boxes: a unit box sliding across the target box;
* any other loss: the coordinate of the first input of the registry sampler's example (seed 0)
  with the largest gradient there, the rest fixed, one curve per pair label where the last
  input is a binary or signed pair label. Every registered loss gets a figure.

Run in subprocesses so that JAX's thread pool never starts in the Sphinx process, which forks
its parallel readers.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
KINDS = {"binary": (1.0, 0.0), "signed": (1.0, -1.0)}


def _registry():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from lossjax import registry

    return registry


def stamp() -> str:
    """A hash of everything a figure is drawn from: lossjax's sources, this file, versions."""
    h = hashlib.sha256()
    for path in sorted((ROOT / "lossjax").rglob("*.py")):
        h.update(path.relative_to(ROOT).as_posix().encode())
        h.update(path.read_bytes())
    h.update(Path(__file__).read_bytes())
    from importlib import metadata

    for dist in ("jax", "matplotlib"):
        h.update(f"{dist}={metadata.version(dist)}".encode())
    return h.hexdigest()


def _case(spec) -> dict[str, Any]:
    """How to draw ``spec``: ``make(z) -> (args, kwargs)`` per curve, the grid and labels."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    f32 = jnp.float32
    args0, kw0 = _sample(spec, (1,), concrete=False)
    if any(isinstance(v, jax.Array) for v in kw0.values()):  # array keywords: their values
        args0, kw0 = _sample(spec, (1,), concrete=True)
    targets = spec.targets
    kinds = KINDS
    case: dict[str, Any] = {"kwargs": dict(kw0), "example": ""}

    if spec.granularity == "element" and len(args0) >= 2 and args0[0].shape == (1,) \
            and spec.predictions in ("values", "logits", "scores", "probabilities"):
        if spec.task == "regression" and targets == "values":
            t = jnp.ones((1,), f32)
            if len(args0) > 2:
                args0, kw0 = _sample(spec, (1,), concrete=True)
            case.update(
                grid=np.linspace(-2.0, 4.0, 241), xlabel="prediction $p$ (target $t = 1$)",
                curves=[("target 1", lambda z: (jnp.reshape(z, (1,)), t, *args0[2:]))],
                caption=f"{spec.name} of one element against the target 1, as the prediction "
                        "moves, and its derivative in the prediction.")
            if len(args0) > 2:
                case["example"] = "other inputs: " + ", ".join(
                    np.array2string(np.asarray(a), precision=3) for a in args0[2:])
            return case
        for kind, values in kinds.items():
            if targets.startswith(kind) and len(args0) == 2:
                probs = spec.predictions == "probabilities"
                grid = np.linspace(0.002, 0.998, 241) if probs else np.linspace(-4.0, 4.0, 241)
                if spec.predictions == "values":  # a distance (hinge_embedding)
                    grid = np.linspace(0.0, 3.0, 241)
                what = {"probabilities": "predicted probability $p$", "logits": "logit $z$",
                        "scores": "score $s$", "values": "prediction $d$"}[spec.predictions]
                case.update(
                    grid=grid, xlabel=what,
                    curves=[(f"target {v:g}", _against(v)) for v in values],
                    caption=f"{spec.name} of one element for each target, over the {what}, "
                            "and its derivative in the prediction.")
                return case
    if spec.granularity == "example" and spec.has_axis and len(args0[0].shape) == 2 \
            and len(args0) == 2 and "label lists" not in targets:
        k = 3
        labels = jnp.issubdtype(args0[1].dtype, jnp.integer)
        onehot = jnp.eye(k, dtype=f32)[:1]
        if labels:
            t = jnp.zeros((1,), jnp.int32)
            tdesc = "the label 0"
        elif spec.task == "divergence":
            t = jnp.asarray([[0.5, 0.25, 0.25]], f32)
            tdesc = "the target distribution $(0.5, 0.25, 0.25)$"
        else:
            t = onehot
            tdesc = "the one-hot target $(1, 0, 0)$"
        if spec.predictions in ("logits", "scores"):
            case.update(grid=np.linspace(-4.0, 4.0, 241),
                        xlabel="$z$, the first of the logits $(z, 0, 0)$",
                        curves=[(tdesc, lambda z: (jnp.stack([z, 0.0 * z, 0.0 * z])[None],
                                                   t))])
        elif spec.predictions in ("probabilities", "log_probabilities"):
            def probs(q):
                p = jnp.stack([q, (1 - q) / 2, (1 - q) / 2])[None]
                return jnp.log(p) if spec.predictions == "log_probabilities" else p

            case.update(grid=np.linspace(0.002, 0.998, 241),
                        xlabel="$q$, with predicted probabilities $(q, (1-q)/2, (1-q)/2)$"
                        + (" (passed as logs)" if spec.predictions == "log_probabilities"
                           else ""),
                        curves=[(tdesc, lambda q: (probs(q), t))])
        elif spec.predictions == "values":
            case.update(grid=np.linspace(-4.0, 4.0, 241),
                        xlabel="$z$, with predictions $(z, 1, 0)$",
                        curves=[("target $(1, 0, 0)$",
                                 lambda z: (jnp.stack([z, 1.0 + 0 * z, 0 * z])[None], onehot))])
        if "curves" in case:
            case["caption"] = (f"{spec.name} of one example with three classes against "
                               f"{tdesc}, as one input moves, and its derivative.")
            return case
    if spec.task == "boxes":
        t = jnp.asarray([[0.0, 0.0, 1.0, 1.0]], f32)
        case.update(
            grid=np.linspace(-2.5, 2.5, 241),
            xlabel="shift $s$ of the box $(s, 0, s+1, 1)$ against $(0, 0, 1, 1)$",
            curves=[("target $(0, 0, 1, 1)$",
                     lambda s: (jnp.stack([s, 0 * s, s + 1, 1 + 0 * s])[None], t))],
            caption=f"{spec.name} of a unit box sliding horizontally across the target box, "
                    "and its derivative in the shift.")
        return case
    # Any other loss: one coordinate of the first input of the sampler's example, the one
    # the loss is most sensitive to there (a padded or masked coordinate would draw a flat
    # line); a loss whose last input is a binary or signed pair label gets a curve per label.
    args0, kw0 = _sample(spec, (1,), concrete=True)
    args0 = (args0[0].astype(f32), *args0[1:])
    pair = [v for kind, v in kinds.items() if targets.startswith(kind)]
    variants = [(f"pair label {v:g}", (*args0[:-1], jnp.full(args0[-1].shape, v,
                                                             args0[-1].dtype)))
                for v in (pair[0] if pair and len(args0) > 2 else ())] or \
        [("sampled example", args0)]
    x0 = np.asarray(args0[0])
    index = (0,) * x0.ndim
    if spec.differentiable:
        g = jax.jit(jax.grad(lambda x, *rest: spec.fn(x, *rest, reduction="sum", **kw0)))(
            *variants[0][1])
        index = tuple(int(i) for i in np.unravel_index(np.argmax(np.abs(np.asarray(g))),
                                                       x0.shape))
    v0 = float(x0[index])
    if spec.predictions == "probabilities" or kw0.get("from_logits") is False:
        grid = np.linspace(0.002, 0.998, 241)
    else:
        grid = np.linspace(v0 - 3.0, v0 + 3.0, 241)

    def vary(a):
        return lambda z: (a[0].at[index].set(z), *a[1:])

    import inspect

    names = [p.name for p in inspect.signature(spec.fn).parameters.values()
             if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    names += [f"argument {i}" for i in range(len(names), len(args0))]
    shown = "\n".join(
        f"{names[i]} {tuple(a.shape)}: " + np.array2string(
            np.asarray(a), precision=3, suppress_small=True, max_line_width=88,
            threshold=80)
        for i, a in enumerate(args0))
    if kw0:
        shown += "\nkeywords: " + ", ".join(f"{k}={v!r}" for k, v in kw0.items())
    if len(variants) > 1:
        shown += "\n(the last argument is replaced by each pair label drawn)"
    where = ", ".join(str(i) for i in index)
    case.update(grid=grid, xlabel=f"$x$ = {names[0]}[{where}], the rest fixed",
                curves=[(label, vary(a)) for label, a in variants], example=shown,
                caption=f"{spec.name} of the example below as one coordinate of its first "
                        f"input, `{names[0]}[{where}]` (the one with the largest gradient "
                        "there), moves, and its derivative in that coordinate.")
    return case


def _against(target: float):
    """``z -> (predictions [z], targets [target])``: one element against a fixed target."""
    import jax.numpy as jnp

    return lambda z: (jnp.reshape(z, (1,)), jnp.full((1,), target, jnp.float32))


def _sample(spec, batch: tuple[int, ...], *, concrete: bool):
    """The registry sampler's example (seed 0): arrays, or only their shapes and dtypes.

    Sampling eagerly would compile every small random op on its own; the concrete sample is
    one jitted program, the abstract one compiles nothing. The keywords are Python values.
    """
    import jax
    import jax.numpy as jnp

    static: dict[str, Any] = {}

    def draw_args(key):
        try:
            args, kw = spec.sample(key, batch, jnp.float32)
        except NotImplementedError as e:
            raise RuntimeError(f"{spec.name}: no figure rule applies and the registry cannot "
                               f"sample its inputs ({e}); register it with `sample=`") from e
        arrays = {k: v for k, v in kw.items() if isinstance(v, jax.Array)}
        static.update({k: v for k, v in kw.items() if k not in arrays})
        return tuple(jnp.asarray(a) for a in args), arrays

    key = jax.random.PRNGKey(0)
    if concrete:
        args, arrays = jax.jit(draw_args)(key)
        return args, {**static, **arrays}
    args, arrays = jax.eval_shape(draw_args, key)
    return args, {**static, **{k: jnp.zeros(v.shape, v.dtype) for k, v in arrays.items()}}


def _curve(fn, make, kwargs, differentiable):
    """A jitted ``grid -> (values, derivatives)`` of the loss along the figure's axis."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    def value(z):
        args = make(z)
        return fn(*args, reduction="sum", **kwargs)

    run = jax.jit(lambda zs: jax.lax.map(
        jax.value_and_grad(value) if differentiable else lambda z: (value(z), z), zs))

    def at(grid):
        v, g = run(jnp.asarray(grid, jnp.float32))
        return np.asarray(v, np.float64), (np.asarray(g, np.float64) if differentiable
                                           else None)

    return at


def _limits(ys) -> tuple[float, float] | None:
    import numpy as np

    vals = np.concatenate([y[np.isfinite(y)] for y in ys if y is not None])
    if vals.size == 0:
        return None
    p2, p98 = np.percentile(vals, [2, 98])
    spread = p98 - p2
    lo, hi = max(vals.min(), p2 - 0.5 * spread), min(vals.max(), p98 + 0.5 * spread)
    # at least 5% of the magnitude: a constant drawn with float noise stays a flat line
    pad = max(0.08 * (hi - lo), 0.05 * max(abs(lo), abs(hi)), 1e-3)
    return float(lo - pad), float(hi + pad)


def draw(name: str, out: Path) -> dict[str, Any]:
    """Draws ``out/<name>.png`` and returns the page's facts (caption, example, shapes)."""
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = _registry().spec(name)
    case = _case(spec)
    grid = np.asarray(case["grid"])
    runs = [(label, _curve(spec.fn, make, case["kwargs"], spec.differentiable))
            for label, make in case["curves"]]
    curves = [(label, *run(grid)) for label, run in runs]
    finite = np.zeros(grid.shape, bool)
    for _, v, _g in curves:
        finite |= np.isfinite(v)
    if not finite.any():
        raise RuntimeError(f"{name}: the figure's loss is not finite anywhere on its axis")
    if not finite.all():  # a log-domain loss: redraw over the part of the axis it is defined on
        idx = np.flatnonzero(finite)
        grid = np.linspace(grid[idx[0]], grid[idx[-1]], grid.size)
        curves = [(label, *run(grid)) for label, run in runs]

    ncols = 2 if spec.differentiable else 1
    fig, axes = plt.subplots(1, ncols, figsize=(4.2 * ncols, 3.0), dpi=110, squeeze=False,
                             layout="constrained")
    ax_v = axes[0, 0]
    for label, v, _g in curves:
        ax_v.plot(grid, v, label=label, lw=1.8)
    ax_v.set_title("loss")
    lim = _limits([c[1] for c in curves])
    if lim:
        ax_v.set_ylim(*lim)
    if spec.differentiable:
        ax_g = axes[0, 1]
        for label, _v, g in curves:
            ax_g.plot(grid, g, label=label, lw=1.8)
        ax_g.axhline(0.0, color="0.6", lw=0.8)
        ax_g.set_title("derivative (jax.grad)")
        lim = _limits([c[2] for c in curves])
        if lim:
            ax_g.set_ylim(*lim)
    for ax in axes[0]:
        ax.set_xlabel(case["xlabel"], fontsize=8)
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=8)
        ax.ticklabel_format(axis="y", useOffset=False)
    if len(curves) > 1:
        ax_v.legend(fontsize=8)
    fig.suptitle(name, fontsize=10)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / f"{name}.png")
    plt.close(fig)
    caption = case["caption"]
    if not spec.differentiable:
        caption += " Not differentiable: its gradient is zero almost everywhere, not drawn."
    return {"caption": caption, "example": case["example"], "shapes": shapes(spec)}


def shapes(spec) -> dict[str, Any] | None:
    """The shapes of a sampled example's inputs and of its loss under each reduction."""
    import inspect

    import jax

    for batch in ((2, 3), (4,)):
        try:
            args, kw = _sample(spec, batch, concrete=False)
            out = {r: jax.eval_shape(lambda *a, r=r, kw=kw: spec.fn(*a, reduction=r, **kw),
                                     *args).shape
                   for r in ("none", "sum", "mean")}
        except Exception:  # noqa: BLE001  (a loss with one batch axis only: try the next)
            continue
        params = [p for p in inspect.signature(spec.fn).parameters.values()
                  if p.kind is not inspect.Parameter.KEYWORD_ONLY]
        names = [p.name for p in params]
        return {"inputs": [(names[i] if i < len(names) else f"arg{i}", list(a.shape))
                           for i, a in enumerate(args)],
                "kwargs": ", ".join(f"`{k}={v!r}`" for k, v in kw.items()),
                **{r: list(s) for r, s in out.items()}}
    return None


def _main(argv: list[str]) -> int:
    """``python lossjax_pages.py --out DIR --stamp S NAME...``: figures and facts of NAMEs."""
    out = Path(argv[argv.index("--out") + 1])
    stamp = argv[argv.index("--stamp") + 1]
    names = [a for i, a in enumerate(argv) if i > 0 and argv[i - 1] not in ("--out", "--stamp")
             and not a.startswith("--")]
    for name in names:
        facts = draw(name, out)
        facts["stamp"] = stamp
        (out / f"{name}.json").write_text(json.dumps(facts, indent=1), encoding="utf-8")
    return 0




if __name__ == "__main__":
    sys.exit(_main(sys.argv))
