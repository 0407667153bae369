"""Margin losses over a class axis: multiclass hinges (Crammer–Singer, Weston–Watkins,
categorical), the multiclass perceptron, and the multilabel margin losses.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lossjax import _core, _samples
from lossjax._classes import (
    class_inputs,
    finish,
    on_label,
    row_max,
    targets_dense,
    x_on_label,
)
from lossjax._core import Array, ArrayLike, Reduction
from lossjax._samples import multiclass as fixtures
from lossjax.multiclass._meta import (
    CE_HYPERS,
    LABEL_HYPERS,
    MULTICLASS,
    SCORE_LABELS,
    class_args_doc,
)
from lossjax.registry import NONNEGATIVE, Choice, Hyper, Interval, _builtin


@_builtin(
    predictions="scores",
    targets="labels or one-hot",
    bounded=False,
    convex=True,
    twice_differentiable=False,
    hyper={
        "ignore_index": CE_HYPERS["ignore_index"],
        "class_weights": CE_HYPERS["class_weights"],
        "margin": Interval(0.0, float("inf")),
    },
    sample=_samples.default_sampler("scores", "labels", "example"),
    boundary=fixtures.class_boundary("logits", smoothing=False),
    peers={"optax": "multiclass_hinge_loss"},
    **MULTICLASS,
)
def multiclass_hinge(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    margin: float | ArrayLike = 1.0,
    ignore_index: int | None = -100,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Multiclass hinge loss (Crammer–Singer): ``max_k (s_k + margin [k != y]) - s_y``.

    .. math::

       \ell(s, y) = \max_k \bigl(s_k + m (1 - y_k)\bigr) - \sum_k y_k s_k

    with :math:`y` the one-hot label (integer labels and one-hot rows give the same loss) and
    :math:`m` the ``margin``. Zero when the label's score beats every other score by
    ``margin``.

    Args:
      predictions: scores ``[..., K, ...]`` along ``axis``.
      targets: integer labels (shape without ``axis``) or one-hot rows (shape of
        ``predictions``).
      margin: non-negative margin (1 in the paper and optax).
      ignore_index: integer label whose examples are dropped (static; None to drop none).
      class_weights: optional non-negative ``[K]`` weights.
      axis: the class axis (static).

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> float(lossjax.multiclass_hinge(jnp.array([[1.0, 1.5, 0.0]]), jnp.array([0])))
      1.5

    Reference:
      Crammer and Singer, JMLR 2 (2001).
    """
    name = _core.loss_name()
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights, mask_predictions=False,
    )
    # labels: the dropped rows' predictions are left as they are (no masked copy); row_max
    # and x_on_label keep them out of the gradient, finish out of the value
    onehot = targets_dense(ci)
    loss = row_max(ci.x + margin * (1.0 - onehot), ci.mask) - x_on_label(ci)
    return finish(ci, loss, reduction, name)



@_builtin(
    diff_argnums=(0, 1),  # soft targets are real-valued
    task="multilabel",
    predictions="logits",
    targets="binary",
    granularity="example",
    bounded=False,
    convex=True,
    hyper={"class_weights": CE_HYPERS["class_weights"]},
    sample=_samples.default_sampler("logits", "binary", "example"),
    boundary=fixtures.multilabel_boundary,
    peers={"torch": "multilabel_soft_margin_loss"},
)
def multilabel_soft_margin(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Multi-label soft margin loss: the sigmoid cross-entropy averaged over the labels.

    .. math::

       \ell(x, y) = -\frac{1}{K} \sum_{c=1}^{K} w_c \bigl(y_c \log \sigma(x_c)
         + (1 - y_c) \log \sigma(-x_c)\bigr)

    per example, with :math:`K` labels along ``axis``, :math:`\sigma` the sigmoid and
    :math:`w_c` the optional per-label ``class_weights`` (PyTorch's ``weight``; 1 when None).
    It equals ``binary_cross_entropy_with_logits(..., reduction="none")``
    averaged over ``axis``; use it when the loss must be per example (weights, ``where``).

    Args:
      predictions: logits ``[..., K, ...]`` with the labels along ``axis``.
      targets: multi-hot (or soft) targets in ``[0, 1]``, same shape.
      class_weights: optional non-negative ``[K]`` per-label weights (inside the average
        over labels, not in the mean's denominator, as PyTorch).
      axis: the label axis (static).

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x, y = jnp.array([[0.0, 0.0]]), jnp.array([[1.0, 0.0]])
      >>> round(float(lossjax.multilabel_soft_margin(x, y)), 6)
      0.693147

    Reference:
      PyTorch's ``multilabel_soft_margin_loss``; Cox (1958) for the binary cross-entropy.
    """
    name = _core.loss_name()
    cw = None
    if class_weights is not None:
        p = _core.float_input("predictions", predictions, name)
        k = p.shape[_core.normalize_axis(axis, p.ndim, name)]
        cw = _core.numeric_input("class_weights", class_weights, name)
        _core.check_shape("class_weights", cw, (k,), name, "one weight per label")

    def fn(x, y):
        terms = -(y * jax.nn.log_sigmoid(x) + (1.0 - y) * jax.nn.log_sigmoid(-x))
        if cw is not None:
            terms = terms * cw.astype(x.dtype)
        return jnp.mean(terms, axis=-1)

    return _core.per_example(
        name, fn, predictions, targets, axis=axis, weights=weights, where=where,
        reduction=reduction,
    )


def _label_list_checks(predictions, targets, *, axis=-1, **_):
    p, t = jnp.asarray(predictions), jnp.moveaxis(jnp.asarray(targets), axis, -1)
    k = p.shape[axis]
    valid = jnp.cumprod(t != -1, axis=-1).astype(bool)
    return [((~valid) | ((t >= 0) & (t < k)), f"labels must lie in [0, {k}) before the first -1")]


@_builtin(
    task="multilabel",
    predictions="scores",
    targets="label lists padded with -1",
    granularity="example",
    bounded=False,
    convex=True,
    twice_differentiable=False,
    sample=fixtures.label_list_sample,
    boundary=fixtures.label_list_boundary,
    checks=_label_list_checks,
    peers={"torch": "multilabel_margin_loss"},
)
def multilabel_margin(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Multi-label margin (ranking hinge) loss, as PyTorch's ``multilabel_margin_loss``.

    .. math::

       \ell(x, J) = \frac{1}{K} \sum_{j \in J} \sum_{i \notin J}
         \max\bigl(0,\, 1 - (x_j - x_i)\bigr)

    ``targets`` are integer label lists along ``axis``: the labels of an example come first
    and the list ends at the first ``-1`` (what follows is ignored). :math:`J` is the list of
    labels and :math:`K` the number of classes: every label must beat every non-label by a
    margin of 1. An example without labels (or with every class a
    label) costs 0. A listed label outside ``[0, K)`` makes the loss NaN (use
    :func:`lossjax.checked` to catch it). ``-inf`` scores are allowed off the labels.

    Args:
      predictions: scores ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer array of the same shape: label lists padded with -1.
      axis: the class axis (static).

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x = jnp.array([[0.1, 0.2, 0.4, 0.8]])
      >>> round(float(lossjax.multilabel_margin(x, jnp.array([[3, 0, -1, 1]]))), 6)
      0.85

    Reference:
      Crammer and Singer, "A Family of Additive Online Algorithms for Category Ranking", JMLR
      3 (2003); PyTorch's ``multilabel_margin_loss``.
    """
    name = _core.loss_name()
    _core.check_reduction(reduction, name)
    p = _core.float_input("predictions", predictions, name)
    t = _core.integer_input("targets", targets, name)
    _core.check_same_shape("predictions", p, "targets", t, name)
    ax = _core.normalize_axis(axis, p.ndim, name)
    dtype = _core.compute_dtype(p)
    x = jnp.moveaxis(p.astype(dtype), ax, -1)
    t = jnp.moveaxis(t, ax, -1)
    k = x.shape[-1]
    unit = x.shape[:-1]
    mask = _core.prepare_where(where, unit, name)
    w = _core.prepare_weights(weights, unit, dtype, name)
    x = _core.mask_safe(mask, x, 0.0, axis=-1)
    t = _core.mask_safe(mask, t, -1, axis=-1)
    listed = jnp.cumprod(t != -1, axis=-1).astype(bool)  # [..., J]: before the first -1
    invalid = jnp.any(listed & ((t < 0) | (t >= k)), axis=-1)
    labels = jnp.where(listed & ~((t < 0) | (t >= k)), t, 0)
    classes = _core.lift(jnp.arange(k), labels.ndim + 1)
    is_label = jnp.any(listed[..., :, None] & (labels[..., :, None] == classes), axis=-2)
    x_label = jnp.take_along_axis(x, labels, axis=-1)  # [..., J]
    keep = listed[..., :, None] & ~is_label[..., None, :]  # [..., J, K]
    x_other = jnp.where(keep, x[..., None, :], -jnp.inf)
    hinge = jax.nn.relu(1.0 - jnp.where(keep, x_label[..., :, None], 0.0) + x_other)
    loss = jnp.sum(hinge, axis=(-2, -1)) / k
    loss = jnp.where(invalid, jnp.nan, loss)
    return _core.reduce(loss, weights=w, where=mask, reduction=reduction, loss_name=name)


# --------------------------------------------------------------------------------------------
# Margin losses on integer labels: multi-margin, categorical hinge, perceptron


@_builtin(
    bounded=False,
    convex=True,
    twice_differentiable=False,
    hyper={
        **LABEL_HYPERS,
        "p": Hyper(Choice((1, 2)), static=True,
                   why_static="chooses the margin's power, 1 or 2 (the formula)"),
        "margin": NONNEGATIVE,
    },
    peers={"torch": "multi_margin_loss"},
    **SCORE_LABELS,
)
@class_args_doc
def multi_margin(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    p: int = 1,
    margin: float | ArrayLike = 1.0,
    ignore_index: int | None = -100,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Multi-class margin loss (Weston–Watkins), as PyTorch's ``multi_margin_loss``.

    .. math::

       \ell(x, y) = \frac{1}{K} \sum_{i \ne y} \max(0,\, m - x_y + x_i)^p

    for :math:`K` classes, with :math:`m` the ``margin`` and :math:`p` the ``p``: a hinge for
    every wrong class (:func:`multiclass_hinge` takes only the worst one). One-hot targets give the
    same loss as integer labels. With ``class_weights`` the per-example losses equal
    PyTorch's ``weight[y] * loss``; the mean divides by ``sum(weight[y])`` (lossjax's rule
    for class weights) where PyTorch divides by the number of examples.

    Args:
      predictions: scores ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or one-hot rows (shape of
        ``predictions``).
      p: 1 (hinge) or 2 (squared hinge) (static).
      margin: non-negative margin.
      {class_args}

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x = jnp.array([[0.1, 0.2, 0.4, 0.8]])
      >>> round(float(lossjax.multi_margin(x, jnp.array([3]))), 6)
      0.325

    Reference:
      Weston and Watkins, "Support Vector Machines for Multi-Class Pattern Recognition",
      ESANN (1999); PyTorch's ``multi_margin_loss``.
    """
    name = _core.loss_name()
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights,
    )
    y = targets_dense(ci)
    x_y = on_label(ci.x, ci)
    h = jax.nn.relu(margin - x_y[..., None] + ci.x)
    if p == 2:
        h = h * h
    off = y != 1
    loss = jnp.sum(jnp.where(off, (1.0 - y) * h, 0.0), axis=-1) / ci.num_classes
    return finish(ci, loss, reduction, name)


@_builtin(
    bounded=False,
    convex=True,
    twice_differentiable=False,
    hyper=LABEL_HYPERS,
    peers={"keras": "CategoricalHinge"},
    **SCORE_LABELS,
)
@class_args_doc
def categorical_hinge(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    ignore_index: int | None = -100,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Keras's categorical hinge, ``max(0, 1 + max_c((1 - y_c) x_c) - sum_c y_c x_c)``.

    .. math::

       \ell(x, y) = \max\Bigl(0,\, 1 + \max_c\, (1 - y_c)\, x_c - \sum_c y_c x_c\Bigr)

    with :math:`y` the one-hot label. This is the Crammer–Singer hinge with one quirk kept from
    Keras: the maximum runs over ``(1 - y) * x``, which is 0 at the label, so the "best wrong
    score" is never below 0 (with all wrong scores negative the loss is ``max(0, 1 - x_y)``).
    :func:`multiclass_hinge` is the textbook version.

    Args:
      predictions: scores ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or one-hot rows (shape of
        ``predictions``).
      {class_args}

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x = jnp.array([[0.5, 1.0, -2.0], [-1.0, -2.0, 0.5]])
      >>> lossjax.categorical_hinge(x, jnp.array([0, 2]), reduction="none").tolist()
      [1.5, 0.5]

    Reference:
      Keras's ``CategoricalHinge``; Crammer and Singer, JMLR 2 (2001).
    """
    name = _core.loss_name()
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights, mask_predictions=False,
    )
    # labels: the dropped rows' predictions are left as they are (see multiclass_perceptron)
    y = targets_dense(ci)
    neg = row_max(jnp.where(y == 1, 0.0, (1.0 - y) * jnp.where(y == 1, 0.0, ci.x)), ci.mask)
    loss = jax.nn.relu(1.0 + neg - x_on_label(ci))
    return finish(ci, loss, reduction, name)


@_builtin(
    bounded=False,
    convex=True,
    twice_differentiable=False,
    hyper=LABEL_HYPERS,
    peers={"optax": "multiclass_perceptron_loss"},
    **SCORE_LABELS,
)
@class_args_doc
def multiclass_perceptron(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    ignore_index: int | None = -100,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Multiclass perceptron loss, ``max_c x_c - x_y``.

    .. math::

       \ell(x, y) = \max_c x_c - x_y

    Zero when the label has the top score (ties included); :func:`multiclass_hinge` adds a
    margin. One-hot targets give the same loss, with :math:`x_y = \sum_c y_c x_c`.

    Args:
      predictions: scores ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or one-hot rows (shape of
        ``predictions``).
      {class_args}

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x = jnp.array([[0.5, 2.0, -1.0]])
      >>> float(lossjax.multiclass_perceptron(x, jnp.array([0])))
      1.5

    Reference:
      Collins, "Discriminative Training Methods for Hidden Markov Models: Theory and
      Experiments with Perceptron Algorithms", EMNLP (2002).
    """
    name = _core.loss_name()
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights, mask_predictions=False,
    )
    # labels: the dropped rows' predictions are left as they are (no masked copy); row_max
    # and x_on_label keep them out of the gradient, finish out of the value
    loss = row_max(ci.x, ci.mask) - x_on_label(ci)
    return finish(ci, loss, reduction, name)


# --------------------------------------------------------------------------------------------
# Fenchel-Young losses from any regulariser
