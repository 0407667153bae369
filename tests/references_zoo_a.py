"""Independent float64 NumPy/SciPy references for the losses added in issue 5 (share a).

Same conventions as ``tests/references.py``: each function takes the loss's positional
arguments as float64 NumPy arrays (integer labels stay integer) and its hyperparameters as
keyword arguments, and returns the per-unit loss of ``reduction="none"``. They are written from
the formulas of the cited papers and documentation (plain loops or direct formulas, SciPy for
special functions), not from lossjax's code.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special


def _f(x):
    return np.asarray(x, np.float64)


# --------------------------------------------------------------------------------- binary


def perceptron(f, y):
    # Rosenblatt (1958): loss is -y f for a wrong sign, 0 otherwise
    return np.maximum(0.0, -_f(y) * _f(f))


def modified_huber(f, y):
    # Zhang (2004), eq. in sec. 3: (max(0, 1 - z))^2 for z >= -1, -4 z otherwise
    z = _f(y) * _f(f)
    out = np.empty_like(z)
    for i, v in np.ndenumerate(z):
        out[i] = max(0.0, 1.0 - v) ** 2 if v >= -1 else -4.0 * v
    return out


def exponential(f, y):
    return np.exp(-_f(y) * _f(f))


def soft_margin(f, y):
    # log(1 + exp(-y f)), via logaddexp(0, .) to stay exact for large margins
    return np.logaddexp(0.0, -_f(y) * _f(f))


def binary_sparsemax(x, y):
    # Fenchel-Young loss L(x; y) = Omega*(x) + Omega(y) - x y with Omega(p) = p^2 - p on [0, 1]
    # (Blondel et al. 2020, sec. 4.4); Omega*(x) = max_{p in [0,1]} p x - p^2 + p, solved by
    # bounded scalar minimisation instead of the closed form.
    x, y = _f(x), _f(y)
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
