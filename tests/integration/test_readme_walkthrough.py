"""The README's command-line walkthrough, run as written: every command in its first bash block of
"The command line" must succeed, in order, on a fresh store (it once failed four commands in)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## The command line") :]
    found = re.search(r"```bash\n(.*?)```", section, re.S)
    assert found, "the README has no bash block under 'The command line'"
    return found.group(1)


def test_the_readme_walkthrough_runs_as_written(tmp_path):
    script = walkthrough()
    assert "perfectorder serve" not in script  # a server never returns: it has a block of its own
    # The clone's layout around the block: the virtual environment, the example files, var/.
    (tmp_path / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    shutil.copytree(ROOT / "docs" / "examples", tmp_path / "docs" / "examples")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFECTORDER_")}
    env.update(COLUMNS="200", PERFECTORDER_SMTP_PORT="1")  # no mail server: the worker says so
    done = subprocess.run(
        ["bash", "-c", "set -euo pipefail -x\n" + script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    said = done.stdout + done.stderr
    assert done.returncode == 0, said[-4000:]
    assert "order 1 web/WEB-1001" in said
    assert "task 1: scanned 2 x MUG-CERAMIC-BLUE" in said
    assert "shipment 1: DHL 00340434161094015902" in said
    assert "return 1 authorised" in said
    assert "order.shipped" in said and "capture" in said
    assert (tmp_path / "var" / "walkthrough.db").exists()
