"""The chunked kernel: one sweep over token chunks on one shard, in named steps.

A sweep walks the ``n`` tokens in chunks of ``T`` (:func:`sweep`, step :func:`_chunk_step`).
Per chunk it forms the ``[T, v]`` logits (:func:`_logits`) and, unless the log-sum-exp is
given, their statistics in one variadic reduction (:func:`_statistics`) and the per-token
loss (:func:`_token_loss`). A gradient sweep then walks the vocabulary in blocks of ``B``
rows (:func:`_gradient_blocks`, step :func:`_block_step`): each block's ``dlogits``
(:func:`_dlogits`, ``[T, B]``) goes at once into the gradient of the hidden states, the
block's rows of the weight gradient and its bias entries.

What a sweep computes is its :class:`Sweep`; what it returns, a :class:`SweepOutput` with
``None`` for what that sweep does not compute. Vocabulary-parallel collectives
(``pmax``/``psum`` over ``config.vocab_axis``) are inside the steps; running a sweep under
``shard_map`` is :mod:`lossjax.linear_ce.mesh`'s job.
"""

from __future__ import annotations

import enum
import math
from typing import Any, NamedTuple

import jax.numpy as jnp
from jax import lax

from lossjax._core import Array
from lossjax.linear_ce.base import LABEL_SMOOTHING, LOGIT_SOFTCAP, Z_LOSS, KernelConfig, Operands

# Default working set of one token chunk: T * V_local logits (32 MiB of float32), and of one
# block of the weight-gradient update: block * D (4 MiB of float32).
CHUNK_ELEMENTS = 1 << 23
BLOCK_ELEMENTS = 1 << 20
_MIN_CHUNK = 128
_MAX_CHUNK = 4096

_LOGITS_DIMS = (((1,), (1,)), ((), ()))  # [t, D] x [v, D] -> [t, v]
_WEIGHT_GRAD_DIMS = (((0,), (0,)), ((), ()))  # [t, vb] x [t, D] -> [vb, D]
_HIDDEN_GRAD_DIMS = (((1,), (0,)), ((), ()))  # [t, vb] x [vb, D] -> [t, D]


def _pow2_floor(x: float) -> int:
    return 1 << max(0, int(math.floor(math.log2(max(x, 1.0)))))


def default_chunk_size(vocab: int) -> int:
    """Tokens per chunk when ``chunk_size=None``: ``CHUNK_ELEMENTS / vocab`` (a power of 2).

    The chunk's logits take ``chunk * vocab`` floats: 32 MiB of float32 up to ``V = 65536``
    (256 tokens at ``V = 32768``). The chunk never drops below 128 tokens (64 MiB of logits
    at ``V = 131072``): narrower chunks make the weight-gradient update (a ``[V, D]``
    read-modify-write per chunk) dominate. At most 4096 tokens.
    """
    return int(min(_MAX_CHUNK, max(_MIN_CHUNK, _pow2_floor(CHUNK_ELEMENTS / max(vocab, 1)))))


def default_vocab_block_size(width: int) -> int:
    """Rows of the weight gradient updated per step when ``vocab_block_size=None``."""
    return int(max(128, _pow2_floor(BLOCK_ELEMENTS / max(width, 1))))


class Sweep(enum.Enum):
    """What one sweep computes."""

    VALUE = "value"  # per-token loss and lse
    # loss, lse, total = sum(scale * loss) over tokens with nonzero scale, and the gradients
    # of the total (the gradient-in-forward path of the mean and the sum)
    GRADIENT = "gradient"
    # the same gradients from a given lse (the recomputing backward pass of "none")
    GRADIENT_FROM_LSE = "gradient_from_lse"

    @property
    def computes_value(self) -> bool:
        return self is not Sweep.GRADIENT_FROM_LSE

    @property
    def computes_gradients(self) -> bool:
        return self is not Sweep.VALUE


class SweepOutput(NamedTuple):
    """What a sweep returns (also its loop carry); None where the sweep computes nothing.

    ``loss``, ``lse`` [n]; ``dloss_dsmoothing`` [n], each token's ``d loss / d eps`` (``z_y -
    mean_c z_c``), with hyperparameter gradients and smoothing on; ``dtotal_dcap`` (a scalar,
    this shard's part) ``sum_i scale_i sum_c d loss_i / d z_c * d z_c / d cap`` with ``d z / d
    cap = tanh(u) - u (1 - tanh(u)**2)``, ``u = x / cap``, with hyperparameter gradients and
    the cap on (``d loss / d z_loss = lse**2`` needs only ``lse``); ``dhidden`` [n, D] (dtype
    of the hidden states), ``dweight`` [v, D] and ``dbias`` [v] (compute dtype, summed over
    the local tokens); ``total`` (a scalar).
    """

    loss: Array | None = None
    lse: Array | None = None
    dloss_dsmoothing: Array | None = None
    dtotal_dcap: Array | None = None
    dhidden: Array | None = None
    dweight: Array | None = None
    dbias: Array | None = None
    total: Array | None = None


def output_fields(config: KernelConfig, sweep: Sweep, has_bias: bool) -> tuple[str, ...]:
    """The fields of :class:`SweepOutput` that ``sweep`` fills."""
    fields = []
    if sweep.computes_value:
        fields += ["loss", "lse"]
        if config.smoothing and config.hyper_grads:
            fields.append("dloss_dsmoothing")
    if sweep.computes_gradients:
        if config.softcap and config.hyper_grads:
            fields.append("dtotal_dcap")
        fields += ["dhidden", "dweight"] + (["dbias"] if has_bias else [])
    if sweep is Sweep.GRADIENT:
        fields.append("total")
    return tuple(fields)


class _Shard(NamedTuple):
    """What every step of one sweep on one shard reads (built once by :func:`_shard`)."""

    config: KernelConfig
    sweep: Sweep
    compute: Any  # dtype of the logits and of every sum
    operand: Any  # dtype of the matrix products' operands
    weight: Array  # [v, D] in the operand dtype
    bias: Array | None  # [v] in the compute dtype
    smoothing: Any  # eps (0.0 where off)
    zloss: Any  # the z-loss coefficient (0.0 where off)
    cap: Any  # the soft cap (None where off)
    class_weights: Array | None  # [v], compute dtype
    class_weight_total: Any  # sum over the global vocabulary
    offset: Any  # global index of the first local vocabulary row
    chunk: int
    block: int
    want_dcap: bool


def _shard(config: KernelConfig, sweep: Sweep, ops: Operands) -> _Shard:
    n, width = ops.hidden.shape
    v = ops.weight.shape[0]
    compute = jnp.dtype(config.compute_dtype)
    operand = jnp.promote_types(ops.hidden.dtype, ops.weight.dtype)
    vaxis = config.vocab_axis
    class_weights = class_weight_total = None
    if ops.class_weights is not None:
        class_weights = ops.class_weights.astype(compute)
        class_weight_total = jnp.sum(class_weights)
        if vaxis is not None:
            class_weight_total = lax.psum(class_weight_total, vaxis)
    return _Shard(
        config=config, sweep=sweep, compute=compute, operand=operand,
        weight=ops.weight.astype(operand),
        bias=None if ops.bias is None else ops.bias.astype(compute),
        smoothing=ops.hyper[LABEL_SMOOTHING] if config.smoothing else 0.0,
        zloss=ops.hyper[Z_LOSS] if config.zloss else 0.0,
        cap=ops.hyper[LOGIT_SOFTCAP] if config.softcap else None,
        class_weights=class_weights, class_weight_total=class_weight_total,
        offset=0 if vaxis is None else lax.axis_index(vaxis) * v,
        chunk=min(config.chunk_size or default_chunk_size(v), n),
        block=min(config.vocab_block_size or default_vocab_block_size(width), v),
        want_dcap=config.softcap and config.hyper_grads and sweep.computes_gradients,
    )


# --------------------------------------------------------------------------------------------
# Per chunk: logits, statistics, loss


def _logits(s: _Shard, hidden: Array) -> Array:
    """``hidden @ weight.T + bias`` for a chunk, ``[T, v]`` in the compute dtype."""
    x = lax.dot_general(hidden.astype(s.operand), s.weight, _LOGITS_DIMS,
                        preferred_element_type=s.compute)
    return x if s.bias is None else x + s.bias[None, :]  # no implicit rank promotion


def _capped(s: _Shard, x: Array) -> tuple[Array, Array | None]:
    """``(z, tanh(x / cap))``: the soft-capped logits ``cap * tanh(x / cap)`` (``(x, None)``
    without a cap)."""
    if s.cap is None:
        return x, None
    t = jnp.tanh(x / s.cap)
    return s.cap * t, t


class _Statistics(NamedTuple):
    lse: Array  # [T] log-sum-exp of the capped logits
    label_logit: Array  # [T] z_y
    logit_sum: Array | None  # [T] sum_c z_c (sum_c w_c z_c with class weights); smoothing only


def _statistics(s: _Shard, x: Array, labels: Array) -> _Statistics:
    """Log-sum-exp, label logit and (with smoothing) logit sum of a chunk's logits ``x``."""
    z, _ = _capped(s, x)
    vaxis = s.config.vocab_axis
    m = jnp.max(z, axis=1)
    if vaxis is not None:
        m = lax.pmax(m, vaxis)
    m = lax.stop_gradient(jnp.where(jnp.isfinite(m), m, 0))
    hit = lax.broadcasted_iota(jnp.int32, z.shape, 1) + s.offset == labels[:, None]
    terms = [jnp.exp(z - m[:, None]), jnp.where(hit, z, 0)]
    if s.config.smoothing:  # a class of weight 0 left out of the weighted sum
        cw = s.class_weights
        terms.append(z if cw is None else jnp.where(cw != 0, cw * z, 0))
    # One variadic reduction for the sum of exponentials, the label's logit and the sum
    # of the logits: a single read of the chunk's logits after the maximum.
    sums = lax.reduce(
        tuple(terms), tuple(jnp.zeros((), s.compute) for _ in terms),
        lambda a, c: tuple(x + y for x, y in zip(a, c, strict=True)), (1,),
    )
    if vaxis is not None:
        sums = lax.psum(sums, vaxis)
    lse = m + jnp.log(sums[0])
    if not s.config.smoothing:
        return _Statistics(lse, sums[1], None)
    # A traced eps = 0 with a -inf logit: eps * sum_c z_c is the limit 0, not 0 * -inf
    # (and its derivative in eps is taken as 0 there, as lossjax.softmax_cross_entropy).
    logit_sum = jnp.where((s.smoothing == 0) & (sums[2] == -jnp.inf), 0, sums[2])
    return _Statistics(lse, sums[1], logit_sum)


def _token_loss(s: _Shard, st: _Statistics, label_weight: Array | None) -> Array:
    """Each token's loss from its statistics (see :class:`lossjax.linear_ce.base.Operands`
    for the class-weighted form, ``label_weight`` its ``w_y``)."""
    eps, inv_v = s.smoothing, 1.0 / s.config.vocab
    if s.class_weights is not None:
        assert label_weight is not None and st.logit_sum is not None
        loss = (1.0 - eps) * (st.lse - st.label_logit)
        if s.config.zloss:
            loss = loss + s.zloss * jnp.square(st.lse)
        return label_weight * loss + (eps * inv_v) * (s.class_weight_total * st.lse
                                                       - st.logit_sum)
    if st.logit_sum is not None:
        loss = st.lse - (1.0 - eps) * st.label_logit - (eps * inv_v) * st.logit_sum
    else:
        loss = st.lse - st.label_logit
    if s.config.zloss:
        loss = loss + s.zloss * jnp.square(st.lse)
    return loss


def _token_dloss_dsmoothing(s: _Shard, st: _Statistics, label_weight: Array | None) -> Array:
    """``d token_loss / d eps``."""
    inv_v = 1.0 / s.config.vocab
    assert st.logit_sum is not None
    if s.class_weights is not None:
        assert label_weight is not None
        return (inv_v * (s.class_weight_total * st.lse - st.logit_sum)
                - label_weight * (st.lse - st.label_logit))
    return st.label_logit - inv_v * st.logit_sum


# --------------------------------------------------------------------------------------------
# Per chunk and vocabulary block: the gradients


class _ChunkForGradients(NamedTuple):
    logits: Array  # [T, v] before the cap
    hidden: Array  # [T, D] in the operand dtype (dropped tokens 0)
    labels: Array  # [T]
    lse: Array  # [T]
    scale: Array  # [T] each token's cotangent (0 for tokens an earlier chunk covered)
    label_weight: Array | None  # [T], with class weights and smoothing only


class _BlockSums(NamedTuple):
    """The loop carry of the vocabulary blocks of one chunk."""

    dhidden: Array  # [T, D] of this chunk, compute dtype
    dweight: Array  # [v, D]
    dbias: Array | None  # [v]
    dtotal_dcap: Array | None  # scalar


def _dlogits(s: _Shard, z: Array, first_column: Any, c: _ChunkForGradients,
             block_class_weights: Array | None) -> Array:
    """``d(sum_i scale_i * loss_i) / dz`` for a block of capped logits ``z`` whose first
    column is the vocabulary entry ``first_column``."""
    eps, zl, inv_v = s.smoothing, s.zloss, 1.0 / s.config.vocab
    p = jnp.exp(z - c.lse[:, None])
    hit = lax.broadcasted_iota(jnp.int32, z.shape, 1) + first_column == c.labels[:, None]
    if s.class_weights is not None:
        assert c.label_weight is not None and block_class_weights is not None
        g = (1.0 - eps) * (p - jnp.where(hit, 1.0, 0.0))
        if s.config.zloss:
            g = g + (2.0 * zl * c.lse)[:, None] * p
        g = c.label_weight[:, None] * g + (eps * inv_v) * (s.class_weight_total * p
                                                           - block_class_weights[None, :])
    else:
        if s.config.zloss:
            p = p * (1.0 + 2.0 * zl * c.lse)[:, None]
        g = p - jnp.where(hit, 1.0 - eps, 0.0)
        if s.config.smoothing:
            g = g - eps * inv_v
    return g * c.scale[:, None]


def _block_start(j: Any, block: int, v: int) -> tuple[Any, Array | None]:
    """Where vocabulary block ``j`` starts, and which of its columns are new (None: all).

    The last block is shifted back to end at ``v`` when ``block`` does not divide ``v``; its
    columns that an earlier block already covered are masked out of ``dlogits``.
    """
    if v % block == 0:
        return j * block, None
    start = jnp.minimum(j * block, v - block)
    return start, lax.broadcasted_iota(jnp.int32, (1, block), 1) + start >= j * block


def _block_step(s: _Shard, c: _ChunkForGradients, j: Any, acc: _BlockSums) -> _BlockSums:
    """Vocabulary block ``j``: its ``dlogits`` into ``dhidden``, its rows of ``dweight``, its
    entries of ``dbias`` (and of the derivative in the cap)."""
    v, block = s.weight.shape[0], s.block
    start, fresh = _block_start(j, block, v)
    cwb = None
    if s.class_weights is not None:
        cwb = lax.dynamic_slice_in_dim(s.class_weights, start, block)
    xb = lax.dynamic_slice_in_dim(c.logits, start, block, axis=1)
    z, t = _capped(s, xb)
    g = _dlogits(s, z, s.offset + start, c, cwb)
    dcap = acc.dtotal_dcap
    if s.want_dcap:
        assert t is not None and dcap is not None
        # d z / d cap = tanh(u) - u (1 - tanh(u)**2), u = x / cap: 0 * u is 0 at an
        # infinite logit (a -inf bias), where z is the constant -cap.
        dz = t - jnp.where(jnp.isinf(xb), 0, xb / s.cap) * (1.0 - jnp.square(t))
        dz = dz * g
        if fresh is not None:
            dz = jnp.where(fresh, dz, 0)
        dcap = dcap + jnp.sum(dz)
    if t is not None:
        g = g * (1.0 - jnp.square(t))
    if fresh is not None:
        g = jnp.where(fresh, g, 0)
    g_op = g.astype(s.operand)
    wb = lax.dynamic_slice_in_dim(s.weight, start, block, axis=0)
    dhidden = acc.dhidden + lax.dot_general(g_op, wb, _HIDDEN_GRAD_DIMS,
                                            preferred_element_type=s.compute)
    update = lax.dot_general(g_op, c.hidden, _WEIGHT_GRAD_DIMS, preferred_element_type=s.compute)
    dweight = lax.dynamic_update_slice_in_dim(
        acc.dweight, lax.dynamic_slice_in_dim(acc.dweight, start, block, axis=0) + update,
        start, axis=0)
    dbias = acc.dbias
    if dbias is not None:
        dbias = lax.dynamic_update_slice_in_dim(
            dbias, lax.dynamic_slice_in_dim(dbias, start, block) + jnp.sum(g, axis=0), start, 0)
    return _BlockSums(dhidden, dweight, dbias, dcap)


def _gradient_blocks(s: _Shard, c: _ChunkForGradients, acc: _BlockSums) -> _BlockSums:
    """Sweeps the vocabulary in blocks of the chunk's logits at hand."""
    v = s.weight.shape[0]
    blocks = -(-v // s.block)
    step = lambda j, a: _block_step(s, c, j, a)
    return step(0, acc) if blocks == 1 else lax.fori_loop(0, blocks, step, acc)


# --------------------------------------------------------------------------------------------
# The sweep over token chunks


def _chunk_start(i: Any, chunk: int, n: int) -> tuple[Any, Array | None]:
    """Where token chunk ``i`` starts, and which of its tokens are new (None: all).

    The last chunk is shifted back to end at ``n`` when ``chunk`` does not divide ``n``;
    tokens an earlier chunk already covered are recomputed identically for the value, and
    take no part in the gradient sums.
    """
    if n % chunk == 0:
        return i * chunk, None
    start = jnp.minimum(i * chunk, n - chunk)
    return start, lax.iota(jnp.int32, chunk) + start >= i * chunk


def _chunk_step(s: _Shard, ops: Operands, scale: Array | None, lse_in: Array | None,
                i: Any, out: SweepOutput) -> SweepOutput:
    """Token chunk ``i``: its values into ``out``, then (gradient sweeps) its gradients."""
    start, fresh = _chunk_start(i, s.chunk, ops.hidden.shape[0])
    cut = lambda a: lax.dynamic_slice_in_dim(a, start, s.chunk)
    put = lambda a, u: lax.dynamic_update_slice_in_dim(a, u.astype(a.dtype), start, 0)
    hidden = jnp.where(cut(ops.kept)[:, None], cut(ops.hidden), jnp.zeros((), ops.hidden.dtype))
    labels = cut(ops.labels)
    label_weight = None if ops.label_weights is None else cut(ops.label_weights).astype(s.compute)
    x = _logits(s, hidden)
    loss = None
    if s.sweep.computes_value:
        assert out.loss is not None and out.lse is not None
        st = _statistics(s, x, labels)
        lse, loss = st.lse, _token_loss(s, st, label_weight)
        out = out._replace(loss=put(out.loss, loss), lse=put(out.lse, lse))
        if out.dloss_dsmoothing is not None:
            out = out._replace(dloss_dsmoothing=put(
                out.dloss_dsmoothing, _token_dloss_dsmoothing(s, st, label_weight)))
    else:
        assert lse_in is not None
        lse = cut(lse_in)
    if not s.sweep.computes_gradients:
        return out
    assert scale is not None and out.dhidden is not None and out.dweight is not None
    token_scale = cut(scale)
    if fresh is not None:
        token_scale = jnp.where(fresh, token_scale, 0)
    if s.sweep is Sweep.GRADIENT:
        assert out.total is not None and loss is not None
        out = out._replace(total=out.total + jnp.sum(
            jnp.where(token_scale != 0, token_scale * loss, 0)))
    assert out.dweight is not None and out.dhidden is not None
    c = _ChunkForGradients(x, hidden.astype(s.operand), labels, lse, token_scale, label_weight)
    acc = _BlockSums(jnp.zeros((hidden.shape[0], hidden.shape[1]), s.compute), out.dweight,
                     out.dbias, out.dtotal_dcap)
    acc = _gradient_blocks(s, c, acc)
    dhidden = acc.dhidden
    if s.config.vocab_axis is not None:
        dhidden = lax.psum(dhidden, s.config.vocab_axis)
    if fresh is not None:
        dhidden = jnp.where(fresh[:, None], dhidden, cut(out.dhidden))
    return out._replace(dhidden=put(out.dhidden, dhidden), dweight=acc.dweight,
                        dbias=acc.dbias, dtotal_dcap=acc.dtotal_dcap)


def _initial_output(s: _Shard, ops: Operands) -> SweepOutput:
    n, width = ops.hidden.shape
    v = ops.weight.shape[0]
    shapes = {"loss": (n,), "lse": (n,), "dloss_dsmoothing": (n,), "dtotal_dcap": (),
              "dhidden": (n, width), "dweight": (v, width), "dbias": (v,), "total": ()}
    fields = output_fields(s.config, s.sweep, ops.bias is not None)
    return SweepOutput(**{
        f: jnp.zeros(shapes[f], ops.hidden.dtype if f == "dhidden" else s.compute)
        for f in fields})


def sweep(config: KernelConfig, kind: Sweep, ops: Operands, scale: Array | None = None,
          lse: Array | None = None) -> SweepOutput:
    """One sweep of kind ``kind`` over the token chunks of this shard.

    ``scale`` [n] is each token's cotangent (gradient sweeps); ``lse`` [n] the given
    log-sum-exp (:attr:`Sweep.GRADIENT_FROM_LSE` only).
    """
    s = _shard(config, kind, ops)
    out = _initial_output(s, ops)
    n = ops.hidden.shape[0]
    if n == 0:
        return out
    chunks = -(-n // s.chunk)
    step = lambda i, o: _chunk_step(s, ops, scale, lse, i, o)
    return step(0, out) if chunks == 1 else lax.fori_loop(0, chunks, step, out)
