"""Losses on a device mesh, with JAX's own machinery (``Mesh``, ``NamedSharding``, ``shard_map``).

Two ways to run a loss on many devices:

* **Any registered loss, batch-sharded, under** ``jit``: place the batch (the leading axis of
  the predictions and targets, or of ``weights`` / ``where``) with a ``NamedSharding`` (see
  :func:`shard_batch`) and call the loss inside ``jax.jit``. XLA's partitioner splits the
  per-example work and inserts the all-reduce of a ``"sum"`` or ``"mean"``; the result equals
  the single-device one up to the order of the final sum. Nothing here is needed for that.
* **Linear cross-entropy for large vocabularies**: :func:`sharded_linear_cross_entropy` runs
  the chunked kernel of :mod:`lossjax.linear_ce` per device under :func:`jax.shard_map`:

  - *data parallel* (``batch_axis``): each device takes its own tokens; the weight (and bias)
    gradient is all-reduced over the batch axes once, at the end, as in DDP.
  - *vocabulary parallel* (``vocab_axis``): each device holds ``V / k`` rows of the weight;
    per token chunk the devices combine their row maxima (``pmax``), sums of exponentials,
    label logits and logit sums (``psum``) into the exact log-sum-exp, and the hidden-state
    gradient (``psum``), while each keeps the gradient of its own weight rows. The full
    weight is never gathered.

  Both can be combined (a 2-D mesh ``("data", "model")``). The gradients are those of the
  single-device :func:`lossjax.linear_cross_entropy` (tested on 8 virtual CPU devices).

Multi-host: create the mesh over ``jax.devices()`` after ``jax.distributed.initialize()``; build
the global token batch with ``jax.make_array_from_process_local_data`` and the same
``NamedSharding``. The functions here only use global arrays and collectives, so the code is
the same on one host and many (see the README).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Unpack

import jax
import jax.numpy as jnp
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from lossjax._core import Array, ArrayLike, Reduction
from lossjax.linear_ce import api as linear_ce_api

AxisNames = str | Sequence[str] | None


def _axes(axis: AxisNames, mesh: Mesh, name: str, fn: str) -> tuple[str, ...]:
    if axis is None:
        return ()
    axes = (axis,) if isinstance(axis, str) else tuple(axis)
    for a in axes:
        if a not in mesh.axis_names:
            raise ValueError(
                f"{fn}: `{name}`={a!r} is not an axis of the mesh {tuple(mesh.axis_names)}."
            )
    return axes


def batch_sharding(mesh: Mesh, ndim: int, batch_axis: AxisNames = "data") -> NamedSharding:
    """``NamedSharding`` that splits the leading axis of an ``ndim``-array over ``batch_axis``.

    Example:
      >>> import jax, lossjax.sharding as ls
      >>> mesh = jax.make_mesh((1,), ("data",))
      >>> ls.batch_sharding(mesh, 2).spec
      P('data', None)
    """
    if ndim < 1:
        return NamedSharding(mesh, P())
    return NamedSharding(mesh, P(batch_axis, *([None] * (ndim - 1))))


def vocab_sharding(mesh: Mesh, vocab_axis: str = "model") -> NamedSharding:
    """``NamedSharding`` for a ``[V, D]`` output-layer weight split along ``V``."""
    return NamedSharding(mesh, P(vocab_axis, None))


def shard_batch(tree: Any, mesh: Mesh, batch_axis: AxisNames = "data") -> Any:
    """Places every array of ``tree`` on ``mesh`` split along its leading (batch) axis.

    Scalars are replicated. The leading axis must be divisible by the size of the batch axes.
    """

    def put(x):
        x = jnp.asarray(x)
        return jax.device_put(x, batch_sharding(mesh, x.ndim, batch_axis))

    return jax.tree.map(put, tree)


def replicate(tree: Any, mesh: Mesh) -> Any:
    """Places every array of ``tree`` on every device of ``mesh``."""
    return jax.tree.map(lambda x: jax.device_put(x, NamedSharding(mesh, P())), tree)


def _explicitly_sharded(x: Any) -> bool:
    """Whether ``x``'s type carries a mesh with ``Explicit`` axes."""
    try:
        return bool(jax.typeof(x).sharding.mesh.explicit_axes)
    except (AttributeError, TypeError):  # a Python number, a NumPy array, ...
        return False


def _kernel_mesh(mesh: Mesh, *arrays: Any) -> Mesh:
    """The mesh to run the kernel on: ``mesh``, or its ``Auto`` twin where nothing is explicit.

    With ``Explicit`` axes (``jax.make_mesh``'s default) the loss's output type carries the
    mesh, so a caller who differentiates outside ``jit`` and outside ``jax.set_mesh`` would
    get JAX's "enter your jit into a mesh context" error from the cotangent of the scalar
    loss, although neither the inputs nor the context asked for explicit sharding. When no
    mesh is set as context and no input is explicitly sharded, the kernel therefore runs on
    the same devices and axis names with ``Auto`` axes: same layout, same collectives, an
    output typed like the inputs. Otherwise the caller's mesh is used as given.
    """
    if not mesh.explicit_axes or not jax.sharding.get_abstract_mesh().empty:
        return mesh
    if any(_explicitly_sharded(x) for x in arrays):
        return mesh
    auto = (jax.sharding.AxisType.Auto,) * len(mesh.axis_names)
    return Mesh(mesh.devices, mesh.axis_names, axis_types=auto)


def sharded_linear_cross_entropy(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    mesh: Mesh,
    batch_axis: AxisNames = None,
    vocab_axis: str | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
    return_lse: bool = False,
    **hyperparameters: Unpack[linear_ce_api.Hyperparameters],
) -> Array | tuple[Array, Array]:
    """:func:`lossjax.linear_cross_entropy` on a mesh: tokens and/or vocabulary sharded.

    The tokens (the flattened leading axes of ``hidden`` and ``labels``, and ``weights`` /
    ``where``) are split over ``batch_axis`` (a mesh axis name, a tuple of names, or None);
    the rows of ``weight`` and ``bias`` over ``vocab_axis``. Inputs may arrive with any
    sharding: ``shard_map`` moves them into place (pass them already placed, e.g. with
    :func:`shard_batch` and :func:`vocab_sharding`, to avoid the copy). The token count is
    padded to a multiple of the batch shards; ``V`` must be divisible by the vocabulary
    shards. Every other argument is as in :func:`lossjax.linear_cross_entropy`; with
    ``return_lse=True`` the result is ``(loss, lse)`` as in
    :func:`lossjax.linear_cross_entropy_with_lse`.

    Per device the memory is that of the single-device kernel on ``N / b`` tokens and
    ``V / k`` vocabulary rows. Communication per token chunk (vocabulary parallel): four
    ``[T]`` vectors and one ``[T, D]`` block; once per call (data parallel): the ``[V / k, D]``
    weight gradient.

    Args:
      hidden: ``[..., D]`` hidden states.
      weight: ``[V, D]`` output-layer weight.
      labels: integer token ids, ``hidden.shape[:-1]``.
      mesh: a ``jax.sharding.Mesh``.
      batch_axis: mesh axis (or axes) that split the tokens; None to replicate them.
      vocab_axis: mesh axis that splits the vocabulary; None to replicate the weight.
      return_lse: also return the per-token log-sum-exp.

    Returns:
      The loss, or ``(loss, lse)``.

    Example:
      >>> import jax, jax.numpy as jnp, lossjax, lossjax.sharding as ls
      >>> mesh = jax.make_mesh((1, 1), ("data", "model"))
      >>> h, w = jnp.ones((4, 3)), jnp.zeros((6, 3))
      >>> y = jnp.array([0, 1, 2, 3])
      >>> loss = ls.sharded_linear_cross_entropy(h, w, y, mesh=mesh, batch_axis="data",
      ...                                        vocab_axis="model")
      >>> round(float(loss), 4)  # log(6): all logits equal
      1.7918
    """
    fn = "sharded_linear_cross_entropy"
    if not isinstance(mesh, Mesh):
        raise TypeError(f"{fn}: `mesh` must be a jax.sharding.Mesh; got {type(mesh).__name__}.")
    batch_axes = _axes(batch_axis, mesh, "batch_axis", fn)
    vocab_axes = _axes(vocab_axis, mesh, "vocab_axis", fn)
    if len(vocab_axes) > 1:
        raise ValueError(f"{fn}: `vocab_axis` must be one mesh axis; got {vocab_axis!r}.")
    if set(batch_axes) & set(vocab_axes):
        raise ValueError(f"{fn}: `batch_axis` and `vocab_axis` must be different mesh axes.")
    vaxis = vocab_axes[0] if vocab_axes else None
    if vaxis is not None:
        v = jnp.shape(weight)[0] if jnp.ndim(weight) == 2 else None
        k = mesh.shape[vaxis]
        if v is not None and v % k:
            raise ValueError(
                f"{fn}: the vocabulary size {v} (weight.shape[0]) must be divisible by the "
                f"{k} shards of mesh axis {vaxis!r}; pad the weight (and give the padding rows "
                f"a -inf bias)."
            )
    if not isinstance(return_lse, bool):
        raise TypeError(f"{fn}: `return_lse` must be a bool; got {return_lse!r}.")
    run_mesh = _kernel_mesh(mesh, hidden, weight, labels, hyperparameters.get("bias"),
                            hyperparameters.get("class_weights"), weights, where)
    loss, lse = linear_ce_api.checked_loss_and_lse(
        fn, hidden, weight, labels, weights=weights, where=where, reduction=reduction,
        hyperparameters=dict(hyperparameters), mesh=run_mesh, batch_axes=batch_axes,
        vocab_axis=vaxis)
    return (loss, lse) if return_lse else loss


linear_ce_api.show_hyperparameters(sharded_linear_cross_entropy)


def vocab_parallel_linear_cross_entropy(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    mesh: Mesh,
    vocab_axis: str = "model",
    batch_axis: AxisNames = None,
    **kwargs: Any,
) -> Array | tuple[Array, Array]:
    """:func:`sharded_linear_cross_entropy` with the vocabulary split over ``vocab_axis``."""
    return sharded_linear_cross_entropy(hidden, weight, labels, mesh=mesh, batch_axis=batch_axis,
                                        vocab_axis=vocab_axis, **kwargs)


def data_parallel_linear_cross_entropy(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    mesh: Mesh,
    batch_axis: AxisNames = "data",
    **kwargs: Any,
) -> Array | tuple[Array, Array]:
    """:func:`sharded_linear_cross_entropy` with the tokens split over ``batch_axis``."""
    return sharded_linear_cross_entropy(hidden, weight, labels, mesh=mesh, batch_axis=batch_axis,
                                        **kwargs)


def mesh_size(mesh: Mesh, axes: AxisNames) -> int:
    """Number of shards along ``axes`` of ``mesh`` (1 for None)."""
    names = () if axes is None else ((axes,) if isinstance(axes, str) else tuple(axes))
    return math.prod(mesh.shape[a] for a in names)
