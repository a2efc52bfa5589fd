"""Domain errors: each carries a stable code that the API and the CLI show unchanged."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every refusal the domain or a service makes on purpose."""

    kind = "invalid"

    def __init__(
        self, code: str, message: str, *, field: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.details = details or {}


class InvalidInput(DomainError):
    """The request is well formed but breaks a business rule (HTTP 422)."""

    kind = "invalid"


class NotFound(DomainError):
    kind = "not_found"


class Conflict(DomainError):
    """The request is valid but the current state refuses it (HTTP 409)."""

    kind = "conflict"


class Unavailable(DomainError):
    """The database cannot be reached just now (HTTP 503 with Retry-After). Nothing was written,
    or, if the connection broke during the commit, the caller cannot know: retry with the same
    Idempotency-Key and the answer says which."""

    kind = "unavailable"

    def __init__(self) -> None:
        super().__init__(
            "database_unavailable",
            "the database cannot be reached just now; retry in a few seconds (with the same Idempotency-Key)",
            details={"retry_after_seconds": 5},
        )


class DeadlineExceeded(DomainError):
    """The request ran out of its time (HTTP 503 with Retry-After), usually because the database
    stopped answering. Work that had not started committing was rolled back."""

    kind = "unavailable"

    def __init__(self, seconds: float) -> None:
        super().__init__(
            "deadline_exceeded",
            f"the request did not finish within {seconds:g} s and was abandoned; retry in a few seconds "
            "with the same Idempotency-Key (the answer then says whether it was applied)",
            details={"retry_after_seconds": 5, "timeout_seconds": seconds},
        )


class InsufficientStock(Conflict):
    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        details: dict[str, Any] | None = None,
        lost: tuple[Any, ...] = (),
    ):
        super().__init__("insufficient_stock", message, field=field, details=details)
        # Every line that lacked stock (sourcing.LostLine), recorded as lost demand; kept out of
        # `details`, which the caller sees, because it names our warehouses and product ids.
        self.lost = lost


class InvalidTransition(Conflict):
    def __init__(self, current: str, action: str) -> None:
        super().__init__(
            "invalid_transition",
            f"an order in status '{current}' does not allow '{action}'",
            details={"status": current, "action": action},
        )


class Unauthenticated(DomainError):
    """No valid credentials (HTTP 401)."""

    kind = "unauthenticated"


class Forbidden(DomainError):
    """Valid credentials, but not allowed to do this (HTTP 403)."""

    kind = "forbidden"


class TooManyAttempts(DomainError):
    """Too many tries from one place or at one name: wait `retry_after_seconds` (HTTP 429)."""

    kind = "rate_limited"

    def __init__(self, code: str, message: str, *, retry_after: float) -> None:
        super().__init__(code, message, details={"retry_after_seconds": max(1, round(retry_after + 0.5))})


class Busy(DomainError):
    """This kind of work is at capacity just now; nothing was done: retry shortly (HTTP 503)."""

    kind = "unavailable"

    def __init__(self, code: str, message: str, *, retry_after: float) -> None:
        super().__init__(code, message, details={"retry_after_seconds": max(1, round(retry_after + 0.5))})
