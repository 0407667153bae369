"""Float64 NumPy/SciPy references for lossjax.divergence, written from each loss's formula.

The conventions all references follow are in ``checks.py``.
"""

from __future__ import annotations

import numpy as np
from checks import class_rows, f64
from scipy import special


def kl_divergence(logq, t, log_targets=False, axis=-1):
    # Kullback and Leibler (1951): sum t log(t / q), 0 log 0 = 0 (scipy's rel_entr)
    logq, t = class_rows(logq, t, axis)
    if log_targets:
        t = np.exp(t)
    return np.sum(special.rel_entr(t, np.exp(logq)), axis=-1)


def _dists(logq, t, axis):
    return np.moveaxis(np.exp(f64(logq)), axis, -1), np.moveaxis(f64(t), axis, -1)


def js_divergence(logq, t, axis=-1):
    # Lin (1991): JS = H(m) - (H(t) + H(q)) / 2, m = (t + q) / 2, entropies via scipy
    q, t = _dists(logq, t, axis)
    m = 0.5 * (q + t)
    h = lambda d: np.sum(special.entr(d), axis=-1)
    return h(m) - 0.5 * (h(t) + h(q))


def generalized_kl_divergence(logq, t, axis=-1):
    # I-divergence: sum t log(t/q) - t + q, i.e. scipy's kl_div summed
    q, t = _dists(logq, t, axis)
    return np.sum(special.kl_div(t, q), axis=-1)


def total_variation(p, t, axis=-1):
    # (1/2) sum |p - t| (Tsybakov 2009, definition 2.4)
    p, t = np.moveaxis(f64(p), axis, -1), np.moveaxis(f64(t), axis, -1)
    return 0.5 * np.sum(np.abs(p - t), axis=-1)


REFERENCES = {
    name: fn
    for name, fn in dict(globals()).items()
    if callable(fn) and not name.startswith("_") and fn.__module__ == __name__
}
