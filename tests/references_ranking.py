"""Float64 NumPy references for lossjax.ranking, written from each loss's formula.

Loops over the real items (and ordered pairs) of each list; not derived from lossjax's code.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def _lists(s, y, m):
    s, y = np.asarray(s, np.float64), np.asarray(y, np.float64)
    m = np.ones(s.shape, bool) if m is None else np.asarray(m, bool)
    for idx in np.ndindex(*s.shape[:-1]):
        keep = m[idx]
        yield idx, s[idx][keep], y[idx][keep]


def ranking_softmax(s, y, m=None):
    # Cao et al. (2007), ListNet; Bruch et al. (2019)
    out = np.zeros(np.shape(s)[:-1])
    for idx, sl, yl in _lists(s, y, m):
        if len(sl):
            out[idx] = -np.sum(yl * (sl - special.logsumexp(sl)))
    return out


def _pairwise(per_pair, s, y, m):
    out = np.zeros(np.shape(s)[:-1])
    for idx, sl, yl in _lists(s, y, m):
        terms = [per_pair(sl[i] - sl[j]) for i in range(len(sl)) for j in range(len(sl))
                 if yl[i] > yl[j]]
        out[idx] = np.mean(terms) if terms else 0.0
    return out


def pairwise_hinge(s, y, m=None):
    # Herbrich, Graepel and Obermayer (2000); TF-Ranking's PairwiseHingeLoss
    return _pairwise(lambda d: max(0.0, 1.0 - d), s, y, m)


def pairwise_logistic(s, y, m=None):
    # Burges et al. (2005), RankNet; TF-Ranking's PairwiseLogisticLoss
    return _pairwise(lambda d: np.logaddexp(0.0, -d), s, y, m)


REFERENCES = {
    name: fn
    for name, fn in dict(globals()).items()
    if callable(fn) and not name.startswith("_") and fn.__module__ == __name__
}
