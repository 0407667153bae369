"""The loss registry: names, aliases, metadata, and the decorators that give a loss the contract.

Every loss is registered here, built-in or user-defined. An entry (:class:`LossSpec`) carries
what a user or a tool needs to know about the loss without reading its code: the task, what the
predictions and targets are, its hyperparameters with their defaults and valid ranges, whether
it is differentiable, bounded and convex, a reference, and the names of its peers in other
libraries. It also carries how to *sample* valid inputs and which *boundary* inputs the loss
must survive, which is how the registry-driven tests and benchmarks reach every loss.

Public functions:

* :func:`get` returns the loss function for a canonical name or an alias.
* :func:`names` lists canonical names; :func:`spec` returns the metadata.
* :func:`register_elementwise` / :func:`register_per_example` turn a plain per-element or
  per-example function into a loss with the whole contract (``weights``, ``where``,
  ``reduction``, dtype promotion, ``jit``) and register it.

``python -m lossjax.registry --update-readme README.md`` rewrites the table of losses in the
README from the registry.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import numpy as np

from lossjax import _core

# Arguments every loss shares; they are never listed as hyperparameters.
CONTRACT_ARGS = ("weights", "where", "reduction", "axis")

TASKS = (
    "regression",
    "binary",
    "multiclass",
    "multilabel",
    "divergence",
    "boxes",
    "segmentation",
    "metric_learning",
    "ranking",
    "sequence",
    "metric",
)
PREDICTION_KINDS = (
    "values",
    "probabilities",
    "log_probabilities",
    "logits",
    "scores",
    "boxes",
    "embeddings",
    "hidden",
)
GRANULARITIES = ("element", "example")
# Target kinds that are real numbers, differentiable like the predictions: a loss registered
# with one of them has ``diff_argnums=(0, 1)`` unless it says otherwise.
REAL_VALUED_TARGETS = ("values", "probabilities", "boxes")


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
    """A hyperparameter of a loss: default, valid range, whether it is static under ``jit``.

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

    default: Any
    domain: Interval | Choice | None = None
    static: bool = False
    optional: bool = False  # ``None`` is allowed besides the domain
    why_static: str = ""  # required when static: what the value decides at trace time
    fast: tuple[float, ...] = ()  # Python values compiled as a specialised case

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


@dataclasses.dataclass(frozen=True)
class LossSpec:
    """Metadata of a registered loss.

    Attributes:
      name: canonical name.
      fn: the loss function (with the whole contract).
      aliases: other names that resolve to ``fn``.
      task: one of :data:`TASKS`.
      predictions: what the first argument holds (one of :data:`PREDICTION_KINDS`).
      targets: what the targets are, in words ("values", "binary", "labels", ...).
      granularity: ``"element"`` (``reduction="none"`` keeps the predictions' shape) or
        ``"example"`` (a class or coordinate axis is reduced first).
      hyperparameters: name -> :class:`Hyper` (default and valid range).
      differentiable: whether gradients carry information (False for metrics).
      twice_differentiable: whether ``jax.hessian`` is meaningful everywhere in the domain.
      bounded: whether the per-unit loss is bounded above on its domain.
      convex: whether the loss is convex in the predictions (in the logits for logit losses).
      reference: where the formula comes from.
      peers: names of the same loss in other libraries (optax, torch, keras, torchvision, ...).
      sample: ``sample(key, batch_shape, dtype) -> (args, kwargs)``: valid random inputs whose
        ``reduction="none"`` loss has shape ``batch_shape``.
      boundary: ``boundary(dtype) -> [(label, args, kwargs)]``: inputs at the edge of the domain
        on which value and gradient must be finite.
      checks: ``checks(*args, **kwargs) -> [(ok, message)]``: value-level checks for
        :func:`lossjax.checked`.
      diff_argnums: the positional arguments that are differentiable: predictions and every
        other real-valued input (real-valued targets, variances, embeddings); not discrete
        ones (labels, ±1 targets, relevance grades). The default is ``(0, 1)`` for targets in
        :data:`REAL_VALUED_TARGETS`, else ``(0,)``. The registry-driven tests check the
        gradient with respect to each against finite differences.
      batch_argnums: positional arguments that carry the batch (leading) axes, which the tests
        slice and ``vmap`` over; the others (a weight matrix, say) are shared by all examples.
      batch_coupled: whether one unit's loss depends on the other units of the batch (the
        chance baseline's class frequencies; contrastive losses' negatives). ``vmap`` over
        examples then computes something else than ``reduction="none"``, and the tests know it.
      forward_mode: whether ``jax.jvp`` applies (False for a ``custom_vjp`` kernel, whose
        second derivatives still run as reverse-over-reverse or ``jax.hessian``).
      exact_gradient: False where the gradient is a documented surrogate rather than the
        derivative of the value (CIoU holds its trade-off ``alpha`` constant, as its paper
        does); finite-difference checks are then made against the surrogate in family tests.
      summary: first line of the docstring.
    """

    name: str
    fn: Callable[..., jax.Array]
    aliases: tuple[str, ...]
    task: str
    predictions: str
    targets: str
    granularity: str
    hyperparameters: Mapping[str, Hyper]
    differentiable: bool
    twice_differentiable: bool
    bounded: bool
    convex: bool
    reference: str
    peers: Mapping[str, str]
    sample: Callable[..., tuple[tuple[Any, ...], dict[str, Any]]] | None
    boundary: Callable[..., list[tuple[str, tuple[Any, ...], dict[str, Any]]]] | None
    checks: Callable[..., list[tuple[Any, str]]] | None
    diff_argnums: tuple[int, ...]
    batch_argnums: tuple[int, ...]
    summary: str
    builtin: bool
    has_axis: bool
    batch_coupled: bool = False
    forward_mode: bool = True
    exact_gradient: bool = True


_REGISTRY: dict[str, LossSpec] = {}
_ALIASES: dict[str, str] = {}


def _public(body: Callable[..., jax.Array], name: str, hypers: Mapping[str, Hyper]):
    """Wraps a loss body: hyperparameter range checks on concrete values, then a cached jit."""
    sig = inspect.signature(body)
    static = [p for p in ("reduction", "axis") if p in sig.parameters]
    static += [h for h, spec in hypers.items() if spec.static]
    jitted = jax.jit(body, static_argnames=tuple(static))
    fast = [h for h, spec in hypers.items() if spec.fast]

    @functools.wraps(body)
    def loss(*args: Any, **kwargs: Any) -> jax.Array:
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{name}: {e}") from None
        for arg, value in bound.arguments.items():
            if arg in hypers:
                hypers[arg].check(arg, value, name)
        if "reduction" in bound.arguments:
            _core.check_reduction(bound.arguments["reduction"], name)
        # defaults made explicit: f(x, y) and f(x, y, reduction="mean") share one compiled kernel
        bound.apply_defaults()
        for arg in fast:
            bound.arguments[arg] = hypers[arg].specialize(bound.arguments[arg])
        return jitted(*bound.args, **bound.kwargs)

    loss.jitted = jitted  # type: ignore[attr-defined]  # exposed for cache inspection in tests
    loss.loss_name = name  # type: ignore[attr-defined]
    return loss


def _hyperparameters(
    body: Callable[..., Any], hyper: Mapping[str, Hyper | Interval | Choice] | None
) -> dict[str, Hyper]:
    sig = inspect.signature(body)
    hyper = dict(hyper or {})
    out: dict[str, Hyper] = {}
    for pname, p in sig.parameters.items():
        if p.kind is not inspect.Parameter.KEYWORD_ONLY or pname in CONTRACT_ARGS:
            continue
        given = hyper.pop(pname, None)
        if isinstance(given, Hyper):
            out[pname] = dataclasses.replace(given, default=p.default)
        else:
            out[pname] = Hyper(default=p.default, domain=given)
    if hyper:
        raise TypeError(f"hyperparameters {sorted(hyper)} are not keyword-only parameters")
    return out


def register(
    name: str,
    *,
    task: str,
    predictions: str,
    targets: str,
    granularity: str,
    bounded: bool,
    convex: bool,
    reference: str,
    aliases: Sequence[str] = (),
    hyper: Mapping[str, Hyper | Interval | Choice] | None = None,
    differentiable: bool = True,
    twice_differentiable: bool | None = None,
    peers: Mapping[str, str] | None = None,
    sample: Callable[..., Any] | None = None,
    boundary: Callable[..., Any] | None = None,
    checks: Callable[..., Any] | None = None,
    diff_argnums: Sequence[int] | None = None,
    batch_argnums: Sequence[int] = (0, 1),
    batch_coupled: bool = False,
    forward_mode: bool = True,
    exact_gradient: bool = True,
    overwrite: bool = False,
    builtin: bool = False,
) -> Callable[[Callable[..., jax.Array]], Callable[..., jax.Array]]:
    """Registers a loss whose body already implements the contract.

    The body takes ``(predictions, targets, ..., *, <hyperparameters>, weights=None,
    where=None, reduction="mean")`` and uses :mod:`lossjax._core` for masking and reduction.
    The decorator returns the public function: it checks concrete hyperparameters against their
    ranges, then calls a cached ``jax.jit`` of the body (``reduction``, ``axis`` and static
    hyperparameters are static arguments). Most users want :func:`register_elementwise` or
    :func:`register_per_example` instead.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}; got {task!r}")
    if predictions not in PREDICTION_KINDS:
        raise ValueError(f"predictions must be one of {PREDICTION_KINDS}; got {predictions!r}")
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}; got {granularity!r}")

    def deco(body: Callable[..., jax.Array]) -> Callable[..., jax.Array]:
        taken = [n for n in (name, *aliases) if n in _REGISTRY or n in _ALIASES]
        if taken and not overwrite:
            raise ValueError(f"loss name(s) {taken} are already registered")
        hypers = _hyperparameters(body, hyper)
        fn = _public(body, name, hypers)
        doc = inspect.getdoc(body) or ""
        from lossjax import _samples  # late import: _samples imports this module's types only

        spec = LossSpec(
            name=name,
            fn=fn,
            aliases=tuple(aliases),
            task=task,
            predictions=predictions,
            targets=targets,
            granularity=granularity,
            hyperparameters=hypers,
            differentiable=differentiable,
            twice_differentiable=(
                differentiable if twice_differentiable is None else twice_differentiable
            ),
            bounded=bounded,
            convex=convex,
            reference=reference,
            peers=dict(peers or {}),
            sample=sample or _samples.default_sampler(predictions, targets, granularity),
            boundary=boundary or _samples.default_boundary(predictions, targets, granularity),
            checks=checks,
            diff_argnums=tuple(
                diff_argnums if diff_argnums is not None
                else (0, 1) if targets in REAL_VALUED_TARGETS else (0,)
            ),
            batch_argnums=tuple(batch_argnums),
            summary=doc.splitlines()[0] if doc else name,
            builtin=builtin,
            has_axis="axis" in inspect.signature(body).parameters,
            batch_coupled=batch_coupled,
            forward_mode=forward_mode,
            exact_gradient=exact_gradient,
        )
        if overwrite:
            unregister(name, missing_ok=True)
        _REGISTRY[name] = spec
        for alias in aliases:
            _ALIASES[alias] = name
        return fn

    return deco


def _builtin(name: str, **kwargs: Any):
    """``register`` for the losses that ship with lossjax."""
    return register(name, builtin=True, **kwargs)


def _contract_signature(
    body: Callable[..., Any], n_inputs: int, with_axis: bool
) -> tuple[inspect.Signature, dict[str, Any]]:
    sig = inspect.signature(body)
    params = list(sig.parameters.values())
    positional = params[:n_inputs]
    hyper_params = {
        p.name: p.default
        for p in params[n_inputs:]
        if p.name not in CONTRACT_ARGS and p.default is not inspect.Parameter.empty
    }
    missing = [p.name for p in params[n_inputs:] if p.default is inspect.Parameter.empty]
    if missing:
        raise TypeError(f"hyperparameters {missing} need defaults")
    kw = inspect.Parameter.KEYWORD_ONLY
    new = [p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in positional]
    new += [inspect.Parameter(h, kw, default=d) for h, d in hyper_params.items()]
    if with_axis:
        new.append(inspect.Parameter("axis", kw, default=-1))
    new += [
        inspect.Parameter("weights", kw, default=None),
        inspect.Parameter("where", kw, default=None),
        inspect.Parameter("reduction", kw, default="mean"),
    ]
    return inspect.Signature(new), hyper_params


def register_elementwise(
    name: str,
    *,
    task: str = "regression",
    predictions: str = "values",
    targets: str = "values",
    safe_prediction: float = 0.0,
    safe_target: float = 0.0,
    **meta: Any,
) -> Callable[[Callable[..., jax.Array]], Callable[..., jax.Array]]:
    """Registers a per-element loss ``f(predictions, targets, *, <hyper>=default) -> loss``.

    ``f`` receives predictions and targets of the same shape, already cast to the compute
    dtype (float32 or wider), with positions dropped by ``where`` replaced by
    ``safe_prediction`` / ``safe_target``; it returns the per-element loss. The registered
    function has the whole contract: ``weights``, ``where``, ``reduction``, shape and dtype
    checks, a cached ``jit``, and it is picked up by the registry-driven tests.

    Example:
      >>> import lossjax, jax.numpy as jnp
      >>> @lossjax.register_elementwise("quartic", bounded=False, convex=True,
      ...                               reference="x**4, for illustration")
      ... def quartic(predictions, targets, *, scale=1.0):
      ...     return scale * (predictions - targets) ** 4
      >>> float(lossjax.get("quartic")(jnp.array([1.0, 2.0]), jnp.array([0.0, 0.0])))
      8.5
    """

    def deco(f: Callable[..., jax.Array]) -> Callable[..., jax.Array]:
        sig, _ = _contract_signature(f, 2, with_axis=False)

        def body(predictions, targets, *, weights=None, where=None, reduction="mean", **hyper):
            return _core.elementwise(
                name,
                lambda p, t: f(p, t, **hyper),
                predictions,
                targets,
                weights=weights,
                where=where,
                reduction=reduction,
                safe=(safe_prediction, safe_target),
            )

        body.__signature__ = sig  # type: ignore[attr-defined]
        body.__doc__ = f.__doc__
        body.__name__ = f.__name__
        body.__qualname__ = f.__qualname__
        body.__module__ = f.__module__
        return register(
            name,
            task=task,
            predictions=predictions,
            targets=targets,
            granularity="element",
            **meta,
        )(body)

    return deco


def register_per_example(
    name: str,
    *,
    task: str = "multiclass",
    predictions: str = "logits",
    targets: str = "probabilities",
    safe_prediction: float = 0.0,
    safe_target: float = 0.0,
    **meta: Any,
) -> Callable[[Callable[..., jax.Array]], Callable[..., jax.Array]]:
    """Registers a per-example loss ``f(predictions, targets, *, <hyper>=default) -> loss``.

    ``f`` receives predictions and targets of the same shape ``[..., K]`` with the class (or
    feature) axis moved last and cast to the compute dtype, and returns losses of shape
    ``[...]``. The registered function takes ``axis`` (default -1) besides the contract's
    ``weights``, ``where`` (over examples) and ``reduction``.
    """

    def deco(f: Callable[..., jax.Array]) -> Callable[..., jax.Array]:
        sig, _ = _contract_signature(f, 2, with_axis=True)

        def body(
            predictions, targets, *, axis=-1, weights=None, where=None, reduction="mean", **hyper
        ):
            return _core.per_example(
                name,
                lambda p, t: f(p, t, **hyper),
                predictions,
                targets,
                axis=axis,
                weights=weights,
                where=where,
                reduction=reduction,
                safe=(safe_prediction, safe_target),
            )

        body.__signature__ = sig  # type: ignore[attr-defined]
        body.__doc__ = f.__doc__
        body.__name__ = f.__name__
        body.__qualname__ = f.__qualname__
        body.__module__ = f.__module__
        return register(
            name,
            task=task,
            predictions=predictions,
            targets=targets,
            granularity="example",
            **meta,
        )(body)

    return deco


def unregister(name: str, *, missing_ok: bool = False) -> None:
    """Removes a registered loss and its aliases."""
    canonical = _ALIASES.get(name, name)
    spec_ = _REGISTRY.pop(canonical, None)
    if spec_ is None:
        if missing_ok:
            return
        raise KeyError(f"no loss named {name!r}")
    for alias in spec_.aliases:
        _ALIASES.pop(alias, None)


def _resolve(name: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"a loss name must be a string; got {type(name).__name__}")
    canonical = _ALIASES.get(name, name)
    if canonical not in _REGISTRY:
        import difflib

        close = difflib.get_close_matches(name, [*_REGISTRY, *_ALIASES], n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise KeyError(f"no loss named {name!r}.{hint} See lossjax.names().")
    return canonical


def get(name: str) -> Callable[..., jax.Array]:
    """Returns the loss function registered under ``name`` (a canonical name or an alias).

    Example:
      >>> import lossjax
      >>> lossjax.get("mse") is lossjax.get("squared_error")
      True
    """
    return _REGISTRY[_resolve(name)].fn


def spec(name: str) -> LossSpec:
    """Returns the :class:`LossSpec` metadata of a loss (by canonical name or alias)."""
    return _REGISTRY[_resolve(name)]


def names(*, task: str | None = None, differentiable: bool | None = None) -> list[str]:
    """Canonical names of the registered losses, sorted, optionally filtered.

    Raises:
      ValueError: ``task`` is not one of :data:`TASKS` (a typo would otherwise filter
        everything out).
    """
    if task is not None and task not in TASKS:
        import difflib

        close = difflib.get_close_matches(str(task), TASKS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"`task` must be one of {', '.join(TASKS)}; got {task!r}.{hint}")
    out = []
    for n, s in _REGISTRY.items():
        if task is not None and s.task != task:
            continue
        if differentiable is not None and s.differentiable != differentiable:
            continue
        out.append(n)
    return sorted(out)


def aliases() -> dict[str, str]:
    """Mapping alias -> canonical name."""
    return dict(sorted(_ALIASES.items()))


# --------------------------------------------------------------------------------------------
# README table


def _fmt_hyper(h: Mapping[str, Hyper]) -> str:
    parts = []
    for k, v in h.items():
        parts.append(f"`{k}={v.default!r}`" + (" (static)" if v.static else ""))
    return ", ".join(parts) if parts else "—"


def _yn(b: bool) -> str:
    return "yes" if b else "no"


def markdown_table(*, builtin_only: bool = True) -> str:
    """A markdown table of every registered loss, grouped by task."""
    rows = [
        "| task | name | aliases | predictions | targets | hyperparameters | diff. | bounded "
        "| convex | peers |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    order = {t: i for i, t in enumerate(TASKS)}
    specs = sorted(
        (s for s in _REGISTRY.values() if s.builtin or not builtin_only),
        key=lambda s: (order[s.task], s.name),
    )
    for s in specs:
        al = ", ".join(f"`{a}`" for a in s.aliases) or "—"
        peers = "; ".join(f"{lib}: `{n}`" for lib, n in s.peers.items()) or "—"
        rows.append(
            f"| {s.task} | `{s.name}` | {al} | {s.predictions} | {s.targets} | "
            f"{_fmt_hyper(s.hyperparameters)} | {_yn(s.differentiable)} | {_yn(s.bounded)} | "
            f"{_yn(s.convex)} | {peers} |"
        )
    rows += [
        "",
        "Hyperparameters marked *(static)* are compiled into the program (a new value compiles "
        "again) because they decide a shape, a loop or a formula; every other hyperparameter "
        "is traced: `jit`, `vmap` and `grad` apply to it and a new value reuses the compiled "
        "program.",
        "",
        "| name | static hyperparameter | why static |",
        "|---|---|---|",
    ]
    for s in specs:
        for k, v in s.hyperparameters.items():
            if v.static:
                rows.append(f"| `{s.name}` | `{k}` | {v.why_static} |")
    return "\n".join(rows) + "\n"


TABLE_BEGIN = "<!-- BEGIN LOSS TABLE (generated by `make readme`; do not edit) -->"
TABLE_END = "<!-- END LOSS TABLE -->"


def readme_with_table(text: str) -> str:
    """Returns README text with the block between the table markers regenerated."""
    start, end = text.index(TABLE_BEGIN), text.index(TABLE_END)
    return text[: start + len(TABLE_BEGIN)] + "\n\n" + markdown_table() + "\n" + text[end:]


def _main(argv: Sequence[str] | None = None) -> None:
    import argparse

    # `python -m lossjax.registry` runs this file as __main__, a second copy of the module:
    # use the registry that importing lossjax filled, not this copy's empty one.
    import lossjax  # noqa: F401  (registers the built-in losses)
    from lossjax import registry as reg

    parser = argparse.ArgumentParser(description="Print or update the lossjax loss table.")
    parser.add_argument("--update-readme", metavar="README", help="rewrite the table in place")
    args = parser.parse_args(argv)
    if args.update_readme:
        with open(args.update_readme, encoding="utf-8") as fh:
            text = fh.read()
        with open(args.update_readme, "w", encoding="utf-8") as fh:
            fh.write(reg.readme_with_table(text))
    else:
        print(reg.markdown_table(), end="")


if __name__ == "__main__":
    _main()
