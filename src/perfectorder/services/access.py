"""API keys, dashboard users and sessions, and the audit log.

API keys are long random secrets, so one SHA-256 is the right hash for them (fast lookups, nothing
to brute-force); passwords are short human secrets and get argon2 through the PasswordHasher port.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from perfectorder.domain.access import TENANT_ROLES, Principal, Role
from perfectorder.domain.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from perfectorder.domain.values import Channel
from perfectorder.services.context import ServiceContext, read, run_transaction
from perfectorder.services.ports import (
    ApiKeyRecord,
    AuditEntry,
    AuditRecord,
    PasswordHasher,
    UnitOfWork,
    UserRecord,
)

KEY_PREFIX = "po_"
MIN_PASSWORD_LENGTH = 12
SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    record: ApiKeyRecord
    secret: str  # shown once, never stored


@dataclass(frozen=True, slots=True)
class IssuedSession:
    token: str
    csrf_token: str
    expires_at: datetime
    principal: Principal


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    ctx: ServiceContext,
    *,
    name: str,
    role: Role,
    channel: str | None = None,
    customer_id: int | None = None,
    created_by: str = "cli",
) -> IssuedKey:
    _check_key_scope(role, channel, customer_id)
    prefix = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"

    def work(uow: UnitOfWork) -> IssuedKey:
        if customer_id is not None and uow.customers.get(customer_id) is None:
            raise NotFound("customer_not_found", f"no customer has id {customer_id}", field="customer")
        record = ApiKeyRecord(
            0,
            name.strip() or role.value,
            prefix,
            digest(secret),
            role.value,
            channel,
            customer_id,
            ctx.clock.now(),
            created_by,
            None,
        )
        key_id = uow.access.add_key(record)
        return IssuedKey(replace(record, id=key_id), secret)

    return run_transaction(ctx, work)


def _check_key_scope(role: Role, channel: str | None, customer_id: int | None) -> None:
    if role is Role.CHANNEL and channel not in {c.value for c in Channel}:
        raise InvalidInput(
            "channel_required", "a channel key needs --channel (web, marketplace, ...)", field="channel"
        )
    if role is Role.CUSTOMER and customer_id is None:
        raise InvalidInput("customer_required", "a customer key needs --customer ID", field="customer")
    if role not in (Role.CHANNEL,) and channel is not None:
        raise InvalidInput("scope_not_allowed", "only channel keys are bound to a channel", field="channel")
    if role not in (Role.CUSTOMER,) and customer_id is not None:
        raise InvalidInput(
            "scope_not_allowed", "only customer keys are bound to a customer", field="customer"
        )


def revoke_api_key(ctx: ServiceContext, key_id: int) -> None:
    def work(uow: UnitOfWork) -> None:
        if not uow.access.revoke_key(key_id, ctx.clock.now()):
            raise NotFound("key_not_found", f"no active key has id {key_id}", field="key_id")

    run_transaction(ctx, work)


def list_api_keys(ctx: ServiceContext) -> list[ApiKeyRecord]:
    return read(ctx, lambda uow: uow.access.keys())


def authenticate_key(ctx: ServiceContext, secret: str) -> Principal:
    parts = secret.split("_")
    if len(parts) < 3 or not secret.startswith(KEY_PREFIX):
        raise _bad_key()
    record = read(ctx, lambda uow: uow.access.key_by_prefix(parts[1]))
    if (
        record is None
        or record.revoked_at is not None
        or not hmac.compare_digest(record.secret_hash, digest(secret))
    ):
        raise _bad_key()
    return Principal(
        name=record.name,
        role=Role(record.role),
        channel=record.channel,
        customer_id=record.customer_id,
        key_id=record.id,
    )


def _bad_key() -> Unauthenticated:
    return Unauthenticated("invalid_api_key", "the API key is unknown or revoked; ask an admin for a new one")


def create_user(
    ctx: ServiceContext, hasher: PasswordHasher, *, username: str, password: str, role: Role
) -> int:
    if role not in STAFF:
        raise not_for_users()
    _check_password(password)
    if not username.strip():
        raise InvalidInput("username_required", "give the user a name", field="username")
    password_hash = hasher.hash(password)

    def work(uow: UnitOfWork) -> int:
        user_id = uow.access.add_user(username.strip(), password_hash, role.value, ctx.clock.now())
        if user_id is None:
            raise Conflict("duplicate_user", f"user {username} exists already", field="username")
        return user_id

    return run_transaction(ctx, work)


# Dashboard users are our staff. A channel or a customer portal is a tenant: it gets an API key,
# which carries its channel or customer; a session carries neither and would see every tenant.
STAFF = frozenset(set(Role) - TENANT_ROLES)


def not_for_users() -> InvalidInput:
    return InvalidInput(
        "role_not_for_users",
        "dashboard users are staff (admin, operator or analyst); give a channel or a customer an API key",
        field="role",
    )


def session_principal(ctx: ServiceContext, token: str) -> tuple[Principal, str]:
    """The caller behind a session cookie, and the CSRF token their forms must send back."""
    record = read(ctx, lambda uow: uow.access.session(digest(token)))
    now = ctx.clock.now()
    if record is None or record.ended_at is not None or record.expires_at <= now:
        raise Unauthenticated("session_expired", "the session has ended; log in again")
    user = record.user
    # A session has no channel or customer to scope it to, so a tenant's would see every tenant;
    # a disabled user's sessions stop at once, whether or not `disable` could end them.
    if Role(user.role) not in STAFF or user.disabled_at is not None:
        raise Unauthenticated("session_expired", "the session has ended; log in again")
    return Principal(name=user.username, role=Role(user.role), user_id=user.id), record.csrf_token


def list_users(ctx: ServiceContext) -> list[UserRecord]:
    return read(ctx, lambda uow: uow.access.users())


def disable_user(ctx: ServiceContext, username: str) -> int:
    """Refuses the user's logins and ends their sessions; returns how many sessions ended."""
    now = ctx.clock.now()

    def work(uow: UnitOfWork) -> int:
        user = _user_named(uow, username)
        uow.access.set_user_disabled(user.id, user.disabled_at or now)
        return uow.access.end_user_sessions(user.id, now)

    return run_transaction(ctx, work)


def enable_user(ctx: ServiceContext, username: str) -> None:
    run_transaction(ctx, lambda uow: uow.access.set_user_disabled(_user_named(uow, username).id, None))


def unlock_user(ctx: ServiceContext, username: str) -> int:
    """Forgets the failed logins at this name, from every address; returns how many."""
    return run_transaction(
        ctx, lambda uow: uow.access.clear_login_failures(_user_named(uow, username).username)
    )


def reset_password(ctx: ServiceContext, hasher: PasswordHasher, *, username: str, password: str) -> int:
    """Sets a new password, ends every session and forgets failed logins; returns sessions ended."""
    _check_password(password)
    password_hash = hasher.hash(password)
    now = ctx.clock.now()

    def work(uow: UnitOfWork) -> int:
        user = _user_named(uow, username)
        uow.access.set_password(user.id, password_hash)
        uow.access.clear_login_failures(user.username)
        return uow.access.end_user_sessions(user.id, now)

    return run_transaction(ctx, work)


def revoke_sessions(ctx: ServiceContext, username: str) -> int:
    now = ctx.clock.now()
    return run_transaction(ctx, lambda uow: uow.access.end_user_sessions(_user_named(uow, username).id, now))


def _user_named(uow: UnitOfWork, username: str) -> UserRecord:
    user = uow.access.user_by_name(username.strip())
    if user is None:
        message = f"no user is named {username!r}; see `perfectorder users list`"
        raise NotFound("user_not_found", message, field="username")
    return user


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            "weak_password", f"use a password of at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )


def logout(ctx: ServiceContext, token: str) -> None:
    run_transaction(ctx, lambda uow: uow.access.end_session(digest(token), ctx.clock.now()))


def record_audit(ctx: ServiceContext, entry: AuditEntry) -> None:
    run_transaction(ctx, lambda uow: uow.access.add_audit(entry))


def audit_page(ctx: ServiceContext, *, before_id: int | None, limit: int) -> list[AuditRecord]:
    return read(ctx, lambda uow: uow.access.audit(before_id=before_id, limit=limit))
