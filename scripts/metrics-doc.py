"""Writes the table of definitions in docs/metrics.md from the registry of measures
(perfectorder.metrics.measures). tests/unit/test_measures.py fails when the page is stale.

Run: .venv/bin/python scripts/metrics-doc.py
"""

from __future__ import annotations

from pathlib import Path

from perfectorder.metrics.measures import definitions_table

BEGIN, END = "<!-- measures:begin -->\n", "<!-- measures:end -->\n"
PAGE = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"


def rendered(page: str) -> str:
    head, rest = page.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}{definitions_table()}{END}{tail}"


if __name__ == "__main__":
    PAGE.write_text(rendered(PAGE.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {PAGE}")
