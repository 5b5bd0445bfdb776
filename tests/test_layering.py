"""Dependencies point one way: no feature imports another feature's routes, and no import
hides inside a function to dodge a cycle (read from the source, no app needed)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "onemile"
FEATURES = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists() and p.name != "models")


def _modules():
    for feature in FEATURES:
        for path in sorted((PACKAGE / feature).rglob("*.py")):
            yield feature, path, ast.parse(path.read_text(encoding="utf-8"))


def _imported(node: ast.ImportFrom) -> str:
    return "." * node.level + (node.module or "")


def test_no_feature_imports_another_feature_s_routes():
    found = [
        f"{path.relative_to(PACKAGE)} imports {_imported(node)}"
        for feature, path, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.level == len(path.relative_to(PACKAGE).parts)  # up to onemile/
        and (node.module or "").split(".")[-1] == "routes"
        and (node.module or "").split(".")[0] != feature
    ]
    assert found == []


def test_routes_and_services_import_at_module_level():
    found = [
        f"{path.relative_to(PACKAGE)}:{node.lineno} imports {_imported(node) if isinstance(node, ast.ImportFrom) else ''}"
        for _feature, path, tree in _modules()
        if path.stem in ("routes", "services", "exchange") or path.parent.name == "services"
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    assert found == []
