"""Hyperparameter domains: what values a loss's hyperparameters may take, and how they compile.

A loss declares, for each keyword hyperparameter, a :class:`Hyper` (or just its domain, an
:class:`Interval` or a :class:`Choice`). The registry checks concrete values against it before
tracing, so a bad value raises a ``ValueError`` naming the hyperparameter, and decides from it
which hyperparameters are static under ``jit``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import numpy as np

from lossjax import _core


@dataclasses.dataclass(frozen=True)
class Interval:
    """A real interval that a hyperparameter must lie in (checked for concrete values)."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def contains(self, value: np.ndarray | float) -> bool:
        v = np.asarray(value, dtype=np.float64)
        if np.any(np.isnan(v)):
            return False
        lo_ok = v > self.low if self.low_open else v >= self.low
        hi_ok = v < self.high if self.high_open else v <= self.high
        return bool(np.all(lo_ok & hi_ok))

    def __str__(self) -> str:
        lo = "(" if self.low_open else "["
        hi = ")" if self.high_open else "]"
        fmt = lambda x: "inf" if x == math.inf else "-inf" if x == -math.inf else f"{x:g}"
        return f"{lo}{fmt(self.low)}, {fmt(self.high)}{hi}"


POSITIVE = Interval(0.0, math.inf, low_open=True)
NONNEGATIVE = Interval(0.0, math.inf)
UNIT = Interval(0.0, 1.0)
UNIT_RIGHT_OPEN = Interval(0.0, 1.0, high_open=True)
UNIT_OPEN = Interval(0.0, 1.0, low_open=True, high_open=True)


@dataclasses.dataclass(frozen=True)
class Choice:
    """A hyperparameter that must be one of a few Python values."""

    options: tuple[Any, ...]

    def contains(self, value: Any) -> bool:
        return any(value == o and type(value) is type(o) for o in self.options) or any(
            value is o for o in self.options
        )

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool
    )


@dataclasses.dataclass(frozen=True)
class Hyper:
    """A hyperparameter of a loss: valid range, whether it is static under ``jit``.

    The default is not written here: it is the default of the loss's keyword argument, which
    the registry copies into ``default`` when the loss is registered.

    A hyperparameter that is mathematically a number is *traced* (``static=False``, the
    default): under ``jit`` every value shares one compiled program, so a schedule or a sweep
    never recompiles, and it can be ``vmap``-ped and differentiated. ``static=True`` is only
    for what changes shapes or control flow (a reduction axis, an iteration count, a choice
    of formula, a callable) and then requires ``why_static``, the reason, which the README
    table shows. ``fast`` lists a few values with a cheaper special case (``label_smoothing=0``
    skips the smoothing pass): a *Python number* equal to one of them compiles that case
    (the value reaches the body as :class:`lossjax._core.Specialized`, which the body reads
    with ``_core.hyper_value`` and ``_core.known_value``); every other value, and any array
    or tracer, takes the traced path.

    :meth:`check` raises a ``TypeError`` naming the hyperparameter when a numeric one (an
    :class:`Interval` domain, or a number as default) gets something that is not a real
    number or array (a string, even ``"0.1"``), and a ``ValueError`` when a concrete value
    lies outside the domain.
    """

    domain: Interval | Choice | None = None
    _: dataclasses.KW_ONLY
    static: bool = False
    optional: bool = False  # ``None`` is allowed besides the domain
    why_static: str = ""  # required when static: what the value decides at trace time
    fast: tuple[float, ...] = ()  # Python values compiled as a specialised case
    # Filled in by the registry from the loss's signature, the one place a default is written.
    default: Any = None

    def __post_init__(self) -> None:
        if self.static and not self.why_static:
            raise ValueError("a static hyperparameter needs `why_static`: what its value "
                             "decides at trace time (a shape, a loop, a formula)")
        if self.static and self.fast:
            raise ValueError("`fast` values are for traced hyperparameters")

    def specialize(self, value: Any) -> Any:
        """``value`` as the jitted body receives it: a :class:`_core.Specialized` for a Python
        number listed in ``fast``, else unchanged."""
        if (self.fast and _is_number(value) and not isinstance(value, np.ndarray)
                and float(value) in self.fast):
            return _core.Specialized(float(value))
        return value

    def check(self, name: str, value: Any, loss: str) -> None:
        if value is None:
            if self.optional or self.default is None:
                return
            raise TypeError(f"{loss}: `{name}` must not be None.")
        if self.static and isinstance(value, jax.core.Tracer):
            raise TypeError(
                f"{loss}: `{name}` is a static hyperparameter and must be a Python value, "
                "not a traced array (it selects the compiled code path)."
            )
        if isinstance(self.domain, Choice):
            if not self.domain.contains(value):
                raise ValueError(f"{loss}: `{name}` must be {self.domain}; got {value!r}.")
            return
        if self.domain is None and not _is_number(self.default):
            return  # not a numeric hyperparameter
        try:
            concrete = _core.static_number(value)
        except TypeError as e:
            raise TypeError(f"{loss}: `{name}` must be a real number or array; {e}.") from None
        if concrete is None or self.domain is None:  # traced: not checkable at trace time
            return
        if not self.domain.contains(concrete):
            shown = value if np.ndim(concrete) == 0 else np.asarray(concrete)
            raise ValueError(f"{loss}: `{name}` must lie in {self.domain}; got {shown!r}.")


