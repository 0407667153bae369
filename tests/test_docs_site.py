"""The documentation site leaves nothing out: every public symbol and every registered loss has
a page, and a newly registered loss gets one without a file being written by hand.

Pure Python, no Sphinx build (seconds): it imports the page generator of the site
(docs/_ext/lossjax_pages.py) and the site checker (docs/check_site.py) and compares their
listings with ``lossjax.__all__`` and ``lossjax.registry.names()``. ``make docs`` builds the
pages; ``make docs-check`` checks the built site in a browser.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

import lossjax
from lossjax import registry

DOCS = Path(__file__).resolve().parent.parent / "docs"
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS))

import check_site  # noqa: E402
import lossjax_pages  # noqa: E402


def test_every_registered_loss_has_a_page():
    pages = lossjax_pages.loss_pages()
    assert sorted(pages.values()) == registry.names()
    assert all(doc == f"losses/{name}" for doc, name in pages.items())
    index = lossjax_pages.render_index()
    for name in registry.names():
        assert f"[`{name}`]({name}.md)" in index, name


def test_every_public_symbol_has_a_page():
    documented = lossjax_pages.api_symbols()
    missing = sorted(set(lossjax.__all__) - set(documented))
    assert not missing, f"public symbols without a page (add them to docs/api.md): {missing}"


def test_api_reference_targets_exist():
    """Each autodoc target of docs/api.md names a real object (a typo would warn at build)."""
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    targets = [m.group("target") for m in lossjax_pages._AUTODOC.finditer(text)]
    assert targets
    for target in targets:
        module, _, attr = target.rpartition(".")
        try:
            obj = importlib.import_module(target)
        except ImportError:
            obj = getattr(importlib.import_module(module), attr, None)
        assert obj is not None, target


def test_the_check_fails_when_a_symbol_is_not_documented(tmp_path):
    api = tmp_path / "api.md"
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    api.write_text(text.replace(".. autofunction:: lossjax.checked\n", ""), encoding="utf-8")
    assert "checked" not in lossjax_pages.api_symbols(api)
    assert "checked" in lossjax_pages.api_symbols()


@pytest.mark.parametrize("name", registry.names())
def test_each_loss_page_renders(name):
    """The page text of every loss: its docstring by autodoc, each section, the figure."""
    spec = registry.spec(name)
    page = lossjax_pages.render_page(name, {"caption": "c", "example": "", "shapes": None})
    assert page.startswith(lossjax_pages.MARK)
    public = lossjax_pages.public_name(spec)
    if spec.builtin:  # documented under the name users import
        assert public == f"lossjax.{spec.fn.__name__}" and public[8:] in lossjax.__all__
    assert f".. autofunction:: {public}" in page
    for section in ("## Value and gradient", "## Reductions, weights and where", "## Shapes",
                    "## Hyperparameters", "## Properties", "## Peers", "## Reference"):
        assert section in page, section
    assert f"_figures/{name}.png" in page
    for hyper in spec.hyperparameters:
        assert f"| `{hyper}` |" in page
    for text in spec.peers.values():
        assert lossjax_pages._md_cell(lossjax_pages._rst_inline(text)) in page
    assert lossjax_pages.units(spec, strict=True), f"{name}: no reduction text in its docstring"


def test_a_new_loss_gets_its_page_by_being_registered():
    @registry.register_elementwise(bounded=False, convex=True, reference="for the test")
    def docs_site_quartic(predictions, targets, *, scale=1.0):
        """Quartic error, registered by the test.

        Args:
          predictions: values.
          targets: values.
          scale: a positive factor.
        """
        return scale * (predictions - targets) ** 4

    try:
        assert "losses/docs_site_quartic" in lossjax_pages.loss_pages()
        page = lossjax_pages.render_page("docs_site_quartic")
        assert "# docs_site_quartic" in page and "| `scale` | `1.0` |" in page
        assert "[`docs_site_quartic`](docs_site_quartic.md)" in lossjax_pages.render_index()
    finally:
        registry.unregister("docs_site_quartic")
    assert "losses/docs_site_quartic" not in lossjax_pages.loss_pages()


def test_site_checker_finds_broken_links_images_and_network_assets(tmp_path):
    """docs/check_site.py's static part on a tiny site with one fault of each kind."""
    (tmp_path / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "mathjax.js").write_text("//", encoding="utf-8")
    (tmp_path / "good.html").write_text(
        '<html><body><h1 id="top">t</h1><a href="#top">x</a><img src="img.png">'
        '<span class="math">\\(x\\)</span><script src="_static/mathjax.js"></script>'
        '<a href="https://example.org/page">an external link is fine</a></body></html>',
        encoding="utf-8")
    problems, pages = check_site.static_check(tmp_path)
    assert problems == [] and "good.html" in pages
    (tmp_path / "bad.html").write_text(
        '<html><head><link rel="stylesheet" href="https://cdn.example.org/x.css">'
        '<script src="//cdn.example.org/x.js"></script></head><body>'
        '<a href="missing.html">a</a><a href="good.html#nowhere">b</a>'
        '<img src="empty.png"><img src="gone.png"><div class="math">\\[x\\]</div>'
        '</body></html>', encoding="utf-8")
    problems, _ = check_site.static_check(tmp_path)
    text = "\n".join(problems)
    for expected in ("from the network: https://cdn.example.org/x.css",
                     "from the network: //cdn.example.org/x.js",
                     "missing.html points at a missing file", "no anchor #nowhere",
                     "empty.png is empty", "gone.png does not exist",
                     "has math but does not load the site's MathJax"):
        assert expected in text, (expected, problems)
    assert all(p.startswith("bad.html") for p in problems), problems
