"""Imbalanced classes: cross-entropy vs class-weighted cross-entropy vs focal loss.

A rare-positive binary task from scikit-learn's bundled 8x8 digits: one digit (``--positive``,
default 8) against all the others, its images subsampled so that positives are
``--positive_rate`` (default 5%) of the data. A linear classifier on the 64 pixels is trained
full batch with Adam on each loss of ``--losses`` (any per-element binary registry loss,
``name:key=value``; ``pos_weight=auto`` means ``n_negative / n_positive`` of the training set),
repeated over several random subsamples and splits (one ``vmap`` per loss). On the test set it
reports per-class recall at probability 0.5, balanced accuracy, precision-recall AUC (average
precision) and expected calibration error (:func:`lossjax.diagnostics.calibration`).

    python -m experiments.imbalance --out results/imbalance
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

from experiments import _common
from experiments._common import opt
from lossjax import diagnostics

STUDY = "imbalance"

DEFAULT_LOSSES = (
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits:pos_weight=auto",
    "sigmoid_focal:gamma=0.5",
    "sigmoid_focal:gamma=2",
    "sigmoid_focal:gamma=5",
    "sigmoid_focal:gamma=2:alpha=0.25",
    "sigmoid_focal:gamma=2:alpha=0.75",
)


@dataclasses.dataclass(frozen=True)
class Config:
    losses: tuple[str, ...] = opt(DEFAULT_LOSSES, "Binary losses to compare (registry "
                                  "name[:key=value...]; pos_weight=auto = n_neg / n_pos).")
    positive: int = opt(8, "The digit that is the rare positive class.")
    positive_rate: float = opt(0.05, "Fraction of positives after subsampling.")
    test_fraction: float = opt(0.4, "Fraction of each class held out for testing.")
    seeds: int = opt(5, "Repetitions (subsample, split and initialisation).")
    seed: int = opt(0, "First seed.")
    steps: int = opt(500, "Full-batch Adam steps.")
    learning_rate: float = opt(0.05, "Adam learning rate.")
    l2: float = opt(1e-3, "L2 penalty on the weights (keeps separable splits finite).")
    bins: int = opt(10, "Bins of the calibration error.")


_SHORT = {"binary_cross_entropy_with_logits": "BCE", "sigmoid_focal": "focal", "gamma": "γ",
          "alpha": "α"}

TINY = Config(losses=DEFAULT_LOSSES[:2] + ("sigmoid_focal:gamma=2",), seeds=2, steps=20)


def make_splits(config: Config) -> dict[str, np.ndarray]:
    """Stacked ``[seeds, ...]`` train/test sets; every seed has the same class counts."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    is_pos = d.target == config.positive
    pos, neg = np.flatnonzero(is_pos), np.flatnonzero(~is_pos)
    n_pos = int(round(config.positive_rate / (1 - config.positive_rate) * neg.size))
    n_pos = min(max(n_pos, 4), pos.size)
    t_pos = max(1, int(round(config.test_fraction * n_pos)))
    t_neg = int(round(config.test_fraction * neg.size))
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("x_train", "y_train", "x_test",
                                                       "y_test")}
    for s in range(config.seeds):
        rng = np.random.default_rng(config.seed + s)
        p = rng.choice(pos, n_pos, replace=False)
        n = rng.permutation(neg)
        test = np.concatenate([p[:t_pos], n[:t_neg]])
        train = rng.permutation(np.concatenate([p[t_pos:], n[t_neg:]]))
        mu, sd = x[train].mean(0), x[train].std(0) + 1e-3
        for split, idx in (("train", train), ("test", test)):
            out[f"x_{split}"].append((x[idx] - mu) / sd)
            out[f"y_{split}"].append(is_pos[idx].astype(np.float32))
    return {k: np.stack(v) for k, v in out.items()}


@functools.partial(jax.jit, static_argnames=("loss", "steps"))
def train(x, y, key, lr, l2, pos_weight, *, loss: str, steps: int):
    """A linear classifier ``x @ w + b`` trained full batch; returns ``(w, b)``."""
    objective = _common.binary_objective(_common.parse_loss(loss), pos_weight=pos_weight)
    w0 = 0.01 * jax.random.normal(key, (x.shape[-1],), x.dtype)
    params = (w0, jnp.zeros((), x.dtype))
    tx = optax.adam(lr)

    def total(p):
        return jnp.mean(objective(x @ p[0] + p[1], y)) + l2 * jnp.sum(p[0] ** 2)

    def step(carry, _):
        p, s = carry
        g = jax.grad(total)(p)
        u, s = tx.update(g, s, p)
        return (optax.apply_updates(p, u), s), None

    (params, _), _ = jax.lax.scan(step, (params, tx.init(params)), None, length=steps)
    return params


def average_precision(scores: np.ndarray, y: np.ndarray) -> float:
    """Area under the precision-recall curve as average precision (step-wise, no interpolation).

    ``sum_k (R_k - R_{k-1}) P_k`` over the thresholds at each distinct score, highest first.
    """
    order = np.argsort(-scores, kind="stable")
    s, t = scores[order], y[order]
    tp = np.cumsum(t)
    # Evaluate only at the last index of each run of tied scores.
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tp, k = tp[last], last + 1
    precision, recall = tp / k, tp / max(t.sum(), 1)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def pr_curve(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(y[order])
    k = np.arange(1, y.size + 1)
    return tp / max(y.sum(), 1), tp / k


def evaluate(scores: np.ndarray, y: np.ndarray, bins: int) -> dict[str, float]:
    pred = scores > 0  # probability > 0.5
    pos = y > 0.5
    recall_pos = float(np.mean(pred[pos])) if pos.any() else float("nan")
    recall_neg = float(np.mean(~pred[~pos]))
    precision = float(np.mean(pos[pred])) if pred.any() else 0.0
    cal = diagnostics.calibration(jax.nn.sigmoid(jnp.asarray(scores)), jnp.asarray(y),
                                  num_bins=bins)
    return {
        "recall_positive": recall_pos,
        "recall_negative": recall_neg,
        "balanced_accuracy": 0.5 * (recall_pos + recall_neg),
        "precision_positive": precision,
        "accuracy": float(np.mean(pred == pos)),
        "pr_auc": average_precision(scores, y),
        "ece": float(cal.ece),
    }


def run_loss(text: str, data: dict[str, np.ndarray], config: Config) -> dict[str, Any]:
    n_pos = data["y_train"][0].sum()
    pos_weight = float((data["y_train"][0].size - n_pos) / n_pos)
    keys = jax.random.split(jax.random.PRNGKey(config.seed), config.seeds)
    fn = functools.partial(train, loss=text, steps=config.steps)
    w, b = jax.vmap(fn, in_axes=(0, 0, 0, None, None, None))(
        jnp.asarray(data["x_train"]), jnp.asarray(data["y_train"]), keys,
        config.learning_rate, config.l2, pos_weight)
    scores = np.einsum("snd,sd->sn", data["x_test"], np.asarray(w)) + np.asarray(b)[:, None]
    per_seed = [evaluate(scores[s], data["y_test"][s], config.bins)
                for s in range(config.seeds)]
    summary = {k: dict(zip(("mean", "std"), _common.mean_std([m[k] for m in per_seed]),
                           strict=True)) for k in per_seed[0]}
    label = _common.parse_loss(text).label.replace("=auto", f"={pos_weight:.1f}")
    if "pos_weight=auto" in text:
        label = label.replace(f"pos_weight={pos_weight:.1f}", f"pos_weight=n_neg/n_pos="
                              f"{pos_weight:.1f}")
    for long, short in _SHORT.items():
        label = label.replace(long, short)
    logging.info("%s: balanced accuracy %.3f, PR-AUC %.3f, ECE %.3f", label,
                 summary["balanced_accuracy"]["mean"], summary["pr_auc"]["mean"],
                 summary["ece"]["mean"])
    return {"loss": text, "label": label, "per_seed": per_seed, "summary": summary,
            "_scores0": scores[0]}


def plot_bars(results: list[dict[str, Any]], out: str) -> str:
    plt = _common.pyplot()
    keys = [("recall_positive", "recall (positive)"), ("balanced_accuracy", "balanced accuracy"),
            ("pr_auc", "PR-AUC"), ("ece", "ECE")]
    fig, ax = plt.subplots(figsize=(12, 4.4))
    width = 0.8 / len(results)
    for i, r in enumerate(results):
        xs = np.arange(len(keys)) + (i - (len(results) - 1) / 2) * width
        ax.bar(xs, [r["summary"][k]["mean"] for k, _ in keys], width,
               yerr=[r["summary"][k]["std"] for k, _ in keys], capsize=2, label=r["label"])
    ax.set_xticks(np.arange(len(keys)), [t for _, t in keys])
    ax.set(ylim=(0, 1.3), title="test metrics (mean ± std over seeds)")
    ax.legend(fontsize=7, ncol=4, loc="upper center")
    return _common.save_figure(fig, out, "metrics.png")


def plot_curves(results: list[dict[str, Any]], y: np.ndarray, bins: int, out: str) -> str:
    plt = _common.pyplot()
    fig, (ax_pr, ax_rel) = plt.subplots(1, 2, figsize=(12, 4.6))
    for r in results:
        rec, prec = pr_curve(r["_scores0"], y)
        ax_pr.plot(rec, prec, lw=1.3, label=r["label"])
        cal = diagnostics.calibration(jax.nn.sigmoid(jnp.asarray(r["_scores0"])),
                                      jnp.asarray(y), num_bins=bins)
        ne = np.asarray(cal.bin_counts) > 0
        ax_rel.plot(np.asarray(cal.bin_confidence)[ne], np.asarray(cal.bin_accuracy)[ne], "o-",
                    ms=3, lw=1.2, label=f"{r['label']} (ECE {float(cal.ece):.3f})")
    ax_pr.set(xlabel="recall", ylabel="precision", title="precision-recall (first seed)",
              xlim=(0, 1.02), ylim=(0, 1.02))
    ax_rel.plot([0, 1], [0, 1], color="0.5", ls="--", lw=1)
    ax_rel.set(xlabel="mean predicted probability", ylabel="fraction of positives",
               title="reliability diagram (first seed)", xlim=(0, 1), ylim=(0, 1))
    ax_pr.legend(fontsize=7)
    ax_rel.legend(fontsize=6)
    fig.tight_layout()
    return _common.save_figure(fig, out, "pr_and_reliability.png")


def run(config: Config, out: str) -> dict[str, Any]:
    data = make_splits(config)
    results = [run_loss(text, data, config) for text in config.losses]
    plots = [plot_bars(results, out), plot_curves(results, data["y_test"][0], config.bins, out)]
    for r in results:
        del r["_scores0"]
    metrics = {
        "config": _common.config_dict(config),
        "train_size": int(data["y_train"].shape[1]),
        "train_positives": int(data["y_train"][0].sum()),
        "test_size": int(data["y_test"].shape[1]),
        "test_positives": int(data["y_test"][0].sum()),
        "results": results,
        "plots": plots,
    }
    _common.write_metrics(out, metrics)
    return metrics


def report(metrics: dict[str, Any], plots: str) -> str:
    f = _common.fmt
    cfg = metrics["config"]
    rs = metrics["results"]
    ms = lambda r, k: f"{f(r['summary'][k]['mean'])} ± {f(r['summary'][k]['std'])}"
    lines = [f"## Imbalanced classes: digit {cfg['positive']} against the rest at "
             f"{100 * cfg['positive_rate']:.0f}% positives\n\n",
             "Linear classifier on the 64 pixels (BCE: `binary_cross_entropy_with_logits`, "
             f"focal: `sigmoid_focal`); {metrics['train_positives']} positives among "
             f"{metrics['train_size']} training images, {metrics['test_positives']} among "
             f"{metrics['test_size']} test images; {cfg['seeds']} random subsamples/splits, "
             "threshold at probability 0.5.\n\n"]
    for p in metrics["plots"]:
        lines.append(_common.md_image(f"{plots}/{p}", p))
    lines.append("\n")
    lines.append(_common.md_table(
        ["loss", "recall (pos.)", "recall (neg.)", "balanced acc.", "precision (pos.)",
         "PR-AUC", "ECE"],
        [[r["label"], ms(r, "recall_positive"), ms(r, "recall_negative"),
          ms(r, "balanced_accuracy"), ms(r, "precision_positive"), ms(r, "pr_auc"),
          ms(r, "ece")] for r in rs]))
    m = lambda r, k: r["summary"][k]["mean"]
    base, others = rs[0], rs[1:]
    best_bal = max(rs, key=lambda r: m(r, "balanced_accuracy"))
    best_ap = max(rs, key=lambda r: m(r, "pr_auc"))
    aps = [m(r, "pr_auc") for r in rs]
    ap_std = float(np.mean([r["summary"]["pr_auc"]["std"] for r in rs]))
    text = [
        f"With plain {base['label']}, the rare class is recalled at "
        f"{f(m(base, 'recall_positive'))} (balanced accuracy {f(m(base, 'balanced_accuracy'))}).",
        f"The highest balanced accuracy is {best_bal['label']}'s "
        f"({f(m(best_bal, 'balanced_accuracy'))}, positive recall "
        f"{f(m(best_bal, 'recall_positive'))}, precision "
        f"{f(m(best_bal, 'precision_positive'))}).",
        f"PR-AUC, which does not depend on the threshold, ranges over {f(min(aps))}–"
        f"{f(max(aps))} (highest: {best_ap['label']})"
        + (f", within about twice the seed-to-seed standard deviation ({f(ap_std)}): the "
           "losses mostly move the decision threshold, not the ranking of the images."
           if max(aps) - min(aps) <= 2 * ap_std else
           f", more than twice the seed-to-seed standard deviation ({f(ap_std)})."),
    ]
    worse = [r for r in others if m(r, "ece") > m(base, "ece")]
    worst = max(rs, key=lambda r: m(r, "ece"))
    if others and len(worse) == len(others):
        text.append(
            f"Every other loss is less calibrated than plain cross-entropy (ECE "
            f"{f(m(base, 'ece'))} against up to {f(m(worst, 'ece'))} for {worst['label']}): "
            "re-weighting and focusing change what the predicted probabilities mean; "
            "recalibrate them (or move the threshold instead) if they are used as "
            "probabilities.")
    else:
        text.append(
            f"{len(worse)} of {len(others)} other losses are less calibrated than plain "
            f"cross-entropy (ECE {f(m(base, 'ece'))}); the worst is {worst['label']} "
            f"({f(m(worst, 'ece'))}).")
    lines.append("\n" + " ".join(text) + "\n")
    return "".join(lines)


def main(argv: list[str]) -> None:
    del argv
    run(_common.config_from_flags(Config), _common.FLAGS.out)


if __name__ == "__main__":
    _common.define_flags(Config, default_out=f"results/{STUDY}")
    app.run(main)
