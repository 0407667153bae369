"""Binary (and multi-label) classification losses: cross-entropy, focal, hinge.

Every function here is per-element: each position of ``predictions`` is one independent binary
decision (so a ``[batch, labels]`` array is a multi-label problem), and ``reduction="none"``
returns ``weights * loss`` with the predictions' shape.
"""

from __future__ import annotations

import functools
from typing import Unpack

import jax
import jax.numpy as jnp
from jax import lax

from lossjax import _core, _fused
from lossjax._classes import smooth
from lossjax._core import Array, ArrayLike, Contract, Reduction
from lossjax._hyper import NONNEGATIVE, UNIT, Choice, Hyper
from lossjax._samples import binary as fixtures
from lossjax.registry import _builtin, _elementwise

_LOG_FLOOR = -100.0  # log(p) is clamped here, as in PyTorch's binary_cross_entropy


def _binary_targets_check(predictions, targets, **_):
    t = jnp.asarray(targets)
    return [((t >= 0) & (t <= 1), "targets must lie in [0, 1]")]


def _probability_check(predictions, targets, **kw):
    p = jnp.asarray(predictions)
    return [((p >= 0) & (p <= 1), "predictions must be probabilities in [0, 1]")] + (
        _binary_targets_check(predictions, targets)
    )


def _smoothed(y: Array, label_smoothing) -> Array:
    """Keras's binary label smoothing ``y (1 - eps) + eps / 2`` (``smooth`` with ``K = 2``)."""
    return smooth(y, jnp.asarray(label_smoothing).astype(y.dtype), 2)


# label smoothing is a number the loss only multiplies by: traced (may follow a schedule)
_BINARY_SMOOTHING = Hyper(UNIT)


def _signed_check(predictions, targets, **_):
    t = jnp.asarray(targets)
    return [((t == 1) | (t == -1), "targets must be -1 or +1")]


# --------------------------------------------------------------------------------------------
# Cross-entropy on probabilities


def _bce_prob_value(p: Array, y: Array) -> Array:
    log_p = jnp.maximum(jnp.log(p), _LOG_FLOOR)
    log_1mp = jnp.maximum(jnp.log1p(-p), _LOG_FLOOR)
    return -(y * log_p + (1.0 - y) * log_1mp)


@functools.cache
def _bce_prob_kernel(eps: float):
    # d/dp = (p - y) / (p (1 - p)), with the denominator floored so that p = 0 or 1 gives a
    # large finite gradient of the right sign instead of inf or NaN (the floor depends on the
    # input dtype, so that the gradient is finite in float16 too). A fused kernel
    # (lossjax._fused); the derivative in the targets is autodiff of the clamped value,
    # log(1 - p) - log(p) with both logs clamped.
    return _fused.elementwise_jvp(
        _bce_prob_value,
        lambda p, y: (p - y) / jnp.maximum(p * (1.0 - p), eps),
        "bce_prob",
    )


def _bce_prob(p: Array, y: Array, eps: float) -> Array:
    return _bce_prob_kernel(float(eps))(p, y)


@_builtin(
    diff_argnums=(0, 1),  # soft targets are real-valued
    aliases=("bce",),
    task="binary",
    predictions="probabilities",
    targets="binary",
    granularity="element",
    bounded=False,
    convex=True,
    checks=_probability_check,
    hyper={"label_smoothing": _BINARY_SMOOTHING},
    peers={"torch": "binary_cross_entropy", "keras": "BinaryCrossentropy"},
)
def binary_cross_entropy(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    label_smoothing: float | ArrayLike = 0.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Binary cross-entropy on probabilities, ``-(y log p + (1 - y) log(1 - p))``.

    .. math::

       \ell(p, y) = -\bigl(\tilde y \max(\log p, -100)
         + (1 - \tilde y) \max(\log(1 - p), -100)\bigr),
       \qquad \tilde y = (1 - \varepsilon)\, y + \varepsilon / 2

    Prefer :func:`binary_cross_entropy_with_logits` when you have logits: it is exact where
    this one must clamp. Here, to stay finite at exactly ``p = 0`` and ``p = 1``:

    * each log is clamped below at -100 (as PyTorch does), so a confidently wrong prediction
      costs at most 100 nats;
    * the gradient is ``(p - y) / max(p (1 - p), 1e-12)``: of the right sign and finite at
      the boundary (a custom JVP; autodiff of the clamped value would give 0 or NaN there).
      For float16 predictions the floor is ``2 / 65504`` so the gradient fits the dtype.

    Targets may be soft (any value in ``[0, 1]``); :math:`\varepsilon` is ``label_smoothing``,
    as in Keras's ``BinaryCrossentropy(label_smoothing=eps)`` (:func:`lossjax.smooth_labels`
    with two classes). Predictions outside ``[0, 1]`` give NaN (a log of a negative number);
    use :func:`lossjax.checked` to catch them and targets outside ``[0, 1]``.

    Args:
      predictions: probabilities ``[...]`` in ``[0, 1]``.
      targets: array of the same shape, in ``[0, 1]``.
      label_smoothing: :math:`\varepsilon` in ``[0, 1]`` (a number; may be traced).

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> round(float(lossjax.binary_cross_entropy(jnp.array([0.9]), jnp.array([1.0]))), 6)
      0.105361

    Reference:
      Cox, "The Regression Analysis of Binary Sequences", JRSS B 20 (1958).
    """
    eps = _core.grad_floor(_core.float_input("predictions", predictions, _core.loss_name()).dtype)
    return _core.elementwise(
        _core.loss_name(), lambda p, y: _bce_prob(p, _smoothed(y, label_smoothing), eps),
        predictions, targets,
        weights=weights, where=where, reduction=reduction, safe=(0.5, 0.0),
    )


# --------------------------------------------------------------------------------------------
# Cross-entropy on logits


def _softplus_parts(x: Array) -> tuple[Array, Array, Array]:
    """``(log1p(exp(-|x|)), max(x, 0), max(-x, 0))``: ``softplus(x)`` is the sum of the first
    two and ``softplus(-x)`` of the first and last, exact and finite for every finite ``x``;
    written without ``select`` so that a loss built from them fuses into its reduction."""
    return jnp.log1p(jnp.exp(-jnp.abs(x))), jnp.maximum(x, 0.0), jnp.maximum(-x, 0.0)


def _sigmoid_ce_value(x: Array, y: Array) -> Array:
    # -(y log sigmoid(x) + (1 - y) log sigmoid(-x)) = y softplus(-x) + (1 - y) softplus(x)
    lse, xp, xn = _softplus_parts(x)
    return lse + y * xn + (1.0 - y) * xp


def _sigmoid_ce_pw_value(x: Array, y: Array, pos_weight: Array) -> Array:
    lse, xp, xn = _softplus_parts(x)
    return pos_weight * y * (lse + xn) + (1.0 - y) * (lse + xp)


# Fused kernels (lossjax._fused): d/dx = sigmoid(x) - y, and with pos_weight
# pos_weight * y * (sigmoid(x) - 1) + (1 - y) * sigmoid(x).
_sigmoid_ce_plain = _fused.elementwise_jvp(
    _sigmoid_ce_value, lambda x, y: jax.nn.sigmoid(x) - y, "sigmoid_ce"
)
_sigmoid_ce_pw = _fused.elementwise_jvp(
    _sigmoid_ce_pw_value,
    lambda x, y, pw: pw * y * (jax.nn.sigmoid(x) - 1.0) + (1.0 - y) * jax.nn.sigmoid(x),
    "sigmoid_ce_pos_weight",
)


def _sigmoid_ce(x: Array, y: Array, pos_weight: Array | None = None) -> Array:
    if pos_weight is None:
        return _sigmoid_ce_plain(x, y)
    return _sigmoid_ce_pw(x, y, pos_weight)


@_builtin(
    diff_argnums=(0, 1),  # soft targets are real-valued
    aliases=("sigmoid_cross_entropy",),
    task="binary",
    predictions="logits",
    targets="binary",
    granularity="element",
    bounded=False,
    convex=True,
    hyper={
        "pos_weight": Hyper(NONNEGATIVE, optional=True),
        "label_smoothing": _BINARY_SMOOTHING,
    },
    checks=_binary_targets_check,
    peers={
        "optax": "sigmoid_binary_cross_entropy",
        "torch": "binary_cross_entropy_with_logits",
        "keras": "BinaryCrossentropy(from_logits=True)",
    },
)
def binary_cross_entropy_with_logits(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    pos_weight: ArrayLike | None = None,
    label_smoothing: float | ArrayLike = 0.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Binary cross-entropy on logits, computed in log space.

    .. math::

       \ell(x, y) = -\bigl(w_+ \tilde y \log \sigma(x) + (1 - \tilde y) \log \sigma(-x)\bigr),
       \qquad \tilde y = (1 - \varepsilon)\, y + \varepsilon / 2

    where :math:`x` is the logit, :math:`y` the (possibly soft) target in ``[0, 1]``,
    :math:`\sigma` the sigmoid, :math:`w_+` the ``pos_weight`` (1 when None) and
    :math:`\varepsilon` the ``label_smoothing``. ``log sigmoid`` is evaluated as
    ``-softplus(-x)``, exact and finite for every finite logit (±1e4, the dtype's maximum);
    the gradient is ``sigmoid(x) - y`` when ``pos_weight`` is None. The smoothing is Keras's
    ``BinaryCrossentropy(from_logits=True, label_smoothing=eps)`` (:func:`lossjax.smooth_labels`
    with two classes).

    Args:
      predictions: logits ``[...]``.
      targets: array of the same shape, in ``[0, 1]``.
      pos_weight: optional non-negative weight of the positive term, broadcastable to
        ``[...]`` (e.g. one per label, ``n_negative / n_positive``), as in PyTorch.
      label_smoothing: :math:`\varepsilon` in ``[0, 1]`` (a number; may be traced).

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> round(float(lossjax.binary_cross_entropy_with_logits(jnp.array([0.0]),
      ...                                                      jnp.array([1.0]))), 6)
      0.693147

    Reference:
      Cox (1958); PyTorch's ``binary_cross_entropy_with_logits`` for ``pos_weight``.
    """
    name = _core.loss_name()
    pw = None if pos_weight is None else _core.numeric_input("pos_weight", pos_weight, name)
    fn = lambda x, y: _sigmoid_ce(
        x, _smoothed(y, label_smoothing), None if pw is None else pw.astype(x.dtype)
    )
    return _core.elementwise(
        name, fn, predictions, targets, weights=weights, where=where, reduction=reduction
    )


# --------------------------------------------------------------------------------------------
# Focal loss


def _focal_parts(x: Array, y: Array):
    """Cross-entropy, ``p = sigmoid(x)``, ``q = sigmoid(-x)`` and ``u = 1 - p_t``.

    ``u = y q + (1 - y) p`` forms ``q`` and ``p`` each without subtracting from 1, so
    it is exact where it is tiny (a confident right prediction), which is what
    ``(1 - p_t)**gamma`` needs; it equals ``exp(logaddexp(log y + log q, log(1 - y) + log p))``.
    """
    ce = _sigmoid_ce_value(x, y)
    # One exp for all four: e = exp(-|x|) is the one inside the softplus (XLA merges the two),
    # and with r = 1 / (1 + e) the sigmoid of the larger of x, -x is r and of the smaller e r;
    # s = (1 + sign x) / 2 (1, 0, or 1/2 at x = 0, where e = 1) picks without a select, which
    # keeps the value fusible into its reduction, and the products with s in {0, 1/2, 1} are
    # exact (no 1 - p cancellation).
    e = jnp.exp(-jnp.abs(x))
    r = 1.0 / (1.0 + e)
    s = 0.5 * (1.0 + jnp.sign(x))
    p = r * (s + e * (1.0 - s))
    q = r * (e * s + (1.0 - s))
    return ce, p, q, y * q + (1.0 - y) * p


def _focal_factor(u: Array, gamma: float | Array, safe: bool = False) -> Array:
    """``u**gamma`` for ``u`` in [0, 1] and ``gamma >= 0`` (0 at ``u = 0`` for ``gamma > 0``).

    ``safe=True`` gives a fractional power the derivative 0 at ``u = 0`` (instead of
    ``inf * 0 = NaN``) through a double where; the fused value keeps the select-free power.
    A traced ``gamma`` is always safe, in ``gamma`` too (``0**0 = 1``, and the derivative in
    ``gamma``, ``log(u) u**gamma``, is 0 at ``u = 0``); a Python integer ``gamma`` is an
    integer power.
    """
    if not isinstance(gamma, int | float):
        pos = u > 0
        return jnp.where(pos, jnp.power(jnp.where(pos, u, 1.0), gamma),
                         jnp.where(gamma == 0, 1.0, 0.0))
    if float(gamma).is_integer():
        return lax.integer_pow(u, int(gamma))
    if safe:
        pos = u > 0
        return jnp.where(pos, jnp.power(jnp.where(pos, u, 1.0), gamma), 0.0)
    return jnp.power(u, gamma)


def _alpha_t(y: Array, alpha: Array) -> Array:
    return alpha * y + (1.0 - alpha) * (1.0 - y)


@jax.custom_jvp
def _ratio(a: Array, b: Array) -> Array:
    """``a / b`` whose tangent is ``(da - (a / b) db) / b``.

    Autodiff of ``a / b`` forms ``a db / b**2``, and ``b**2`` underflows to 0 for ``b`` below
    about 1e-19 in float32 (the focal loss's ``u = 1 - p_t`` of a confident right logit,
    ``x >= 44``): ``jax.hessian`` was NaN there (issue 11, item 8). This form never squares
    ``b``, and for ``a = b`` (a hard target) the tangent cancels to exactly 0.
    """
    return a / b


@_ratio.defjvp
def _ratio_jvp(primals, tangents):
    (a, b), (da, db) = primals, tangents
    out = a / b
    return out, (da - out * db) / b


@functools.cache
def _focal_kernel(gamma: float | None, with_alpha: bool):
    """The fused focal loss for a Python ``gamma``, or a traced one (``None``) (lossjax._fused).

    With ``gamma=None`` the kernel takes ``gamma`` as its first parameter, ``kernel(x, y,
    gamma[, alpha])``: one compiled program for every value, differentiable in ``gamma``.

    With ``u = 1 - p_t``: ``d/dx [u**gamma ce] = u**gamma (gamma ce d(log u)/dx + p - y)``
    and ``d(log u)/dx = q - y q / u`` (the log-space derivative, written with ``u**gamma``
    and never ``u**(gamma - 1)``, so it is finite at ``u = 0`` for every ``gamma``; there the
    limit of ``y q / u`` is ``y``).
    """

    # A traced gamma takes the general formulas, which hold at gamma = 0 too (the factor is 1
    # and gamma * (...) is 0); only a Python 0 skips them.
    zero = gamma == 0

    def split(params):
        return (params[0], params[1:]) if gamma is None else (gamma, params)

    def value(x, y, *params):
        g, alpha = split(params)
        ce, _, _, u = _focal_parts(x, y)
        out = ce if zero else _focal_factor(u, g) * ce
        return _alpha_t(y, alpha[0]) * out if with_alpha else out

    def slope(x, y, *params):
        g, alpha = split(params)
        ce, p, q, u = _focal_parts(x, y)
        d = p - y
        if not zero:
            pos = u > 0
            w = jnp.where(pos, _ratio(y * q, jnp.where(pos, u, 1.0)), y)
            d = _focal_factor(u, g, safe=True) * (g * (ce * (q - w)) + d)
        return _alpha_t(y, alpha[0]) * d if with_alpha else d

    def target_slope(x, y, *params):
        # d/dy [u**gamma ce] = u**gamma (gamma (q - p) ce / u - x), as d ce/dy = -x and
        # du/dy = q - p; written with ce / u (-> 1 where u underflows to 0, a confident right
        # logit of a hard target) instead of u**(gamma - 1), which is infinite there for
        # gamma < 1: autodiff of the value gives NaN at such points.
        g, alpha = split(params)
        ce, p, q, u = _focal_parts(x, y)
        d = -x
        if not zero:
            pos = u > 0
            ratio = jnp.where(pos, _ratio(ce, jnp.where(pos, u, 1.0)), 1.0)
            d = _focal_factor(u, g, safe=True) * (g * ((q - p) * ratio) - x)
        if not with_alpha:
            return d
        plain = ce if zero else _focal_factor(u, g, safe=True) * ce
        return _alpha_t(y, alpha[0]) * d + (2.0 * alpha[0] - 1.0) * plain

    label = "traced" if gamma is None else f"{gamma:g}"
    return _fused.elementwise_jvp(value, slope, f"sigmoid_focal_gamma_{label}",
                                  target_slope=target_slope)


def _sigmoid_focal(x: Array, y: Array, alpha: Array | None, gamma) -> Array:
    g = _core.known_value(gamma)
    kernel = _focal_kernel(g, alpha is not None)
    params = () if g is not None else (jnp.asarray(_core.hyper_value(gamma), x.dtype),)
    if alpha is not None:
        params = (*params, alpha)
    return kernel(x, y, *params)


_KERAS_EPSILON = 1e-7  # keras.backend.epsilon(), the clip of BinaryFocalCrossentropy


def _probability_logits(p: Array) -> Array:
    """``log(p) - log(1 - p)`` of ``p`` clipped to ``[1e-7, 1 - 1e-7]`` (as Keras clips), NaN
    for ``p`` outside ``[0, 1]`` (never a clipped, plausible number for garbage)."""
    outside = (p < 0) | (p > 1)
    c = jnp.clip(jnp.where(outside, 0.5, p), _KERAS_EPSILON, 1.0 - _KERAS_EPSILON)
    return jnp.where(outside, jnp.nan, jnp.log(c) - jnp.log1p(-c))


@_builtin(
    diff_argnums=(0, 1),  # soft targets are real-valued
    aliases=("focal",),
    task="binary",
    predictions="logits",
    targets="binary",
    granularity="element",
    bounded=False,
    convex=False,
    hyper={
        "alpha": Hyper(UNIT, optional=True),
        "gamma": Hyper(NONNEGATIVE, fast=(0.0, 2.0)),
        "from_logits": Hyper(Choice((True, False)), static=True,
                             why_static="chooses whether predictions are logits or "
                             "probabilities (clipped, then turned into logits)"),
        "label_smoothing": _BINARY_SMOOTHING,
    },
    boundary=fixtures.focal_boundary,
    checks=_binary_targets_check,
    peers={
        "optax": "sigmoid_focal_loss",
        "torchvision": "ops.sigmoid_focal_loss",
        "keras": "BinaryFocalCrossentropy",
    },
)
def sigmoid_focal(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    alpha: float | ArrayLike | None = None,
    gamma: float = 2.0,
    from_logits: bool = True,
    label_smoothing: float | ArrayLike = 0.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Sigmoid focal loss: cross-entropy down-weighted on well-classified examples.

    .. math::

       \begin{aligned}
       \ell(x, y) &= -\alpha_t\, (1 - p_t)^{\gamma}
         \bigl(\tilde y \log \sigma(x) + (1 - \tilde y) \log \sigma(-x)\bigr),\\
       1 - p_t &= \tilde y\, \sigma(-x) + (1 - \tilde y)\, \sigma(x), \qquad
       \alpha_t = \alpha \tilde y + (1 - \alpha)(1 - \tilde y)
       \end{aligned}

    where :math:`x` is the logit, :math:`\sigma` the sigmoid, :math:`\tilde y = (1 -
    \varepsilon) y + \varepsilon / 2` the target smoothed by ``label_smoothing``
    :math:`\varepsilon`, and :math:`\alpha_t = 1` when ``alpha`` is None (no class
    weighting). ``1 - p_t`` is computed as written (no ``1 - p`` cancellation), and the
    gradient is a fused kernel written as
    ``(1 - p_t)**gamma * (gamma * CE * d log(1 - p_t)/dx + p - y)`` (times ``alpha_t``, with
    ``CE`` the cross-entropy factor and ``p = sigmoid(x)``), never with
    ``(1 - p_t)**(gamma - 1)``, so value and gradient are finite for ``gamma = 0``, fractional
    ``gamma`` and logits of ±1e4 (where autodiff of ``pow`` gives ``0 * inf``).

    ``gamma`` is traced: ``jax.jit(sigmoid_focal)(x, y, gamma=g)``, a sweep or a schedule
    reuse one compiled program, and ``vmap``/``grad`` over ``gamma`` apply (its derivative
    ``log(1 - p_t) (1 - p_t)**gamma CE`` is 0, not NaN, where ``1 - p_t = 0``). A Python
    ``gamma`` of 0 (plain cross-entropy) or 2 (the default, an integer power) compiles a
    specialised kernel. The default ``alpha=None`` matches optax; the paper and torchvision use
    ``alpha=0.25``.

    ``from_logits=False`` takes probabilities ``p``, as Keras's
    ``BinaryFocalCrossentropy(from_logits=False)``: ``p`` is clipped to ``[1e-7, 1 - 1e-7]``
    (Keras's epsilon; there the gradient in ``p`` is 0, as in Keras) and turned into the logit
    :math:`x = \log p - \log(1 - p)`, so the loss is the one above with the cross-entropy
    ``-(y log p + (1 - y) log(1 - p))`` (at most about 16 nats, not
    :func:`binary_cross_entropy`'s clamp at 100). Keras clips inside the cross-entropy only,
    not in ``1 - p_t``, so the two differ only where ``p`` is within 1e-7 of 0 or 1: by a
    factor ``(1 - 1e-7)**gamma`` for a wrong prediction there, and a right prediction at
    exactly 0 or 1 costs ``1e-7**gamma * 1e-7`` here (``1e-21`` for ``gamma = 2``), 0 in Keras.
    A probability outside ``[0, 1]`` gives NaN (Keras clips it to a finite number).

    Args:
      predictions: logits ``[...]`` (probabilities with ``from_logits=False``).
      targets: array of the same shape, in ``[0, 1]``.
      alpha: optional weight of the positive class in ``[0, 1]`` (scalar or broadcastable).
      gamma: focusing parameter ``>= 0`` (traced; Python 0 and 2 have their own kernels).
      from_logits: whether predictions are logits (default) or probabilities (static).
      label_smoothing: ``eps`` in ``[0, 1]``: targets ``y (1 - eps) + eps / 2`` everywhere
        (cross-entropy, ``p_t`` and ``alpha_t``), as Keras's ``BinaryFocalCrossentropy``
        (a number; may be traced).

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> round(float(lossjax.sigmoid_focal(jnp.array([0.0]), jnp.array([1.0]))), 6)
      0.173287

    Reference:
      Lin, Goyal, Girshick, He and Dollár, "Focal Loss for Dense Object Detection", ICCV
      (2017), eq. 5.
    """
    name = _core.loss_name()
    a = None if alpha is None else _core.numeric_input("alpha", alpha, name)
    to_logits = (lambda x: x) if from_logits else _probability_logits
    return _core.elementwise(
        name,
        lambda x, y: _sigmoid_focal(to_logits(x), _smoothed(y, label_smoothing),
                                    None if a is None else a.astype(x.dtype), gamma),
        predictions, targets, weights=weights, where=where, reduction=reduction,
        safe=(0.0 if from_logits else 0.5, 0.0),
    )


# --------------------------------------------------------------------------------------------
# Hinge losses (targets in {-1, +1})

_HINGE = dict(
    task="binary", predictions="scores", targets="signed", granularity="element",
    bounded=False, convex=True, twice_differentiable=False, checks=_signed_check,
)


@_elementwise(
    # the subgradient at the hinge (y f = 1) is 0, as jax.nn.relu's
    slope=lambda f, y: jnp.where(y * f < 1.0, -y, 0.0),
    peers={"optax": "hinge_loss", "keras": "Hinge"},
    **_HINGE,
)
def hinge(
    predictions: ArrayLike,
    targets: ArrayLike,
    **contract: Unpack[Contract],
) -> Array:
    r"""Hinge loss, ``max(0, 1 - y * f)`` for scores ``f`` and targets ``y`` in {-1, +1}.

    .. math::

       \ell(f, y) = \max(0,\, 1 - y f)

    The subgradient at the hinge (``y f = 1``) is 0. Targets in {0, 1} are *not* converted:
    a 0 target gives the constant loss 1; use ``2 * y - 1``.

    Args:
      predictions: real scores ``[...]``.
      targets: array of the same shape with values -1 or +1.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> lossjax.hinge(jnp.array([0.5, 2.0]), jnp.array([1.0, -1.0]), reduction="none").tolist()
      [0.5, 3.0]

    Reference:
      Cortes and Vapnik, "Support-Vector Networks", Machine Learning 20 (1995).
    """
    return jnp.maximum(1.0 - targets * predictions, 0.0)


@_elementwise(
    slope=lambda f, y: -2.0 * y * jnp.maximum(1.0 - y * f, 0.0),
    peers={"keras": "SquaredHinge"},
    **_HINGE,
)
def squared_hinge(
    predictions: ArrayLike,
    targets: ArrayLike,
    **contract: Unpack[Contract],
) -> Array:
    r"""Squared hinge loss, ``max(0, 1 - y * f)**2`` for targets ``y`` in {-1, +1}.

    .. math::

       \ell(f, y) = \max(0,\, 1 - y f)^2

    Differentiable everywhere (gradient ``-2 y max(0, 1 - y f)``), unlike the hinge.

    Args:
      predictions: real scores ``[...]``.
      targets: array of the same shape with values -1 or +1.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> float(lossjax.squared_hinge(jnp.array([-1.0]), jnp.array([1.0])))
      4.0

    Reference:
      Lee and Mangasarian, "SSVM: A Smooth Support Vector Machine", Comput. Optim. Appl.
      20 (2001).
    """
    return jnp.square(jnp.maximum(1.0 - targets * predictions, 0.0))


# --------------------------------------------------------------------------------------------
# More margin losses on signed targets (issue 5): perceptron, modified Huber, exponential,
# soft margin.


@_elementwise(
    peers={"optax": "perceptron_loss"},
    **_HINGE,
)
def perceptron(
    predictions: ArrayLike,
    targets: ArrayLike,
    **contract: Unpack[Contract],
) -> Array:
    r"""Perceptron loss, ``max(0, -y * f)`` for scores ``f`` and targets ``y`` in {-1, +1}.

    .. math::

       \ell(f, y) = \max(0,\, -y f)

    A hinge without margin: zero for every correctly signed score. The subgradient at
    ``y f = 0`` is 0.

    Args:
      predictions: real scores ``[...]``.
      targets: array of the same shape with values -1 or +1.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> lossjax.perceptron(jnp.array([0.5, 2.0]), jnp.array([1.0, -1.0]),
      ...                    reduction="none").tolist()
      [0.0, 2.0]

    Reference:
      Rosenblatt, "The Perceptron", Psychological Review 65 (1958); Bishop, *Pattern
      Recognition and Machine Learning* (2006), eq. 4.54.
    """
    return jax.nn.relu(-targets * predictions)


def _modified_huber(f: Array, y: Array) -> Array:
    z = y * f
    m = jax.nn.relu(1.0 - z)
    # Both branches are finite everywhere, so the unused one cannot poison the gradient.
    return jnp.where(z >= -1.0, m * m, -4.0 * z)


@_elementwise(
    peers={"sklearn": "SGDClassifier(loss='modified_huber')"},
    **{**_HINGE, "twice_differentiable": False},
)
def modified_huber(
    predictions: ArrayLike,
    targets: ArrayLike,
    **contract: Unpack[Contract],
) -> Array:
    r"""Modified Huber loss for targets in {-1, +1}: a smoothed, outlier-robust hinge.

    .. math::

       \ell(f, y) = \begin{cases} \max(0,\, 1 - z)^2 & z \ge -1 \\ -4 z & z < -1 \end{cases},
       \qquad z = y f

    It is the squared hinge near the margin and linear for badly misclassified points; the two
    pieces meet with matching value (4) and slope (-4) at ``z = -1``, so it is once
    differentiable everywhere.

    Args:
      predictions: real scores ``[...]``.
      targets: array of the same shape with values -1 or +1.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> lossjax.modified_huber(jnp.array([0.5, 3.0, 2.0]), jnp.array([1.0, -1.0, 1.0]),
      ...                        reduction="none").tolist()
      [0.25, 12.0, 0.0]

    Reference:
      Zhang, "Solving Large Scale Linear Prediction Problems Using Stochastic Gradient Descent
      Algorithms", ICML (2004).
    """
    return _modified_huber(predictions, targets)


@_elementwise(
    peers={"sklearn": "GradientBoostingClassifier(loss='exponential')"},
    boundary=fixtures.margin_boundary,
    **{**_HINGE, "twice_differentiable": True},
)
def exponential(
    predictions: ArrayLike,
    targets: ArrayLike,
    **contract: Unpack[Contract],
) -> Array:
    r"""Exponential (AdaBoost) loss, ``exp(-y * f)`` for targets ``y`` in {-1, +1}.

    .. math::

       \ell(f, y) = e^{-y f}

    Smooth and convex; it grows exponentially with the negative margin, so its true value
    leaves the compute dtype's range: it is ``inf`` (value and gradient) for margins
    ``y * f`` below ``-log(finfo.max)``, about -88.7 in float32 (float16 and bfloat16 inputs
    compute in float32) and -709.8 in float64, and finite above (the gradient of float16
    scores, cast back to float16, overflows below about -11). Clip scores (or use
    :func:`soft_margin`, its logistic counterpart) where that can happen.

    Args:
      predictions: real scores ``[...]``.
      targets: array of the same shape with values -1 or +1.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> [round(v, 6) for v in lossjax.exponential(
      ...     jnp.array([0.0, 1.0]), jnp.array([1.0, -1.0]), reduction="none").tolist()]
      [1.0, 2.718282]

    Reference:
      Freund and Schapire, JCSS 55 (1997); Friedman, Hastie and Tibshirani, "Additive
      Logistic Regression: a Statistical View of Boosting", Annals of Statistics 28 (2000).
    """
    return jnp.exp(-targets * predictions)


@_elementwise(
    peers={"torch": "soft_margin_loss"},
    **{**_HINGE, "twice_differentiable": True},
)
def soft_margin(
    predictions: ArrayLike,
    targets: ArrayLike,
    **contract: Unpack[Contract],
) -> Array:
    r"""Soft margin (logistic) loss, ``log(1 + exp(-y * f))`` for targets ``y`` in {-1, +1}.

    .. math::

       \ell(f, y) = \log\bigl(1 + e^{-y f}\bigr)

    The binary cross-entropy on logits written for signed targets, computed as
    ``softplus(-y f)``: exact and finite for scores of any magnitude.

    Args:
      predictions: real scores ``[...]``.
      targets: array of the same shape with values -1 or +1.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> round(float(lossjax.soft_margin(jnp.array([0.0]), jnp.array([1.0]))), 6)
      0.693147

    Reference:
      Hastie, Tibshirani and Friedman, *The Elements of Statistical Learning*, 2nd ed.
      (2009), eq. 10.18; PyTorch's ``soft_margin_loss``.
    """
    return jax.nn.softplus(-targets * predictions)


# --------------------------------------------------------------------------------------------
# Binary sparsemax (a Fenchel-Young loss)


def _sparse_plus(x: Array) -> Array:
    """0 for x <= -1, (x + 1)**2 / 4 for |x| < 1, x for x >= 1 (Blondel et al. 2020)."""
    # The quadratic is evaluated on clip(x) so that every branch stays finite for any x (no
    # jnp.where gradient trap at x = dtype max); at the knots the branch whose slope is the
    # (continuous) derivative is taken: 1 at x = 1, 0 at x = -1.
    c = jnp.clip(x, -1.0, 1.0)
    return jnp.where(x <= -1.0, 0.0, jnp.where(x >= 1.0, x, 0.25 * (c + 1.0) ** 2))


@_elementwise(
    diff_argnums=(0, 1),  # soft targets are real-valued
    task="binary",
    predictions="logits",
    targets="binary",
    granularity="element",
    bounded=False,
    convex=True,
    twice_differentiable=False,
    checks=_binary_targets_check,
    peers={"optax": "sparsemax_loss / binary_sparsemax_loss (its deprecated alias in older "
           "optax, removed by 0.2.8)"},
)
def binary_sparsemax(
    predictions: ArrayLike,
    targets: ArrayLike,
    **contract: Unpack[Contract],
) -> Array:
    r"""Binary sparsemax loss: the Fenchel-Young loss of the sparse sigmoid.

    .. math::

       \ell(x, y) = s(x) - x y + y (y - 1), \qquad
       s(x) = \begin{cases} 0 & x \le -1 \\ (x + 1)^2 / 4 & |x| < 1 \\ x & x \ge 1 \end{cases}

    where :math:`s` is the sparse plus. For ``y = 1`` this is
    :math:`s(-x)` and for ``y = 0`` it is :math:`s(x)` (optax's
    ``sparsemax_loss``); soft targets in ``[0, 1]`` are allowed, and the loss is zero exactly
    when the sparse sigmoid ``clip((x + 1) / 2, 0, 1)`` equals ``y``. Its gradient is
    ``sparse_sigmoid(x) - y``.

    Args:
      predictions: logits ``[...]``.
      targets: array of the same shape, in ``[0, 1]``.

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> lossjax.binary_sparsemax(jnp.array([0.0, 2.0, 2.0]), jnp.array([1.0, 1.0, 0.0]),
      ...                          reduction="none").tolist()
      [0.25, 0.0, 2.0]

    Reference:
      Blondel, Martins and Niculae, "Learning with Fenchel-Young Losses", JMLR 21 (2020),
      section 4.4.
    """
    return _sparse_plus(predictions) - predictions * targets + targets * (targets - 1.0)
