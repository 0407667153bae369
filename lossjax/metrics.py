"""Metrics beside the losses: zero-one loss, accuracy, and the chance cross-entropy baseline.

They follow the loss contract (``weights``, ``where``, ``reduction``) but are flagged as not
differentiable in the registry: their gradient with respect to the predictions is zero.

Two kinds of targets, told apart by shape at trace time, as for the losses:

* **integer labels** without the class axis: a multiclass problem over ``axis``;
* **targets of the predictions' shape**: independent binary decisions per element, with
  targets in {0, 1} or {-1, +1} (a target is positive when ``>= 0.5``). For one-hot
  multiclass targets pass ``targets.argmax(axis)``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lossjax import _core, _samples
from lossjax._classes import class_inputs, finish
from lossjax._core import Array, ArrayLike, Reduction
from lossjax._samples import metrics as fixtures
from lossjax.registry import Interval, _builtin


def _is_multiclass(predictions: ArrayLike, targets: ArrayLike) -> bool:
    return jnp.ndim(targets) == jnp.ndim(predictions) - 1


def _nan_where(nan: Array, x: Array) -> Array:
    """``x``, and NaN where ``nan``: a comparison with NaN is False, so a decision taken on a
    NaN would read as a definite (right or wrong) answer."""
    return jnp.where(nan, jnp.nan, x)


def _correct_binary(threshold):
    return lambda p, t: _nan_where(jnp.isnan(p) | jnp.isnan(t),
                                   ((p > threshold) == (t >= 0.5)).astype(p.dtype))


def _correct(name, predictions, targets, threshold, axis, weights, where, reduction, wrong):
    if _is_multiclass(predictions, targets):
        ci = class_inputs(name, predictions, targets, axis=axis, weights=weights, where=where)
        hit = (jnp.argmax(ci.x, axis=-1) == ci.labels).astype(ci.x.dtype)
        hit = _nan_where(jnp.any(jnp.isnan(ci.x), axis=-1), hit)
        return finish(ci, 1.0 - hit if wrong else hit, reduction, name)
    fn = _correct_binary(threshold)
    if wrong:
        fn = lambda p, t, f=fn: 1.0 - f(p, t)
    return _core.elementwise(
        name, fn, predictions, targets, weights=weights, where=where, reduction=reduction
    )


_METRIC = dict(
    task="metric", predictions="scores", targets="labels or binary", granularity="example",
    units=("unit", "``predictions.shape`` without the class axis (binary scores: "
                   "``predictions.shape``)"),
    differentiable=False, convex=False, boundary=fixtures.metric_boundary,
    sample=_samples.default_sampler("logits", "labels", "example"),
)


@_builtin(
    bounded=True,
    peers={"keras": "Accuracy / BinaryAccuracy / SparseCategoricalAccuracy (metrics)"},
    hyper={"threshold": Interval()},  # any real number (scores or probabilities)
    **_METRIC,
)
def accuracy(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    threshold: float | ArrayLike = 0.5,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Accuracy: 1 where the prediction is right, 0 where it is wrong; the mean is the rate.

    .. math::

       \ell(x, y) = \begin{cases}
         \bigl[\operatorname*{arg\,max}_c x_c = y\bigr] & \text{integer labels} \\
         \bigl[(x > \theta) = (y \ge \tfrac{1}{2})\bigr] & \text{binary targets}
       \end{cases}

    with :math:`[\cdot]` 1 when true and 0 otherwise, :math:`x` the predictions (along the
    class ``axis`` for integer labels; binary targets have the predictions' shape) and
    :math:`\theta` the ``threshold``. The default ``threshold=0.5`` suits probabilities, pass
    ``0.0`` for logits or scores. A unit whose predictions (or binary target) hold a NaN is NaN,
    neither right nor wrong, so that garbage never counts as a hit (nor as a plain miss).

    Args:
      predictions: scores, logits or probabilities.
      targets: integer labels (shape without ``axis``) or binary targets (same shape).
      threshold: decision threshold for binary targets.
      axis: the class axis for integer labels (static).

    Returns:
      The reduced accuracy.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> float(lossjax.accuracy(jnp.array([[2.0, 1.0], [0.0, 3.0]]), jnp.array([0, 0])))
      0.5
      >>> round(float(lossjax.accuracy(jnp.array([0.9, 0.2, 0.6]), jnp.array([1, 0, 0]))), 4)
      0.6667

    Reference:
      Hastie, Tibshirani and Friedman, *The Elements of Statistical Learning* (2009), 2.4.
    """
    return _correct("accuracy", predictions, targets, threshold, axis, weights, where,
                    reduction, wrong=False)


@_builtin(
    bounded=True,
    peers={"keras": "1 - Accuracy"},
    hyper={"threshold": Interval()},  # any real number (scores or probabilities)
    **_METRIC,
)
def zero_one(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    threshold: float | ArrayLike = 0.5,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Zero-one loss: 1 where the prediction is wrong, so the mean is the error rate.

    .. math::

       \ell(x, y) = \begin{cases}
         \bigl[\operatorname*{arg\,max}_c x_c \ne y\bigr] & \text{integer labels} \\
         \bigl[(x > \theta) \ne (y \ge \tfrac{1}{2})\bigr] & \text{binary targets}
       \end{cases}

    with :math:`\theta` the ``threshold``: exactly ``1 - accuracy`` per unit (NaN where the
    predictions hold a NaN); see :func:`accuracy` for the two kinds of targets.

    Args:
      predictions: scores, logits or probabilities.
      targets: integer labels (shape without ``axis``) or binary targets (same shape).
      threshold: decision threshold for binary targets.
      axis: the class axis for integer labels (static).

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> float(lossjax.zero_one(jnp.array([[2.0, 1.0], [0.0, 3.0]]), jnp.array([0, 0])))
      0.5

    Reference:
      Hastie, Tibshirani and Friedman, *The Elements of Statistical Learning* (2009), 2.4.
    """
    return _correct("zero_one", predictions, targets, threshold, axis, weights, where,
                    reduction, wrong=True)


def _xlog(y: Array, p: Array) -> Array:
    """y * log(p), 0 where y == 0 (even for p == 0)."""
    nz = y != 0
    return jnp.where(nz, y * jnp.log(jnp.where(nz, p, 1.0)), 0.0)


@_builtin(
    bounded=False,
    batch_coupled=True,
    **_METRIC,
)
def chance_cross_entropy(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""The cross-entropy of always predicting the class frequencies: the chance baseline.

    .. math::

       \ell_i = \begin{cases}
         -\log f_{y_i}, \quad f_k = \frac{\sum_j w_j [y_j = k]}{\sum_j w_j}
         & \text{integer labels} \\
         -\bigl(y_i \log f + (1 - y_i) \log (1 - f)\bigr),
         \quad f = \frac{\sum_j w_j y_j}{\sum_j w_j}
         & \text{binary targets}
       \end{cases}

    A model's mean cross-entropy should be read against this number: it is what a model that
    ignores its inputs achieves. Here :math:`f` holds the class frequencies
    of the targets over the kept units :math:`j`, weighted by their weights :math:`w_j`, and the
    mean is the entropy of :math:`f`:
    ``ln K`` (``-ln(1/K)``) for ``K`` balanced classes, ``ln 2 = 0.693`` for a balanced binary
    task. ``predictions`` are used only for their shape (the number of classes ``K``); their
    gradient is zero.

    Binary targets (the predictions' shape, values in [0, 1]) give one loss per element, with
    :math:`f` the positive rate.

    Args:
      predictions: any floating array whose shape fixes the classes (values unused).
      targets: integer labels (shape without ``axis``) or binary targets (same shape).
      axis: the class axis for integer labels (static).

    Returns:
      The reduced baseline loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> round(float(lossjax.chance_cross_entropy(jnp.zeros((4, 4)), jnp.array([0, 1, 2, 3]))), 6)
      1.386294

    Reference:
      Cover and Thomas, *Elements of Information Theory*, 2nd ed. (2006), eq. 2.1.
    """
    name = _core.loss_name()
    if _is_multiclass(predictions, targets):
        ci = class_inputs(name, predictions, targets, axis=axis, weights=weights, where=where,
                          ignore_index=None)
        onehot = jax.nn.one_hot(ci.labels, ci.num_classes, dtype=ci.x.dtype)
        w = jnp.ones(onehot.shape[:-1], onehot.dtype) if ci.w is None else jnp.broadcast_to(
            ci.w, onehot.shape[:-1])
        if ci.mask is not None:
            w = jnp.where(ci.mask, w, 0.0)
        counts = jnp.einsum("...k,...->k", onehot, w)
        freq = _core.safe_divide(counts, jnp.sum(counts))
        # f[y] through the one-hot rows already at hand (not a gather: an indexed read with
        # batch-sharded labels needs an explicit output sharding on an Explicit mesh);
        # > 0 for every kept example, whose own label was counted
        fy = jnp.einsum("...k,k->...", onehot, freq)
        loss = -jnp.log(jnp.where(fy > 0, fy, 1.0))
        return finish(ci, jax.lax.stop_gradient(loss), reduction, name)

    def fn(p, t):
        # The positive rate over the kept, weighted targets (p is unused: zero gradient).
        wt = jnp.ones_like(t) if weights is None else jnp.broadcast_to(
            jnp.asarray(weights, t.dtype), t.shape)
        if where is not None:
            wt = jnp.where(jnp.broadcast_to(where, t.shape), wt, 0.0)
        f = _core.safe_divide(jnp.sum(wt * t), jnp.sum(wt))
        return jax.lax.stop_gradient(-(_xlog(t, f) + _xlog(1.0 - t, 1.0 - f)))

    return _core.elementwise(
        name, fn, predictions, targets, weights=weights, where=where, reduction=reduction
    )
