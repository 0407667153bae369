"""Loss landscape: classification losses against the margin, regression losses against the residual.

Each loss is drawn from the registry (``lossjax.get``) and plotted beside its derivative:

* classification losses as functions of the margin ``z = y f(x)`` on ``[-4, 4]`` (predictions
  ``z`` with target +1, or 1 for losses with {0, 1} targets), against the zero-one loss
  ``1[z <= 0]``; the logistic loss is drawn in base 2 (``BCE(z, 1) / ln 2``) so that it is 1 at
  ``z = 0`` like the others;
* regression losses as functions of the residual ``r = prediction - target``.

Any registered loss can be added with ``--classification_losses`` / ``--regression_losses``
(``name`` or ``name:key=value``). Derivatives come from ``jax.grad`` of the summed loss, so they
are what an optimiser sees. The numbers in ``metrics.json`` say which losses bound the zero-one
loss from above, which are convex on the grid, and how large each gradient can get (a bounded
gradient is what makes a regression loss robust to outliers).

    python -m experiments.loss_landscape --out results/loss_landscape
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, logging

from experiments import _common
from experiments._common import opt

STUDY = "loss_landscape"
# Pseudo-names understood besides registry names.
LOGISTIC_BASE2 = "logistic_base2"


@dataclasses.dataclass(frozen=True)
class Config:
    classification_losses: tuple[str, ...] = opt(
        ("zero_one", "hinge", "squared_hinge", "perceptron", LOGISTIC_BASE2, "modified_huber",
         "exponential"),
        "Margin losses (registry names, name:key=value, or 'logistic_base2' for the "
        "cross-entropy on logits divided by ln 2).",
    )
    focal_gammas: tuple[float, ...] = opt(
        (0.5, 2.0, 5.0), "gamma values of sigmoid_focal to add to the margin plot (in base 2).")
    regression_losses: tuple[str, ...] = opt(
        ("squared_error", "absolute_error", "huber", "pseudo_huber", "log_cosh"),
        "Residual losses (registry names or name:key=value).",
    )
    limit: float = opt(4.0, "Half-width of the margin / residual range.")
    points: int = opt(801, "Number of grid points (odd, so that 0 is one of them).")
    seed: int = opt(0, "Random seed (the study is deterministic; kept for a uniform CLI).")


TINY = Config(points=81, focal_gammas=(2.0,))

PROBE = (-4.0, -1.0, 0.0, 1.0, 4.0)


@dataclasses.dataclass(frozen=True)
class Curve:
    label: str
    source: str
    values: np.ndarray
    grads: np.ndarray


def _margin_fn(text: str):
    """(label, source, f(z) -> per-point loss) for a margin loss given by name."""
    if text == LOGISTIC_BASE2:
        bce = _common.parse_loss("binary_cross_entropy_with_logits")
        return ("logistic (base 2)", "registry: binary_cross_entropy_with_logits / ln 2",
                lambda z: bce.fn(z, jnp.ones_like(z), reduction="none") / math.log(2.0))
    choice = _common.parse_loss(text)
    fn, hyper = choice.fn, choice.hyper()
    source = "fallback (local definition)" if choice.fallback else f"registry: {choice.name}"
    if choice.task == "metric":  # zero_one / accuracy: binary targets, threshold 0 on scores
        return choice.label, source, lambda z: fn(z, jnp.ones_like(z), threshold=0.0,
                                                  reduction="none", **hyper)
    if choice.granularity == "example":  # multiclass: two-class logits (0, z), label 1
        def f(z):
            logits = jnp.stack([jnp.zeros_like(z), z], -1)
            labels = jnp.ones(z.shape, jnp.int32)
            return fn(logits, labels, reduction="none", **hyper)
        return choice.label, source + " (two-class logits (0, z), label 1)", f
    kind = choice.predictions_kind

    def f(z):
        p = jax.nn.sigmoid(z) if kind == "probabilities" else z
        t = jnp.ones_like(z)  # +1 for signed targets, 1 for {0, 1} targets
        return fn(p, t, reduction="none", **hyper)

    return choice.label, source, f


def _residual_fn(text: str):
    choice = _common.parse_loss(text)
    fn, hyper = choice.fn, choice.hyper()
    source = "fallback (local definition)" if choice.fallback else f"registry: {choice.name}"
    if choice.task != "regression" or choice.granularity != "element":
        raise ValueError(f"{text}: not a per-element regression loss")
    return choice.label, source, lambda r: fn(r, jnp.zeros_like(r), reduction="none", **hyper)


def _curve(label: str, source: str, f, x: jax.Array) -> Curve:
    # One compiled function per loss: the value and the derivative at every grid point.
    values, grads = jax.jit(jax.vmap(jax.value_and_grad(lambda v: f(v[None])[0])))(x)
    return Curve(label, source, np.asarray(values, np.float64), np.asarray(grads, np.float64))


def grid(config: Config) -> np.ndarray:
    """``points`` (made odd) equally spaced values on [-limit, limit]; 0 is one of them."""
    m = max(config.points // 2, 1)
    return config.limit * np.arange(-m, m + 1, dtype=np.float64) / m


def compute_curves(config: Config) -> tuple[np.ndarray, list[Curve], list[Curve]]:
    """The grid and the (value, derivative) curves of every requested loss (float64)."""
    with jax.enable_x64(True):
        return _compute_curves(config)


def _compute_curves(config: Config) -> tuple[np.ndarray, list[Curve], list[Curve]]:
    x = jnp.asarray(grid(config), jnp.float64)
    margin = []
    for text in config.classification_losses:
        margin.append(_curve(*_margin_fn(text), x))
        logging.info("margin loss %s", margin[-1].label)
    for g in config.focal_gammas:
        text = f"sigmoid_focal:gamma={g:g}"
        label, source, f = _margin_fn(text)
        margin.append(_curve(f"focal γ={g:g} (base 2)", source + " / ln 2",
                             lambda z, f=f: f(z) / math.log(2.0), x))
    residual = [_curve(*_residual_fn(text), x) for text in config.regression_losses]
    return np.asarray(x, np.float64), margin, residual


def _at(x: np.ndarray, y: np.ndarray, points) -> dict[str, float]:
    return {f"{p:g}": float(y[np.argmin(np.abs(x - p))]) for p in points}


def curve_metrics(x: np.ndarray, c: Curve, zero_one: np.ndarray | None) -> dict[str, Any]:
    h = x[1] - x[0]
    second = (c.values[2:] - 2 * c.values[1:-1] + c.values[:-2]) / h**2
    out = {
        "label": c.label,
        "source": c.source,
        "value_at": _at(x, c.values, PROBE),
        "gradient_at": _at(x, c.grads, PROBE),
        "max_abs_gradient": float(np.max(np.abs(c.grads))),
        # Convex on the grid: no second difference below -tolerance (kinks give large positive
        # second differences, never negative ones); float64 keeps rounding far below it.
        "convex_on_grid": bool(np.all(second >= -1e-6 * max(1.0, np.max(np.abs(c.values))))),
    }
    if zero_one is not None:
        out["upper_bounds_zero_one"] = bool(np.all(c.values >= zero_one - 1e-6))
    return out


def plot(x: np.ndarray, curves: list[Curve], xlabel: str, title: str, ylim, glim, out, name):
    plt = _common.pyplot()
    fig, (ax_l, ax_g) = plt.subplots(1, 2, figsize=(12, 4.6))
    for c in curves:
        style = {"lw": 2.2, "color": "k"} if c.label.startswith("zero_one") else {"lw": 1.5}
        ax_l.plot(x, c.values, label=c.label, **style)
        ax_g.plot(x, c.grads, label=c.label, **style)
    ax_l.set(xlabel=xlabel, ylabel="loss", title=title, ylim=ylim)
    ax_g.set(xlabel=xlabel, ylabel="d loss / d " + xlabel.split()[0], title="derivative",
             ylim=glim)
    for ax in (ax_l, ax_g):
        ax.axvline(0, color="0.7", lw=0.8)
        ax.axhline(0, color="0.7", lw=0.8)
        ax.grid(alpha=0.3)
    ax_l.legend(fontsize=8)
    return _common.save_figure(fig, out, name)


def run(config: Config, out: str) -> dict[str, Any]:
    """Computes every curve, writes the two figures and metrics.json; returns the metrics."""
    x, margin, residual = compute_curves(config)
    zero_one = (x <= 0).astype(np.float64)
    plots = {
        "margin": plot(x, margin, "z = y f(x)", "classification losses vs margin",
                       (-0.1, 5.0), (-4.5, 1.0), out, "margin_losses.png"),
        "residual": plot(x, residual, "r = prediction - target", "regression losses vs residual",
                         (-0.1, min(8.0, config.limit**2)), (-2 * config.limit - 0.5,
                                                              2 * config.limit + 0.5),
                         out, "residual_losses.png"),
    }
    metrics = {
        "config": _common.config_dict(config),
        "plots": plots,
        "classification": [curve_metrics(x, c, zero_one) for c in margin],
        "regression": [curve_metrics(x, c, None) for c in residual],
    }
    _common.write_metrics(out, metrics)
    return metrics


def report(metrics: dict[str, Any], plots: str) -> str:
    """The REPORT.md section; ``plots`` is the path of the plot folder relative to the report."""
    cls, reg = metrics["classification"], metrics["regression"]
    lines = ["## Loss landscape: margin and residual\n\n",
             _common.md_image(f"{plots}/{metrics['plots']['margin']}", "margin losses"),
             _common.md_image(f"{plots}/{metrics['plots']['residual']}", "residual losses")]
    lines.append(_common.md_table(
        ["margin loss", "ℓ(-1)", "ℓ(0)", "ℓ(1)", "ℓ'(-4)", "ℓ'(0)", "max slope", "≥ 0-1 loss",
         "convex", "source"],
        [[c["label"], c["value_at"]["-1"], c["value_at"]["0"], c["value_at"]["1"],
          c["gradient_at"]["-4"], c["gradient_at"]["0"], c["max_abs_gradient"],
          c["upper_bounds_zero_one"], c["convex_on_grid"], c["source"]] for c in cls]))
    lines.append("\n")
    lines.append(_common.md_table(
        ["residual loss", "ℓ(1)", "ℓ(4)", "ℓ'(1)", "ℓ'(4)", "max slope", "convex",
         "source"],
        [[c["label"], c["value_at"]["1"], c["value_at"]["4"], c["gradient_at"]["1"],
          c["gradient_at"]["4"], c["max_abs_gradient"], c["convex_on_grid"], c["source"]]
         for c in reg]))
    bounds = [c["label"] for c in cls if c["upper_bounds_zero_one"]
              and not c["label"].startswith("zero_one")]
    not_bounds = [c["label"] for c in cls if not c["upper_bounds_zero_one"]]
    nonconvex = [c["label"] for c in cls if not c["convex_on_grid"]]
    vanishing = [c["label"] for c in cls if abs(c["gradient_at"]["-4"]) < 1e-6
                 and not c["label"].startswith("zero_one")]
    limit = metrics["config"]["limit"]
    bounded = [c for c in reg if c["max_abs_gradient"] <= 1.0 + 1e-6 * limit]
    unbounded = [c for c in reg if c not in bounded]
    text = [
        f"\nOn the grid, {_list(bounds)} lie above the zero-one loss, so minimising them "
        "bounds the training error"
        + (f"; {_list(not_bounds)} do not." if not_bounds else "."),
        f"Non-convex in the margin: {_list(nonconvex) or 'none'}."
        if nonconvex else "Every margin loss drawn is convex on the grid.",
        (f"The gradient vanishes on badly misclassified points (z = -4) for "
         f"{_list(vanishing)}: such a loss stops correcting them." if vanishing else
         "No margin loss drawn has a vanishing gradient at z = -4 except the zero-one loss."),
        f"For regression, the largest gradient magnitude on [-{limit:g}, {limit:g}] is at most 1 "
        f"for {_list([c['label'] for c in bounded])} (bounded influence: an outlier pulls no "
        "harder than an ordinary error)"
        + (", while it reaches "
           + ", ".join(f"{_common.fmt(c['max_abs_gradient'], 2)} for {c['label']}"
                       for c in unbounded)
           + " and keeps growing with the residual." if unbounded else "."),
    ]
    lines.append(" ".join(text) + "\n")
    return "".join(lines)


def _list(items: list[str]) -> str:
    return ", ".join(items)


def main(argv: list[str]) -> None:
    del argv
    run(_common.config_from_flags(Config), _common.FLAGS.out)


if __name__ == "__main__":
    _common.define_flags(Config, default_out=f"results/{STUDY}")
    app.run(main)
