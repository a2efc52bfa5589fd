"""Idempotency-Key handling with the semantics of the well-known payment APIs.

The key, the request's fingerprint and the response are stored in the same transaction as the
work itself, so a retry after a crash sees either nothing (and does the work) or the stored answer.
Failed requests store nothing: the caller may fix the problem and retry with the same key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from perfectorder.domain.errors import InvalidInput
from perfectorder.services.context import ServiceContext, run_transaction
from perfectorder.services.ports import StoredResponse, TransientConflict, UnitOfWork

MAX_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True)
class IdempotentResult:
    status_code: int
    body: dict[str, Any]
    replayed: bool


def fingerprint(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_idempotent(
    ctx: ServiceContext,
    *,
    scope: str,
    key: str | None,
    request_fingerprint: str,
    operation: Callable[[], tuple[int, dict[str, Any]]],
) -> IdempotentResult:
    """`operation` calls use cases as usual; they join this transaction, so the work and the stored
    answer commit together or not at all."""
    if key is None:
        status, body = operation()
        return IdempotentResult(status, body, replayed=False)
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            "invalid_idempotency_key", f"use 1 to {MAX_KEY_LENGTH} characters", field="Idempotency-Key"
        )

    def work(uow: UnitOfWork) -> IdempotentResult:
        # Claiming the key first makes a concurrent request with the same key wait here until we
        # commit, then find our answer, instead of racing us through the whole operation.
        if not uow.idempotency.claim(scope, key, request_fingerprint, ctx.clock.now()):
            stored = uow.idempotency.get(scope, key)
            if stored is None:
                raise TransientConflict("idempotency key released concurrently")
            return _replay(stored, request_fingerprint)
        status, body = operation()
        uow.idempotency.finish(scope, key, status, body)
        return IdempotentResult(status, body, replayed=False)

    return run_transaction(ctx, work)


def _replay(stored: StoredResponse, request_fingerprint: str) -> IdempotentResult:
    if stored.fingerprint != request_fingerprint:
        raise InvalidInput(
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request; use a new key for a new request",
            field="Idempotency-Key",
        )
    return IdempotentResult(stored.status_code, stored.body, replayed=True)
