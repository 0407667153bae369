"""Learning-to-rank losses over lists: listwise softmax and pairwise hinge / logistic.

Inputs are lists: ``scores [..., L]`` and graded relevance ``labels [..., L]`` (non-negative
numbers; higher is more relevant). The unit of the contract is a *list*: ``reduction="none"``
gives one loss per list (shape ``[...]``), and ``weights``/``where`` act on whole lists.
Padded items are marked by the optional third argument ``item_mask [..., L]`` (boolean, True
for real items): they contribute nothing, get zero gradient, and may hold any value (NaN,
``-inf``). A list without a real item (or, for the pairwise losses, without a pair of
differently labelled items) has loss 0. A NaN score or label at a real item makes its list's
loss NaN.

This is the item-level ``where`` of optax's ranking losses: ``optax.ranking_softmax_loss(s,
y, where=m, reduce_fn=None)`` equals ``ranking_softmax(s, y, m, reduction="none")``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lossjax import _core
from lossjax._core import Array, ArrayLike, Reduction
from lossjax._samples import ranking as fixtures
from lossjax.registry import _builtin


def _list_inputs(name, scores, labels, item_mask, weights, where):
    s = _core.float_input("scores", scores, name)
    if s.ndim == 0:
        raise ValueError(f"{name}: `scores` must be lists [..., L]; got a scalar.")
    y = _core.numeric_input("labels", labels, name)
    _core.check_same_shape("scores", s, "labels", y, name)
    unit = s.shape[:-1]
    dtype = _core.compute_dtype(s, y)
    mask = _core.prepare_where(where, unit, name)
    w = _core.prepare_weights(weights, unit, dtype, name)
    if item_mask is None:
        valid = jnp.ones(s.shape, bool)
    else:
        valid = jnp.asarray(item_mask)
        if valid.dtype != jnp.bool_:
            raise TypeError(f"{name}: `item_mask` must be a boolean array; got dtype "
                            f"{valid.dtype}.")
        _core.check_shape("item_mask", valid, s.shape, name, "one flag per item")
    if mask is not None:
        valid = valid & mask[..., None]
    s = jnp.where(valid, s.astype(dtype), 0.0)
    y = jnp.where(valid, y.astype(dtype), 0.0)
    return s, y, valid, mask, w


def _finish(name, loss, mask, w, reduction):
    return _core.reduce(loss, weights=w, where=mask, reduction=reduction, loss_name=name)


def _pairs(s, y, valid):
    """Score differences ``s_i - s_j`` and the pair mask ``y_i > y_j`` (both items valid)."""
    diff = s[..., :, None] - s[..., None, :]
    pair = (y[..., :, None] > y[..., None, :]) & valid[..., :, None] & valid[..., None, :]
    return diff, pair


def _pair_mean(per_pair, pair, s, y):
    """The mean of ``per_pair`` over the pairs of each list; NaN for a list with a NaN.

    A NaN label compares False with every label, so it would drop its item's pairs and a NaN
    score could sit in an item without a pair: both would leave a finite loss. ``s`` and
    ``y`` are 0 at padded items, so only real items count.
    """
    n = jnp.sum(pair, axis=(-2, -1)).astype(per_pair.dtype)
    loss = _core.safe_divide(jnp.sum(jnp.where(pair, per_pair, 0.0), axis=(-2, -1)), n)
    return jnp.where(jnp.any(jnp.isnan(s) | jnp.isnan(y), axis=-1), jnp.nan, loss)


_RANKING = dict(
    task="ranking",
    predictions="scores",
    targets="graded relevance",
    granularity="example",
    units=("list", "``[...]``"),
    bounded=False,
    convex=True,
    sample=fixtures.list_sample,
    boundary=fixtures.list_boundary,
    batch_argnums=(0, 1, 2),
)

_ARGS = """Args:
      scores: ``[..., L]`` item scores.
      labels: ``[..., L]`` graded relevance (non-negative; higher is better).
      item_mask: optional boolean ``[..., L]``; False marks padded items.

    Returns:
      The reduced loss."""


def _doc(fn):
    fn.__doc__ = fn.__doc__.replace("{args}", _ARGS)
    return fn


@_builtin(
    aliases=("listwise_softmax",),
    peers={"optax": "ranking_softmax_loss"},
    **_RANKING,
)
@_doc
def ranking_softmax(
    scores: ArrayLike,
    labels: ArrayLike,
    item_mask: ArrayLike | None = None,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Listwise softmax cross-entropy: ``-sum_i y_i log softmax(s)_i`` over a list's items.

    .. math::

       \ell(s, y) = -\sum_{i \in V} y_i \log \frac{e^{s_i}}{\sum_{j \in V} e^{s_j}}

    with :math:`V` the real items of the list: the softmax runs over them only. Labels are not
    normalized (as optax's ``ranking_softmax_loss``; TF-Ranking's ``SoftmaxLoss`` normalizes
    them and weighs the list by their sum, which gives the same value).

    {args}

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> s, y = jnp.array([[2.0, 1.0, 0.0]]), jnp.array([[1.0, 0.0, 0.0]])
      >>> round(float(lossjax.ranking_softmax(s, y)), 4)
      0.4076

    Reference:
      Cao, Qin, Liu, Tsai and Li, "Learning to Rank: From Pairwise Approach to Listwise
      Approach", ICML (2007); Bruch, Wang, Bendersky and Najork, ICTIR (2019).
    """
    name = _core.loss_name()
    s, y, valid, mask, w = _list_inputs(name, scores, labels, item_mask, weights, where)
    has = jnp.any(valid, axis=-1, keepdims=True)
    m = jnp.max(jnp.where(valid, s, -jnp.inf), axis=-1, keepdims=True)
    m = jax.lax.stop_gradient(jnp.where(has, m, 0.0))
    total = jnp.sum(jnp.exp(jnp.where(valid, s - m, -jnp.inf)), axis=-1, keepdims=True)
    lse = jnp.log(jnp.where(has, total, 1.0)) + m
    loss = -jnp.sum(jnp.where(valid, y * (s - lse), 0.0), axis=-1)
    return _finish(name, loss, mask, w, reduction)


@_builtin(
    twice_differentiable=False,
    peers={},
    **_RANKING,
)
@_doc
def pairwise_hinge(
    scores: ArrayLike,
    labels: ArrayLike,
    item_mask: ArrayLike | None = None,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Pairwise hinge loss: ``max(0, 1 - (s_i - s_j))`` averaged over pairs with ``y_i > y_j``.

    .. math::

       \ell(s, y) = \frac{1}{|\mathcal{P}|} \sum_{(i, j) \in \mathcal{P}}
         \max\bigl(0,\, 1 - (s_i - s_j)\bigr),
       \qquad \mathcal{P} = \{(i, j) : y_i > y_j\}

    over the real items :math:`i`, :math:`j` of the list: every pair whose labels differ
    counts once (from the more relevant item), and a list without a pair has loss 0. TF-Ranking
    and Rax divide the batch total by the batch's number of pairs instead; pass
    ``weights=number_of_pairs`` with ``reduction="mean"`` to get that.

    {args}

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> s, y = jnp.array([[2.0, 1.5, 0.0]]), jnp.array([[2.0, 1.0, 0.0]])
      >>> round(float(lossjax.pairwise_hinge(s, y)), 4)
      0.1667

    Reference:
      Herbrich, Graepel and Obermayer (2000); Joachims, KDD (2002); TF-Ranking
      (Pasumarthi et al., KDD 2019) ``PairwiseHingeLoss``.
    """
    name = _core.loss_name()
    s, y, valid, mask, w = _list_inputs(name, scores, labels, item_mask, weights, where)
    diff, pair = _pairs(s, y, valid)
    return _finish(name, _pair_mean(jax.nn.relu(1.0 - diff), pair, s, y), mask, w, reduction)


@_builtin(
    aliases=("ranknet",),
    peers={},
    **_RANKING,
)
@_doc
def pairwise_logistic(
    scores: ArrayLike,
    labels: ArrayLike,
    item_mask: ArrayLike | None = None,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Pairwise logistic (RankNet) loss: ``log(1 + exp(-(s_i - s_j)))`` over ``y_i > y_j``.

    .. math::

       \ell(s, y) = \frac{1}{|\mathcal{P}|} \sum_{(i, j) \in \mathcal{P}}
         \log\bigl(1 + e^{-(s_i - s_j)}\bigr),
       \qquad \mathcal{P} = \{(i, j) : y_i > y_j\}

    over the real items' pairs, as :func:`pairwise_hinge` (0 for a list without a pair).

    {args}

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> s, y = jnp.array([[2.0, 1.5, 0.0]]), jnp.array([[2.0, 1.0, 0.0]])
      >>> round(float(lossjax.pairwise_logistic(s, y)), 4)
      0.2675

    Reference:
      Burges et al., "Learning to Rank using Gradient Descent", ICML (2005); TF-Ranking
      ``PairwiseLogisticLoss``.
    """
    name = _core.loss_name()
    s, y, valid, mask, w = _list_inputs(name, scores, labels, item_mask, weights, where)
    diff, pair = _pairs(s, y, valid)
    return _finish(name, _pair_mean(jax.nn.softplus(-diff), pair, s, y), mask, w, reduction)
