"""Float64 NumPy references for lossjax.metric_learning, written from each loss's formula.

Plain loops over pairs, triplets and set members (see the papers cited in the registry), not
lossjax's code. Each returns the per-unit loss of ``reduction="none"``.
"""

from __future__ import annotations

import numpy as np


def _f(x):
    return np.asarray(x, np.float64)


def _lse(values):
    values = np.asarray(values, np.float64)
    if values.size == 0:
        return -np.inf
    m = values.max()
    return m + np.log(np.sum(np.exp(values - m)))


def contrastive(a, b, y, margin=1.0):
    # Hadsell, Chopra and LeCun (2006), eq. 4
    a, b, y = _f(a), _f(b), _f(y)
    d = np.sqrt(np.sum((a - b) ** 2, axis=-1))
    return 0.5 * (y * d**2 + (1 - y) * np.maximum(margin - d, 0.0) ** 2)


def triplet_margin(a, p, n, margin=1.0, p_norm=None, eps=1e-6, swap=False, distance=None,
                   **kw):
    # Balntas et al. (2016); Schroff et al. (2015); eps and swap as torch's triplet_margin_loss
    deg = kw.get("p", 2.0) if p_norm is None else p_norm
    a, p, n = _f(a), _f(p), _f(n)
    dist = lambda x, y: np.sum(np.abs(x - y + eps) ** deg, axis=-1) ** (1.0 / deg)
    d_an = dist(a, n)
    if swap:
        d_an = np.minimum(d_an, dist(p, n))
    return np.maximum(dist(a, p) - d_an + margin, 0.0)


def margin_ranking(a, b, y, margin=0.0):
    # Herbrich, Graepel and Obermayer (2000); torch's margin_ranking_loss
    a, b, y = _f(a), _f(b), _f(y)
    return np.maximum(0.0, -y * (a - b) + margin)


def hinge_embedding(x, y, margin=1.0):
    # the definition of torch.nn.HingeEmbeddingLoss (PyTorch documentation)
    x, y = _f(x), _f(y)
    out = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        out[i] = x[i] if y[i] == 1 else max(0.0, margin - x[i])
    return out


def cosine_embedding(a, b, y, margin=0.0):
    # the definition of torch.nn.CosineEmbeddingLoss (PyTorch documentation)
    a, b, y = _f(a), _f(b), _f(y)
    out = np.zeros(a.shape[:-1])
    for i in np.ndindex(*out.shape):
        cos = a[i] @ b[i] / np.sqrt((a[i] @ a[i] + 1e-12) * (b[i] @ b[i] + 1e-12))
        out[i] = 1 - cos if y[i] == 1 else max(0.0, cos - margin)
    return out


def _cos(x):
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    u = np.where(n > 0, x / np.where(n > 0, n, 1), 0.0)
    return u @ u.T


def ntxent(x, labels, temperature=0.07):
    # Chen et al. (2020), SimCLR; van den Oord, Li and Vinyals (2018)
    x = _f(x)
    out = np.zeros(x.shape[:-2])
    for idx in np.ndindex(*out.shape):
        s = _cos(x[idx]) / temperature
        lab = labels[idx]
        n = len(lab)
        terms = []
        for i in range(n):
            negs = [s[i, k] for k in range(n) if lab[k] != lab[i]]
            for j in range(n):
                if j != i and lab[j] == lab[i]:
                    terms.append(-s[i, j] + _lse([s[i, j], *negs]))
        out[idx] = np.mean(terms) if terms else 0.0
    return out


def supervised_contrastive(x, labels, temperature=0.1):
    # Khosla et al. (2020), eq. 2
    x = _f(x)
    out = np.zeros(x.shape[:-2])
    for idx in np.ndindex(*out.shape):
        s = _cos(x[idx]) / temperature
        lab = labels[idx]
        n = len(lab)
        anchors = []
        for i in range(n):
            positives = [j for j in range(n) if j != i and lab[j] == lab[i]]
            if not positives:
                continue
            log_den = _lse([s[i, a] for a in range(n) if a != i])
            anchors.append(np.mean([log_den - s[i, p] for p in positives]))
        out[idx] = np.mean(anchors) if anchors else 0.0
    return out


def circle(x, labels, gamma=80.0, margin=0.4):
    # Sun et al. (2020), eqs. 4-6
    x = _f(x)
    out = np.zeros(x.shape[:-2])
    for idx in np.ndindex(*out.shape):
        s = _cos(x[idx])
        lab = labels[idx]
        n = len(lab)
        per_anchor = []
        for i in range(n):
            sp = [s[i, j] for j in range(n) if j != i and lab[j] == lab[i]]
            sn = [s[i, j] for j in range(n) if lab[j] != lab[i]]
            if not sp or not sn:
                per_anchor.append(0.0)
                continue
            lp = _lse([-gamma * max(0.0, 1 + margin - v) * (v - (1 - margin)) for v in sp])
            ln = _lse([gamma * max(0.0, v + margin) * (v - margin) for v in sn])
            per_anchor.append(np.logaddexp(0.0, lp + ln))
        out[idx] = np.mean(per_anchor)
    return out


REFERENCES = {
    name: fn
    for name, fn in dict(globals()).items()
    if callable(fn) and not name.startswith("_") and fn.__module__ == __name__
}
