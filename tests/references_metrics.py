"""Float64 NumPy/SciPy references for lossjax.metrics, written from each loss's formula.

The conventions all references follow are in ``checks.py``.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def accuracy(s, t, threshold=0.5, axis=-1):
    # labels: argmax == label; binary: (s > threshold) == (t >= 0.5) (ESL, 2.4)
    s = np.asarray(s, np.float64)
    t = np.asarray(t)
    if t.ndim == s.ndim - 1:
        return (np.argmax(s, axis=axis) == t).astype(np.float64)
    return ((s > threshold) == (t >= 0.5)).astype(np.float64)


def zero_one(s, t, threshold=0.5, axis=-1):
    # 1 - accuracy (ESL, 2.4)
    return 1.0 - accuracy(s, t, threshold, axis)


def chance_cross_entropy(s, t, axis=-1):
    # cross-entropy of the batch's label frequencies (Cover and Thomas, eq. 2.1)
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
