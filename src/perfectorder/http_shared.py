"""What the API and the dashboard both speak over HTTP: the status of each domain error kind, the
session cookie's name, the caller's address. Here rather than in `api`, so the dashboard needs
nothing from the API's internals and the two cannot drift apart."""

from __future__ import annotations

from starlette.requests import Request

STATUS_BY_KIND = {
    "invalid": 422,
    "not_found": 404,
    "conflict": 409,
    "unavailable": 503,
    "unauthenticated": 401,
    "forbidden": 403,
    "rate_limited": 429,
}
SESSION_COOKIE = "po_session"


def client_address(request: Request) -> str:
    # The peer as the server sees it; behind a proxy, uvicorn's --forwarded-allow-ips decides
    # whether X-Forwarded-For may replace it (never trusted from arbitrary peers).
    return request.client.host if request.client else "unknown"
