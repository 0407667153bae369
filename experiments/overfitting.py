"""Over-fitting: an over-parameterised MLP on the 8x8 digits, with and without weight decay.

A Haiku MLP (two hidden layers of 512 ReLU units, ~300k parameters) is trained with Adam(W) on
a few hundred of scikit-learn's bundled 8x8 digit images (no download), minibatches, softmax
cross-entropy (``lossjax.softmax_cross_entropy``; any multiclass registry loss via ``--loss``).
It records train and validation loss and accuracy per epoch; early stopping with patience keeps
the best parameters and restores them; :func:`lossjax.diagnostics.overfitting_onset` marks the
epoch where the validation loss turns. The two runs (weight decay 0 and ``--weight_decay``)
share data, minibatch order and initialisation and are trained together under one ``vmap``.

    python -m experiments.overfitting --out results/overfitting
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import app, logging

from experiments import _common
from experiments._common import opt
from lossjax import diagnostics

STUDY = "overfitting"


@dataclasses.dataclass(frozen=True)
class Config:
    seed: int = opt(0, "Seed of the split, the initialisation and the minibatch order.")
    epochs: int = opt(60, "Training epochs (the curves run past the early stop to show the turn).")
    n_train: int = opt(300, "Training images (the rest of the 1797 go to validation and test).")
    n_val: int = opt(500, "Validation images.")
    hidden: tuple[int, ...] = opt((512, 512), "Hidden layer widths.")
    batch_size: int = opt(32, "Minibatch size.")
    learning_rate: float = opt(1e-3, "Adam learning rate.")
    weight_decay: float = opt(2.0, "Decoupled (AdamW) weight decay of the second run (optax "
                              "multiplies it by the learning rate: 2e-3 shrinkage per step).")
    label_noise: float = opt(0.2, "Fraction of training labels replaced by random classes "
                             "(validation and test labels stay clean).")
    patience: int = opt(8, "Early stopping: epochs without a new best validation loss.")
    loss: str = opt("softmax_cross_entropy", "Multiclass registry loss on logits and labels.")


TINY = Config(epochs=6, n_train=64, n_val=64, hidden=(32,), batch_size=32, patience=2)


def load_digits(seed: int, n_train: int, n_val: int, label_noise: float = 0.0
                ) -> dict[str, np.ndarray]:
    """Train/validation/test split of the digits; a fraction of training labels randomised."""
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int32)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    tr, va, te = perm[:n_train], perm[n_train:n_train + n_val], perm[n_train + n_val:]
    y_train = y[tr].copy()
    noisy = rng.uniform(size=n_train) < label_noise
    y_train[noisy] = rng.integers(0, 10, size=int(noisy.sum()))
    return {"x_train": x[tr], "y_train": y_train, "x_val": x[va], "y_val": y[va],
            "x_test": x[te], "y_test": y[te], "noisy": noisy}


def make_model(hidden: tuple[int, ...]) -> hk.Transformed:
    def forward(x):
        return hk.nets.MLP([*hidden, 10])(x)

    return hk.without_apply_rng(hk.transform(forward))


def _objective(loss: str):
    choice = _common.parse_loss(loss)
    if choice.task != "multiclass":
        raise ValueError(f"--loss={loss}: needs a multiclass loss (logits, integer labels)")
    fn, hyper = choice.fn, choice.hyper()
    return lambda logits, labels: fn(logits, labels, reduction="none", **hyper)


def _optimizer(lr, weight_decay):
    return optax.adamw(lr, weight_decay=weight_decay)


@functools.partial(jax.jit, static_argnames=("hidden", "loss"))
def train_epoch(params, opt_state, batches_x, batches_y, lr, weight_decay, *, hidden, loss):
    """One epoch of minibatch AdamW (a ``lax.scan`` over ``[steps, batch, ...]``)."""
    model, objective = make_model(hidden), _objective(loss)
    tx = _optimizer(lr, weight_decay)

    def step(carry, batch):
        p, s = carry
        g = jax.grad(lambda q: jnp.mean(objective(model.apply(q, batch[0]), batch[1])))(p)
        updates, s = tx.update(g, s, p)
        return (optax.apply_updates(p, updates), s), None

    (params, opt_state), _ = jax.lax.scan(step, (params, opt_state), (batches_x, batches_y))
    return params, opt_state


@functools.partial(jax.jit, static_argnames=("hidden", "loss"))
def evaluate(params, x, y, *, hidden, loss):
    logits = make_model(hidden).apply(params, x)
    per = _objective(loss)(logits, y)
    return jnp.mean(per), jnp.mean(jnp.argmax(logits, -1) == y)


class EarlyStopping:
    """Patience on the validation loss; keeps (a copy of) the best parameters.

    ``update(epoch, val_loss, params)`` returns True once ``patience`` epochs have passed
    without a new best; ``best_params`` are then the parameters to restore.
    """

    def __init__(self, patience: int, min_delta: float = 0.0):
        self.patience, self.min_delta = patience, min_delta
        self.best_loss, self.best_epoch, self.best_params = np.inf, -1, None
        self.stopped_epoch: int | None = None

    def update(self, epoch: int, val_loss: float, params: Any) -> bool:
        if self.stopped_epoch is not None:
            return True
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch, self.best_params = val_loss, epoch, params
        elif epoch - self.best_epoch >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False


def run_training(config: Config) -> dict[str, Any]:
    data = load_digits(config.seed, config.n_train, config.n_val, config.label_noise)
    model = make_model(config.hidden)
    params0 = model.init(jax.random.PRNGKey(config.seed), data["x_train"][:1])
    decays = (0.0, config.weight_decay)
    runs = len(decays)
    stack = lambda t: jax.tree.map(lambda a: jnp.stack([a] * runs), t)
    params = stack(params0)
    opt_state = jax.vmap(lambda p: _optimizer(config.learning_rate, 0.0).init(p))(params)
    wd = jnp.asarray(decays, jnp.float32)
    kw = {"hidden": tuple(config.hidden), "loss": config.loss}
    epoch_fn = jax.vmap(functools.partial(train_epoch, **kw), in_axes=(0, 0, None, None, None, 0))
    eval_fn = jax.vmap(functools.partial(evaluate, **kw), in_axes=(0, None, None))
    n = config.n_train
    steps = n // config.batch_size
    rng = np.random.default_rng(config.seed + 1)
    hist = {k: [] for k in ("train_loss", "train_accuracy", "val_loss", "val_accuracy")}
    stoppers = [EarlyStopping(config.patience) for _ in decays]
    unstack = lambda t, i: jax.tree.map(lambda a: a[i], t)
    for epoch in range(1, config.epochs + 1):
        perm = rng.permutation(n)[: steps * config.batch_size].reshape(steps, -1)
        params, opt_state = epoch_fn(params, opt_state, data["x_train"][perm],
                                     data["y_train"][perm], config.learning_rate, wd)
        tl, ta = (np.asarray(v) for v in eval_fn(params, data["x_train"], data["y_train"]))
        vl, va = (np.asarray(v) for v in eval_fn(params, data["x_val"], data["y_val"]))
        for k, v in zip(hist, (tl, ta, vl, va), strict=True):
            hist[k].append(v)
        for i, s in enumerate(stoppers):
            if s.update(epoch, float(vl[i]), unstack(params, i)) and s.stopped_epoch == epoch:
                logging.info("run %d (weight decay %g): early stop at epoch %d, restoring epoch "
                             "%d", i, decays[i], epoch, s.best_epoch)
        logging.info("epoch %3d  train loss %s  val loss %s  val acc %s", epoch,
                     np.round(tl, 4), np.round(vl, 4), np.round(va, 3))
    hist = {k: np.stack(v, 1) for k, v in hist.items()}  # [runs, epochs]
    return {"data": data, "decays": decays, "hist": hist, "stoppers": stoppers,
            "final_params": [unstack(params, i) for i in range(runs)], "kw": kw}


def run_metrics(i: int, res: dict[str, Any], config: Config) -> dict[str, Any]:
    h = {k: v[i] for k, v in res["hist"].items()}
    s = res["stoppers"][i]
    data, kw = res["data"], res["kw"]
    onset = diagnostics.overfitting_onset(h["train_loss"], h["val_loss"], patience=5,
                                          smoothing=3)
    restored = s.best_params if s.best_params is not None else res["final_params"][i]
    test_restored = [float(v) for v in evaluate(restored, data["x_test"], data["y_test"], **kw)]
    test_final = [float(v) for v in evaluate(res["final_params"][i], data["x_test"],
                                             data["y_test"], **kw)]
    return {
        "weight_decay": res["decays"][i],
        "curves": {k: v.tolist() for k, v in h.items()},
        "best_val_loss": float(h["val_loss"].min()),
        "best_val_epoch": int(np.argmin(h["val_loss"])) + 1,
        "onset_epoch": None if onset.onset_epoch is None else onset.onset_epoch + 1,
        "val_loss_rise_after_onset": onset.rise,
        "final_gap": onset.final_gap,
        "gap_at_onset": onset.gap_at_onset,
        "early_stopping": {"patience": config.patience, "stopped_epoch": s.stopped_epoch,
                           "restored_epoch": s.best_epoch},
        "test_restored": {"loss": test_restored[0], "accuracy": test_restored[1]},
        "test_final": {"loss": test_final[0], "accuracy": test_final[1]},
        "final_train_loss": float(h["train_loss"][-1]),
        "final_val_loss": float(h["val_loss"][-1]),
        "final_val_accuracy": float(h["val_accuracy"][-1]),
        "best_val_accuracy": float(h["val_accuracy"].max()),
        "val_accuracy_at_onset": None if onset.onset_epoch is None
        else float(h["val_accuracy"][onset.onset_epoch]),
    }


def plot(runs: list[dict[str, Any]], out: str, chance: float) -> str:
    plt = _common.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.4))
    for r, c in zip(runs, ("C3", "C0"), strict=False):
        cur = r["curves"]
        ep = np.arange(1, len(cur["val_loss"]) + 1)
        lab = f"wd={r['weight_decay']:g}"
        axes[0].plot(ep, cur["train_loss"], color=c, ls="--", label=f"train ({lab})")
        axes[0].plot(ep, cur["val_loss"], color=c, label=f"validation ({lab})")
        axes[1].plot(ep, cur["train_accuracy"], color=c, ls="--", label=f"train ({lab})")
        axes[1].plot(ep, cur["val_accuracy"], color=c, label=f"validation ({lab})")
        if r["onset_epoch"] is not None:
            e = r["onset_epoch"]
            axes[0].axvline(e, color=c, ls=":", lw=1)
            axes[0].plot(e, cur["val_loss"][e - 1], "o", color=c, ms=8,
                         label=f"val loss turns, epoch {e} ({lab})")
        stop = r["early_stopping"]
        if stop["stopped_epoch"] is not None:
            axes[0].plot(stop["stopped_epoch"], cur["val_loss"][stop["stopped_epoch"] - 1], "x",
                         color=c, ms=9, mew=2, label=f"early stop → restore epoch "
                         f"{stop['restored_epoch']} ({lab})")
    axes[0].axhline(chance, color="0.5", ls="-.", lw=1,
                    label=f"chance (class frequencies) {chance:.2f}")
    axes[0].set(xlabel="epoch", ylabel="cross-entropy", title="loss",
                ylim=(0, 1.05 * max(max(r["curves"]["val_loss"]) for r in runs)))
    axes[1].set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0.5, 1.01))
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _common.save_figure(fig, out, "curves.png")


def run(config: Config, out: str) -> dict[str, Any]:
    res = run_training(config)
    runs = [run_metrics(i, res, config) for i in range(len(res["decays"]))]
    chance = diagnostics.chance_baseline(jnp.asarray(res["data"]["y_train"]), num_classes=10)
    metrics = {
        "config": _common.config_dict(config),
        "parameters": int(sum(np.size(a) for a in jax.tree.leaves(res["final_params"][0]))),
        "chance_cross_entropy": chance.cross_entropy,
        "runs": runs,
        "plots": [plot(runs, out, chance.cross_entropy)],
    }
    _common.write_metrics(out, metrics)
    return metrics


def report(metrics: dict[str, Any], plots: str) -> str:
    f = _common.fmt
    cfg = metrics["config"]
    lines = ["## Over-fitting: an over-parameterised MLP on 8×8 digits (Haiku)\n\n"]
    lines.append(
        f"{metrics['parameters']:,} parameters, {cfg['n_train']} training images "
        f"({100 * cfg['label_noise']:.0f}% of their labels randomised), "
        f"{cfg['n_val']} validation images; AdamW, learning rate {cfg['learning_rate']:g}, "
        f"batch {cfg['batch_size']}, {cfg['epochs']} epochs, early-stopping patience "
        f"{cfg['patience']}.\n\n")
    for p in metrics["plots"]:
        lines.append(_common.md_image(f"{plots}/{p}", p))
    lines.append("\n")
    rows = []
    for r in metrics["runs"]:
        es = r["early_stopping"]
        rows.append([f(r["weight_decay"], 2), f"{f(r['best_val_loss'])} ({r['best_val_epoch']})",
                     r["onset_epoch"] if r["onset_epoch"] is not None else "none",
                     r["final_val_loss"], r["final_gap"],
                     f"{es['stopped_epoch'] or '—'} / {es['restored_epoch']}",
                     f"{f(r['test_restored']['loss'])} / {f(r['test_restored']['accuracy'])}",
                     f"{f(r['test_final']['loss'])} / {f(r['test_final']['accuracy'])}"])
    lines.append(_common.md_table(
        ["weight decay", "best val loss (epoch)", "val loss turns (epoch)", "final val loss",
         "final gap (val − train)", "early stop / restored epoch",
         "test loss / acc., restored", "test loss / acc., last epoch"], rows))
    text = []
    for r in metrics["runs"]:
        lab = f"weight decay {r['weight_decay']:g}"
        if r["onset_epoch"] is not None:
            text.append(
                f"With {lab} the validation loss turns at epoch {r['onset_epoch']} and rises by "
                f"{f(r['val_loss_rise_after_onset'])} to {f(r['final_val_loss'])} by the last "
                f"epoch while the training loss falls to {f(r['final_train_loss'])}; validation "
                f"accuracy goes from {f(r['val_accuracy_at_onset'])} at the turn to "
                f"{f(r['final_val_accuracy'])} (best {f(r['best_val_accuracy'])}).")
        else:
            text.append(f"With {lab} the validation loss shows no persistent rise "
                        f"(final {f(r['final_val_loss'])}).")
        es = r["early_stopping"]
        if es["stopped_epoch"] is not None:
            text.append(
                f"Early stopping halts at epoch {es['stopped_epoch']} and restores epoch "
                f"{es['restored_epoch']}: test loss {f(r['test_restored']['loss'])} instead of "
                f"{f(r['test_final']['loss'])} after all epochs, test accuracy "
                f"{f(r['test_restored']['accuracy'])} instead of "
                f"{f(r['test_final']['accuracy'])}.")
    a, b = metrics["runs"][0], metrics["runs"][-1]
    text.append(
        f"Weight decay {b['weight_decay']:g} changes the final generalisation gap from "
        f"{f(a['final_gap'])} to {f(b['final_gap'])} and the final validation accuracy from "
        f"{f(a['final_val_accuracy'])} to {f(b['final_val_accuracy'])}.")
    lines.append("\n" + " ".join(text) + "\n")
    return "".join(lines)


def main(argv: list[str]) -> None:
    del argv
    run(_common.config_from_flags(Config), _common.FLAGS.out)


if __name__ == "__main__":
    _common.define_flags(Config, default_out=f"results/{STUDY}")
    app.run(main)
