"""Float64 NumPy/SciPy references for lossjax.binary, written from each loss's formula.

The conventions all references follow are in ``checks.py``.
"""

from __future__ import annotations

import numpy as np
from checks import f64
from scipy import special


def _keras_smoothing(t, eps):
    # Keras 3 BinaryCrossentropy(label_smoothing=eps): y_true * (1 - eps) + 0.5 * eps
    return t * (1.0 - eps) + 0.5 * eps


def binary_cross_entropy(p, t, label_smoothing=0.0):
    # Cox (1958), each log clamped at -100 as PyTorch's F.binary_cross_entropy
    p, t = np.asarray(p, np.float64), np.asarray(t, np.float64)
    t = _keras_smoothing(t, label_smoothing)
    lp = np.maximum(np.log(p), -100.0)
    l1p = np.maximum(np.log1p(-p), -100.0)
    return -(t * lp + (1 - t) * l1p)


def binary_cross_entropy_with_logits(x, t, pos_weight=None, label_smoothing=0.0):
    # Cox (1958); pos_weight scales the positive term (PyTorch's BCEWithLogitsLoss)
    x, t = np.asarray(x, np.float64), np.asarray(t, np.float64)
    t = _keras_smoothing(t, label_smoothing)
    pw = 1.0 if pos_weight is None else np.asarray(pos_weight, np.float64)
    p = special.expit(x)
    return -(pw * t * np.log(p) + (1 - t) * np.log1p(-p))


def sigmoid_focal(x, t, alpha=None, gamma=2.0):
    # Lin et al. (2017), eq. 5: alpha_t (1 - p_t)^gamma CE(p, t)
    x, t = np.asarray(x, np.float64), np.asarray(t, np.float64)
    p = special.expit(x)
    ce = -(t * np.log(p) + (1 - t) * np.log1p(-p))
    p_t = p * t + (1 - p) * (1 - t)
    loss = (1 - p_t) ** gamma * ce
    if alpha is not None:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    return loss


def hinge(f, y):
    # Cortes and Vapnik (1995): max(0, 1 - y f)
    return np.maximum(0.0, 1.0 - np.asarray(y, np.float64) * np.asarray(f, np.float64))


def squared_hinge(f, y):
    # Lee and Mangasarian (2001): max(0, 1 - y f)^2
    return hinge(f, y) ** 2


def perceptron(f, y):
    # Rosenblatt (1958): loss is -y f for a wrong sign, 0 otherwise
    return np.maximum(0.0, -f64(y) * f64(f))


def modified_huber(f, y):
    # Zhang (2004), eq. in sec. 3: (max(0, 1 - z))^2 for z >= -1, -4 z otherwise
    z = f64(y) * f64(f)
    out = np.empty_like(z)
    for i, v in np.ndenumerate(z):
        out[i] = max(0.0, 1.0 - v) ** 2 if v >= -1 else -4.0 * v
    return out


def exponential(f, y):
    # exp(-y f) (Freund and Schapire 1997; Friedman, Hastie and Tibshirani 2000)
    return np.exp(-f64(y) * f64(f))


def soft_margin(f, y):
    # log(1 + exp(-y f)), via logaddexp(0, .) to stay exact for large margins
    return np.logaddexp(0.0, -f64(y) * f64(f))


def binary_sparsemax(x, y):
    # Fenchel-Young loss L(x; y) = Omega*(x) + Omega(y) - x y with Omega(p) = p^2 - p on [0, 1]
    # (Blondel et al. 2020, sec. 4.4); Omega*(x) = max_{p in [0,1]} p x - p^2 + p, solved by
    # bounded scalar minimisation instead of the closed form.
    x, y = f64(x), f64(y)
    out = np.empty_like(x)
    for i in np.ndindex(*x.shape):
        p = min(1.0, max(0.0, (x[i] + 1.0) / 2.0))  # argmax of the concave quadratic
        conj = p * x[i] - p * p + p
        out[i] = conj + (y[i] ** 2 - y[i]) - x[i] * y[i]
    return out


REFERENCES = {
    name: fn
    for name, fn in dict(globals()).items()
    if callable(fn) and not name.startswith("_") and fn.__module__ == __name__
}
