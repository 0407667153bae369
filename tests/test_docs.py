"""The documentation runs: every Python block of README.md, and every docstring example.

README blocks run in order in one namespace, as a reader runs them top to bottom, in a
fresh process with 8 virtual CPU devices (the mesh examples need them) and JAX's default
configuration (this suite switches float64 on; users do not). A block preceded by the line
``<!-- illustrative -->`` is not run, and must say why next to it; there is one today: the
multi-host recipe, which needs several processes and is run by tests/test_multiprocess.py.

Docstring examples of every lossjax module run as doctests in a fresh single-device process,
also with JAX's defaults.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ILLUSTRATIVE = "<!-- illustrative -->"


def readme_blocks(text: str) -> list[tuple[int, str]]:
    """``(line number, code)`` of each ```` ```python ```` block not marked illustrative.

    Blocks indented inside a list item are dedented by their fence's indentation.
    """
    blocks = []
    pattern = re.compile(r"^( *)```python\n(.*?)^\1```", re.S | re.M)
    for m in pattern.finditer(text):
        before = text[:m.start()].rstrip().splitlines()
        if before and before[-1].strip() == ILLUSTRATIVE:
            continue
        indent = len(m.group(1))
        code = "\n".join(line[indent:] for line in m.group(2).splitlines())
        blocks.append((text.count("\n", 0, m.start()) + 1, code))
    return blocks


def _run(code: str, stdin: str = "", **env_extra: str) -> subprocess.CompletedProcess:
    """``python -c code`` in a fresh process with JAX's defaults (plus ``env_extra``)."""
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_ENABLE_X64")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True,
                          text=True, env=env, timeout=600, cwd=str(ROOT))


RUN_BLOCKS = """
import json, sys, traceback
blocks = json.load(sys.stdin)
namespace = {"__name__": "__readme__"}
for line, code in blocks:
    try:
        exec(compile(code, f"README.md block at line {line}", "exec"), namespace)
    except BaseException:
        print(f"README.md block at line {line} failed:", file=sys.stderr)
        traceback.print_exc()
        sys.exit(1)
print("RAN", len(blocks))
"""


def test_readme_python_blocks_run_as_written():
    blocks = readme_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 6, blocks
    proc = _run(RUN_BLOCKS, json.dumps(blocks),
                XLA_FLAGS="--xla_force_host_platform_device_count=8")
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert f"RAN {len(blocks)}" in proc.stdout


def test_block_extraction_handles_indented_and_illustrative_blocks():
    text = ("a\n```python\nx = 1\n```\n- item:\n\n  ```python\n  y = 2\n  ```\n"
            f"{ILLUSTRATIVE}\n```python\nnot run\n```\n```bash\nls\n```\n")
    assert [code for _, code in readme_blocks(text)] == ["x = 1", "y = 2"]


RUN_DOCTESTS = """
import doctest, importlib, pkgutil
import lossjax
names = ["lossjax"] + sorted(m.name for m in pkgutil.walk_packages(lossjax.__path__, "lossjax."))
finder = doctest.DocTestFinder()
runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
with_examples = 0
for name in names:
    module = importlib.import_module(name)
    for test in finder.find(module, name):
        if test.examples and test.name.startswith(name):
            with_examples += 1
            runner.run(test)
failed, attempted = runner.summarize(verbose=False)
print("DOCTESTS", with_examples, failed, attempted)
"""


def test_docstring_examples_run_as_doctests():
    proc = _run(RUN_DOCTESTS)
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("DOCTESTS"))
    docstrings, failed, attempted = map(int, line.split()[1:])
    assert failed == 0, proc.stdout[-6000:]
    # every public loss has an example; a drop in the count means examples stopped running
    assert docstrings >= 80 and attempted >= 240, line


# ----------------------------------------------------------------------------- formulas

# Public functions outside the registry whose docstring states their formula too.
FORMULA_FUNCTIONS = (
    "make_fenchel_young_loss",
    "multiclass.sparsemax_probabilities",
    "ctc_with_forward_probabilities",
    "smooth_labels",
    "diagnostics.calibration",
)

_ENV = re.compile(r"\\(begin|end)\{([a-z]+\*?)\}")


def _builtin_specs():
    import lossjax

    return [s for s in (lossjax.spec(n) for n in lossjax.names()) if s.builtin]


def _rendered(doc: str):
    """The docstring as Sphinx's napoleon turns it into reST, parsed by docutils: ``(doctree,
    messages)``, the messages being docutils' warnings and errors (Sphinx's cross-reference
    roles are declared as literals: they resolve only in a Sphinx build)."""
    import inspect
    import io

    from docutils import nodes
    from docutils.core import publish_doctree
    from sphinx.ext.napoleon.docstring import GoogleDocstring

    roles = "".join(f".. role:: {r}(literal)\n" for r in ("func", "class", "mod", "meth",
                                                            "attr", "data", "exc", "obj"))
    rst = roles + "\n" + str(GoogleDocstring(inspect.cleandoc(doc)))
    stream = io.StringIO()
    tree = publish_doctree(rst, settings_overrides={
        "report_level": 2, "halt_level": 5, "warning_stream": stream,
        "file_insertion_enabled": False, "raw_enabled": False,
    })
    messages = [m.astext() for m in tree.findall(nodes.system_message) if m["level"] >= 2]
    return tree, messages + ([stream.getvalue()] if stream.getvalue() else [])


def _tex_problems(tex: str) -> list[str]:
    """Unbalanced braces, ``\\begin``/``\\end`` or ``\\left``/``\\right`` in ``tex`` (what a
    TeX typo usually breaks; the MathJax check of the whole set is in BUILD_NOTES.md)."""
    problems, depth, stack = [], 0, []
    for i, ch in enumerate(tex):
        if ch in "{}" and (i == 0 or tex[i - 1] != "\\"):
            depth += 1 if ch == "{" else -1
            if depth < 0:
                problems.append("a } closes nothing")
                depth = 0
    if depth:
        problems.append(f"{depth} unclosed {{")
    for kind, env in _ENV.findall(tex):
        if kind == "begin":
            stack.append(env)
        elif not stack or stack.pop() != env:
            problems.append(f"\\end{{{env}}} does not close the open environment")
    if stack:
        problems.append(f"unclosed environment(s) {stack}")
    if len(re.findall(r"\\left\b", tex)) != len(re.findall(r"\\right\b", tex)):
        problems.append("\\left and \\right do not pair")
    return problems


def _check_formula(name: str, doc: str | None) -> None:
    from docutils import nodes

    doc = doc or ""
    assert ".. math::" in doc, f"{name}: the docstring states no formula (a `.. math::` block)"
    head = doc.split("Args:")[0]
    assert ".. math::" in head, f"{name}: the formula comes before `Args:`"
    tree, messages = _rendered(doc)
    assert not messages, f"{name}: docutils reports {messages}"
    blocks = [b.astext() for b in tree.findall(nodes.math_block)]
    inline = [m.astext() for m in tree.findall(nodes.math)]
    assert blocks and all(b.strip() for b in blocks), f"{name}: an empty math block"
    for tex in blocks + inline:
        assert not _tex_problems(tex), f"{name}: {_tex_problems(tex)} in {tex!r}"


def test_every_builtin_loss_states_its_formula_and_it_parses():
    pytest.importorskip("sphinx")
    specs = _builtin_specs()
    assert len(specs) >= 70
    for spec in specs:
        _check_formula(spec.name, spec.fn.__doc__)


def test_public_formula_functions_state_their_formula():
    pytest.importorskip("sphinx")
    import lossjax

    for path in FORMULA_FUNCTIONS:
        obj = lossjax
        for part in path.split("."):
            obj = getattr(obj, part)
        _check_formula(path, obj.__doc__)


def test_the_formula_check_catches_what_it_should():
    pytest.importorskip("sphinx")
    ok = ("Summary.\n\n.. math::\n\n   \\ell = \\begin{cases} a & b \\\\ c & d \\end{cases}\n\n"
          "Args:\n  x: ``x``.\n")
    _check_formula("ok", ok)
    for bad, why in (
        ("Summary.\n\nArgs:\n  x: ``x``.\n", "states no formula"),
        ("Summary.\n\nArgs:\n  x: ``x``.\n\n.. math::\n\n   x\n", "before `Args:`"),
        ("Summary.\n\n.. math::\n\n   \\frac{1}{2\n\nArgs:\n  x: ``x``.\n", "unclosed"),
        ("Summary.\n\n.. math::\n\n   \\begin{cases} a \\end{aligned}\n\nArgs:\n  x: ``x``.\n",
         "does not close"),
        ("Summary, :maths:`x`.\n\n.. math::\n\n   x\n\nArgs:\n  x: ``x``.\n",
         "docutils reports"),
    ):
        with pytest.raises(AssertionError, match=re.escape(why)):
            _check_formula("bad", bad)
