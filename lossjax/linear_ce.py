"""Fused linear cross-entropy: ``cross_entropy(hidden @ weight.T + bias, labels)`` in chunks.

In language-model training the output layer maps ``N`` hidden states of width ``D`` to logits
over a vocabulary of ``V`` tokens. Materialising the ``[N, V]`` logits costs ``N * V`` floats
forward and again backward (512 MiB of float32 each way at ``N = 4096, V = 32768``).
:func:`linear_cross_entropy` never builds them. It walks over *token chunks* of ``T`` tokens;
for a chunk it forms the ``[T, V]`` logits and their exact log-sum-exp, and then -- while the
logits are at hand -- sweeps the vocabulary in blocks of ``B`` rows: each block's gradient
``dlogits = softmax - target`` (``[T, B]``) goes at once into the gradient of ``hidden``
(``dlogits @ weight[block]``, accumulated), into the block's rows of the ``[V, D]``
weight-gradient accumulator (``dlogits.T @ hidden``) and into the bias gradient. The work is
the three matrix products of the naive path; the memory is ``T * V`` logits plus the
gradients themselves (an ``[N, V]`` array never exists, forward or backward).

Two code paths:

* ``reduction="mean"`` / ``"sum"`` (the training case): the output is a scalar, so its
  cotangent is one number ``g``. The differentiated forward pass computes the gradients of
  the reduced loss in the same sweep as the value (a :func:`jax.custom_vjp`); the backward
  pass only multiplies them by ``g``. Three matrix products in all. A call that is not
  differentiated runs a value-only sweep (one matrix product).
* ``reduction="none"``: every token has its own cotangent, unknown during the forward pass.
  The forward pass keeps the per-token log-sum-exp (``N`` floats); the backward pass sweeps
  the chunks again, recomputing each chunk's logits. Four matrix products.

Numerics: logits and every reduction in float32 or wider (bfloat16/float16 inputs give
float32 logits from a float32-accumulating matrix product); the per-chunk ``dlogits`` is cast
to the inputs' dtype for the two gradient products (as the naive path's own backward pass
does), which accumulate in float32 into float32 accumulators; gradients come back in each
input's dtype. Log-sum-exp is shifted by the row maximum; ``-inf`` bias entries (masked
vocabulary slots) are allowed off the label.

Hyperparameters: ``label_smoothing``, ``z_loss`` and ``logit_softcap`` are traced operands
of the kernel (one compiled program for a schedule; ``vmap`` and ``grad`` apply). A Python 0
for the first two, and ``logit_softcap=None``, compile the kernel without the term. When a
caller differentiates them, the sweeps already run give their derivatives: per token
``z_y - mean_c z_c`` (smoothing) and ``lse**2`` (z-loss) from the forward statistics, and the
cap's ``sum_c dloss/dz_c * (tanh(u) - u (1 - tanh(u)**2))``, ``u = x / cap``, accumulated in
the gradient sweep; undifferentiated, none of that work is done (``custom_vjp`` with
symbolic zeros tells which inputs are perturbed).

The per-token log-sum-exp (of the soft-capped logits) is a by-product:
:func:`linear_cross_entropy_with_lse` returns it beside the loss, for z-loss monitoring and
diagnostics.

:mod:`lossjax.sharding` runs the same kernel under :func:`jax.shard_map` with the tokens
sharded (data parallel) and/or the vocabulary sharded (vocabulary parallel).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from lossjax import _core
from lossjax._core import Array, ArrayLike
from lossjax.registry import NONNEGATIVE, POSITIVE, UNIT_RIGHT_OPEN, Hyper, Interval, _builtin

NAME = "linear_cross_entropy"

# Default working set of one token chunk: T * V_local logits (32 MiB of float32), and of one
# block of the weight-gradient update: block * D (4 MiB of float32).
CHUNK_ELEMENTS = 1 << 23
BLOCK_ELEMENTS = 1 << 20
_MIN_CHUNK = 128
_MAX_CHUNK = 4096


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


@dataclasses.dataclass(frozen=True)
class _Config:
    """Everything static about one call (hashable: a ``custom_vjp`` non-differentiable arg)."""

    vocab: int  # global V (label smoothing spreads eps over all V classes)
    compute_dtype: str
    # Which terms run; their coefficients are traced operands (``hyp``, see _kernel). A term
    # is off only where Python knows its coefficient is 0 (smoothing, z-loss) or the cap None.
    smoothing: bool = False
    zloss: bool = False
    softcap: bool = False
    # Also the derivatives of the loss in the hyperparameters (set by the custom_vjp rules
    # when ``hyp`` is being differentiated; otherwise none of that work is done).
    hyper_grads: bool = False
    chunk_size: int | None = None
    vocab_block_size: int | None = None
    mesh: Any = None  # jax.sharding.Mesh for lossjax.sharding, else None
    batch_axes: tuple[str, ...] = ()
    vocab_axis: str | None = None


# --------------------------------------------------------------------------------------------
# The per-shard kernel


def _kernel(
    cfg: _Config,
    mode: str,
    hyp: Array,
    h: Array,
    w: Array,
    b: Array | None,
    labels: Array,
    kept: Array,
    scale: Array | None,
    lse_in: Array | None,
    cw: Array | None = None,
    cwy: Array | None = None,
) -> dict[str, Array]:
    """One sweep over token chunks on one shard.

    ``hyp`` [3] (compute dtype): ``(label_smoothing, z_loss, logit_softcap)``, traced; an
    entry is read only where ``cfg`` turns its term on.

    ``h`` [n, D], ``w`` [v, D] (the local vocabulary rows; ``v = V`` off a mesh), ``b`` [v],
    ``labels`` [n] int (already in range; the global vocabulary index), ``kept`` [n] bool
    (False rows have their hidden state replaced by 0), ``scale`` [n] (the cotangent of each
    token's loss, for the gradient modes), ``lse_in`` [n] (``"grad_lse"`` only).

    ``cw`` [v] (the local class weights) and ``cwy`` [n] (each token's label weight) are given
    for label smoothing with class weights only: the token's loss is then PyTorch's weighted
    one, ``cwy * ((1 - eps) (lse - z_y) + z_loss lse**2) + eps / V * sum_c cw_c (lse - z_c)``
    (the class weights are inside the loss, not in ``scale``).

    Modes:
      ``"value"``: per-token ``loss`` and ``lse``.
      ``"grad"``: ``loss``, ``lse``, ``total = sum(scale * loss)`` over tokens with nonzero
        scale, and the gradients of ``total``: ``dh`` [n, D] (dtype of ``h``), ``dw`` [v, D]
        and ``db`` [v] (compute dtype; summed over the local tokens only).
      ``"grad_lse"``: the same gradients from a given ``lse`` (the recompute path).

    With ``cfg.hyper_grads``, the derivatives in the hyperparameters that the chunk sweeps
    already at hand give: ``"deps"`` [n], each token's ``d loss / d label_smoothing``
    (``z_y - mean_c z_c``; value and grad modes, with smoothing on), and ``"dcap"`` (a scalar,
    this shard's part), ``sum_i scale_i sum_c d loss_i / d z_c * d z_c / d cap`` with
    ``d z / d cap = tanh(u) - u (1 - tanh(u)**2)``, ``u = x / cap`` (gradient modes, with the
    cap on). ``d loss / d z_loss = lse**2`` needs only the ``lse`` output.
    """
    n, d = h.shape
    v = w.shape[0]
    cd = jnp.dtype(cfg.compute_dtype)
    od = jnp.promote_types(h.dtype, w.dtype)  # operand dtype of the matrix products
    w_op = w.astype(od)
    b_cd = None if b is None else b.astype(cd)
    eps = hyp[0] if cfg.smoothing else 0.0
    zl = hyp[1] if cfg.zloss else 0.0
    cap = hyp[2] if cfg.softcap else None
    want_deps = cfg.smoothing and cfg.hyper_grads and mode != "grad_lse"
    want_dcap = cfg.softcap and cfg.hyper_grads and mode != "value"
    inv_v = 1.0 / cfg.vocab
    vaxis = cfg.vocab_axis
    offset = 0 if vaxis is None else lax.axis_index(vaxis) * v
    if cw is not None:
        cw = cw.astype(cd)
        cw_total = jnp.sum(cw) if vaxis is None else lax.psum(jnp.sum(cw), vaxis)
    chunk = min(cfg.chunk_size or default_chunk_size(v), n)
    block = min(cfg.vocab_block_size or default_vocab_block_size(d), v)
    grads = mode != "value"
    dims_t = (((1,), (1,)), ((), ()))  # [t, D] x [v, D] -> [t, v]
    dims_0 = (((0,), (0,)), ((), ()))  # [t, vb] x [t, D] -> [vb, D]

    def logits(hh: Array) -> Array:
        x = lax.dot_general(hh.astype(od), w_op, dims_t, preferred_element_type=cd)
        return x if b_cd is None else x + b_cd

    def capped(x: Array) -> tuple[Array, Array | None]:
        if cap is None:
            return x, None
        t = jnp.tanh(x / cap)
        return cap * t, t

    def stats(x: Array, yy: Array) -> tuple[Array, Array, Array | None]:
        z, _ = capped(x)
        m = jnp.max(z, axis=1)
        if vaxis is not None:
            m = lax.pmax(m, vaxis)
        m = lax.stop_gradient(jnp.where(jnp.isfinite(m), m, 0))
        hit = lax.broadcasted_iota(jnp.int32, z.shape, 1) + offset == yy[:, None]
        ops = [jnp.exp(z - m[:, None]), jnp.where(hit, z, 0)]
        if cfg.smoothing:  # sum_c z_c, or sum_c cw_c z_c (a class of weight 0 left out)
            ops.append(z if cw is None else jnp.where(cw != 0, cw * z, 0))
        # One variadic reduction for the sum of exponentials, the label's logit and the sum
        # of the logits: a single read of the chunk's logits after the maximum.
        sums = lax.reduce(
            tuple(ops), tuple(jnp.zeros((), cd) for _ in ops),
            lambda a, c: tuple(x + y for x, y in zip(a, c, strict=True)), (1,),
        )
        if vaxis is not None:
            sums = lax.psum(sums, vaxis)
        lse = m + jnp.log(sums[0])
        if not cfg.smoothing:
            return lse, sums[1], None
        # A traced eps = 0 with a -inf logit: eps * sum_c z_c is the limit 0, not 0 * -inf
        # (and its derivative in eps is taken as 0 there, as lossjax.softmax_cross_entropy).
        zsum = jnp.where((eps == 0) & (sums[2] == -jnp.inf), 0, sums[2])
        return lse, sums[1], zsum

    def token_loss(lse: Array, zy: Array, zsum: Array | None, cy: Array | None) -> Array:
        if cw is not None:
            loss = (1.0 - eps) * (lse - zy)
            if cfg.zloss:
                loss = loss + zl * jnp.square(lse)
            return cy * loss + (eps * inv_v) * (cw_total * lse - zsum)
        if cfg.smoothing:
            loss = lse - (1.0 - eps) * zy - (eps * inv_v) * zsum
        else:
            loss = lse - zy
        if cfg.zloss:
            loss = loss + zl * jnp.square(lse)
        return loss

    def token_deps(lse: Array, zy: Array, zsum: Array, cy: Array | None) -> Array:
        """``d token_loss / d eps``."""
        if cw is not None:
            return inv_v * (cw_total * lse - zsum) - cy * (lse - zy)
        return zy - inv_v * zsum

    def dlogits(x: Array, col0: Any, yy: Array, lse: Array, ss: Array,
                cy: Array | None, cwb: Array | None) -> tuple[Array, Array | None]:
        """``(d(sum_i ss_i * loss_i) / dz, tanh(x / cap))`` for a block of logit columns
        starting at col0 (``cy``: the tokens' label weights and ``cwb`` the block's class
        weights, with ``cw`` only); ``d / dx`` is ``d / dz * (1 - tanh**2)``."""
        z, t = capped(x)
        p = jnp.exp(z - lse[:, None])
        hit = lax.broadcasted_iota(jnp.int32, z.shape, 1) + col0 == yy[:, None]
        if cw is not None:
            g = (1.0 - eps) * (p - jnp.where(hit, 1.0, 0.0))
            if cfg.zloss:
                g = g + (2.0 * zl * lse)[:, None] * p
            g = cy[:, None] * g + (eps * inv_v) * (cw_total * p - cwb[None, :])
        else:
            if cfg.zloss:
                p = p * (1.0 + 2.0 * zl * lse)[:, None]
            g = p - jnp.where(hit, 1.0 - eps, 0.0)
            if cfg.smoothing:
                g = g - eps * inv_v
        return g * ss[:, None], t

    def gradients(x, hh, yy, lse, ss, dw, db, cy, dcap):
        """Sweeps the vocabulary in blocks: each block's dlogits, formed from the logits at
        hand, goes at once into dh (accumulated), its rows of dW and its entries of db (and,
        with ``want_dcap``, into the derivative in the cap)."""
        hh_od = hh.astype(od)

        def block_step(j, c):
            # The last block is shifted back to end at v when block does not divide v; its
            # columns that an earlier block already covered are masked out of dlogits.
            dh, dw, db, dcap = c
            start = j * block if exact else jnp.minimum(j * block, v - block)
            cwb = None if cw is None else lax.dynamic_slice_in_dim(cw, start, block)
            xb = lax.dynamic_slice_in_dim(x, start, block, axis=1)
            g, t = dlogits(xb, offset + start, yy, lse, ss, cy, cwb)
            if want_dcap:
                # d z / d cap = tanh(u) - u (1 - tanh(u)**2), u = x / cap: 0 * u is 0 at an
                # infinite logit (a -inf bias), where z is the constant -cap.
                s = 1.0 - jnp.square(t)
                dz = t - jnp.where(jnp.isinf(xb), 0, xb / cap) * s
                dz = dz * g
                if not exact:
                    dz = jnp.where(fresh_cols(j, start), dz, 0)
                dcap = dcap + jnp.sum(dz)
            if t is not None:
                g = g * (1.0 - jnp.square(t))
            if not exact:
                g = jnp.where(fresh_cols(j, start), g, 0)
            g_od = g.astype(od)
            wb = lax.dynamic_slice_in_dim(w_op, start, block, axis=0)
            dh = dh + lax.dot_general(g_od, wb, (((1,), (0,)), ((), ())),
                                      preferred_element_type=cd)
            upd = lax.dot_general(g_od, hh_od, dims_0, preferred_element_type=cd)
            dw = lax.dynamic_update_slice_in_dim(
                dw, lax.dynamic_slice_in_dim(dw, start, block, axis=0) + upd, start, axis=0)
            if db is not None:
                db = lax.dynamic_update_slice_in_dim(
                    db, lax.dynamic_slice_in_dim(db, start, block) + jnp.sum(g, axis=0), start, 0)
            return dh, dw, db, dcap

        def fresh_cols(j, start):
            return lax.broadcasted_iota(jnp.int32, (1, block), 1) + start >= j * block

        exact = v % block == 0
        c = (jnp.zeros((hh.shape[0], d), cd), dw, db, dcap)
        blocks = -(-v // block)
        return block_step(0, c) if blocks == 1 else lax.fori_loop(0, blocks, block_step, c)

    def step(i, carry: dict[str, Array]) -> dict[str, Array]:
        # The last chunk is shifted back to end at n when chunk does not divide n; tokens an
        # earlier chunk already covered ("stale") are recomputed identically for the value,
        # and take no part in the gradient sums.
        start = i * chunk if exact else jnp.minimum(i * chunk, n - chunk)
        sl = lambda a: lax.dynamic_slice_in_dim(a, start, chunk)
        put = lambda a, u: lax.dynamic_update_slice_in_dim(a, u.astype(a.dtype), start, 0)
        hh = jnp.where(sl(kept)[:, None], sl(h), jnp.zeros((), h.dtype))
        yy = sl(labels)
        cy = None if cwy is None else sl(cwy).astype(cd)
        x = logits(hh)
        out = dict(carry)
        if mode == "grad_lse":
            lse = sl(lse_in)
        else:
            lse, zy, zsum = stats(x, yy)
            loss = token_loss(lse, zy, zsum, cy)
            out["loss"] = put(carry["loss"], loss)
            out["lse"] = put(carry["lse"], lse)
            if want_deps:
                out["deps"] = put(carry["deps"], token_deps(lse, zy, zsum, cy))
        if not grads:
            return out
        ss = sl(scale)
        if not exact:
            fresh = lax.iota(jnp.int32, chunk) + start >= i * chunk
            ss = jnp.where(fresh, ss, 0)
        if mode == "grad":
            out["total"] = carry["total"] + jnp.sum(jnp.where(ss != 0, ss * loss, 0))
        dh, out["dw"], db, dcap = gradients(x, hh, yy, lse, ss, carry["dw"], carry.get("db"),
                                            cy, carry.get("dcap"))
        if dcap is not None:
            out["dcap"] = dcap
        if vaxis is not None:
            dh = lax.psum(dh, vaxis)
        if not exact:
            dh = jnp.where(fresh[:, None], dh, sl(carry["dh"]))
        out["dh"] = put(carry["dh"], dh)
        if db is not None:
            out["db"] = db
        return out

    carry: dict[str, Array] = {}
    if mode != "grad_lse":
        carry["loss"] = jnp.zeros((n,), cd)
        carry["lse"] = jnp.zeros((n,), cd)
    if want_deps:
        carry["deps"] = jnp.zeros((n,), cd)
    if want_dcap:
        carry["dcap"] = jnp.zeros((), cd)
    if grads:
        carry["dh"] = jnp.zeros((n, d), h.dtype)
        carry["dw"] = jnp.zeros((v, d), cd)
        if b is not None:
            carry["db"] = jnp.zeros((v,), cd)
    if mode == "grad":
        carry["total"] = jnp.zeros((), cd)
    if n == 0:
        return carry
    exact = n % chunk == 0
    chunks = -(-n // chunk)
    return step(0, carry) if chunks == 1 else lax.fori_loop(0, chunks, step, carry)


# --------------------------------------------------------------------------------------------
# Running the kernel on one device or on a mesh


def _specs(cfg: _Config) -> dict[str, Any]:
    """Partition specs of the kernel's arrays on ``cfg.mesh``."""
    from jax.sharding import PartitionSpec as P

    tok = P(cfg.batch_axes or None)
    tok2 = P(cfg.batch_axes or None, None)
    voc = P(cfg.vocab_axis)
    voc2 = P(cfg.vocab_axis, None)
    return {"h": tok2, "w": voc2, "b": voc, "cw": voc, "cwy": tok, "labels": tok, "kept": tok,
            "scale": tok, "hyp": P(),
            "lse_in": tok, "loss": tok, "lse": tok, "dh": tok2, "dw": voc2, "db": voc,
            "total": P(), "deps": tok, "dcap": P()}


def _place(cfg: _Config, x: Array | None, spec: Any) -> Array | None:
    """Moves ``x`` to ``spec`` on ``cfg.mesh`` (a type change on explicit meshes)."""
    if x is None or cfg.mesh is None:
        return x
    sharding = jax.sharding.NamedSharding(cfg.mesh, spec)
    if _explicit_axes(cfg.mesh):
        return jax.sharding.reshard(x, sharding)
    return lax.with_sharding_constraint(x, sharding)


def _run(cfg: _Config, mode: str, hyp, h, w, b, labels, kept, scale=None, lse_in=None,
         cw=None, cwy=None):
    """Runs :func:`_kernel` directly, or under ``shard_map`` when ``cfg.mesh`` is set.

    On a mesh, the per-token arrays are split over ``cfg.batch_axes`` and the vocabulary rows
    over ``cfg.vocab_axis``; the weight and bias gradients are summed over the batch axes
    (data parallelism) and the total too. Gradients come back in the inputs' dtypes.
    """

    def finish(out: dict[str, Array]) -> dict[str, Array]:
        if "dcap" in out and cfg.vocab_axis is not None:  # each shard's vocabulary columns
            out["dcap"] = lax.psum(out["dcap"], cfg.vocab_axis)
        if cfg.batch_axes:
            for k in ("dw", "db", "total", "dcap"):
                if k in out:
                    out[k] = lax.psum(out[k], cfg.batch_axes)
        if "dw" in out:
            out["dw"] = out["dw"].astype(w.dtype)
        if "db" in out:
            out["db"] = out["db"].astype(b.dtype)
        return out

    args = {"hyp": hyp, "h": h, "w": w, "b": b, "labels": labels, "kept": kept,
            "scale": scale, "lse_in": lse_in, "cw": cw, "cwy": cwy}
    args = {k: a for k, a in args.items() if a is not None}

    def local(a: dict[str, Array]) -> dict[str, Array]:
        return finish(_kernel(cfg, mode, a["hyp"], a["h"], a["w"], a.get("b"), a["labels"],
                              a["kept"], a.get("scale"), a.get("lse_in"), a.get("cw"),
                              a.get("cwy")))

    if cfg.mesh is None:
        return local(args)

    spec_of = _specs(cfg)
    out_keys = []
    if mode != "grad_lse":
        out_keys += ["loss", "lse"]
    if mode != "value":
        out_keys += ["dh", "dw"] + (["db"] if b is not None else [])
    if mode == "grad":
        out_keys.append("total")
    if cfg.hyper_grads and cfg.smoothing and mode != "grad_lse":
        out_keys.append("deps")
    if cfg.hyper_grads and cfg.softcap and mode != "value":
        out_keys.append("dcap")
    args = {k: _place(cfg, a, spec_of[k]) for k, a in args.items()}
    fn = jax.shard_map(
        local,
        mesh=cfg.mesh,
        in_specs=({k: spec_of[k] for k in args},),
        out_specs={k: spec_of[k] for k in out_keys},
        check_vma=False,
    )
    return fn(args)


# --------------------------------------------------------------------------------------------
# Differentiation


def _primal(x: Any) -> tuple[Any, bool]:
    """``(value, perturbed)`` of a ``custom_vjp`` argument under ``symbolic_zeros=True``."""
    if isinstance(x, jax.custom_derivatives.CustomVJPPrimal):
        return x.value, bool(x.perturbed)
    return x, False


def _primals(args: tuple) -> tuple[list[Any], bool]:
    """The values of ``(hyp, *rest)`` and whether ``hyp`` is being differentiated."""
    values = [_primal(a)[0] for a in args]
    return values, _primal(args[0])[1]


def _dense(ct: Any, shape: tuple[int, ...], dtype: Any) -> Array:
    """A cotangent as an array (a symbolic zero as zeros)."""
    if isinstance(ct, jax.custom_derivatives.SymbolicZero):
        return jnp.zeros(shape, dtype)
    return ct


def _hyper_grads(cfg: _Config, hyp: Array, ss: Array, out: dict[str, Array],
                 cwy: Array | None) -> Array:
    """``d(sum_i ss_i * loss_i) / d hyp`` [3] from the kernel's outputs (zeros where a term is
    off): ``sum ss * deps``, ``sum ss * w_y * lse**2`` and the sweep's ``dcap``."""
    zero = jnp.zeros((), hyp.dtype)
    keep = ss != 0  # as the total: a dropped token's value never reaches the sums
    d_eps = d_zl = d_cap = zero
    if cfg.smoothing:
        d_eps = jnp.sum(jnp.where(keep, ss * out["deps"], 0))
    if cfg.zloss:
        lse2 = jnp.square(out["lse"])
        if cwy is not None:  # the label's class weight is inside the loss on this path
            lse2 = lse2 * cwy
        d_zl = jnp.sum(jnp.where(keep, ss * lse2, 0))
    if cfg.softcap:
        d_cap = out["dcap"]
    return jnp.stack([d_eps, d_zl, d_cap]).astype(hyp.dtype)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _fused_total(cfg: _Config, hyp, h, w, b, labels, kept, scale, cw=None, cwy=None):
    """``(sum_i scale_i * loss_i, lse)``; differentiated by the gradient-in-forward sweep.

    ``hyp`` (see :func:`_kernel`) is differentiated when the caller differentiates it: the
    forward sweep then also forms the derivatives in the hyperparameters. ``cw``/``cwy``
    (label smoothing with class weights, see :func:`_kernel`) are not differentiated.
    """
    out = _run(cfg, "value", hyp, h, w, b, labels, kept, cw=cw, cwy=cwy)
    total = jnp.sum(jnp.where(scale != 0, scale * out["loss"], 0))
    return total, out["lse"]


def _fused_total_fwd(cfg, *args):
    (hyp, h, w, b, labels, kept, scale, cw, cwy), hyper = _primals(args)
    run_cfg = dataclasses.replace(cfg, hyper_grads=hyper)
    out = _run(run_cfg, "grad", hyp, h, w, b, labels, kept, scale, cw=cw, cwy=cwy)
    dhyp = _hyper_grads(run_cfg, hyp, scale, out, cwy) if hyper else None
    res = (dhyp, out["dh"], out["dw"], out.get("db"), out["loss"], kept)
    return (out["total"], out["lse"]), res


def _fused_total_bwd(cfg, res, cts):
    dhyp, dh, dw, db, loss, kept = res
    g = _dense(cts[0], (), loss.dtype)  # lse is returned without gradient (stop_gradient)
    scale_ct = jnp.where(kept, g * loss, 0).astype(loss.dtype)
    return (
        None if dhyp is None else (g * dhyp).astype(dhyp.dtype),
        (g * dh).astype(dh.dtype),
        (g * dw).astype(dw.dtype),
        None if db is None else (g * db).astype(db.dtype),
        None,
        None,
        scale_ct,
        None,
        None,
    )


_fused_total.defvjp(_fused_total_fwd, _fused_total_bwd, symbolic_zeros=True)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _token_losses(cfg: _Config, hyp, h, w, b, labels, kept, cw=None, cwy=None):
    """Per-token ``(loss, lse)``; differentiated by a second, recomputing sweep."""
    out = _run(cfg, "value", hyp, h, w, b, labels, kept, cw=cw, cwy=cwy)
    return out["loss"], out["lse"]


def _token_losses_fwd(cfg, *args):
    (hyp, h, w, b, labels, kept, cw, cwy), hyper = _primals(args)
    out = _run(dataclasses.replace(cfg, hyper_grads=hyper), "value", hyp, h, w, b, labels, kept,
               cw=cw, cwy=cwy)
    # whether hyp is differentiated, as the residuals' structure: () yes, None no
    res = (hyp, () if hyper else None, h, w, b, labels, kept, out["lse"], out.get("deps"), cw,
           cwy)
    return (out["loss"], out["lse"]), res


def _token_losses_bwd(cfg, res, cts):
    hyp, hyper, h, w, b, labels, kept, lse, deps, cw, cwy = res
    hyper = hyper is not None
    g = jnp.where(kept, _dense(cts[0], lse.shape, lse.dtype), 0).astype(lse.dtype)
    run_cfg = dataclasses.replace(cfg, hyper_grads=hyper)
    out = _run(run_cfg, "grad_lse", hyp, h, w, b, labels, kept, g, lse, cw=cw, cwy=cwy)
    dhyp = None
    if hyper:
        dhyp = _hyper_grads(run_cfg, hyp, g, {**out, "lse": lse, "deps": deps}, cwy)
    return dhyp, out["dh"], out["dw"], out.get("db"), None, None, None, None


_token_losses.defvjp(_token_losses_fwd, _token_losses_bwd, symbolic_zeros=True)


# --------------------------------------------------------------------------------------------
# The contract around the kernel


def _explicit_axes(mesh: Any) -> tuple[str, ...]:
    return tuple(getattr(mesh, "explicit_axes", ()) or ())


def _replicated(x: Array, mesh: Any) -> Array:
    from jax.sharding import NamedSharding, PartitionSpec

    return jax.sharding.reshard(x, NamedSharding(mesh, PartitionSpec()))


def _spec_axes(entry: Any) -> tuple[str, ...]:
    if entry is None:
        return ()
    return (entry,) if isinstance(entry, str) else tuple(entry)


def _explicit_layout(h2: Array, w: Array) -> tuple[Any, tuple[str, ...], str | None]:
    """``(mesh, batch_axes, vocab_axis)`` read off explicitly sharded inputs, else ``None``s.

    Under a mesh with ``AxisType.Explicit`` axes the shardings are part of the arrays' types:
    tokens split over some axes and weight rows over one axis select the data- and
    vocabulary-parallel kernel of :mod:`lossjax.sharding`, so that a plain ``jit`` of
    :func:`linear_cross_entropy` on such inputs works (and runs per device).
    """
    try:
        hs, ws = jax.typeof(h2).sharding, jax.typeof(w).sharding
    except (AttributeError, TypeError):  # pragma: no cover - older jax
        return None, (), None
    mesh = hs.mesh if _explicit_axes(hs.mesh) else ws.mesh
    explicit = set(_explicit_axes(mesh))
    if not explicit:
        return None, (), None
    batch = tuple(a for a in _spec_axes(hs.spec[0] if len(hs.spec) else None) if a in explicit)
    vocab = [a for a in _spec_axes(ws.spec[0] if len(ws.spec) else None) if a in explicit]
    vaxis = vocab[0] if len(vocab) == 1 and vocab[0] not in batch else None
    if not batch and vaxis is None:
        return None, (), None
    return mesh, batch, vaxis


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


def linear_ce(
    loss_name: str,
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    bias: ArrayLike | None,
    ignore_index: int | None,
    label_smoothing: Any,
    z_loss: Any,
    logit_softcap: Any,
    class_weights: ArrayLike | None,
    chunk_size: int | None,
    vocab_block_size: int | None,
    weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: str,
    mesh: Any = None,
    batch_axes: tuple[str, ...] = (),
    vocab_axis: str | None = None,
) -> tuple[Array, Array]:
    """Checks the inputs, runs the kernel, applies the contract; returns ``(loss, lse)``.

    ``label_smoothing``, ``z_loss`` and ``logit_softcap`` may be Python numbers, arrays,
    tracers or :class:`lossjax._core.Specialized`: a term is compiled out only where Python
    knows it is off (smoothing or z-loss 0, the cap None); otherwise its coefficient is a
    traced operand of the kernel, and differentiable.
    """
    _core.check_reduction(reduction, loss_name)
    h = _core.float_input("hidden", hidden, loss_name)
    w = _core.float_input("weight", weight, loss_name)
    y = _core.integer_input("labels", labels, loss_name)
    if h.ndim < 1:
        raise ValueError(f"{loss_name}: `hidden` must have a feature axis [..., D]; got a scalar.")
    if w.ndim != 2:
        raise ValueError(f"{loss_name}: `weight` must have shape [V, D]; got {tuple(w.shape)}.")
    vocab, width = w.shape
    if width != h.shape[-1]:
        raise ValueError(
            f"{loss_name}: `weight` must have shape [V, {h.shape[-1]}] (D = hidden.shape[-1]); "
            f"got {tuple(w.shape)}."
        )
    if vocab == 0:
        raise ValueError(f"{loss_name}: `weight` needs at least one vocabulary row.")
    _core.check_shape("labels", y, h.shape[:-1], loss_name, "hidden.shape[:-1]")
    b = None
    if bias is not None:
        b = _core.float_input("bias", bias, loss_name)
        _core.check_shape("bias", b, (vocab,), loss_name, "one bias per vocabulary row")
    chunk = _static_int("chunk_size", chunk_size, loss_name)
    block = _static_int("vocab_block_size", vocab_block_size, loss_name)
    cd = _core.compute_dtype(h, w, b)
    smoothing = not _core.is_known(label_smoothing, 0.0)
    zloss = not _core.is_known(z_loss, 0.0)
    softcap = _core.hyper_value(logit_softcap) is not None
    hyp = jnp.stack([
        _hyper_operand("label_smoothing", label_smoothing, smoothing, cd, loss_name),
        _hyper_operand("z_loss", z_loss, zloss, cd, loss_name),
        _hyper_operand("logit_softcap", logit_softcap, softcap, cd, loss_name),
    ])
    unit = y.shape
    mask = _core.prepare_where(where, unit, loss_name)
    wts = _core.prepare_weights(weights, unit, cd, loss_name)
    if ignore_index is not None:
        mask = _core.and_masks(mask, y != ignore_index)
    invalid = (y < 0) | (y >= vocab)
    if mask is not None:
        invalid = invalid & mask
    safe_y = jnp.where(invalid, 0, y)
    safe_y = _core.mask_safe(mask, safe_y, 0).astype(jnp.int32)
    cw = cwy = None
    if class_weights is not None:
        cw = _core.numeric_input("class_weights", class_weights, loss_name).astype(cd)
        _core.check_shape("class_weights", cw, (vocab,), loss_name, "one weight per class")
        if smoothing:
            # PyTorch's definition (lossjax.multiclass): each class's smoothing term has its
            # own weight, inside the kernel; the label's weight counts in the mean's
            # denominator. The class weights are not differentiated on this path.
            cw = lax.stop_gradient(cw)
            cwy = cw[safe_y]
        else:
            wts = _core.mul_weights(wts, cw[safe_y])
            cw = None

    n = int(np.prod(unit, dtype=np.int64))
    h2 = h.reshape(n, width)
    if mesh is None:  # explicitly sharded inputs run the sharded kernel by themselves
        mesh, batch_axes, vocab_axis = _explicit_layout(h2, w)
    cfg = _Config(
        vocab=int(vocab), compute_dtype=cd.name, smoothing=smoothing, zloss=zloss,
        softcap=softcap, chunk_size=chunk, vocab_block_size=block, mesh=mesh,
        batch_axes=tuple(batch_axes), vocab_axis=vocab_axis,
    )
    y2 = safe_y.reshape(n)
    kept = (jnp.ones(unit, bool) if mask is None else mask).reshape(n)
    inv2 = invalid.reshape(n)
    cwy2 = None if cwy is None else cwy.reshape(n)
    # On a mesh the token count must split evenly over the batch shards: pad with dropped
    # tokens (hidden 0, label 0, kept False) and cut the per-token outputs back to n.
    shards = 1 if mesh is None else int(np.prod([mesh.shape[a] for a in cfg.batch_axes]))
    pad = -n % shards
    explicit = mesh is not None and bool(_explicit_axes(mesh))
    if pad and explicit:  # padding an explicitly sharded axis is a type error: replicate first
        h2, y2, kept, inv2 = (_replicated(a, mesh) for a in (h2, y2, kept, inv2))
        cwy2 = None if cwy2 is None else _replicated(cwy2, mesh)
    if pad:
        h2 = jnp.pad(h2, ((0, pad), (0, 0)))
        y2, kept, inv2 = (jnp.pad(a, (0, pad)) for a in (y2, kept, inv2))
        cwy2 = None if cwy2 is None else jnp.pad(cwy2, (0, pad))

    def cut(a: Array) -> Array:
        if not pad:
            return a
        return (_replicated(a, mesh) if explicit else a)[:n]

    sp = _specs(cfg)
    hyp, h2, w, b, y2, kept, cw, cwy2 = (
        _place(cfg, a, sp[k]) for a, k in ((hyp, "hyp"), (h2, "h"), (w, "w"), (b, "b"),
                                           (y2, "labels"), (kept, "kept"), (cw, "cw"),
                                           (cwy2, "cwy")))
    if reduction == "none":
        loss, lse = _token_losses(cfg, hyp, h2, w, b, y2, kept, cw, cwy2)
        loss, lse, kept, inv2 = cut(loss), cut(lse), cut(kept), cut(inv2)
        loss = jnp.where(inv2, jnp.nan, loss).reshape(unit)
        loss = _core.reduce(loss, weights=wts, where=mask, reduction="none",
                            loss_name=loss_name)
    else:
        wfull = jnp.ones(unit, cd) if wts is None else jnp.broadcast_to(wts, unit)
        keep = jnp.ones(unit, bool) if mask is None else mask
        if reduction == "mean":
            # the label's class weight counts in the denominator (it is in wfull otherwise)
            wden = wfull if cwy is None else wfull * cwy
            den = jnp.sum(jnp.where(keep, wden, 0))
            wfull = _core.safe_divide(wfull, den)
        scale = jnp.where(keep & ~invalid, wfull, 0).reshape(n)
        if pad:
            scale = jnp.pad(scale, (0, pad))
        scale = _place(cfg, scale, sp["scale"])
        loss, lse = _fused_total(cfg, hyp, h2, w, b, y2, kept, scale, cw, cwy2)
        loss = loss + jnp.where(jnp.any(invalid), jnp.nan, 0.0)  # NaN value, gradients kept
        lse, kept = cut(lse), cut(kept)
    lse = lax.stop_gradient(jnp.where(kept, lse, 0).reshape(unit))
    return loss, lse


# --------------------------------------------------------------------------------------------
# Registration


def _sample(key: jax.Array, batch: tuple[int, ...], dtype: Any = jnp.float32):
    """Hidden states ``[*batch, 8]``, a ``[13, 8]`` weight and labels; chunks of 4 tokens and
    vocabulary blocks of 5 rows, so that both loops and both remainders run."""
    k1, k2, k3 = jax.random.split(key, 3)
    h = jax.random.normal(k1, (*batch, 8), jnp.float32).astype(dtype)
    w = (0.7 * jax.random.normal(k2, (13, 8), jnp.float32)).astype(dtype)
    y = jax.random.randint(k3, tuple(batch), 0, 13)
    return (h, w, y), {"chunk_size": 4, "vocab_block_size": 5}


def _boundary(dtype: Any):
    a = lambda x: jnp.asarray(x, dtype)
    big = 1e2  # hidden * weight = 1e4 per feature: logits about 4e4, far past exp's range
    eye = np.eye(4, dtype=np.float32)
    w = a(np.concatenate([eye, -eye, np.zeros((1, 4), np.float32)]))  # V = 9, D = 4
    h = np.array([[big, 0, 0, 0], [0, -big, 0, 0], [0, 0, 0, 0]], np.float32)
    y = jnp.array([0, 5, 8])
    ninf_bias = a([0, -np.inf, 0, -np.inf, 0, 0, 0, 0, 0])
    bad = np.array([[np.inf, np.nan, 0, 0], [0, 0, 0, 0], [1, 2, 3, 4]], np.float32)
    return [
        ("huge logits, right and wrong", (a(h), w, y), {}),
        ("huge logits, smoothed", (a(h), w, y), {"label_smoothing": 0.1}),
        ("huge logits, z-loss", (a(h), w, y), {"z_loss": 1e-4}),
        ("huge logits, soft-capped", (a(h), w, y), {"logit_softcap": 30.0}),
        ("-inf bias off the label", (a(h), w, y), {"bias": ninf_bias}),
        ("inf/nan hidden dropped by where", (a(bad), w, y),
         {"where": jnp.array([False, True, True])}),
        ("inf/nan hidden at ignore_index", (a(bad), w, jnp.array([-100, 1, 2])), {}),
        ("every token ignored", (a(h), w, jnp.array([-100, -100, -100])), {}),
    ]


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

_REFERENCE = (
    "Cross-entropy of a linear output layer; chunked without logits as in Wijmans et al., "
    "Cut Your Losses in Large-Vocabulary Language Models (2024); z-loss: Chowdhery et al., "
    "PaLM (2022); logit soft-capping: Gemma Team, Gemma 2 (2024)"
)


@_builtin(
    task="multiclass",
    predictions="hidden",
    targets="labels",
    granularity="example",
    units=("token", "``labels.shape``"),
    bounded=False,
    convex=True,
    hyper=_HYPERS,
    sample=_sample,
    boundary=_boundary,
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
    reduction: str = "mean",
) -> Array:
    """Cross-entropy of a linear layer's logits, ``hidden @ weight.T + bias``, never built.

    With ``x = hidden @ weight.T + bias`` (``[..., V]``), ``z = c * tanh(x / c)`` when
    ``logit_softcap = c`` (else ``z = x``) and ``lse = logsumexp(z)``, the loss of a token
    with label ``y`` is ``lse - (1 - eps) * z_y - eps * mean_c z_c + z_loss * lse**2``: the
    softmax cross-entropy of :func:`lossjax.softmax_cross_entropy` on ``z`` (same
    ``ignore_index``, ``label_smoothing`` and ``class_weights`` semantics) plus the z-loss.
    The ``[..., V]`` logits are never materialised, forward or backward: the tokens are
    processed in chunks of ``chunk_size``, and the gradients of the mean or sum are formed
    in the same sweep as the value (see the module docstring).

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
      label_smoothing: ``eps`` in ``[0, 1)``; traced (a schedule or a sweep reuses the
        compiled program; ``vmap`` and ``grad`` apply), a Python 0 compiles the plain path.
      z_loss: coefficient of ``lse**2`` (PaLM uses 1e-4); traced, a Python 0 compiles the
        path without it.
      logit_softcap: ``c > 0`` caps logits at ``c * tanh(x / c)`` (Gemma 2 uses 30); traced,
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
    loss, _ = linear_ce(
        NAME, hidden, weight, labels, bias=bias, ignore_index=ignore_index,
        label_smoothing=label_smoothing, z_loss=z_loss, logit_softcap=logit_softcap,
        class_weights=class_weights, chunk_size=chunk_size, vocab_block_size=vocab_block_size,
        weights=weights, where=where, reduction=reduction,
    )
    return loss


_STATIC = ("reduction", "ignore_index", "chunk_size", "vocab_block_size")


def _specialized(spec: Any, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` as a jitted body receives it: fast Python values made structure."""
    return {k: spec.hyperparameters[k].specialize(v) for k, v in given.items()}


@functools.partial(jax.jit, static_argnames=_STATIC)
def _with_lse_jit(hidden, weight, labels, **kwargs):
    return linear_ce(NAME, hidden, weight, labels, **kwargs)


def linear_cross_entropy_with_lse(
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
    reduction: str = "mean",
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
    spec = _REGISTRY_SPEC()
    given = dict(bias=bias, ignore_index=ignore_index, label_smoothing=label_smoothing,
                 z_loss=z_loss, logit_softcap=logit_softcap, class_weights=class_weights,
                 chunk_size=chunk_size, vocab_block_size=vocab_block_size)
    for k, value in given.items():
        spec.hyperparameters[k].check(k, value, "linear_cross_entropy_with_lse")
    _core.check_reduction(reduction, "linear_cross_entropy_with_lse")
    return _with_lse_jit(hidden, weight, labels, weights=weights, where=where,
                         reduction=reduction, **_specialized(spec, given))


def _REGISTRY_SPEC():
    from lossjax import registry

    return registry.spec(NAME)
