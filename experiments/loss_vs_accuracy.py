"""Loss versus accuracy: the model with the lowest cross-entropy is not the most accurate one.

Logistic regression ``p = sigmoid(a x + b)`` is fitted by minimising the mean cross-entropy
(``lossjax.binary_cross_entropy_with_logits``) with L-BFGS (``optax.lbfgs``) in float64 until
the gradient norm is below ``--tolerance``, on three data sets:

* ``small``: x = (-1, -0.3, 0, 0.9, 1), y = (0, 0, 1, 0, 1);
* ``medium``: 100 points, ``experiments/data/ill2_n100_seed845.csv``;
* ``large``: 10,000 points, ``experiments/data/ill3_n10000_seed1234.csv``
  (both drawn in R from a logistic model; see ``experiments/data/README.md``).

For each it reports the fitted ``a``, ``b``, the cut point ``-b/a``, the mean cross-entropy and
the accuracy at probability threshold 0.5 (logit 0; a point exactly on the cut counts as
predicted 0). Then it evaluates both on a grid over ``(a, b)`` in steps of 0.1 and reports the
largest accuracy on the grid with the range(s) of cut points that reach it, and the curves of
cross-entropy and accuracy along ``a`` (``b`` at the grid value nearest the fitted ``b``) and
along ``b``.

    python -m experiments.loss_vs_accuracy --out results/loss_vs_accuracy
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import app, logging

import lossjax
from experiments import _common
from experiments._common import opt

STUDY = "loss_vs_accuracy"
DATA_DIR = Path(__file__).parent / "data"
SMALL_X = (-1.0, -0.3, 0.0, 0.9, 1.0)
SMALL_Y = (0.0, 0.0, 1.0, 0.0, 1.0)
FILES = {"medium": "ill2_n100_seed845.csv", "large": "ill3_n10000_seed1234.csv"}
# Grid ranges in tenths: (a_lo, a_hi, b_lo, b_hi) * 10.
GRIDS = {"small": (-50, 50, -50, 50), "medium": (0, 100, -50, 50), "large": (0, 100, -50, 50)}


@dataclasses.dataclass(frozen=True)
class Config:
    datasets: tuple[str, ...] = opt(("small", "medium", "large"),
                                    "Data sets to study: small, medium, large.")
    tolerance: float = opt(1e-9, "Stop L-BFGS when the gradient norm is below this.")
    max_iterations: int = opt(500, "Most L-BFGS iterations.")
    grid_stride: int = opt(1, "Use every n-th grid value (1 = steps of 0.1; larger for tests).")
    seed: int = opt(0, "Random seed (the fit is deterministic; kept for a uniform CLI).")


TINY = Config(datasets=("small", "medium"), grid_stride=10, max_iterations=100)


def load_dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` as float64 arrays."""
    if name == "small":
        return np.array(SMALL_X), np.array(SMALL_Y)
    if name not in FILES:
        raise ValueError(f"unknown data set {name!r}; choose small, medium or large")
    data = np.loadtxt(DATA_DIR / FILES[name], delimiter=",", skiprows=1)
    return data[:, 0].copy(), data[:, 1].copy()


def _mean_ce(params: jax.Array, x: jax.Array, y: jax.Array) -> jax.Array:
    return lossjax.binary_cross_entropy_with_logits(params[0] * x + params[1], y)


@functools.partial(jax.jit, static_argnames=("max_iterations",))
def _fit(x, y, tolerance, max_iterations: int):
    f = functools.partial(_mean_ce, x=x, y=y)
    solver = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(f)

    def cond(carry):
        _, _, grad, it = carry
        return (it < max_iterations) & (optax.tree.norm(grad) > tolerance)

    def body(carry):
        params, state, _, it = carry
        value, grad = value_and_grad(params, state=state)
        updates, state = solver.update(grad, state, params, value=value, grad=grad, value_fn=f)
        params = optax.apply_updates(params, updates)
        return params, state, jax.grad(f)(params), it + 1

    p0 = jnp.zeros(2, x.dtype)
    init = (p0, solver.init(p0), jax.grad(f)(p0), jnp.asarray(0))
    params, _, grad, it = jax.lax.while_loop(cond, body, init)
    return params, optax.tree.norm(grad), it


def fit(x: np.ndarray, y: np.ndarray, config: Config) -> dict[str, float]:
    """Fits ``(a, b)`` by minimising the mean cross-entropy; float64."""
    with jax.enable_x64(True):
        xj, yj = jnp.asarray(x, jnp.float64), jnp.asarray(y, jnp.float64)
        params, gnorm, it = _fit(xj, yj, config.tolerance, config.max_iterations)
        a, b = (float(v) for v in params)
        logits = params[0] * xj + params[1]
        return {
            "a": a,
            "b": b,
            "cut": -b / a if a != 0 else float("nan"),
            "cross_entropy": float(lossjax.binary_cross_entropy_with_logits(logits, yj)),
            "accuracy": float(lossjax.accuracy(logits, yj, threshold=0.0)),
            "gradient_norm": float(gnorm),
            "iterations": int(it),
        }


@jax.jit
def _grid_values(a_values, b_values, x, y):
    """Mean cross-entropy and accuracy, ``[A, B]`` each, and the number predicted 1."""

    def row(a):
        logits = a * x[None, :] + b_values[:, None]  # [B, N]
        yb = jnp.broadcast_to(y, logits.shape)
        ce = jnp.mean(lossjax.binary_cross_entropy_with_logits(logits, yb, reduction="none"), -1)
        acc = jnp.mean(lossjax.accuracy(logits, yb, threshold=0.0, reduction="none"), -1)
        return ce, acc, jnp.sum(logits > 0, -1)

    return jax.lax.map(row, a_values)


def grid_study(x: np.ndarray, y: np.ndarray, name: str, fitted: dict[str, float],
               stride: int) -> dict[str, Any]:
    a_lo, a_hi, b_lo, b_hi = GRIDS[name]
    a_values = np.arange(a_lo, a_hi + 1, stride) / 10.0
    b_values = np.arange(b_lo, b_hi + 1, stride) / 10.0
    with jax.enable_x64(True):
        ce, acc, n_pos = (np.asarray(v) for v in _grid_values(
            jnp.asarray(a_values), jnp.asarray(b_values), jnp.asarray(x), jnp.asarray(y)))
    best = acc.max()
    ia, ib = np.nonzero(np.isclose(acc, best, rtol=0, atol=1e-12))
    # Group the maximising grid points by the labelling they give: the sign of a and the
    # number of points predicted 1 fix it (the prediction is monotone in x). Each group is one
    # range of cut points.
    groups: dict[tuple[int, int], list[float]] = {}
    constant = 0
    for i, j in zip(ia, ib, strict=True):
        a, b = a_values[i], b_values[j]
        if a == 0:
            constant += 1
            continue
        groups.setdefault((int(np.sign(a)), int(n_pos[i, j])), []).append(-b / a)
    cut_ranges = [
        {"low": min(c), "high": max(c), "sign_of_a": "+" if s > 0 else "-",
         "predicted_positive": k, "grid_points": len(c)}
        for (s, k), c in sorted(groups.items(), key=lambda kv: min(kv[1]))
    ]
    i_min = np.unravel_index(np.argmin(ce), ce.shape)
    best_ce_at_max_acc = float(ce[ia, ib].min())
    ja = int(np.argmin(np.abs(b_values - fitted["b"])))  # b fixed for the curve along a
    ia_ = int(np.argmin(np.abs(a_values - fitted["a"])))  # a fixed for the curve along b
    along_a = [{"a": float(a), "b": float(b_values[ja]), "cross_entropy": float(ce[i, ja]),
                "accuracy": float(acc[i, ja])} for i, a in enumerate(a_values)]
    along_b = [{"a": float(a_values[ia_]), "b": float(b), "cross_entropy": float(ce[ia_, j]),
                "accuracy": float(acc[ia_, j])} for j, b in enumerate(b_values)]
    return {
        "a_range": [float(a_values[0]), float(a_values[-1])],
        "b_range": [float(b_values[0]), float(b_values[-1])],
        "step": stride / 10.0,
        "max_accuracy": float(best),
        "cut_ranges": cut_ranges,
        "constant_predictors_at_max": constant,
        "min_cross_entropy": {"a": float(a_values[i_min[0]]), "b": float(b_values[i_min[1]]),
                              "cross_entropy": float(ce[i_min]), "accuracy": float(acc[i_min])},
        "lowest_cross_entropy_at_max_accuracy": best_ce_at_max_acc,
        "along_a": along_a,
        "along_b": along_b,
        "_maps": (a_values, b_values, ce, acc),
    }


def study_dataset(name: str, config: Config) -> dict[str, Any]:
    x, y = load_dataset(name)
    fitted = fit(x, y, config)
    logging.info("%s: a=%.4f b=%.4f cut=%.4f CE=%.4f acc=%.3f |grad|=%.2g after %d its",
                 name, fitted["a"], fitted["b"], fitted["cut"], fitted["cross_entropy"],
                 fitted["accuracy"], fitted["gradient_norm"], fitted["iterations"])
    out: dict[str, Any] = {"n": int(x.size), "positives": int(y.sum()), "fit": fitted}
    if name == "small":
        with jax.enable_x64(True):
            per = lossjax.binary_cross_entropy_with_logits(
                fitted["a"] * jnp.asarray(x) + fitted["b"], jnp.asarray(y), reduction="none")
        out["per_point_cross_entropy"] = [
            {"x": float(xi), "y": int(yi), "cross_entropy": float(c)}
            for xi, yi, c in zip(x, y, np.asarray(per), strict=True)]
    base = lossjax.diagnostics.chance_baseline(jnp.asarray(y, jnp.float32))
    out["chance"] = {"cross_entropy": base.cross_entropy, "accuracy": base.accuracy}
    out["grid"] = grid_study(x, y, name, fitted, config.grid_stride)
    logging.info("%s: grid max accuracy %.3f at %d cut range(s)", name,
                 out["grid"]["max_accuracy"], len(out["grid"]["cut_ranges"]))
    return out


def plot_dataset(name: str, res: dict[str, Any], x: np.ndarray, y: np.ndarray, out: str) -> str:
    plt = _common.pyplot()
    fit_, grid = res["fit"], res["grid"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.4))
    ax = axes[0]
    jitter = 0.0 if x.size < 200 else np.random.default_rng(0).uniform(-0.04, 0.04, x.size)
    ax.scatter(x, y + jitter, s=12 if x.size < 200 else 2, alpha=0.8 if x.size < 200 else 0.2,
               color="k", label="data")
    xs = np.linspace(x.min() - 0.1, x.max() + 0.1, 200)
    ax.plot(xs, 1 / (1 + np.exp(-(fit_["a"] * xs + fit_["b"]))), label="fitted p(x)")
    ax.axvline(fit_["cut"], color="C0", ls="--",
               label=f"fitted cut {fit_['cut']:.3f} (acc {fit_['accuracy']:.3f})")
    for k, r in enumerate(grid["cut_ranges"]):
        ax.axvspan(r["low"], r["high"], color="C2", alpha=0.3,
                   label=f"cuts with grid max acc {grid['max_accuracy']:.3f}" if k == 0 else None)
    ax.set(title=f"{name}: data and fit", xlabel="x", ylabel="y / p(y=1|x)",
           xlim=(x.min() - 0.15, x.max() + 0.15))
    ax.legend(fontsize=7, loc="center left")
    for ax, key, var, fixed in ((axes[1], "along_a", "a", "b"), (axes[2], "along_b", "b", "a")):
        pts = grid[key]
        v = [p[var] for p in pts]
        ax.plot(v, [p["cross_entropy"] for p in pts], color="C3", label="mean cross-entropy")
        ax.set_ylabel("mean cross-entropy", color="C3")
        ax2 = ax.twinx()
        ax2.step(v, [p["accuracy"] for p in pts], where="mid", color="C0", label="accuracy")
        ax2.set_ylabel("accuracy", color="C0")
        ax.axvline(fit_[var], color="k", ls=":", label=f"fitted {var}")
        ax.set(xlabel=var, title=f"{name}: along {var} ({fixed} = {pts[0][fixed]:g})")
        ax.legend(fontsize=7, loc="upper center")
    fig.tight_layout()
    return _common.save_figure(fig, out, f"{name}_curves.png")


def plot_maps(name: str, res: dict[str, Any], out: str) -> str:
    plt = _common.pyplot()
    a_values, b_values, ce, acc = res["grid"]["_maps"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ext = (b_values[0], b_values[-1], a_values[0], a_values[-1])
    for ax, m, title, cmap in ((axes[0], ce, "mean cross-entropy", "viridis_r"),
                               (axes[1], acc, "accuracy", "viridis")):
        im = ax.imshow(m, origin="lower", extent=ext, aspect="auto", cmap=cmap,
                       vmax=np.quantile(m, 0.95) if m is ce else None)
        fig.colorbar(im, ax=ax)
        ax.plot(res["fit"]["b"], res["fit"]["a"], "r*", ms=12, label="fitted (min CE)")
        ax.set(xlabel="b", ylabel="a", title=f"{name}: {title}")
    best = np.isclose(acc, acc.max(), rtol=0, atol=1e-12)
    ia, ib = np.nonzero(best)
    axes[1].scatter(b_values[ib], a_values[ia], s=14, facecolors="none", edgecolors="r",
                    linewidths=0.8, label="max accuracy")
    axes[1].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return _common.save_figure(fig, out, f"{name}_grid.png")


def run(config: Config, out: str) -> dict[str, Any]:
    """Fits and grids every data set, writes the figures and metrics.json."""
    metrics: dict[str, Any] = {"config": _common.config_dict(config), "plots": {}}
    for name in config.datasets:
        res = study_dataset(name, config)
        x, y = load_dataset(name)
        metrics["plots"][name] = [plot_dataset(name, res, x, y, out), plot_maps(name, res, out)]
        del res["grid"]["_maps"]
        metrics[name] = res
    _common.write_metrics(out, metrics)
    return metrics


def report(metrics: dict[str, Any], plots: str) -> str:
    f = _common.fmt
    names = [n for n in ("small", "medium", "large") if n in metrics]
    lines = ["## Loss versus accuracy: logistic regression on three data sets\n\n"]
    lines.append(_common.md_table(
        ["data", "n", "a", "b", "cut −b/a", "mean CE", "accuracy", "‖∇‖ at end",
         "L-BFGS its", "chance CE", "grid max accuracy", "cut ranges at grid max",
         "grid min CE (its accuracy)"],
        [[n, metrics[n]["n"], metrics[n]["fit"]["a"], metrics[n]["fit"]["b"],
          metrics[n]["fit"]["cut"], metrics[n]["fit"]["cross_entropy"],
          metrics[n]["fit"]["accuracy"], f(metrics[n]["fit"]["gradient_norm"], 2),
          metrics[n]["fit"]["iterations"], metrics[n]["chance"]["cross_entropy"],
          metrics[n]["grid"]["max_accuracy"], _ranges(metrics[n]["grid"]["cut_ranges"]),
          f"{f(metrics[n]['grid']['min_cross_entropy']['cross_entropy'])} "
          f"({f(metrics[n]['grid']['min_cross_entropy']['accuracy'])})"] for n in names]))
    if "small" in metrics:
        lines.append("\nPer-point cross-entropy of the fitted model on `small`:\n\n")
        pts = metrics["small"]["per_point_cross_entropy"]
        lines.append(_common.md_table(["x"] + [f(p["x"], 1) for p in pts],
                                      [["y"] + [str(p["y"]) for p in pts],
                                       ["cross-entropy"] + [f(p["cross_entropy"]) for p in pts]]))
    for n in names:
        lines.append("\n")
        for p in metrics["plots"][n]:
            lines.append(_common.md_image(f"{plots}/{p}", f"{n}: {p}"))
    text = []
    for n in names:
        m = metrics[n]
        fit_, grid = m["fit"], m["grid"]
        gap = grid["max_accuracy"] - fit_["accuracy"]
        if gap > 1e-9:
            text.append(
                f"On `{n}` the cross-entropy fit cuts at {f(fit_['cut'])} with accuracy "
                f"{f(fit_['accuracy'])}, but cuts in {_ranges(grid['cut_ranges'])} reach "
                f"{f(grid['max_accuracy'])} on the grid; the lowest cross-entropy among those "
                f"grid points is {f(grid['lowest_cross_entropy_at_max_accuracy'])}, against "
                f"{f(fit_['cross_entropy'])} at the fit.")
        else:
            text.append(
                f"On `{n}` the cross-entropy fit (cut {f(fit_['cut'])}) already reaches the grid's "
                f"largest accuracy {f(grid['max_accuracy'])}.")
    text.append(
        "Cross-entropy scores the probabilities on every point, accuracy only which side of the "
        "cut each point falls on; the minimiser of one need not maximise the other, and along "
        "each line through the fit the accuracy is a step function that is flat where the "
        "cross-entropy still changes.")
    lines.append("\n" + " ".join(text) + "\n")
    return "".join(lines)


def _ranges(rs: list[dict[str, Any]]) -> str:
    def one(r):
        side = " (a<0)" if r["sign_of_a"] == "-" else ""
        if r["low"] == r["high"]:
            return f"{{{r['low']:.4f}}}{side}"
        return f"[{r['low']:.4f}, {r['high']:.4f}]{side}"

    return " ∪ ".join(one(r) for r in rs)


def main(argv: list[str]) -> None:
    del argv
    run(_common.config_from_flags(Config), _common.FLAGS.out)


if __name__ == "__main__":
    _common.define_flags(Config, default_out=f"results/{STUDY}")
    app.run(main)
