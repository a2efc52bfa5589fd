"""Every threat in docs/security.md names a test, and every test it names exists: a defence whose
proof was renamed or deleted must not keep being claimed."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_DIRS = ("unit/", "integration/", "contract/", "e2e/")


def _threat_rows() -> list[list[str]]:
    text = (ROOT / "docs" / "security.md").read_text()
    table = text[text.index("| threat | defence | test |") :].split("\n\n", 1)[0]
    rows = [line.strip("|").split(" | ") for line in table.splitlines()[2:]]
    assert len(rows) >= 25, "the threat table is shorter than expected; did its header change?"
    return rows


def test_every_threat_names_a_test_that_exists():
    problems = []
    for row in _threat_rows():
        threat, tests = row[0], row[-1]
        current: Path | None = None
        named = 0
        for token in re.findall(r"`([^`]+)`", tests):
            path, _, name = token.partition("::")
            if path:
                target = ROOT / ("tests/" + path if path.startswith(TEST_DIRS) else path)
                if not target.exists():
                    problems.append(f"{threat}: {token} (no such file)")
                    continue
                current = target
                named += 1
            if name:
                if current is None or not re.search(rf"def {re.escape(name)}\(", current.read_text()):
                    problems.append(f"{threat}: {token} (no such test)")
                named += 1
        if named == 0:
            problems.append(f"{threat}: names no test")
    assert problems == []
