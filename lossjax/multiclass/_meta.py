"""Registry metadata shared by the multiclass losses (hyperparameters, kinds, docs).
"""

from __future__ import annotations

from lossjax import _samples
from lossjax._classes import (
    label_checks,
)
from lossjax._samples import multiclass as fixtures
from lossjax.registry import NONNEGATIVE, UNIT_RIGHT_OPEN, Hyper

CE_HYPERS = {
    "label_smoothing": Hyper(UNIT_RIGHT_OPEN, fast=(0.0,)),
    "ignore_index": Hyper(None, static=True, optional=True,
                          why_static=("a class id, not a quantity: whether it applies (None drops "
                                      "nothing) and whether the targets are labels it can apply to"
                                      " are decided at trace time")),
    "class_weights": Hyper(NONNEGATIVE, optional=True),
}
MULTICLASS = dict(task="multiclass", granularity="example", checks=label_checks)




LABEL_HYPERS = {"ignore_index": CE_HYPERS["ignore_index"],
                 "class_weights": CE_HYPERS["class_weights"]}
LOGIT_LABELS = dict(
    predictions="logits", targets="labels or probabilities",
    sample=_samples.default_sampler("logits", "labels", "example"), **MULTICLASS,
)
SCORE_LABELS = dict(
    predictions="scores", targets="labels or one-hot",
    sample=_samples.default_sampler("scores", "labels", "example"),
    boundary=fixtures.class_boundary("logits", smoothing=False), **MULTICLASS,
)

ARGS_CLASS = """
      ignore_index: integer label whose examples are dropped (static; None to drop none).
      class_weights: optional non-negative ``[K]`` weights (they multiply into the example
        weights, so the mean is ``sum(w_y * loss) / sum(w_y)``).
      axis: the class axis (static)."""


def class_args_doc(f):
    f.__doc__ = f.__doc__.replace("{class_args}", ARGS_CLASS.strip())
    return f
