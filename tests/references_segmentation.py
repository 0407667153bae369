"""Float64 NumPy references for lossjax.segmentation, written from each loss's formula.

Each image (or, with ``per_image=False``, the pool of all images) is flattened to a list of
pixels; the soft counts, ratios and the Lovász extension (Berman et al., CVPR 2018, Alg. 1)
are computed with plain loops. Not derived from lossjax's code.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def _batch_shape(x, mode, spatial_dims):
    x = np.asarray(x)
    return x.shape[: x.ndim - spatial_dims - (0 if mode == "binary" else 1)]


def _pixels(x, t, mode, from_logits, ignore_index, spatial_dims=2):
    """Per image: a list of (probs [P, C], targets [P, C], valid [P, C])."""
    x = np.asarray(x, np.float64)
    t = np.asarray(t)
    nb = len(_batch_shape(x, mode, spatial_dims))
    x = x.reshape(-1, *x.shape[nb:])
    t = t.reshape(-1, *t.shape[nb:])
    out = []
    for b in range(x.shape[0]):
        xb, tb = x[b], t[b]
        if mode == "binary":
            xb, tb = xb.reshape(-1, 1), tb.reshape(-1, 1)
        else:
            xb = xb.reshape(-1, x.shape[-1])
            tb = tb.reshape(-1) if mode == "multiclass" and tb.shape == x.shape[1:-1] else \
                tb.reshape(-1, x.shape[-1])
        k = xb.shape[-1]
        if from_logits:
            pb = special.softmax(xb, axis=-1) if mode == "multiclass" else special.expit(xb)
        else:
            pb = xb
        if tb.ndim == 1:  # integer labels
            valid = np.ones(len(tb), bool) if ignore_index is None else tb != ignore_index
            onehot = np.zeros((len(tb), k))
            for i, lab in enumerate(tb):
                if valid[i]:
                    onehot[i, lab] = 1.0
            out.append((pb, onehot, np.repeat(valid[:, None], k, 1)))
        else:
            integer = np.issubdtype(tb.dtype, np.integer)
            valid = (tb != ignore_index) if integer and ignore_index is not None else \
                np.ones(tb.shape, bool)
            out.append((pb, np.where(valid, tb, 0).astype(np.float64), valid))
    return out


def _units(x, t, mode, from_logits, ignore_index, per_image, spatial_dims=2):
    px = _pixels(x, t, mode, from_logits, ignore_index, spatial_dims)
    if per_image:
        return px
    return [tuple(np.concatenate([u[i] for u in px]) for i in range(3))]


def _out(losses, x, mode, per_image, spatial_dims):
    if not per_image:
        return np.asarray(losses[0], np.float64)
    losses = np.array(losses)
    return losses.reshape(_batch_shape(x, mode, spatial_dims) + losses.shape[1:])


def _region(ratio_fn, x, t, mode, from_logits, per_image, ignore_index, ignore_background,
            smooth, post=lambda r: 1.0 - r, spatial_dims=2, keep_classes=False):
    losses = []
    for p, y, v in _units(x, t, mode, from_logits, ignore_index, per_image, spatial_dims):
        per_class = []
        for c in range(p.shape[1]):
            if ignore_background and c == 0 and p.shape[1] > 1:
                continue
            tp = sum(p[i, c] * y[i, c] for i in range(len(p)) if v[i, c])
            ps = sum(p[i, c] for i in range(len(p)) if v[i, c])
            ts = sum(y[i, c] for i in range(len(p)) if v[i, c])
            num, den = ratio_fn(tp, ps, ts, smooth)
            per_class.append(post(num / den if den > 0 else 1.0))
        losses.append(np.array(per_class) if keep_classes else np.mean(per_class))
    return _out(losses, x, mode, per_image, spatial_dims)


def dice(x, t, mode="binary", from_logits=True, per_image=True, ignore_index=-100,
         ignore_background=False, smooth=1.0, class_weighting=None, spatial_dims=2,
         per_class=False):
    # Milletari, Navab and Ahmadi (2016), V-Net; Sudre et al. (2017)
    if class_weighting != "generalized":
        return _region(lambda tp, ps, ts, s: (2 * tp + s, ps + ts + s), x, t, mode, from_logits,
                       per_image, ignore_index, ignore_background, smooth,
                       spatial_dims=spatial_dims, keep_classes=per_class)
    losses = []
    for p, y, v in _units(x, t, mode, from_logits, ignore_index, per_image, spatial_dims):
        classes = [c for c in range(p.shape[1])
                   if not (ignore_background and c == 0 and p.shape[1] > 1)]
        tp = np.array([np.sum(p[:, c] * y[:, c] * v[:, c]) for c in classes])
        ps = np.array([np.sum(p[:, c] * v[:, c]) for c in classes])
        ts = np.array([np.sum(y[:, c] * v[:, c]) for c in classes])
        wts = np.array([1 / ts[i] ** 2 if ts[i] > 0 else np.nan for i in range(len(classes))])
        fill = np.nanmax(wts) if np.any(ts > 0) else 1.0
        wts = np.where(np.isnan(wts), fill, wts)
        den = np.sum(wts * (ps + ts)) + smooth
        losses.append(1 - ((2 * np.sum(wts * tp) + smooth) / den if den > 0 else 1.0))
    return _out(losses, x, mode, per_image, spatial_dims)


def tversky(x, t, mode="binary", from_logits=True, per_image=True, ignore_index=-100,
            ignore_background=False, smooth=1.0, alpha=0.5, beta=0.5, spatial_dims=2,
            per_class=False):
    # Salehi, Erdogmus and Gholipour (2017)
    return _region(lambda tp, ps, ts, s: (tp + s, tp + alpha * (ps - tp) + beta * (ts - tp) + s),
                   x, t, mode, from_logits, per_image, ignore_index, ignore_background, smooth,
                   spatial_dims=spatial_dims, keep_classes=per_class)


def focal_tversky(x, t, mode="binary", from_logits=True, per_image=True, ignore_index=-100,
                  ignore_background=False, smooth=1.0, alpha=0.3, beta=0.7, gamma=0.75,
                  spatial_dims=2, per_class=False):
    # Abraham and Khan (2019), eq. 4
    return _region(lambda tp, ps, ts, s: (tp + s, tp + alpha * (ps - tp) + beta * (ts - tp) + s),
                   x, t, mode, from_logits, per_image, ignore_index, ignore_background, smooth,
                   post=lambda r: max(1.0 - r, 0.0) ** gamma, spatial_dims=spatial_dims,
                   keep_classes=per_class)


def jaccard(x, t, mode="binary", from_logits=True, per_image=True, ignore_index=-100,
            ignore_background=False, smooth=1.0, spatial_dims=2, per_class=False):
    # Rahman and Wang (2016)
    return _region(lambda tp, ps, ts, s: (tp + s, ps + ts - tp + s), x, t, mode, from_logits,
                   per_image, ignore_index, ignore_background, smooth,
                   spatial_dims=spatial_dims, keep_classes=per_class)


def _lovasz_extension(errors, gt):
    """Berman et al., Alg. 1: sort errors descending, weight by the Jaccard increments."""
    order = np.argsort(-np.asarray(errors), kind="stable")
    e, g = np.asarray(errors)[order], np.asarray(gt, np.float64)[order]
    gts = g.sum()
    total, prev = 0.0, 0.0
    for i in range(len(e)):
        inter = gts - g[: i + 1].sum()
        union = gts + (1 - g[: i + 1]).sum()
        jac = 1 - inter / union
        total += e[i] * (jac - prev)
        prev = jac
    return total


def lovasz_hinge(x, t, per_image=True, ignore_index=-100, spatial_dims=2):
    # Berman, Rannen Triki and Blaschko (2018), sec. 3.1 and Alg. 1
    losses = []
    for p, y, v in _units(x, t, "binary", False, ignore_index, per_image, spatial_dims):
        keep = v[:, 0]
        logits, gt = p[keep, 0], (y[keep, 0] > 0.5).astype(np.float64)
        errors = np.maximum(1 - logits * (2 * gt - 1), 0.0)
        losses.append(_lovasz_extension(errors, gt) if len(errors) else 0.0)
    return _out(losses, x, "binary", per_image, spatial_dims)


def lovasz_softmax(x, t, from_logits=True, per_image=True, ignore_index=-100, classes="present",
                   spatial_dims=2):
    # Berman, Rannen Triki and Blaschko (2018), sec. 3.2 and Alg. 1
    losses = []
    for p, y, v in _units(x, t, "multiclass", from_logits, ignore_index, per_image,
                             spatial_dims):
        keep = v[:, 0]
        p, y = p[keep], y[keep]
        per_class = []
        for c in range(p.shape[1]):
            fg = y[:, c]
            if classes == "present" and fg.sum() == 0:
                continue
            per_class.append(_lovasz_extension(np.abs(fg - p[:, c]), fg) if len(fg) else 0.0)
        losses.append(np.mean(per_class) if per_class else 0.0)
    return _out(losses, x, "multiclass", per_image, spatial_dims)


REFERENCES = {
    name: fn
    for name, fn in dict(globals()).items()
    if callable(fn) and not name.startswith("_") and fn.__module__ == __name__
}
