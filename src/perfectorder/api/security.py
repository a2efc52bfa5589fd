"""Authentication (API key or dashboard session), permissions per route, and rate limiting.

Every route depends on `Require(permission)`; the OpenAPI document shows it as `x-permission`, and
a test walks the document to prove no route is left open.
"""

from __future__ import annotations

import hmac
import threading
import time

from fastapi import Request

from perfectorder.domain.access import Permission, Principal
from perfectorder.domain.errors import DomainError, Forbidden, Unauthenticated
from perfectorder.services import access
from perfectorder.services.context import ServiceContext

SESSION_COOKIE = "po_session"
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

    def principal(self, ctx: ServiceContext, secret: str) -> Principal:
        key = access.digest(secret)
        now = time.monotonic()
        with self._lock:
            cached = self._entries.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        principal = access.authenticate_key(ctx, secret)
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key] = (principal, now + self._ttl)
        return principal


def authenticate(request: Request) -> Principal:
    """The caller, from `Authorization: Bearer`, `X-API-Key` or the session cookie (+ CSRF)."""
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
            raise Unauthenticated(
                "unauthenticated",
                "send an API key as 'Authorization: Bearer po_...' or log in",
            )
        principal, csrf = access.session_principal(ctx, token)
        if request.method not in SAFE_METHODS and not hmac.compare_digest(
            request.headers.get(CSRF_HEADER, ""), csrf
        ):
            raise Forbidden("csrf_failed", "send the session's CSRF token in the X-CSRF-Token header")
    request.state.principal = principal
    return principal


def _api_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key") or None


class Require:
    """A route dependency: authenticates, checks one permission, applies the caller's rate limit."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __call__(self, request: Request) -> Principal:
        principal = authenticate(request)
        if not principal.can(self.permission):
            raise Forbidden(
                "forbidden",
                f"role '{principal.role.value}' may not {self.permission.value}",
                details={"permission": self.permission.value},
            )
        wait = request.app.state.application.rate_limiter.take(principal.actor)
        if wait is not None:
            raise RateLimited(
                "rate_limited",
                "too many requests for this key; slow down",
                details={"retry_after_seconds": max(1, round(wait + 0.5))},
            )
        return principal
