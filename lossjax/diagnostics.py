"""Diagnostics: reading a model's losses, not only computing them.

Four questions people ask about a loss, each with a function:

* **Is my high loss a few outliers or is everything bad?** :func:`loss_summary` takes
  per-sample losses (a loss with ``reduction="none"``) and returns their histogram, quantiles,
  the share of the total loss carried by the top ``k`` samples, and the samples beyond a robust
  threshold (median + 3.5 scaled MADs, and above the mean), with a verdict.
* **How good is this loss value?** :func:`chance_baseline` gives the cross-entropy and accuracy
  of a model that ignores its inputs and predicts the class frequencies.
* **Are the probabilities calibrated?** :func:`calibration` returns the expected calibration
  error with the per-bin data of a reliability diagram (binary or multiclass, equal-width bins).
* **When did over-fitting start?** :func:`overfitting_onset` reads train and validation loss
  curves and returns the epoch where the validation loss reaches its minimum before rising
  persistently, and the generalisation gap.

These are not losses: nothing here is registered or differentiated. :func:`calibration` is a
pure ``jax.numpy`` function (it works under ``jit``); the other three work on concrete arrays
(call them outside ``jit``) and return plain Python/NumPy values.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lossjax.metrics import chance_cross_entropy

ArrayLike = Any

__all__ = [
    "Baseline",
    "Calibration",
    "LossSummary",
    "OverfittingReport",
    "calibration",
    "chance_baseline",
    "expected_calibration_error",
    "loss_summary",
    "overfitting_onset",
]

# 1.4826 * MAD estimates the standard deviation of normal data; 1.2533 * mean absolute
# deviation does the same, and replaces the MAD when more than half the values are equal.
_MAD_SCALE = 1.4826
_MEAN_AD_SCALE = 1.2533


# --------------------------------------------------------------------------------------------
# Per-sample loss summary


@dataclasses.dataclass(frozen=True)
class LossSummary:
    """What a set of per-sample losses looks like. See :func:`loss_summary`.

    Attributes:
      count: number of samples summarised (kept by ``where`` and finite).
      nonfinite: number of kept samples whose loss is NaN or infinite (left out of the rest).
      total: sum of the losses.
      mean: mean loss.
      median: median loss.
      quantiles: ``{level: value}`` for the requested levels.
      histogram_counts: samples per bin, shape ``[bins]``.
      histogram_edges: bin edges, shape ``[bins + 1]`` (equal width, min to max).
      top_k_share: ``{k: share}``, the fraction of ``total`` carried by the ``k`` largest
        losses (``k / count`` would be the share of an even spread).
      top_indices: flat indices (into ``losses.ravel()``) of the largest losses, largest first,
        as many as the largest requested ``k``.
      half_share_count: the fewest samples that carry at least half of ``total``.
      threshold: the outlier threshold, ``max(median + k_mad * scale, mean)``.
      outliers: flat indices of the samples above ``threshold``, largest loss first.
      outlier_losses: their losses, in the same order.
      outlier_share: fraction of ``total`` carried by the outliers.
      baseline: the reference loss passed in (e.g. the chance cross-entropy), or None.
      verdict: ``"few_outliers"`` or ``"broad"`` (see :func:`loss_summary`).
    """

    count: int
    nonfinite: int
    total: float
    mean: float
    median: float
    quantiles: dict[float, float]
    histogram_counts: np.ndarray
    histogram_edges: np.ndarray
    top_k_share: dict[int, float]
    top_indices: np.ndarray
    half_share_count: int
    threshold: float
    outliers: np.ndarray
    outlier_losses: np.ndarray
    outlier_share: float
    baseline: float | None
    verdict: str

    def describe(self, max_named: int = 5) -> str:
        """One paragraph in words: the verdict, the numbers behind it and the outliers by name.

        Args:
          max_named: the most outliers named (flat index and loss, largest first); the rest
            are counted.
        """
        n_out = len(self.outliers)
        k1 = min(self.top_k_share)
        text = (
            f"{self.count} samples, mean loss {self.mean:.4g}, median {self.median:.4g}. "
            f"The top {k1} carry {100 * self.top_k_share[k1]:.1f}% of the total loss and "
            f"{self.half_share_count} sample(s) carry half of it; {n_out} sample(s) lie above "
            f"the outlier threshold {self.threshold:.4g} and carry "
            f"{100 * self.outlier_share:.1f}%"
        )
        if n_out:
            named = self.outliers[: max(int(max_named), 0)]
            vals = ", ".join(f"#{i} ({v:.4g})" for i, v in
                             zip(named.tolist(), self.outlier_losses[: named.size].tolist(),
                                 strict=True))
            more = f" and {n_out - named.size} more" if n_out > named.size else ""
            text += f": {vals}{more}" if named.size else ""
        text += ". "
        if self.verdict == "few_outliers":
            text += ("Verdict: a few outliers carry most of the loss; inspect them (label "
                     "noise, corrupted inputs, rare cases) before changing the model.")
        else:
            text += ("Verdict: the loss is spread over the samples; it is not explained by a "
                     "few outliers.")
        if self.baseline is not None:
            if self.baseline > 0:
                text += (f" The median loss is {self.median / self.baseline:.2f} times the "
                         f"baseline {self.baseline:.4g}.")
            else:
                text += " The baseline is 0 (a single class): any loss above 0 is above it."
        if self.nonfinite:
            text += f" {self.nonfinite} non-finite loss(es) were left out."
        return text


def loss_summary(
    losses: ArrayLike,
    *,
    where: ArrayLike | None = None,
    top_k: Sequence[int] = (1, 5, 10),
    quantile_levels: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0),
    bins: int = 20,
    k_mad: float = 3.5,
    max_outlier_fraction: float = 0.1,
    baseline: float | None = None,
) -> LossSummary:
    """Summarises per-sample losses so that "a few outliers" can be told from "all bad".

    Pass the per-sample losses of a model (any lossjax loss with ``reduction="none"``), e.g.
    on the validation set. Rules, computed in float64 on the kept, finite losses:

    * **Outliers** are the samples strictly above ``max(median + k_mad * scale, mean)``, with
      ``scale = 1.4826 * MAD`` (the median absolute deviation, scaled to a standard deviation
      for normal data), or ``1.2533 * mean absolute deviation`` when the MAD is 0. With
      ``k_mad = 3.5`` the first term is the modified z-score rule of Iglewicz and Hoaglin. The
      mean is there because losses are skewed: when most samples are fitted almost perfectly
      the MAD is tiny, and a sample below the mean loss is not what makes the mean high.
    * **Verdict** ``"few_outliers"`` when the fewest samples that carry half of the total loss
      (``half_share_count``) are at most ``max_outlier_fraction`` of the samples and are all
      outliers; ``"broad"`` otherwise (the loss is spread, or high everywhere).

    The top-``k`` shares say the same without a threshold: if the single largest loss carries
    40% of the total over 100 samples, the mean is about one sample.

    Args:
      losses: per-sample losses, any shape (flattened; indices refer to ``losses.ravel()``).
      where: optional boolean mask of the same shape; False leaves a sample out (e.g. padding,
        whose ``reduction="none"`` loss is 0 and would drag the quantiles down).
      top_k: the ``k`` for which to report the share of the total loss.
      quantile_levels: quantile levels in ``[0, 1]``.
      bins: number of equal-width histogram bins.
      k_mad: number of scaled MADs above the median for the outlier threshold.
      max_outlier_fraction: the most outliers, as a fraction of the samples, that still count
        as "a few".
      baseline: optional reference loss (e.g. :func:`chance_baseline` cross-entropy), finite
        and ``>= 0``, quoted by :meth:`LossSummary.describe`.

    Returns:
      A :class:`LossSummary`.

    Raises:
      ValueError: if no finite loss is kept, or an argument is out of range.

    Example:
      >>> import jax.numpy as jnp
      >>> from lossjax import diagnostics
      >>> losses = jnp.array([0.1, 0.2, 0.15, 0.12, 0.18, 0.11, 0.14, 0.16, 0.13, 6.0])
      >>> s = diagnostics.loss_summary(losses, top_k=(1, 3))
      >>> s.outliers.tolist(), s.verdict, round(s.top_k_share[1], 3)
      ([9], 'few_outliers', 0.823)
    """
    x = np.asarray(jax.device_get(losses), dtype=np.float64).ravel()
    keep = np.ones(x.shape, bool)
    if where is not None:
        w = np.asarray(jax.device_get(where))
        if w.dtype != np.bool_:
            raise TypeError(f"loss_summary: `where` must be boolean; got dtype {w.dtype}.")
        if w.size != x.size:
            raise ValueError(f"loss_summary: `where` has {w.size} entries; `losses` has {x.size}.")
        keep = w.ravel().copy()
    finite = np.isfinite(x)
    nonfinite = int(np.sum(keep & ~finite))
    keep &= finite
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        raise ValueError("loss_summary: no finite loss to summarise.")
    top_k = tuple(int(k) for k in top_k)
    if not top_k or min(top_k) < 1:
        raise ValueError(f"loss_summary: `top_k` must be positive integers; got {top_k}.")
    if bins < 1:
        raise ValueError(f"loss_summary: `bins` must be >= 1; got {bins}.")
    if baseline is not None and not (math.isfinite(float(baseline)) and float(baseline) >= 0):
        raise ValueError(f"loss_summary: `baseline` must be a finite loss >= 0; got {baseline!r}.")
    levels = tuple(float(q) for q in quantile_levels)
    if any(not 0.0 <= q <= 1.0 for q in levels):
        raise ValueError(f"loss_summary: quantile levels must lie in [0, 1]; got {levels}.")

    v = x[idx]
    order = np.argsort(-v, kind="stable")
    total = float(v.sum())
    median = float(np.median(v))
    mad = float(np.median(np.abs(v - median)))
    scale = _MAD_SCALE * mad if mad > 0 else _MEAN_AD_SCALE * float(np.mean(np.abs(v - median)))
    mean = float(v.mean())
    threshold = max(median + k_mad * scale, mean)
    above = order[v[order] > threshold]
    share = lambda s: float(s / total) if total != 0 else 0.0
    outlier_share = share(v[above].sum())
    cum = np.cumsum(v[order])
    half = int(np.searchsorted(cum, 0.5 * total, side="left")) + 1 if total > 0 else 0
    few = 0 < half <= max_outlier_fraction * v.size and half <= above.size
    counts, edges = np.histogram(v, bins=bins)
    return LossSummary(
        count=int(v.size),
        nonfinite=nonfinite,
        total=total,
        mean=mean,
        median=median,
        quantiles={q: float(np.quantile(v, q)) for q in levels},
        histogram_counts=counts,
        histogram_edges=edges,
        top_k_share={k: share(v[order[:k]].sum()) for k in top_k},
        top_indices=idx[order[: max(top_k)]],
        half_share_count=half,
        threshold=float(threshold),
        outliers=idx[above],
        outlier_losses=v[above],
        outlier_share=outlier_share,
        baseline=None if baseline is None else float(baseline),
        verdict="few_outliers" if few else "broad",
    )


# --------------------------------------------------------------------------------------------
# Chance baseline


class Baseline(NamedTuple):
    """What a model that ignores its inputs achieves. See :func:`chance_baseline`.

    Attributes:
      cross_entropy: mean cross-entropy (nats) of predicting the class frequencies: the
        entropy of the label distribution.
      accuracy: accuracy of always predicting the most frequent class.
      frequencies: class frequencies, shape ``[K]`` (``[2]`` for binary targets:
        negative, positive; ``K`` inferred from integer labels when not given).
    """

    cross_entropy: float
    accuracy: float
    frequencies: np.ndarray


def chance_baseline(
    targets: ArrayLike,
    *,
    num_classes: int | None = None,
    weights: ArrayLike | None = None,
) -> Baseline:
    """The chance baseline of a classification task: read a model's loss against it.

    A mean cross-entropy at or above ``cross_entropy`` means the model has learned nothing
    usable from its inputs (``ln 2 = 0.693`` for a balanced binary task, ``ln K`` for ``K``
    balanced classes); an accuracy at ``accuracy`` is what the majority class gives. Built on
    :func:`lossjax.chance_cross_entropy`.

    What the targets are is read from their dtype:

    * **integer labels** in ``[0, K)``: ``K`` is ``num_classes`` when given, else inferred as
      ``max(targets) + 1`` (at least 2). Inferring needs concrete labels: under ``jit``, pass
      ``num_classes``. Integer labels ``{0, 1}`` are a two-class task, the same as binary.
    * **binary targets** (floating or boolean, values in ``[0, 1]``; positive when ``>= 0.5``
      for the accuracy): leave ``num_classes`` None. Soft targets count by their value in the
      cross-entropy.

    Args:
      targets: integer labels ``[N]`` or binary targets ``[N]``.
      num_classes: number of classes for integer labels; None to infer it from the labels.
      weights: optional per-sample weights ``[N]``.

    Returns:
      A :class:`Baseline`.

    Raises:
      TypeError: ``num_classes`` with non-integer targets.
      ValueError: ``num_classes`` None for traced integer labels (it cannot be inferred);
        concrete labels outside ``[0, num_classes)`` (or negative when inferring).

    Example:
      >>> import jax.numpy as jnp
      >>> from lossjax import diagnostics
      >>> b = diagnostics.chance_baseline(jnp.array([0, 0, 1, 2]))
      >>> round(b.cross_entropy, 4), b.accuracy, b.frequencies.tolist()
      (1.0397, 0.5, [0.5, 0.25, 0.25])
    """
    t = jnp.asarray(targets)
    w = None if weights is None else jnp.asarray(weights, jnp.float32)
    integer = jnp.issubdtype(t.dtype, jnp.integer)
    if num_classes is not None and not integer:
        raise TypeError(
            f"chance_baseline: with `num_classes`, `targets` must be integer labels; got dtype "
            f"{t.dtype} (leave `num_classes` None for binary targets)."
        )
    if not integer:
        y = t.astype(jnp.float32)
        ce = chance_cross_entropy(jnp.zeros(y.shape, jnp.float32), y, weights=w)
        ww = jnp.ones_like(y) if w is None else jnp.broadcast_to(w, y.shape)
        f = float(jnp.sum(ww * (y >= 0.5)) / jnp.sum(ww))
        freq = np.array([1.0 - f, f])
    else:
        concrete = not isinstance(t, jax.core.Tracer)
        if num_classes is None:
            if not concrete:
                raise ValueError(
                    "chance_baseline: `num_classes` is None and the integer labels are traced "
                    "(under jit), so the number of classes cannot be inferred; pass "
                    "`num_classes`."
                )
            lab = np.asarray(t)
            if lab.size and lab.min() < 0:
                raise ValueError(
                    f"chance_baseline: integer labels must be >= 0 to infer `num_classes`; got "
                    f"{lab.min()}."
                )
            k = max(int(lab.max()) + 1 if lab.size else 0, 2)
        else:
            k = int(num_classes)
            if concrete and t.size and (int(jnp.min(t)) < 0 or int(jnp.max(t)) >= k):
                raise ValueError(
                    f"chance_baseline: integer labels must lie in [0, num_classes={k}); got "
                    f"values in [{int(jnp.min(t))}, {int(jnp.max(t))}]."
                )
        ce = chance_cross_entropy(jnp.zeros((*t.shape, k), jnp.float32), t, weights=w)
        onehot = np.asarray(jax.nn.one_hot(t, k, dtype=jnp.float32)).reshape(-1, k)
        per_sample = np.ones(onehot.shape[0]) if w is None else np.broadcast_to(
            np.asarray(w, np.float64).ravel(), (onehot.shape[0],))
        counts = (onehot * per_sample[:, None]).sum(0)
        freq = counts / counts.sum()
    return Baseline(float(ce), float(np.max(freq)), np.asarray(freq, np.float64))


# --------------------------------------------------------------------------------------------
# Calibration


class Calibration(NamedTuple):
    """Expected calibration error and the data of a reliability diagram.

    Attributes:
      ece: expected calibration error, ``sum_b (n_b / n) |accuracy_b - confidence_b|``.
      mce: maximum calibration error, ``max_b |accuracy_b - confidence_b|`` over non-empty bins.
      bin_edges: ``[num_bins + 1]`` equal-width edges on ``[0, 1]``.
      bin_counts: ``[num_bins]`` (weighted) number of samples per bin.
      bin_accuracy: ``[num_bins]`` observed frequency per bin (binary: fraction of positives;
        multiclass: fraction of correct argmax predictions); NaN for empty bins.
      bin_confidence: ``[num_bins]`` mean predicted probability per bin (binary: of the positive
        class; multiclass: of the predicted class); NaN for empty bins.
    """

    ece: jax.Array
    mce: jax.Array
    bin_edges: jax.Array
    bin_counts: jax.Array
    bin_accuracy: jax.Array
    bin_confidence: jax.Array


def calibration(
    probabilities: ArrayLike,
    targets: ArrayLike,
    *,
    num_bins: int = 15,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
) -> Calibration:
    r"""Expected calibration error (ECE) and reliability-diagram data, equal-width bins.

    .. math::

       \mathrm{ECE} = \sum_{b=1}^{B} \frac{n_b}{n}\, \bigl|\mathrm{acc}_b - \mathrm{conf}_b\bigr|,
       \qquad \mathrm{MCE} = \max_{b : n_b > 0} \bigl|\mathrm{acc}_b - \mathrm{conf}_b\bigr|

    over the :math:`B` (``num_bins``) bins, with :math:`n_b` the (weighted) number of samples
    in bin :math:`b`, :math:`n = \sum_b n_b`, :math:`\mathrm{acc}_b` their (weighted) fraction
    of hits and :math:`\mathrm{conf}_b` their mean confidence. Two kinds of inputs, told apart
    by shape as for the losses:

    * **binary**: ``targets`` has the shape of ``probabilities`` (the probability of the
      positive class), values in ``{0, 1}`` (positive when ``>= 0.5``). Samples are binned by
      ``p``; each bin compares the fraction of positives with the mean ``p`` (the reliability
      diagram of scikit-learn's ``calibration_curve(strategy="uniform")``).
    * **multiclass**: ``targets`` are integer labels without ``axis``. Samples are binned by
      the confidence ``max_k p_k``; each bin compares the accuracy of the argmax with the mean
      confidence (Guo et al., 2017).

    Bin ``b`` holds ``edges[b] <= p < edges[b + 1]`` and the last bin also ``p = 1``. Pass
    probabilities, e.g. ``jax.nn.sigmoid(logits)`` or ``jax.nn.softmax(logits)``. Works under
    ``jit`` (``num_bins`` and ``axis`` static).

    Args:
      probabilities: ``[N]`` (binary) or ``[N, K]`` (multiclass; any leading shape works).
      targets: binary targets of the same shape, or integer labels ``[N]``.
      num_bins: number of equal-width bins on ``[0, 1]``.
      axis: the class axis for multiclass probabilities.
      weights: optional per-sample weights.
      where: optional boolean mask of samples to keep.

    Returns:
      A :class:`Calibration`.

    Example:
      >>> import jax.numpy as jnp
      >>> from lossjax import diagnostics
      >>> p = jnp.array([0.9, 0.9, 0.9, 0.9, 0.2, 0.2])
      >>> y = jnp.array([1, 1, 1, 0, 0, 0])
      >>> c = diagnostics.calibration(p, y, num_bins=5)
      >>> round(float(c.ece), 4), c.bin_counts.tolist()
      (0.1667, [0.0, 2.0, 0.0, 0.0, 4.0])

    Reference:
      Naeini, Cooper and Hauskrecht, "Obtaining Well Calibrated Probabilities Using Bayesian
      Binning", AAAI (2015); Guo, Pleiss, Sun and Weinberger, "On Calibration of Modern Neural
      Networks", ICML (2017).
    """
    if isinstance(num_bins, bool) or not isinstance(num_bins, int) or num_bins < 1:
        raise ValueError(f"calibration: `num_bins` must be a positive int; got {num_bins!r}.")
    p = jnp.asarray(probabilities)
    if not jnp.issubdtype(p.dtype, jnp.floating):
        raise TypeError(f"calibration: `probabilities` must be floating; got {p.dtype}.")
    dtype = jnp.promote_types(p.dtype, jnp.float32)
    p = p.astype(dtype)
    t = jnp.asarray(targets)
    if t.shape == p.shape:  # binary
        conf = p
        hit = (t >= 0.5).astype(dtype)
    elif t.ndim == p.ndim - 1:
        ax = axis % p.ndim
        if t.shape != p.shape[:ax] + p.shape[ax + 1:]:
            raise ValueError(f"calibration: labels of shape {t.shape} do not match "
                             f"probabilities {p.shape} without axis {axis}.")
        if not jnp.issubdtype(t.dtype, jnp.integer):
            raise TypeError("calibration: multiclass `targets` must be integer labels.")
        conf = jnp.max(p, axis=ax)
        hit = (jnp.argmax(p, axis=ax) == t).astype(dtype)
    else:
        raise ValueError(f"calibration: `targets` of shape {t.shape} must have the shape of "
                         f"`probabilities` {p.shape} (binary) or that shape without `axis`.")
    w = jnp.ones(conf.shape, dtype) if weights is None else jnp.broadcast_to(
        jnp.asarray(weights, dtype), conf.shape)
    if where is not None:
        w = jnp.where(jnp.broadcast_to(jnp.asarray(where, bool), conf.shape), w, 0.0)
    conf, hit, w = conf.ravel(), hit.ravel(), w.ravel()
    edges = jnp.linspace(0.0, 1.0, num_bins + 1, dtype=dtype)
    b = jnp.clip(jnp.searchsorted(edges[1:-1], conf, side="right"), 0, num_bins - 1)
    seg = lambda v: jax.ops.segment_sum(v, b, num_segments=num_bins)
    counts = seg(w)
    nonempty = counts > 0
    den = jnp.where(nonempty, counts, 1.0)
    acc = jnp.where(nonempty, seg(w * hit) / den, jnp.nan)
    mean_conf = jnp.where(nonempty, seg(w * conf) / den, jnp.nan)
    gap = jnp.where(nonempty, jnp.abs(acc - mean_conf), 0.0)
    total = jnp.sum(counts)
    ece = jnp.where(total > 0, jnp.sum(counts * gap) / jnp.where(total > 0, total, 1.0), 0.0)
    return Calibration(ece, jnp.max(gap), edges, counts, acc, mean_conf)


def expected_calibration_error(
    probabilities: ArrayLike, targets: ArrayLike, *, num_bins: int = 15, **kwargs: Any
) -> jax.Array:
    """Shorthand for ``calibration(probabilities, targets, ...).ece``.

    Example:
      >>> import jax.numpy as jnp
      >>> from lossjax import diagnostics
      >>> p = jnp.array([[0.75, 0.25], [0.55, 0.45]])
      >>> round(float(diagnostics.expected_calibration_error(p, jnp.array([0, 1]))), 4)
      0.4
    """
    return calibration(probabilities, targets, num_bins=num_bins, **kwargs).ece


# --------------------------------------------------------------------------------------------
# Over-fitting onset


@dataclasses.dataclass(frozen=True)
class OverfittingReport:
    """Where the validation loss turns. See :func:`overfitting_onset`.

    Epochs are 0-based indices into the curves passed in.

    Attributes:
      onset_epoch: the epoch at which the (smoothed) validation loss is lowest before rising
        persistently; None when no persistent rise is found.
      best_epoch: the epoch of the lowest raw validation loss (what early stopping restores).
      best_val_loss: the raw validation loss there.
      smoothed_val_loss: the smoothed validation curve the rule was applied to.
      generalization_gap: ``val - train`` per epoch.
      gap_at_onset: the gap at ``onset_epoch`` (at ``best_epoch`` when there is no onset).
      final_gap: the gap at the last epoch.
      rise: how much the smoothed validation loss rose from the onset to the last epoch
        (0 when there is no onset).
      patience: the patience the rule used (given, or chosen from the curve's length).
      smoothing: the smoothing window the rule used (given, or chosen from the length).
      reason: in words, why there is an onset or why none was found (e.g. "only 2 epochs
        follow the best epoch 5; patience=3 needs 3": the curve is too short to tell).
    """

    onset_epoch: int | None
    best_epoch: int
    best_val_loss: float
    smoothed_val_loss: np.ndarray
    generalization_gap: np.ndarray
    gap_at_onset: float
    final_gap: float
    rise: float
    patience: int
    smoothing: int
    reason: str

    @property
    def overfitting(self) -> bool:
        return self.onset_epoch is not None


def _centered_mean(x: np.ndarray, window: int) -> np.ndarray:
    h = window // 2
    c = np.concatenate([[0.0], np.cumsum(x)])
    lo = np.maximum(np.arange(x.size) - h, 0)
    hi = np.minimum(np.arange(x.size) + h + 1, x.size)
    return (c[hi] - c[lo]) / (hi - lo)


def overfitting_onset(
    train_loss: ArrayLike,
    val_loss: ArrayLike,
    *,
    patience: int | None = None,
    min_delta: float = 0.0,
    smoothing: int | None = None,
) -> OverfittingReport:
    """Finds the epoch where the validation loss starts rising persistently.

    The rule, on the validation curve smoothed by a centred moving average of ``smoothing``
    epochs (odd; 1 for none; shorter windows at the ends):

    1. Walk the epochs keeping the best (lowest) smoothed value. An epoch improves on it when
       it is lower by more than ``min_delta``; it is *above* it when higher by more than
       ``min_delta``; otherwise it is on a plateau.
    2. ``patience`` consecutive epochs above the best mark a persistent rise, and the best
       epoch becomes the onset. A plateau epoch resets the count (flat is not rising).
    3. A later improvement cancels the onset (the rise was noise, or a second descent) and
       the walk goes on. The onset returned is the last one not cancelled, or None.

    This is the patience rule of early stopping applied after the fact, made robust to noise by
    the smoothing and to flat stretches by requiring a rise. The generalisation gap is
    ``val - train`` (on the raw curves).

    ``patience`` and ``smoothing`` default to values that fit the curve's length ``E``:
    ``patience = min(5, max(2, E // 4))`` and ``smoothing`` 5 for ``E >= 25``, 3 for
    ``E >= 12``, else 1 (none). A curve of 8 epochs thus needs 2 epochs of rise, unsmoothed;
    a curve of 40, 5 epochs of rise on a 5-epoch average. When no onset is found the report's
    ``reason`` says why: still improving at the end, a rise shorter than ``patience`` (or too
    few epochs after the best to tell), or flat.

    Args:
      train_loss: training loss per epoch, shape ``[E]``.
      val_loss: validation loss per epoch, shape ``[E]``.
      patience: epochs of persistent rise needed (``>= 1``); None: from the length (above).
      min_delta: dead band around the best value, in loss units (``>= 0``).
      smoothing: window of the centred moving average (odd, ``>= 1``); None: from the length.

    Returns:
      An :class:`OverfittingReport`.

    Example:
      >>> import numpy as np
      >>> from lossjax import diagnostics
      >>> epochs = np.arange(40)
      >>> train = 1.0 / (1 + epochs)
      >>> val = 0.5 + 0.002 * (epochs - 15) ** 2
      >>> r = diagnostics.overfitting_onset(train, val, smoothing=1)
      >>> r.onset_epoch, r.best_epoch, round(r.final_gap, 3)
      (15, 15, 1.627)
      >>> short = np.array([1.0, 0.8, 0.65, 0.6, 0.62, 0.7, 0.8, 0.9])  # 8 epochs
      >>> r = diagnostics.overfitting_onset(np.zeros(8), short)
      >>> r.onset_epoch, r.patience, r.smoothing
      (3, 2, 1)

    Reference:
      Prechelt, "Early Stopping — But When?", in *Neural Networks: Tricks of the Trade* (1998).
    """
    tr = np.asarray(jax.device_get(train_loss), dtype=np.float64).ravel()
    va = np.asarray(jax.device_get(val_loss), dtype=np.float64).ravel()
    if tr.shape != va.shape or va.size == 0:
        raise ValueError(f"overfitting_onset: curves must be non-empty and of equal length; "
                         f"got {tr.size} and {va.size}.")
    if not np.all(np.isfinite(va)):
        raise ValueError("overfitting_onset: `val_loss` has non-finite values.")
    if patience is None:
        patience = min(5, max(2, va.size // 4))
    if smoothing is None:
        smoothing = 5 if va.size >= 25 else 3 if va.size >= 12 else 1
    if isinstance(patience, bool) or int(patience) != patience or patience < 1:
        raise ValueError(f"overfitting_onset: `patience` must be an int >= 1; got {patience!r}.")
    if not min_delta >= 0:
        raise ValueError(f"overfitting_onset: `min_delta` must be >= 0; got {min_delta!r}.")
    if int(smoothing) != smoothing or smoothing < 1 or smoothing % 2 == 0:
        raise ValueError(f"overfitting_onset: `smoothing` must be an odd int >= 1; "
                         f"got {smoothing!r}.")
    s = _centered_mean(va, int(smoothing))
    # `above` counts the current run of epochs above the best; a plateau epoch resets it.
    best, above, onset = 0, 0, None
    for t in range(1, s.size):
        if s[t] < s[best] - min_delta:
            best, above, onset = t, 0, None
        elif s[t] > s[best] + min_delta:
            above += 1
            if above >= patience:
                onset = best
        else:
            above = 0
    patience, smoothing = int(patience), int(smoothing)
    if onset is not None:
        reason = (f"the smoothed validation loss rose above its value at epoch {onset} for "
                  f"{patience} or more consecutive epochs (patience={patience}, "
                  f"smoothing={smoothing}) and did not improve on it again")
    elif best == s.size - 1:
        reason = "the smoothed validation loss is still at its lowest at the last epoch"
    elif above > 0 and s.size - 1 - best < patience:
        reason = (f"only {s.size - 1 - best} epoch(s) follow the best epoch {best}, the last "
                  f"{above} above it; patience={patience} needs {patience}: too short to tell")
    elif above > 0:
        reason = (f"the smoothed validation loss has risen for the last {above} epoch(s), "
                  f"fewer than patience={patience}")
    else:
        reason = (f"the smoothed validation loss stays within min_delta={min_delta:g} of its "
                  f"best (epoch {best}) at the end: flat, not rising")
    gap = va - tr
    best_raw = int(np.argmin(va))
    ref = best_raw if onset is None else onset
    return OverfittingReport(
        onset_epoch=onset,
        best_epoch=best_raw,
        best_val_loss=float(va[best_raw]),
        smoothed_val_loss=s,
        generalization_gap=gap,
        gap_at_onset=float(gap[ref]),
        final_gap=float(gap[-1]),
        rise=0.0 if onset is None else float(s[-1] - s[onset]),
        patience=patience,
        smoothing=smoothing,
        reason=reason,
    )
