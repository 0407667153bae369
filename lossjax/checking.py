"""Opt-in value checks (labels in range, probabilities in [0, 1], valid boxes, ...).

Static mistakes (shapes, dtypes, reductions, hyperparameters given as Python numbers) raise at
trace time in every loss. Checks on *values* cannot raise inside ``jit``; they are offered
here through :mod:`jax.experimental.checkify`, which turns them into an error value that is
thrown after the computation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.experimental import checkify

from lossjax import registry


def _split_static(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    arrays: dict[str, Any] = {}
    static: dict[str, Any] = {}
    for k, v in kwargs.items():
        (arrays if isinstance(v, jax.Array | jnp.ndarray) else static)[k] = v
    return arrays, static


def checked(loss: str | Callable[..., jax.Array], *, throw: bool = True) -> Callable[..., Any]:
    """Returns ``loss`` with its value-level checks switched on.

    The checks are those registered with the loss (for example: integer labels in ``[0, K)``
    or equal to ``ignore_index``; probabilities in ``[0, 1]``; hinge targets in {-1, +1};
    boxes with ``x1 <= x2``), plus finite predictions. Positions dropped by ``where`` are
    not checked.

    Args:
      loss: a registered name or loss function.
      throw: if True (default), the returned function raises on a failed check (outside
        ``jit``: it runs checkify itself). If False it returns ``(error, value)`` as
        ``checkify.checkify`` does, and can be wrapped in ``jax.jit``; call
        ``error.throw()`` afterwards.

    Returns:
      A function with the loss's signature.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> ce = lossjax.checked("softmax_cross_entropy")
      >>> ce(jnp.zeros((2, 3)), jnp.array([0, 5]))  # doctest: +IGNORE_EXCEPTION_DETAIL
      Traceback (most recent call last):
      JaxRuntimeError: softmax_cross_entropy: integer labels must lie in [0, 3) ...
    """
    name = loss if isinstance(loss, str) else getattr(loss, "loss_name", None)
    if name is None:
        raise TypeError("checked() takes a registered loss or its name")
    spec = registry.spec(name)

    def run_checks(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        where = kwargs.get("where")
        p = jnp.asarray(args[0])
        checks = [(jnp.isfinite(p) | jnp.isneginf(p), "predictions must be finite (or -inf)")]
        if spec.checks is not None:
            checks += spec.checks(*args, **kwargs)
        for ok, msg in checks:
            ok = jnp.asarray(ok)
            if where is not None:
                w = jnp.asarray(where)
                if w.ndim <= ok.ndim and all(
                    a in (1, b) for a, b in zip(w.shape[::-1], ok.shape[::-1], strict=False)
                ):
                    ok = ok | ~w
                elif w.ndim == ok.ndim - 1:
                    ok = ok | ~w[..., None]
            checkify.check(jnp.all(ok), f"{spec.name}: {msg}")

    def functional(*args: Any, **kwargs: Any):
        arrays, static = _split_static(kwargs)

        def inner(args, arrays):
            kw = {**arrays, **static}
            run_checks(args, kw)
            return spec.fn(*args, **kw)

        return checkify.checkify(inner)(args, arrays)

    @functools.wraps(spec.fn)
    def throwing(*args: Any, **kwargs: Any) -> jax.Array:
        err, value = functional(*args, **kwargs)
        err.throw()
        return value

    return throwing if throw else functional
