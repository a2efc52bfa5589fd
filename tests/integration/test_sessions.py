"""Dashboard sessions over HTTP (the browser version arrives with the dashboard)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from perfectorder.domain.access import Role
from perfectorder.services import access
from tests.factories import order_payload

PASSWORD = "correct horse battery staple"


@pytest.fixture
def browser(application):
    """Over https, as a browser would be: the session cookie is Secure."""
    from fastapi.testclient import TestClient

    from perfectorder.api.app import create_app

    with TestClient(create_app(application=application), base_url="https://testserver") as http:
        yield http


@pytest.fixture
def operator(application):
    access.create_user(
        application.services, application.passwords, username="olga", password=PASSWORD, role=Role.OPERATOR
    )
    return "olga"


def log_in(http, username="olga", password=PASSWORD):
    return http.post("/auth/login", json={"username": username, "password": password})


def test_login_sets_a_secure_http_only_strict_cookie_and_returns_a_csrf_token(browser, operator):
    anonymous = browser
    response = log_in(anonymous)
    assert response.status_code == 200
    cookie = response.headers["set-cookie"].lower()
    assert (
        "po_session=" in cookie
        and "httponly" in cookie
        and "secure" in cookie
        and "samesite=strict" in cookie
    )
    body = response.json()
    assert body["user"] == {"name": "olga", "role": "operator", "channel": None, "customer_id": None}
    assert len(body["csrf_token"]) >= 32


def test_a_session_reads_freely_but_changes_state_only_with_its_csrf_token(browser, operator):
    anonymous = browser
    csrf = log_in(anonymous).json()["csrf_token"]
    assert anonymous.get("/api/v1/orders").status_code == 200
    forged = anonymous.post("/api/v1/orders", json=order_payload())
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "csrf_failed"
    wrong = anonymous.post("/api/v1/orders", json=order_payload(), headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    placed = anonymous.post("/api/v1/orders", json=order_payload(), headers={"X-CSRF-Token": csrf})
    assert placed.status_code == 201
    assert placed.json()["holds"] == [] and anonymous.get("/auth/me").json()["name"] == "olga"


def test_logout_ends_the_session(browser, operator):
    anonymous = browser
    login = log_in(anonymous)
    csrf = login.json()["csrf_token"]
    assert anonymous.post("/auth/logout").status_code == 403  # CSRF applies to logout too
    assert anonymous.post("/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    after = anonymous.get("/api/v1/orders")
    assert after.status_code == 401
    assert "po_session" not in browser.cookies


def test_wrong_passwords_throttle_that_name_from_that_address_for_a_while(anonymous, operator, clock):
    for _ in range(5):
        refused = log_in(anonymous, password="wrong password!")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_credentials"
    throttled = log_in(anonymous)
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "too_many_login_attempts"
    assert 0 < int(throttled.headers["retry-after"]) <= 15 * 60
    clock.advance(timedelta(minutes=16))
    assert log_in(anonymous).status_code == 200


def test_an_unknown_user_looks_like_a_wrong_password(anonymous, operator):
    response = log_in(anonymous, username="mallory")
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_credentials"


def test_sessions_expire(browser, operator, clock):
    anonymous = browser
    log_in(anonymous)
    clock.advance(timedelta(hours=13))
    response = anonymous.get("/api/v1/orders")
    assert response.status_code == 401 and response.json()["error"]["code"] == "session_expired"


def test_passwords_are_stored_as_argon2_hashes(application, operator):
    from sqlalchemy import select

    from perfectorder.adapters.db import tables as t

    with application.engine.connect() as conn:
        stored = conn.execute(select(t.users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
