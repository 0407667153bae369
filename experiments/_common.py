"""Shared plumbing of the studies: config <-> absl flags, loss selection, outputs, markdown.

A study declares its settings as a frozen dataclass whose fields are made with :func:`opt`
(default and help text). :func:`define_flags` turns the fields into absl flags (so ``--help``
lists every one with its help) and :func:`config_from_flags` reads them back, which keeps each
script's ``main`` to two lines. Flags are defined only when a module runs as a script, so the
demo can import every study without flag-name clashes.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
import typing
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags, logging

import lossjax

FLAGS = flags.FLAGS


# --------------------------------------------------------------------------------------------
# Config <-> flags


def opt(default: Any, help: str) -> Any:  # noqa: A002  (the absl name)
    """A config field with a default and the help text of its flag."""
    return dataclasses.field(default=default, metadata={"help": help})


def _field_kind(tp: Any) -> tuple[str, type | None]:
    origin = typing.get_origin(tp)
    if origin is tuple:
        return "list", typing.get_args(tp)[0]
    if tp in (int, float, str, bool):
        return tp.__name__, None
    raise TypeError(f"unsupported config field type {tp!r}")


def define_flags(
    config_cls: type,
    *,
    default_out: str,
    flag_values: flags.FlagValues = FLAGS,
) -> None:
    """Defines one absl flag per field of ``config_cls`` plus ``--out``.

    The flags are attributed to the main module (``sys.argv[0]``, as absl names it), so that
    ``--help`` lists them.
    """
    hints = typing.get_type_hints(config_cls)
    kw = {"flag_values": flag_values, "module_name": sys.argv[0]}
    for f in dataclasses.fields(config_cls):
        kind, _ = _field_kind(hints[f.name])
        help_text = f.metadata.get("help")
        if not help_text:
            raise ValueError(f"config field {f.name!r} has no help text")
        default = f.default
        if kind == "list":
            flags.DEFINE_list(f.name, [str(v) for v in default], help_text, **kw)
        elif kind == "bool":
            flags.DEFINE_boolean(f.name, default, help_text, **kw)
        elif kind == "int":
            flags.DEFINE_integer(f.name, default, help_text, **kw)
        elif kind == "float":
            flags.DEFINE_float(f.name, default, help_text, **kw)
        else:
            flags.DEFINE_string(f.name, default, help_text, **kw)
    flags.DEFINE_string("out", default_out, "Directory for the PNG plots and metrics.json.", **kw)


def config_from_flags(config_cls: type, flag_values: flags.FlagValues = FLAGS) -> Any:
    """Builds a ``config_cls`` from parsed flags (list flags are converted item by item)."""
    hints = typing.get_type_hints(config_cls)
    kwargs = {}
    for f in dataclasses.fields(config_cls):
        value = flag_values[f.name].value
        kind, item = _field_kind(hints[f.name])
        if kind == "list":
            value = tuple(item(v) for v in value)
        kwargs[f.name] = value
    return config_cls(**kwargs)


# --------------------------------------------------------------------------------------------
# Loss selection: registry names (or aliases) with optional hyperparameters


def _fallback_loss(name: str, fn: Callable[..., jax.Array]) -> Callable[..., jax.Array]:
    """A per-element loss with the ``weights`` / ``reduction`` part of the contract."""

    def loss(predictions, targets, *, weights=None, where=None, reduction="mean", **hyper):
        p = jnp.asarray(predictions)
        dtype = jnp.promote_types(p.dtype, jnp.float32)
        per = fn(p.astype(dtype), jnp.asarray(targets).astype(dtype), **hyper)
        w = jnp.ones_like(per) if weights is None else jnp.broadcast_to(weights, per.shape)
        if where is not None:
            w = jnp.where(where, w, 0.0)
        if reduction == "none":
            return w * per
        if reduction == "sum":
            return jnp.sum(w * per)
        return jnp.sum(w * per) / jnp.maximum(jnp.sum(w), 1e-12)

    loss.__name__ = name
    return loss


def _smooth_l1(p, t, beta=1.0):
    a = jnp.abs(p - t)
    q = jnp.minimum(a, beta)
    return 0.5 * q * q / beta + (a - q)


# Local definitions used only while a loss is not (yet) in the registry. Once a loss of the
# same name is registered, the registry version is used instead. Margin losses take scores
# ``f`` and targets ``y`` in {-1, +1}.
FALLBACKS: dict[str, tuple[Callable[..., jax.Array], str, str]] = {
    # name: (per-element function, predictions kind, targets kind)
    "perceptron": (lambda f, y: jax.nn.relu(-y * f), "scores", "signed"),
    "modified_huber": (
        lambda f, y: jnp.where(y * f >= -1.0, jax.nn.relu(1.0 - y * f) ** 2, -4.0 * y * f),
        "scores",
        "signed",
    ),
    "exponential": (lambda f, y: jnp.exp(-y * f), "scores", "signed"),
    "smooth_l1": (_smooth_l1, "values", "values"),
}


@dataclasses.dataclass(frozen=True)
class LossChoice:
    """A loss picked by name on the command line, e.g. ``huber:delta=0.5``.

    Attributes:
      text: the text as given.
      name: canonical registry name (or the fallback's name).
      kwargs: hyperparameters as ``((key, value), ...)``; a value may be the string
        ``"auto"`` for a study to fill in (e.g. ``pos_weight=auto``).
      fallback: True when the loss is not registered and a local definition is used.
    """

    text: str
    name: str
    kwargs: tuple[tuple[str, Any], ...]
    fallback: bool

    @property
    def label(self) -> str:
        args = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in self.kwargs)
        base = f"{self.name} ({args})" if args else self.name
        return base + (" [fallback]" if self.fallback else "")

    @property
    def fn(self) -> Callable[..., jax.Array]:
        if self.fallback:
            return _fallback_loss(self.name, FALLBACKS[self.name][0])
        return lossjax.get(self.name)

    @property
    def predictions_kind(self) -> str:
        return FALLBACKS[self.name][1] if self.fallback else lossjax.spec(self.name).predictions

    @property
    def targets_kind(self) -> str:
        return FALLBACKS[self.name][2] if self.fallback else lossjax.spec(self.name).targets

    @property
    def task(self) -> str:
        if self.fallback:
            return "regression" if FALLBACKS[self.name][1] == "values" else "binary"
        return lossjax.spec(self.name).task

    @property
    def granularity(self) -> str:
        return "element" if self.fallback else lossjax.spec(self.name).granularity

    def hyper(self, **fill: Any) -> dict[str, Any]:
        """The hyperparameters as a dict, ``"auto"`` values replaced from ``fill``."""
        out = {}
        for k, v in self.kwargs:
            if v == "auto":
                if k not in fill:
                    raise ValueError(f"{self.text}: this study cannot fill in {k}=auto")
                v = fill[k]
            out[k] = v
        return out


def _parse_value(text: str) -> Any:
    low = text.lower()
    if low == "none":
        return None
    if low in ("true", "false"):
        return low == "true"
    try:
        return float(text)
    except ValueError:
        return text


def parse_loss(text: str) -> LossChoice:
    """Parses ``name`` or ``name:key=value:key=value`` into a :class:`LossChoice`.

    ``name`` is a registry name or alias (see ``lossjax.names()``), or one of the local
    :data:`FALLBACKS` while that loss is not registered.
    """
    name, *parts = text.strip().split(":")
    kwargs = []
    for part in parts:
        if "=" not in part:
            raise ValueError(f"loss {text!r}: expected key=value after ':', got {part!r}")
        k, v = part.split("=", 1)
        kwargs.append((k.strip(), _parse_value(v.strip())))
    known = set(lossjax.names()) | set(lossjax.aliases())
    if name in known:
        canonical = lossjax.spec(name).name
        return LossChoice(text, canonical, tuple(kwargs), fallback=False)
    if name in FALLBACKS:
        return LossChoice(text, name, tuple(kwargs), fallback=True)
    raise ValueError(
        f"unknown loss {name!r}; choose a registry name ({', '.join(sorted(known))}) "
        f"or one of the fallbacks {sorted(FALLBACKS)}."
    )


def binary_objective(choice: LossChoice, **fill: Any) -> Callable[..., jax.Array]:
    """``f(scores, y01, weights=None) -> per-example losses`` for a binary-task loss.

    Scores are real (logits); a loss on probabilities gets ``sigmoid(scores)`` and a loss with
    signed targets gets ``2 y - 1``.
    """
    if choice.granularity != "element" or choice.task not in ("binary", "multilabel"):
        raise ValueError(f"{choice.text}: needs a per-element binary loss (task 'binary'); "
                         f"this one is {choice.task!r}/{choice.granularity!r}.")
    fn, hyper, kind = choice.fn, choice.hyper(**fill), choice.predictions_kind
    signed = choice.targets_kind == "signed"

    def objective(scores, y, weights=None):
        p = jax.nn.sigmoid(scores) if kind == "probabilities" else scores
        t = 2.0 * y - 1.0 if signed else y
        return fn(p, t.astype(scores.dtype), weights=weights, reduction="none", **hyper)

    return objective


# --------------------------------------------------------------------------------------------
# Outputs


def jsonable(x: Any) -> Any:
    """Converts numpy/jax scalars and arrays, tuples and dataclasses to JSON types."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return jsonable(dataclasses.asdict(x))
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, jax.Array | np.ndarray):
        return jsonable(np.asarray(x).tolist())
    if isinstance(x, np.bool_ | bool):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        x = float(x)
        return x if math.isfinite(x) else None
    return x


def write_metrics(out: str | os.PathLike, metrics: dict[str, Any]) -> Path:
    path = Path(out) / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable(metrics), indent=1) + "\n", encoding="utf-8")
    return path


def pyplot():
    """matplotlib's pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, out: str | os.PathLike, name: str) -> str:
    """Saves ``fig`` as ``out/name`` (PNG), closes it and returns ``name``."""
    path = Path(out) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    logging.info("wrote %s", path)
    return name


def config_dict(config: Any) -> dict[str, Any]:
    return jsonable(dataclasses.asdict(config))


# --------------------------------------------------------------------------------------------
# Markdown helpers for REPORT.md


def fmt(x: Any, digits: int = 3) -> str:
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    x = float(x) + 0.0  # no "-0.000"
    if not math.isfinite(x):
        return str(x)
    if x != 0 and (abs(x) >= 1e4 or abs(x) < 10 ** -(digits + 1)):
        return f"{x:.{digits}g}"
    return f"{x:.{digits}f}"


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        lines.append("| " + " | ".join(v if isinstance(v, str) else fmt(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def md_image(path: str, alt: str) -> str:
    return f"![{alt}]({path})\n\n"


class Timer:
    """Wall-clock seconds of a ``with`` block (``.seconds``)."""

    def __enter__(self) -> Timer:
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self._t0


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    v = np.asarray(values, dtype=np.float64)
    std = float(v.std(ddof=1)) if v.size > 1 else 0.0
    return float(v.mean()), std
