"""schemathesis against the in-process app: no 5xx, every response as documented, all checks on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig

from perfectorder.api.app import create_app
from perfectorder.bootstrap import Application
from perfectorder.sample_data import load_sample_store
from tests.conftest import api_key, make_application

EXAMPLES_PER_OPERATION = 25
# Every check stays on. One is tuned: our 422 means "well-formed, but breaks a business rule" (an
# unknown SKU, a price that is not the catalog's), which random schema-valid data mostly does.
CONFIG = SchemathesisConfig.from_str("""
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]
""")


@pytest.fixture
def contract_application(sqlite_url, clock) -> Iterator[Application]:
    application = make_application(sqlite_url, clock)
    load_sample_store(application.services)
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def admin_headers(contract_application) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key(contract_application)}"}


def test_the_api_keeps_its_documented_contract(contract_application, admin_headers):
    # Driven by hand rather than through schemathesis' pytest plugin, which does not support pytest 9 yet.
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", create_app(application=contract_application), config=CONFIG
    )
    failures: dict[str, str] = {}
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case) -> None:
            case.call_and_validate(headers=dict(admin_headers))

        try:
            exercise()
        except Exception as failure:  # collect every operation's failure, not just the first
            failures[operation.label] = str(failure)[:2000]
        checked += 1
    assert checked >= 20
    assert failures == {}
