"""The layer contracts of pyproject.toml ([tool.importlinter]) hold for the package, and they are
not vacuous: the same configuration refuses a copy of the package with one import pointing outwards."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(*, source_root: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    # A fresh process and no cache: the graph is built from the files under `source_root` alone.
    env = {**os.environ, "PYTHONPATH": str(source_root), "NO_COLOR": "1"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(CONFIG), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_package_keeps_every_layer_contract(tmp_path):
    result = lint_imports(source_root=ROOT / "src", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def copy_of_the_package(tmp_path: Path) -> Path:
    source_root = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "perfectorder", source_root / "perfectorder")
    return source_root


@pytest.mark.parametrize(
    ("module", "violation", "contract", "reported"),
    [
        (
            "domain/values.py",
            "import perfectorder.adapters.db",
            "Imports point inwards",
            "perfectorder.domain.values -> perfectorder.adapters.db",
        ),
        (
            "web/common.py",
            "import perfectorder.api.errors",
            "The dashboard imports nothing of the API",
            "perfectorder.web.common -> perfectorder.api.errors",
        ),
        (
            "cli/importing.py",
            "from perfectorder.adapters.files import csv_files",
            "Entry points reach adapters and storage only through bootstrap",
            "perfectorder.cli.importing -> perfectorder.adapters.files.csv_files",
        ),
        (
            "domain/order.py",
            "import sqlalchemy",
            "Domain and metrics are pure",
            "perfectorder.domain.order -> sqlalchemy",
        ),
        (
            "metrics/measures.py",
            "import sqlalchemy",
            "Domain and metrics are pure",
            "perfectorder.metrics.measures -> sqlalchemy",
        ),
    ],
)
def test_one_import_pointing_outwards_breaks_its_contract(tmp_path, module, violation, contract, reported):
    source_root = copy_of_the_package(tmp_path)
    path = source_root / "perfectorder" / module
    path.write_text(path.read_text() + f"\n{violation}  # noqa\n")

    result = lint_imports(source_root=source_root, cwd=tmp_path)

    assert result.returncode != 0
    assert contract in result.stdout and "BROKEN" in result.stdout
    assert reported in result.stdout
