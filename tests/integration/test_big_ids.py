"""Ids and cursors beyond what the database stores answer 422 or 404, never 500."""

from __future__ import annotations

import base64

import pytest

from tests.integration.test_dashboard_pages import operator  # noqa: F401 - the dashboard fixture

HUGE = str(2**63 + 7)


def _cursor(value: str) -> str:
    return base64.urlsafe_b64encode(f"id:{value}".encode()).decode().rstrip("=")


def test_a_cursor_beyond_the_id_range_is_a_clear_422(client):
    for value in (str(2**31 + 5), HUGE):
        answer = client.get("/api/v1/orders", params={"cursor": _cursor(value)})
        assert answer.status_code == 422, (value, answer.text)


@pytest.mark.parametrize("path", [f"/orders/{HUGE}", f"/customers/{HUGE}", "/orders/2147483648"])
def test_dashboard_pages_for_ids_beyond_the_range_are_not_found_or_refused(operator, path):  # noqa: F811
    answer = operator.get(path)
    assert answer.status_code in (404, 422), answer.text[:200]
