"""Running a sweep on one device or on a mesh; the layout of sharded inputs.

On a mesh (``KernelConfig.mesh``) a sweep of :mod:`lossjax.linear_ce.chunked` runs per
device under :func:`jax.shard_map`: the per-token arrays split over ``batch_axes`` (data
parallel), the vocabulary rows over ``vocab_axis`` (vocabulary parallel, with the
collectives inside the sweep). :func:`run_sweep` sums the weight and bias gradients over the
batch shards at the end. :func:`explicit_layout` reads such a layout off inputs whose types
carry an ``Explicit`` mesh; :func:`pad_tokens` pads the token count to a multiple of the
batch shards.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import numpy as np
from jax import lax

from lossjax._core import Array
from lossjax.linear_ce.base import KernelConfig, Operands
from lossjax.linear_ce.chunked import Sweep, SweepOutput, output_fields, sweep


def explicit_axes(mesh: Any) -> tuple[str, ...]:
    """The mesh axes of type ``Explicit``."""
    return tuple(getattr(mesh, "explicit_axes", ()) or ())


def replicated(x: Array, mesh: Any) -> Array:
    """``x`` resharded to every device of ``mesh`` (a type change on explicit meshes)."""
    from jax.sharding import NamedSharding, PartitionSpec

    return jax.sharding.reshard(x, NamedSharding(mesh, PartitionSpec()))


def _spec_axes(entry: Any) -> tuple[str, ...]:
    if entry is None:
        return ()
    return (entry,) if isinstance(entry, str) else tuple(entry)


def explicit_layout(hidden: Array, weight: Array) -> tuple[Any, tuple[str, ...], str | None]:
    """``(mesh, batch_axes, vocab_axis)`` read off explicitly sharded inputs, else ``None``s.

    Under a mesh with ``AxisType.Explicit`` axes the shardings are part of the arrays' types:
    tokens (``hidden`` [n, D]) split over some axes and ``weight`` rows over one axis select
    the data- and vocabulary-parallel kernel of :mod:`lossjax.sharding`, so that a plain
    ``jit`` of :func:`lossjax.linear_cross_entropy` on such inputs works (and runs per device).
    """
    try:
        hs, ws = jax.typeof(hidden).sharding, jax.typeof(weight).sharding
    except (AttributeError, TypeError):  # pragma: no cover - older jax
        return None, (), None
    mesh = hs.mesh if explicit_axes(hs.mesh) else ws.mesh
    explicit = set(explicit_axes(mesh))
    if not explicit:
        return None, (), None
    batch = tuple(a for a in _spec_axes(hs.spec[0] if len(hs.spec) else None) if a in explicit)
    vocab = [a for a in _spec_axes(ws.spec[0] if len(ws.spec) else None) if a in explicit]
    vaxis = vocab[0] if len(vocab) == 1 and vocab[0] not in batch else None
    if not batch and vaxis is None:
        return None, (), None
    return mesh, batch, vaxis


class _Specs(NamedTuple):
    token: Any  # [n]
    token_rows: Any  # [n, D]
    vocab: Any  # [v]
    vocab_rows: Any  # [v, D]
    scalar: Any


def _specs(config: KernelConfig) -> _Specs:
    from jax.sharding import PartitionSpec as P

    batch = config.batch_axes or None
    return _Specs(P(batch), P(batch, None), P(config.vocab_axis), P(config.vocab_axis, None),
                  P())


def _operand_specs(config: KernelConfig) -> Operands:
    sp = _specs(config)
    return Operands(hyper=sp.scalar, hidden=sp.token_rows, weight=sp.vocab_rows, bias=sp.vocab,
                    labels=sp.token, kept=sp.token, class_weights=sp.vocab,
                    label_weights=sp.token)


def _output_specs(config: KernelConfig) -> SweepOutput:
    sp = _specs(config)
    return SweepOutput(loss=sp.token, lse=sp.token, dloss_dsmoothing=sp.token,
                       dtotal_dcap=sp.scalar, dhidden=sp.token_rows, dweight=sp.vocab_rows,
                       dbias=sp.vocab, total=sp.scalar)


def place(config: KernelConfig, x: Array | None, spec: Any) -> Array | None:
    """Moves ``x`` to ``spec`` on ``config.mesh`` (a type change on explicit meshes)."""
    if x is None or config.mesh is None:
        return x
    sharding = jax.sharding.NamedSharding(config.mesh, spec)
    if explicit_axes(config.mesh):
        return jax.sharding.reshard(x, sharding)
    return lax.with_sharding_constraint(x, sharding)


def place_operands(config: KernelConfig, ops: Operands) -> Operands:
    """Each operand on its partition of ``config.mesh`` (unchanged off a mesh)."""
    return Operands._make(place(config, a, s)
                          for a, s in zip(ops, _operand_specs(config), strict=True))


def place_tokens(config: KernelConfig, x: Array) -> Array:
    """A per-token ``[n]`` array on the batch partition of ``config.mesh``."""
    out = place(config, x, _specs(config).token)
    assert out is not None
    return out


def _combine_shards(config: KernelConfig, out: SweepOutput, ops: Operands) -> SweepOutput:
    """Sums over the shards what each shard computed for its own columns or tokens, and
    casts the parameter gradients to the parameters' dtypes."""
    if out.dtotal_dcap is not None and config.vocab_axis is not None:
        out = out._replace(dtotal_dcap=lax.psum(out.dtotal_dcap, config.vocab_axis))
    if config.batch_axes:
        summed = {f: lax.psum(getattr(out, f), config.batch_axes)
                  for f in ("dweight", "dbias", "total", "dtotal_dcap")
                  if getattr(out, f) is not None}
        out = out._replace(**summed)
    if out.dweight is not None:
        out = out._replace(dweight=out.dweight.astype(ops.weight.dtype))
    if out.dbias is not None:
        assert ops.bias is not None
        out = out._replace(dbias=out.dbias.astype(ops.bias.dtype))
    return out


def run_sweep(config: KernelConfig, kind: Sweep, ops: Operands, scale: Array | None = None,
              lse: Array | None = None) -> SweepOutput:
    """Runs :func:`lossjax.linear_ce.chunked.sweep` directly, or per device under
    ``shard_map`` when ``config.mesh`` is set. Gradients come back in the inputs' dtypes."""

    def local(ops: Operands, scale: Array | None, lse: Array | None) -> SweepOutput:
        return _combine_shards(config, sweep(config, kind, ops, scale, lse), ops)

    if config.mesh is None:
        return local(ops, scale, lse)
    sp = _specs(config)
    fields = output_fields(config, kind, ops.bias is not None)
    outputs = _output_specs(config)
    out_specs = SweepOutput(**{f: getattr(outputs, f) for f in fields})
    in_specs = Operands._make(None if a is None else s
                              for a, s in zip(ops, _operand_specs(config), strict=True))
    fn = jax.shard_map(
        local,
        mesh=config.mesh,
        in_specs=(in_specs, None if scale is None else sp.token, None if lse is None else sp.token),
        out_specs=out_specs,
        check_vma=False,
    )
    return fn(place_operands(config, ops), place(config, scale, sp.token),
              place(config, lse, sp.token))


def batch_shards(config: KernelConfig) -> int:
    """Number of token shards (1 off a mesh)."""
    if config.mesh is None:
        return 1
    return int(np.prod([config.mesh.shape[a] for a in config.batch_axes]))


def pad_tokens(config: KernelConfig, arrays: list[Any]) -> tuple[list[Any], int]:
    """Pads per-token arrays (``[n, ...]``, None passed through) to a multiple of the batch
    shards with dropped tokens (zeros / False); returns them and the padding.

    On an explicitly sharded axis padding is a type error: the arrays are replicated first.
    """
    n = next(a for a in arrays if a is not None).shape[0]
    pad = -n % batch_shards(config)
    if not pad:
        return arrays, 0
    explicit = bool(explicit_axes(config.mesh))
    out = []
    for a in arrays:
        if a is not None:
            if explicit:
                a = replicated(a, config.mesh)
            a = jax.numpy.pad(a, ((0, pad),) + ((0, 0),) * (a.ndim - 1))
        out.append(a)
    return out, pad


def unpad_tokens(config: KernelConfig, x: Array, n: int) -> Array:
    """The first ``n`` tokens of a padded per-token array."""
    if x.shape[0] == n:
        return x
    if explicit_axes(config.mesh):
        x = replicated(x, config.mesh)
    return x[:n]
