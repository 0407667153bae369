"""What every implementation of the linear cross-entropy receives and returns.

:mod:`lossjax.linear_ce.api` checks the user's inputs and turns them into :class:`Operands`
(flattened tokens, labels already in range, the kept mask) and a :class:`KernelConfig`; an
:class:`Implementation` then computes the per-token losses, or their weighted total, and the
per-token log-sum-exp, differentiably. Everything around that (masks, weights, the mean's
denominator, NaN for out-of-range labels, padding on a mesh) is shared by all
implementations, so a new kernel (a Pallas one, say) writes only the two functions of
:class:`Implementation` and is added to ``api.IMPLEMENTATIONS``; ``tests/test_linear_ce.py``
then runs the shared contract suite on it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

from lossjax._core import Array

# The order of the traced hyperparameters in ``Operands.hyper``.
LABEL_SMOOTHING, Z_LOSS, LOGIT_SOFTCAP = 0, 1, 2


@dataclasses.dataclass(frozen=True)
class KernelConfig:
    """Everything static about one call (hashable: a ``custom_vjp`` non-differentiable arg)."""

    vocab: int  # global V (label smoothing spreads eps over all V classes)
    compute_dtype: str
    # Which terms run; their coefficients are traced (``Operands.hyper``). A term is off only
    # where Python knows its coefficient is 0 (smoothing, z-loss) or the cap None.
    smoothing: bool = False
    zloss: bool = False
    softcap: bool = False
    # Also the derivatives of the loss in the hyperparameters (set by the custom_vjp rules
    # when ``hyper`` is being differentiated; otherwise none of that work is done).
    hyper_grads: bool = False
    chunk_size: int | None = None
    vocab_block_size: int | None = None
    mesh: Any = None  # jax.sharding.Mesh for lossjax.sharding, else None
    batch_axes: tuple[str, ...] = ()
    vocab_axis: str | None = None


class Operands(NamedTuple):
    """The prepared arrays of one call (``n`` tokens, ``v`` local vocabulary rows).

    ``hyper`` [3] (compute dtype): ``(label_smoothing, z_loss, logit_softcap)``, traced; an
    entry is read only where the config turns its term on. ``hidden`` [n, D], ``weight``
    [v, D] (``v = V`` off a mesh), ``bias`` [v] or None, ``labels`` [n] int (in range: the
    global vocabulary index), ``kept`` [n] bool (False rows count as hidden state 0 and take
    no part in any sum).

    ``class_weights`` [v] and ``label_weights`` [n] (each token's label's class weight) are
    given for label smoothing with class weights only: the token's loss is then PyTorch's
    weighted one, ``w_y ((1 - eps) (lse - z_y) + z_loss lse**2) + eps / V sum_c w_c (lse -
    z_c)`` (the class weights are inside the loss, not in the token's scale). Without
    smoothing, the api folds the label's class weight into the token weights instead.
    """

    hyper: Array
    hidden: Array
    weight: Array
    bias: Array | None
    labels: Array
    kept: Array
    class_weights: Array | None = None
    label_weights: Array | None = None


class Implementation(NamedTuple):
    """One way to compute the linear cross-entropy on :class:`Operands`.

    ``token_losses(config, operands) -> (loss [n], lse [n])`` and
    ``weighted_total(config, operands, scale [n]) -> (sum_i scale_i loss_i, lse [n])``,
    where a token with ``scale_i == 0`` adds nothing (not even a NaN). Both are
    differentiable in ``hyper``, ``hidden``, ``weight`` and ``bias`` (and the total in
    ``scale``); ``lse`` carries no gradient. ``supports_mesh``: whether it runs per device
    with ``config.mesh`` set (the vocabulary-parallel collectives); an implementation without
    leaves sharded inputs to XLA's partitioner.
    """

    token_losses: Callable[[KernelConfig, Operands], tuple[Array, Array]]
    weighted_total: Callable[[KernelConfig, Operands, Array], tuple[Array, Array]]
    supports_mesh: bool
