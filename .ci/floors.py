"""Prints the run-time dependencies of pyproject.toml pinned to their declared minimum.

``make test-floors`` installs exactly these (plus pytest to run the quick test) into a second
environment, so the floors in pyproject.toml are versions CI runs: the floors are written
once, in pyproject.toml, and read from there. Every run-time dependency must declare a floor.
"""

import re
import sys
import tomllib
from pathlib import Path

pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
pins = []
for requirement in pyproject["project"]["dependencies"]:
    m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)\s*(,.*)?", requirement)
    if not m:
        sys.exit(f"floors.py: {requirement!r} declares no minimum version (name>=X.Y)")
    pins.append(f"{m.group(1)}=={m.group(2)}")
print("\n".join(pins))
