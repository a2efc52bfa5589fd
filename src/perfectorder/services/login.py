"""Logging in to the dashboard: throttled so that guessing is slow and costly for the guesser only.

Three limits, checked before any password is hashed:
- per client address, every attempt (a token bucket in memory or Redis): bounds the hashing one
  address can make the server do, whatever names it tries;
- per name from one client address, failures in a sliding window: stops one address guessing
  one account, while the account's owner, from any other address, is not affected;
- per name from all addresses, failures in a wider sliding window: caps guessing at one account
  spread over many addresses. It can delay the owner too, but only for the rest of the window
  (there is no lock an admin must lift), and only an attacker with several addresses reaches it.
Unknown names, wrong passwords and disabled users get the same answer, cost the same hashing,
and count the same failures, so neither the answer nor the throttle tells which names exist.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from perfectorder.domain.access import Principal, Role
from perfectorder.domain.errors import TooManyAttempts, Unauthenticated
from perfectorder.services.access import SESSION_LIFETIME, STAFF, IssuedSession, digest, not_for_users
from perfectorder.services.context import ServiceContext, read, run_transaction
from perfectorder.services.ports import AuditEntry, LoginFailure, PasswordHasher, UnitOfWork, UserRecord


class AttemptLimiter(Protocol):
    def take(self, key: str) -> float | None: ...


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    failures_per_name_and_client: int = 5
    failures_per_name: int = 20
    window: timedelta = timedelta(minutes=15)


@dataclass(slots=True)
class Logins:
    """What logging in needs besides the database: the (bounded) hasher and the limits."""

    hasher: PasswordHasher
    per_client: AttemptLimiter
    policy: LoginPolicy = field(default_factory=LoginPolicy)
    _dummy_hash: str | None = None

    def dummy_hash(self) -> str:
        # Made by the same hasher with the same parameters, so an unknown name costs exactly what a
        # known one does; two threads racing here both make a valid one, which is harmless.
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(24))
        return self._dummy_hash


def login(
    ctx: ServiceContext, logins: Logins, *, username: str, password: str, client: str, via: str
) -> IssuedSession:
    """Opens a session for a staff user with the right password; `client` is the caller's address
    and `via` the path they posted to (both for the throttle and the audit log)."""
    name, policy = username.strip()[:100], logins.policy
    wait = logins.per_client.take(f"login:{client}")
    if wait is not None:
        raise _too_many(wait)
    now = ctx.clock.now()

    def look(uow: UnitOfWork) -> tuple[UserRecord | None, list[LoginFailure]]:
        return uow.access.user_by_name(name), uow.access.login_failures(name, since=now - policy.window)

    user, failures = read(ctx, look)
    wait = throttle_wait(failures, client=client, now=now, policy=policy)
    if wait is not None:
        raise _too_many(wait)
    # Hash even for unknown names: the answer time must not tell which names exist.
    valid = logins.hasher.verify(user.password_hash if user else logins.dummy_hash(), password)
    if user is None or not valid or user.disabled_at is not None:
        why = "unknown_user" if user is None else "wrong_password" if not valid else "disabled"
        _record_failure(ctx, policy, name=name, client=client, via=via, outcome=f"login_failed_{why}")
        raise Unauthenticated("invalid_credentials", "wrong username or password")
    if Role(user.role) not in STAFF:
        raise not_for_users()
    return _open_session(ctx, user, client=client, via=via)


def throttle_wait(
    failures: list[LoginFailure], *, client: str, now: datetime, policy: LoginPolicy
) -> float | None:
    """Seconds until the name may be tried again from `client`, or None. `failures` are the name's
    failures inside the window, oldest first."""
    waits = []
    from_client = [f.failed_at for f in failures if f.client == client]
    for times, limit in (
        (from_client, policy.failures_per_name_and_client),
        ([f.failed_at for f in failures], policy.failures_per_name),
    ):
        if len(times) >= limit:
            # Sliding: one more try is allowed when the failure that keeps the count at the limit
            # leaves the window.
            waits.append((times[len(times) - limit] + policy.window - now).total_seconds())
    return max(waits) if waits else None


def _record_failure(
    ctx: ServiceContext, policy: LoginPolicy, *, name: str, client: str, via: str, outcome: str
) -> None:
    now = ctx.clock.now()
    entry = AuditEntry(now, "anonymous", None, "POST", via, 401, client, outcome, detail=name)

    def work(uow: UnitOfWork) -> None:
        # The table holds only the window: what is older no longer counts, so it goes.
        uow.access.forget_login_failures(before=now - policy.window)
        uow.access.add_login_failure(name, client, now)
        uow.access.add_login_audit(entry)

    run_transaction(ctx, work)


def _open_session(ctx: ServiceContext, user: UserRecord, *, client: str, via: str) -> IssuedSession:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = ctx.clock.now()
    expires = now + SESSION_LIFETIME
    entry = AuditEntry(
        now, user.username, user.role, "POST", via, 200, client, "login_succeeded", detail=user.username
    )

    def work(uow: UnitOfWork) -> None:
        # The owner got in from here: their own typos from this address stop counting.
        uow.access.clear_login_failures(user.username, client=client)
        uow.access.add_session(digest(token), user.id, csrf, now, expires)
        uow.access.add_login_audit(entry)

    run_transaction(ctx, work)
    return IssuedSession(
        token, csrf, expires, Principal(name=user.username, role=Role(user.role), user_id=user.id)
    )


def _too_many(wait: float) -> TooManyAttempts:
    seconds = max(1, round(wait + 0.5))
    return TooManyAttempts(
        "too_many_login_attempts",
        f"too many login attempts; wait {seconds} seconds and try again",
        retry_after=wait,
    )
