"""The demo's content: members, ads, projects and mags in French, as TOML files.

The demo loaders (onemile/demo.py and each feature's demo.py) read their text from here and
only place it in time and space; the files ship inside the package (pyproject's package-data).
"""

from __future__ import annotations

import tomllib
from importlib import resources


def read(name: str) -> dict:
    """The parsed `onemile/demo_data/<name>.toml`."""
    return tomllib.loads(resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8"))
