"""The one shared piece of the loss contract: input checks, dtype promotion, masking, reduction.

Every loss in lossjax (built-in or registered by a user) goes through these helpers, so the
contract is implemented once:

* ``predictions`` must be floating point (they are what gets differentiated); targets may be
  any numeric or boolean dtype and are cast to the compute dtype.
* Arithmetic runs in the *compute dtype*: the promotion of every floating input with float32,
  so bfloat16/float16 inputs compute and reduce in float32 and float64 stays float64. Gradients
  keep each input's own dtype (the cast's transpose casts back).
* ``where`` (boolean, broadcastable to the per-unit loss shape) drops positions: they contribute
  nothing to any reduction, and their inputs are replaced by safe values *before* the loss is
  computed, so that a ``-inf`` logit or a NaN padding value there cannot leak a NaN into the
  value or the gradient (the ``jnp.where`` gradient trap).
* ``weights`` (broadcastable to the per-unit loss shape) multiply the per-unit losses.
* ``reduction``: ``"none"`` returns ``w * loss`` per unit (0 where dropped), ``"sum"`` returns
  ``sum(w * loss)`` and ``"mean"`` returns ``sum(w * loss) / sum(w)`` over the kept units, which is
  0, never NaN, when nothing is kept.

All checks here are *static*: they look at shapes, dtypes and Python values, so they raise at
trace time, under ``jit`` too.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypedDict

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array
ArrayLike = Any
Reduction = Literal["none", "sum", "mean"]
REDUCTIONS: tuple[str, ...] = ("none", "sum", "mean")


# The name of the registered loss being traced: set by the registry around its body, so that a
# body's errors name the loss without writing its name a second time (:func:`loss_name`).
_LOSS_NAME: contextvars.ContextVar[str] = contextvars.ContextVar("lossjax_loss", default="loss")


def loss_name() -> str:
    """The name of the loss whose body is being traced (for its error messages).

    Set by :func:`named` (the registry wraps every registered body with it); ``"loss"``
    outside a registered loss.
    """
    return _LOSS_NAME.get()


def named(name: str, body: Callable[..., Any]) -> Callable[..., Any]:
    """``body`` with :func:`loss_name` returning ``name`` while it runs (while it is traced)."""

    @functools.wraps(body)
    def call(*args: Any, **kwargs: Any) -> Any:
        token = _LOSS_NAME.set(name)
        try:
            return body(*args, **kwargs)
        finally:
            _LOSS_NAME.reset(token)

    return call


class Contract(TypedDict, total=False):
    """The keyword arguments every loss takes besides its own (described in lossjax._docs).

    A per-unit loss is written ``def f(predictions, targets, *, <hyper>, **contract:
    Unpack[Contract])``: the registry handles these arguments (with defaults ``None``,
    ``None`` and ``"mean"``) and calls ``f`` on the kept units only.
    """

    weights: ArrayLike | None
    where: ArrayLike | None
    reduction: Reduction


class ExampleContract(Contract, total=False):
    """:class:`Contract` and the class (or feature) ``axis`` of a per-example loss."""

    axis: int


def check_reduction(reduction: Any, loss: str = "loss") -> None:
    """Raises ``ValueError`` unless ``reduction`` is one of ``"none"``, ``"sum"``, ``"mean"``."""
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(
            f"{loss}: `reduction` must be one of 'none', 'sum', 'mean'; got {reduction!r}."
        )


def _asarray(name: str, x: ArrayLike, loss: str) -> Array:
    try:
        return jnp.asarray(x)
    except TypeError as e:  # e.g. a string or an object
        raise TypeError(f"{loss}: `{name}` must be an array; got {type(x).__name__}.") from e


def float_input(name: str, x: ArrayLike, loss: str) -> Array:
    """Returns ``x`` as an array, raising ``TypeError`` unless it is floating point."""
    arr = _asarray(name, x, loss)
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        raise TypeError(
            f"{loss}: `{name}` must be a floating-point array (it is differentiated); got dtype "
            f"{arr.dtype}. Cast it first, e.g. `x.astype(jnp.float32)`."
        )
    return arr


def numeric_input(name: str, x: ArrayLike, loss: str) -> Array:
    """Returns ``x`` as an array, raising ``TypeError`` unless it is numeric or boolean."""
    arr = _asarray(name, x, loss)
    if not (
        jnp.issubdtype(arr.dtype, jnp.number) or jnp.issubdtype(arr.dtype, jnp.bool_)
    ) or jnp.issubdtype(arr.dtype, jnp.complexfloating):
        raise TypeError(f"{loss}: `{name}` must be a real numeric array; got dtype {arr.dtype}.")
    return arr


def integer_input(name: str, x: ArrayLike, loss: str) -> Array:
    """Returns ``x`` as an array, raising ``TypeError`` unless it has an integer dtype."""
    arr = _asarray(name, x, loss)
    if not jnp.issubdtype(arr.dtype, jnp.integer):
        raise TypeError(f"{loss}: `{name}` must be an integer array; got dtype {arr.dtype}.")
    return arr


def compute_dtype(*arrays: Array) -> jnp.dtype:
    """The promotion of float32 with the dtypes of the floating arrays among ``arrays``."""
    dtype = jnp.dtype(jnp.float32)
    for a in arrays:
        if a is not None and jnp.issubdtype(a.dtype, jnp.floating):
            dtype = jnp.promote_types(dtype, a.dtype)
    return dtype


def check_shape(
    name: str, x: Array, expected: Sequence[int], loss: str, what: str = ""
) -> None:
    """Raises ``ValueError`` unless ``x.shape == expected``."""
    if tuple(x.shape) != tuple(expected):
        hint = f" ({what})" if what else ""
        raise ValueError(
            f"{loss}: `{name}` must have shape {tuple(expected)}{hint}; got {tuple(x.shape)}."
        )


def check_same_shape(a_name: str, a: Array, b_name: str, b: Array, loss: str) -> None:
    """Raises ``ValueError`` unless ``a`` and ``b`` have the same shape."""
    check_shape(b_name, b, a.shape, loss, f"the shape of `{a_name}`")


def _broadcastable(shape: Sequence[int], target: Sequence[int]) -> bool:
    if len(shape) > len(target):
        return False
    for s, t in zip(reversed(tuple(shape)), reversed(tuple(target)), strict=False):
        if s != 1 and s != t:
            return False
    return True


def normalize_axis(axis: Any, ndim: int, loss: str, name: str = "axis") -> int:
    """Checks a static class axis against ``ndim`` and returns it as a non-negative int."""
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
        raise TypeError(f"{loss}: `{name}` must be a Python int; got {axis!r}.")
    if ndim == 0:
        raise ValueError(f"{loss}: `predictions` needs a class axis; got a scalar.")
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"{loss}: `{name}`={axis} is out of range for predictions of rank {ndim}."
        )
    return int(axis) % ndim


def prepare_where(where: ArrayLike | None, shape: Sequence[int], loss: str) -> Array | None:
    """Checks ``where`` (boolean, broadcastable to ``shape``) and broadcasts it."""
    if where is None:
        return None
    w = _asarray("where", where, loss)
    if w.dtype != jnp.bool_:
        raise TypeError(f"{loss}: `where` must be a boolean array; got dtype {w.dtype}.")
    if not _broadcastable(w.shape, shape):
        raise ValueError(
            f"{loss}: `where` must broadcast to the per-unit loss shape {tuple(shape)}; "
            f"got {tuple(w.shape)}."
        )
    return jnp.broadcast_to(w, tuple(shape))


def prepare_weights(
    weights: ArrayLike | None, shape: Sequence[int], dtype: Any, loss: str, name: str = "weights"
) -> Array | None:
    """Checks ``weights`` (real, broadcastable to ``shape``) and casts them to ``dtype``."""
    if weights is None:
        return None
    w = numeric_input(name, weights, loss)
    if not _broadcastable(w.shape, shape):
        raise ValueError(
            f"{loss}: `{name}` must broadcast to the per-unit loss shape {tuple(shape)}; "
            f"got {tuple(w.shape)}. (Weights for examples of a per-element loss need a trailing "
            f"singleton axis, e.g. `w[:, None]`.)"
        )
    return lift(w, len(shape)).astype(dtype)


def lift(x: Array, ndim: int) -> Array:
    """``x`` with leading unit axes up to rank ``ndim``: an explicit rank promotion (free).

    Broadcasting between arrays of different ranks is written out with this, so that lossjax
    runs under ``jax.numpy_rank_promotion("raise")``.
    """
    return jnp.reshape(x, (1,) * (ndim - jnp.ndim(x)) + jnp.shape(x))


def mul_weights(a: Array | None, b: Array | None) -> Array | None:
    """Product of two optional weight arrays (``None`` means all ones)."""
    if a is None:
        return b
    if b is None:
        return a
    return a * b


def and_masks(a: Array | None, b: Array | None) -> Array | None:
    """Conjunction of two optional masks (``None`` means keep everything)."""
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def mask_safe(mask: Array | None, x: Array, safe: Any, axis: int | None = None) -> Array:
    """Replaces ``x`` by ``safe`` where ``mask`` is False (no-op when ``mask`` is None).

    ``mask`` has the per-unit shape; ``axis`` names an extra axis of ``x`` (the class or
    coordinate axis) along which the mask is broadcast. ``safe`` is a scalar, or a vector
    along that axis when ``axis`` is last (a whole safe row, e.g. a unit box).
    """
    if mask is None:
        return x
    m = mask if axis is None else jnp.expand_dims(mask, axis)
    return jnp.where(m, x, jnp.asarray(safe, x.dtype))


def lookup(table: Array, index: Array) -> Array:
    """``table[index]`` with the result sharded like ``index``.

    A plain indexed read of a small replicated table (class weights, say) with batch-sharded
    indices has no output sharding that JAX can infer on a mesh with ``Explicit`` axes
    (``jax.make_mesh``'s default); naming it keeps the gather per device there, and changes
    nothing off a mesh.
    """
    return table.at[index].get(out_sharding=jax.typeof(index).sharding)


def grad_floor(dtype: Any) -> float:
    """Floor for a denominator in a hand-written gradient, chosen for the *input* dtype.

    ``1 / floor`` (the largest gradient it lets through) stays below half the dtype's largest
    value: 1e-12 for float32 and wider (as PyTorch), about 3e-5 for float16.
    """
    return max(1e-12, 2.0 / float(jnp.finfo(dtype).max))


def safe_divide(num: Array, den: Array) -> Array:
    """``num / den``, and 0 (with zero gradient) where ``den == 0``."""
    nonzero = den != 0
    return jnp.where(nonzero, num / jnp.where(nonzero, den, 1), 0)


def reduce(
    loss: Array,
    *,
    weights: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    loss_name: str = "loss",
) -> Array:
    """Applies weights, the ``where`` mask and the reduction to per-unit losses.

    Args:
      loss: per-unit losses, already in the compute dtype.
      weights: ``None`` or an array broadcastable to ``loss.shape``.
      where: ``None`` or a boolean array broadcastable to ``loss.shape``.
      reduction: ``"none"``, ``"sum"`` or ``"mean"``.
      loss_name: used in error messages.

    Returns:
      ``w * loss`` with dropped units set to 0 (``"none"``), its sum (``"sum"``), or its sum
      divided by the sum of the kept weights (``"mean"``; 0 when that sum is 0).
    """
    check_reduction(reduction, loss_name)
    if weights is not None:
        loss = loss * weights
    if where is not None:
        loss = jnp.where(where, loss, jnp.zeros((), loss.dtype))
    if reduction == "none":
        return loss
    if loss.size == 0:
        return jnp.zeros((), loss.dtype)
    total = jnp.sum(loss)
    if reduction == "sum":
        return total
    if weights is None and where is None:
        return total / loss.size
    if weights is None:
        assert where is not None
        den = jnp.sum(where, dtype=loss.dtype)
    else:
        w = jnp.broadcast_to(weights, loss.shape)
        if where is not None:
            w = jnp.where(where, w, jnp.zeros((), w.dtype))
        den = jnp.sum(w)
    return safe_divide(total, den)


def static_number(value: Any) -> float | np.ndarray | None:
    """The concrete value of a numeric hyperparameter, or ``None`` when it is traced.

    Raises:
      TypeError: ``value`` is not a real number or an array of them (a string such as
        ``"0.1"``, which NumPy would parse, a complex number, an object); the message says what
        it got.
    """
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    if isinstance(value, jax.core.Tracer):
        if not _is_real_dtype(value.dtype):
            raise TypeError(f"got a traced array of dtype {value.dtype}")
        return None
    if isinstance(value, str | bytes):
        raise TypeError(f"got the string {value!r}")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError, jax.errors.TracerArrayConversionError):
        return None  # e.g. a list holding tracers: cannot be checked at trace time
    if not _is_real_dtype(arr.dtype):
        raise TypeError(f"got {type(value).__name__} of dtype {arr.dtype}")
    return arr.astype(np.float64)


def _is_real_dtype(dtype: Any) -> bool:
    return bool(jnp.issubdtype(dtype, jnp.bool_) or jnp.issubdtype(dtype, jnp.integer)
                or jnp.issubdtype(dtype, jnp.floating))


def elementwise(
    loss_name: str,
    fn: Any,
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: str,
    safe: tuple[float, float] = (0.0, 0.0),
) -> Array:
    """The contract around a per-element loss ``fn(p, t) -> loss`` (same shapes).

    Checks dtypes and shapes, casts to the compute dtype, replaces positions dropped by
    ``where`` with the ``safe`` (prediction, target) values, applies ``fn``, and reduces.
    """
    check_reduction(reduction, loss_name)
    p = float_input("predictions", predictions, loss_name)
    t = numeric_input("targets", targets, loss_name)
    check_same_shape("predictions", p, "targets", t, loss_name)
    dtype = compute_dtype(p, t)
    mask = prepare_where(where, p.shape, loss_name)
    w = prepare_weights(weights, p.shape, dtype, loss_name)
    p = mask_safe(mask, p.astype(dtype), safe[0])
    t = mask_safe(mask, t.astype(dtype), safe[1])
    return reduce(fn(p, t), weights=w, where=mask, reduction=reduction, loss_name=loss_name)


def per_example(
    loss_name: str,
    fn: Any,
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis: int,
    weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: str,
    safe: tuple[Any, Any] = (0.0, 0.0),
) -> Array:
    """The contract around a per-example loss ``fn(p, t) -> loss`` over a last (class) axis.

    ``predictions`` and ``targets`` have the same shape; ``axis`` is moved last, so ``fn``
    sees ``[..., K]`` arrays and returns ``[...]`` losses; ``where`` and ``weights`` apply to
    examples (the shape without ``axis``).
    """
    check_reduction(reduction, loss_name)
    p = float_input("predictions", predictions, loss_name)
    t = numeric_input("targets", targets, loss_name)
    check_same_shape("predictions", p, "targets", t, loss_name)
    ax = normalize_axis(axis, p.ndim, loss_name)
    dtype = compute_dtype(p, t)
    p = jnp.moveaxis(p.astype(dtype), ax, -1)
    t = jnp.moveaxis(t.astype(dtype), ax, -1)
    unit_shape = p.shape[:-1]
    mask = prepare_where(where, unit_shape, loss_name)
    w = prepare_weights(weights, unit_shape, dtype, loss_name)
    p = mask_safe(mask, p, safe[0], axis=-1)
    t = mask_safe(mask, t, safe[1], axis=-1)
    loss = fn(p, t)
    if tuple(loss.shape) != tuple(unit_shape):
        raise ValueError(
            f"{loss_name}: the per-example function returned shape {tuple(loss.shape)}; "
            f"expected {tuple(unit_shape)} (the predictions' shape without the class axis)."
        )
    return reduce(loss, weights=w, where=mask, reduction=reduction, loss_name=loss_name)


# --------------------------------------------------------------------------------------------
# Traced hyperparameters with a specialised kernel for a few Python values


@jax.tree_util.register_pytree_node_class
class Specialized:
    """A hyperparameter's Python value passed to a jitted body as part of its *structure*.

    A numeric hyperparameter is traced under ``jit``: every value shares one compiled program
    (a schedule or a sweep does not recompile) and it can be ``vmap``-ped and differentiated.
    A loss may still declare a few values (``Hyper(fast=...)``, e.g. ``label_smoothing=0``)
    whose special case is cheaper; when the caller passes one of them as a Python number, the
    public function wraps it in ``Specialized``, a pytree with no leaves whose value lives in
    the tree structure. ``jit`` then compiles that case once, with the value known to Python.
    Bodies read hyperparameters through :func:`hyper_value` and :func:`known_value`.
    """

    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = value

    def tree_flatten(self):
        return (), self.value

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(aux)

    def __repr__(self) -> str:
        return f"Specialized({self.value!r})"


def hyper_value(value: Any) -> Any:
    """The hyperparameter's value for arithmetic: a Python number, or an array/tracer."""
    return value.value if isinstance(value, Specialized) else value


def known_value(value: Any) -> float | None:
    """The hyperparameter's value when Python knows it (a number or a specialised value).

    ``None`` for an array or a tracer: the body must then take the path valid for every value
    of the domain (no Python ``if`` on it).
    """
    value = hyper_value(value)
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    return None


def is_known(value: Any, target: float) -> bool:
    """Whether Python knows the hyperparameter equals ``target`` (False when it is traced)."""
    return known_value(value) == target
