"""Segmentation losses: region overlaps (Dice, Tversky, focal Tversky, Jaccard) and Lovász.

Layout (channels last; move a channels-first array with ``jnp.moveaxis(x, 1, -1)``), with
``B`` any number of leading batch axes (none for a single image) and ``S`` the
``spatial_dims`` pixel axes (static; the default ``None`` means 2):

* ``mode="binary"``: predictions ``[*B, *S]`` (one logit or probability per pixel), targets
  ``[*B, *S]``: 0/1 floats, or integers where ``ignore_index`` marks pixels to skip. With
  ``spatial_dims`` left at its default (``None``, 2 pixel axes) at most one batch axis is
  accepted, ``[B, H, W]`` or ``[H, W]``: a fourth axis is far more often a channel axis given
  to the default mode by mistake (``[B, H, W, C]`` would otherwise be split into a batch
  ``(B, H)`` of ``W x C`` images) than a second batch axis, so it raises a ``ValueError``
  that names ``mode`` and ``spatial_dims``. Pass ``spatial_dims=2`` explicitly to declare
  several leading batch axes ``[*B, H, W]``.
* ``mode="multilabel"``: predictions ``[*B, *S, C]`` (independent sigmoids), targets of the
  same shape (0/1 floats or integers with ``ignore_index``).
* ``mode="multiclass"``: predictions ``[*B, *S, C]`` (a softmax over ``C``), targets are
  integer labels ``[*B, *S]`` (with ``ignore_index``, default -100 as in PyTorch) or
  probabilities / one-hot rows ``[*B, *S, C]``. A label outside ``[0, C)`` that is not
  ``ignore_index`` makes the image's loss NaN (never a silently wrong number).

``from_logits=True`` (default) applies the sigmoid or softmax; ``from_logits=False`` takes
probabilities.

``per_image=True`` (default): one loss per image (``reduction="none"`` gives shape ``B``);
``weights`` and ``where`` act on images. ``per_image=False``: the pixels of all the kept
images are pooled into one region before the ratio is taken (Keras's and
segmentation_models_pytorch's default), so the loss is a scalar for every ``reduction``;
``where`` still drops images, and ``weights`` are refused (a weighted pool has no meaning).

Region losses take a soft count per class ``c``: ``TP_c = sum p t``, ``P_c = sum p``,
``T_c = sum t`` over the valid pixels, a ratio per class with ``smooth`` added to numerator
and denominator, then the mean over classes (``ignore_background=True`` leaves out class 0).
A ratio ``0 / 0`` (``smooth=0``, nothing predicted, nothing present) counts as a perfect 1.
"""

from __future__ import annotations

import math
from typing import Literal

import jax
import jax.numpy as jnp

from lossjax import _core
from lossjax._core import Array, ArrayLike, Reduction
from lossjax._samples import segmentation as fixtures
from lossjax.registry import NONNEGATIVE, POSITIVE, Choice, Hyper, Interval, _builtin

Mode = Literal["binary", "multiclass", "multilabel"]
MODES: tuple[Mode, ...] = ("binary", "multiclass", "multilabel")


class _Seg:
    """Prepared inputs: ``probs``/``scores``, ``t`` and validity ``v`` all ``[N, P, C]``.

    ``N`` is the flattened batch of images (shape ``batch``); ``mask``/``w`` have ``batch``.
    """

    def __init__(self, probs, scores, t, v, mask, w, bad, per_image, batch):
        self.probs, self.scores, self.t, self.v = probs, scores, t, v
        self.mask, self.w, self.bad, self.per_image, self.batch = mask, w, bad, per_image, batch


def _check_spatial_dims(name, spatial_dims) -> int:
    """The number of pixel axes: ``spatial_dims``, or 2 for ``None`` (the default)."""
    if spatial_dims is None:
        return 2
    if isinstance(spatial_dims, bool) or not isinstance(spatial_dims, int) or spatial_dims < 1:
        raise ValueError(f"{name}: `spatial_dims` must be a Python int >= 1 (or None for 2); "
                         f"got {spatial_dims!r}.")
    return spatial_dims


def _seg_inputs(name, predictions, targets, *, mode, from_logits, ignore_index, per_image,
                weights, where, spatial_dims, binary_only=False) -> _Seg:
    declared = spatial_dims is not None
    spatial_dims = _check_spatial_dims(name, spatial_dims)
    x = _core.float_input("predictions", predictions, name)
    t = _core.numeric_input("targets", targets, name)
    if mode == "binary":
        if x.ndim < spatial_dims:
            raise ValueError(f"{name}: `predictions` must be [..., *pixels] with "
                             f"{spatial_dims} pixel axes in binary mode; got shape "
                             f"{tuple(x.shape)}.")
        if not declared and x.ndim > spatial_dims + 1:
            channel = ("this loss is binary only: use lovasz_softmax for classes, or vmap "
                       "over the channel axis" if binary_only else
                       "pass mode='multilabel' (independent channels) or mode='multiclass' "
                       "(a softmax over C)")
            raise ValueError(
                f"{name}: binary `mode` with the default `spatial_dims` takes predictions "
                f"[B, H, W] or [H, W]; got shape {tuple(x.shape)}. For a channel axis "
                f"[B, H, W, C] {channel}; for several batch axes [*B, H, W] pass "
                "`spatial_dims=2` explicitly.")
        _core.check_same_shape("predictions", x, "targets", t, name)
        x, t = x[..., None], t[..., None]
    else:
        if x.ndim < spatial_dims + 1:
            raise ValueError(f"{name}: `predictions` must be [..., *pixels, C] with "
                             f"{spatial_dims} pixel axes in {mode} mode; got shape "
                             f"{tuple(x.shape)}.")
        if mode == "multiclass" and t.shape == x.shape[:-1]:
            if not jnp.issubdtype(t.dtype, jnp.integer):
                raise TypeError(f"{name}: `targets` of shape {t.shape} must be integer labels; "
                                f"got dtype {t.dtype}.")
        else:
            _core.check_shape("targets", t, x.shape, name,
                              "the predictions' shape" + (", or integer labels without the "
                                                          "class axis" if mode == "multiclass"
                                                          else ""))
    if not per_image and weights is not None:
        raise ValueError(f"{name}: `weights` apply to images; with per_image=False the images "
                         "are pooled into one region, so pass `where` to drop images instead.")
    sparse = mode == "multiclass" and t.shape == x.shape[:-1]
    batch = tuple(x.shape[: x.ndim - 1 - spatial_dims])
    k = x.shape[-1]
    dtype = _core.compute_dtype(x, t)
    mask = _core.prepare_where(where, batch, name)
    w = _core.prepare_weights(weights, batch, dtype, name)
    # explicit sizes: with an empty batch there is no -1 to infer
    n, pixels = math.prod(batch), math.prod(x.shape[len(batch):-1])
    x = x.astype(dtype).reshape(n, pixels, k)
    img = None if mask is None else mask.reshape(n, 1, 1)
    bad = None
    if sparse:
        labels = t.reshape(n, pixels)
        valid = jnp.ones(labels.shape, bool) if ignore_index is None else labels != ignore_index
        invalid = valid & ((labels < 0) | (labels >= k))
        bad = jnp.any(invalid, axis=-1)
        tt = jax.nn.one_hot(jnp.where(valid & ~invalid, labels, 0), k, dtype=dtype)
        v = jnp.broadcast_to(valid[..., None], tt.shape)
    else:
        tt = t.reshape(x.shape)
        if jnp.issubdtype(tt.dtype, jnp.integer) and ignore_index is not None:
            v = tt != ignore_index
            tt = jnp.where(v, tt, 0)
        else:
            v = jnp.ones(tt.shape, bool)
        tt = tt.astype(dtype)
    if img is not None:
        v = v & img
        tt = jnp.where(img, tt, 0.0)
        if bad is not None:
            bad = bad & img[:, 0, 0]
    # Pixels dropped by `where` or `ignore_index` may hold anything (NaN, -inf logits): their
    # predictions are replaced before the softmax or sigmoid, so that neither the value nor
    # the gradient sees them (a softmax of -inf logits is NaN, and NaN * 0 is NaN). A
    # multiclass pixel (one softmax) is dropped when none of its classes counts; kept pixels,
    # NaN included, are left as they are.
    drop_pixel = ~jnp.any(v, axis=-1, keepdims=True) if mode == "multiclass" else ~v
    x = jnp.where(drop_pixel, 0.0, x)
    if from_logits:
        probs = jax.nn.softmax(x, axis=-1) if mode == "multiclass" else jax.nn.sigmoid(x)
    else:
        probs = x
    return _Seg(probs, x, tt, v.astype(dtype), mask, w, bad, per_image, batch)


def _counts(s: _Seg) -> tuple[Array, Array, Array]:
    """Soft ``TP``, ``P`` and ``T`` per unit and class ``[U, C]``."""
    axes = (1,) if s.per_image else (0, 1)
    p, t = s.probs * s.v, s.t * s.v
    tp = jnp.sum(p * t, axis=axes)
    ps = jnp.sum(p, axis=axes)
    ts = jnp.sum(t, axis=axes)
    if not s.per_image:
        tp, ps, ts = tp[None], ps[None], ts[None]
    return tp, ps, ts


def _ratio(num: Array, den: Array) -> Array:
    """``num / den``, and 1 (perfect overlap) where ``den == 0``; NaN stays NaN."""
    pos = ~(den <= 0)  # a NaN count takes the division: garbage must not score perfect
    return jnp.where(pos, num / jnp.where(pos, den, 1.0), 1.0)


def _class_mean(per_class: Array, ignore_background: bool, keep_classes: bool = False) -> Array:
    """The mean over the class axis (class 0 left out with ``ignore_background``), or with
    ``keep_classes`` (``per_class=True``) the classes themselves."""
    if ignore_background and per_class.shape[-1] > 1:
        per_class = per_class[..., 1:]
    return per_class if keep_classes else jnp.mean(per_class, axis=-1)


def _finish(name: str, s: _Seg, loss: Array, reduction: str) -> Array:
    """``loss`` is ``[N]`` (per image) or ``[1]`` (pooled), with a class axis ``[N, C]`` /
    ``[1, C]`` for ``per_class=True``: the reduction then runs over images per class."""
    if s.bad is not None:
        bad = s.bad if s.per_image else jnp.any(s.bad)[None]
        loss = jnp.where(bad if loss.ndim == 1 else bad[:, None], jnp.nan, loss)
    if s.per_image:
        def reduce(per_image):
            return _core.reduce(per_image.reshape(s.batch), weights=s.w, where=s.mask,
                                reduction=reduction, loss_name=name)

        return reduce(loss) if loss.ndim == 1 else jax.vmap(reduce, 1, -1)(loss)
    loss = loss[0]
    if s.mask is not None:
        loss = jnp.where(jnp.any(s.mask), loss, 0.0)
    return loss


# ------------------------------------------------------------------------- samples, boundary


_COMMON_HYPERS = {
    "mode": Hyper(Choice(MODES), static=True,
                  why_static=("chooses how predictions and targets are laid out and read (shapes "
                              "and formula)")),
    "from_logits": Hyper(Choice((True, False)), static=True,
                         why_static=("chooses whether a sigmoid/softmax is applied (different "
                                     "code)")),
    "per_image": Hyper(Choice((True, False)), static=True,
                       why_static="chooses the axes summed before the ratio (the output's shape)"),
    "ignore_index": Hyper(None, static=True, optional=True,
                          why_static=("a class id, not a quantity: whether it applies (None drops "
                                      "nothing) is decided at trace time, with the targets' "
                                      "integer dtype")),
    "ignore_background": Hyper(Choice((False, True)), static=True,
                               why_static="drops class 0 from the class axis (a shape)"),
    "smooth": NONNEGATIVE,
    "spatial_dims": Hyper(Interval(1, math.inf), static=True, optional=True,
                          why_static="the number of spatial axes (shapes)"),
    "per_class": Hyper(Choice((False, True)), static=True,
                       why_static="keeps the class axis (the output's shape)"),
}
_SEG = dict(task="segmentation", predictions="logits", targets="masks or labels",
            granularity="example", convex=False,
            units=("image", "``B``"))

_DOC_COMMON = """mode: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (static; see the module).
      from_logits: apply the sigmoid/softmax (static); False for probabilities.
      per_image: one loss per image (static); False pools the images.
      ignore_index: integer target marking pixels to skip (static; None for none).
      ignore_background: leave class 0 out of the class mean (static).
      smooth: added to numerator and denominator (``>= 0``).
      spatial_dims: number of pixel axes (static). The default ``None`` means 2 and, in
        binary mode, at most one batch axis (see the module); an int declares any number.
      per_class: keep the class axis (static): the per-class losses ``[*B, C]`` with
        ``reduction="none"`` (``C - 1`` classes with ``ignore_background``; ``C = 1`` in binary
        mode), their sum or (weighted) mean over the kept images ``[C]`` with ``"sum"`` /
        ``"mean"``, and ``[C]`` for every reduction with ``per_image=False``. The mean over
        the last axis is the loss without ``per_class``. As optax's ``reduction="none"``."""


def _doc(fn):
    fn.__doc__ = fn.__doc__.replace("{common}", _DOC_COMMON)
    return fn


# ---------------------------------------------------------------------------- region losses


@_builtin(
    aliases=("soft_dice",),
    bounded=True,
    hyper={**_COMMON_HYPERS,
           "class_weighting": Hyper(Choice((None, "generalized")), static=True,
                                    why_static="chooses the formula of the class weights"),
           "class_weights": Hyper(NONNEGATIVE, optional=True)},
    sample=fixtures.seg_sample("multiclass"),
    boundary=fixtures.seg_boundary(),
    peers={
        "optax": "dice_loss / binary_dice_loss / multiclass_generalized_dice_loss (a mean of "
        "per-class Dice losses weighted by batch-wide normalized 1/T_c**2, not the paper's "
        "ratio of weighted sums that class_weighting='generalized' computes)",
        "keras": "Dice",
    },
    **_SEG,
)
@_doc
def dice(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    mode: Mode = "binary",
    from_logits: bool = True,
    per_image: bool = True,
    ignore_index: int | None = -100,
    ignore_background: bool = False,
    smooth: float = 1.0,
    spatial_dims: int | None = None,
    per_class: bool = False,
    class_weighting: str | None = None,
    class_weights: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Soft Dice loss: ``1 - (2 TP_c + smooth) / (P_c + T_c + smooth)``, mean over classes.

    .. math::

       \begin{aligned}
       \ell &= \frac{1}{C} \sum_{c=1}^{C} w_c
         \Bigl(1 - \frac{2\, \mathrm{TP}_c + s}{P_c + T_c + s}\Bigr),
       \qquad \mathrm{TP}_c = \sum_i p_{ic} t_{ic}, \quad P_c = \sum_i p_{ic}, \quad
       T_c = \sum_i t_{ic},\\
       \ell_{\mathrm{gen}} &= 1 - \frac{2 \sum_c v_c \mathrm{TP}_c + s}{\sum_c v_c (P_c + T_c) + s},
       \qquad v_c = 1 / T_c^2
       \end{aligned}

    with :math:`p` the probabilities and :math:`t` the targets of the valid pixels :math:`i`
    of a unit (an image, or the pool with ``per_image=False``), :math:`s` the ``smooth``, and
    the :math:`C` classes (1 in binary mode; class 0 left out with ``ignore_background``).
    ``class_weights`` :math:`w_c` (``[C]``, non-negative; 1 when None) multiply the per-class
    Dice losses before the mean over classes, as optax's ``dice_loss(class_weights=)`` (divided
    by the number of classes, not by :math:`\sum_c w_c`; with ``ignore_background`` the first
    weight is dropped with the first class). With ``per_class=True`` the output holds the
    weighted terms of the sum over classes, as optax's
    ``dice_loss(class_weights=, reduction="none")``. ``class_weighting="generalized"`` is one
    ratio of sums over the classes, with no loss per class: it raises a ``ValueError`` with
    ``per_class=True``.

    ``class_weighting="generalized"`` gives the generalized Dice loss of Sudre et al.,
    :math:`\ell_{\mathrm{gen}}`, with :math:`v_c` per unit (image or pool); a class absent from
    the targets gets the largest weight of the present classes (as MONAI), all weights 1 when
    none is present.

    Peers: optax's ``dice_loss(smooth=s)`` writes the ratio as ``(TP + s) / (TP + (FP + FN)
    / 2 + s)``, which is this loss with ``smooth = 2 s``; optax's
    ``multiclass_generalized_dice_loss`` instead weights the per-class Dice losses with
    batch-wide normalized ``1 / T_c**2`` weights (not the paper's ratio of sums). Keras's
    ``Dice`` is ``per_image=False, smooth=1e-7`` on flattened inputs.

    Args:
      predictions: logits (or probabilities), ``[*B, *S]`` or ``[*B, *S, C]`` by ``mode``.
      targets: masks or labels matching ``mode``.
      {common}
      class_weighting: None (plain class mean) or ``"generalized"`` (static).
      class_weights: optional non-negative per-class weights ``[C]`` (not with
        ``class_weighting``).

    Returns:
      The reduced loss (a scalar for ``per_image=False``); with ``per_class``, a class axis
      last.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> p = jnp.array([[[0.9, 0.1], [0.8, 0.0]]])
      >>> t = jnp.array([[[1.0, 0.0], [1.0, 0.0]]])
      >>> round(float(lossjax.dice(p, t, from_logits=False, smooth=0.0)), 4)
      0.1053
      >>> x = jnp.array([[[[2.0, 0.0, -1.0], [0.0, 3.0, 0.0]]]])  # one 1 x 2 image, 3 classes
      >>> per_class = lossjax.dice(x, jnp.array([[[0, 1]]]), mode="multiclass",
      ...                          per_class=True, reduction="none")  # [B, C]
      >>> [round(v, 4) for v in per_class[0].tolist()]  # class 2 is absent: P / (P + 1)
      [0.0697, 0.0677, 0.0803]

    Reference:
      Milletari, Navab and Ahmadi, "V-Net", 3DV (2016); Sudre, Li, Vercauteren, Ourselin and
      Cardoso, "Generalised Dice overlap as a deep learning loss function for highly
      unbalanced segmentations", DLMIA (2017).
    """
    name = _core.loss_name()
    s = _seg_inputs(name, predictions, targets, mode=mode, from_logits=from_logits,
                    ignore_index=ignore_index, per_image=per_image, weights=weights,
                    where=where, spatial_dims=spatial_dims)
    if per_class and class_weighting is not None:
        raise ValueError(f"{name}: `per_class=True` needs a loss per class, and "
                         f"`class_weighting={class_weighting!r}` (one ratio of sums over the "
                         "classes) has none; drop one of them.")
    tp, ps, ts = _counts(s)
    if class_weights is not None:
        if class_weighting is not None:
            raise ValueError(f"{name}: give `class_weights` or `class_weighting`, not both.")
        cw = _core.numeric_input("class_weights", class_weights, name)
        _core.check_shape("class_weights", cw, (tp.shape[-1],), name, "one weight per class")
        per_class_loss = cw.astype(tp.dtype) * (1.0 - _ratio(2.0 * tp + smooth, ps + ts + smooth))
        return _finish(name, s, _class_mean(per_class_loss, ignore_background, per_class),
                       reduction)
    if class_weighting == "generalized":
        if ignore_background and tp.shape[-1] > 1:
            tp, ps, ts = tp[..., 1:], ps[..., 1:], ts[..., 1:]
        present = ts > 0
        inv = jnp.where(present, 1.0 / jnp.where(present, ts, 1.0) ** 2, 0.0)
        top = jnp.max(inv, axis=-1, keepdims=True)
        cw = jnp.where(present, inv, jnp.where(top > 0, top, 1.0))
        loss = 1.0 - _ratio(2.0 * jnp.sum(cw * tp, -1) + smooth,
                            jnp.sum(cw * (ps + ts), -1) + smooth)
    else:
        loss = _class_mean(1.0 - _ratio(2.0 * tp + smooth, ps + ts + smooth), ignore_background,
                           per_class)
    return _finish(name, s, loss, reduction)


def _tversky_index(tp, ps, ts, alpha, beta, smooth):
    return _ratio(tp + smooth, tp + alpha * (ps - tp) + beta * (ts - tp) + smooth)


@_builtin(
    diff_argnums=(0, 1),  # soft targets are real-valued
    bounded=True,
    hyper={**_COMMON_HYPERS, "alpha": NONNEGATIVE, "beta": NONNEGATIVE},
    sample=fixtures.seg_sample("binary", {"alpha": 0.3, "beta": 0.7}),
    boundary=fixtures.seg_boundary(),
    peers={
        "keras": "Tversky (its alpha weighs false negatives and beta false positives, in every "
        "release up to 3.15.1: lossjax's tversky(alpha=a, beta=b) is Tversky(alpha=b, beta=a); "
        "its 1e-7 is in the denominator only)",
        "optax": "dice_loss(alpha, beta)",
    },
    **_SEG,
)
@_doc
def tversky(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    mode: Mode = "binary",
    from_logits: bool = True,
    per_image: bool = True,
    ignore_index: int | None = -100,
    ignore_background: bool = False,
    smooth: float = 1.0,
    spatial_dims: int | None = None,
    per_class: bool = False,
    alpha: float = 0.5,
    beta: float = 0.5,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Tversky loss: ``1 - (TP + smooth) / (TP + alpha FP + beta FN + smooth)``, class mean.

    .. math::

       \ell = \frac{1}{C} \sum_{c=1}^{C} (1 - \mathrm{TI}_c), \qquad
       \mathrm{TI}_c = \frac{\mathrm{TP}_c + s}{\mathrm{TP}_c + \alpha\, \mathrm{FP}_c
         + \beta\, \mathrm{FN}_c + s}

    with the soft counts of :func:`dice`, :math:`\mathrm{FP}_c = P_c - \mathrm{TP}_c` and
    :math:`\mathrm{FN}_c = T_c - \mathrm{TP}_c`, and :math:`s` the ``smooth``. ``alpha``
    weighs false positives and ``beta`` false negatives, as in the paper and optax.
    ``alpha = beta = 0.5`` is the Dice loss with ``2 * smooth``; ``alpha = beta = 1`` is the
    Jaccard loss. It equals optax's ``dice_loss(alpha=alpha, beta=beta, smooth=smooth)``.
    Keras's ``Tversky`` (every release up to 3.15.1) swaps the two: its ``alpha`` weighs false
    negatives, so ``keras.losses.Tversky(alpha=a, beta=b)`` is
    ``tversky(alpha=b, beta=a, per_image=False)`` up to its ``1e-7``, which Keras adds to the
    denominator only (``smooth=0`` here, ``TP / (TP + a FN + b FP + 1e-7)`` there).

    Args:
      predictions: logits (or probabilities), ``[*B, *S]`` or ``[*B, *S, C]`` by ``mode``.
      targets: masks or labels matching ``mode``.
      {common}
      alpha: weight of false positives (``>= 0``).
      beta: weight of false negatives (``>= 0``).

    Returns:
      The reduced loss (a scalar for ``per_image=False``); with ``per_class``, a class axis
      last.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> p = jnp.array([[[0.9, 0.1], [0.8, 0.0]]])
      >>> t = jnp.array([[[1.0, 0.0], [1.0, 0.0]]])
      >>> round(float(lossjax.tversky(p, t, from_logits=False, smooth=0.0, alpha=0.3,
      ...                             beta=0.7)), 4)
      0.1237

    Reference:
      Salehi, Erdogmus and Gholipour, "Tversky loss function for image segmentation using 3D
      fully convolutional deep networks", MLMI (2017).
    """
    name = _core.loss_name()
    s = _seg_inputs(name, predictions, targets, mode=mode, from_logits=from_logits,
                    ignore_index=ignore_index, per_image=per_image, weights=weights,
                    where=where, spatial_dims=spatial_dims)
    tp, ps, ts = _counts(s)
    loss = _class_mean(1.0 - _tversky_index(tp, ps, ts, alpha, beta, smooth), ignore_background,
                       per_class)
    return _finish(name, s, loss, reduction)


@_builtin(
    diff_argnums=(0, 1),  # soft targets are real-valued
    bounded=True,
    hyper={**_COMMON_HYPERS, "alpha": NONNEGATIVE, "beta": NONNEGATIVE, "gamma": POSITIVE},
    sample=fixtures.seg_sample("multilabel", {"alpha": 0.3, "beta": 0.7}),
    boundary=fixtures.seg_boundary(),
    peers={},
    **_SEG,
)
@_doc
def focal_tversky(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    mode: Mode = "binary",
    from_logits: bool = True,
    per_image: bool = True,
    ignore_index: int | None = -100,
    ignore_background: bool = False,
    smooth: float = 1.0,
    spatial_dims: int | None = None,
    per_class: bool = False,
    alpha: float = 0.3,
    beta: float = 0.7,
    gamma: float = 0.75,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Focal Tversky loss: ``(1 - TI_c) ** gamma``, mean over classes.

    .. math::

       \ell = \frac{1}{C} \sum_{c=1}^{C} (1 - \mathrm{TI}_c)^{\gamma}

    with :math:`\mathrm{TI}_c` the Tversky index of :func:`tversky`. The paper writes the
    exponent as ``1 / gamma`` with ``gamma`` in [1, 3] and recommends ``gamma = 4/3``; ``gamma``
    here is the exponent itself, default ``0.75 = 1 / (4/3)``. The paper's ``alpha = 0.7``
    weighs false negatives; here, as in :func:`tversky` (Salehi et al.), ``alpha`` weighs false
    positives and ``beta`` false negatives, so the defaults ``alpha=0.3, beta=0.7`` are the
    paper's. At a perfect overlap (``TI = 1``) the gradient of the power is taken as 0.

    Args:
      predictions: logits (or probabilities), ``[*B, *S]`` or ``[*B, *S, C]`` by ``mode``.
      targets: masks or labels matching ``mode``.
      {common}
      alpha: weight of false positives (``>= 0``).
      beta: weight of false negatives (``>= 0``).
      gamma: the exponent (``> 0``; below 1 focuses on hard classes and images).

    Returns:
      The reduced loss (a scalar for ``per_image=False``); with ``per_class``, a class axis
      last.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> p = jnp.array([[[0.9, 0.1], [0.8, 0.0]]])
      >>> t = jnp.array([[[1.0, 0.0], [1.0, 0.0]]])
      >>> round(float(lossjax.focal_tversky(p, t, from_logits=False, smooth=0.0)), 4)
      0.2086

    Reference:
      Abraham and Khan, "A Novel Focal Tversky Loss Function with Improved Attention U-Net
      for Lesion Segmentation", ISBI (2019), eq. 4.
    """
    name = _core.loss_name()
    s = _seg_inputs(name, predictions, targets, mode=mode, from_logits=from_logits,
                    ignore_index=ignore_index, per_image=per_image, weights=weights,
                    where=where, spatial_dims=spatial_dims)
    tp, ps, ts = _counts(s)
    base = jnp.maximum(1.0 - _tversky_index(tp, ps, ts, alpha, beta, smooth), 0.0)
    pos = ~(base <= 0)  # NaN takes the power and stays NaN
    per_class_loss = jnp.where(pos, jnp.where(pos, base, 1.0) ** gamma, 0.0)
    return _finish(name, s, _class_mean(per_class_loss, ignore_background, per_class), reduction)


@_builtin(
    aliases=("soft_iou", "soft_jaccard"),
    bounded=True,
    hyper=_COMMON_HYPERS,
    sample=fixtures.seg_sample("multiclass", {"from_logits": False}),
    boundary=fixtures.seg_boundary(),
    peers={},
    **_SEG,
)
@_doc
def jaccard(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    mode: Mode = "binary",
    from_logits: bool = True,
    per_image: bool = True,
    ignore_index: int | None = -100,
    ignore_background: bool = False,
    smooth: float = 1.0,
    spatial_dims: int | None = None,
    per_class: bool = False,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Soft Jaccard (IoU) loss: ``1 - (TP_c + smooth) / (P_c + T_c - TP_c + smooth)``.

    .. math::

       \ell = \frac{1}{C} \sum_{c=1}^{C}
         \Bigl(1 - \frac{\mathrm{TP}_c + s}{P_c + T_c - \mathrm{TP}_c + s}\Bigr)

    with the soft counts of :func:`dice` and :math:`s` the ``smooth``: the soft intersection
    over the soft union per class, then the mean over classes.

    Args:
      predictions: logits (or probabilities), ``[*B, *S]`` or ``[*B, *S, C]`` by ``mode``.
      targets: masks or labels matching ``mode``.
      {common}

    Returns:
      The reduced loss (a scalar for ``per_image=False``); with ``per_class``, a class axis
      last.

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> p = jnp.array([[[0.9, 0.1], [0.8, 0.0]]])
      >>> t = jnp.array([[[1.0, 0.0], [1.0, 0.0]]])
      >>> round(float(lossjax.jaccard(p, t, from_logits=False, smooth=0.0)), 4)
      0.1905

    Reference:
      Rahman and Wang, "Optimizing Intersection-Over-Union in Deep Neural Networks for Image
      Segmentation", ISVC (2016).
    """
    name = _core.loss_name()
    s = _seg_inputs(name, predictions, targets, mode=mode, from_logits=from_logits,
                    ignore_index=ignore_index, per_image=per_image, weights=weights,
                    where=where, spatial_dims=spatial_dims)
    tp, ps, ts = _counts(s)
    loss = _class_mean(1.0 - _ratio(tp + smooth, ps + ts - tp + smooth), ignore_background,
                       per_class)
    return _finish(name, s, loss, reduction)


# ----------------------------------------------------------------------------------- Lovász


def _lovasz_grad(gt_sorted: Array) -> Array:
    """Gradient of the Lovász extension of the Jaccard loss at sorted 0/1 ground truth."""
    gts = jnp.sum(gt_sorted, axis=-1, keepdims=True)
    inter = gts - jnp.cumsum(gt_sorted, axis=-1)
    union = gts + jnp.cumsum(1.0 - gt_sorted, axis=-1)
    jac = 1.0 - _ratio(inter, union)
    return jnp.concatenate([jac[..., :1], jac[..., 1:] - jac[..., :-1]], axis=-1)


def _lovasz(errors: Array, gt: Array, valid: Array) -> Array:
    """``sum_i errors_(i) g_i`` with errors sorted descending along the last axis.

    Invalid entries sort last (their error is replaced by -inf for the sort) with ``gt = 0``,
    so they change neither the weights of the valid ones nor the value; they get no gradient.
    """
    key = jnp.where(valid, jax.lax.stop_gradient(errors), -jnp.inf)
    order = jnp.argsort(-key, axis=-1)
    e = jnp.take_along_axis(jnp.where(valid, errors, 0.0), order, axis=-1)
    g = jnp.take_along_axis(jnp.where(valid, gt, 0.0), order, axis=-1)
    return jnp.sum(e * jax.lax.stop_gradient(_lovasz_grad(g)), axis=-1)


def _pool(x: Array, per_image: bool) -> Array:
    """``[B, P, ...]`` -> ``[U, P', ...]``: per image, or all images as one unit."""
    return x if per_image else x.reshape(1, -1, *x.shape[2:])


@_builtin(
    task="segmentation",
    predictions="logits",
    targets="binary masks",
    granularity="example",
    bounded=False,
    convex=False,
    twice_differentiable=False,
    hyper={
        "per_image": Hyper(Choice((True, False)), static=True,
                       why_static="chooses the axes summed before the ratio (the output's shape)"),
        "ignore_index": Hyper(None, static=True, optional=True,
                          why_static=("a class id, not a quantity: whether it applies (None drops "
                                      "nothing) is decided at trace time, with the targets' "
                                      "integer dtype")),
        "spatial_dims": Hyper(Interval(1, math.inf), static=True, optional=True,
                          why_static="the number of spatial axes (shapes)"),
    },
    sample=fixtures.seg_sample("binary", {"integer_targets": True}),
    boundary=fixtures.seg_boundary("lovasz_hinge"),
    peers={},
)
def lovasz_hinge(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    per_image: bool = True,
    ignore_index: int | None = -100,
    spatial_dims: int | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Lovász hinge loss: the Lovász extension of the Jaccard loss applied to hinge errors.

    .. math::

       \begin{aligned}
       \ell &= \sum_{i} e_{(i)}\, g_i, \qquad e_i = \max\bigl(0,\, 1 - x_i (2 t_i - 1)\bigr),\\
       g_i &= J_i - J_{i-1}, \qquad
       J_i = 1 - \frac{G - \sum_{k \le i} \bar t_k}{G + \sum_{k \le i} (1 - \bar t_k)},
       \quad J_0 = 0,
       \quad G = \sum_k t_k
       \end{aligned}

    with :math:`x` the logits and :math:`t` the 0/1 targets of the valid pixels of a unit,
    :math:`e_{(1)} \ge e_{(2)} \ge \dots` the hinge errors sorted in decreasing order and
    :math:`\bar t` the targets in that order: :math:`g` is the gradient of the Lovász
    extension of the Jaccard loss at the sorted ground truth (Berman et al., Alg. 1). The
    sort order is piecewise constant, so the loss is piecewise linear in the logits.
    Binary only: predictions ``[*B, *S]`` are logits, targets ``[*B, *S]`` are 0/1 (floats are
    thresholded at 0.5) or integers with ``ignore_index``.

    Args:
      predictions: logits ``[*B, *S]``.
      targets: binary masks ``[*B, *S]``.
      per_image: one loss per image (static); False pools all pixels of the kept images
        (Berman et al.'s ``per_image=False``).
      ignore_index: integer target marking pixels to skip (static; None for none).
      spatial_dims: number of pixel axes (static). The default ``None`` means 2 and at most
        one batch axis, ``[B, H, W]`` (a fourth axis raises, as in binary ``mode`` of
        :func:`dice`); an int declares any number of batch axes.

    Returns:
      The reduced loss (a scalar for ``per_image=False``).

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> x = jnp.array([[2.0, -1.0, 0.5, -3.0]])
      >>> t = jnp.array([[1, 0, 0, 0]])
      >>> round(float(lossjax.lovasz_hinge(x, t)), 4)
      0.75

    Reference:
      Berman, Rannen Triki and Blaschko, "The Lovász-Softmax loss", CVPR (2018), sec. 3.1.
    """
    name = _core.loss_name()
    s = _seg_inputs(name, predictions, targets, mode="binary", from_logits=False,
                    ignore_index=ignore_index, per_image=per_image, weights=weights,
                    where=where, spatial_dims=spatial_dims, binary_only=True)
    x, t, v = (_pool(a[..., 0], per_image) for a in (s.scores, s.t, s.v))
    gt = (t > 0.5).astype(x.dtype)
    errors = jax.nn.relu(1.0 - x * (2.0 * gt - 1.0))
    return _finish(name, s, _lovasz(errors, gt, v > 0), reduction)


@_builtin(
    task="segmentation",
    predictions="logits",
    targets="labels",
    granularity="example",
    bounded=True,
    convex=False,
    twice_differentiable=False,
    hyper={
        **{k: _COMMON_HYPERS[k] for k in ("from_logits", "per_image", "ignore_index")},
        "classes": Hyper(Choice(("present", "all")), static=True,
                         why_static="chooses which classes enter the mean (the formula)"),
        "spatial_dims": Hyper(Interval(1, math.inf), static=True,
                              why_static="the number of spatial axes (shapes)"),
    },
    sample=fixtures.seg_sample("multiclass", with_mode=False),
    boundary=fixtures.seg_boundary("lovasz_softmax"),
    peers={},
)
def lovasz_softmax(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    from_logits: bool = True,
    per_image: bool = True,
    ignore_index: int | None = -100,
    classes: str = "present",
    spatial_dims: int = 2,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Lovász-softmax loss: the Lovász extension of the per-class Jaccard loss.

    .. math::

       \ell = \frac{1}{|\mathcal{C}|} \sum_{c \in \mathcal{C}} \sum_i m_{(i)}(c)\, g_i(c),
       \qquad m_i(c) = \bigl|[y_i = c] - p_i(c)\bigr|

    with :math:`p` the probabilities and :math:`y` the labels of the valid pixels :math:`i` of
    a unit: for class :math:`c` the pixel errors :math:`m_i(c)`, sorted in decreasing order,
    are weighted by :math:`g(c)`, the gradient of the Lovász extension of the Jaccard loss at
    the sorted ground truth :math:`[y = c]` (as in :func:`lovasz_hinge`; Berman et al.,
    eq. 12). The loss is the mean over the classes :math:`\mathcal{C}`: those present in the
    targets of the unit (``classes="present"``, the paper's default; 0 when none is) or all
    (``"all"``). Berman et al. take probabilities; here ``from_logits=True`` (default) applies
    the softmax first.

    Args:
      predictions: logits (or probabilities) ``[*B, *S, C]``.
      targets: integer labels ``[*B, *S]``.
      from_logits: apply the softmax (static); False for probabilities.
      per_image: one loss per image (static); False pools the images.
      ignore_index: integer label marking pixels to skip (static; None for none).
      classes: ``"present"`` or ``"all"`` (static).
      spatial_dims: number of pixel axes (static, default 2).

    Returns:
      The reduced loss (a scalar for ``per_image=False``).

    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> p = jnp.array([[[0.8, 0.2], [0.4, 0.6], [0.3, 0.7]]])
      >>> y = jnp.array([[0, 0, 1]])
      >>> round(float(lossjax.lovasz_softmax(p, y, from_logits=False)), 4)
      0.4333

    Reference:
      Berman, Rannen Triki and Blaschko, "The Lovász-Softmax loss", CVPR (2018), sec. 3.2.
    """
    name = _core.loss_name()
    pr = _core.float_input("predictions", predictions, name)
    t = _core.numeric_input("targets", targets, name)
    if pr.ndim < 2 or t.shape != pr.shape[:-1]:
        raise ValueError(f"{name}: `targets` must be integer labels of shape "
                         f"{tuple(pr.shape[:-1])} (the predictions' shape without the class "
                         f"axis); got {tuple(t.shape)}.")
    if not jnp.issubdtype(t.dtype, jnp.integer):
        raise TypeError(f"{name}: `targets` must be integer labels; got dtype {t.dtype}.")
    s = _seg_inputs(name, pr, t, mode="multiclass", from_logits=from_logits,
                    ignore_index=ignore_index, per_image=per_image, weights=weights,
                    where=where, spatial_dims=spatial_dims)
    p, fg, v = (jnp.swapaxes(_pool(a, per_image), -1, -2) for a in (s.probs, s.t, s.v))
    valid = v > 0  # [U, C, P]
    per_class = _lovasz(jnp.abs(fg - p), fg, valid)  # [U, C]
    if classes == "present":
        present = jnp.sum(fg * v, axis=-1) > 0
        n = jnp.sum(present, axis=-1).astype(per_class.dtype)
        loss = _core.safe_divide(jnp.sum(jnp.where(present, per_class, 0.0), -1), n)
    else:
        loss = jnp.mean(per_class, axis=-1)
    return _finish(name, s, loss, reduction)
