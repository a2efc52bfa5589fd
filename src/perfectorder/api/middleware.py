"""Pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import anyio
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from perfectorder.services.ports import AuditEntry, Clock

log = logging.getLogger("perfectorder.audit")


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body is larger than {limit} bytes; send less per request")


class BodySizeLimit:
    """Refuses bodies over the limit (even without a Content-Length) and URLs carrying NUL bytes."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            await _send_json(
                send,
                422,
                {
                    "error": {
                        "code": "invalid_characters",
                        "message": "the URL may not contain NUL characters",
                        "field": None,
                        "details": {},
                    }
                },
            )
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _send_json(send, 413, _too_large(self.max_bytes))
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited, send)


def _too_large(limit: int) -> dict[str, Any]:
    return {
        "error": {
            "code": "body_too_large",
            "message": f"the body is larger than {limit} bytes",
            "field": None,
            "details": {"limit": limit},
        }
    }


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class ApiMetrics:
    """The Prometheus figures of one app; a registry per app keeps tests independent."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "perfectorder_http_requests",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "perfectorder_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.orders_placed = Counter(
            "perfectorder_orders_placed", "Orders placed", ["channel", "status"], registry=self.registry
        )
        self.reservations_refused = Counter(
            "perfectorder_reservations_refused", "Orders refused for lack of stock", registry=self.registry
        )


class RequestMetrics:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            # The route template, not the raw path: ids in paths would explode the label set.
            label = getattr(route, "path", "unmatched")
            self.metrics.requests.labels(scope["method"], label, str(status)).inc()
            self.metrics.latency.labels(scope["method"], label).observe(time.perf_counter() - started)


class AuditTrail:
    """Records every state-changing call (who, what, when, from where, outcome) after it is answered,
    refusals included: a burst of 401s and 403s is exactly what an admin wants to see.

    `record` is called on the event loop when `blocking` is False (it must only queue the entry, as
    AuditLog.add does), in a worker thread otherwise."""

    def __init__(
        self, app: ASGIApp, record: Callable[[AuditEntry], None], clock: Clock, *, blocking: bool = True
    ) -> None:
        self.app = app
        self.record = record
        self.clock = clock
        self.blocking = blocking

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            principal = scope.get("state", {}).get("principal")
            client = scope.get("client") or ("", 0)
            entry = AuditEntry(
                occurred_at=self.clock.now(),
                actor=principal.actor if principal else "anonymous",
                role=principal.role.value if principal else None,
                method=scope["method"],
                path=scope["path"],
                status_code=status,
                client=str(client[0]),
                outcome="ok" if status < 400 else "refused" if status < 500 else "error",
            )
            try:
                if self.blocking:
                    await anyio.to_thread.run_sync(self.record, entry)
                else:
                    self.record(entry)
            except Exception:
                # The answer is already sent; a failed audit write must not turn it into a crash.
                log.exception("could not write the audit entry %s", entry)


# Our pages load only our own script, style and images, are never framed, and post only to us.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
# Swagger UI on /docs runs under the policy above. ReDoc's renderer (styled-components) writes its
# styles into <style> elements, and its search runs in a worker made from a blob: both only from its
# own script, which script-src 'self' already trusts. Only /redoc relaxes those two; never script.
# (ReDoc also asks for its vendor's logo from cdn.redoc.ly: img-src blocks it, and it hides itself.)
REDOC_POLICY = (
    PAGE_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'") + "; worker-src blob:"
)
_POLICIES = {"/redoc": REDOC_POLICY.encode()}
_CACHEABLE = ("/static/", "/docs/assets/")


class SecurityHeaders:
    """Headers every answer carries: no sniffing, no framing, no referrer beyond us; pages get a
    content security policy, and answers with personal data are never stored by a cache."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                ]
                content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
                if content_type.startswith(b"text/html"):
                    headers.append((b"content-security-policy", _POLICIES.get(path, PAGE_POLICY.encode())))
                if b"cache-control" not in names and not path.startswith(_CACHEABLE):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
