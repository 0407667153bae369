"""Float64 NumPy reference for lossjax.sequence.ctc: the CTC forward algorithm.

Written from Graves et al., ICML (2006), eqs. 6-8 (the extended label sequence with blanks
and the alpha recursion), in probability space with float64 and a log-sum at the end; not
derived from lossjax's or optax's code.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def _ctc_one(logits, labels, blank):
    logp = logits - special.logsumexp(logits, axis=-1, keepdims=True)
    ext = [blank]
    for lab in labels:
        ext += [int(lab), blank]
    s_len = len(ext)
    t_len = len(logp)
    alpha = np.full((t_len, s_len), -np.inf)
    if t_len == 0:
        return 0.0 if not labels else np.inf
    alpha[0, 0] = logp[0, ext[0]]
    if s_len > 1:
        alpha[0, 1] = logp[0, ext[1]]
    for t in range(1, t_len):
        for s in range(s_len):
            terms = [alpha[t - 1, s]]
            if s >= 1:
                terms.append(alpha[t - 1, s - 1])
            if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
                terms.append(alpha[t - 1, s - 2])
            alpha[t, s] = special.logsumexp(terms) + logp[t, ext[s]]
    ends = [alpha[-1, -1]] + ([alpha[-1, -2]] if s_len > 1 else [])
    return -special.logsumexp(ends)


def ctc_forward_variables(logits, labels, blank):
    """``log alpha_t(s)`` ``[T, 2U + 1]`` over the blank-extended labels (Graves et al. 2006,
    eqs. 5-7: alpha_1(1) = y_b, alpha_1(2) = y_{l_1}, alpha_1(s) = 0 beyond, then the
    recursion of eq. 6 with the skip allowed unless l'_s is a blank or l'_s = l'_{s-2}),
    computed in probability space (float64 products, no logarithm until the end); 0 becomes
    ``-inf``."""
    p = special.softmax(np.asarray(logits, np.float64), axis=-1)
    ext = [blank]
    for lab in labels:
        ext += [int(lab), blank]
    alpha = np.zeros((len(p), len(ext)))
    alpha[0, 0] = p[0, ext[0]]
    if len(ext) > 1:
        alpha[0, 1] = p[0, ext[1]]
    for t in range(1, len(p)):
        for s in range(len(ext)):
            a = alpha[t - 1, s] + (alpha[t - 1, s - 1] if s >= 1 else 0.0)
            if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
                a += alpha[t - 1, s - 2]
            alpha[t, s] = a * p[t, ext[s]]
    with np.errstate(divide="ignore"):
        return np.log(alpha)


def ctc(logits, labels, logit_lengths=None, label_lengths=None, blank_id=0,
        zero_infinity=False):
    # Graves et al. (2006), eqs. 6-8 (the forward algorithm of _ctc_one)
    logits = np.asarray(logits, np.float64)
    labels = np.asarray(labels)
    unit = logits.shape[:-2]
    out = np.zeros(unit)
    for idx in np.ndindex(*unit):
        t = logits.shape[-2] if logit_lengths is None else int(np.asarray(logit_lengths)[idx])
        u = labels.shape[-1] if label_lengths is None else int(np.asarray(label_lengths)[idx])
        with np.errstate(divide="ignore"):
            value = _ctc_one(logits[idx][:t], [int(v) for v in labels[idx][:u]], blank_id)
        out[idx] = 0.0 if (zero_infinity and np.isinf(value)) else value
    return out


REFERENCES = {"ctc": ctc}
