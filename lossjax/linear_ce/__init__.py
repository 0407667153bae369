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

Two code paths (:mod:`~lossjax.linear_ce.gradients`):

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

The package, one job per module:

* :mod:`~lossjax.linear_ce.api`: the public functions, input checks, the contract (masks,
  weights, reductions) and the dispatch over implementations (``IMPLEMENTATIONS``);
  registration.
* :mod:`~lossjax.linear_ce.base`: what an implementation receives (``KernelConfig``,
  ``Operands``) and provides (``Implementation``).
* :mod:`~lossjax.linear_ce.chunked`: the chunked kernel, one sweep in named steps.
* :mod:`~lossjax.linear_ce.gradients`: its two ``custom_vjp`` paths (the ``"chunked"``
  implementation).
* :mod:`~lossjax.linear_ce.mesh`: running a sweep under ``shard_map``; the layout of
  explicitly sharded inputs; padding the tokens to the batch shards.
* :mod:`~lossjax.linear_ce.reference`: the naive logits path (the ``"reference"``
  implementation, and the whole-loss reference the tests compare with).
"""

from lossjax.linear_ce.api import (
    DEFAULT_IMPLEMENTATION,
    IMPLEMENTATIONS,
    Hyperparameters,
    linear_cross_entropy,
    linear_cross_entropy_with_lse,
)
from lossjax.linear_ce.base import Implementation
from lossjax.linear_ce.chunked import default_chunk_size, default_vocab_block_size

__all__ = [
    "DEFAULT_IMPLEMENTATION",
    "IMPLEMENTATIONS",
    "Hyperparameters",
    "Implementation",
    "default_chunk_size",
    "default_vocab_block_size",
    "linear_cross_entropy",
    "linear_cross_entropy_with_lse",
]
