"""Float64 NumPy/SciPy references for lossjax.regression, written from each loss's formula.

The conventions all references follow are in ``checks.py``.
"""

from __future__ import annotations

import math

import numpy as np
from checks import f64
from scipy import integrate


def _e(p, t):
    return np.asarray(p, np.float64) - np.asarray(t, np.float64)



def squared_error(p, t):
    # e^2 (Legendre 1805; Hastie, Tibshirani and Friedman, ESL 2nd ed., eq. 2.9)
    return _e(p, t) ** 2


def absolute_error(p, t):
    # |e| (Bloomfield and Steiger, Least Absolute Deviations, 1983)
    return np.abs(_e(p, t))


def root_mean_squared_error(p, t):
    # per-element reference for reduction="none" is |e|; the root of the mean is tested apart
    return np.abs(_e(p, t))


def l2(p, t):
    # e^2 / 2 (Bishop, PRML 2006, eq. 1.2; optax's l2_loss)
    return 0.5 * _e(p, t) ** 2


def huber(p, t, delta=1.0):
    # Huber (1964): e^2 / 2 for |e| <= delta, delta (|e| - delta / 2) beyond
    e = np.abs(_e(p, t))
    return np.where(e <= delta, 0.5 * e**2, delta * (e - 0.5 * delta))


def pseudo_huber(p, t, delta=1.0):
    # Charbonnier et al. (1994); Hartley and Zisserman, 2nd ed., appendix A6.8
    e = _e(p, t)
    # delta^2 (sqrt(1 + (e/delta)^2) - 1), with math.fsum-free direct evaluation in float64
    return delta**2 * (np.sqrt(1.0 + (e / delta) ** 2) - 1.0)


def log_cosh(p, t):
    # log cosh(e) (Chen et al. 2022, arXiv:2208.04564; optax's log_cosh)
    e = _e(p, t)
    return np.log(np.cosh(e))


def smooth_l1(p, t, beta=1.0):
    # Girshick (2015), eq. 3, with PyTorch's beta: 0.5 e^2 / beta if |e| < beta else |e| - beta/2
    e = np.abs(f64(p) - f64(t))
    if beta == 0:
        return e
    return np.where(e < beta, 0.5 * e**2 / beta, e - 0.5 * beta)


def quantile(p, t, tau=0.5):
    # Koenker & Bassett (1978): rho_tau(u) = u (tau - 1[u < 0]), u = t - p
    u = f64(t) - f64(p)
    return u * (tau - (u < 0).astype(np.float64))


def mean_absolute_percentage_error(p, t, epsilon=1e-7):
    # Keras docs: 100 * |y_true - y_pred| / max(|y_true|, epsilon)
    p, t = f64(p), f64(t)
    return 100.0 * np.abs(t - p) / np.maximum(np.abs(t), epsilon)


def mean_squared_logarithmic_error(p, t):
    # Keras docs: (log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2, eps = 1e-7
    p, t = f64(p), f64(t)
    return (np.log(np.maximum(p, 1e-7) + 1.0) - np.log(np.maximum(t, 1e-7) + 1.0)) ** 2


def poisson_nll(p, t, log_input=True, full=False, eps=1e-8):
    # -log Poisson(t; rate) without log(t!): rate - t log(rate); PyTorch docs for the options
    p, t = f64(p), f64(t)
    loss = np.exp(p) - t * p if log_input else p - t * np.log(p + eps)
    if full:
        # Stirling: log(t!) ~ t log t - t + 0.5 log(2 pi t), added for t > 1 (PyTorch docs)
        with np.errstate(divide="ignore", invalid="ignore"):
            st = t * np.log(t) - t + 0.5 * np.log(2 * np.pi * t)
        loss = loss + np.where(t > 1, st, 0.0)
    return loss


def gaussian_nll(mu, t, var, full=False, eps=1e-6):
    # -log N(t; mu, var) up to the constant: 0.5 (log var + (t - mu)^2 / var), var >= eps
    mu, t = f64(mu), f64(t)
    v = np.maximum(np.broadcast_to(f64(var), mu.shape), eps)
    loss = 0.5 * (np.log(v) + (t - mu) ** 2 / v)
    return loss + (0.5 * math.log(2 * math.pi) if full else 0.0)


def tweedie(s, y, power=1.5):
    # Tweedie unit deviance d(y, mu) = 2 int_mu^y (y - x) / x^p dx (Jorgensen 1997, eq. 4.2),
    # evaluated by quadrature, with mu = exp(s)
    s, y = f64(s), f64(y)
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
    s, y = f64(s), f64(y)
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
    # McCullagh and Nelder (1989), sec. 2.3: the Tweedie deviance at power 1
    return _unit_deviance(s, y, 1.0)


def gamma_deviance(s, y):
    # McCullagh and Nelder (1989), sec. 2.3: the Tweedie deviance at power 2
    return _unit_deviance(s, y, 2.0)


def cosine_distance(p, t, epsilon=1e-8, axis=-1):
    # 1 - <p, t> / (max(|p|, eps) max(|t|, eps)), PyTorch's cosine_similarity docs
    p = np.moveaxis(f64(p), axis, -1)
    t = np.moveaxis(f64(t), axis, -1)
    out = np.empty(p.shape[:-1])
    for i in np.ndindex(*out.shape):
        num = float(np.dot(p[i], t[i]))
        den = max(np.linalg.norm(p[i]), epsilon) * max(np.linalg.norm(t[i]), epsilon)
        out[i] = 1.0 - num / den
    return out


REFERENCES = {
    name: fn
    for name, fn in dict(globals()).items()
    if callable(fn) and not name.startswith("_") and fn.__module__ == __name__
}
