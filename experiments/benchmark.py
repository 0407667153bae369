"""Benchmark: every registered loss against optax, plain autodiff, PyTorch eager and a floor.

For each loss (by registry name) and size it measures

* ``fwd``: the jitted mean loss;
* ``vag``: the jitted ``jax.value_and_grad`` of the mean loss (with respect to the loss's
  ``diff_argnums``);
* ``compile``: seconds to lower and compile ``vag``;
* XLA's compiled memory of ``vag`` (``memory_analysis()``: temporary and output bytes);

for ``lossjax``, for optax's equivalent where there is one (an explicit adapter table: the
argument order and conventions differ), for **naive** plain autodiff of the loss's formula
where the table has one (softmax cross-entropy: ``logsumexp(x) - x[y]``), for PyTorch eager
on the CPU where ``torch`` is importable (optional), and for the **floor**: a jitted
element-wise op that reads the same inputs and writes one array of the gradient's size, the
least work any ``value_and_grad`` must do. Before timing, every peer's value and gradient are
checked against lossjax's (``--check``), so each ratio compares the same quantity.

Timing is per round: after ``--warmup`` rounds, each of ``--repeats`` rounds times all
implementations of a row back to back (each the fastest of ``--inner`` calls; the order
rotates by one each round), and every ratio (``vag/optax``, ``vag/naive``, ``vag/floor``, ...)
is taken within the round, so that a slow phase of a shared machine hits numerator and
denominator alike. The report gives the median ratio with its spread (interquartile range in
the tables; quartiles, min and max in the JSON's ``ratio_spread``), and marks every row where
lossjax is slower than a peer (median ratio above 1).

Inputs come from the registry (``spec.sample``), so every registered loss is covered, also
ones added later. Element-wise losses run at ``--sizes`` elements; per-example losses at
``size / (elements per example)`` examples of their sampler, except the classification losses
on logits/scores/probabilities with integer labels, which run at the ``--class_shapes``
``[N, K]``. Softmax cross-entropy runs in the forms ``--ce_cases`` (integer labels; with
``ignore_index``; with ``label_smoothing``; with ``class_weights``; probability targets),
each against the optax code a user would write for it.

End-to-end training steps (``--e2e_models``: an MLP classifier with 1000 classes, a small
transformer language model with a vocabulary of 8192) jit forward, loss, backward and an optax
Adam update with the parameters and optimizer state donated, and compare lossjax's
cross-entropy with optax's, interleaved round by round.

Run ``python -m experiments.benchmark`` (``--help`` lists the flags); it writes
``benchmark.json`` and ``benchmark.md`` to ``--out``, prints one line per row as it goes and
the markdown at the end.
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
# Benchmarked on logits (or probabilities) [N, K] with integer labels: every multiclass loss
# that takes them (issue 14, item 3), linear_cross_entropy aside.
CLASS_LOSSES = frozenset(
    {"softmax_cross_entropy", "nll", "categorical_cross_entropy", "multiclass_hinge",
     "softmax_focal", "poly1_cross_entropy", "generalized_cross_entropy",
     "symmetric_cross_entropy", "bi_tempered_logistic", "brier", "categorical_hinge",
     "multi_margin", "multiclass_perceptron", "sparsemax"}
)
DEFAULT_SIZES = (1 << 22, 1 << 24)
DEFAULT_CLASS_SHAPES = ((8192, 1000), (4096, 8192), (2048, 32768))
# Softmax cross-entropy is benchmarked in these forms ("cases"): integer labels, integer labels
# with some labels = -100 dropped by ``ignore_index``, with ``label_smoothing``, with
# ``class_weights``, and probability targets.
CE_CASES = ("plain", "ignore_index", "label_smoothing", "class_weights", "probs")
CE_OPTIONS = frozenset({"axis", "ignore_index", "label_smoothing", "class_weights"})
# Peers: optax (jitted), plain autodiff of the loss's formula (jitted; "naive"), PyTorch eager.
PEERS = ("optax", "naive", "torch")


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
        if set(kw) - CE_OPTIONS or kw.get("axis", -1) != -1:
            return None
        eps = float(kw.get("label_smoothing", 0.0))
        cw = kw.get("class_weights")
        if eps and cw is not None:
            return None  # optax has no class-weighted label smoothing

        def f(x, y):
            if y.ndim == x.ndim:  # probability targets
                if eps or cw is not None or "ignore_index" in kw:
                    raise NotImplementedError("probability targets take no options here")
                return jnp.mean(L.softmax_cross_entropy(x, y))
            if not ({"ignore_index", "class_weights", "label_smoothing"} & set(kw)):
                return jnp.mean(L.softmax_cross_entropy_with_integer_labels(x, y))
            # What a user writes around optax: per-example loss, then mask / weights.
            keep = y != kw["ignore_index"] if kw.get("ignore_index") is not None else None
            ys = y if keep is None else jnp.where(keep, y, 0)
            if eps:
                onehot = jax.nn.one_hot(ys, x.shape[-1], dtype=x.dtype)
                per = L.softmax_cross_entropy(x, optax.smooth_labels(onehot, eps))
            else:
                per = L.softmax_cross_entropy_with_integer_labels(x, ys)
            w = None if cw is None else jnp.asarray(cw, x.dtype)[ys]
            if keep is not None:
                w = keep.astype(x.dtype) if w is None else jnp.where(keep, w, 0)
            if w is None:
                return jnp.mean(per)
            return jnp.sum(per * w) / jnp.sum(w)

        return f

    def mc_hinge(kw):
        if kw:
            return None
        return lambda s, y: jnp.mean(L.multiclass_hinge_loss(s, y))

    def labels_only(fn):
        return lambda kw: (lambda s, y: jnp.mean(fn(s, y))) if not kw else None

    def poly1(kw):
        if set(kw) - {"epsilon"}:
            return None
        eps = kw.get("epsilon", 2.0)

        def f(x, y):
            onehot = jax.nn.one_hot(y, x.shape[-1], dtype=x.dtype)
            return jnp.mean(L.poly_loss_cross_entropy(x, onehot, epsilon=eps))

        return f

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
        "multiclass_perceptron": labels_only(L.multiclass_perceptron_loss),
        "sparsemax": labels_only(L.multiclass_sparsemax_loss),
        "poly1_cross_entropy": poly1,
        "kl_divergence": kl,
    }


def _naive_adapters() -> dict[str, Callable[..., Callable[..., Any] | None]]:
    """Plain autodiff of the loss's own formula, as a user would write it with jax.numpy
    (``logsumexp(x) - x[y]`` for softmax cross-entropy), for the same options as lossjax."""

    def softmax_ce(kw):
        if set(kw) - CE_OPTIONS or kw.get("axis", -1) != -1:
            return None
        eps = float(kw.get("label_smoothing", 0.0))
        cw = kw.get("class_weights")

        def f(x, y):
            lse = jax.nn.logsumexp(x, axis=-1)
            if y.ndim == x.ndim:  # probability targets: lse - sum_c p_c x_c
                if eps or cw is not None or "ignore_index" in kw:
                    raise NotImplementedError("probability targets take no options here")
                return jnp.mean(lse - jnp.sum(y * x, axis=-1))
            keep = y != kw["ignore_index"] if kw.get("ignore_index") is not None else None
            ys = y if keep is None else jnp.where(keep, y, 0)
            nll = lse - jnp.take_along_axis(x, ys[..., None], axis=-1)[..., 0]
            if cw is None:
                per = nll if not eps else (1 - eps) * nll + eps * (lse - jnp.mean(x, axis=-1))
                if keep is None:
                    return jnp.mean(per)
                k = keep.astype(x.dtype)
                return jnp.sum(per * k) / jnp.sum(k)
            # PyTorch's definition: (1-eps) w_y nll + eps/K sum_c w_c (lse - x_c), / sum w_y
            c = jnp.asarray(cw, x.dtype)
            k = jnp.ones_like(lse) if keep is None else keep.astype(x.dtype)
            w = c[ys] * k
            num = (1 - eps) * w * nll
            if eps:
                num = num + eps / x.shape[-1] * (lse * jnp.sum(c) - x @ c) * k
            return jnp.sum(num) / jnp.sum(w)

        return f

    # The losses built on the same integer-label lookup (issue 14, item 3), each as its formula
    # reads, differentiated by JAX, with their defaults only.
    def label_log_prob(x, y):
        return jnp.take_along_axis(jax.nn.log_softmax(x, axis=-1), y[..., None], -1)[..., 0]

    def nll(kw):  # predictions are log-probabilities: -lp[y]
        if kw:
            return None
        return lambda lp, y: -jnp.mean(jnp.take_along_axis(lp, y[..., None], -1)[..., 0])

    def focal(kw):  # -(1 - p_y)**gamma log p_y (Lin et al. 2017, eq. 4, softmax form)
        if set(kw) - {"gamma", "label_smoothing"}:
            return None
        g = kw.get("gamma", 2.0)
        eps = float(kw.get("label_smoothing", 0.0))

        def f(x, y):
            if eps:  # Keras's CategoricalFocalCrossentropy: every class, smoothed targets
                lp = jax.nn.log_softmax(x, axis=-1)
                t = (1.0 - eps) * jax.nn.one_hot(y, x.shape[-1], dtype=x.dtype) + eps / x.shape[-1]
                return jnp.mean(jnp.sum(-t * (1.0 - jnp.exp(lp)) ** g * lp, axis=-1))
            lp = label_log_prob(x, y)
            return jnp.mean(-((1.0 - jnp.exp(lp)) ** g) * lp)

        return f

    def poly1(kw):  # -log p_y + epsilon (1 - p_y) (Leng et al. 2022, eq. 3)
        if set(kw) - {"epsilon"}:
            return None
        eps = kw.get("epsilon", 2.0)

        def f(x, y):
            lp = label_log_prob(x, y)
            return jnp.mean(-lp + eps * (1.0 - jnp.exp(lp)))

        return f

    def defaults_only(formula):  # the loss with its defaults, as the formula reads
        return lambda kw: None if kw else (lambda x, y: jnp.mean(formula(x, y)))

    def label_of(x, y):
        return jnp.take_along_axis(x, y[..., None], -1)[..., 0]

    def onehot(x, y):
        return jax.nn.one_hot(y, x.shape[-1], dtype=x.dtype)

    def gce(x, y, q=0.7):  # (1 - p_y**q) / q (Zhang and Sabuncu 2018, eq. 6)
        return (1.0 - jnp.exp(label_log_prob(x, y)) ** q) / q

    def sce(x, y, alpha=0.1, beta=1.0, a=-4.0):  # alpha CE - beta A (1 - p_y) (Wang et al.)
        lp = label_log_prob(x, y)
        return -alpha * lp - beta * a * (1.0 - jnp.exp(lp))

    def categorical_ce(p, y):  # -log p_y on probabilities, clamped at -100 (Keras, PyTorch)
        return -jnp.maximum(jnp.log(label_of(p, y)), -100.0)

    def brier(p, y):  # sum_c (p_c - onehot_c)**2
        return jnp.sum((p - onehot(p, y)) ** 2, axis=-1)

    def multiclass_hinge(x, y, margin=1.0):  # Crammer and Singer: max_c(x_c + m [c != y]) - x_y
        return jnp.max(x + margin * (1.0 - onehot(x, y)), axis=-1) - label_of(x, y)

    def multi_margin(x, y, margin=1.0):  # sum_{c != y} max(0, m - x_y + x_c) / K (PyTorch)
        h = jax.nn.relu(margin - label_of(x, y)[..., None] + x) * (1.0 - onehot(x, y))
        return jnp.sum(h, axis=-1) / x.shape[-1]

    def categorical_hinge(x, y):  # Keras: max(0, 1 + max_c((1 - y_c) x_c) - x_y)
        t = onehot(x, y)
        return jax.nn.relu(1.0 + jnp.max((1.0 - t) * x, axis=-1) - jnp.sum(t * x, axis=-1))

    def perceptron(x, y):  # max_c x_c - x_y
        return jnp.max(x, axis=-1) - label_of(x, y)

    def sparsemax(z, y):  # Martins and Astudillo 2016, eqs. 2-3 (sort) and the loss of eq. 18
        zs = jnp.sort(z, axis=-1)[..., ::-1]
        k = jnp.arange(1, z.shape[-1] + 1, dtype=z.dtype)
        cum = jnp.cumsum(zs, axis=-1)
        support = jnp.sum(1.0 + k * zs > cum, axis=-1)
        tau = (jnp.take_along_axis(cum, support[..., None] - 1, -1)[..., 0] - 1.0) / support
        p = jax.nn.relu(z - tau[..., None])
        on = p > 0
        return (-label_of(z, y) + 0.5 * jnp.sum(jnp.where(on, z * z - tau[..., None] ** 2, 0.0),
                                                axis=-1) + 0.5)

    def bi_tempered(x, y, t1=0.8, t2=1.2, num_iters=10):
        # Amid et al. 2019, Algorithm 1 (the fixed-point normaliser, differentiated through
        # its iterations) and eq. 9 for a one-hot target, in plain powers. lossjax runs 5
        # fixed-point steps and 6 Newton steps (exact); the plain iteration needs 10 to agree
        # with it within the check's 1e-3 (gradient 3e-5 off at [512, 8192]; 5 steps: 4e-3).
        def exp_t(u, t):
            return jax.nn.relu(1.0 + (1.0 - t) * u) ** (1.0 / (1.0 - t))

        def log_t(u, t):
            return (u ** (1.0 - t) - 1.0) / (1.0 - t)

        mu = jnp.max(x, axis=-1, keepdims=True)
        a0 = x - mu
        a = a0
        for _ in range(num_iters):
            a = jnp.sum(exp_t(a, t2), axis=-1, keepdims=True) ** (1.0 - t2) * a0
        z = jnp.sum(exp_t(a, t2), axis=-1, keepdims=True)
        lam = -log_t(1.0 / z, t2) + mu
        yhat = exp_t(x - lam, t2)
        b = 2.0 - t1
        return (-log_t(label_of(yhat, y), t1) - 1.0 / b + jnp.sum(yhat ** b, axis=-1) / b)

    return {"softmax_cross_entropy": softmax_ce, "nll": nll, "softmax_focal": focal,
            "poly1_cross_entropy": poly1,
            "generalized_cross_entropy": defaults_only(gce),
            "symmetric_cross_entropy": defaults_only(sce),
            "categorical_cross_entropy": defaults_only(categorical_ce),
            "brier": defaults_only(brier),
            "multiclass_hinge": defaults_only(multiclass_hinge),
            "multi_margin": defaults_only(multi_margin),
            "categorical_hinge": defaults_only(categorical_hinge),
            "multiclass_perceptron": defaults_only(perceptron),
            "sparsemax": defaults_only(sparsemax),
            "bi_tempered_logistic": defaults_only(bi_tempered)}


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
        if set(kw) - CE_OPTIONS or kw.get("axis", -1) != -1:
            return None
        cw = kw.get("class_weights")
        opts = {"label_smoothing": float(kw.get("label_smoothing", 0.0)),
                "ignore_index": int(kw.get("ignore_index", -100))}
        if cw is not None:
            opts["weight"] = torch.from_numpy(np.asarray(cw, np.float32))
        return lambda x, y: F.cross_entropy(x, y, **opts)

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
    """One benchmark row: a loss, its positional inputs and keyword options.

    ``variant`` names the form of softmax cross-entropy (one of ``CE_CASES``); empty for the
    other losses."""

    loss: str
    shape: str
    elements: int
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    diff_argnums: tuple[int, ...]
    variant: str = ""

    @property
    def label(self) -> str:
        return f"{self.loss} ({self.variant})" if self.variant else self.loss


def _as_dtype(dtype: Any) -> Any:
    return jnp.dtype(dtype)


def ce_case_inputs(
    variant: str, x: jax.Array, y: jax.Array, key: jax.Array
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Inputs ``(args, kwargs)`` of softmax cross-entropy in the form ``variant`` (CE_CASES),
    from logits ``x`` ``[N, K]`` and integer labels ``y`` ``[N]``: ``ignore_index`` sets
    about 10% of the labels to -100; ``label_smoothing`` is 0.1; ``class_weights`` are drawn
    from U(0.5, 2); ``probs`` replaces the labels by the softmax of random normal logits."""
    n, k = x.shape
    if variant == "plain":
        return (x, y), {}
    if variant == "ignore_index":
        drop = jax.random.bernoulli(key, 0.1, (n,))
        return (x, jnp.where(drop, -100, y)), {"ignore_index": -100}
    if variant == "label_smoothing":
        return (x, y), {"label_smoothing": 0.1}
    if variant == "class_weights":
        return (x, y), {"class_weights": jax.random.uniform(key, (k,), jnp.float32, 0.5, 2.0)}
    if variant == "probs":
        p = jax.nn.softmax(jax.random.normal(key, (n, k), jnp.float32), axis=-1)
        return (x, p.astype(x.dtype)), {}
    raise ValueError(f"unknown softmax cross-entropy case {variant!r}; choose from {CE_CASES}")


def make_cases(
    name: str,
    sizes: Sequence[int],
    dtype: Any = jnp.float32,
    class_shapes: Sequence[tuple[int, int]] = DEFAULT_CLASS_SHAPES,
    seed: int = 0,
    ce_cases: Sequence[str] = CE_CASES,
) -> list[Case]:
    """The inputs on which ``name`` is benchmarked (see the module docstring); softmax
    cross-entropy gets one case per shape and entry of ``ce_cases``."""
    spec = registry.spec(name)
    key = jax.random.PRNGKey(seed)
    cases = []
    if name in CLASS_LOSSES:
        from lossjax import _samples

        if name == "softmax_cross_entropy":
            variants = tuple(ce_cases)
        elif name == "softmax_focal" and "label_smoothing" in ce_cases:
            # with a smoothing focal is Keras's dense definition (its generic path)
            variants = ("", "label_smoothing")
        else:
            variants = ("",)
        for n, k in class_shapes:
            k1, k2 = jax.random.split(jax.random.fold_in(key, n * k))
            k3 = jax.random.fold_in(k2, 1)
            x = _samples.predictions_of(spec.predictions, k1, (n, k), dtype, True)
            y = jax.random.randint(k2, (n,), 0, k)
            for variant in variants:
                args, kwargs = ce_case_inputs(variant, x, y, k3) if variant else ((x, y), {})
                # the gradient a training step takes: with respect to the logits only
                cases.append(Case(name, f"[{n}, {k}]", n * k, args, kwargs, (0,), variant))
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
    """The arguments a training step differentiates: the spec's floating differentiable
    arguments (integer labels are not) without the targets (argument 1), which are data,
    except where they are model outputs too (metric learning: positives, second members)."""
    model_outputs = spec.task == "metric_learning"
    return tuple(i for i in spec.diff_argnums
                 if (i != 1 or model_outputs)
                 and jnp.issubdtype(jnp.asarray(args[i]).dtype, jnp.floating))


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
    fns: dict[str, Callable[[], Any]], repeats: int, warmup: int, inner: int = 1,
    rotate: bool = True,
) -> dict[str, list[float]]:
    """Times every function in every round, back to back, so that the ratio of two of them
    can be taken within a round (a slow phase of a shared machine then hits both alike).

    Calls every function ``warmup`` times, then runs ``repeats`` rounds; in each round every
    function in turn gets ``inner`` back-to-back calls, of which the fastest is kept (load
    from other processes only ever adds time, so the fastest call is the least disturbed).
    With ``rotate`` the order of the functions shifts by one each round, so that none always
    runs first (after another one has evicted its caches). Returns the seconds per round."""
    for _ in range(warmup):
        for f in fns.values():
            _block(f())
    names = list(fns)
    times: dict[str, list[float]] = {k: [] for k in names}
    for r in range(repeats):
        shift = r % len(names) if rotate and names else 0
        for k in names[shift:] + names[:shift]:
            f = fns[k]
            best = float("inf")
            for _ in range(max(1, inner)):
                t0 = time.perf_counter()
                _block(f())
                best = min(best, time.perf_counter() - t0)
            times[k].append(best)
    return times


def ratio_stats(a: Sequence[float], b: Sequence[float]) -> dict[str, float]:
    """Statistics of the per-round ratios ``a[i] / b[i]``: the median, the quartiles ``q1``
    and ``q3`` (inclusive method; the interquartile range is the spread reported), the
    smallest and largest ratio and the number of rounds."""
    rs = [x / y for x, y in zip(a, b, strict=True)]
    if not rs:
        raise ValueError("no rounds")
    q1, _, q3 = statistics.quantiles(rs, n=4, method="inclusive") if len(rs) > 1 else rs * 3
    return {"median": float(statistics.median(rs)), "q1": float(q1), "q3": float(q3),
            "min": float(min(rs)), "max": float(max(rs)), "rounds": len(rs)}


def _median_ratio(a: list[float], b: list[float]) -> float:
    return ratio_stats(a, b)["median"]


def fmt_ratio(st: dict[str, float] | None, mark: bool = False) -> str:
    """``median [q1–q3]`` of per-round ratios; with ``mark``, a median above 1 is bold."""
    if st is None:
        return ""
    m = f"{st['median']:.2f}"
    if mark and st["median"] > 1.0:
        m = f"**{m}**"
    return f"{m} [{st['q1']:.2f}–{st['q3']:.2f}]"


def slower_than(spread: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    """The peer ratios (``vag/<peer>``, ``fwd/<peer>``, peer in ``PEERS``) whose median per-round
    ratio is above 1 (lossjax slower than that peer). ``beyond_spread`` says whether even the
    first quartile is above 1 (slower in at least three rounds of four)."""
    out = []
    for key, st in spread.items():
        what, _, peer = key.partition("/")
        if what in ("vag", "fwd") and peer in PEERS and st["median"] > 1.0:
            out.append({"ratio": key, "median": st["median"], "q1": st["q1"], "q3": st["q3"],
                        "beyond_spread": bool(st["q1"] > 1.0)})
    return out


def fmt_slower(entries: Sequence[dict[str, Any]]) -> str:
    """``SLOWER than a peer: vag/optax 1.26, ...`` (``(noise?)`` where the interquartile range
    reaches 1), or the empty string."""
    if not entries:
        return ""
    parts = [f"{e['ratio']} {e['median']:.2f}" + ("" if e["beyond_spread"] else " (noise?)")
             for e in entries]
    return "SLOWER than a peer: " + ", ".join(parts)


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
        # Issue 14: at most 0.8x optax with integer labels, no slower than optax with the
        # options / probability targets, no slower than plain autodiff, within 1.5x the floor.
        if "vag/optax" in r:
            out.append(("vag/optax", r["vag/optax"], 0.8 if case.variant in ("", "plain")
                        else 1.0))
        if "vag/naive" in r:
            out.append(("vag/naive", r["vag/naive"], 1.0))
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


def _tolerance(dtype: Any) -> float:
    return 1e-3 if jnp.dtype(dtype).itemsize >= 4 else 1e-1


def _deviation(value: Any, grads: Sequence[Any], ref_value: Any, ref_grads: Sequence[Any]
               ) -> dict[str, float]:
    """Relative deviation of a value (to ``max(|ref|, 1)``) and of each gradient (to the
    reference gradient's largest entry) from the reference."""
    v, rv = float(np.asarray(value, np.float64)), float(np.asarray(ref_value, np.float64))
    out = {"value": abs(v - rv) / max(abs(rv), 1.0)}
    for i, (g, rg) in enumerate(zip(grads, ref_grads, strict=True)):
        g, rg = np.asarray(g, np.float64), np.asarray(rg, np.float64)
        out[f"grad{i}"] = float(np.max(np.abs(g - rg)) / max(float(np.max(np.abs(rg))), 1e-30))
    return out


def check_agreement(fns: dict[str, Callable[[], Any]], case: Case) -> dict[str, dict[str, float]]:
    """Calls lossjax's and every peer's ``vag`` (and ``fwd``) once and compares the values and
    gradients with lossjax's; raises ``AssertionError`` when a peer computes something else
    (a deviation above 1e-3 in 32/64-bit floats, 1e-1 in 16-bit ones), so that every ratio
    compares implementations of the same quantity. Returns the deviations per peer."""
    tol = _tolerance(case.args[0].dtype)
    ref_v, ref_g = _block(fns["lossjax_vag"]())
    ref_g = list(ref_g) if isinstance(ref_g, (tuple, list)) else [ref_g]
    fwd_v = _block(fns["lossjax_fwd"]())
    out = {"lossjax_fwd": {"value": _deviation(fwd_v, [], ref_v, [])["value"]}}
    for key in fns:
        peer, _, what = key.partition("_")
        if peer in ("lossjax", "floor") or what != "vag":
            continue
        v, g = _block(fns[key]())
        g = list(g) if isinstance(g, (tuple, list)) else [g]
        g = [x.detach().numpy() if hasattr(x, "detach") else x for x in g]
        dev = _deviation(v, g, ref_v, ref_g)
        dev["fwd_value"] = _deviation(_block(fns[f"{peer}_fwd"]()), [], ref_v, [])["value"]
        out[peer] = dev
    for peer, dev in out.items():
        bad = {k: v for k, v in dev.items() if not v <= tol}
        assert not bad, (
            f"{case.label} {case.shape}: {peer} deviates from lossjax by {bad} (tolerance "
            f"{tol}): the two do not compute the same loss")
    return out


def run_case(
    case: Case, peers: Sequence[str], repeats: int, warmup: int, torch=None, inner: int = 1,
    check: bool = True,
) -> dict[str, Any]:
    """Benchmarks one case: lossjax, each peer in ``peers`` that has an equivalent (optax,
    naive, torch) and the floor, all timed in every round (``time_round_robin``); ratios are
    taken within each round. With ``check`` every peer's value and gradient are first compared
    with lossjax's (``check_agreement``).

    Returns a JSON-able dict: ``median_s`` (median seconds per implementation), ``times_s``
    (seconds per round), ``ratios`` (median per-round ratios, e.g. ``vag/optax``),
    ``ratio_spread`` (``ratio_stats`` of each ratio), ``slower_than`` (``slower_than``),
    ``targets``, ``deviation``, ``compile_s`` and ``memory``."""
    fn = registry.get(case.loss)
    kw = case.kwargs
    impls: dict[str, Callable[..., Any]] = {"lossjax": lambda *a: fn(*a, **kw)}
    for peer, table in (("optax", _optax_adapters), ("naive", _naive_adapters)):
        if peer in peers:
            adapter = table().get(case.loss)
            pfn = adapter(kw) if adapter else None
            if pfn is not None:
                impls[peer] = pfn
    res: dict[str, Any] = {"loss": case.loss, "variant": case.variant, "shape": case.shape,
                           "elements": case.elements,
                           "options": {k: (v if isinstance(v, (int, float, str)) else
                                           f"array{list(np.shape(v))}") for k, v in kw.items()}}
    fl = floor_fn(case).lower(*case.args).compile()
    fns: dict[str, Callable[[], Any]] = {"floor": lambda: fl(*case.args)}
    res["compile_s"], res["memory"] = {}, {}
    for name, f in impls.items():
        compiled, secs, mem = compile_vag(f, case)
        fwd = jax.jit(f).lower(*case.args).compile()
        fns[f"{name}_fwd"] = lambda fwd=fwd: fwd(*case.args)
        fns[f"{name}_vag"] = lambda compiled=compiled: compiled(*case.args)
        res["compile_s"][name] = secs
        res["memory"][name] = mem
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
    if check:
        res["deviation"] = check_agreement(fns, case)
    times = time_round_robin(fns, repeats, warmup, inner)
    res["median_s"] = {k: float(statistics.median(v)) for k, v in times.items()}
    res["times_s"] = times
    spread: dict[str, dict[str, float]] = {
        "vag/floor": ratio_stats(times["lossjax_vag"], times["floor"]),
        "fwd/floor": ratio_stats(times["lossjax_fwd"], times["floor"]),
    }
    for peer in PEERS:
        if f"{peer}_vag" in times:
            spread[f"vag/{peer}"] = ratio_stats(times["lossjax_vag"], times[f"{peer}_vag"])
            spread[f"fwd/{peer}"] = ratio_stats(times["lossjax_fwd"], times[f"{peer}_fwd"])
            spread[f"{peer}_vag/floor"] = ratio_stats(times[f"{peer}_vag"], times["floor"])
    res["ratios"] = {k: st["median"] for k, st in spread.items()}
    res["ratio_spread"] = spread
    res["slower_than"] = slower_than(spread)
    res["targets"] = [
        {"ratio": what, "measured": m, "bound": b, "met": bool(m <= b)}
        for what, m, b in target_for(case, res)
    ]
    return res


def summary_line(res: dict[str, Any]) -> str:
    """One printed line per case: every peer ratio as ``median [q1–q3]``, then the mark."""
    label = res["loss"] + (f" ({res['variant']})" if res.get("variant") else "")
    keys = [k for k in res["ratio_spread"] if "/" in k and not k.split("/")[0].endswith("_vag")]
    line = f"{label} {res['shape']}: " + ", ".join(
        f"{k} {fmt_ratio(res['ratio_spread'][k])}" for k in keys)
    mark = fmt_slower(res["slower_than"])
    return line + (f"  <-- {mark}" if mark else "")


# --------------------------------------------------------------------------------------------
# End-to-end training steps


def train_step_benchmark(
    loss_fns: dict[str, Callable[..., Any]], params: Any, batch: Sequence[Any],
    repeats: int = 20, warmup: int = 3, inner: int = 1, learning_rate: float = 1e-3,
) -> dict[str, Any]:
    """Times a full training step per loss function, as a user writes it: ``jax.jit`` of
    forward, loss, backward and an optax Adam update, with the parameters and the optimizer
    state donated (``donate_argnums=(0, 1)``); each step's outputs feed its next call.

    ``loss_fns`` maps a name (``lossjax``, ``optax``) to ``loss(params, *batch)``. The steps
    are timed round-robin (``time_round_robin``), each from its own copy of ``params``. The
    first step's losses (same parameters, same batch) must agree to 1e-4 relative. Returns
    ``median_s``, ``times_s``, ``lossjax/optax`` (median per-round ratio), ``spread``
    (``ratio_stats``), ``first_loss`` and ``compile_s``."""
    import optax

    opt = optax.adam(learning_rate)

    def make_step(loss_fn):
        def step(p, s, *b):
            loss, grads = jax.value_and_grad(loss_fn)(p, *b)
            updates, s = opt.update(grads, s, p)
            return optax.apply_updates(p, updates), s, loss

        return jax.jit(step, donate_argnums=(0, 1))

    state: dict[str, Any] = {}
    compiled: dict[str, Any] = {}
    compile_s: dict[str, float] = {}
    for k, lf in loss_fns.items():
        p = jax.tree.map(jnp.copy, params)
        s = opt.init(p)
        t0 = time.perf_counter()
        compiled[k] = make_step(lf).lower(p, s, *batch).compile()
        compile_s[k] = time.perf_counter() - t0
        state[k] = (p, s)

    def call(k: str) -> Any:
        p, s, loss = compiled[k](*state[k], *batch)
        state[k] = (p, s)
        return p, s, loss

    first = {k: float(_block(call(k))[2]) for k in compiled}
    ref = first["optax"] if "optax" in first else next(iter(first.values()))
    for v in first.values():
        assert abs(v - ref) <= 1e-4 * max(abs(ref), 1.0), f"first-step losses differ: {first}"
    times = time_round_robin({k: (lambda k=k: call(k)) for k in compiled}, repeats, warmup,
                             inner)
    out: dict[str, Any] = {
        "step": "jit(forward, loss, value_and_grad, optax.adam update), params and optimizer "
                "state donated",
        "median_s": {k: float(statistics.median(v)) for k, v in times.items()},
        "times_s": times, "first_loss": first, "compile_s": compile_s,
    }
    if "lossjax" in times and "optax" in times:
        st = ratio_stats(times["lossjax"], times["optax"])
        out["lossjax/optax"] = st["median"]
        out["spread"] = st
    return out


def mlp_step_benchmark(
    batch: int = 1024, width: int = 1024, classes: int = 1000, depth: int = 2,
    repeats: int = 20, warmup: int = 3, seed: int = 0, inner: int = 1,
) -> dict[str, Any]:
    """The full training step (``train_step_benchmark``) of an MLP classifier (``depth``
    hidden ReLU layers of ``width``, ``classes`` logits, ``batch`` examples) with lossjax's
    and with optax's softmax cross-entropy, interleaved round by round."""
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
        "lossjax": lambda p, x, y: lossjax.softmax_cross_entropy(logits(p, x), y),
        "optax": lambda p, x, y: jnp.mean(
            optax.losses.softmax_cross_entropy_with_integer_labels(logits(p, x), y)),
    }
    res = train_step_benchmark(losses, params, (x, y), repeats, warmup, inner)
    res["config"] = {"batch": batch, "width": width, "classes": classes, "depth": depth}
    return res


def _layer_norm(h: jax.Array, gb: tuple[jax.Array, jax.Array]) -> jax.Array:
    mu = jnp.mean(h, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(h - mu), axis=-1, keepdims=True)
    return (h - mu) * jax.lax.rsqrt(var + 1e-5) * gb[0] + gb[1]


def init_lm(key: jax.Array, vocab: int, seq: int, width: int, layers: int) -> dict[str, Any]:
    """Parameters of a small pre-LayerNorm decoder-only transformer (learned positions, MLP
    of 4 x width, untied output projection ``[width, vocab]``)."""
    ks = iter(jax.random.split(key, 3 + 4 * layers))

    def dense(i: int, o: int) -> jax.Array:
        return jax.random.normal(next(ks), (i, o), jnp.float32) / np.sqrt(i)

    def ln() -> tuple[jax.Array, jax.Array]:
        return jnp.ones((width,), jnp.float32), jnp.zeros((width,), jnp.float32)

    blocks = [{"ln1": ln(), "qkv": dense(width, 3 * width), "out": dense(width, width),
               "ln2": ln(), "up": dense(width, 4 * width), "down": dense(4 * width, width)}
              for _ in range(layers)]
    return {"embed": 0.02 * jax.random.normal(next(ks), (vocab, width), jnp.float32),
            "pos": 0.02 * jax.random.normal(next(ks), (seq, width), jnp.float32),
            "blocks": blocks, "ln_f": ln(), "head": dense(width, vocab)}


def lm_logits(params: dict[str, Any], tokens: jax.Array, heads: int) -> jax.Array:
    """Next-token logits ``[batch, seq, vocab]`` of ``init_lm``'s model (causal attention)."""
    b, t = tokens.shape
    h = params["embed"][tokens] + params["pos"][:t]
    w = h.shape[-1]
    causal = jnp.tril(jnp.ones((t, t), bool))
    for blk in params["blocks"]:
        a = _layer_norm(h, blk["ln1"]) @ blk["qkv"]
        q, k, v = (z.reshape(b, t, heads, w // heads) for z in jnp.split(a, 3, axis=-1))
        s = jnp.einsum("bthd,bshd->bhts", q, k) / np.sqrt(w // heads)
        s = jnp.where(causal, s, jnp.finfo(s.dtype).min)
        o = jnp.einsum("bhts,bshd->bthd", jax.nn.softmax(s, axis=-1), v).reshape(b, t, w)
        h = h + o @ blk["out"]
        h = h + jax.nn.gelu(_layer_norm(h, blk["ln2"]) @ blk["up"]) @ blk["down"]
    return _layer_norm(h, params["ln_f"]) @ params["head"]


def transformer_step_benchmark(
    batch: int = 8, seq: int = 128, vocab: int = 8192, width: int = 256, layers: int = 2,
    heads: int = 4, repeats: int = 20, warmup: int = 3, seed: int = 0, inner: int = 1,
) -> dict[str, Any]:
    """The full training step (``train_step_benchmark``) of a small transformer language
    model (``init_lm``; next-token loss over ``batch x seq`` tokens of a ``vocab``-word
    vocabulary) with lossjax's and with optax's softmax cross-entropy, interleaved."""
    import optax

    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    params = init_lm(k1, vocab, seq, width, layers)
    tokens = jax.random.randint(k2, (batch, seq + 1), 0, vocab)
    inp, tgt = tokens[:, :-1], tokens[:, 1:]
    losses = {
        "lossjax": lambda p, x, y: lossjax.softmax_cross_entropy(lm_logits(p, x, heads), y),
        "optax": lambda p, x, y: jnp.mean(
            optax.losses.softmax_cross_entropy_with_integer_labels(lm_logits(p, x, heads), y)),
    }
    res = train_step_benchmark(losses, params, (inp, tgt), repeats, warmup, inner)
    res["config"] = {"batch": batch, "seq": seq, "vocab": vocab, "width": width,
                     "layers": layers, "heads": heads}
    return res


E2E_MODELS = {"mlp": mlp_step_benchmark, "transformer": transformer_step_benchmark}


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


def _e2e_line(name: str, res: dict[str, Any]) -> str:
    c = ", ".join(f"{k} {v}" for k, v in res["config"].items())
    st = res["spread"]
    mark = " **SLOWER than optax**" if st["median"] > 1.0 else ""
    return (f"- {name} ({c}): lossjax {_ms(res['median_s']['lossjax'])} ms, optax "
            f"{_ms(res['median_s']['optax'])} ms per step; lossjax/optax "
            f"{st['median']:.3f} [IQR {st['q1']:.3f}–{st['q3']:.3f}, min–max "
            f"{st['min']:.3f}–{st['max']:.3f}] over {st['rounds']} rounds (target <= 1.0: "
            f"{'OK' if st['median'] <= 1.0 else 'MISSED'}){mark}.")


def markdown(
    results: list[dict[str, Any]], e2e: dict[str, Any] | None, meta: dict[str, Any]
) -> str:
    """The report: one table row per case (times, ratios as ``median [q1–q3]`` of the
    per-round ratios, bold where lossjax is slower than that peer, a "slower than a peer"
    column, targets), then the end-to-end training steps."""
    header = [
        f"Benchmark ({meta.get('date', '')}; {meta['machine'].get('cpu', '')}, "
        f"{meta['machine'].get('cpu_count')} CPUs, backend {meta['machine']['backend']}; "
        f"jax {meta['machine']['jax']}, optax {meta['machine'].get('optax', '-')}, torch "
        f"{meta.get('torch', 'not installed')}; dtype {meta['dtype']}; {meta['repeats']} "
        f"rounds after {meta['warmup']} warm-up; in every round each implementation of a row "
        f"runs {meta['inner']} time(s) back to back (fastest kept), all implementations in "
        f"turn, the order rotated by one each round).",
        "",
    ]
    lines = header + ([
        f"Command: `{meta['command']}`",
        "",
        "Times in ms (median over rounds). Ratios are taken within each round; a ratio cell is "
        "`median [q1–q3]` of the per-round ratios, **bold** where lossjax is slower than that "
        "peer (median > 1); the \"slower than a peer\" column lists every such ratio, with "
        "\"(noise?)\" where the interquartile range reaches 1. `vag` = jitted value_and_grad "
        "of the mean loss; naive = jitted plain autodiff of the loss's formula (softmax "
        "cross-entropy: `logsumexp(x) - x[y]`); floor = one jitted element-wise pass reading "
        "the inputs and writing one gradient-sized array. Every peer's value and gradient "
        "were checked against lossjax's before timing"
        + (" (--check)." if meta.get("check", True) else " (not in this run: --nocheck).")
        + " Temp = XLA temporary bytes of `vag` (MiB, lossjax / optax).",
        "",
        "| loss | shape | fwd | vag | optax fwd | optax vag | naive vag | torch vag | floor | "
        "vag/optax | vag/naive | vag/torch | vag/floor | fwd/optax | fwd/naive | compile s | "
        "temp MiB | slower than a peer | targets |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ] if results else [f"Command: `{meta['command']}`"])
    for res in results:
        m, sp = res["median_s"], res.get("ratio_spread", {})
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
        label = res["loss"] + (f" ({res['variant']})" if res.get("variant") else "")
        slower = fmt_slower(res.get("slower_than", []))
        lines.append(
            f"| {label} | {res['shape']} | {_ms(m.get('lossjax_fwd'))} | "
            f"{_ms(m.get('lossjax_vag'))} | {_ms(m.get('optax_fwd'))} | {_ms(m.get('optax_vag'))} "
            f"| {_ms(m.get('naive_vag'))} | {_ms(m.get('torch_vag'))} | {_ms(m.get('floor'))} | "
            f"{fmt_ratio(sp.get('vag/optax'), True)} | {fmt_ratio(sp.get('vag/naive'), True)} | "
            f"{fmt_ratio(sp.get('vag/torch'), True)} | {fmt_ratio(sp.get('vag/floor'))} | "
            f"{fmt_ratio(sp.get('fwd/optax'), True)} | {fmt_ratio(sp.get('fwd/naive'), True)} | "
            f"{comp} | {temp} | {f'**{slower}**' if slower else ''} | {tg} |"
        )
    if e2e:
        lines += ["", "End-to-end training steps (jit of forward, loss, backward and the optax "
                  "Adam update, parameters and optimizer state donated; lossjax's and optax's "
                  "cross-entropy interleaved round by round; ratio per round):", ""]
        lines += [_e2e_line(name, res) for name, res in e2e.items() if res]
    return "\n".join(lines) + "\n"


def default_losses() -> list[str]:
    """Every registered differentiable loss with a sampler, except ``SKIP_BY_DEFAULT``."""
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
    peers: Sequence[str] = PEERS,
    e2e: bool = True,
    e2e_config: dict[str, int] | None = None,
    command: str = "python -m experiments.benchmark",
    out: str | None = None,
    log: Callable[[str], None] = print,
    ce_cases: Sequence[str] = CE_CASES,
    e2e_models: Sequence[str] = tuple(E2E_MODELS),
    transformer_config: dict[str, int] | None = None,
    check: bool = True,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None, str]:
    """Runs every case of ``losses`` (``["all"]`` or None: ``default_losses()``; ``["none"]``:
    no loss, only the end-to-end steps) and, with ``e2e``, the training steps named in
    ``e2e_models`` (``e2e_config`` / ``transformer_config`` override the MLP's / the
    transformer's sizes). Logs one ``summary_line`` per case; writes ``benchmark.json``
    (``meta``, ``results``, ``e2e``: the MLP step, ``e2e_transformer``) and ``benchmark.md``
    to ``out`` if given. Returns the case results, ``{model: step result}`` (or None) and the
    markdown."""
    unknown = set(peers) - set(PEERS)
    if unknown:
        raise ValueError(f"unknown peers {sorted(unknown)}; choose from {PEERS}")
    torch = torch_module() if "torch" in peers else None
    losses = list(losses or [])
    if losses in ([], ["all"]):
        names = default_losses()
    elif losses == ["none"]:
        names = []
    else:
        names = losses
    names = [registry.spec(n).name for n in names]  # aliases -> canonical names
    results = []
    for name in names:
        for case in make_cases(name, sizes, _as_dtype(dtype), class_shapes, ce_cases=ce_cases):
            res = run_case(case, peers, repeats, warmup, torch, inner, check)
            results.append(res)
            log(summary_line(res))
            del case
    e2e_res: dict[str, Any] | None = None
    if e2e:
        configs = {"mlp": e2e_config or {}, "transformer": transformer_config or {}}
        e2e_res = {}
        for model in e2e_models:
            r = E2E_MODELS[model](repeats=repeats, warmup=warmup, inner=inner,
                                  **configs.get(model, {}))
            e2e_res[model] = r
            log(_e2e_line(model, r))
    meta = {
        "date": time.strftime("%Y-%m-%d"), "machine": machine(), "dtype": str(dtype),
        "repeats": repeats, "warmup": warmup, "inner": inner, "peers": list(peers),
        "ce_cases": list(ce_cases), "check": check, "command": command,
        "method": "per-round ratios: every round times all implementations of a row back to "
                  "back (order rotated by one each round); ratio_spread holds the median, "
                  "quartiles, min and max of the per-round ratios",
    }
    if torch is not None:
        meta["torch"] = f"{torch.__version__} eager, {torch.get_num_threads()} threads"
    md = markdown(results, e2e_res, meta)
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        with open(Path(out) / "benchmark.json", "w") as f:
            json.dump({"meta": meta, "results": results,
                       "e2e": (e2e_res or {}).get("mlp"),
                       "e2e_transformer": (e2e_res or {}).get("transformer")}, f, indent=1)
        with open(Path(out) / "benchmark.md", "w") as f:
            f.write(md)
    return results, e2e_res, md


def main(argv: Sequence[str]) -> None:
    import sys

    from absl import flags

    del argv
    F = flags.FLAGS
    shapes = [tuple(int(v) for v in s.split("x")) for s in F.class_shapes]
    unknown = set(F.e2e_models) - set(E2E_MODELS)
    if unknown:
        raise flags.ValidationError(f"--e2e_models: unknown {sorted(unknown)}")
    _, _, md = run(
        losses=F.losses, sizes=[int(s) for s in F.sizes], class_shapes=shapes,
        dtype=F.dtype, repeats=F.repeats, warmup=F.warmup, inner=F.inner, peers=F.peers,
        e2e=F.e2e, ce_cases=F.ce_cases, e2e_models=F.e2e_models, check=F.check,
        command="python -m experiments.benchmark " + " ".join(sys.argv[1:]), out=F.out,
    )
    print(md)


def define_flags() -> None:
    """Defines the command-line flags (only when the module runs as a script)."""
    from absl import flags

    flags.DEFINE_list("losses", ["all"], "Registry names (or aliases) to benchmark, 'all', or "
                      "'none' (only the end-to-end steps).")
    flags.DEFINE_list("sizes", [str(s) for s in DEFAULT_SIZES],
                      "Element counts for element-wise (and sampler-based per-example) losses.")
    flags.DEFINE_list("class_shapes", [f"{n}x{k}" for n, k in DEFAULT_CLASS_SHAPES],
                      "NxK shapes for classification losses with integer labels.")
    flags.DEFINE_list("ce_cases", list(CE_CASES),
                      "Forms of softmax cross-entropy: plain (integer labels), ignore_index "
                      "(~10% labels -100), label_smoothing (0.1), class_weights, probs "
                      "(probability targets).")
    flags.DEFINE_enum("dtype", "float32", ["float32", "bfloat16", "float16", "float64"],
                      "Dtype of the inputs.")
    flags.DEFINE_integer("repeats", 15, "Timed rounds; every round times every implementation "
                         "of a row, ratios are taken per round (median and spread reported).")
    flags.DEFINE_integer("warmup", 2, "Untimed rounds first.")
    flags.DEFINE_integer("inner", 3, "Back-to-back calls per implementation and round; the "
                         "fastest is kept (robust to other processes' load).")
    flags.DEFINE_list("peers", list(PEERS), "Peers to compare with: optax, naive (plain "
                      "autodiff of the formula), torch (PyTorch eager, if importable).")
    flags.DEFINE_bool("check", True, "Before timing, assert that every peer's value and "
                      "gradient agree with lossjax's.")
    flags.DEFINE_bool("e2e", True, "Also time the end-to-end training steps.")
    flags.DEFINE_list("e2e_models", list(E2E_MODELS), "End-to-end steps: mlp (classifier, "
                      "1000 classes), transformer (language model, vocabulary 8192).")
    flags.DEFINE_string("out", "experiments/results/benchmark", "Folder for JSON + markdown.")


if __name__ == "__main__":
    from absl import app

    define_flags()
    app.run(main)
