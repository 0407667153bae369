"""Independent float64 NumPy/SciPy references, written from each loss's formula.

Each reference takes the loss's positional arguments as float64 NumPy arrays (integer labels
stay integer) and its keyword hyperparameters, and returns the *per-unit* loss
(``reduction="none"`` without weights or masks). They are written from the formulas in the
cited papers (the same citations as the registry's ``reference`` field), not from lossjax's
code: plain loops or direct formulas, with SciPy's ``special`` functions where a stable
primitive is needed.

``REFERENCES`` maps a canonical loss name to its reference. A registered built-in loss without
an entry here fails ``test_every_builtin_has_a_reference``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special


def _e(p, t):
    return np.asarray(p, np.float64) - np.asarray(t, np.float64)


# ----------------------------------------------------------------------------- regression


def squared_error(p, t):
    return _e(p, t) ** 2


def absolute_error(p, t):
    return np.abs(_e(p, t))


def root_mean_squared_error(p, t):
    # per-element reference for reduction="none" is |e|; the root of the mean is tested apart
    return np.abs(_e(p, t))


def l2(p, t):
    return 0.5 * _e(p, t) ** 2


def huber(p, t, delta=1.0):
    e = np.abs(_e(p, t))
    return np.where(e <= delta, 0.5 * e**2, delta * (e - 0.5 * delta))


def pseudo_huber(p, t, delta=1.0):
    e = _e(p, t)
    # delta^2 (sqrt(1 + (e/delta)^2) - 1), with math.fsum-free direct evaluation in float64
    return delta**2 * (np.sqrt(1.0 + (e / delta) ** 2) - 1.0)


def log_cosh(p, t):
    e = _e(p, t)
    return np.log(np.cosh(e))


# --------------------------------------------------------------------------------- binary


def _keras_smoothing(t, eps):
    # Keras 3 BinaryCrossentropy(label_smoothing=eps): y_true * (1 - eps) + 0.5 * eps
    return t * (1.0 - eps) + 0.5 * eps


def binary_cross_entropy(p, t, label_smoothing=0.0):
    p, t = np.asarray(p, np.float64), np.asarray(t, np.float64)
    t = _keras_smoothing(t, label_smoothing)
    lp = np.maximum(np.log(p), -100.0)
    l1p = np.maximum(np.log1p(-p), -100.0)
    return -(t * lp + (1 - t) * l1p)


def binary_cross_entropy_with_logits(x, t, pos_weight=None, label_smoothing=0.0):
    x, t = np.asarray(x, np.float64), np.asarray(t, np.float64)
    t = _keras_smoothing(t, label_smoothing)
    pw = 1.0 if pos_weight is None else np.asarray(pos_weight, np.float64)
    p = special.expit(x)
    return -(pw * t * np.log(p) + (1 - t) * np.log1p(-p))


def sigmoid_focal(x, t, alpha=None, gamma=2.0):
    x, t = np.asarray(x, np.float64), np.asarray(t, np.float64)
    p = special.expit(x)
    ce = -(t * np.log(p) + (1 - t) * np.log1p(-p))
    p_t = p * t + (1 - p) * (1 - t)
    loss = (1 - p_t) ** gamma * ce
    if alpha is not None:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    return loss


def hinge(f, y):
    return np.maximum(0.0, 1.0 - np.asarray(y, np.float64) * np.asarray(f, np.float64))


def squared_hinge(f, y):
    return hinge(f, y) ** 2


# ----------------------------------------------------------------------------- multiclass


def _rows(x, t, axis):
    x = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    t = np.asarray(t)
    if t.ndim == x.ndim:
        t = np.moveaxis(t.astype(np.float64), axis, -1)
    return x, t


def _ce_from_logq(logq, t, label_smoothing, ignore_index, class_weights):
    """Weighted per-example cross-entropy (``reduction="none"``), PyTorch's definition.

    ``(1 - eps) w (-sum_c y_c log q_c) + eps / K * sum_c cw_c (-log q_c)`` with ``w`` the
    example's class weight (``cw[label]``, or ``cw . y`` for probability targets) and ``cw``
    all ones without class weights (then it is ``-sum_c y'_c log q_c``, ``y'`` smoothed). For
    integer labels this is the loss of PyTorch 2.13.0's ``F.cross_entropy(weight=cw,
    label_smoothing=eps, reduction="none")`` (aten/src/ATen/native/LossNLL.cpp,
    ``cross_entropy_loss_label_smoothing``: ``(1 - eps) * nll_loss(weight) + eps / K *
    -(log_softmax * weight).sum(class_dim)``). Terms whose coefficient is 0 are left out.
    """
    k = logq.shape[-1]
    cw = np.ones(k) if class_weights is None else np.asarray(class_weights, np.float64)
    eps = label_smoothing
    out = np.zeros(logq.shape[:-1])
    for idx in np.ndindex(*logq.shape[:-1]):
        if t.ndim == logq.ndim - 1:
            y = np.zeros(k)
            lab = int(t[idx])
            if ignore_index is not None and lab == ignore_index:
                out[idx] = 0.0
                continue
            y[lab] = 1.0
        else:
            y = t[idx]
        w = float(np.dot(cw, y)) if class_weights is not None else 1.0
        lq = logq[idx]
        target = -sum(y[c] * lq[c] for c in range(k) if y[c] != 0)
        smooth = -sum(cw[c] * lq[c] for c in range(k) if cw[c] != 0) if eps else 0.0
        out[idx] = (1 - eps) * w * target + eps / k * smooth
    return out


def softmax_cross_entropy(x, t, label_smoothing=0.0, ignore_index=-100, class_weights=None,
                          axis=-1):
    x, t = _rows(x, t, axis)
    logq = x - special.logsumexp(x, axis=-1, keepdims=True)
    return _ce_from_logq(logq, t, label_smoothing, ignore_index, class_weights)


def nll(lp, t, label_smoothing=0.0, ignore_index=-100, class_weights=None, axis=-1):
    lp, t = _rows(lp, t, axis)
    return _ce_from_logq(lp, t, label_smoothing, ignore_index, class_weights)


def categorical_cross_entropy(p, t, label_smoothing=0.0, ignore_index=-100, class_weights=None,
                              axis=-1):
    p, t = _rows(p, t, axis)
    return _ce_from_logq(np.maximum(np.log(p), -100.0), t, label_smoothing, ignore_index,
                         class_weights)


def brier(p, t, ignore_index=-100, class_weights=None, axis=-1):
    # Brier (1950): sum_c (p_c - y_c)^2, y one-hot for labels; NaN for labels out of range
    # times the example's class weight (cw[label], or cw . y for probability targets), as
    # reduction="none" gives every weighted loss
    p, t = _rows(p, t, axis)
    k = p.shape[-1]
    cw = np.ones(k) if class_weights is None else np.asarray(class_weights, np.float64)
    out = np.zeros(p.shape[:-1])
    for idx in np.ndindex(*p.shape[:-1]):
        if t.ndim == p.ndim:
            y = t[idx]
        else:
            lab = int(t[idx])
            if ignore_index is not None and lab == ignore_index:
                continue
            if not 0 <= lab < k:
                out[idx] = np.nan
                continue
            y = np.eye(k)[lab]
        w = float(np.dot(cw, y)) if class_weights is not None else 1.0
        out[idx] = w * np.sum((p[idx] - y) ** 2)
    return out


def multiclass_hinge(s, t, margin=1.0, ignore_index=-100, class_weights=None, axis=-1):
    s, t = _rows(s, t, axis)
    out = np.zeros(s.shape[:-1])
    for idx in np.ndindex(*s.shape[:-1]):
        lab = int(t[idx]) if t.ndim == s.ndim - 1 else int(np.argmax(t[idx]))
        row = s[idx]
        others = [row[k] + margin for k in range(len(row)) if k != lab]
        out[idx] = max(max(others), row[lab]) - row[lab]
    return out


def linear_cross_entropy(h, w, t, bias=None, ignore_index=-100, label_smoothing=0.0, z_loss=0.0,
                         logit_softcap=None, class_weights=None, **_chunking):
    # the logits are built here on purpose (the reference is the naive path); the chunking
    # arguments change how lossjax walks the vocabulary, not the value
    x = np.asarray(h, np.float64) @ np.asarray(w, np.float64).T
    if bias is not None:
        x = x + np.asarray(bias, np.float64)
    if logit_softcap is not None:
        x = logit_softcap * np.tanh(x / logit_softcap)
    lse = special.logsumexp(x, axis=-1)
    out = _ce_from_logq(x - lse[..., None], np.asarray(t), label_smoothing, ignore_index,
                        class_weights)
    kept = np.ones(out.shape, bool) if ignore_index is None else np.asarray(t) != ignore_index
    return out + np.where(kept, z_loss * lse**2, 0.0)


# ----------------------------------------------------------------------------- divergence


def kl_divergence(logq, t, log_targets=False, axis=-1):
    logq, t = _rows(logq, t, axis)
    if log_targets:
        t = np.exp(t)
    return np.sum(special.rel_entr(t, np.exp(logq)), axis=-1)


# ---------------------------------------------------------------------------------- boxes


def _box_terms(p, t):
    p, t = np.asarray(p, np.float64), np.asarray(t, np.float64)
    out = []
    for bp, bt in zip(p.reshape(-1, 4), t.reshape(-1, 4), strict=True):
        ap = (bp[2] - bp[0]) * (bp[3] - bp[1])
        at = (bt[2] - bt[0]) * (bt[3] - bt[1])
        iw = max(0.0, min(bp[2], bt[2]) - max(bp[0], bt[0]))
        ih = max(0.0, min(bp[3], bt[3]) - max(bp[1], bt[1]))
        inter = iw * ih
        union = ap + at - inter
        cw = max(bp[2], bt[2]) - min(bp[0], bt[0])
        ch = max(bp[3], bt[3]) - min(bp[1], bt[1])
        cx = (bp[0] + bp[2]) / 2 - (bt[0] + bt[2]) / 2
        cy = (bp[1] + bp[3]) / 2 - (bt[1] + bt[3]) / 2
        out.append(dict(
            iou=inter / (union + 1e-7), union=union, c_area=cw * ch, rho2=cx * cx + cy * cy,
            c2=cw * cw + ch * ch, wp=bp[2] - bp[0], hp=bp[3] - bp[1], wt=bt[2] - bt[0],
            ht=bt[3] - bt[1],
        ))
    return out, p.shape[:-1]


def iou(p, t):
    terms, shape = _box_terms(p, t)
    return np.array([1 - d["iou"] for d in terms]).reshape(shape)


def giou(p, t):
    terms, shape = _box_terms(p, t)
    return np.array(
        [1 - d["iou"] + (d["c_area"] - d["union"]) / (d["c_area"] + 1e-7) for d in terms]
    ).reshape(shape)


def diou(p, t):
    terms, shape = _box_terms(p, t)
    return np.array([1 - d["iou"] + d["rho2"] / (d["c2"] + 1e-7) for d in terms]).reshape(shape)


def ciou(p, t):
    terms, shape = _box_terms(p, t)
    out = []
    for d in terms:
        v = 4 / math.pi**2 * (math.atan(d["wt"] / d["ht"]) - math.atan(d["wp"] / d["hp"])) ** 2
        alpha = v / (1 - d["iou"] + v)
        out.append(1 - d["iou"] + d["rho2"] / (d["c2"] + 1e-7) + alpha * v)
    return np.array(out).reshape(shape)


# -------------------------------------------------------------------------------- metrics


def accuracy(s, t, threshold=0.5, axis=-1):
    s = np.asarray(s, np.float64)
    t = np.asarray(t)
    if t.ndim == s.ndim - 1:
        return (np.argmax(s, axis=axis) == t).astype(np.float64)
    return ((s > threshold) == (t >= 0.5)).astype(np.float64)


def zero_one(s, t, threshold=0.5, axis=-1):
    return 1.0 - accuracy(s, t, threshold, axis)


def chance_cross_entropy(s, t, axis=-1):
    s = np.asarray(s)
    t = np.asarray(t)
    if t.ndim == s.ndim - 1:
        k = s.shape[axis]
        freq = np.bincount(t.ravel(), minlength=k) / t.size
        return -np.log(freq[t])
    f = t.mean()
    return -special.xlogy(t, f) - special.xlogy(1 - t, 1 - f)


REFERENCES = {
    name: fn
    for name, fn in dict(globals()).items()
    if callable(fn) and not name.startswith("_") and fn.__module__ == __name__
}
