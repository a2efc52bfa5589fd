"""Property: for random multi-line history orders, each line with its own promise, window and
arrival (some early, late, missing or a spreadsheet's zero date), the engine's order- and line-level
on-time figures at date and time basis, with and without windows, equal a computation made here
with the csv module and plain datetime arithmetic, none of our code."""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.adapters.files import csv_files
from perfectorder.domain.imports import mapping_from_dict
from perfectorder.metrics.perfect_order import OnTimeBasis, Settings
from perfectorder.services import verdicts
from perfectorder.services.history import import_history
from tests.conftest import make_application

ZONE = ZoneInfo("America/New_York")
LATER = datetime(2026, 11, 24, tzinfo=UTC)
ZERO_DATE = "1899-12-30 08:13:00"
COLUMNS = ["order", "line", "ordered", "promised", "window", "delivered", "sku", "status"]


@dataclass(frozen=True)
class Line:
    promised: str  # "" (none on this row), "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS"
    window: str  # "" or "YYYY-MM-DD HH:MM:SS"
    delivered: str  # "", ZERO_DATE or "YYYY-MM-DD HH:MM:SS"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@st.composite
def orders(draw: st.DrawFn, day: date) -> list[list[Line]]:
    out = []
    for _ in range(draw(st.integers(1, 6))):
        ordered = datetime.combine(day, time(8), ZONE)
        lines = []
        for n in range(draw(st.integers(1, 4))):
            # The first row always promises: an order without any promise is not judged on time.
            kind = draw(st.sampled_from(["day", "time", "midnight"] + ([] if n == 0 else ["none"])))
            due = ordered + timedelta(days=draw(st.integers(1, 6)), minutes=draw(st.integers(1, 600)))
            promised = {
                "day": due.strftime("%Y-%m-%d"),
                "time": _stamp(due),
                "midnight": due.strftime("%Y-%m-%d 00:00:00"),
                "none": "",
            }[kind]
            window = ""
            if kind != "none" and draw(st.booleans()):
                end = due if kind == "time" else datetime.combine(due.date(), time(), ZONE)
                window = _stamp(end - timedelta(minutes=draw(st.integers(30, 3 * 24 * 60))))
            arrival = ordered + timedelta(minutes=draw(st.integers(60, 9 * 24 * 60)))
            delivered = draw(st.sampled_from([_stamp(arrival)] * 4 + ["", ZERO_DATE]))
            lines.append(Line(promised, window, delivered))
        out.append(lines)
    return out


def local(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZONE)


def expected(path: Path, basis: str, grace: int, windows: bool) -> tuple[int, int, int, int]:
    """(orders judged, orders late, lines judged, lines late), by the rules of docs/import.md."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    judged = late_orders = lines_judged = lines_late = 0
    for _, group in itertools.groupby(rows, key=lambda r: r["order"]):
        rows_of = list(group)
        ordered = local(rows_of[0]["ordered"])

        def arrival(row: dict[str, str], ordered: datetime = ordered) -> datetime | None:
            # A date long before its order (the spreadsheet's zero date) is no date at all.
            if not row["delivered"] or local(row["delivered"]) < ordered - timedelta(days=1):
                return None
            return local(row["delivered"])

        arrivals = [a for r in rows_of if (a := arrival(r)) is not None]
        if not arrivals:
            continue  # delivered at a time nobody recorded: on time not measured
        last = max(arrivals)
        first_promise = next(r for r in rows_of if r["promised"])
        judged += 1
        order_late = False
        for r in rows_of:
            own = r if r["promised"] else first_promise  # a row without a promise: the order's
            promised = own["promised"]
            day = date.fromisoformat(promised[:10])
            timed = len(promised) > 10 and not promised.endswith("00:00:00")
            start = local(own["window"]) if windows and own["window"] else None
            came = arrival(r) or last  # a row without an arrival: the order's last one
            if basis == "date":
                on_time = came.date() <= day and (start is None or came.date() >= start.date())
            else:
                end = local(promised) if timed else datetime.combine(day + timedelta(days=1), time(), ZONE)
                slack = timedelta(minutes=grace)
                in_by = came <= end + slack if timed else came < end + slack
                on_time = in_by and (start is None or came >= start - slack)
            lines_judged += 1
            lines_late += not on_time
            order_late |= not on_time
        late_orders += order_late
    return judged, late_orders, lines_judged, lines_late


def write(path: Path, day: date, made: list[list[Line]], prefix: str) -> None:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(COLUMNS)
        for number, lines in enumerate(made, start=1):
            ordered = _stamp(datetime.combine(day, time(8)))
            for n, x in enumerate(lines, start=1):
                out.writerow(
                    [
                        f"{prefix}-{number}",
                        n,
                        ordered,
                        x.promised,
                        x.window,
                        x.delivered,
                        f"SKU-{n}",
                        "delivered",
                    ]
                )


MAPPING = {
    "columns": {
        "order_ref": "order",
        "line_ref": "line",
        "ordered_at": "ordered",
        "promised_at": "promised",
        "delivered_at": "delivered",
        "sku": "sku",
        "status": "status",
    },
    "file": {"timezone": "America/New_York"},
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("on-time-property")
    application = make_application(f"sqlite:///{folder}/store.db", SimulatedClock(LATER))
    yield application, folder
    application.close()


DAYS = itertools.count()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), windows=st.booleans(), grace=st.sampled_from([0, 45, 24 * 60]))
def test_on_time_per_order_and_per_line_equals_an_independent_computation(store, data, windows, grace):
    application, folder = store
    # Each example's orders on a day of their own: the reports below read only that day.
    day = date(2024, 1, 1) + timedelta(days=7 * next(DAYS))
    made = data.draw(orders(day))
    path = folder / f"{day}.csv"
    write(path, day, made, day.isoformat())
    columns = dict(MAPPING["columns"])
    if windows:
        columns["promised_from"] = "window"
    mapping = mapping_from_dict({**MAPPING, "columns": columns})
    result = import_history(
        application.services,
        lambda: csv_files.rows(path, encoding=mapping.encoding, delimiter=mapping.delimiter),
        mapping,
        source=path.name,
    )
    assert not result.rejects, result.rejects
    verdicts.refresh(application.services)
    period = verdicts.report_period(day, day)
    for basis in (OnTimeBasis.DATE, OnTimeBasis.TIME):
        got = verdicts.perfect_order_report(
            application.services, *period, settings=Settings(basis=basis, grace_minutes=grace)
        )["all"]
        on_time = got.components["on_time"]
        engine = (on_time.evaluated, on_time.failed, got.lines_evaluated, got.lines_late)
        assert engine == expected(path, basis.value, grace, windows), (basis, grace, windows, made)
    # The stored rollups (each order's own terms: the mapping's default, by date) say the same.
    stored = verdicts.perfect_order_report(application.services, *period)["all"]
    figures = (stored.components["on_time"].evaluated, stored.components["on_time"].failed)
    assert (*figures, stored.lines_evaluated, stored.lines_late) == expected(path, "date", 0, windows)
