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
from scipy import integrate, optimize, special


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


# ----------------------------------------------------------------------------- regression


def smooth_l1(p, t, beta=1.0):
    # Girshick (2015), eq. 3, with PyTorch's beta: 0.5 e^2 / beta if |e| < beta else |e| - beta/2
    e = np.abs(_f(p) - _f(t))
    if beta == 0:
        return e
    return np.where(e < beta, 0.5 * e**2 / beta, e - 0.5 * beta)


def quantile(p, t, tau=0.5):
    # Koenker & Bassett (1978): rho_tau(u) = u (tau - 1[u < 0]), u = t - p
    u = _f(t) - _f(p)
    return u * (tau - (u < 0).astype(np.float64))


def mean_absolute_percentage_error(p, t, epsilon=1e-7):
    # Keras docs: 100 * |y_true - y_pred| / max(|y_true|, epsilon)
    p, t = _f(p), _f(t)
    return 100.0 * np.abs(t - p) / np.maximum(np.abs(t), epsilon)


def mean_squared_logarithmic_error(p, t):
    # Keras docs: (log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2, eps = 1e-7
    p, t = _f(p), _f(t)
    return (np.log(np.maximum(p, 1e-7) + 1.0) - np.log(np.maximum(t, 1e-7) + 1.0)) ** 2


def poisson_nll(p, t, log_input=True, full=False, eps=1e-8):
    # -log Poisson(t; rate) without log(t!): rate - t log(rate); PyTorch docs for the options
    p, t = _f(p), _f(t)
    loss = np.exp(p) - t * p if log_input else p - t * np.log(p + eps)
    if full:
        # Stirling: log(t!) ~ t log t - t + 0.5 log(2 pi t), added for t > 1 (PyTorch docs)
        with np.errstate(divide="ignore", invalid="ignore"):
            st = t * np.log(t) - t + 0.5 * np.log(2 * np.pi * t)
        loss = loss + np.where(t > 1, st, 0.0)
    return loss


def gaussian_nll(mu, t, var, full=False, eps=1e-6):
    # -log N(t; mu, var) up to the constant: 0.5 (log var + (t - mu)^2 / var), var >= eps
    mu, t = _f(mu), _f(t)
    v = np.maximum(np.broadcast_to(_f(var), mu.shape), eps)
    loss = 0.5 * (np.log(v) + (t - mu) ** 2 / v)
    return loss + (0.5 * math.log(2 * math.pi) if full else 0.0)


def tweedie(s, y, power=1.5):
    # Tweedie unit deviance d(y, mu) = 2 int_mu^y (y - x) / x^p dx (Jorgensen 1997, eq. 4.2),
    # evaluated by quadrature, with mu = exp(s)
    s, y = _f(s), _f(y)
    out = np.empty_like(s)
    for i in np.ndindex(*s.shape):
        mu = math.exp(s[i])
        f = lambda x, yy=y[i]: (yy - x) / x**power
        val, _ = (integrate.quad(f, mu, y[i], epsabs=0.0, epsrel=1e-13, limit=200)
                  if y[i] > 0 else (None, None))
        if y[i] > 0:
            out[i] = 2.0 * val
        else:  # y = 0: 2 int_mu^0 -x^(1-p) dx = 2 mu^(2-p) / (2-p)
            out[i] = 2.0 * mu ** (2 - power) / (2 - power)
    return out


def _unit_deviance(s, y, power):
    # d(y, mu) = 2 int_mu^y (y - x) / x^p dx (Jorgensen 1997, eq. 4.2) by quadrature, mu = exp(s);
    # at y = 0 (power 1 only) the integral is 2 int_mu^0 -1 dx = 2 mu
    s, y = _f(s), _f(y)
    out = np.empty_like(s)
    for i in np.ndindex(*s.shape):
        mu = math.exp(s[i])
        if y[i] == 0:
            out[i] = 2.0 * mu
            continue
        f = lambda x, yy=y[i]: (yy - x) / x**power
        val, _ = integrate.quad(f, mu, y[i], epsabs=0.0, epsrel=1e-13, limit=200)
        out[i] = 2.0 * val
    return out


def poisson_deviance(s, y):
    return _unit_deviance(s, y, 1.0)


def gamma_deviance(s, y):
    return _unit_deviance(s, y, 2.0)


def cosine_distance(p, t, epsilon=1e-8, axis=-1):
    # 1 - <p, t> / (max(|p|, eps) max(|t|, eps)), PyTorch's cosine_similarity docs
    p = np.moveaxis(_f(p), axis, -1)
    t = np.moveaxis(_f(t), axis, -1)
    out = np.empty(p.shape[:-1])
    for i in np.ndindex(*out.shape):
        num = float(np.dot(p[i], t[i]))
        den = max(np.linalg.norm(p[i]), epsilon) * max(np.linalg.norm(t[i]), epsilon)
        out[i] = 1.0 - num / den
    return out

# ----------------------------------------------------------------------------- multiclass


def _rows(x, t, axis):
    x = np.moveaxis(_f(x), axis, -1)
    t = np.asarray(t)
    if t.ndim == x.ndim:
        t = np.moveaxis(t.astype(np.float64), axis, -1)
    return x, t


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
    x, t = _rows(x, t, axis)

    def row(xr, y, lab):
        y = (1 - label_smoothing) * y + label_smoothing / len(xr)
        p = _softmax(xr)
        return -np.sum(special.xlogy(y, p)) + epsilon * (1 - np.dot(y, p))

    return _per_row(x, t, ignore_index, class_weights, row)


def softmax_focal(x, t, gamma=2.0, alpha=None, label_smoothing=0.0, ignore_index=-100, axis=-1):
    # Keras CategoricalFocalCrossentropy docs: -sum alpha y (1 - p)^gamma log p
    x, t = _rows(x, t, axis)
    a = 1.0 if alpha is None else _f(alpha)

    def row(xr, y, lab):
        y = (1 - label_smoothing) * y + label_smoothing / len(xr)
        p = _softmax(xr)
        return -np.sum(a * y * (1 - p) ** gamma * np.log(p))

    return _per_row(x, t, ignore_index, None, row)


def generalized_cross_entropy(x, t, q=0.7, ignore_index=-100, class_weights=None, axis=-1):
    # Zhang & Sabuncu (2018), eq. 6: (1 - p_y^q) / q, expectation over soft targets
    x, t = _rows(x, t, axis)
    return _per_row(x, t, ignore_index, class_weights,
                    lambda xr, y, lab: np.sum(y * (1 - _softmax(xr) ** q) / q))


def symmetric_cross_entropy(x, t, alpha=0.1, beta=1.0, A=-4.0, ignore_index=-100,
                            class_weights=None, axis=-1):
    # Wang et al. (2019), eqs. 4-6: alpha CE + beta RCE, RCE = -sum p log y, log 0 := A
    x, t = _rows(x, t, axis)

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
    x, t = _rows(x, t, axis)

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
    x, t = _rows(x, t, axis)

    def row(z, y, lab):
        p = _simplex_projection(z)
        return p @ z - 0.5 * p @ p + 0.5 * y @ y - y @ z

    return _per_row(x, t, ignore_index, class_weights, row)


def multilabel_soft_margin(x, y, class_weights=None, axis=-1):
    # PyTorch docs: -(1/C) sum_i w_i (y_i log sigma(x_i) + (1 - y_i) log sigma(-x_i))
    x, y = np.moveaxis(_f(x), axis, -1), np.moveaxis(_f(y), axis, -1)
    w = 1.0 if class_weights is None else _f(class_weights)
    terms = -(y * np.log(special.expit(x)) + (1 - y) * np.log(special.expit(-x)))
    return np.mean(w * terms, axis=-1)


def multilabel_margin(x, t, axis=-1):
    # PyTorch docs: sum_ij max(0, 1 - (x[y[j]] - x[i])) / C over listed j, unlisted i
    x, t = np.moveaxis(_f(x), axis, -1), np.moveaxis(np.asarray(t), axis, -1)
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
    x, t = _rows(x, t, axis)

    def row(xr, y, lab):
        lab = int(np.argmax(y))
        return sum(max(0.0, margin - xr[lab] + xr[i]) ** p
                   for i in range(len(xr)) if i != lab) / len(xr)

    return _per_row(x, t, ignore_index, class_weights, row)


def categorical_hinge(x, t, ignore_index=-100, class_weights=None, axis=-1):
    # Keras docs: pos = sum(y * x), neg = max((1 - y) * x), loss = max(0, neg - pos + 1)
    x, t = _rows(x, t, axis)
    return _per_row(x, t, ignore_index, class_weights,
                    lambda xr, y, lab: max(0.0, np.max((1 - y) * xr) - np.sum(y * xr) + 1))


def multiclass_perceptron(x, t, ignore_index=-100, class_weights=None, axis=-1):
    # Collins (2002): max_c x_c - x_y
    x, t = _rows(x, t, axis)
    return _per_row(x, t, ignore_index, class_weights,
                    lambda xr, y, lab: np.max(xr) - np.sum(y * xr))

# ----------------------------------------------------------------------------- divergence


def _dists(logq, t, axis):
    return np.moveaxis(np.exp(_f(logq)), axis, -1), np.moveaxis(_f(t), axis, -1)


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
    p, t = np.moveaxis(_f(p), axis, -1), np.moveaxis(_f(t), axis, -1)
    return 0.5 * np.sum(np.abs(p - t), axis=-1)

REFERENCES = {
    name: fn
    for name, fn in dict(globals()).items()
    if callable(fn) and not name.startswith("_") and fn.__module__ == __name__
}
