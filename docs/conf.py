"""Sphinx configuration of the lossjax documentation site (``make docs``).

Offline by construction: every asset (theme, MathJax) comes from the packages of the ``docs``
extra; nothing is fetched while building or reading the site. Warnings are errors (``-W``).
"""

from __future__ import annotations

import os
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))
os.environ.setdefault("JAX_PLATFORMS", "cpu")

project = "lossjax"
author = "The lossjax authors"
copyright = "2026, The lossjax authors"  # noqa: A001  (Sphinx's name)

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "lossjax_pages",   # a page and a figure per registered loss (docs/_ext/lossjax_pages.py)
    "lossjax_tables",  # registry-generated tables of the guides (docs/_ext/lossjax_tables.py)
]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# MathJax 3 served from the site itself: the files of the ``sphinx-mathjax-offline``
# distribution (its module name has a hyphen, so it cannot be loaded as an extension; its
# static folder is used directly and copied to ``_static/mathjax``).
_MATHJAX = Path(str(metadata.distribution("sphinx-mathjax-offline").locate_file(
    "sphinx-mathjax-offline/static")))
html_static_path = [str(_MATHJAX)]
mathjax_path = "mathjax/tex-chtml.js"

html_theme = "sphinx_book_theme"
html_title = "lossjax"
# one search box (the sidebar's): the header's persistent search button is left out
html_theme_options = {"show_toc_level": 2, "navbar_persistent": []}

autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
