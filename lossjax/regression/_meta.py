"""What the regression losses share: registry metadata and the floor of a log or a division."""

from __future__ import annotations

import jax.numpy as jnp

from lossjax import _core
from lossjax._core import Array, ArrayLike

# targets are real values: differentiated too
REGRESSION = dict(task="regression", predictions="values", targets="values", granularity="element",
                  diff_argnums=(0, 1))


def eps_for(x: ArrayLike, eps: ArrayLike, scale: float = 1.0) -> Array:
    """``max(eps, scale * grad_floor(dtype of x))``: a floor whose ``scale / floor`` fits x."""
    dtype = jnp.asarray(x).dtype
    if not jnp.issubdtype(dtype, jnp.floating):
        return jnp.asarray(eps)
    return jnp.maximum(eps, scale * _core.grad_floor(dtype))

