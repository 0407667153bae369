"""Sphinx extension: tables of the guides generated from the registry at build time.

Nothing here is kept by hand per loss: a loss appears in these tables by being registered.

Directives (usable from MyST as ```` ```{lossjax-properties} ````, etc.):

``lossjax-properties``
    One table per task (or only ``:task: <task>``) of the registered differentiable losses with
    the properties that decide a choice: inputs and which of bounded, convex, twice
    differentiable hold (the registry's :class:`~lossjax.registry.LossSpec`), and three derived
    columns: *robust*
    (bounded influence of one bad point), *proper* (a strictly proper scoring rule, so the
    minimiser is the calibrated probability) and *imbalance* (the hyperparameters that weigh
    classes). How each is derived is in :data:`ROBUST`, :data:`PROPER`, :data:`IMBALANCE`.
``lossjax-peers``
    The name map to one library (``:library: optax``; several with ``torch,torchvision``):
    every registered loss whose ``peers`` names that library, the peer's name(s) and each
    difference the registry states (the parenthesised part of the peer entry).
``lossjax-study-flags``
    The flags of a study script (argument: the study's module name under ``experiments``), as
    its ``--help`` lists them: the same definitions (:func:`experiments._common.define_flags`)
    applied to a fresh ``FlagValues``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.util.docutils import SphinxDirective

# --------------------------------------------------------------------------------------------
# Derived properties: the registry has no field for these, so each is derived here, once,
# with its reason. A new loss gets the derived value without an entry unless it is an
# exception listed below.

#: Robust to a few bad points: the loss of one point grows at most linearly in its residual
#: (regression: the gradient in the prediction is bounded), or is bounded (classification:
#: a mislabelled example costs at most a constant; Ghosh et al., "Robust Loss Functions under
#: Label Noise for Deep Neural Networks", AAAI 2017). Every loss the registry marks
#: ``bounded`` is robust; these unbounded ones are too, for the reason given.
ROBUST: dict[str, str] = {
    "absolute_error": "linear",             # gradient ±1
    "huber": "linear tails",                # linear beyond delta
    "pseudo_huber": "linear tails",         # gradient bounded by delta
    "smooth_l1": "linear tails",            # linear beyond beta
    "log_cosh": "linear tails",             # gradient tanh(r), bounded by 1
    "quantile": "linear",                   # gradient tau or tau - 1
    "bi_tempered_logistic": "t1 < 1",       # bounds a mislabelled example's loss (Amid et al. 2019)
    "symmetric_cross_entropy": "bounded part",  # its reverse CE term is bounded (Wang et al. 2019)
}

#: Strictly proper scoring rules: the expected loss is minimised by the true class
#: probabilities, so the model's probabilities are calibrated at the optimum (Gneiting and
#: Raftery, "Strictly Proper Scoring Rules, Prediction, and Estimation", JASA 2007). Focal
#: losses are not (they push probabilities towards 0.5); margin losses give no probabilities.
PROPER: dict[str, str] = {
    "binary_cross_entropy": "log score",
    "binary_cross_entropy_with_logits": "log score",
    "softmax_cross_entropy": "log score",
    "categorical_cross_entropy": "log score",
    "nll": "log score",
    "linear_cross_entropy": "log score",
    "multilabel_soft_margin": "log score per label",
    "brier": "quadratic score",
}

#: Hyperparameters that weigh classes or positives against negatives: a loss "handles
#: imbalance" by these knobs (every loss also takes per-example ``weights``).
IMBALANCE = ("class_weights", "pos_weight", "alpha", "class_weighting")
#: Losses whose formula is insensitive to the share of a class by construction (a ratio of
#: overlaps per class rather than a sum over pixels; Milletari et al. 2016, Salehi et al. 2017).
IMBALANCE_BY_FORM: dict[str, str] = {
    "dice": "overlap ratio",
    "jaccard": "overlap ratio",
    "tversky": "overlap ratio",
    "focal_tversky": "overlap ratio",
    "lovasz_softmax": "IoU surrogate",
    "lovasz_hinge": "IoU surrogate",
}


def robust(spec) -> str:
    if spec.name in ROBUST:
        return f"yes ({ROBUST[spec.name]})"
    return "yes (bounded)" if spec.bounded else "no"


def proper(spec) -> str:
    return f"yes ({PROPER[spec.name]})" if spec.name in PROPER else "no"


def imbalance(spec) -> str:
    knobs = [h for h in IMBALANCE if h in spec.hyperparameters]
    parts = [f"``{h}``" for h in knobs]
    if spec.name in IMBALANCE_BY_FORM:
        parts.append(IMBALANCE_BY_FORM[spec.name])
    return ", ".join(parts) if parts else "—"


def split_peer(entry: str) -> list[tuple[str, str]]:
    """``"a / b (note)"`` -> ``[("a", ""), ("b", "note")]``: names and stated differences.

    A parenthesis that follows a name without a space is part of it (``Foo(from_logits=True)``).
    """
    out = []
    for alt in entry.split(" / "):
        m = re.match(r"^(.*?) \((.*)\)$", alt.strip(), re.S)
        out.append((m.group(1), m.group(2)) if m else (alt.strip(), ""))
    return out


# --------------------------------------------------------------------------------------------
# Node builders


def _inline(text: str) -> list[nodes.Node]:
    """Text with ````literal```` spans as docutils nodes."""
    out: list[nodes.Node] = []
    for i, part in enumerate(re.split(r"``(.*?)``", text)):
        if part:
            out.append(nodes.literal(part, part) if i % 2 else nodes.Text(part))
    return out


def loss_ref(name: str) -> nodes.Node:
    """A cross-reference to ``lossjax.<name>`` (Python domain: it resolves to the loss's API
    entry when one documents it, and renders as plain code otherwise)."""
    ref = addnodes.pending_xref("", refdomain="py", reftype="func",
                                reftarget=f"lossjax.{name}", refexplicit=True,
                                refwarn=False)
    ref += nodes.literal(name, name, classes=["xref", "py", "py-func"])
    return ref


def table(headers: Sequence[str], rows: Iterable[Sequence[nodes.Node | str]],
          widths: Sequence[int] | None = None) -> nodes.table:
    rows = list(rows)
    tbl = nodes.table(classes=["lossjax-generated"])
    group = nodes.tgroup(cols=len(headers))
    tbl += group
    for w in widths or [1] * len(headers):
        group += nodes.colspec(colwidth=w)
    head = nodes.thead()
    group += head
    head += _row(headers)
    body = nodes.tbody()
    group += body
    for r in rows:
        body += _row(r)
    return tbl


def _row(cells: Sequence[nodes.Node | str]) -> nodes.row:
    row = nodes.row()
    for c in cells:
        entry = nodes.entry()
        para = nodes.paragraph()
        if isinstance(c, str):
            para.extend(_inline(c))
        else:
            para += c
        entry += para
        row += entry
    return row


def properties(spec) -> str:
    """The registry's properties that hold: bounded, convex, twice differentiable."""
    held = [name for name, flag in (("bounded", spec.bounded), ("convex", spec.convex),
                                    ("twice differentiable", spec.twice_differentiable))
            if flag]
    return ", ".join(held) if held else "—"


# --------------------------------------------------------------------------------------------
# Directives


class PropertiesTable(SphinxDirective):
    option_spec = {"task": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        from lossjax import registry

        tasks = ([self.options["task"]] if "task" in self.options else
                 list(dict.fromkeys(registry.spec(n).task
                                    for n in registry.names(differentiable=True))))
        out: list[nodes.Node] = []
        for task in tasks:
            specs = [registry.spec(n) for n in registry.names(task=task, differentiable=True)]
            if not specs:
                raise self.error(f"no differentiable registered loss has task {task!r}")
            if len(tasks) > 1:
                out.append(nodes.rubric(text=task))
            out.append(table(
                ["loss", "predictions → targets", "properties", "robust to bad points",
                 "calibrated (proper)", "imbalance"],
                ([loss_ref(s.name), f"{s.predictions} → {s.targets}", properties(s),
                  robust(s), proper(s), imbalance(s)] for s in specs),
                widths=[16, 16, 14, 12, 12, 14]))
        return out


class PeersTable(SphinxDirective):
    option_spec = {"library": directives.unchanged_required}

    def run(self) -> list[nodes.Node]:
        from lossjax import registry

        libraries = [x.strip() for x in self.options["library"].split(",")]
        rows = []
        for name in registry.names():
            spec = registry.spec(name)
            for lib in libraries:
                if lib not in spec.peers:
                    continue
                for peer, note in split_peer(spec.peers[lib]):
                    label = peer if len(libraries) == 1 else f"{lib}: {peer}"
                    rows.append([nodes.literal(label, label), loss_ref(name),
                                 note or "—"])
        if not rows:
            raise self.error(f"no registered loss names a peer in {libraries}")
        rows.sort(key=lambda r: r[0].astext().lower())
        return [table([f"{' / '.join(libraries)}", "lossjax", "stated difference"], rows,
                      widths=[12, 10, 24])]


def study_flags(study: str) -> str:
    """The ``--help`` text of ``python -m experiments.<study>``'s own flags."""
    import importlib
    import sys

    from absl import flags

    from experiments import _common

    mod = importlib.import_module(f"experiments.{study}")
    fv = flags.FlagValues()
    argv0 = sys.argv[0]
    sys.argv[0] = f"experiments.{study}"  # define_flags attributes flags to sys.argv[0]
    try:
        _common.define_flags(mod.Config, default_out=f"results/{study}", flag_values=fv)
    finally:
        sys.argv[0] = argv0
    return fv.module_help(f"experiments.{study}")


class StudyFlags(SphinxDirective):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        from experiments import STUDIES

        study = self.arguments[0]
        if study not in STUDIES:
            raise self.error(f"unknown study {study!r}; STUDIES = {STUDIES}")
        text = f"$ python -m experiments.{study} --help\n" + study_flags(study)
        block = nodes.literal_block(text, text, language="text")
        return [block]


RESULTS = "_results"  # docs/studies/_results: each study's committed metrics.json and figures


def study_report(study: str) -> tuple[str, str]:
    """(title, body) of a study's report, rendered by the study's own ``report`` function from
    its committed ``docs/studies/_results/<study>/metrics.json``; figure paths are relative to
    ``docs/studies/``."""
    import importlib
    import json
    from pathlib import Path

    metrics_path = Path(__file__).resolve().parent.parent / "studies" / RESULTS / study / \
        "metrics.json"
    mod = importlib.import_module(f"experiments.{study}")
    text = mod.report(json.loads(metrics_path.read_text(encoding="utf-8")),
                      f"{RESULTS}/{study}")
    lines = text.strip("\n").splitlines()
    if not lines or not lines[0].startswith("## "):
        raise ValueError(f"{study}.report() no longer starts with a '## ' title")
    return lines[0][3:].strip(), "\n".join(lines[1:])


class StudyReport(SphinxDirective):
    """The figures, tables and interpretation of a study, from its committed metrics."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        from docutils.statemachine import StringList

        from experiments import STUDIES

        study = self.arguments[0]
        if study not in STUDIES:
            raise self.error(f"unknown study {study!r}; STUDIES = {STUDIES}")
        title, body = study_report(study)
        self.env.note_dependency(str(
            self.env.srcdir / "studies" / RESULTS / study / "metrics.json"))
        container = nodes.container(classes=["lossjax-study"])
        self.state.nested_parse(StringList(body.splitlines(), source=f"{study}.report()"),
                                self.content_offset, container)
        return [container]


class StudyMethod(SphinxDirective):
    """What a study does, from its module docstring (its first line is the page's title)."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        import importlib
        import inspect

        from docutils.statemachine import StringList

        study = self.arguments[0]
        doc = inspect.getdoc(importlib.import_module(f"experiments.{study}")) or ""
        body = doc.split("\n", 1)[1] if "\n" in doc else ""
        # reST roles of the docstring as MyST roles; the rest of its markup is common to both
        body = re.sub(r":(func|class|mod|data):`", r"{\1}`", body)
        container = nodes.container(classes=["lossjax-study-method"])
        self.state.nested_parse(StringList(body.strip().splitlines(),
                                           source=f"experiments.{study}"),
                                self.content_offset, container)
        return [container]


def setup(app):
    app.add_directive("lossjax-study-method", StudyMethod)
    app.add_directive("lossjax-study-report", StudyReport)
    app.add_directive("lossjax-properties", PropertiesTable)
    app.add_directive("lossjax-peers", PeersTable)
    app.add_directive("lossjax-study-flags", StudyFlags)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
