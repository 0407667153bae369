"""Bounding boxes: regressing boxes toward targets with IoU, GIoU, DIoU, CIoU and L1 losses.

Random target boxes and random starting boxes, half of which do not overlap their target
(where ``1 - IoU`` is flat: zero gradient). Each box is parameterised as
``(cx, cy, log w, log h)`` (valid by construction) and moved by gradient descent on one loss of
``--losses``: a box loss of the registry (``iou``, ``giou``, ``diou``, ``ciou``) or a per-element
regression loss on the four corner coordinates (``l1``, ``smooth_l1``, ...). The study records
the mean IoU with the targets at every step, separately for overlapping and disjoint starts.
One ``jit``-ed ``lax.scan`` per loss moves all boxes at once.

    python -m experiments.boxes --out results/boxes
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

import lossjax
from experiments import _common
from experiments._common import opt

STUDY = "boxes"

DEFAULT_LOSSES = ("iou", "giou", "diou", "ciou", "l1", "smooth_l1")


@dataclasses.dataclass(frozen=True)
class Config:
    losses: tuple[str, ...] = opt(DEFAULT_LOSSES, "Box losses (iou, giou, diou, ciou) and/or "
                                  "coordinate regression losses (l1, smooth_l1, huber:delta=1).")
    boxes: int = opt(2000, "Number of (start, target) pairs; half start disjoint from target.")
    steps: int = opt(300, "Gradient steps.")
    learning_rate: float = opt(0.05, "Initial step size (cosine-decayed to 1% over the steps).")
    optimizer: str = opt("adam", "adam or sgd (sgd shows the raw gradient magnitudes; the "
                         "losses then want different step sizes).")
    seed: int = opt(0, "Seed of the boxes.")


TINY = Config(losses=("iou", "giou", "l1"), boxes=40, steps=10)


def to_corners(params: jax.Array) -> jax.Array:
    """``(cx, cy, log w, log h)`` -> ``(x1, y1, x2, y2)``."""
    c, wh = params[..., :2], jnp.exp(params[..., 2:])
    return jnp.concatenate([c - wh / 2, c + wh / 2], -1)


def make_boxes(config: Config) -> dict[str, np.ndarray]:
    """Targets and starts (as parameters), the second half disjoint from their targets."""
    rng = np.random.default_rng(config.seed)
    n = config.boxes
    t_c = rng.uniform(-2, 2, (n, 2))
    t_wh = rng.uniform(1.0, 3.0, (n, 2))
    s_wh = rng.uniform(0.5, 3.0, (n, 2))
    half = n // 2
    # Overlapping starts: centres within a third of the joint half-size of the target's.
    jitter = rng.uniform(-1, 1, (half, 2)) * (t_wh[:half] + s_wh[:half]) / 6
    # Disjoint starts: a random direction, with a gap of 0.2 to 3 between the boxes.
    ang = rng.uniform(0, 2 * np.pi, n - half)
    u = np.stack([np.cos(ang), np.sin(ang)], -1)
    reach = (t_wh[half:] + s_wh[half:]) / 2  # centre distance at which they touch, per axis
    # Scale the direction until one axis clears its reach, then add the gap.
    scale = np.min(reach / np.maximum(np.abs(u), 1e-9), -1) + rng.uniform(0.2, 3.0, n - half)
    offset = np.concatenate([jitter, u * scale[:, None]])
    s_c = t_c + offset
    starts = np.concatenate([s_c, np.log(s_wh)], -1).astype(np.float32)
    targets = np.concatenate([t_c - t_wh / 2, t_c + t_wh / 2], -1).astype(np.float32)
    disjoint = np.arange(n) >= half
    iou0 = 1.0 - np.asarray(lossjax.iou(to_corners(jnp.asarray(starts)), jnp.asarray(targets),
                                        reduction="none"))
    assert np.all(iou0[disjoint] == 0.0), "disjoint starts must not overlap"
    return {"starts": starts, "targets": targets, "disjoint": disjoint}


def _box_objective(text: str):
    choice = _common.parse_loss(text)
    fn, hyper = choice.fn, choice.hyper()
    if choice.task == "boxes":
        return lambda p, t: fn(p, t, reduction="sum", **hyper)
    if choice.task == "regression" and choice.granularity == "element":
        return lambda p, t: fn(p, t, reduction="sum", **hyper)
    raise ValueError(f"--losses: {text} is neither a box loss nor a per-element regression loss")


@functools.partial(jax.jit, static_argnames=("loss", "steps", "optimizer"))
def descend(starts, targets, disjoint, lr, *, loss: str, steps: int, optimizer: str):
    """Moves every box by ``steps`` updates; returns the per-step mean IoU (all/over./disj.)."""
    objective = _box_objective(loss)
    schedule = optax.cosine_decay_schedule(lr, steps, alpha=0.01)
    tx = optax.sgd(schedule) if optimizer == "sgd" else optax.adam(schedule)

    def ious(p):
        return 1.0 - lossjax.iou(to_corners(p), targets, reduction="none")

    def summary(p):
        v = ious(p)
        return jnp.stack([jnp.mean(v), jnp.mean(v, where=~disjoint), jnp.mean(v, where=disjoint),
                          jnp.mean(v > 0.5)])

    def step(carry, _):
        p, s = carry
        g = jax.grad(lambda q: objective(to_corners(q), targets))(p)
        u, s = tx.update(g, s, p)
        p = optax.apply_updates(p, u)
        return (p, s), summary(p)

    (p, _), hist = jax.lax.scan(step, (starts, tx.init(starts)), None, length=steps)
    return jnp.concatenate([summary(starts)[None], hist]), ious(p)


def run_loss(text: str, data: dict[str, np.ndarray], config: Config) -> dict[str, Any]:
    if config.optimizer not in ("sgd", "adam"):
        raise ValueError(f"--optimizer must be sgd or adam; got {config.optimizer!r}")
    hist, final = descend(jnp.asarray(data["starts"]), jnp.asarray(data["targets"]),
                          jnp.asarray(data["disjoint"]), config.learning_rate, loss=text,
                          steps=config.steps, optimizer=config.optimizer)
    hist = np.asarray(hist)
    final = np.asarray(final)
    label = _common.parse_loss(text).label

    def first(col, level):
        hit = np.flatnonzero(hist[:, col] >= level)
        return int(hit[0]) if hit.size else None

    out = {
        "loss": text,
        "label": label,
        "mean_iou": hist[:, 0].tolist(),
        "mean_iou_overlapping_starts": hist[:, 1].tolist(),
        "mean_iou_disjoint_starts": hist[:, 2].tolist(),
        "share_iou_above_0.5": hist[:, 3].tolist(),
        "final": {
            "mean_iou": float(hist[-1, 0]),
            "mean_iou_overlapping_starts": float(hist[-1, 1]),
            "mean_iou_disjoint_starts": float(hist[-1, 2]),
            "share_iou_above_0.5": float(hist[-1, 3]),
            "disjoint_still_disjoint": float(np.mean(final[data["disjoint"]] == 0.0)),
        },
        "steps_to_mean_iou_0.5": first(0, 0.5),
        "steps_to_mean_iou_0.5_disjoint": first(2, 0.5),
    }
    logging.info("%s: final mean IoU %.3f (overlapping %.3f, disjoint %.3f)", label,
                 out["final"]["mean_iou"], out["final"]["mean_iou_overlapping_starts"],
                 out["final"]["mean_iou_disjoint_starts"])
    return out


def plot(results: list[dict[str, Any]], out: str) -> str:
    plt = _common.pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.3), sharey=True)
    keys = (("mean_iou", "all starts"), ("mean_iou_overlapping_starts", "overlapping starts"),
            ("mean_iou_disjoint_starts", "disjoint starts (IoU gradient is 0)"))
    for ax, (key, title) in zip(axes, keys, strict=True):
        for r in results:
            ax.plot(np.arange(len(r[key])), r[key], lw=1.5, label=r["label"])
        ax.set(xlabel="step", title=title, ylim=(0, 1))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("mean IoU with target")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return _common.save_figure(fig, out, "mean_iou_vs_step.png")


def plot_examples(data: dict[str, np.ndarray], out: str) -> str:
    plt = _common.pyplot()
    from matplotlib.patches import Rectangle

    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
    starts = np.asarray(to_corners(jnp.asarray(data["starts"])))
    half = len(starts) // 2
    for ax, idx, title in ((axes[0], range(0, 4), "overlapping starts"),
                           (axes[1], range(half, half + 4), "disjoint starts")):
        for k, i in enumerate(idx):
            for b, ls in ((data["targets"][i], "-"), (starts[i], "--")):
                ax.add_patch(Rectangle(b[:2], b[2] - b[0], b[3] - b[1], fill=False,
                                       color=f"C{k}", ls=ls, lw=1.5))
        ax.set(xlim=(-8, 8), ylim=(-8, 8), aspect="equal", title=f"{title} (solid: target)")
    fig.tight_layout()
    return _common.save_figure(fig, out, "example_boxes.png")


def run(config: Config, out: str) -> dict[str, Any]:
    data = make_boxes(config)
    results = [run_loss(text, data, config) for text in config.losses]
    metrics = {
        "config": _common.config_dict(config),
        "initial_mean_iou": results[0]["mean_iou"][0],
        "results": results,
        "plots": [plot(results, out), plot_examples(data, out)],
    }
    _common.write_metrics(out, metrics)
    return metrics


def report(metrics: dict[str, Any], plots: str) -> str:
    f = _common.fmt
    cfg, rs = metrics["config"], metrics["results"]
    lines = ["## Bounding boxes: IoU-family losses against L1 from random starts\n\n",
             f"{cfg['boxes']} boxes parameterised as (cx, cy, log w, log h), "
             f"{cfg['optimizer']} with step {cfg['learning_rate']:g} (cosine decay) for "
             f"{cfg['steps']} steps; "
             f"half the starts do not overlap their target. Mean IoU at the start: "
             f"{f(metrics['initial_mean_iou'])}.\n\n"]
    for p in metrics["plots"]:
        lines.append(_common.md_image(f"{plots}/{p}", p))
    lines.append("\n")
    lines.append(_common.md_table(
        ["loss", "final mean IoU", "overlapping starts", "disjoint starts",
         "disjoint starts never reached", "share IoU > 0.5", "steps to mean IoU 0.5",
         "… disjoint starts"],
        [[r["label"], r["final"]["mean_iou"], r["final"]["mean_iou_overlapping_starts"],
          r["final"]["mean_iou_disjoint_starts"], r["final"]["disjoint_still_disjoint"],
          r["final"]["share_iou_above_0.5"],
          r["steps_to_mean_iou_0.5"] if r["steps_to_mean_iou_0.5"] is not None else "not reached",
          r["steps_to_mean_iou_0.5_disjoint"] if r["steps_to_mean_iou_0.5_disjoint"] is not None
          else "not reached"] for r in rs]))
    text = []
    stuck = [r for r in rs if r["final"]["disjoint_still_disjoint"] > 0.99]
    if stuck:
        text.append(
            f"{', '.join(r['label'] for r in stuck)} never moves a disjoint start: its gradient "
            "is zero until the boxes overlap, so half the boxes stay where they began (mean IoU "
            f"on disjoint starts {f(stuck[0]['final']['mean_iou_disjoint_starts'])}).")
    moving = [r for r in rs if r not in stuck]
    if moving:
        best = max(moving, key=lambda r: r["final"]["mean_iou"])
        fastest = [r for r in moving if r["steps_to_mean_iou_0.5_disjoint"] is not None]
        text.append(f"The highest final mean IoU is {best['label']}'s "
                    f"({f(best['final']['mean_iou'])}).")
        if fastest:
            fast = min(fastest, key=lambda r: r["steps_to_mean_iou_0.5_disjoint"])
            text.append(
                f"From disjoint starts, {fast['label']} is first to a mean IoU of 0.5 "
                f"({fast['steps_to_mean_iou_0.5_disjoint']} steps); "
                + ", ".join(f"{r['label']} {r['steps_to_mean_iou_0.5_disjoint']}"
                            for r in fastest if r is not fast) + ".")
        never = [r["label"] for r in moving if r["steps_to_mean_iou_0.5_disjoint"] is None]
        if never:
            text.append(f"{', '.join(never)} do not reach a mean IoU of 0.5 from disjoint "
                        f"starts within {cfg['steps']} steps.")
    lines.append("\n" + " ".join(text) + "\n")
    return "".join(lines)


def main(argv: list[str]) -> None:
    del argv
    run(_common.config_from_flags(Config), _common.FLAGS.out)


if __name__ == "__main__":
    _common.define_flags(Config, default_out=f"results/{STUDY}")
    app.run(main)
