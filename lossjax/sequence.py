"""Sequence losses: connectionist temporal classification (CTC).

The unit of the contract is a sequence: ``logits [..., T, K]`` with integer ``labels [..., U]``
give one loss per sequence (shape ``[...]``); ``weights``/``where`` act on sequences.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from lossjax import _core
from lossjax._core import Array, ArrayLike, Reduction
from lossjax._samples import sequence as fixtures
from lossjax.registry import Choice, Hyper, _builtin


def _lengths(name, arg, value, unit, full):
    if value is None:
        return jnp.full(unit, full, jnp.int32)
    n = _core.integer_input(arg, value, name)
    _core.check_shape(arg, n, unit, name, "one length per sequence")
    return jnp.clip(n, 0, full).astype(jnp.int32)


def _ctc_forward(name, logits, labels, logit_lengths, label_lengths, *, blank_id, zero_infinity,
                 weights, where, alphas):
    """The one CTC computation behind :func:`ctc` and :func:`ctc_with_forward_probabilities`.

    Returns ``(loss, w, mask, forward)``: the per-sequence loss ``[...]`` (``inf`` or 0 for an
    impossible alignment, before weights and reduction), the prepared weights and mask, and
    with ``alphas=True`` the pair ``(log_alpha_blank [..., T, U+1], log_alpha_label
    [..., T, U])`` (else None).
    """
    x = _core.float_input("logits", logits, name)
    if x.ndim < 2:
        raise ValueError(f"{name}: `logits` must be [..., T, K]; got shape {tuple(x.shape)}.")
    y = _core.integer_input("labels", labels, name)
    unit = x.shape[:-2]
    t, k = x.shape[-2:]
    if y.ndim != len(unit) + 1 or y.shape[:-1] != unit:
        raise ValueError(f"{name}: `labels` must have shape {(*unit, 'U')} (the logits' batch "
                         f"shape, then the label axis); got {tuple(y.shape)}.")
    if isinstance(blank_id, bool) or not isinstance(blank_id, int) or not 0 <= blank_id < k:
        raise ValueError(f"{name}: `blank_id` must be a Python int in [0, {k}); got "
                         f"{blank_id!r}.")
    u = y.shape[-1]
    n_x = _lengths(name, "logit_lengths", logit_lengths, unit, t)
    n_y = _lengths(name, "label_lengths", label_lengths, unit, u)
    dtype = _core.compute_dtype(x)
    mask = _core.prepare_where(where, unit, name)
    w = _core.prepare_weights(weights, unit, dtype, name)
    x = x.astype(dtype)
    if mask is not None:  # dropped sequences: safe logits, empty label (always possible)
        x = jnp.where(mask[..., None, None], x, 0.0)
        n_x = jnp.where(mask, n_x, t)
        n_y = jnp.where(mask, n_y, 0)
    pos = _core.lift(jnp.arange(u), n_y.ndim + 1)
    real = pos < n_y[..., None]
    y = jnp.where(real, y, -1)  # -1: matches no class and no real label (repeats are exact)
    repeats = jnp.sum(real[..., 1:] & (y[..., 1:] == y[..., :-1]), axis=-1)
    possible = n_x >= n_y + repeats

    flat_x = x.reshape(-1, t, k)
    logit_pad = (_core.lift(jnp.arange(t), n_x.ndim + 1) >= n_x[..., None]).astype(dtype)
    logit_pad = logit_pad.reshape(-1, t)
    if alphas:
        # One padded frame more: optax folds the final label -> end transition into its last
        # row; with a padded frame after the real ones that row is the extra one (dropped
        # below) and rows 0..T-1 are the plain forward variables. A padded frame copies the
        # previous row exactly (1 * prev + 0 * finite), so the loss is unchanged.
        flat_x = jnp.concatenate([flat_x, jnp.zeros((flat_x.shape[0], 1, k), dtype)], axis=1)
        logit_pad = jnp.concatenate([logit_pad, jnp.ones((logit_pad.shape[0], 1), dtype)], 1)
    label_pad = (~real).astype(dtype).reshape(-1, u)
    per_seq, phi, emit = optax.ctc_loss_with_forward_probs(
        flat_x, logit_pad, y.reshape(-1, u), label_pad, blank_id=blank_id)
    per_seq = per_seq.astype(dtype).reshape(unit)
    if zero_infinity:
        loss = jnp.where(possible, per_seq, 0.0)
    else:
        loss = jnp.where(possible, per_seq, jnp.inf)
    if not alphas:
        return loss, w, mask, None
    # [T+1, B, .] time-major -> [..., T, .] batch-major, the extra frame dropped
    phi = jnp.moveaxis(phi[:t].astype(dtype), 0, 1).reshape(*unit, t, u + 1)
    emit = jnp.moveaxis(emit[:t].astype(dtype), 0, 1).reshape(*unit, t, u)
    # states past the label length are no state of the sequence; a dropped sequence has none
    n_keep = n_y if mask is None else jnp.where(mask, n_y, -1)
    blank_state = _core.lift(jnp.arange(u + 1), n_keep.ndim + 1) <= n_keep[..., None]
    phi = jnp.where(blank_state[..., None, :], phi, -jnp.inf)
    emit = jnp.where(real[..., None, :], emit, -jnp.inf)
    return loss, w, mask, (phi, emit)


@_builtin(
    task="sequence",
    predictions="logits",
    targets="label sequences",
    granularity="example",
    units=("sequence", "``[...]``"),
    bounded=False,
    convex=False,
    twice_differentiable=False,
    hyper={
        "blank_id": Hyper(None, static=True,
                         why_static=("a class index that builds the blank-interleaved label "
                                     "sequence; checked against the number of classes at trace "
                                     "time")),
        "zero_infinity": Hyper(Choice((False, True)), static=True,
                              why_static="a flag that chooses the formula (different code)"),
    },
    sample=fixtures.ctc_sample,
    boundary=fixtures.ctc_boundary,
    batch_argnums=(0, 1, 2, 3),
    peers={
        "optax": "ctc_loss / ctc_loss_with_forward_probs (the forward variables: "
                 "lossjax.ctc_with_forward_probabilities)",
        "torch": "ctc_loss",
        "keras": "CTC",
    },
)
def ctc(
    logits: ArrayLike,
    labels: ArrayLike,
    logit_lengths: ArrayLike | None = None,
    label_lengths: ArrayLike | None = None,
    *,
    blank_id: int = 0,
    zero_infinity: bool = False,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""CTC loss: ``-log sum_{a in B^-1(y)} prod_t softmax(x_t)[a_t]`` per sequence.

    .. math::

       \ell(x, y) = -\log \sum_{a \in \mathcal{B}^{-1}(y)}
         \prod_{t=1}^{T} \operatorname{softmax}(x_t)_{a_t}

    over the :math:`T` frames (``logit_lengths``) of a sequence: the sum runs over every
    frame-level alignment :math:`a` (labels and blanks) that the map :math:`\mathcal{B}`
    collapses to the label sequence :math:`y` (merge repeats, then drop blanks). Computed with
    optax's ``ctc_loss`` (the forward algorithm in log space) on the float32 (or wider) logits,
    with lengths turned into optax's paddings and the labels past ``label_lengths`` masked out.

    An *impossible* alignment (fewer frames than labels plus repeated neighbours) has
    probability 0: the loss is ``inf`` as in PyTorch (optax alone returns a large finite
    number, about ``1e5`` per missing frame), or 0 with a zero gradient for
    ``zero_infinity=True`` (as PyTorch's flag).

    ``reduction="mean"`` is the contract's mean over sequences of the per-sequence loss.
    PyTorch's default ``reduction="mean"`` divides each loss by its target length first:
    ``ctc(..., weights=1 / label_lengths, reduction="sum") / batch_size`` gives that.

    :func:`ctc_with_forward_probabilities` returns this loss together with the log forward
    variables (optax's ``ctc_loss_with_forward_probs``), from the same code.

    Args:
      logits: ``[..., T, K]`` unnormalized log-probabilities per frame (``K`` includes the
        blank).
      labels: integer ``[..., U]`` label sequences (right-padded; no blanks).
      logit_lengths: optional integer ``[...]``: frames used per sequence (default ``T``).
      label_lengths: optional integer ``[...]``: labels per sequence (default ``U``).
      blank_id: the blank class (static).
      zero_infinity: impossible alignments give 0 instead of ``inf`` (static).

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x = jnp.zeros((1, 2, 2))  # two frames, uniform over {blank, a}
      >>> round(float(lossjax.ctc(x, jnp.array([[1]]))), 4)  # paths a-, -a, aa: 3/4
      0.2877

    Reference:
      Graves, Fernández, Gomez and Schmidhuber, "Connectionist Temporal Classification:
      Labelling Unsegmented Sequence Data with Recurrent Neural Networks", ICML (2006).
    """
    name = _core.loss_name()
    loss, w, mask, _ = _ctc_forward(name, logits, labels, logit_lengths, label_lengths,
                                    blank_id=blank_id, zero_infinity=zero_infinity,
                                    weights=weights, where=where, alphas=False)
    return _core.reduce(loss, weights=w, where=mask, reduction=reduction, loss_name=name)


@functools.partial(jax.jit, static_argnames=("blank_id", "zero_infinity", "reduction"))
def ctc_with_forward_probabilities(
    logits: ArrayLike,
    labels: ArrayLike,
    logit_lengths: ArrayLike | None = None,
    label_lengths: ArrayLike | None = None,
    *,
    blank_id: int = 0,
    zero_infinity: bool = False,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "none",
) -> tuple[Array, Array, Array]:
    r""":func:`ctc` together with its log forward variables (optax's
    ``ctc_loss_with_forward_probs``).

    .. math::

       \begin{aligned}
       \alpha_t(s) &= \bigl(\alpha_{t-1}(s) + \alpha_{t-1}(s - 1)
         + [l'_s \ne b,\ l'_s \ne l'_{s-2}]\, \alpha_{t-1}(s - 2)\bigr)\,
         \operatorname{softmax}(x_t)_{l'_s},\\
       \ell &= -\log\bigl(\alpha_{T-1}(2U) + \alpha_{T-1}(2U - 1)\bigr)
       \end{aligned}

    Returns ``(loss, log_alpha_blank, log_alpha_label)``. ``loss`` is exactly
    ``ctc(..., reduction=reduction)`` (the same code; weights, ``where`` and
    ``zero_infinity`` included); the default ``reduction="none"`` gives one loss per sequence.
    With the blank-extended label sequence ``l' = (blank, y_1, blank, y_2, ..., y_U, blank)``
    (:math:`b` the blank, :math:`[\cdot]` 1 when true and 0 otherwise) and Graves et al.'s
    forward variables :math:`\alpha_t(s)` (eqs. 5-7, the recursion above from
    :math:`\alpha_0(0) = \operatorname{softmax}(x_0)_b`,
    :math:`\alpha_0(1) = \operatorname{softmax}(x_0)_{y_1}`: the probability that frames
    ``0..t`` output ``l'_{0..s}`` under the per-frame softmax, merging repeats), for a
    sequence of ``U_b = label_lengths`` labels and ``T_b = logit_lengths`` frames:

    * ``log_alpha_blank[..., t, n] = log alpha_t(2 n)``: the first ``n`` labels are out and
      frame ``t`` is a blank (``n = 0, ..., U_b``);
    * ``log_alpha_label[..., t, n] = log alpha_t(2 n + 1)``: frame ``t`` outputs label
      ``y_{n+1}`` as the ``(n+1)``-th label (``n = 0, ..., U_b - 1``);
    * ``loss`` is :math:`\ell` with :math:`T = T_b` and :math:`U = U_b`.

    Layout and conventions, and how they relate to optax (whose forward pass is the one run):

    * shapes ``[..., T, U + 1]`` and ``[..., T, U]``: batch-major like ``logits`` (optax's
      ``logalpha_phi`` / ``logalpha_emit`` are time-major ``[T, B, U + 1]`` and
      ``[T, B, U]``; ``jnp.moveaxis(log_alpha_blank.reshape(-1, T, U + 1), 1, 0)`` has
      optax's layout). Unlike optax's, the blank variables' last frame is plain
      ``alpha_{T-1}(2n)``: optax adds the final label-to-end transition into its last row
      (its ``logalpha_phi[-1, b, n]`` is ``log(alpha_{T-1}(2n) + alpha_{T-1}(2n-1))``, from
      which it reads the loss). Every other entry equals optax's.
    * frames ``t >= T_b`` repeat frame ``T_b - 1`` (optax's padding convention);
    * an unreachable state has a log-probability near or below ``-1e5`` rather than
      ``-inf`` (optax's ``log_epsilon``, a finite stand-in for ``log 0`` that keeps the
      gradients finite);
    * positions past the label length (``n > U_b``, resp. ``n >= U_b``) and every position of
      a sequence dropped by ``where`` are ``-inf``: they are no state of the sequence.

    This is a companion of :func:`ctc`, not a registered loss: it returns a tuple, which the
    registry's contract (one loss array) and its test batteries do not cover. It is jitted,
    with ``blank_id``, ``zero_infinity`` and ``reduction`` static.

    Args:
      logits: ``[..., T, K]`` unnormalized log-probabilities per frame (``K`` includes the
        blank).
      labels: integer ``[..., U]`` label sequences (right-padded; no blanks).
      logit_lengths: optional integer ``[...]``: frames used per sequence (default ``T``).
      label_lengths: optional integer ``[...]``: labels per sequence (default ``U``).
      blank_id: the blank class (static).
      zero_infinity: impossible alignments give a loss of 0 instead of ``inf`` (static).
      weights: optional sequence weights broadcastable to ``[...]`` (on the loss only).
      where: optional boolean mask over sequences ``[...]``.
      reduction: ``"none"`` (default: per sequence), ``"sum"`` or ``"mean"`` (the loss only).

    Returns:
      ``(loss, log_alpha_blank [..., T, U + 1], log_alpha_label [..., T, U])``.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x = jnp.zeros((1, 2, 2))  # two frames, uniform over {blank, a}
      >>> loss, blank, label = lossjax.ctc_with_forward_probabilities(x, jnp.array([[1]]))
      >>> round(float(loss[0]), 4), blank.shape, label.shape  # paths a-, -a, aa: 3/4
      (0.2877, (1, 2, 2), (1, 2, 1))
      >>> [round(float(v), 4) for v in jnp.exp(label[0, :, 0])]  # 'a' at frame 0; -a or aa
      [0.5, 0.5]

    Reference:
      Graves, Fernández, Gomez and Schmidhuber, "Connectionist Temporal Classification:
      Labelling Unsegmented Sequence Data with Recurrent Neural Networks", ICML (2006),
      eqs. 5-8.
    """
    name = "ctc_with_forward_probabilities"  # not a registered loss: no traced name to read
    _core.check_reduction(reduction, name)
    loss, w, mask, (phi, emit) = _ctc_forward(
        name, logits, labels, logit_lengths, label_lengths, blank_id=blank_id,
        zero_infinity=zero_infinity, weights=weights, where=where, alphas=True)
    loss = _core.reduce(loss, weights=w, where=mask, reduction=reduction, loss_name=name)
    return loss, phi, emit
