"""The README's table of what out-of-domain inputs give is true as written.

The table lives in one place, README.md, between the "out-of-domain table" markers. Each row's
Example column is evaluated as written (the names of `lossjax.__all__`, `jnp`, `nan`, `inf`)
and its Gives column starts with what the call must give: `NaN`, `+inf`, a number (equal to
the call's value to the digits written), or `raises` (a `checkify.JaxRuntimeError`). A row
that is not of this form fails, so the README and the test cannot drift apart.
"""

from __future__ import annotations

import math
import pathlib
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

import lossjax

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
BEGIN = "<!-- out-of-domain table: begin"
END = "<!-- out-of-domain table: end -->"


def _rows():
    text = README.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, "README lost the out-of-domain table markers"
    body = text[text.index(BEGIN):text.index(END)].splitlines()[1:]
    rows = []
    for line in body:
        if not line.startswith("|") or line.startswith("|---") or line.startswith("| Input"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        assert len(cells) == 3, f"a row must have 3 cells: {line!r}"
        kind, example, gives = cells
        m = re.fullmatch(r"`(.+)`", example)
        assert m, f"the Example cell must be one code span: {example!r}"
        rows.append((kind, m.group(1), gives))
    return rows


ROWS = _rows()
NAMESPACE = {
    **{n: getattr(lossjax, n) for n in lossjax.__all__},
    "lossjax": lossjax, "jnp": jnp, "nan": jnp.nan, "inf": jnp.inf,
}


def test_the_table_lists_every_kind_of_out_of_domain_input():
    kinds = " ".join(k for k, _, _ in ROWS)
    for needed in ("NaN at a kept position", "Integer label outside", "Probability prediction",
                   "Hinge target", "x2 < x1", "kl_divergence", "exponential", "Checked mode"):
        assert needed in kinds, needed
    assert len(ROWS) >= 15


@pytest.mark.parametrize("kind,example,gives", ROWS, ids=[r[0] for r in ROWS])
def test_out_of_domain_row_is_true(kind, example, gives):
    if gives.startswith("raises"):
        with pytest.raises(checkify.JaxRuntimeError):
            jax.block_until_ready(eval(example, dict(NAMESPACE)))
        return
    value = float(eval(example, dict(NAMESPACE)))
    if gives.startswith("NaN"):
        assert math.isnan(value), (example, value)
    elif gives.startswith("+inf"):
        assert value == math.inf, (example, value)
    else:
        m = re.match(r"(-?\d+\.\d+)", gives)
        assert m, f"Gives must start with NaN, +inf, raises or a number: {gives!r}"
        written = m.group(1)
        decimals = len(written.split(".")[1])
        assert abs(value - float(written)) <= 0.5 * 10.0 ** -decimals, (example, value, written)


def test_nan_rows_are_nan_in_every_reduction():
    # "NaN: that unit's value, the sum and the mean"
    p, t = jnp.array([1.0, jnp.nan]), jnp.zeros(2)
    none = lossjax.huber(p, t, reduction="none")
    assert np.isfinite(none[0]) and np.isnan(none[1])
    assert np.isnan(lossjax.huber(p, t, reduction="sum"))
    assert np.isnan(lossjax.huber(p, t, reduction="mean"))
    # a NaN weight at a kept position
    assert np.isnan(lossjax.huber(jnp.zeros(2), t, weights=jnp.array([1.0, jnp.nan])))


def test_values_do_not_change_under_jit():
    # "Unchecked, under jit or not": the same rows compiled
    for _, example, gives in ROWS:
        if gives.startswith("raises"):
            continue
        eager = float(eval(example, dict(NAMESPACE)))
        jitted = float(jax.jit(lambda ex=example: eval(ex, dict(NAMESPACE)))())
        assert (math.isnan(eager) and math.isnan(jitted)) or eager == jitted, example
