"""A wrong type is refused with the field at fault, never quietly converted."""

from __future__ import annotations

import pytest

from tests.factories import order_payload


@pytest.mark.parametrize("quantity", [True, "2", 2.0, 2.5])
def test_a_quantity_must_be_a_whole_number_not_text_a_fraction_or_true(client, quantity):
    answer = client.post(
        "/api/v1/orders", json=order_payload(lines=[{"sku": "MUG-CERAMIC-BLUE", "quantity": quantity}])
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_type"
    assert answer.json()["error"]["field"] == "lines[0].quantity"


def test_a_customer_id_given_as_text_is_refused(client):
    answer = client.post("/api/v1/orders", json=order_payload(customer={"id": "1"}))
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "customer.id"


def test_whole_numbers_and_nulls_still_pass(client):
    ok = client.post(
        "/api/v1/orders",
        json=order_payload(lines=[{"sku": "MUG-CERAMIC-BLUE", "quantity": 2}], requested_delivery_date=None),
    )
    assert ok.status_code == 201, ok.text
