"""The registry of measures: each declared once, its documentation generated, its facts real, and
the new measure it made easy to add (on time in full per line) worked by hand."""

from __future__ import annotations

import importlib.util
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from perfectorder.domain.fulfilment import Criterion
from perfectorder.metrics.kpi_rollup import NUMERATOR
from perfectorder.metrics.kpis import OrderKpiFacts, kpis
from perfectorder.metrics.measures import BY_NAME, COMPONENTS, MEASURES, ORDER_MEASURES, Kind
from perfectorder.metrics.perfect_order import COMPONENTS as JUDGED

ROOT = Path(__file__).resolve().parents[2]
FACTS = {f.name for f in fields(OrderKpiFacts)}


def _doc_writer():
    spec = importlib.util.spec_from_file_location("metrics_doc", ROOT / "scripts" / "metrics-doc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_table_of_definitions_in_docs_is_generated_from_the_registry():
    page = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    assert _doc_writer().rendered(page) == page, (
        "docs/metrics.md is stale: run `.venv/bin/python scripts/metrics-doc.py`"
    )
    for m in MEASURES:
        assert f"`{m.name}`" in page


def test_a_stale_table_is_noticed():
    page = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    stale = page.replace("| `return_rate` (Return rate)", "| `return_rate` (Returns)")
    assert _doc_writer().rendered(stale) != stale


def test_each_measure_is_declared_once_with_what_it_needs():
    assert len(BY_NAME) == len(MEASURES)
    for m in MEASURES:
        assert m.definition.endswith(".") and m.title, m.name
        assert set(m.facts) <= FACTS, m.name
        # The rollup's measure column holds the name and its "/n" or "/d".
        assert len(m.name + NUMERATOR) <= 40, m.name
        if m.kind in (Kind.RATE, Kind.MEAN):
            assert m.numerator is not None and m.denominator is not None, m.name
        if m.kind is Kind.DISTRIBUTION:
            assert m.value is not None and m.numerator is None, m.name
        if m.from_orders:
            assert m.facts, m.name


def test_the_components_are_the_registrys_everywhere():
    assert JUDGED is COMPONENTS
    assert COMPONENTS == ("complete", "on_time", "accurate", "undamaged", "communicated")
    assert {c.value for c in Criterion} == set(COMPONENTS)


T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _order(oid: int) -> OrderKpiFacts:
    reached = {"shipped": T0 + timedelta(hours=6), "delivered": T0 + timedelta(hours=50)}
    return OrderKpiFacts(oid, oid, T0, False, date(2026, 11, 2), date(2026, 11, 4), reached)


def test_every_order_measure_has_a_figure_and_unknown_names_are_refused():
    result = kpis([_order(1)])
    tables = (result.rates, result.distributions, result.by_key)
    for m in ORDER_MEASURES:
        assert sum(m.name in t for t in tables) == 1, m.name
        assert getattr(result, m.name) is next(t[m.name] for t in tables if m.name in t)
    assert set(result.stage_hours) == {"approved", "picked", "packed", "shipped", "delivered"}
    with pytest.raises(AttributeError):
        result.no_such_measure  # noqa: B018
