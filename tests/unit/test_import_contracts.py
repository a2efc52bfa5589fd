"""The layer contracts of pyproject.toml ([tool.importlinter]) hold for the package, and they are
not vacuous: the same configuration refuses a copy of the package with one import pointing outwards."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

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


def test_a_domain_module_importing_an_adapter_breaks_the_layers(tmp_path):
    source_root = copy_of_the_package(tmp_path)
    values = source_root / "perfectorder" / "domain" / "values.py"
    values.write_text(values.read_text() + "\nimport perfectorder.adapters.db  # noqa: E402\n")

    result = lint_imports(source_root=source_root, cwd=tmp_path)

    assert result.returncode != 0
    assert "Imports point inwards" in result.stdout and "BROKEN" in result.stdout
    assert "perfectorder.domain.values -> perfectorder.adapters.db" in result.stdout


def test_the_dashboard_importing_the_api_breaks_its_contract(tmp_path):
    source_root = copy_of_the_package(tmp_path)
    common = source_root / "perfectorder" / "web" / "common.py"
    common.write_text(common.read_text() + "\nimport perfectorder.api.errors  # noqa: E402\n")

    result = lint_imports(source_root=source_root, cwd=tmp_path)

    assert result.returncode != 0
    assert "The dashboard imports nothing of the API" in result.stdout
    assert "perfectorder.web.common -> perfectorder.api.errors" in result.stdout


def test_an_entry_point_importing_an_adapter_breaks_its_contract(tmp_path):
    source_root = copy_of_the_package(tmp_path)
    importing = source_root / "perfectorder" / "cli" / "importing.py"
    violation = "\nfrom perfectorder.adapters.files import csv_files  # noqa\n"
    importing.write_text(importing.read_text() + violation)

    result = lint_imports(source_root=source_root, cwd=tmp_path)

    assert result.returncode != 0
    assert "Entry points reach adapters and storage only through bootstrap" in result.stdout
    assert "perfectorder.cli.importing -> perfectorder.adapters.files.csv_files" in result.stdout


def test_the_domain_importing_a_framework_breaks_its_contract(tmp_path):
    source_root = copy_of_the_package(tmp_path)
    order = source_root / "perfectorder" / "domain" / "order.py"
    order.write_text(order.read_text() + "\nimport sqlalchemy  # noqa: E402\n")

    result = lint_imports(source_root=source_root, cwd=tmp_path)

    assert result.returncode != 0
    assert "Domain and metrics are pure" in result.stdout
    assert "perfectorder.domain.order -> sqlalchemy" in result.stdout
