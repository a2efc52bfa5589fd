"""The promise-risk model on a simulated store that a peak, carrier delays, a slow lane, stock-outs
and holds make miss some promises: trained on the settled orders, it scores every open order; the
board lists them by risk, the API and the order page show the same scores with reasons and an
action, and tenants see only their own orders' scores."""

from __future__ import annotations

import html
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.adapters.db.tables import order_risk, orders
from perfectorder.api.app import create_app
from perfectorder.domain.access import Role
from perfectorder.services import access, board, promise_risk, verdicts
from perfectorder.services.board_ports import OPEN_STATUSES, BoardQuery
from perfectorder.simulation.runner import simulate
from perfectorder.simulation.scenario import Carrier, LaneSpec, Scenario
from tests.conftest import api_key, command_line, make_application

START = date(2026, 3, 2)
PASSWORD = "correct horse battery"
# Sized for 550-650 settled orders to learn from: at two thirds of the first size (30 a day
# against a capacity of 31) the model's Brier score still halves the rules' for seeds 1 to 6.
STORE = Scenario(
    name="risky",
    seed=5,
    start=START,
    days=36,
    orders_per_day=20,
    products=40,
    customers=3000,
    pick_capacity=21,
    peak_day=14,
    peak_days=8,
    peak_factor=1.7,
    initial_stock=80,
    reorder_point=10,
    reorder_quantity=100,
    supplier_lead_days=6,
    payment_decline=0.03,
    b2b=0.1,
    feedback=0.0,
    feedback_when_wrong=0.0,
    return_when_damaged=0.0,
    return_changed_mind=0.0,
    carriers=(
        Carrier("DHL", "standard", 0.6, (1, 2, 2, 3), delay=0.06, delay_days=3),
        Carrier(
            "GLS", "economy", 0.4, (2, 3, 4), delay=0.08, delay_days=3, lanes=(LaneSpec("AT", (4, 5, 6)),)
        ),
    ),
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    url = (
        request.getfixturevalue("postgres_url")
        if request.param == "postgres"
        else f"sqlite:///{tmp_path}/r.db"
    )
    clock = SimulatedClock(datetime(2026, 3, 1, tzinfo=UTC))
    application = make_application(url, clock)
    try:
        yield application, url
    finally:
        application.close()


def count_open(application) -> int:
    with application.engine.connect() as conn:
        return conn.execute(select(func.count()).where(orders.c.status.in_(OPEN_STATUSES))).scalar_one()


def test_the_model_scores_every_open_order_and_the_board_api_and_page_agree(store, monkeypatch):
    application, url = store
    services = application.services
    with TestClient(create_app(application=application)) as http:
        http.headers["Authorization"] = f"Bearer {api_key(application)}"
        missing = http.get("/api/v1/risk/model")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "risk_model_missing"
        assert promise_risk.score_open(services) == 0  # nothing to score with yet

        # Stopped on a working morning with the last days' orders still open, as a store is.
        simulate(application, services.clock, STORE, until=datetime(2026, 4, 2, 10, tzinfo=UTC))
        verdicts.refresh(services)
        training = promise_risk.train(services)
        quality = training.model.quality
        assert training.snapshots > 500 and 0.02 < training.model.base_rate < 0.5
        # Better than the rules on what it learned from: calibrated and sharper.
        assert quality["brier_model"] < quality["brier_rules"]
        scored = promise_risk.score_open(services)
        assert scored == count_open(application) > 20
        # Two workers scoring at the same moment both finish, and every open order has one score.
        with ThreadPoolExecutor(2) as pool:
            both = list(pool.map(lambda _: promise_risk.score_open(services), range(2)))
        assert both == [scored, scored]
        with application.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(order_risk)).scalar_one() == scored

        riskiest = promise_risk.riskiest(services, limit=500)
        chances = [s.probability for s in riskiest]
        assert chances == sorted(chances, reverse=True) and all(0 <= p <= 1 for p in chances)
        assert max(chances) > 0.5 and min(chances) < 0.1  # it tells orders apart
        for s in riskiest:
            assert s.action in ("expedite", "re-source", "split", "notify")
        assert riskiest[0].reasons  # the riskiest order says why
        past = [s for s in riskiest if s.reasons and s.reasons[0][0] == "past_promise"]
        assert all(s.probability == 1.0 and s.action == "notify" for s in past)

        # The board, by risk: the same orders in the same order.
        page = board.orders_board(services, BoardQuery(sort="risk", descending=True))
        assert [o.id for o in page.orders.items] == [s.order_id for s in riskiest[:50]]
        assert [o.risk for o in page.orders.items] == chances[:50]

        listed = http.get("/api/v1/risk/orders", params={"limit": 50}).json()
        assert [x["order_id"] for x in listed] == [s.order_id for s in riskiest[:50]]
        top = riskiest[0]
        one = http.get(f"/api/v1/orders/{top.order_id}/risk").json()
        assert one["probability"] == round(top.probability, 4) and one["action"] == top.action
        assert [r["text"] for r in one["reasons"]] == [words for _, _, words in top.reasons]
        model = http.get("/api/v1/risk/model").json()
        assert model["orders"] == training.snapshots and len(model["features"]) == len(training.model.weights)

        # Tenants: the reasons are the store's own figures, so neither a channel's key (even for
        # its own order) nor a customer's reads them.
        with application.engine.connect() as conn:
            channel, customer_id = conn.execute(
                select(orders.c.channel, orders.c.customer_id).where(orders.c.id == top.order_id)
            ).one()
        for role, scope in (
            (Role.CHANNEL, {"channel": channel}),
            (Role.CUSTOMER, {"customer_id": customer_id}),
        ):
            http.headers["Authorization"] = f"Bearer {api_key(application, role, **scope)}"
            for path in (f"/api/v1/orders/{top.order_id}/risk", "/api/v1/risk/orders"):
                refused = http.get(path)
                assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden", path

        # An order closed since the last scoring has nothing left to miss: no score, not listed.
        http.headers["Authorization"] = f"Bearer {api_key(application)}"
        closing = next(s for s in riskiest if s.stage in ("placed", "approved"))
        assert (
            http.post(
                f"/api/v1/orders/{closing.order_id}/cancel", json={"reason": "customer asked"}
            ).status_code
            == 200
        )
        gone = http.get(f"/api/v1/orders/{closing.order_id}/risk")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "risk_not_scored"
        assert closing.order_id not in {s.order_id for s in promise_risk.riskiest(services, limit=500)}
        page = board.orders_board(
            services, BoardQuery(sort="risk", descending=True, order_ids=(closing.order_id,))
        )
        assert page.orders.items == ()

    # The dashboard: the board by risk and the order page show the same chance, action and reasons.
    access.create_user(
        services, application.passwords, username="rita", password=PASSWORD, role=Role.OPERATOR
    )
    with TestClient(create_app(application=application), base_url="https://testserver") as page_client:
        assert page_client.post("/login", data={"username": "rita", "password": PASSWORD}).status_code == 200
        listed_page = page_client.get("/orders", params={"sort": "risk", "desc": "true"})
        assert listed_page.status_code == 200
        first_row = listed_page.text.split('<table id="orders">')[1].split("</tr>")[1]
        assert f"#{top.order_id}<" in first_row and f"{top.probability * 100:.0f}%" in first_row
        order_page = page_client.get(f"/orders/{top.order_id}")
        assert 'id="risk"' in order_page.text and f"<strong>{top.action}</strong>" in order_page.text
        assert html.escape(top.reasons[0][2], quote=False) in order_page.text

    # The CLI shows the model and the riskiest orders.
    cli = command_line(monkeypatch, url)
    shown = cli("risk", "show", "--limit", "5")
    assert shown.exit_code == 0, shown.output
    assert "settled orders" in shown.output and str(top.order_id) in shown.output


def test_a_store_without_settled_orders_is_told_to_wait(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/empty.db"
    application = make_application(url, SimulatedClock(datetime(2026, 3, 1, tzinfo=UTC)))
    application.close()
    cli = command_line(monkeypatch, url)
    refused = cli("risk", "train")
    assert refused.exit_code != 0
    assert "not_enough_history" in refused.output or "settled orders" in refused.output
    assert (
        promise_risk.train_if_due(
            make_application(url, SimulatedClock(datetime(2026, 3, 1, tzinfo=UTC))).services
        )
        is None
    )
