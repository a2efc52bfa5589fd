"""Imports point inwards: the domain knows nothing of frameworks, services nothing of adapters."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "perfectorder"
FORBIDDEN = {
    "domain": (
        "sqlalchemy",
        "fastapi",
        "pydantic",
        "typer",
        "psycopg",
        "perfectorder.services",
        "perfectorder.adapters",
        "perfectorder.api",
        "perfectorder.cli",
    ),
    "metrics": (
        "sqlalchemy",
        "fastapi",
        "pydantic",
        "typer",
        "psycopg",
        "perfectorder.services",
        "perfectorder.adapters",
        "perfectorder.api",
        "perfectorder.cli",
    ),
    "services": (
        "sqlalchemy",
        "fastapi",
        "pydantic",
        "typer",
        "psycopg",
        "perfectorder.adapters",
        "perfectorder.api",
        "perfectorder.cli",
    ),
    "api": ("perfectorder.adapters.db.repositories", "perfectorder.adapters.db.tables"),
    "cli": ("perfectorder.adapters.db.repositories", "perfectorder.adapters.db.tables"),
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_inwards(layer):
    offending = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in sorted((SRC / layer).rglob("*.py"))
        for name in imports_of(path)
        if name.startswith(FORBIDDEN[layer])
    ]
    assert offending == []
