"""Every module the package imports at run time comes from the standard library, the package
itself, or a declared runtime dependency: a plain `pip install .` must give a working program
(a dev-only dependency imported by the CLI once made it crash at start-up)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "perfectorder"


def _name(spec: str) -> str:
    return re.split(r"[\[=<>!~; (]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _installed_by_plain_install() -> set[str]:
    """The declared runtime dependencies and what they require in turn (extras left out), as a
    plain `pip install .` would bring them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo = [_name(spec) for spec in project["dependencies"]]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requirements = requires(name) or []
        except PackageNotFoundError:
            continue
        todo += [_name(r) for r in requirements if "extra ==" not in r.replace('"', "").replace("'", "")]
    return seen


def _imported_top_level_modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], path)
    return found


def test_every_runtime_import_is_a_declared_dependency():
    declared = _installed_by_plain_install()
    distributions = packages_distributions()
    missing = {}
    for module, path in _imported_top_level_modules().items():
        if module in sys.stdlib_module_names or module in ("perfectorder", "__future__"):
            continue
        providers = {d.lower().replace("_", "-") for d in distributions.get(module, [])}
        if not providers & declared:
            missing[module] = (sorted(providers), str(path.relative_to(ROOT)))
    assert missing == {}, f"imported at run time but not installed by a plain install: {missing}"
