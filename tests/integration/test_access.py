"""Who may do what. The route checks are generated from the OpenAPI document, so a new route is
covered the moment it exists."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from perfectorder.api.app import create_app
from perfectorder.domain.access import ROLE_PERMISSIONS, Permission, Role
from tests.conftest import api_key
from tests.factories import order_payload

SAMPLE_VALUES = {
    "order_id": "1",
    "hold_id": "1",
    "customer_id": "1",
    "sku": "MUG-CERAMIC-BLUE",
    "pick_list_id": "1",
    "task_id": "1",
    "package_id": "1",
    "return_id": "1",
    "line_no": "1",
    "subscription_id": "1",
    "claim_id": "1",
    "code": "TIDEWATER",
    "po_id": "1",
}


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if path.startswith("/api/v1")
    ]


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE_VALUES[m.group(1)], path)


@pytest.fixture
def spec(client: TestClient) -> dict[str, Any]:
    return client.get("/openapi.json").json()


def test_every_route_declares_its_permission(spec):
    for method, path, operation in [
        (m.upper(), p, o) for p, item in spec["paths"].items() for m, o in item.items()
    ]:
        assert "x-permission" in operation, f"{method} {path} declares no permission"
        if path.startswith("/api/v1"):
            assert operation["x-permission"] in {p.value for p in Permission}, f"{method} {path}"


def test_without_a_key_every_api_route_answers_401(spec, anonymous):
    for method, path, _ in operations(spec):
        response = anonymous.request(method, concrete(path), json={})
        assert response.status_code == 401, f"{method} {path}: {response.status_code}"
        assert response.json()["error"]["code"] == "unauthenticated"
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_wrong_or_revoked_key_is_401(application, anonymous):
    anonymous.headers["Authorization"] = "Bearer po_deadbeef_not-a-real-secret"
    assert anonymous.get("/api/v1/orders").json()["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
def test_a_role_without_the_permission_gets_403_on_every_such_route(spec, application, anonymous, role):
    scope: dict[str, Any] = {"channel": "web"} if role is Role.CHANNEL else {}
    if role is Role.CUSTOMER:
        scope = {"customer_id": 1}
    anonymous.headers["Authorization"] = f"Bearer {api_key(application, role, **scope)}"
    checked = 0
    for method, path, operation in operations(spec):
        if Permission(operation["x-permission"]) in ROLE_PERMISSIONS[role]:
            continue
        response = anonymous.request(method, concrete(path), json={})
        assert response.status_code == 403, f"{role} {method} {path}: {response.status_code}"
        assert response.json()["error"]["details"]["permission"] == operation["x-permission"]
        checked += 1
    assert checked > 0


# Order routes no tenant may use at all (the store's own analysis): 403 whoever's the order is.
STAFF_ONLY_ORDER_ROUTES = {"/api/v1/orders/{order_id}/risk"}


def test_another_tenants_order_is_404_on_every_order_route(spec, application, client, anonymous):
    web_order = client.post("/api/v1/orders", json=order_payload()).json()
    phone_key = api_key(application, Role.CHANNEL, channel="phone")
    other_customer = client.post("/api/v1/customers", json={"email": "zed@example.net", "name": "Zed Okafor"})
    customer_key = api_key(application, Role.CUSTOMER, customer_id=other_customer.json()["id"])
    order_routes = [(m, p) for m, p, o in operations(spec) if "{order_id}" in p and m == "GET"]
    assert order_routes
    for key in (phone_key, customer_key):
        for method, path in order_routes:
            url = path.replace("{order_id}", str(web_order["id"]))
            response = anonymous.request(method, url, headers={"Authorization": f"Bearer {key}"})
            if path in STAFF_ONLY_ORDER_ROUTES:
                # Refused to every tenant for every order, its own too: says nothing of this one.
                assert response.status_code == 403, f"{method} {path}"
                assert response.json()["error"]["code"] == "forbidden"
                continue
            assert response.status_code == 404, f"{method} {path}"
            assert response.json()["error"]["code"] == "order_not_found"


def test_lists_show_only_the_callers_own_orders(application, client, anonymous):
    client.post("/api/v1/orders", json=order_payload())
    phone = client.post("/api/v1/orders", json=order_payload(channel="phone")).json()
    anonymous.headers["Authorization"] = f"Bearer {api_key(application, Role.CHANNEL, channel='phone')}"
    mine = anonymous.get("/api/v1/orders").json()["items"]
    assert [o["id"] for o in mine] == [phone["id"]]
    assert anonymous.get("/api/v1/orders", params={"channel": "web"}).json()["items"] == []
    customer = anonymous.get(f"/api/v1/orders/{phone['id']}").json()
    assert customer["id"] == phone["id"]


def test_a_channel_key_places_orders_for_its_own_channel_only(application, anonymous):
    anonymous.headers["Authorization"] = f"Bearer {api_key(application, Role.CHANNEL, channel='marketplace')}"
    placed = anonymous.post("/api/v1/orders", json=order_payload(channel="marketplace"))
    assert placed.status_code == 201
    assert placed.json()["channel"] == "marketplace"
    other = anonymous.post("/api/v1/orders", json=order_payload(channel="web"))
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "channel_not_allowed"


def test_a_customer_key_reads_only_their_orders(application, client, anonymous):
    mine = client.post("/api/v1/orders", json=order_payload()).json()
    client.post("/api/v1/orders", json=order_payload(customer={"id": 1}))
    anonymous.headers["Authorization"] = (
        f"Bearer {api_key(application, Role.CUSTOMER, customer_id=mine['customer_id'])}"
    )
    listed = anonymous.get("/api/v1/orders").json()["items"]
    assert [o["id"] for o in listed] == [mine["id"]]


def test_idempotency_keys_belong_to_their_caller(application, anonymous):
    web = f"Bearer {api_key(application, Role.CHANNEL, channel='web')}"
    phone = f"Bearer {api_key(application, Role.CHANNEL, channel='phone')}"
    first = anonymous.post(
        "/api/v1/orders",
        json=order_payload(channel="web"),
        headers={"Authorization": web, "Idempotency-Key": "order-1"},
    )
    second = anonymous.post(
        "/api/v1/orders",
        json=order_payload(channel="phone"),
        headers={"Authorization": phone, "Idempotency-Key": "order-1"},
    )
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]


def test_a_revoked_key_stops_working(application, clock):
    from perfectorder.services import access

    issued = access.create_api_key(application.services, name="leaked", role=Role.ANALYST)
    with TestClient(create_app(application=application)) as http:
        http.headers["Authorization"] = f"Bearer {issued.secret}"
        assert http.get("/api/v1/orders").status_code == 200
        access.revoke_api_key(application.services, issued.record.id)
        http.app.state.key_cache = type(http.app.state.key_cache)()  # what 5 seconds of waiting would do
        assert http.get("/api/v1/orders").json()["error"]["code"] == "invalid_api_key"


def test_rate_limit_answers_429_with_retry_after(application, clock):
    from dataclasses import replace

    from perfectorder.adapters.ratelimit import MemoryRateLimiter

    limited = replace(application, rate_limiter=MemoryRateLimiter(rate_per_second=0.5, burst=3))
    with TestClient(create_app(application=limited)) as http:
        http.headers["Authorization"] = f"Bearer {api_key(application, Role.ANALYST)}"
        statuses = [http.get("/api/v1/orders").status_code for _ in range(5)]
        refused = http.get("/api/v1/orders")
    assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1


def test_the_audit_log_records_who_did_what_from_where(application, client, anonymous):
    client.post("/api/v1/orders", json=order_payload())
    anonymous.post("/api/v1/orders", json=order_payload())
    entries = client.get("/api/v1/audit", params={"limit": 2}).json()
    refused, placed = entries
    assert (placed["method"], placed["path"], placed["status_code"], placed["outcome"]) == (
        "POST",
        "/api/v1/orders",
        201,
        "ok",
    )
    assert placed["actor"].startswith("key:") and placed["role"] == "admin"
    assert placed["client"] == "testclient"
    assert (refused["actor"], refused["status_code"], refused["outcome"]) == ("anonymous", 401, "refused")
