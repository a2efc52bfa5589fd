"""One order through the whole cycle over HTTP, then a return for transit damage."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import order_payload


def test_an_order_goes_from_capture_to_delivery_and_back_as_a_damage_return(client, clock):
    order = client.post(
        "/api/v1/orders",
        json=order_payload(
            lines=[
                {"sku": "MUG-CERAMIC-BLUE", "quantity": 2},
                {"sku": "KETTLE-STEEL-17", "quantity": 1},
            ],
            payment={"method": "card", "status": "authorized", "authorized_amount": "64.80"},
        ),
    ).json()
    assert order["status"] == "approved"
    oid = order["id"]

    [pick_list] = client.post(f"/api/v1/orders/{oid}/release").json()["pick_lists"]
    tasks = client.get(f"/api/v1/pick-lists/{pick_list}").json()["tasks"]
    assert [t["sku"] for t in tasks] == ["KETTLE-STEEL-17", "MUG-CERAMIC-BLUE"]  # same bin: by SKU
    kettle, mug = tasks
    wrong = client.post(f"/api/v1/pick-tasks/{mug['id']}/scan", json={"code": "KETTLE-STEEL-17"})
    assert wrong.status_code == 409 and wrong.json()["error"]["code"] == "wrong_item"
    assert (
        client.post(f"/api/v1/pick-tasks/{mug['id']}/scan", json={"code": "MUG-CERAMIC-BLUE"}).json()[
            "picked_qty"
        ]
        == 1
    )
    client.post(f"/api/v1/pick-tasks/{mug['id']}/scan", json={"code": "MUG-CERAMIC-BLUE"})
    done = client.post(f"/api/v1/pick-tasks/{kettle['id']}/scan", json={"code": "KETTLE-STEEL-17"})
    assert done.json()["status"] == "done"
    assert client.get(f"/api/v1/orders/{oid}").json()["status"] == "picked"

    clock.advance(timedelta(hours=1))
    packed = client.post(
        f"/api/v1/orders/{oid}/packages",
        json={
            "packages": [
                {
                    "items": [
                        {"sku": "MUG-CERAMIC-BLUE", "quantity": 2},
                        {"sku": "KETTLE-STEEL-17", "quantity": 1},
                    ],
                    "weight_kg": "1.9",
                    "length_cm": 40,
                    "width_cm": 30,
                    "height_cm": 20,
                }
            ]
        },
    )
    assert packed.status_code == 201, packed.text
    [package_id] = packed.json()["packages"]
    slip = client.get(f"/api/v1/orders/{oid}/packing-slip")
    assert "MUG-CERAMIC-BLUE" in slip.text and "Kastanienallee 7" in slip.text

    clock.advance(timedelta(hours=2))
    shipped = client.post(
        f"/api/v1/orders/{oid}/packages/{package_id}/ship",
        json={"carrier": "DHL", "service": "standard", "tracking_number": "00340434161094015902"},
    )
    assert shipped.status_code == 201
    assert client.get(f"/api/v1/orders/{oid}").json()["status"] == "shipped"

    events = [
        {
            "carrier": "DHL",
            "event_id": "dhl-1",
            "tracking_number": "00340434161094015902",
            "type": "in_transit",
            "occurred_at": "2026-11-24T18:00:00Z",
        },
        {
            "carrier": "DHL",
            "event_id": "dhl-2",
            "tracking_number": "00340434161094015902",
            "type": "out_for_delivery",
            "occurred_at": "2026-11-26T07:10:00Z",
        },
        {
            "carrier": "DHL",
            "event_id": "dhl-3",
            "tracking_number": "00340434161094015902",
            "type": "delivered",
            "occurred_at": "2026-11-26T11:42:00Z",
            "detail": "handed to resident",
        },
        {
            "carrier": "DHL",
            "event_id": "dhl-x",
            "tracking_number": "NOPE",
            "type": "in_transit",
            "occurred_at": "2026-11-26T11:42:00Z",
        },
    ]
    first = client.post("/api/v1/carrier-events", json={"events": events}).json()["results"]
    assert [r["outcome"] for r in first] == ["applied", "applied", "applied", "unknown_tracking"]
    timeline_before = client.get(f"/api/v1/orders/{oid}/timeline").json()["events"]
    replay = client.post("/api/v1/carrier-events", json={"events": events}).json()["results"]
    assert [r["outcome"] for r in replay] == ["duplicate", "duplicate", "duplicate", "unknown_tracking"]
    assert client.get(f"/api/v1/orders/{oid}/timeline").json()["events"] == timeline_before
    assert client.get(f"/api/v1/orders/{oid}").json()["status"] == "delivered"

    clock.advance(timedelta(days=3))
    rma = client.post(
        f"/api/v1/orders/{oid}/returns",
        json={
            "reason": "damaged_in_transit",
            "lines": [{"sku": "MUG-CERAMIC-BLUE", "quantity": 1}],
            "note": "handle snapped off",
        },
    )
    assert rma.status_code == 201, rma.text
    assert (rma.json()["criterion"], rma.json()["stage"]) == ("undamaged", "shipping")
    received = client.post(
        f"/api/v1/returns/{rma.json()['id']}/receive",
        json={"lines": [{"sku": "MUG-CERAMIC-BLUE", "restock": 0, "scrap": 1}]},
    ).json()
    assert received["status"] == "received" and received["refund_amount"] == "12.90"
    client.post(
        f"/api/v1/orders/{oid}/feedback",
        json={"rating": 2, "arrived_complete": True, "undamaged": False, "as_described": True},
    )

    types = [e["type"] for e in client.get(f"/api/v1/orders/{oid}/timeline").json()["events"]]
    assert types == [
        "order.placed",
        "order.verified",
        "order.stock_reserved",
        "order.promised",
        "order.approved",
        "order.released_to_picking",
        "order.picking_error",
        "order.picked",
        "order.packed",
        "order.shipped",
        "payment.captured",
        "shipment.carrier_event",
        "shipment.carrier_event",
        "shipment.carrier_event",
        "order.delivered",
        "order.return_authorized",
        "payment.refunded",
        "order.return_received",
        "order.feedback",
    ]
    ledger = client.get("/api/v1/stock/ledger", params={"sku": "MUG-CERAMIC-BLUE", "warehouse": "BER"}).json()
    assert [(m["movement"], m["on_hand_delta"], m["reserved_delta"]) for m in ledger] == [
        ("receipt", 60, 0),
        ("reservation", 0, 2),
        ("pick", -2, -2),
        ("return", 0, 0),
    ]
    [level] = client.get("/api/v1/stock", params={"sku": "MUG-CERAMIC-BLUE", "warehouse": "BER"}).json()
    assert (level["on_hand"], level["reserved"]) == (58, 0)

    facts = client.get(f"/api/v1/orders/{oid}/facts").json()
    assert facts["promised_date"] == "2026-11-26"
    assert facts["shipments"][0]["delivered_at"] == "2026-11-26T11:42:00Z"
    assert [(x["sku"], x["quantity"], x["shipped_qty"]) for x in facts["lines"]] == [
        ("MUG-CERAMIC-BLUE", 2, 2),
        ("KETTLE-STEEL-17", 1, 1),
    ]
    assert (facts["pick_lines"], facts["pick_lines_correct"]) == (2, 1)
    assert [(i["criterion"], i["stage"], i["code"]) for i in facts["issues"]] == [
        ("accurate", "picking", "picking_error"),
        ("undamaged", "shipping", "return_damaged_in_transit"),
    ]
    assert facts["feedback"]["rating"] == 2 and facts["feedback"]["undamaged"] is False
