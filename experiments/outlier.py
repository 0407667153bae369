"""One outlier in the test set: test loss rises while test accuracy rises or holds.

A network with one hidden layer of 3 ReLU units and a sigmoid output (Flax NNX) is trained
full batch with Adam (learning rate 0.05) for 300 epochs on binary cross-entropy computed from
the logits (``lossjax.binary_cross_entropy_with_logits``; any binary registry loss via
``--loss``). Train set: 10 points of class 0 at ``0.5 + 0.5 U(0, 1)`` and 10 of class 1 at
``0.5 - 1.5 U(0, 1)``. The test set is drawn the same way, but one class-1 point is placed among
the class-0 points. As the model grows confident, the loss on that one point grows without
bound while every other test point is classified right: the mean test loss rises and the
accuracy does not fall. The study repeats this over several seeds (one ``vmap``-ed, ``jit``-ed
``lax.scan``), and asks :func:`lossjax.diagnostics.loss_summary` to name the outlier.

    python -m experiments.outlier --out results/outlier
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import app, logging
from flax import nnx

from experiments import _common
from experiments._common import opt
from lossjax import diagnostics

STUDY = "outlier"


@dataclasses.dataclass(frozen=True)
class Config:
    seeds: int = opt(10, "Number of repetitions (seed, seed + 1, ...): data and init.")
    seed: int = opt(0, "First seed.")
    epochs: int = opt(300, "Full-batch Adam epochs.")
    learning_rate: float = opt(0.05, "Adam learning rate.")
    hidden: int = opt(3, "ReLU units in the hidden layer.")
    per_class: int = opt(10, "Points per class in the train and in the test set.")
    loss: str = opt("binary_cross_entropy_with_logits",
                    "Training/test loss: a per-element binary registry loss (name[:key=value]).")


TINY = Config(seeds=2, epochs=30)


class MLP(nnx.Module):
    """x -> Linear(1, hidden) -> ReLU -> Linear(hidden, 1): the logit of class 1."""

    def __init__(self, hidden: int, *, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(1, hidden, rngs=rngs)
        self.out = nnx.Linear(hidden, 1, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.out(jax.nn.relu(self.hidden(x[:, None])))[:, 0]


def make_data(seed: int, per_class: int) -> dict[str, np.ndarray]:
    """Train and test sets; the test set's first class-1 point sits among the class-0 points."""
    rng = np.random.default_rng(seed)

    def draw():
        x0 = 0.5 + 0.5 * rng.uniform(size=per_class)
        x1 = 0.5 - 1.5 * rng.uniform(size=per_class)
        return np.concatenate([x0, x1]), np.concatenate([np.zeros(per_class),
                                                        np.ones(per_class)])

    xtr, ytr = draw()
    xte, yte = draw()
    outlier = per_class  # the first class-1 test point
    xte[outlier] = 0.5 + 0.5 * rng.uniform()
    f = lambda a: a.astype(np.float32)
    return {"x_train": f(xtr), "y_train": f(ytr), "x_test": f(xte), "y_test": f(yte),
            "outlier": np.int32(outlier)}


def init_params(seed: int, hidden: int):
    graphdef, params = nnx.split(MLP(hidden, rngs=nnx.Rngs(seed)))
    return graphdef, params


@functools.partial(jax.jit, static_argnames=("graphdef", "loss", "epochs"))
def train(params, data, lr, *, graphdef, loss: str, epochs: int):
    """Full-batch Adam; returns per-epoch histories and the final per-sample test losses.

    ``vmap``-able over a leading seed axis of ``params`` and ``data``.
    """
    objective = _common.binary_objective(_common.parse_loss(loss))
    forward = lambda p, x: nnx.merge(graphdef, p)(x)
    opt_ = optax.adam(lr)

    def mean_loss(p, x, y):
        return jnp.mean(objective(forward(p, x), y))

    def epoch(carry, _):
        p, state = carry
        train_loss, g = jax.value_and_grad(mean_loss)(p, data["x_train"], data["y_train"])
        updates, state = opt_.update(g, state, p)
        p = optax.apply_updates(p, updates)
        logits = forward(p, data["x_test"])
        per = objective(logits, data["y_test"])
        acc = jnp.mean((logits > 0) == (data["y_test"] > 0.5))
        return (p, state), {"train_loss": train_loss, "test_loss": jnp.mean(per),
                            "test_accuracy": acc, "outlier_loss": per[data["outlier"]]}

    (params, _), hist = jax.lax.scan(epoch, (params, opt_.init(params)), None, length=epochs)
    final = objective(forward(params, data["x_test"]), data["y_test"])
    return hist, final, forward(params, data["x_test"])


def run_seeds(config: Config) -> dict[str, Any]:
    """Trains one model per seed (vmapped); returns numpy histories ``[S, E]`` and data."""
    seeds = [config.seed + s for s in range(config.seeds)]
    datas = [make_data(s, config.per_class) for s in seeds]
    inits = [init_params(s, config.hidden) for s in seeds]
    graphdef = inits[0][0]
    params = jax.tree.map(lambda *a: jnp.stack(a), *[p for _, p in inits])
    data = jax.tree.map(lambda *a: jnp.stack([jnp.asarray(v) for v in a]), *datas)
    fn = functools.partial(train, graphdef=graphdef, loss=config.loss, epochs=config.epochs)
    logging.info("training %d seeds x %d epochs (one vmapped scan)", len(seeds), config.epochs)
    hist, final, logits = jax.vmap(fn, in_axes=(0, 0, None))(
        params, data, jnp.float32(config.learning_rate))
    hist = {k: np.asarray(v) for k, v in hist.items()}
    return {"seeds": seeds, "data": datas, "hist": hist, "final": np.asarray(final),
            "logits": np.asarray(logits)}


def seed_metrics(i: int, res: dict[str, Any]) -> dict[str, Any]:
    h = {k: v[i] for k, v in res["hist"].items()}
    outlier = int(res["data"][i]["outlier"])
    e_min = int(np.argmin(h["test_loss"]))
    summary = diagnostics.loss_summary(res["final"][i], top_k=(1, 3))
    base = diagnostics.chance_baseline(jnp.asarray(res["data"][i]["y_test"]))
    return {
        "seed": res["seeds"][i],
        "min_test_loss": float(h["test_loss"][e_min]),
        "min_test_loss_epoch": e_min + 1,
        "test_accuracy_at_min_loss": float(h["test_accuracy"][e_min]),
        "final_test_loss": float(h["test_loss"][-1]),
        "final_test_accuracy": float(h["test_accuracy"][-1]),
        "final_train_loss": float(h["train_loss"][-1]),
        "loss_rose_accuracy_held": bool(h["test_loss"][-1] > h["test_loss"][e_min]
                                        and h["test_accuracy"][-1] >= h["test_accuracy"][e_min]),
        "outlier_index": outlier,
        "outlier_final_loss": float(res["final"][i][outlier]),
        "outlier_share_of_test_loss": float(res["final"][i][outlier] / res["final"][i].sum()),
        "diagnostics": {
            "top_index": int(summary.top_indices[0]),
            "flagged": summary.outliers.tolist(),
            "names_the_outlier": bool(summary.top_indices[0] == outlier
                                      and outlier in summary.outliers.tolist()),
            "threshold": summary.threshold,
            "top1_share": summary.top_k_share[1],
            "verdict": summary.verdict,
            "median_loss": summary.median,
            "chance_cross_entropy": base.cross_entropy,
        },
    }


def _spread(values: list[float]) -> dict[str, float]:
    v = np.asarray(values, np.float64)
    mean, std = _common.mean_std(v)
    return {"mean": mean, "std": std, "min": float(v.min()), "max": float(v.max())}


def plot_curves(res: dict[str, Any], out: str) -> str:
    plt = _common.pyplot()
    h = res["hist"]
    epochs = np.arange(1, h["test_loss"].shape[1] + 1)
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.4))
    ax = axes[0]
    ax.plot(epochs, h["test_loss"][0], color="C3", lw=2, label="test loss (seed 0)")
    ax.plot(epochs, h["train_loss"][0], color="C1", lw=1.5, label="train loss (seed 0)")
    for s in range(1, h["test_loss"].shape[0]):
        ax.plot(epochs, h["test_loss"][s], color="C3", lw=0.6, alpha=0.35)
    ax.set(xlabel="epoch", ylabel="mean loss", title="loss per epoch (thin: other seeds)")
    ax2 = ax.twinx()
    ax2.plot(epochs, h["test_accuracy"][0], color="C0", lw=2, label="test accuracy (seed 0)")
    for s in range(1, h["test_loss"].shape[0]):
        ax2.plot(epochs, h["test_accuracy"][s], color="C0", lw=0.6, alpha=0.35)
    ax2.set(ylabel="test accuracy", ylim=(0, 1.05))
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=8, loc="center right")
    ax = axes[1]
    ax.plot(epochs, h["outlier_loss"][0], color="C3", lw=2, label="outlier's loss (seed 0)")
    n = res["final"].shape[1]
    rest = (h["test_loss"][0] * n - h["outlier_loss"][0]) / (n - 1)
    ax.plot(epochs, rest, color="C2", lw=2, label="mean loss of the other test points")
    ax.set(xlabel="epoch", ylabel="loss", yscale="log", title="where the test loss comes from")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _common.save_figure(fig, out, "loss_and_accuracy.png")


def plot_histogram(res: dict[str, Any], out: str) -> str:
    plt = _common.pyplot()
    losses = res["final"][0]
    outlier = int(res["data"][0]["outlier"])
    s = diagnostics.loss_summary(losses, bins=30)
    fig, ax = plt.subplots(figsize=(7, 4))
    edges = s.histogram_edges
    ax.bar(edges[:-1], s.histogram_counts, width=np.diff(edges), align="edge", color="C0",
           alpha=0.8, label="test samples")
    ax.axvline(losses[outlier], color="C3", lw=2,
               label=f"planted outlier (index {outlier}): {losses[outlier]:.2f}")
    ax.axvline(s.threshold, color="k", ls="--", label=f"robust threshold {s.threshold:.2f}")
    ax.set(xlabel="per-sample test loss (final epoch, seed 0)", ylabel="samples",
           title="histogram of per-sample test losses")
    ax.legend(fontsize=8)
    return _common.save_figure(fig, out, "per_sample_test_loss.png")


def run(config: Config, out: str) -> dict[str, Any]:
    res = run_seeds(config)
    per_seed = [seed_metrics(i, res) for i in range(len(res["seeds"]))]
    for m in per_seed:
        logging.info("seed %d: test loss %.3f (epoch %d) -> %.3f, accuracy %.2f -> %.2f; "
                     "diagnostics name the outlier: %s", m["seed"], m["min_test_loss"],
                     m["min_test_loss_epoch"], m["final_test_loss"],
                     m["test_accuracy_at_min_loss"], m["final_test_accuracy"],
                     m["diagnostics"]["names_the_outlier"])
    spread = {k: _spread([m[k] for m in per_seed]) for k in (
        "min_test_loss", "min_test_loss_epoch", "final_test_loss", "test_accuracy_at_min_loss",
        "final_test_accuracy", "outlier_share_of_test_loss")}
    metrics = {
        "config": _common.config_dict(config),
        "plots": [plot_curves(res, out), plot_histogram(res, out)],
        "per_seed": per_seed,
        "spread": spread,
        "seeds_where_loss_rose_and_accuracy_held": int(sum(m["loss_rose_accuracy_held"]
                                                           for m in per_seed)),
        "seeds_where_diagnostics_name_the_outlier": int(
            sum(m["diagnostics"]["names_the_outlier"] for m in per_seed)),
        "curves_seed0": {k: v[0].tolist() for k, v in res["hist"].items()},
        "final_test_losses_seed0": res["final"][0].tolist(),
    }
    _common.write_metrics(out, metrics)
    return metrics


def report(metrics: dict[str, Any], plots: str) -> str:
    f = _common.fmt
    ps, sp = metrics["per_seed"], metrics["spread"]
    n = len(ps)
    s0 = ps[0]
    lines = ["## One outlier: test loss up, test accuracy not down\n\n"]
    for p in metrics["plots"]:
        lines.append(_common.md_image(f"{plots}/{p}", p))
    lines.append("\n")
    lines.append(_common.md_table(
        ["seed", "min test loss (epoch)", "acc. there", "final test loss", "final acc.",
         "outlier's share of final test loss", "diagnostics: top sample / flagged",
         "names the outlier"],
        [[m["seed"], f"{f(m['min_test_loss'])} ({m['min_test_loss_epoch']})",
          m["test_accuracy_at_min_loss"], m["final_test_loss"], m["final_test_accuracy"],
          m["outlier_share_of_test_loss"],
          f"{m['diagnostics']['top_index']} / {m['diagnostics']['flagged']}",
          m["diagnostics"]["names_the_outlier"]] for m in ps]))
    lines.append("\n")
    lines.append(_common.md_table(
        ["over seeds", "mean", "std", "min", "max"],
        [[k.replace("_", " "), v["mean"], v["std"], v["min"], v["max"]] for k, v in sp.items()]))
    held = metrics["seeds_where_loss_rose_and_accuracy_held"]
    named = metrics["seeds_where_diagnostics_name_the_outlier"]
    acc0, acc1 = s0["test_accuracy_at_min_loss"], s0["final_test_accuracy"]
    verb = "held at" if acc1 == acc0 else ("rose to" if acc1 > acc0 else "fell to")
    text = (
        f"\nWith seed {s0['seed']}, the test loss fell to {f(s0['min_test_loss'])} at epoch "
        f"{s0['min_test_loss_epoch']} and then rose to {f(s0['final_test_loss'])} by the last "
        f"epoch, while test accuracy {verb} {f(acc1)} (it was {f(acc0)} at the loss minimum); "
        f"the planted point (index {s0['outlier_index']}) carries "
        f"{100 * s0['outlier_share_of_test_loss']:.0f}% of the final test loss. "
        f"Over {n} seeds the test loss rose after its minimum while accuracy held or rose in "
        f"{held}, and `loss_summary` ranked the planted point first and above its outlier "
        f"threshold in {named}.")
    if 2 * held > n and 2 * named > n:
        text += (" A rising validation loss with steady accuracy can be a few confidently "
                 "wrong points rather than a model getting worse on the rest: look at the "
                 "per-sample losses before reading it as over-fitting.")
    lines.append(text + "\n")
    return "".join(lines)


def main(argv: list[str]) -> None:
    del argv
    run(_common.config_from_flags(Config), _common.FLAGS.out)


if __name__ == "__main__":
    _common.define_flags(Config, default_out=f"results/{STUDY}")
    app.run(main)
