"""Float64 NumPy/SciPy references for lossjax.linear_ce, written from each loss's formula.

The conventions all references follow are in ``checks.py``.

The reference is the naive path: it builds the logits ``h W^T + b`` and applies the softmax
cross-entropy of ``references_multiclass.py``; the z-loss (Chowdhery et al. 2022, PaLM) and
the logit soft-cap (Gemma Team 2024) are added as written there.
"""

from __future__ import annotations

import numpy as np
from references_multiclass import _ce_from_logq
from scipy import special


def linear_cross_entropy(h, w, t, bias=None, ignore_index=-100, label_smoothing=0.0, z_loss=0.0,
                         logit_softcap=None, class_weights=None, **_chunking):
    # the logits are built here on purpose (the reference is the naive path); the chunking
    # arguments change how lossjax walks the vocabulary, not the value
    x = np.asarray(h, np.float64) @ np.asarray(w, np.float64).T
    if bias is not None:
        x = x + np.asarray(bias, np.float64)
    if logit_softcap is not None:
        x = logit_softcap * np.tanh(x / logit_softcap)
    lse = special.logsumexp(x, axis=-1)
    out = _ce_from_logq(x - lse[..., None], np.asarray(t), label_smoothing, ignore_index,
                        class_weights)
    kept = np.ones(out.shape, bool) if ignore_index is None else np.asarray(t) != ignore_index
    return out + np.where(kept, z_loss * lse**2, 0.0)


REFERENCES = {
    name: fn
    for name, fn in dict(globals()).items()
    if callable(fn) and not name.startswith("_") and fn.__module__ == __name__
}
