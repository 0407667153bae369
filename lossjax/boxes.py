"""Bounding-box regression losses: the IoU family (IoU, GIoU, DIoU, CIoU).

Boxes are axis-aligned, ``(x1, y1, x2, y2)`` along the last axis, with ``x1 <= x2`` and
``y1 <= y2``. Each function is per-box: ``reduction="none"`` returns the boxes' shape without
the coordinate axis. Predicted boxes should be valid by construction (for example, predict
``x1, y1`` and softplus widths); :func:`lossjax.checked` catches invalid ones.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from lossjax import _core
from lossjax._core import Array, ArrayLike, Reduction
from lossjax._samples import boxes as fixtures
from lossjax.registry import _builtin

EPS = 1e-7  # as torchvision.ops: keeps every ratio finite for degenerate (zero-area) boxes
_SAFE_BOX = (0.0, 0.0, 1.0, 1.0)  # what boxes dropped by `where` are replaced with


class _Geometry:
    """Intersection, union and enclosing box of two ``[..., 4]`` box arrays."""

    def __init__(self, p: Array, t: Array):
        px1, py1, px2, py2 = (p[..., i] for i in range(4))
        tx1, ty1, tx2, ty2 = (t[..., i] for i in range(4))
        self.pw, self.ph = px2 - px1, py2 - py1
        self.tw, self.th = tx2 - tx1, ty2 - ty1
        iw = jax.nn.relu(jnp.minimum(px2, tx2) - jnp.maximum(px1, tx1))
        ih = jax.nn.relu(jnp.minimum(py2, ty2) - jnp.maximum(py1, ty1))
        self.inter = iw * ih
        self.union = self.pw * self.ph + self.tw * self.th - self.inter
        self.iou = self.inter / (self.union + EPS)
        self.cw = jnp.maximum(px2, tx2) - jnp.minimum(px1, tx1)
        self.ch = jnp.maximum(py2, ty2) - jnp.minimum(py1, ty1)
        dx = (px1 + px2 - tx1 - tx2) * 0.5
        dy = (py1 + py2 - ty1 - ty2) * 0.5
        self.center_dist2 = dx * dx + dy * dy
        self.diag2 = self.cw * self.cw + self.ch * self.ch


def _iou(p, t):
    return 1.0 - _Geometry(p, t).iou


def _giou(p, t):
    g = _Geometry(p, t)
    enclosing = g.cw * g.ch
    return 1.0 - g.iou + (enclosing - g.union) / (enclosing + EPS)


def _diou(p, t):
    g = _Geometry(p, t)
    return 1.0 - g.iou + g.center_dist2 / (g.diag2 + EPS)


def _ciou(p, t):
    g = _Geometry(p, t)
    dtheta = jnp.arctan(g.tw / (g.th + EPS)) - jnp.arctan(g.pw / (g.ph + EPS))
    v = (4.0 / math.pi**2) * dtheta * dtheta
    # The trade-off alpha is a constant in the gradient, as in the paper and torchvision.
    alpha = jax.lax.stop_gradient(v / (1.0 - g.iou + v + EPS))
    return 1.0 - g.iou + g.center_dist2 / (g.diag2 + EPS) + alpha * v


def _box_loss(name, fn, predictions, targets, weights, where, reduction):
    p = _core.float_input("predictions", predictions, name)
    if p.ndim == 0 or p.shape[-1] != 4:
        raise ValueError(
            f"{name}: `predictions` must be boxes [..., 4] as (x1, y1, x2, y2); got shape "
            f"{tuple(p.shape)}."
        )
    return _core.per_example(
        name, fn, p, targets, axis=-1, weights=weights, where=where, reduction=reduction,
        safe=(_SAFE_BOX, _SAFE_BOX),
    )


def _box_checks(predictions, targets, **_):
    out = []
    for label, b in (("predictions", predictions), ("targets", targets)):
        b = jnp.asarray(b)
        out.append(((b[..., 2] >= b[..., 0]) & (b[..., 3] >= b[..., 1]),
                    f"{label} must be boxes with x1 <= x2 and y1 <= y2"))
    return out


_BOXES = dict(
    task="boxes", predictions="boxes", targets="boxes", granularity="example", bounded=True,
    units=("box", "``[...]``"),
    convex=False, twice_differentiable=False, sample=fixtures.box_sample,
    boundary=fixtures.box_boundary,
    checks=_box_checks, diff_argnums=(0, 1),  # target boxes are real-valued
)

def _doc(fn):
    fn.__doc__ = fn.__doc__.replace("{args}", _DOC_ARGS)
    return fn


_DOC_ARGS = """
    Args:
      predictions: boxes ``[..., 4]`` as ``(x1, y1, x2, y2)``.
      targets: boxes of the same shape.

    Returns:
      The reduced loss.
"""


@_builtin(
    peers={"keras": "keras_cv IoULoss"},
    **_BOXES,
)
@_doc
def iou(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""IoU loss, ``1 - |P ∩ T| / |P ∪ T|``, in [0, 1].

    .. math::

       \ell(P, T) = 1 - \mathrm{IoU}, \qquad
       \mathrm{IoU} = \frac{|P \cap T|}{|P \cup T| + \epsilon}, \quad \epsilon = 10^{-7}

    for the predicted box :math:`P` and the target box :math:`T`. The union gets
    :math:`\epsilon` (as torchvision), so degenerate boxes give finite values.
    The gradient is 0 for boxes that do not overlap their target: use :func:`giou`,
    :func:`diou` or :func:`ciou` when predictions may start apart.
    {args}
    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> p, t = jnp.array([[0.0, 0.0, 2.0, 2.0]]), jnp.array([[1.0, 0.0, 3.0, 2.0]])
      >>> round(float(lossjax.iou(p, t)), 4)
      0.6667

    Reference:
      Yu, Jiang, Wang, Cao and Huang, "UnitBox", ACM Multimedia (2016).
    """
    return _box_loss("iou", _iou, predictions, targets, weights, where, reduction)


@_builtin(
    peers={"torchvision": "ops.generalized_box_iou_loss", "keras": "keras_cv GIoULoss"},
    **_BOXES,
)
@_doc
def giou(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Generalized IoU loss, ``1 - IoU + |C \ (P ∪ T)| / |C|``, in [0, 2].

    .. math::

       \ell(P, T) = 1 - \mathrm{IoU} + \frac{|C| - |P \cup T|}{|C| + \epsilon}

    with :math:`\mathrm{IoU}` and :math:`\epsilon` as in :func:`iou` and :math:`C` the
    smallest box enclosing both; the second term pulls disjoint boxes together.
    {args}
    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> p, t = jnp.array([[0.0, 0.0, 1.0, 1.0]]), jnp.array([[2.0, 0.0, 3.0, 1.0]])
      >>> round(float(lossjax.giou(p, t)), 4)
      1.3333

    Reference:
      Rezatofighi et al., "Generalized Intersection over Union", CVPR (2019).
    """
    return _box_loss("giou", _giou, predictions, targets, weights, where, reduction)


@_builtin(
    peers={"torchvision": "ops.distance_box_iou_loss"},
    **_BOXES,
)
@_doc
def diou(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Distance-IoU loss, ``1 - IoU + rho**2 / c**2``, in [0, 2).

    .. math::

       \ell(P, T) = 1 - \mathrm{IoU} + \frac{\rho^2}{c^2 + \epsilon}

    with :math:`\mathrm{IoU}` and :math:`\epsilon` as in :func:`iou`, :math:`\rho` the
    distance between the box centres and :math:`c` the diagonal of the enclosing box: it moves
    the centres together directly, faster than GIoU.
    {args}
    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> p, t = jnp.array([[0.0, 0.0, 1.0, 1.0]]), jnp.array([[2.0, 0.0, 3.0, 1.0]])
      >>> round(float(lossjax.diou(p, t)), 4)
      1.4

    Reference:
      Zheng, Wang, Liu, Li, Ye and Ren, "Distance-IoU Loss", AAAI (2020), eq. 6.
    """
    return _box_loss("diou", _diou, predictions, targets, weights, where, reduction)


@_builtin(
    peers={"torchvision": "ops.complete_box_iou_loss", "keras": "keras_cv CIoULoss"},
    exact_gradient=False,
    **_BOXES,
)
@_doc
def ciou(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> Array:
    r"""Complete-IoU loss, ``1 - IoU + rho**2 / c**2 + alpha * v``.

    .. math::

       \begin{aligned}
       \ell(P, T) &= 1 - \mathrm{IoU} + \frac{\rho^2}{c^2 + \epsilon} + \alpha v,
       \qquad \alpha = \operatorname{sg}\Bigl(\frac{v}{1 - \mathrm{IoU} + v + \epsilon}\Bigr),\\
       v &= \frac{4}{\pi^2} \Bigl(\arctan \frac{w_T}{h_T + \epsilon}
         - \arctan \frac{w_P}{h_P + \epsilon}\Bigr)^2
       \end{aligned}

    with :math:`\rho`, :math:`c` as in :func:`diou`, :math:`w`, :math:`h` the widths and
    heights of the boxes, and :math:`\operatorname{sg}` a stop-gradient: :math:`v` measures the
    aspect-ratio mismatch and :math:`\alpha` is held constant in the gradient, as in the paper
    and torchvision. Heights get :math:`\epsilon` so zero-height boxes stay finite.
    {args}
    Example:
      >>> import jax.numpy as jnp, lossjax
      >>> p, t = jnp.array([[0.0, 0.0, 2.0, 1.0]]), jnp.array([[0.0, 0.0, 1.0, 2.0]])
      >>> round(float(lossjax.ciou(p, t)), 4)
      0.7629

    Reference:
      Zheng et al., "Distance-IoU Loss: Faster and Better Learning for Bounding Box
      Regression", AAAI (2020), eqs. 8-11.
    """
    return _box_loss("ciou", _ciou, predictions, targets, weights, where, reduction)

