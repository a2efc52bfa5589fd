"""Authentication (API key or dashboard session), permissions per route, and rate limiting.

Every route depends on `Require(permission)`; the OpenAPI document shows it as `x-permission`, and
a test walks the document to prove no route is left open.
"""

from __future__ import annotations

import hmac
import threading
import time

import anyio
from fastapi import Request

from perfectorder.domain.access import Permission, Principal
from perfectorder.domain.errors import DomainError, Forbidden, Unauthenticated
from perfectorder.http_shared import SESSION_COOKIE
from perfectorder.services import access
from perfectorder.services.context import ServiceContext

CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A revoked key stops working within this many seconds in every process.
KEY_CACHE_SECONDS = 5.0


class RateLimited(DomainError):
    kind = "rate_limited"


class KeyCache:
    """Saves a database read per request for keys seen a moment ago."""

    def __init__(self, ttl: float = KEY_CACHE_SECONDS) -> None:
        self._ttl = ttl
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def peek(self, secret: str) -> Principal | None:
        """The cached caller, or None: never touches the database, so it may run on the event loop."""
        key = access.digest(secret)
        with self._lock:
            cached = self._entries.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        return None

    def principal(self, ctx: ServiceContext, secret: str) -> Principal:
        cached = self.peek(secret)
        if cached is not None:
            return cached
        key = access.digest(secret)
        now = time.monotonic()
        principal = access.authenticate_key(ctx, secret)
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key] = (principal, now + self._ttl)
        return principal


async def authenticate_async(request: Request) -> Principal:
    """`authenticate` without a worker thread when the API key is in the cache, the common case; the
    database lookups (a key not seen for a while, a session) still run in a thread."""
    cached: object = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    secret = _api_key(request)
    if secret is not None:
        cache: KeyCache = request.app.state.key_cache
        principal = cache.peek(secret)
        if principal is not None:
            request.state.principal = principal
            return principal
    elif not request.cookies.get(SESSION_COOKIE):
        raise _unauthenticated()
    return await anyio.to_thread.run_sync(authenticate, request)


def authenticate(request: Request) -> Principal:
    """The caller, from `Authorization: Bearer`, `X-API-Key` or the session cookie (+ CSRF).
    Blocking (it may read the database): for sync routes and worker threads."""
    cached: object = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    ctx: ServiceContext = request.app.state.services
    secret = _api_key(request)
    principal: Principal
    if secret is not None:
        cache: KeyCache = request.app.state.key_cache
        principal = cache.principal(ctx, secret)
    else:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            raise _unauthenticated()
        principal, csrf = access.session_principal(ctx, token)
        if request.method not in SAFE_METHODS and not hmac.compare_digest(
            request.headers.get(CSRF_HEADER, ""), csrf
        ):
            raise Forbidden("csrf_failed", "send the session's CSRF token in the X-CSRF-Token header")
    request.state.principal = principal
    return principal


def _unauthenticated() -> Unauthenticated:
    return Unauthenticated("unauthenticated", "send an API key as 'Authorization: Bearer po_...' or log in")


def _api_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key") or None


class Require:
    """A route dependency: authenticates, checks one permission, applies the caller's rate limit.

    Async, so a request whose key is cached costs no hop to a worker thread (FastAPI runs a plain def
    dependency in one); only database and Redis calls go to a thread."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(self, request: Request) -> Principal:
        principal = await authenticate_async(request)
        if not principal.can(self.permission):
            raise Forbidden(
                "forbidden",
                f"role '{principal.role.value}' may not {self.permission.value}",
                details={"permission": self.permission.value},
            )
        limiter = request.app.state.application.rate_limiter
        if limiter.blocking:
            wait = await anyio.to_thread.run_sync(limiter.take, principal.actor)
        else:
            wait = limiter.take(principal.actor)
        if wait is not None:
            raise RateLimited(
                "rate_limited",
                "too many requests for this key; slow down",
                details={"retry_after_seconds": max(1, round(wait + 0.5))},
            )
        return principal
