"""Float64 NumPy/SciPy references for lossjax.boxes, written from each loss's formula.

The conventions all references follow are in ``checks.py``.
"""

from __future__ import annotations

import math

import numpy as np


def _box_terms(p, t):
    p, t = np.asarray(p, np.float64), np.asarray(t, np.float64)
    out = []
    for bp, bt in zip(p.reshape(-1, 4), t.reshape(-1, 4), strict=True):
        ap = (bp[2] - bp[0]) * (bp[3] - bp[1])
        at = (bt[2] - bt[0]) * (bt[3] - bt[1])
        iw = max(0.0, min(bp[2], bt[2]) - max(bp[0], bt[0]))
        ih = max(0.0, min(bp[3], bt[3]) - max(bp[1], bt[1]))
        inter = iw * ih
        union = ap + at - inter
        cw = max(bp[2], bt[2]) - min(bp[0], bt[0])
        ch = max(bp[3], bt[3]) - min(bp[1], bt[1])
        cx = (bp[0] + bp[2]) / 2 - (bt[0] + bt[2]) / 2
        cy = (bp[1] + bp[3]) / 2 - (bt[1] + bt[3]) / 2
        out.append(dict(
            iou=inter / (union + 1e-7), union=union, c_area=cw * ch, rho2=cx * cx + cy * cy,
            c2=cw * cw + ch * ch, wp=bp[2] - bp[0], hp=bp[3] - bp[1], wt=bt[2] - bt[0],
            ht=bt[3] - bt[1],
        ))
    return out, p.shape[:-1]


def iou(p, t):
    # 1 - IoU (Yu et al. 2016, UnitBox)
    terms, shape = _box_terms(p, t)
    return np.array([1 - d["iou"] for d in terms]).reshape(shape)


def giou(p, t):
    # Rezatofighi et al. (2019): 1 - IoU + (|C| - |A u B|) / |C|
    terms, shape = _box_terms(p, t)
    return np.array(
        [1 - d["iou"] + (d["c_area"] - d["union"]) / (d["c_area"] + 1e-7) for d in terms]
    ).reshape(shape)


def diou(p, t):
    # Zheng et al. (2020), eq. 6: 1 - IoU + rho^2 / c^2
    terms, shape = _box_terms(p, t)
    return np.array([1 - d["iou"] + d["rho2"] / (d["c2"] + 1e-7) for d in terms]).reshape(shape)


def ciou(p, t):
    # Zheng et al. (2020), eqs. 8-11: the DIoU loss + alpha v
    terms, shape = _box_terms(p, t)
    out = []
    for d in terms:
        v = 4 / math.pi**2 * (math.atan(d["wt"] / d["ht"]) - math.atan(d["wp"] / d["hp"])) ** 2
        alpha = v / (1 - d["iou"] + v)
        out.append(1 - d["iou"] + d["rho2"] / (d["c2"] + 1e-7) + alpha * v)
    return np.array(out).reshape(shape)


REFERENCES = {
    name: fn
    for name, fn in dict(globals()).items()
    if callable(fn) and not name.startswith("_") and fn.__module__ == __name__
}
