"""One error body for every 4xx and 5xx: {"error": {"code", "message", "field", "details"}}."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from perfectorder.api.rules import STATED_CODES
from perfectorder.domain.errors import DomainError, Unavailable
from perfectorder.http_shared import STATUS_BY_KIND
from perfectorder.services.entry_ports import DatabaseFailures

log = logging.getLogger("perfectorder.api")

CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}
# Pydantic's error types, grouped into the few codes a client can act on.
CODE_BY_PYDANTIC_TYPE = {
    "missing": "missing_field",
    "json_invalid": "malformed_json",
    "json_type": "malformed_json",
    "enum": "invalid_choice",
    "literal_error": "invalid_choice",
    "extra_forbidden": "unknown_field",
    "string_too_long": "too_long",
    "string_too_short": "too_short",
    "too_long": "too_many_items",
    "greater_than": "out_of_range",
    "greater_than_equal": "out_of_range",
    "less_than": "out_of_range",
    "less_than_equal": "out_of_range",
    "decimal_max_places": "too_many_decimals",
    "decimal_max_digits": "out_of_range",
    "decimal_whole_digits": "out_of_range",
    "invalid_characters": "invalid_characters",
}


def code_for(error_type: str) -> str:
    """Our code for one of pydantic's error types; a rule stated in the schema keeps its own code."""
    if error_type in STATED_CODES:
        return error_type
    return CODE_BY_PYDANTIC_TYPE.get(error_type, "invalid_request")


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable; safe to branch on.")
    message: str = Field(description="What went wrong and what to do about it.")
    field: str | None = Field(default=None, description="The request field at fault, e.g. lines[0].sku.")
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    error: ErrorDetail


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "field": field, "details": details or {}}}
    return JSONResponse(body, status_code=status, headers=headers)


def field_path(loc: Sequence[Any]) -> str | None:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None


def install_error_handlers(app: FastAPI, database: DatabaseFailures) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        status = STATUS_BY_KIND.get(exc.kind, 422)
        headers: dict[str, str] | None = None
        if status in (429, 503):
            headers = {"Retry-After": str(exc.details.get("retry_after_seconds", 1))}
        elif status == 401:
            headers = {"WWW-Authenticate": 'Bearer realm="perfectorder"'}
        return error_response(
            status, exc.code, exc.message, field=exc.field, details=exc.details, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        first = errors[0] if errors else {"type": "invalid", "loc": (), "msg": "invalid request"}
        error_type = str(first["type"])
        code = code_for(error_type)
        if error_type.endswith(("_type", "_parsing")):
            code = "invalid_type"
        if tuple(first["loc"]) == ("body",) and code in ("invalid_type", "invalid_request"):
            return error_response(
                422, "malformed_json", "send one JSON object with Content-Type: application/json"
            )
        listed = [
            {
                "code": code_for(e["type"]),
                "message": e["msg"],
                "field": field_path(e["loc"]),
            }
            for e in errors[:20]
        ]
        return error_response(
            422,
            code,
            f"{first['msg']}; fix the field and send again",
            field=field_path(first["loc"]),
            details={"errors": listed},
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and str(exc.detail).startswith("There was an error parsing the body"):
            # The JSON parser gave up (nesting too deep, bytes that are not UTF-8): same as bad JSON.
            return error_response(
                422, "malformed_json", "send one JSON object in UTF-8 with moderate nesting"
            )
        code = CODE_BY_STATUS.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    async def database_unavailable(_: Request, exc: Exception) -> JSONResponse:
        if not database.is_unreachable(exc):
            log.exception("unhandled database error", exc_info=exc)
            return error_response(
                500, "internal_error", "something went wrong on our side; it has been logged"
            )
        log.warning("database unavailable: %s", exc)
        error = Unavailable()
        return error_response(503, error.code, error.message, headers={"Retry-After": "5"})

    for error_type in database.types:
        app.add_exception_handler(error_type, database_unavailable)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Never leak a trace or SQL to the caller; the log has it.
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "something went wrong on our side; it has been logged")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer with."""
    descriptions = {
        400: "Bad request",
        404: "Not found",
        409: "Conflict with the current state",
        413: "Body too large",
        422: "Invalid input",
        500: "Internal error",
        503: "Busy, retry",
    }
    return {s: {"model": ErrorResponse, "description": descriptions.get(s, "Error")} for s in statuses}
