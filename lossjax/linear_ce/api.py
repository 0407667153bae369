"""The public linear cross-entropy: input checks, the contract, one dispatch over implementations.

:func:`loss_and_lse` is the one path every entry point takes (:func:`linear_cross_entropy`,
:func:`linear_cross_entropy_with_lse`, :func:`lossjax.sharding.sharded_linear_cross_entropy`):
it checks the inputs, turns them into :class:`~lossjax.linear_ce.base.Operands`, runs an
implementation from :data:`IMPLEMENTATIONS` and applies the contract (``weights``, ``where``,
``reduction``, NaN for out-of-range labels). :func:`checked_loss_and_lse` adds the
hyperparameter checks and the jit for the entry points that are not the registered function.

The hyperparameters are listed once, in :class:`Hyperparameters` (their types; the registered
signature of :func:`linear_cross_entropy` gives the defaults, ``_HYPERS`` the domains; a test
checks the three agree).

Implementations (``implementation=``, internal): ``"chunked"`` (the default, the chunked XLA
kernel of :mod:`lossjax.linear_ce.chunked`) and ``"reference"`` (the full logits,
:mod:`lossjax.linear_ce.reference`). A new one (a Pallas kernel) is an
:class:`~lossjax.linear_ce.base.Implementation` added to :data:`IMPLEMENTATIONS` and to the
list of ``tests/test_linear_ce.py``, whose shared contract suite then runs on it.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, NamedTuple, TypedDict, Unpack

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from lossjax import _core
from lossjax._core import Array, ArrayLike, Reduction
from lossjax._samples import linear_ce as fixtures
from lossjax.linear_ce import mesh as mesh_lib
from lossjax.linear_ce.base import Implementation, KernelConfig, Operands
from lossjax.linear_ce.gradients import CHUNKED
from lossjax.linear_ce.reference import REFERENCE
from lossjax.registry import NONNEGATIVE, POSITIVE, UNIT_RIGHT_OPEN, Hyper, Interval, _builtin

NAME = "linear_cross_entropy"

IMPLEMENTATIONS: dict[str, Implementation] = {"chunked": CHUNKED, "reference": REFERENCE}
DEFAULT_IMPLEMENTATION = "chunked"


class Hyperparameters(TypedDict, total=False):
    """The hyperparameters of the linear cross-entropy (see :func:`linear_cross_entropy`)."""

    bias: ArrayLike | None
    ignore_index: int | None
    label_smoothing: float
    z_loss: float
    logit_softcap: float | None
    class_weights: ArrayLike | None
    chunk_size: int | None
    vocab_block_size: int | None


# --------------------------------------------------------------------------------------------
# Input checks


def _static_int(name: str, value: Any, loss: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise TypeError(f"{loss}: `{name}` must be a positive Python int or None; got {value!r}.")
    return int(value)


def _hyper_operand(name: str, value: Any, on: bool, dtype: Any, loss: str) -> Array:
    """A scalar hyperparameter (a Python number, an array or a tracer) as a compute-dtype
    operand of the kernel; 0 where its term is off."""
    if not on:
        return jnp.zeros((), dtype)
    x = jnp.asarray(_core.hyper_value(value))
    if x.ndim != 0:
        raise ValueError(f"{loss}: `{name}` must be a scalar (one value for the whole batch); "
                         f"got shape {tuple(x.shape)}; vmap over it for several values.")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    return x.astype(dtype)


def _arrays(loss: str, hidden: ArrayLike, weight: ArrayLike, labels: ArrayLike,
            bias: ArrayLike | None) -> tuple[Array, Array, Array, Array | None]:
    """``hidden``, ``weight``, ``labels`` and ``bias`` checked: dtypes and shapes."""
    h = _core.float_input("hidden", hidden, loss)
    w = _core.float_input("weight", weight, loss)
    y = _core.integer_input("labels", labels, loss)
    if h.ndim < 1:
        raise ValueError(f"{loss}: `hidden` must have a feature axis [..., D]; got a scalar.")
    if w.ndim != 2:
        raise ValueError(f"{loss}: `weight` must have shape [V, D]; got {tuple(w.shape)}.")
    vocab, width = w.shape
    if width != h.shape[-1]:
        raise ValueError(
            f"{loss}: `weight` must have shape [V, {h.shape[-1]}] (D = hidden.shape[-1]); "
            f"got {tuple(w.shape)}."
        )
    if vocab == 0:
        raise ValueError(f"{loss}: `weight` needs at least one vocabulary row.")
    _core.check_shape("labels", y, h.shape[:-1], loss, "hidden.shape[:-1]")
    b = None
    if bias is not None:
        b = _core.float_input("bias", bias, loss)
        _core.check_shape("bias", b, (vocab,), loss, "one bias per vocabulary row")
    return h, w, y, b


class _Labels(NamedTuple):
    """The label side of the contract, per token (``labels.shape``)."""

    labels: Array  # int32, in range (0 where invalid or dropped)
    mask: Array | None  # kept tokens (where & not ignore_index)
    invalid: Array  # kept tokens whose label is out of range (NaN loss)
    weights: Array | None  # token weights, times the label's class weight without smoothing
    class_weights: Array | None  # [V], with label smoothing only (inside the loss)
    label_weights: Array | None  # each token's label's class weight, idem


def _labels(loss: str, y: Array, vocab: int, *, ignore_index: int | None,
            class_weights: ArrayLike | None, smoothing: bool, weights: ArrayLike | None,
            where: ArrayLike | None, dtype: Any) -> _Labels:
    """``ignore_index``, ``where``, ``weights`` and ``class_weights`` on integer labels.

    The same steps as the integer-label branch of :func:`lossjax._classes.class_inputs`
    (mask, out-of-range labels, safe labels, the label's class weight), which cannot be
    called here: it takes the ``[..., V]`` predictions that this loss never builds (for
    their shape and dtype). The differences: with label smoothing the class weights stay
    inside the loss (PyTorch's definition), as the kernel computes it, not in the token
    weights; and the class-weight lookup is a plain index (the chunked kernel's layout).
    """
    mask = _core.prepare_where(where, y.shape, loss)
    wts = _core.prepare_weights(weights, y.shape, dtype, loss)
    if ignore_index is not None:
        mask = _core.and_masks(mask, y != ignore_index)
    invalid = (y < 0) | (y >= vocab)
    if mask is not None:
        invalid = invalid & mask
    safe = jnp.where(invalid, 0, y)
    safe = _core.mask_safe(mask, safe, 0).astype(jnp.int32)
    if class_weights is None:
        return _Labels(safe, mask, invalid, wts, None, None)
    cw = _core.numeric_input("class_weights", class_weights, loss).astype(dtype)
    _core.check_shape("class_weights", cw, (vocab,), loss, "one weight per class")
    if not smoothing:
        return _Labels(safe, mask, invalid, _core.mul_weights(wts, cw[safe]), None, None)
    # PyTorch's definition (lossjax.multiclass): each class's smoothing term has its own
    # weight, inside the kernel; the label's weight counts in the mean's denominator. The
    # class weights are not differentiated on this path.
    cw = lax.stop_gradient(cw)
    return _Labels(safe, mask, invalid, wts, cw, cw[safe])


# --------------------------------------------------------------------------------------------
# The contract around an implementation


class _Call(NamedTuple):
    """One prepared call: the operands and what the contract needs after the kernel."""

    config: KernelConfig
    ops: Operands  # flattened (and padded) tokens, on their mesh partitions
    labels: _Labels  # per token, labels.shape
    invalid: Array  # [n + pad] flattened
    n: int  # tokens before padding


def _prepare(loss: str, hidden: ArrayLike, weight: ArrayLike, labels: ArrayLike,
             hp: dict[str, Any], weights: ArrayLike | None, where: ArrayLike | None,
             implementation: Implementation, layout: tuple[Any, tuple[str, ...], str | None],
             ) -> _Call:
    hid, w, y, b = _arrays(loss, hidden, weight, labels, hp["bias"])
    chunk = _static_int("chunk_size", hp["chunk_size"], loss)
    block = _static_int("vocab_block_size", hp["vocab_block_size"], loss)
    dtype = _core.compute_dtype(*(a for a in (hid, w, b) if a is not None))
    smoothing = not _core.is_known(hp["label_smoothing"], 0.0)
    zloss = not _core.is_known(hp["z_loss"], 0.0)
    softcap = _core.hyper_value(hp["logit_softcap"]) is not None
    hyper = jnp.stack([
        _hyper_operand("label_smoothing", hp["label_smoothing"], smoothing, dtype, loss),
        _hyper_operand("z_loss", hp["z_loss"], zloss, dtype, loss),
        _hyper_operand("logit_softcap", hp["logit_softcap"], softcap, dtype, loss),
    ])
    vocab, width = w.shape
    lab = _labels(loss, y, vocab, ignore_index=hp["ignore_index"],
                  class_weights=hp["class_weights"], smoothing=smoothing, weights=weights,
                  where=where, dtype=dtype)
    n = int(np.prod(y.shape, dtype=np.int64))
    h2 = hid.reshape(n, width)
    mesh, batch_axes, vocab_axis = layout
    if mesh is None and implementation.supports_mesh:
        # explicitly sharded inputs run the sharded kernel by themselves
        mesh, batch_axes, vocab_axis = mesh_lib.explicit_layout(h2, w)
    config = KernelConfig(
        vocab=int(vocab), compute_dtype=dtype.name, smoothing=smoothing, zloss=zloss,
        softcap=softcap, chunk_size=chunk, vocab_block_size=block, mesh=mesh,
        batch_axes=tuple(batch_axes), vocab_axis=vocab_axis,
    )
    kept = (jnp.ones(y.shape, bool) if lab.mask is None else lab.mask).reshape(n)
    label_weights = None if lab.label_weights is None else lab.label_weights.reshape(n)
    # On a mesh the token count must split evenly over the batch shards: pad with dropped
    # tokens (hidden 0, label 0, kept False) and cut the per-token outputs back to n.
    (h2, y2, kept, invalid, label_weights), _ = mesh_lib.pad_tokens(
        config, [h2, lab.labels.reshape(n), kept, lab.invalid.reshape(n), label_weights])
    ops = mesh_lib.place_operands(config, Operands(hyper, h2, w, b, y2, kept,
                                                   lab.class_weights, label_weights))
    return _Call(config, ops, lab, invalid, n)


def _per_token(call: _Call, implementation: Implementation, shape: tuple[int, ...],
               loss_name: str) -> tuple[Array, Array]:
    """``reduction="none"``: each token's loss (NaN for an invalid label), weighted."""
    loss, lse = implementation.token_losses(call.config, call.ops)
    cut = lambda a: mesh_lib.unpad_tokens(call.config, a, call.n)
    loss, lse, kept, invalid = cut(loss), cut(lse), cut(call.ops.kept), cut(call.invalid)
    loss = jnp.where(invalid, jnp.nan, loss).reshape(shape)
    loss = _core.reduce(loss, weights=call.labels.weights, where=call.labels.mask,
                        reduction="none", loss_name=loss_name)
    return loss, jnp.where(kept, lse, 0)


def _reduced(call: _Call, implementation: Implementation, shape: tuple[int, ...],
             reduction: Reduction) -> tuple[Array, Array]:
    """``"mean"`` / ``"sum"``: the weighted total (NaN with any invalid label, gradients
    kept); each token's scale is its weight (over the mean's denominator)."""
    lab = call.labels
    dtype = jnp.dtype(call.config.compute_dtype)
    weights = jnp.ones(shape, dtype) if lab.weights is None else jnp.broadcast_to(lab.weights,
                                                                                 shape)
    keep = jnp.ones(shape, bool) if lab.mask is None else lab.mask
    if reduction == "mean":
        # the label's class weight counts in the denominator (it is in the weights otherwise)
        counted = weights if lab.label_weights is None else weights * lab.label_weights
        weights = _core.safe_divide(weights, jnp.sum(jnp.where(keep, counted, 0)))
    scale = jnp.where(keep & ~lab.invalid, weights, 0).reshape(call.n)
    (scale,), _ = mesh_lib.pad_tokens(call.config, [scale])
    scale = mesh_lib.place_tokens(call.config, scale)
    loss, lse = implementation.weighted_total(call.config, call.ops, scale)
    loss = loss + jnp.where(jnp.any(lab.invalid), jnp.nan, 0.0)
    cut = lambda a: mesh_lib.unpad_tokens(call.config, a, call.n)
    return loss, jnp.where(cut(call.ops.kept), cut(lse), 0)


def loss_and_lse(
    loss_name: str,
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: Reduction,
    implementation: str = DEFAULT_IMPLEMENTATION,
    mesh: Any = None,
    batch_axes: tuple[str, ...] = (),
    vocab_axis: str | None = None,
    **hyperparameters: Any,
) -> tuple[Array, Array]:
    """Checks the inputs, runs the implementation, applies the contract; ``(loss, lse)``.

    ``hyperparameters`` are all those of :class:`Hyperparameters`. ``label_smoothing``,
    ``z_loss`` and ``logit_softcap`` may be Python numbers, arrays, tracers or
    :class:`lossjax._core.Specialized`: a term is compiled out only where Python knows it is
    off (smoothing or z-loss 0, the cap None); otherwise its coefficient is a traced operand,
    and differentiable. ``mesh``, ``batch_axes`` and ``vocab_axis``: the layout of
    :mod:`lossjax.sharding` (an implementation with ``supports_mesh``).
    """
    _core.check_reduction(reduction, loss_name)
    impl = IMPLEMENTATIONS[implementation]
    if mesh is not None and not impl.supports_mesh:
        raise NotImplementedError(f"{loss_name}: implementation {implementation!r} does not "
                                  "run on a mesh.")
    call = _prepare(loss_name, hidden, weight, labels, hyperparameters, weights, where, impl,
                    (mesh, batch_axes, vocab_axis))
    shape = call.labels.invalid.shape
    if reduction == "none":
        loss, lse = _per_token(call, impl, shape, loss_name)
    else:
        loss, lse = _reduced(call, impl, shape, reduction)
    return loss, lax.stop_gradient(lse.reshape(shape))


# --------------------------------------------------------------------------------------------
# Entry points other than the registered function


_STATIC = ("loss_name", "reduction", "implementation", "mesh", "batch_axes", "vocab_axis",
           "ignore_index", "chunk_size", "vocab_block_size")


@functools.partial(jax.jit, static_argnames=_STATIC)
def _jitted(hidden, weight, labels, **kwargs):
    return loss_and_lse(hidden=hidden, weight=weight, labels=labels, **kwargs)


def checked_loss_and_lse(
    fn_name: str,
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: Reduction,
    hyperparameters: dict[str, Any],
    implementation: str = DEFAULT_IMPLEMENTATION,
    mesh: Any = None,
    batch_axes: tuple[str, ...] = (),
    vocab_axis: str | None = None,
    loss_name: str | None = None,
) -> tuple[Array, Array]:
    """:func:`loss_and_lse` under one cached ``jit``, after the checks the registered
    :func:`linear_cross_entropy` does: each hyperparameter (by name, range; unknown names
    and unknown implementations raise naming ``fn_name``), missing ones at their defaults,
    and ``reduction``. ``loss_name`` names the loss in the errors of the inputs' checks
    (default ``fn_name``)."""
    from lossjax import registry

    spec = registry.spec(NAME).hyperparameters
    unknown = sorted(set(hyperparameters) - set(spec))
    if unknown:
        raise TypeError(f"{fn_name}: unexpected keyword argument(s) {unknown}.")
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"{fn_name}: `implementation` must be one of "
                         f"{sorted(IMPLEMENTATIONS)}; got {implementation!r}.")
    given = {k: hyperparameters.get(k, h.default) for k, h in spec.items()}
    for k, value in given.items():
        spec[k].check(k, value, fn_name)
    _core.check_reduction(reduction, fn_name)
    specialized = {k: spec[k].specialize(v) for k, v in given.items()}
    return _jitted(hidden, weight, labels, loss_name=loss_name or fn_name, weights=weights,
                   where=where, reduction=reduction, implementation=implementation, mesh=mesh,
                   batch_axes=batch_axes, vocab_axis=vocab_axis, **specialized)


def _checks(hidden, weight, labels, *, ignore_index=-100, **_):
    v = jnp.shape(weight)[0]
    y = jnp.asarray(labels)
    ok = (y >= 0) & (y < v)
    if ignore_index is not None:
        ok = ok | (y == ignore_index)
    return [(ok, f"labels must lie in [0, {v}) or equal ignore_index")]


_WHY_IGNORE = ("a class id, not a quantity: whether it applies (None drops nothing) is "
               "decided at trace time")
# label_smoothing, z_loss and logit_softcap are traced operands of the chunked kernel (a
# schedule or a sweep reuses one program; vmap and grad apply to them). A Python 0 for the
# first two compiles the kernel without that term; logit_softcap=None (no cap) is a
# structural choice, a number the traced cap.
_HYPERS = {
    "bias": Hyper(None, optional=True),
    "ignore_index": Hyper(None, static=True, optional=True, why_static=_WHY_IGNORE),
    "label_smoothing": Hyper(UNIT_RIGHT_OPEN, fast=(0.0,)),
    "z_loss": Hyper(NONNEGATIVE, fast=(0.0,)),
    "logit_softcap": Hyper(POSITIVE, optional=True),
    "class_weights": Hyper(NONNEGATIVE, optional=True),
    "chunk_size": Hyper(Interval(1.0), static=True, optional=True,
                        why_static="the number of tokens per chunk (shapes)"),
    "vocab_block_size": Hyper(Interval(1.0), static=True, optional=True,
                              why_static="the vocabulary block's width (shapes)"),
}

@_builtin(
    task="multiclass",
    predictions="hidden",
    targets="labels",
    granularity="example",
    units=("token", "``labels.shape``"),
    bounded=False,
    convex=True,
    hyper=_HYPERS,
    sample=fixtures.sample,
    boundary=fixtures.boundary,
    checks=_checks,
    diff_argnums=(0, 1),
    batch_argnums=(0, 2),
    forward_mode=False,
    peers={
        "torch": "nn.functional.linear_cross_entropy",
        "jax-cce": "linear_cross_entropy",
        "cut-cross-entropy": "linear_cross_entropy",
    },
)
def linear_cross_entropy(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    bias: ArrayLike | None = None,
    ignore_index: int | None = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    logit_softcap: float | None = None,
    class_weights: ArrayLike | None = None,
    chunk_size: int | None = None,
    vocab_block_size: int | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Cross-entropy of a linear layer's logits, ``hidden @ weight.T + bias``, never built.

    .. math::

       \begin{aligned}
       \ell(h, y) &= -(1 - \varepsilon)\, w_y \log q_y
         - \frac{\varepsilon}{V} \sum_{c=1}^{V} w_c \log q_c
         + \lambda\, w_y \Bigl(\log \sum_{c=1}^{V} e^{z_c}\Bigr)^2,
       \qquad q = \operatorname{softmax}(z),\\
       z &= \kappa \tanh(x / \kappa) \ \text{(with a cap; else } z = x\text{)}, \qquad x = W h + b
       \end{aligned}

    for a token with hidden state :math:`h` and label :math:`y`, with :math:`W` and :math:`b`
    the ``weight`` ``[V, D]`` and ``bias`` ``[V]``, :math:`\kappa` the ``logit_softcap``,
    :math:`\varepsilon` the ``label_smoothing``, :math:`\lambda` the ``z_loss`` and :math:`w`
    the ``class_weights`` (all 1 when None): the softmax cross-entropy of
    :func:`lossjax.softmax_cross_entropy` on the logits :math:`z` (same ``ignore_index``,
    ``label_smoothing`` and ``class_weights`` semantics) plus the z-loss, weighted as the
    label's term.
    The ``[..., V]`` logits are never materialised, forward or backward: the tokens are
    processed in chunks of ``chunk_size``, and the gradients of the mean or sum are formed
    in the same sweep as the value (see :mod:`lossjax.linear_ce`).

    Out-of-range labels that are not ``ignore_index`` give a NaN loss, as in
    :func:`lossjax.softmax_cross_entropy`; :func:`lossjax.checked` turns them into errors.
    The gradient is a custom VJP: ``grad``, ``vjp``, ``jax.hessian`` (forward over reverse)
    and grad-of-grad work; forward mode on the loss itself (``jax.jvp``, ``jax.jacfwd``) does
    not.

    Args:
      hidden: hidden states ``[..., D]`` (any leading token axes), floating point.
      weight: output-layer weight ``[V, D]`` (the transpose of a ``Dense`` kernel).
      labels: integer token ids of shape ``hidden.shape[:-1]``.
      bias: optional ``[V]`` bias; ``-inf`` entries mask vocabulary slots.
      ignore_index: label whose tokens are dropped (static; None to drop none).
      label_smoothing: :math:`\varepsilon` in ``[0, 1)``; traced (a schedule or a sweep reuses the
        compiled program; ``vmap`` and ``grad`` apply), a Python 0 compiles the plain path.
      z_loss: coefficient of ``lse**2`` (PaLM uses 1e-4); traced, a Python 0 compiles the
        path without it.
      logit_softcap: :math:`\kappa > 0` caps the logits (Gemma 2 uses 30); traced,
        None (no cap) compiles the path without it.
      class_weights: optional non-negative ``[V]`` weights; the label's weight multiplies
        the token's loss (and counts in the mean's denominator). With ``label_smoothing``,
        each class's smoothing term is weighted by its own weight, as in PyTorch and
        :func:`lossjax.softmax_cross_entropy` (then, and with a traced ``label_smoothing``
        even at 0, the class weights get no gradient).
      chunk_size: tokens per chunk (static); default ``2**23 / V`` (32 MiB of float32
        logits), at least 128. Each chunk reads and writes the whole ``[V, D]``
        weight-gradient accumulator, so with few tokens and a large vocabulary larger
        chunks trade memory for time (N = 1024, V = 131072 on a CPU: 1.12x the naive time
        at the default 128, 0.96x at 256; BUILD_NOTES.md).
      vocab_block_size: weight-gradient rows updated per step (static); default
        ``2**20 / D``.

    Returns:
      The reduced loss (float32, or float64 for float64 inputs).

    Raises:
      TypeError: non-float hidden/weight, non-integer labels, non-int chunk sizes.
      ValueError: shapes that do not fit; hyperparameters out of range.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> hidden = jnp.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
      >>> weight = jnp.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
      >>> labels = jnp.array([0, 1, -100])
      >>> round(float(lossjax.linear_cross_entropy(hidden, weight, labels)), 4)
      0.3955
      >>> logits = hidden @ weight.T
      >>> round(float(lossjax.softmax_cross_entropy(logits, labels)), 4)
      0.3955

    Reference:
      Wijmans et al., "Cut Your Losses in Large-Vocabulary Language Models" (2024) for
      computing the loss without the logits; Chowdhery et al., "PaLM" (2022) for the z-loss;
      Gemma Team, "Gemma 2" (2024) for logit soft-capping; Szegedy et al. (2016) for label
      smoothing.
    """
    given = locals()  # the arguments: the hyperparameters are passed on by name, not re-listed
    loss, _ = loss_and_lse(NAME, hidden, weight, labels, weights=weights, where=where,
                           reduction=reduction, **{k: given[k] for k in _HYPERS})
    return loss


def linear_cross_entropy_with_lse(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
    **hyperparameters: Unpack[Hyperparameters],
) -> tuple[Array, Array]:
    """:func:`linear_cross_entropy` and the per-token log-sum-exp, at no extra cost.

    Returns ``(loss, lse)``: ``loss`` exactly as :func:`linear_cross_entropy`, and ``lse``
    of shape ``labels.shape``: ``logsumexp_c z_c`` of each token's (soft-capped) logits, 0
    for tokens dropped by ``where`` or ``ignore_index``. ``lse`` carries no gradient
    (``stop_gradient``): to train on it use ``z_loss``. Same arguments.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> loss, lse = lossjax.linear_cross_entropy_with_lse(
      ...     jnp.zeros((2, 3)), jnp.zeros((4, 3)), jnp.array([1, -100]))
      >>> [round(v, 4) for v in lse.tolist()]  # log(4) for the kept token
      [1.3863, 0.0]
    """
    return checked_loss_and_lse(
        "linear_cross_entropy_with_lse", hidden, weight, labels, weights=weights, where=where,
        reduction=reduction, hyperparameters=dict(hyperparameters), loss_name=NAME)


def show_hyperparameters(fn: Any) -> Any:
    """Gives ``fn`` (an entry point taking ``**hyperparameters: Unpack[Hyperparameters]``)
    the signature that ``help`` and ``inspect`` show: its ``**hyperparameters`` replaced by
    the keyword arguments of :func:`linear_cross_entropy`, with their defaults."""
    own = list(inspect.signature(fn).parameters.values())
    hypers = [p for k, p in inspect.signature(linear_cross_entropy).parameters.items()
              if k in _HYPERS]
    i = next(i for i, p in enumerate(own) if p.kind is inspect.Parameter.VAR_KEYWORD)
    fn.__signature__ = inspect.signature(fn).replace(parameters=own[:i] + hypers + own[i + 1:])
    return fn


show_hyperparameters(linear_cross_entropy_with_lse)
