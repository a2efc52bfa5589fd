"""The failure rollups (metrics.root_causes), moved with the verdicts in the refresh's transaction
and summed for a period by the improvement page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, text

from perfectorder.adapters.db.engine import PerDialect
from perfectorder.adapters.db.sql import upsert
from perfectorder.adapters.db.tables import failure_rollups as fr
from perfectorder.metrics.rollup import VerdictRow
from perfectorder.metrics.root_causes import FAILURE_COUNTS, FailureKey, failure_contributions

KEYS = ("day", "final_from", "component", "code", "stage", "dimension", "key")
_COLUMNS = (*KEYS, *FAILURE_COUNTS)
_TYPES = ("date", "date", "text", "text", "text", "text", "text", "int", "bigint", "int")


def _add(conn: Connection) -> Any:
    stmt = upsert(conn, fr)
    return stmt.on_conflict_do_update(
        index_elements=list(KEYS), set_={c: fr.c[c] + stmt.excluded[c] for c in FAILURE_COUNTS}
    )


_ADD = PerDialect(_add)
# PostgreSQL: a batch's moves in one statement over arrays, as the verdict rollups.
_QUOTED = {c: f'"{c}"' for c in _COLUMNS}
_ARRAYS = ", ".join(f"CAST(:{c} AS {k}[])" for c, k in zip(_COLUMNS, _TYPES, strict=True))
_ADD_PG = text(
    f"INSERT INTO failure_rollups ({', '.join(_QUOTED[c] for c in _COLUMNS)}) "
    f"SELECT * FROM unnest({_ARRAYS}) "
    f"ON CONFLICT ({', '.join(_QUOTED[c] for c in KEYS)}) DO UPDATE SET "
    + ", ".join(
        f"{_QUOTED[c]} = failure_rollups.{_QUOTED[c]} + EXCLUDED.{_QUOTED[c]}" for c in FAILURE_COUNTS
    )
)
_SUMS = (
    select(
        fr.c.component,
        fr.c.code,
        fr.c.stage,
        fr.c.dimension,
        fr.c.key,
        *(func.sum(fr.c[c]).label(c) for c in FAILURE_COUNTS),
    )
    .where(
        fr.c.day >= bindparam("start"),
        fr.c.day < bindparam("end"),
        fr.c.final_from <= bindparam("today"),
    )
    .group_by(fr.c.component, fr.c.code, fr.c.stage, fr.c.dimension, fr.c.key)
)


def move_failure_rollups(conn: Connection, changes: Sequence[tuple[VerdictRow | None, VerdictRow]]) -> None:
    """From each order's old contribution to its new one, summed over the batch first."""
    deltas: dict[tuple[Any, ...], list[int]] = {}
    for old, new in changes:
        for sign, row in ((-1, old), (1, new)):
            if row is None:
                continue
            for key, counts in failure_contributions(row).items():
                into = deltas.setdefault(key, [0, 0, 0])
                for i, n in enumerate(counts):
                    into[i] += sign * n
    # Sorted: two refreshers touching the same days lock their rows in the same order.
    changed = [
        dict(zip(_COLUMNS, (*key, *counts), strict=True))
        for key, counts in sorted(deltas.items())
        if any(counts)
    ]
    if changed and conn.dialect.name == "postgresql":
        conn.execute(_ADD_PG, {c: [row[c] for row in changed] for c in _COLUMNS})
    elif changed:
        conn.execute(_ADD(conn), changed)


def failure_slice_sums(
    conn: Connection, start: date, end: date, today: date
) -> Mapping[tuple[FailureKey, str, str], tuple[int, int, int]]:
    found = conn.execute(_SUMS, {"start": start, "end": end, "today": today})
    out = {}
    for r in found:
        counts = (int(r.orders or 0), int(r.refunded_minor or 0), int(r.reshipped or 0))
        if any(counts):
            out[((r.component, r.code, r.stage), r.dimension, r.key)] = counts
    return out


def failure_rollup_rows(conn: Connection) -> list[tuple[object, ...]]:
    """Every non-zero row, for checks that the rollups equal a rebuild."""
    rows = conn.execute(select(fr).order_by(*[fr.c[k] for k in KEYS]))
    return [("failure", *r) for r in rows if any(getattr(r, c) for c in FAILURE_COUNTS)]
