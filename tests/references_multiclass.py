"""Float64 NumPy/SciPy references for lossjax.multiclass, written from each loss's formula.

The conventions all references follow are in ``checks.py``.

``_ce_from_logq`` (PyTorch's weighted, smoothed cross-entropy) is shared with
``references_linear_ce.py``.
"""

from __future__ import annotations

import numpy as np
from checks import class_rows, f64
from scipy import optimize, special


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
    # Bridle (1990); smoothing, class weights, ignore_index: PyTorch's (_ce_from_logq)
    x, t = class_rows(x, t, axis)
    logq = x - special.logsumexp(x, axis=-1, keepdims=True)
    return _ce_from_logq(logq, t, label_smoothing, ignore_index, class_weights)


def nll(lp, t, label_smoothing=0.0, ignore_index=-100, class_weights=None, axis=-1):
    # PyTorch's F.nll_loss on log-probabilities (_ce_from_logq)
    lp, t = class_rows(lp, t, axis)
    return _ce_from_logq(lp, t, label_smoothing, ignore_index, class_weights)


def categorical_cross_entropy(p, t, label_smoothing=0.0, ignore_index=-100, class_weights=None,
                              axis=-1):
    # -sum y log p (Goodfellow et al. 2016, 6.2.2.3), logs clamped at -100
    p, t = class_rows(p, t, axis)
    return _ce_from_logq(np.maximum(np.log(p), -100.0), t, label_smoothing, ignore_index,
                         class_weights)


def brier(p, t, ignore_index=-100, class_weights=None, axis=-1):
    # Brier (1950): sum_c (p_c - y_c)^2, y one-hot for labels; NaN for labels out of range
    # times the example's class weight (cw[label], or cw . y for probability targets), as
    # reduction="none" gives every weighted loss
    p, t = class_rows(p, t, axis)
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
    # Crammer and Singer (2001): max_k (s_k + margin [k != y]) - s_y
    s, t = class_rows(s, t, axis)
    out = np.zeros(s.shape[:-1])
    for idx in np.ndindex(*s.shape[:-1]):
        lab = int(t[idx]) if t.ndim == s.ndim - 1 else int(np.argmax(t[idx]))
        row = s[idx]
        others = [row[k] + margin for k in range(len(row)) if k != lab]
        out[idx] = max(max(others), row[lab]) - row[lab]
    return out


def _per_row(x, t, ignore_index, class_weights, row_fn):
    """Loops over examples; row_fn(x_row, y_row (a distribution), label or None) -> loss."""
    k = x.shape[-1]
    out = np.zeros(x.shape[:-1])
    for idx in np.ndindex(*x.shape[:-1]):
        if t.ndim == x.ndim - 1:
            lab = int(t[idx])
            if ignore_index is not None and lab == ignore_index:
                continue
            y = np.eye(k)[lab]
            w = 1.0 if class_weights is None else class_weights[lab]
        else:
            lab, y = None, t[idx]
            w = 1.0 if class_weights is None else float(np.dot(class_weights, y))
        out[idx] = w * row_fn(x[idx], y, lab)
    return out


def _softmax(x):
    return special.softmax(x)


def poly1_cross_entropy(x, t, epsilon=2.0, label_smoothing=0.0, ignore_index=-100,
                        class_weights=None, axis=-1):
    # Leng et al. (2022), eq. 3: -sum y log p + epsilon (1 - sum y p), y smoothed first
    x, t = class_rows(x, t, axis)

    def row(xr, y, lab):
        y = (1 - label_smoothing) * y + label_smoothing / len(xr)
        p = _softmax(xr)
        return -np.sum(special.xlogy(y, p)) + epsilon * (1 - np.dot(y, p))

    return _per_row(x, t, ignore_index, class_weights, row)


def softmax_focal(x, t, gamma=2.0, alpha=None, label_smoothing=0.0, ignore_index=-100, axis=-1):
    # Keras CategoricalFocalCrossentropy docs: -sum alpha y (1 - p)^gamma log p
    x, t = class_rows(x, t, axis)
    a = 1.0 if alpha is None else f64(alpha)

    def row(xr, y, lab):
        y = (1 - label_smoothing) * y + label_smoothing / len(xr)
        p = _softmax(xr)
        return -np.sum(a * y * (1 - p) ** gamma * np.log(p))

    return _per_row(x, t, ignore_index, None, row)


def generalized_cross_entropy(x, t, q=0.7, ignore_index=-100, class_weights=None, axis=-1):
    # Zhang & Sabuncu (2018), eq. 6: (1 - p_y^q) / q, expectation over soft targets
    x, t = class_rows(x, t, axis)
    return _per_row(x, t, ignore_index, class_weights,
                    lambda xr, y, lab: np.sum(y * (1 - _softmax(xr) ** q) / q))


def symmetric_cross_entropy(x, t, alpha=0.1, beta=1.0, A=-4.0, ignore_index=-100,
                            class_weights=None, axis=-1):
    # Wang et al. (2019), eqs. 4-6: alpha CE + beta RCE, RCE = -sum p log y, log 0 := A
    x, t = class_rows(x, t, axis)

    def row(xr, y, lab):
        p = _softmax(xr)
        with np.errstate(divide="ignore"):
            log_y = np.maximum(np.log(y), A)
        return -alpha * np.sum(special.xlogy(y, p)) - beta * np.sum(p * log_y)

    return _per_row(x, t, ignore_index, class_weights, row)


def _log_t(x, t):
    return np.log(x) if t == 1 else (x ** (1 - t) - 1) / (1 - t)


def _exp_t(x, t):
    return np.exp(x) if t == 1 else np.maximum(1 + (1 - t) * x, 0.0) ** (1 / (1 - t))


def bi_tempered_logistic(x, t, t1=0.8, t2=1.2, num_iters=5, ignore_index=-100,
                         class_weights=None, axis=-1):
    # Amid et al. (2019), eq. 9, with the normaliser lambda found by Brent's method on
    # sum_c exp_t2(x_c - lambda) = 1 (not by the paper's fixed point)
    x, t = class_rows(x, t, axis)

    def row(xr, y, lab):
        g = lambda lam: np.sum(_exp_t(xr - lam, t2)) - 1.0
        lo, hi = xr.max() - 1e-12, xr.max() + 1.0
        while g(hi) > 0:
            hi = xr.max() + 2 * (hi - xr.max())
        lam = optimize.brentq(g, lo, hi, xtol=1e-15, rtol=1e-15)
        yhat = _exp_t(xr - lam, t2)
        nz = y > 0
        first = np.sum(y[nz] * (_log_t(y[nz], t1) - _log_t(yhat[nz], t1)))
        return first - np.sum(y ** (2 - t1) - yhat ** (2 - t1)) / (2 - t1)

    return _per_row(x, t, ignore_index, class_weights, row)


def _simplex_projection(z):
    # Euclidean projection onto the simplex by bisection on tau: sum max(z - tau, 0) = 1
    tau = optimize.brentq(lambda s: np.sum(np.maximum(z - s, 0)) - 1, z.max() - 1, z.max(),
                          xtol=1e-15)
    return np.maximum(z - tau, 0)


def sparsemax(x, t, ignore_index=-100, class_weights=None, axis=-1):
    # Fenchel-Young loss with Omega(p) = (|p|^2 - 1)/2: <p,z> - |p|^2/2 + |y|^2/2 - <y,z>
    # (Blondel et al. 2020), p = argmax_p <p,z> - Omega(p) = projection of z on the simplex
    x, t = class_rows(x, t, axis)

    def row(z, y, lab):
        p = _simplex_projection(z)
        return p @ z - 0.5 * p @ p + 0.5 * y @ y - y @ z

    return _per_row(x, t, ignore_index, class_weights, row)


def multilabel_soft_margin(x, y, class_weights=None, axis=-1):
    # PyTorch docs: -(1/C) sum_i w_i (y_i log sigma(x_i) + (1 - y_i) log sigma(-x_i))
    x, y = np.moveaxis(f64(x), axis, -1), np.moveaxis(f64(y), axis, -1)
    w = 1.0 if class_weights is None else f64(class_weights)
    terms = -(y * np.log(special.expit(x)) + (1 - y) * np.log(special.expit(-x)))
    return np.mean(w * terms, axis=-1)


def multilabel_margin(x, t, axis=-1):
    # PyTorch docs: sum_ij max(0, 1 - (x[y[j]] - x[i])) / C over listed j, unlisted i
    x, t = np.moveaxis(f64(x), axis, -1), np.moveaxis(np.asarray(t), axis, -1)
    c = x.shape[-1]
    out = np.zeros(x.shape[:-1])
    for idx in np.ndindex(*out.shape):
        listed = []
        for v in t[idx]:
            if v == -1:
                break
            listed.append(int(v))
        total = 0.0
        for j in listed:
            for i in range(c):
                if i not in listed:
                    total += max(0.0, 1.0 - (x[idx][j] - x[idx][i]))
        out[idx] = total / c
    return out


def multi_margin(x, t, p=1, margin=1.0, ignore_index=-100, class_weights=None, axis=-1):
    # PyTorch docs: sum_{i != y} max(0, margin - x[y] + x[i])^p / C (times weight[y])
    x, t = class_rows(x, t, axis)

    def row(xr, y, lab):
        lab = int(np.argmax(y))
        return sum(max(0.0, margin - xr[lab] + xr[i]) ** p
                   for i in range(len(xr)) if i != lab) / len(xr)

    return _per_row(x, t, ignore_index, class_weights, row)


def categorical_hinge(x, t, ignore_index=-100, class_weights=None, axis=-1):
    # Keras docs: pos = sum(y * x), neg = max((1 - y) * x), loss = max(0, neg - pos + 1)
    x, t = class_rows(x, t, axis)
    return _per_row(x, t, ignore_index, class_weights,
                    lambda xr, y, lab: max(0.0, np.max((1 - y) * xr) - np.sum(y * xr) + 1))


def multiclass_perceptron(x, t, ignore_index=-100, class_weights=None, axis=-1):
    # Collins (2002): max_c x_c - x_y
    x, t = class_rows(x, t, axis)
    return _per_row(x, t, ignore_index, class_weights,
                    lambda xr, y, lab: np.max(xr) - np.sum(y * xr))


REFERENCES = {
    name: fn
    for name, fn in dict(globals()).items()
    if callable(fn) and not name.startswith("_") and fn.__module__ == __name__
}
