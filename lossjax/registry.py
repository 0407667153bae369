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

Hyperparameter domains live in :mod:`lossjax._hyper`, the contract's shared docstring text in
:mod:`lossjax._docs`, and the README's table is rendered by :mod:`lossjax._readme`.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import jax
import jax.numpy as jnp

from lossjax import _core, _docs, _fused
from lossjax._hyper import (  # noqa: F401  (re-exported: the domains losses declare)
    NONNEGATIVE,
    POSITIVE,
    UNIT,
    UNIT_OPEN,
    UNIT_RIGHT_OPEN,
    Choice,
    Hyper,
    Interval,
)

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
      unit: for a loss registered per unit (:func:`register_elementwise`,
        :func:`register_per_example`), the plain per-unit function ``f(p, t, **hyper)``.
      slope: its hand-written derivative in the predictions, when it has one (a fused
        gradient; the tests compare it with autodiff of ``unit``).
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
    unit: Callable[..., jax.Array] | None = None
    slope: Callable[..., jax.Array] | None = None


F = TypeVar("F", bound=Callable[..., Any])

_REGISTRY: dict[str, LossSpec] = {}
_ALIASES: dict[str, str] = {}


def _public(body: Callable[..., jax.Array], name: str, hypers: Mapping[str, Hyper]):
    """Wraps a loss body: hyperparameter range checks on concrete values, then a cached jit."""
    sig = inspect.signature(body)
    static = [p for p in ("reduction", "axis") if p in sig.parameters]
    static += [h for h, spec in hypers.items() if spec.static]
    jitted = jax.jit(_core.named(name, body), static_argnames=tuple(static))
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
    sig: inspect.Signature, hyper: Mapping[str, Hyper | Interval | Choice] | None
) -> dict[str, Hyper]:
    """Each keyword-only argument outside the contract, with its default from ``sig``."""
    hyper = dict(hyper or {})
    out: dict[str, Hyper] = {}
    for pname, p in sig.parameters.items():
        if p.kind is not inspect.Parameter.KEYWORD_ONLY or pname in CONTRACT_ARGS:
            continue
        given = hyper.pop(pname, None)
        base = given if isinstance(given, Hyper) else Hyper(given)
        out[pname] = dataclasses.replace(base, default=p.default)
    if hyper:
        raise TypeError(f"hyperparameters {sorted(hyper)} are not keyword-only parameters")
    return out


def register(
    name: str | None = None,
    *,
    task: str,
    predictions: str,
    targets: str,
    granularity: str,
    bounded: bool,
    convex: bool,
    reference: str | None = None,
    units: tuple[str, str] | None = None,
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
    unit: Callable[..., jax.Array] | None = None,
    slope: Callable[..., jax.Array] | None = None,
) -> Callable[[F], F]:
    """Registers a loss whose body already implements the contract.

    The body takes ``(predictions, targets, ..., *, <hyperparameters>, weights=None,
    where=None, reduction="mean")`` and uses :mod:`lossjax._core` for masking and reduction.
    The decorator returns the public function: it checks concrete hyperparameters against their
    ranges, then calls a cached ``jax.jit`` of the body (``reduction``, ``axis`` and static
    hyperparameters are static arguments). Most users want :func:`register_elementwise` or
    :func:`register_per_example` instead.

    Each fact is taken from one place: the name is the function's (unless ``name`` is given),
    each hyperparameter's default is its keyword argument's default, the reference is the
    docstring's ``Reference`` section (``reference`` only serves a docstring without one), and
    the description of ``weights``, ``where`` and ``reduction`` is the contract's
    (:mod:`lossjax._docs`), appended to the docstring's ``Args`` with ``units``, the name of
    the unit that gets one loss and the shape of those losses, in words (by default, those of
    the ``granularity``: ``("element", "``predictions.shape``")``).
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}; got {task!r}")
    if predictions not in PREDICTION_KINDS:
        raise ValueError(f"predictions must be one of {PREDICTION_KINDS}; got {predictions!r}")
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}; got {granularity!r}")

    def deco(body: F) -> F:
        loss_name = name or body.__name__
        taken = [n for n in (loss_name, *aliases) if n in _REGISTRY or n in _ALIASES]
        if taken and not overwrite:
            raise ValueError(f"loss name(s) {taken} are already registered")
        sig = inspect.signature(body)
        hypers = _hyperparameters(sig, hyper)
        cited = _docs.reference(body.__doc__)
        if cited and reference and builtin:
            raise ValueError(f"{loss_name}: the reference is the docstring's Reference section; "
                             "do not pass `reference` too")
        if builtin and not cited:
            raise ValueError(f"{loss_name}: the docstring needs a `Reference:` section")
        contract = tuple(a for a in _DOCUMENTED if a in sig.parameters)
        if contract:
            body.__doc__ = _docs.with_contract(
                body.__doc__, units=units or _docs.UNITS[granularity], args=contract,
                loss=loss_name, strict=builtin)
        fn = _public(body, loss_name, hypers)
        doc = inspect.getdoc(body) or ""
        from lossjax import _samples  # late import: _samples imports this module's types only

        spec = LossSpec(
            name=loss_name,
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
            reference=cited or reference or "",
            peers=dict(peers or {}),
            sample=sample or _samples.default_sampler(predictions, targets, granularity),
            boundary=boundary or _samples.default_boundary(predictions, targets, granularity),
            checks=checks,
            diff_argnums=tuple(
                diff_argnums if diff_argnums is not None
                else (0, 1) if targets in REAL_VALUED_TARGETS else (0,)
            ),
            batch_argnums=tuple(batch_argnums),
            summary=doc.splitlines()[0] if doc else loss_name,
            builtin=builtin,
            has_axis="axis" in sig.parameters,
            batch_coupled=batch_coupled,
            forward_mode=forward_mode,
            exact_gradient=exact_gradient,
            unit=unit,
            slope=slope,
        )
        if overwrite:
            unregister(loss_name, missing_ok=True)
        _REGISTRY[loss_name] = spec
        for alias in aliases:
            _ALIASES[alias] = loss_name
        return fn  # type: ignore[return-value]  # the same signature, with the contract

    return deco


def _builtin(**kwargs: Any) -> Callable[[F], F]:
    """``register`` for the losses that ship with lossjax (a body with the contract)."""
    return register(builtin=True, **kwargs)


# The contract's arguments described by lossjax._docs, in the order they are documented
# (``axis`` only where the per-example route adds it; other losses describe their own axes).
_DOCUMENTED = ("weights", "where", "reduction")


def _contract_signature(f: Callable[..., Any], with_axis: bool) -> inspect.Signature:
    """The public signature of a per-unit function ``f(predictions, targets, *, <hyper>)``:
    its own arguments (a ``**contract`` placeholder dropped), then ``axis`` for a per-example
    loss, then ``weights``, ``where`` and ``reduction`` with the contract's defaults."""
    sig = inspect.signature(f)
    params = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    positional = [p for p in params if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    if len(positional) != 2:
        raise TypeError(f"{f.__name__}: a per-unit loss takes (predictions, targets) "
                        f"positionally; got {[p.name for p in positional]}")
    missing = [p.name for p in params[2:] if p.default is inspect.Parameter.empty]
    if missing:
        raise TypeError(f"hyperparameters {missing} need defaults")
    kw = inspect.Parameter.KEYWORD_ONLY
    new = [p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in positional]
    new += [p.replace(kind=kw) for p in params[2:] if p.name not in CONTRACT_ARGS]
    if with_axis:
        new.append(inspect.Parameter("axis", kw, default=-1, annotation="int"))
    new += [
        inspect.Parameter("weights", kw, default=None, annotation="ArrayLike | None"),
        inspect.Parameter("where", kw, default=None, annotation="ArrayLike | None"),
        inspect.Parameter("reduction", kw, default="mean", annotation="Reduction"),
    ]
    return sig.replace(parameters=new)


def _per_unit_body(
    f: Callable[..., jax.Array],
    name: str,
    granularity: str,
    hyper: Mapping[str, Hyper | Interval | Choice] | None,
    slope: Callable[..., jax.Array] | None,
    target_slope: Callable[..., jax.Array] | None,
    safe: tuple[float, float],
) -> Callable[..., jax.Array]:
    """The contract's body around a per-unit function (see :func:`register_elementwise`)."""
    per_example = granularity == "example"
    sig = _contract_signature(f, with_axis=per_example)
    static = {h for h, s in _hyperparameters(sig, hyper).items() if s.static}

    def unit(p: jax.Array, t: jax.Array, **hyper_values: Any) -> jax.Array:
        """The per-unit loss of arrays in the compute dtype, with the fused gradient if any."""
        fixed, traced = {}, {}
        for k, v in hyper_values.items():
            v = _core.hyper_value(v)
            if k in static or v is None or _core.known_value(v) is not None:
                fixed[k] = v  # a static value, or a Python number compiled as a constant
            else:
                traced[k] = jnp.asarray(v).astype(p.dtype)
        if slope is None:
            return f(p, t, **fixed, **traced)
        keys = tuple(traced)

        def bind(g: Callable[..., jax.Array]) -> Callable[..., jax.Array]:
            return lambda p, t, *vs: g(p, t, **fixed, **dict(zip(keys, vs, strict=True)))

        fused = _fused.elementwise_jvp(
            bind(f), bind(slope), name, None if target_slope is None else bind(target_slope))
        return fused(p, t, *traced.values())

    def body(predictions, targets, *, weights=None, where=None, reduction="mean", axis=-1,
             **hyper_values):
        kw = dict(weights=weights, where=where, reduction=reduction, safe=safe)
        fn = functools.partial(unit, **hyper_values)
        if per_example:
            return _core.per_example(name, fn, predictions, targets, axis=axis, **kw)
        return _core.elementwise(name, fn, predictions, targets, **kw)

    body.unit = unit  # type: ignore[attr-defined]  # for a loss built on this one (RMSE)
    body.__signature__ = sig  # type: ignore[attr-defined]
    functools.update_wrapper(body, f, assigned=("__module__", "__name__", "__qualname__",
                                                "__doc__"), updated=())
    return body


def _register_per_unit(granularity: str, name: str | None, slope, target_slope,
                       safe_prediction: float, safe_target: float,
                       meta: dict[str, Any]) -> Callable[[F], F]:
    given = meta.pop("granularity", granularity)
    if given != granularity:
        raise ValueError(f"granularity {given!r} given to a {granularity!r} registration")

    def deco(f: F) -> F:
        loss_name = name or f.__name__
        body = _per_unit_body(f, loss_name, granularity, meta.get("hyper"), slope,
                              target_slope, (safe_prediction, safe_target))
        return register(loss_name, granularity=granularity, unit=f, slope=slope,
                        **meta)(body)  # type: ignore[return-value]

    return deco


def register_elementwise(
    name: str | None = None,
    *,
    task: str = "regression",
    predictions: str = "values",
    targets: str = "values",
    slope: Callable[..., jax.Array] | None = None,
    target_slope: Callable[..., jax.Array] | None = None,
    safe_prediction: float = 0.0,
    safe_target: float = 0.0,
    **meta: Any,
) -> Callable[[F], F]:
    """Registers a per-element loss ``f(predictions, targets, *, <hyper>=default) -> loss``.

    ``f`` receives predictions and targets of the same shape, already cast to the compute
    dtype (float32 or wider), with positions dropped by ``where`` replaced by
    ``safe_prediction`` / ``safe_target``, and its traced hyperparameters as arrays of that
    dtype; it returns the per-element loss. The registered function (named ``name``, by
    default ``f``'s name) has the whole contract: ``weights``, ``where``, ``reduction``, shape
    and dtype checks, a cached ``jit``, and it is picked up by the registry-driven tests.

    ``slope(p, t, *, <hyper>)``, when given, is the derivative of the loss in the predictions,
    written by hand: the loss then gets a fused gradient (:mod:`lossjax._fused`; one pass
    writes the gradient, none stores a temporary), and ``target_slope`` the derivative in the
    targets where autodiff of ``f`` would pick another subgradient. The registry-driven tests
    compare both with finite differences.

    Example:
      >>> import lossjax, jax.numpy as jnp
      >>> @lossjax.register_elementwise(
      ...     bounded=False, convex=True, reference="x**4, for illustration",
      ...     slope=lambda p, t, scale: 4 * scale * (p - t) ** 3)
      ... def quartic(predictions, targets, *, scale=1.0):
      ...     \"\"\"Quartic error.
      ...
      ...     Args:
      ...       predictions: values.
      ...       targets: values.
      ...       scale: a positive factor.
      ...     \"\"\"
      ...     return scale * (predictions - targets) ** 4
      >>> float(lossjax.get("quartic")(jnp.array([1.0, 2.0]), jnp.array([0.0, 0.0])))
      8.5
    """
    return _register_per_unit("element", name, slope, target_slope, safe_prediction,
                              safe_target, dict(task=task, predictions=predictions,
                                                targets=targets, **meta))


def register_per_example(
    name: str | None = None,
    *,
    task: str = "multiclass",
    predictions: str = "logits",
    targets: str = "probabilities",
    safe_prediction: float = 0.0,
    safe_target: float = 0.0,
    **meta: Any,
) -> Callable[[F], F]:
    """Registers a per-example loss ``f(predictions, targets, *, <hyper>=default) -> loss``.

    ``f`` receives predictions and targets of the same shape ``[..., K]`` with the class (or
    feature) axis moved last and cast to the compute dtype, and returns losses of shape
    ``[...]``. The registered function takes ``axis`` (default -1) besides the contract's
    ``weights``, ``where`` (over examples) and ``reduction``.
    """
    return _register_per_unit("example", name, None, None, safe_prediction, safe_target,
                              dict(task=task, predictions=predictions, targets=targets, **meta))


def _elementwise(**meta: Any) -> Callable[[F], F]:
    """:func:`register_elementwise` for the losses that ship with lossjax."""
    return register_elementwise(builtin=True, **meta)


def _per_example(**meta: Any) -> Callable[[F], F]:
    """:func:`register_per_example` for the losses that ship with lossjax."""
    return register_per_example(builtin=True, **meta)


def per_unit(loss: Callable[..., Any]) -> Callable[..., jax.Array]:
    """The per-unit function ``f(p, t, **hyperparameters)`` of a loss registered with
    :func:`register_elementwise` or :func:`register_per_example` (with its fused gradient),
    for a loss built on it: ``p`` and ``t`` are arrays in the compute dtype, already masked."""
    unit = getattr(loss, "unit", None)
    if unit is None:
        raise TypeError(f"{getattr(loss, '__name__', loss)!r} is not a per-unit loss")
    return unit


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
