"""The supplier scorecard over the API, against a quarter's purchase orders worked by hand: each
line judged against the date first promised (a later date the supplier gave does not excuse it)."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.test_purchasing import SKU, make_supplier


def po(client, quantity: int) -> str:
    made = client.post(
        "/api/v1/purchase-orders",
        json={"supplier": "TIDEWATER", "warehouse": "BER", "lines": [{"sku": SKU, "quantity": quantity}]},
    )
    assert made.status_code == 201, made.text
    url = f"/api/v1/purchase-orders/{made.json()['id']}"
    assert client.post(f"{url}/send").status_code == 200
    return url


def receive(client, url: str, accepted: int, rejected: int = 0) -> None:
    body = {"sku": SKU, "accepted": accepted, "rejected": rejected}
    if rejected:
        body["reason"] = "damaged"
    answer = client.post(f"{url}/receipts", json=body)
    assert answer.status_code == 201, answer.text


def test_the_scorecard_judges_each_line_against_its_first_promise(application, client, clock):
    make_supplier(client)  # 5 working days: POs of Tuesday 24 November are promised for 1 December
    start = clock.now().date()
    in_full = po(client, 24)
    short = po(client, 24)
    late = po(client, 12)
    moved = po(client, 6)
    assert (
        client.post(
            f"{moved}/change-date", json={"promised_date": "2026-12-10", "reason": "kiln"}
        ).status_code
        == 200
    )

    clock.advance(timedelta(days=5))  # Sunday 29 November
    receive(client, in_full, 24)
    receive(client, short, 18, rejected=6)  # six broken: rejected at the door
    clock.advance(timedelta(days=4))  # Thursday 3 December: after the first promised day
    receive(client, late, 12)
    receive(client, moved, 6)  # on its changed date, late against the first

    card = client.get("/api/v1/metrics/suppliers", params={"from": str(start), "to": str(start)})
    assert card.status_code == 200, card.text
    [tide] = card.json()["suppliers"]
    assert (tide["supplier"], tide["lines"], tide["due"]) == ("TIDEWATER", 4, 4)
    assert tide["otif_rate"] == 1 / 4  # only the first came in full by 1 December
    assert tide["on_time_rate"] == 2 / 4
    assert tide["fill_rate"] == (24 + 18 + 12 + 6) / (24 + 24 + 12 + 6)
    assert tide["rejection_rate"] == 6 / (24 + 24 + 12 + 6)
    assert (tide["lead_time_p50"], tide["lead_time_p90"], tide["quoted_lead_time"]) == (5.0, 9.0, 5)
    assert (tide["returned_defective"], tide["shipped"], tide["defect_rate"]) == (0, 0, None)
    # The trend: all four were ordered in the week of 23 November.
    weekly = client.get(
        "/api/v1/metrics/suppliers", params={"from": str(start), "to": str(start), "granularity": "week"}
    )
    [(period, [week])] = [(p["period"], p["suppliers"]) for p in weekly.json()["trend"]]
    assert period == "2026-11-23" and week["otif_rate"] == tide["otif_rate"] and week["lines"] == 4
    wrong = client.get(
        "/api/v1/metrics/suppliers", params={"from": str(start), "to": str(start), "granularity": "day"}
    )
    assert wrong.status_code == 422
