"""Pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import anyio
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from perfectorder.domain.errors import DeadlineExceeded
from perfectorder.services.call import Call, current_call
from perfectorder.services.ports import Amendment, AuditEntry, Clock

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


async def _send_json(
    send: Send, status: int, body: dict[str, Any], *, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
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
    """Records every state-changing call (who, what, when, from where, outcome), refusals included: a
    burst of 401s and 403s is exactly what an admin wants to see.

    A call that changes something gets its row in the same transaction as the change (the unit of
    work writes it from the `Call` set here, with the status the route answers on success), so no
    change is acknowledged without its row. Calls that committed nothing are recorded after they are
    answered, as is the final status of a call whose answer differed from its row's.

    `record` is called on the event loop when `blocking` is False (it must only queue the entry, as
    AuditLog.add does), in a worker thread otherwise."""

    def __init__(
        self,
        app: ASGIApp,
        record: Callable[[AuditEntry | Amendment], None],
        clock: Clock,
        *,
        blocking: bool = True,
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

        def describe(answered: int | None = None) -> AuditEntry:
            principal = scope.get("state", {}).get("principal")
            client = scope.get("client") or ("", 0)
            if answered is None:
                # Asked at commit time, before the answer: the status the route gives on success.
                answered = getattr(scope.get("route"), "status_code", None) or 200
            return AuditEntry(
                occurred_at=self.clock.now(),
                actor=principal.actor if principal else "anonymous",
                role=principal.role.value if principal else None,
                method=scope["method"],
                path=scope["path"],
                status_code=answered,
                client=str(client[0]),
                outcome=_outcome(answered),
            )

        call = Call(describe=describe)
        token = current_call.set(call)
        try:
            await self.app(scope, receive, capture)
        finally:
            current_call.reset(token)
            item: AuditEntry | Amendment | None = None
            if call.audit_row is None:
                item = describe(status)
            elif call.audited_status != status:
                item = Amendment(call.audit_row, status, _outcome(status))
            if item is not None:
                try:
                    if self.blocking:
                        await anyio.to_thread.run_sync(self.record, item)
                    else:
                        self.record(item)
                except Exception:
                    # The answer is already sent; a failed audit write must not turn it into a crash.
                    log.exception("could not write the audit entry %s", item)


def _outcome(status: int) -> str:
    return "ok" if status < 400 else "refused" if status < 500 else "error"


class RequestDeadline:
    """Answers 503 deadline_exceeded with Retry-After when a call runs out of its time, typically because
    the database stopped answering: a frozen server holds its connections open without a word.

    The work runs on in its own task (its worker thread cannot be interrupted), but the unit of work
    refuses to start or commit once the deadline has passed, so what the caller was told timed out is
    not applied later. A commit already in flight at the deadline may still land; the 503 says to
    retry with the same Idempotency-Key, whose answer then tells which."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self._abandoned: set[asyncio.Future[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.seconds <= 0:
            await self.app(scope, receive, send)
            return
        call = current_call.get()
        token = None
        if call is None:
            call = Call()
            token = current_call.set(call)
        call.timeout = self.seconds
        call.deadline = time.monotonic() + self.seconds
        started = timed_out = False

        async def guarded(message: Message) -> None:
            nonlocal started
            if timed_out:
                return  # the caller has had its 503; the late answer goes nowhere
            started = started or message["type"] == "http.response.start"
            await send(message)

        # Its own task (it copies this context, so the unit of work sees the deadline), because
        # waiting for it would wait for its thread, which may hang as long as the database does.
        work = asyncio.ensure_future(self.app(scope, receive, guarded))
        try:
            await asyncio.wait_for(asyncio.shield(work), self.seconds)
        except TimeoutError:
            if started:
                await work  # the answer is on its way: let it finish
                return
            timed_out = True
            self._abandoned.add(work)
            work.add_done_callback(self._forget)
            error = DeadlineExceeded(self.seconds)
            body = {"code": error.code, "message": error.message, "field": None, "details": error.details}
            await _send_json(send, 503, {"error": body}, headers=[(b"retry-after", b"5")])
        finally:
            if token is not None:
                current_call.reset(token)

    def _forget(self, work: asyncio.Future[None]) -> None:
        self._abandoned.discard(work)
        if not work.cancelled() and work.exception() is not None:
            log.warning("a call that timed out failed later: %r", work.exception())


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
                headers += [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY")]
                if b"referrer-policy" not in names:  # a page may keep even that (the status page)
                    headers.append((b"referrer-policy", b"same-origin"))
                content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
                if content_type.startswith(b"text/html"):
                    headers.append((b"content-security-policy", _POLICIES.get(path, PAGE_POLICY.encode())))
                if b"cache-control" not in names and not path.startswith(_CACHEABLE):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
