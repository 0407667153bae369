"""Docstrings of registered losses: the contract's arguments written once, the reference read.

Every loss takes the contract's ``weights``, ``where`` and ``reduction`` (and a per-example
loss its class ``axis``); their description is written here, once, and the registry appends it
to the ``Args`` section of each loss's docstring, with the loss's own *units* (the shape of its
per-unit losses). A loss's reference is the ``Reference`` section of its docstring: the
registry reads it from there, so the docstring and the registry cannot disagree.
"""

from __future__ import annotations

import re
import textwrap

# The shared arguments, in the order they are documented. A loss computes one loss per *unit*
# (an element, an example, a box, an image, ...); ``{unit}`` names it, ``{shape}`` is the shape
# of the per-unit losses.
CONTRACT_DOCS = {
    "weights": "optional real weights broadcastable to {shape}, one per {unit}: they multiply "
    "the losses, and ``\"mean\"`` divides by the sum of the kept weights.",
    "where": "optional boolean mask broadcastable to {shape}; False drops the {unit} there: its "
    "inputs are replaced by safe values before the loss is computed, so a NaN or ``inf`` "
    "there changes neither the value nor the gradient.",
    "reduction": "``\"none\"`` (one weighted loss per {unit}, shape {shape}; 0 where "
    "dropped), ``\"sum\"``, or ``\"mean\"`` (the sum divided by the sum of the kept "
    "weights; 0, not NaN, when nothing is kept).",
}

# (unit, shape) by granularity, for losses that do not name their own.
UNITS = {
    "element": ("element", "``predictions.shape``"),
    "example": ("example", "``predictions.shape`` without ``axis``"),
}

_SECTION = re.compile(r"^(\s*)(Args|Arguments|Returns|Raises|Example|Examples|Note|Notes|"
                      r"Reference|References|Yields|Attributes|Warning|See Also):\s*$")
_WIDTH = 96


def _sections(lines: list[str]) -> list[tuple[str, int, int]]:
    """``(name, start, end)`` of each Google-style section (``start`` is the header line)."""
    heads = [(m.group(2), i) for i, line in enumerate(lines) if (m := _SECTION.match(line))]
    out = []
    for k, (name, start) in enumerate(heads):
        end = heads[k + 1][1] if k + 1 < len(heads) else len(lines)
        out.append((name, start, end))
    return out


def reference(doc: str | None) -> str:
    """The text of the docstring's ``Reference`` section, on one line ("" when it has none)."""
    lines = (doc or "").expandtabs().splitlines()
    for name, start, end in _sections(lines):
        if name in ("Reference", "References"):
            return " ".join(line.strip() for line in lines[start + 1:end] if line.strip())
    return ""


def documented_args(doc: str | None) -> list[str]:
    """Names of the arguments documented in the docstring's ``Args`` section."""
    lines = (doc or "").expandtabs().splitlines()
    for name, start, end in _sections(lines):
        if name in ("Args", "Arguments"):
            indent = len(lines[start]) - len(lines[start].lstrip())
            found = []
            for line in lines[start + 1:end]:
                m = re.match(r"^(\s*)(\*{0,2}\w+)\s*(\([^)]*\))?:", line)
                if m and len(m.group(1)) == indent + 2:
                    found.append(m.group(2))
            return found
    return []


def with_contract(
    doc: str | None, *, units: tuple[str, str], args: tuple[str, ...], loss: str,
    strict: bool = True,
) -> str:
    """``doc`` with the contract's ``args`` described at the end of its ``Args`` section.

    Raises:
      ValueError: the docstring already describes one of ``args`` (the contract's
        description is written once, here), or it has no ``Args`` section and ``strict``
        (the built-in losses; a user's loss without one gets one).
    """
    raw = (doc or f"The {loss} loss.").expandtabs()
    lines = raw.splitlines()
    already = sorted(set(documented_args(raw)) & set(args))
    if already:
        raise ValueError(f"{loss}: the docstring describes the contract's argument(s) "
                         f"{already}; remove them (lossjax._docs writes them once for all).")
    args_section = [(s, e) for n, s, e in _sections(lines) if n in ("Args", "Arguments")]
    if not args_section:
        if strict:
            raise ValueError(f"{loss}: the docstring needs an `Args:` section.")
        # a user's loss without one: an Args section after the text, before any other section
        sections = _sections(lines)
        at = sections[0][1] if sections else len(lines)
        ref = lines[at] if sections else (lines[1] if len(lines) > 1 else "    ")
        margin = ref[: len(ref) - len(ref.lstrip())]
        head = [""] if at and lines[at - 1].strip() else []
        lines = lines[:at] + head + [margin + "Args:"] + ([""] if sections else []) + lines[at:]
        start = at + len(head)
        end = start + 1
    else:
        start, end = args_section[0]
    indent = " " * (len(lines[start]) - len(lines[start].lstrip()) + 2)
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    added = []
    for arg in args:
        text = f"{arg}: " + CONTRACT_DOCS[arg].format(unit=units[0], shape=units[1])
        added += textwrap.wrap(text, _WIDTH - len(indent), initial_indent=indent,
                               subsequent_indent=indent + "  ", break_on_hyphens=False)
    return "\n".join(lines[:end] + added + lines[end:]) + ("\n" if raw.endswith("\n") else "")
