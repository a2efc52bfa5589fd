"""The API's contract: one error shape, documented errors, health, readiness and metrics."""

from __future__ import annotations

from fastapi.testclient import TestClient

from perfectorder.api.app import create_app
from perfectorder.bootstrap import build
from perfectorder.config import Settings
from tests.factories import order_payload

ERROR_KEYS = {"code", "message", "field", "details"}


def test_unknown_routes_and_methods_answer_with_the_error_shape(client):
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and set(missing.json()["error"]) == ERROR_KEYS
    wrong_method = client.delete("/api/v1/orders")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


def test_a_missing_order_is_a_404_with_a_code(client):
    response = client.get("/api/v1/orders/987654")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "order_not_found"


def test_a_path_id_out_of_range_is_a_422_not_a_crash(client):
    response = client.get(f"/api/v1/orders/{2**63}")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "order_id"


def test_every_operation_documents_its_errors_with_the_error_body(client):
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            errors = {code: r for code, r in operation["responses"].items() if code.startswith(("4", "5"))}
            assert "500" in errors, f"{method} {path}"
            if method == "post":
                assert "413" in errors, f"{method} {path}"
            if "requestBody" in operation or operation.get("parameters"):
                assert "422" in errors, f"{method} {path}"
            for code, response in errors.items():
                if path.startswith("/api/"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, f"{method} {path} {code}"


def test_health_readiness_and_metrics(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ok" and ready["migrations"]["current"] == ready["migrations"]["head"]
    client.post("/api/v1/orders", json=order_payload())
    client.post("/api/v1/orders", json=order_payload(lines=[{"sku": "MUG-CERAMIC-BLUE", "quantity": 500}]))
    text = client.get("/metrics").text
    assert 'perfectorder_orders_placed_total{channel="web",status="approved"} 1.0' in text
    assert "perfectorder_reservations_refused_total 1.0" in text
    assert 'route="/api/v1/orders",status="201"' in text
    assert "perfectorder_http_request_seconds_bucket" in text


def test_readiness_fails_until_the_database_is_migrated(sqlite_url, clock):
    application = build(Settings(database_url=sqlite_url), clock=clock)
    try:
        with TestClient(create_app(application=application)) as fresh:
            response = fresh.get("/readyz")
        assert response.status_code == 503
        assert response.json()["hint"] == "run `perfectorder db upgrade`"
    finally:
        application.close()


def test_an_unexpected_failure_leaks_no_internals(sqlite_url, clock):
    # No schema at all: the first query fails deep inside SQLAlchemy.
    application = build(Settings(database_url=sqlite_url), clock=clock)
    try:
        with TestClient(create_app(application=application), raise_server_exceptions=False) as broken:
            response = broken.get("/api/v1/orders/1", headers={"Authorization": "Bearer po_abcd1234_x"})
        assert response.status_code == 500
        body = response.text.lower()
        assert response.json()["error"]["code"] == "internal_error"
        assert "select" not in body and "traceback" not in body and "sqlite" not in body
    finally:
        application.close()


def test_replaying_a_key_with_another_body_is_refused(client):
    first = client.post("/api/v1/orders", json=order_payload(), headers={"Idempotency-Key": "cart-4711"})
    assert first.status_code == 201
    other = client.post("/api/v1/orders", json=order_payload(), headers={"Idempotency-Key": "cart-4711"})
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert other.json()["error"]["field"] == "Idempotency-Key"


def test_a_failed_request_does_not_burn_its_key(client):
    payload = order_payload(lines=[{"sku": "MUG-CERAMIC-BLUE", "quantity": 100}])
    refused = client.post("/api/v1/orders", json=payload, headers={"Idempotency-Key": "big-mug-order"})
    assert refused.status_code == 409
    client.post(
        "/api/v1/stock/receipts", json={"sku": "MUG-CERAMIC-BLUE", "warehouse": "BER", "quantity": 50}
    )
    retried = client.post("/api/v1/orders", json=payload, headers={"Idempotency-Key": "big-mug-order"})
    assert retried.status_code == 201


def test_stock_receipts_are_idempotent_too(client):
    receipt = {"sku": "CANDLE-SOY-LARGE", "warehouse": "MAD", "quantity": 12, "reason": "PO-99"}
    first = client.post("/api/v1/stock/receipts", json=receipt, headers={"Idempotency-Key": "po-99"})
    again = client.post("/api/v1/stock/receipts", json=receipt, headers={"Idempotency-Key": "po-99"})
    assert first.json() == again.json()
    assert again.headers["idempotent-replayed"] == "true"
    [level] = client.get("/api/v1/stock", params={"sku": "CANDLE-SOY-LARGE", "warehouse": "MAD"}).json()
    assert level["on_hand"] == 25 + 12
