"""Cross-entropies made robust to easy examples or noisy labels: focal, generalized
(Lq), symmetric and bi-tempered.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lossjax import _core
from lossjax._classes import (
    ClassInputs,
    class_inputs,
    dense_dot,
    finish,
    pick,
    smooth,
    smoothed_nll,
    smoothing,
)
from lossjax._core import Array, ArrayLike, Reduction
from lossjax._samples import multiclass as fixtures
from lossjax.multiclass._kernel import label_nll
from lossjax.multiclass._meta import (
    CE_HYPERS,
    LABEL_HYPERS,
    LOGIT_LABELS,
    class_args_doc,
)
from lossjax.multiclass._tempered import log_t, tempered_log_softmax
from lossjax.registry import NONNEGATIVE, Hyper, Interval, _builtin


def _alpha_at_label(ci: ClassInputs, alpha: Array | None) -> Array | None:
    """The label's ``alpha``: a scalar as it is, one weight per class looked up."""
    if alpha is None or alpha.ndim == 0:
        return alpha
    return alpha[ci.labels]


def _one_minus_p_pow(log_p: Array, gamma) -> Array:
    """``(1 - p)**gamma`` from ``log p``, finite with a finite gradient at ``p = 1``.

    ``1 - p = -expm1(log p)`` is exact for small ``p``. A whole ``gamma`` Python knows (the
    default 2 is specialised, ``Hyper(fast=...)``) is a product (``lax.integer_pow``: no
    ``log`` and ``exp`` per class, and its derivative at 0 is finite); any other is
    ``exp(gamma log(1 - p))`` with ``1 - p`` floored at the smallest normal number, so that a
    fractional ``gamma`` never differentiates ``x**gamma`` at 0.
    """
    one_minus = -jnp.expm1(log_p)
    known = _core.known_value(gamma)
    if known is not None and known == int(known):
        return jax.lax.integer_pow(one_minus, int(known))
    one_minus = jnp.maximum(one_minus, jnp.finfo(log_p.dtype).tiny)
    return jnp.exp(_core.hyper_value(gamma) * jnp.log(one_minus))


@_builtin(
    bounded=False,
    convex=False,
    hyper={
        "gamma": Hyper(NONNEGATIVE, fast=(0.0, 2.0)),
        "alpha": Hyper(NONNEGATIVE, optional=True),
        "label_smoothing": CE_HYPERS["label_smoothing"],
        "ignore_index": CE_HYPERS["ignore_index"],
    },
    boundary=fixtures.focal_boundary,
    peers={"keras": "CategoricalFocalCrossentropy(from_logits=True)"},
    **LOGIT_LABELS,
)
def softmax_focal(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    gamma: float = 2.0,
    alpha: float | ArrayLike | None = None,
    label_smoothing: float = 0.0,
    ignore_index: int | None = -100,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Softmax focal loss: ``-sum_c alpha_c y_c (1 - p_c)**gamma log p_c``, ``p = softmax(x)``.

    .. math::

       \ell(x, y) = -\sum_{c=1}^{K} \alpha_c\, \tilde y_c\, (1 - p_c)^{\gamma} \log p_c,
       \qquad p = \operatorname{softmax}(x), \quad
       \tilde y = (1 - \varepsilon)\, y + \varepsilon / K

    with :math:`y` the one-hot label (or the probability target), :math:`\gamma` the
    ``gamma``, :math:`\varepsilon` the ``label_smoothing`` and :math:`\alpha_c` the ``alpha``:
    a scalar or one weight per class ``[K]`` (None: 1); unlike ``class_weights`` elsewhere it is
    *not* part of the mean's denominator, as in Keras (whose default is ``alpha=0.25``;
    lossjax's is None). ``(1 - p)**gamma`` is computed from log-probabilities, finite with
    finite gradients for fractional ``gamma`` at ``p = 1``, and in ``gamma`` too. ``gamma`` is
    traced (a sweep or ``vmap``/``grad`` over it reuses the compiled program); ``gamma = 0`` and
    ``alpha=None`` is the softmax cross-entropy. With integer labels the loss reads the fused
    cross-entropy kernel's :math:`-\log p_y` (one exponential per logit); with integer labels
    and a smoothing, the sum is taken as :math:`(1 - \varepsilon) T_y + \frac{\varepsilon}{K}
    \sum_c T_c` (:math:`T_c` the class's term), without a one-hot array.

    Args:
      predictions: logits ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or probabilities (shape of
        ``predictions``).
      gamma: focusing parameter ``>= 0`` (traced; a Python 0 compiles the plain path, a
        Python 2, the default, the product ``(1 - p) (1 - p)``).
      alpha: optional non-negative scalar or ``[K]`` class weights.
      label_smoothing: :math:`\varepsilon` in ``[0, 1)`` (traced; a Python 0 compiles the plain
      path).
      ignore_index: integer label whose examples are dropped (static; None to drop none).
      axis: the class axis (static).

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x = jnp.array([[0.0, 0.0]])  # p_y = 1/2: (1/2)**2 * log 2
      >>> round(float(lossjax.softmax_focal(x, jnp.array([1]))), 6)
      0.173287

    Reference:
      Lin, Goyal, Girshick, He and Dollár, "Focal Loss for Dense Object Detection", ICCV
      (2017); Keras's ``CategoricalFocalCrossentropy``.
    """
    name = _core.loss_name()
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, mask_predictions=False,
    )
    a = None
    if alpha is not None:
        a = _core.numeric_input("alpha", alpha, name).astype(ci.x.dtype)
        if a.ndim > 1 or (a.ndim == 1 and a.shape[0] != ci.num_classes):
            raise ValueError(
                f"{name}: `alpha` must be a scalar or have shape ({ci.num_classes},) (one per "
                f"class); got {tuple(a.shape)}."
            )

    def term(lp, alpha_c):
        if _core.is_known(gamma, 0.0):
            out = -lp
        else:
            out = -_one_minus_p_pow(lp, gamma) * lp
        if alpha_c is None:
            return out
        # one weight per class along the last axis, broadcast explicitly (no rank promotion)
        return jnp.reshape(alpha_c, (1,) * (out.ndim - alpha_c.ndim) + alpha_c.shape) * out

    eps, on = smoothing(label_smoothing)
    if ci.labels is not None and not on:
        # log p_y = -c with c the fused kernel's cross-entropy (one exponential per logit,
        # value and gradient)
        c = label_nll(ci)
        loss = term(-c, _alpha_at_label(ci, a))
    elif ci.labels is not None:
        # Keras's dense definition with the smoothed one-hot y' = (1 - eps) onehot + eps / K,
        # expanded as (1 - eps) T_y + eps / K sum_c T_c: no one-hot array, and the label's
        # term from log p_y = x_y - lse per row. A -inf logit (log p = -inf) has a positive
        # target, so the loss is inf, unless it is off the label and a traced eps is 0 (a
        # zero target leaves its term out); the terms are evaluated on a safe log p there.
        x = _core.mask_safe(ci.mask, ci.x, 0.0, axis=-1)
        lse = jax.nn.logsumexp(x, axis=-1)
        log_probs = x - lse[..., None]
        ruled_out = log_probs == -jnp.inf
        total = jnp.sum(term(jnp.where(ruled_out, 0.0, log_probs), a), axis=-1)
        lp_y = pick(x, ci.labels) - lse
        own = term(jnp.where(lp_y == -jnp.inf, 0.0, lp_y), _alpha_at_label(ci, a))
        loss = (1.0 - eps) * own + total * (eps / ci.num_classes)
        inf = (lp_y == -jnp.inf) | (jnp.any(ruled_out, axis=-1) & (eps != 0))
        loss = jnp.where(inf, jnp.inf, loss)
    else:
        log_probs = jax.nn.log_softmax(ci.x, axis=-1)
        y = ci.rows
        if on:
            y = smooth(y, eps, ci.num_classes)
        # A zero target leaves out its class's term, even with a -inf logit (log p = -inf),
        # where a non-zero target makes the loss inf. The term is evaluated on a safe log p
        # there (double where), so that the gradient with respect to a zero target elsewhere
        # is the term itself, as finite differences give.
        ruled_out = log_probs == -jnp.inf
        terms = term(jnp.where(ruled_out, 0.0, log_probs), a)
        loss = jnp.sum(jnp.where(ruled_out, jnp.where(y != 0, jnp.inf, 0.0), y * terms),
                       axis=-1)
    return finish(ci, loss, reduction, name)


@_builtin(
    bounded=True,
    convex=False,
    hyper={**LABEL_HYPERS, "q": Interval(0.0, 1.0, low_open=True)},
    boundary=fixtures.class_boundary("logits", smoothing=False),
    peers={"keras": "CategoricalGeneralizedCrossEntropy (on softmax probabilities)"},
    **LOGIT_LABELS,
)
@class_args_doc
def generalized_cross_entropy(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    q: float | ArrayLike = 0.7,
    ignore_index: int | None = -100,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Generalized cross-entropy (L_q loss): ``(1 - p_y**q) / q`` with ``p = softmax(x)``.

    .. math::

       \ell(x, y) = \sum_{c=1}^{K} y_c\, \frac{1 - p_c^{\,q}}{q},
       \qquad p = \operatorname{softmax}(x)

    with :math:`y` the one-hot label (the loss is then :math:`(1 - p_y^{\,q}) / q`) or the
    probability target. A Box-Cox interpolation between the cross-entropy (``q -> 0``) and the
    mean absolute error of the probabilities (``q = 1``, ``1 - p_y``), robust to label noise;
    bounded by ``1 / q``. ``p_y**q = exp(q log p_y)`` comes from log-probabilities. The paper
    uses ``q = 0.7`` (the default here; Keras's default is 0.5, and Keras takes probabilities
    where lossjax takes logits).

    Args:
      predictions: logits ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or probabilities (shape of
        ``predictions``).
      q: exponent in ``(0, 1]``.
      {class_args}

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x = jnp.log(jnp.array([[0.25, 0.75]]))
      >>> float(lossjax.generalized_cross_entropy(x, jnp.array([0]), q=0.5))
      1.0

    Reference:
      Zhang and Sabuncu, "Generalized Cross Entropy Loss for Training Deep Neural Networks
      with Noisy Labels", NeurIPS (2018), eq. 6.
    """
    name = _core.loss_name()
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights, mask_predictions=False,
    )
    if ci.labels is not None:
        # p_y**q = exp(-q c), c = -log p_y from the fused kernel (one exponential per logit)
        loss = -jnp.expm1(-q * label_nll(ci)) / q
    else:
        # finite (1 / q) with a zero gradient at log p = -inf: no class needs leaving out
        log_probs = jax.nn.log_softmax(ci.x, axis=-1)
        loss = jnp.sum(ci.rows * (-jnp.expm1(q * log_probs) / q), axis=-1)
    return finish(ci, loss, reduction, name)


@_builtin(
    bounded=False,
    convex=False,
    hyper={
        **LABEL_HYPERS,
        "alpha": NONNEGATIVE,
        "beta": NONNEGATIVE,
        "A": Interval(-float("inf"), 0.0, high_open=True),
    },
    boundary=fixtures.class_boundary("logits", smoothing=False),
    peers={},
    **LOGIT_LABELS,
)
@class_args_doc
def symmetric_cross_entropy(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    alpha: float | ArrayLike = 0.1,
    beta: float | ArrayLike = 1.0,
    A: float | ArrayLike = -4.0,
    ignore_index: int | None = -100,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Symmetric cross-entropy: ``alpha * CE(y, p) + beta * RCE(y, p)``, ``p = softmax(x)``.

    .. math::

       \ell(x, y) = -\alpha \sum_{c=1}^{K} y_c \log p_c
         - \beta \sum_{c=1}^{K} p_c \max(\log y_c, A),
       \qquad p = \operatorname{softmax}(x)

    with :math:`y` the one-hot label (or the probability target): the cross-entropy plus the
    reverse cross-entropy, in which each :math:`\log y_c` is clamped below at :math:`A < 0`
    (the ``A``, standing for :math:`\log 0`), so that for an integer label the reverse term is
    :math:`-A (1 - p_y)`. Defaults are the paper's CIFAR-10 values (``alpha = 0.1``, ``beta = 1``,
    ``A = -4``).

    Args:
      predictions: logits ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or probabilities (shape of
        ``predictions``).
      alpha: non-negative weight of the cross-entropy.
      beta: non-negative weight of the reverse cross-entropy.
      A: negative value that stands for ``log 0``.
      {class_args}

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x = jnp.log(jnp.array([[0.5, 0.5]]))  # CE = log 2, RCE = 4 * 0.5
      >>> round(float(lossjax.symmetric_cross_entropy(x, jnp.array([0]), alpha=1.0)), 6)
      2.693147

    Reference:
      Wang, Ma, Chen, Luo, Yi and Bailey, "Symmetric Cross Entropy for Robust Learning with
      Noisy Labels", ICCV (2019), eqs. 4-6.
    """
    name = _core.loss_name()
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights, mask_predictions=False,
    )
    if ci.labels is not None:
        # c = -log p_y from the fused kernel (one exponential per logit); 1 - p_y = -expm1(-c)
        c = label_nll(ci)
        return finish(ci, alpha * c + beta * (A * jnp.expm1(-c)), reduction, name)
    log_probs = jax.nn.log_softmax(ci.x, axis=-1)
    ce, _ = smoothed_nll(log_probs, ci, 0.0)
    probs = jnp.exp(log_probs)
    pos = ci.rows > 0
    log_y = jnp.maximum(jnp.log(jnp.where(pos, ci.rows, 1.0)), A)
    rce = -jnp.sum(probs * jnp.where(pos, log_y, A), axis=-1)
    return finish(ci, alpha * ce + beta * rce, reduction, name)



@_builtin(
    bounded=False,
    convex=False,
    hyper={
        **LABEL_HYPERS,
        "t1": Hyper(Interval(0.0, 1.0), fast=(1.0,)),
        # t2 = inf is no temperature: exp_inf is not defined (the domain's right end is open)
        "t2": Hyper(Interval(1.0, float("inf"), high_open=True), fast=(1.0,)),
        "num_iters": Hyper(Interval(1.0, 100.0), static=True,
                           why_static="the number of unrolled fixed-point iterations (a loop)"),
    },
    boundary=fixtures.class_boundary("logits", smoothing=False),
    peers={"google-research": "bi_tempered_loss"},
    **LOGIT_LABELS,
)
@class_args_doc
def bi_tempered_logistic(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    t1: float = 0.8,
    t2: float = 1.2,
    num_iters: int = 5,
    ignore_index: int | None = -100,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Bi-tempered logistic loss: bounded (``t1 < 1``), on a heavy-tailed softmax (``t2 > 1``).

    .. math::

       \begin{aligned}
       \ell(x, y) &= \sum_{c=1}^{K} \Bigl[y_c \bigl(\log_{t_1} y_c - \log_{t_1} \hat y_c\bigr)
         - \frac{y_c^{2 - t_1} - \hat y_c^{2 - t_1}}{2 - t_1}\Bigr],
       \qquad \hat y_c = \exp_{t_2}\bigl(x_c - \lambda(x)\bigr),\\
       \log_t u &= \frac{u^{1 - t} - 1}{1 - t}, \qquad
       \exp_t u = \bigl[1 + (1 - t)\, u\bigr]_+^{1 / (1 - t)}
       \end{aligned}

    with :math:`y` the one-hot label (or the probability target), the tempered logarithm and
    exponential :math:`\log_t`, :math:`\exp_t` (the ordinary ones at :math:`t = 1`), and
    :math:`\hat y` the tempered softmax, its normaliser :math:`\lambda(x)` such that
    :math:`\sum_c \hat y_c = 1`. ``t1 = t2 = 1`` is exactly the softmax cross-entropy. For
    ``t2 > 1``, ``lambda`` is found by the paper's fixed-point iteration (``num_iters`` steps)
    and polished by six Newton steps to full precision; its gradient comes from the implicit
    function theorem, so ``grad`` and ``hessian`` are exact, in ``t2`` too (``d lambda / d t2``
    from the same theorem; ``d log exp_t(u) / dt`` is written as
    ``(log y)**2 (exp(-z) - 1 + z) / z**2`` with ``z = (t2 - 1)(-log y)``, a series near
    ``z = 0``, so ``t2 -> 1`` loses no digits). Where ``(t2 - 1) log K > 20`` the normaliser
    (about ``K**(t2-1) / (t2-1)``, past float32's range from ``t2 ~ 56`` for 5 classes) is not
    formed: ``log y_hat`` is found in log space by a safeguarded Newton iteration (``num_iters``
    is then unused), so every finite ``t2 >= 1`` gives finite values and gradients (the tempered
    softmax tends to uniform as ``t2`` grows). ``t2 < 1`` (the light-tailed, finite-support
    softmax, which needs a bisection) is not supported. All powers are taken in log space, so
    values and gradients stay finite for logits of ±1e4. The defaults (0.8, 1.2) are one of the
    paper's settings.

    The gradient with respect to probability targets is ``log_t1(y_c) - log_t1(y_hat_c)``,
    at zero targets too (``log_t1(0) = -1 / (1 - t1)``). For ``t1 = 1`` the derivative of
    ``y log y`` at ``y = 0`` is ``-inf``: that term is given the gradient 0 there.

    Args:
      predictions: logits ``[..., K, ...]`` with the classes along ``axis``.
      targets: integer labels (shape without ``axis``) or probabilities (shape of
        ``predictions``).
      t1: temperature of the loss in ``[0, 1]`` (traced; < 1 bounds the loss).
      t2: temperature of the softmax, finite and ``>= 1`` (traced; > 1 gives heavier
        tails). A Python ``1.0`` compiles the plain softmax; any other value, or an array,
        shares one program that holds every solver and runs the one ``t2`` needs
        (``lax.switch``; under ``vmap`` each is computed with a value in its own range and
        selected). A traced ``t2 < 1`` (outside the domain) gives NaN.
      num_iters: fixed-point iterations for the normaliser (static; unused where
        ``(t2 - 1) log K > 20``).
      {class_args}

    Returns:
      The reduced loss.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x, y = jnp.array([[2.0, 0.0, -1.0]]), jnp.array([0])
      >>> ce = lossjax.softmax_cross_entropy(x, y)
      >>> bool(jnp.allclose(lossjax.bi_tempered_logistic(x, y, t1=1.0, t2=1.0), ce))
      True
      >>> round(float(lossjax.bi_tempered_logistic(x, y, t1=0.8, t2=1.2)), 4)
      0.16

    Reference:
      Amid, Warmuth, Anil and Koren, "Robust Bi-Tempered Logistic Loss Based on Bregman
      Divergences", NeurIPS (2019), eq. 9 and Algorithm 1.
    """
    name = _core.loss_name()
    ci = class_inputs(
        name, predictions, targets, axis=axis, weights=weights, where=where,
        ignore_index=ignore_index, class_weights=class_weights,
    )
    log_yhat = tempered_log_softmax(ci.x, t2, num_iters)
    t1 = _core.hyper_value(t1)
    if _core.is_known(t1, 1.0):
        # The terms -sum y + sum y_hat cancel (both distributions sum to 1).
        if ci.labels is not None:
            loss = -pick(log_yhat, ci.labels)
        else:
            # sum_c y_c log y_c (0 log 0 = 0, gradient 0 there) - sum_c y_c log y_hat_c
            nz = ci.rows > 0
            ys = jnp.where(nz, ci.rows, 1.0)
            loss = jnp.sum(jnp.where(nz, ci.rows * jnp.log(ys), 0.0), axis=-1)
            loss = loss - dense_dot(ci.rows, log_yhat)
    else:
        b = 2.0 - t1
        mass = jnp.sum(jnp.exp(b * log_yhat), axis=-1) / b
        if ci.labels is not None:
            loss = -log_t(pick(log_yhat, ci.labels), t1) - 1.0 / b + mass
        else:
            # log_t1 is finite (-1 / (1 - t1)) with a zero derivative at log 0 = -inf, so no
            # term needs leaving out: at y_c = 0 the gradient with respect to y_c is the
            # true partial derivative log_t1(y_c) - log_t1(y_hat_c), finite for t1 < 1.
            y = ci.rows
            nz = y > 0
            log_y = jnp.where(nz, jnp.log(jnp.where(nz, y, 1.0)), -jnp.inf)
            log_t_y = log_t(log_y, t1)
            if _core.known_value(t1) is None:
                # t1 = 1 traced: log_1(0) = -inf, whose term 0 log 0 is 0 (gradient 0 there)
                log_t_y = jnp.where(nz | (t1 != 1.0), log_t_y, 0.0)
            own = y * log_t_y - jnp.exp(b * log_y) / b
            if _core.known_value(t1) is None:  # log_1(y_hat) = -inf at a -inf logit
                loss = jnp.sum(own, axis=-1) - dense_dot(y, log_t(log_yhat, t1)) + mass
            else:
                cross = y * log_t(log_yhat, t1)
                loss = jnp.sum(own - cross, axis=-1) + mass
    return finish(ci, loss, reduction, name)


# --------------------------------------------------------------------------------------------
# Sparsemax (a Fenchel-Young loss)
