"""Builds the FastAPI application around an already-wired `Application`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

import perfectorder
from perfectorder.api import docs
from perfectorder.api.errors import ErrorResponse, install_error_handlers
from perfectorder.api.middleware import (
    ApiMetrics,
    AuditTrail,
    BodySizeLimit,
    RequestDeadline,
    RequestMetrics,
    SecurityHeaders,
)
from perfectorder.api.routes import (
    audit,
    auth,
    catalog,
    customers,
    fulfilment,
    health,
    messages,
    metrics,
    orders,
    payments,
    purchasing,
    risk,
    stock,
    supply,
)
from perfectorder.api.security import KeyCache, Require
from perfectorder.bootstrap import Application, build
from perfectorder.config import Settings
from perfectorder.web import common as web_common
from perfectorder.web import operations as web_operations
from perfectorder.web import orders as web_orders
from perfectorder.web import purchasing as web_purchasing
from perfectorder.web import routes as web_routes
from perfectorder.web import status as web_status

log = logging.getLogger("perfectorder.audit")


def create_app(settings: Settings | None = None, *, application: Application | None = None) -> FastAPI:
    application = application or build(settings or Settings.from_env())
    services = application.services
    audit_sink = application.audit

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(audit_sink.flush)  # no audit row is left behind in memory
            if audit_sink.pending:
                log.error("database unreachable at shutdown: %d audit entries unwritten", audit_sink.pending)

    app = FastAPI(
        title="Perfect Order",
        version=perfectorder.__version__,
        description="Order management that measures how often each order is perfect.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.application = application
    app.state.services = application.services
    app.state.engine = application.engine
    app.state.metrics = ApiMetrics()
    app.state.key_cache = KeyCache()
    install_error_handlers(app, application.database_failures)
    for module in (
        orders,
        fulfilment,
        payments,
        messages,
        metrics,
        risk,
        supply,
        purchasing,
        catalog,
        stock,
        customers,
        audit,
        auth,
        health,
    ):
        app.include_router(module.router)
    for page_module in (web_routes, web_orders, web_operations, web_purchasing):
        app.include_router(page_module.router, dependencies=[Depends(web_common.plain_form)])
    app.include_router(web_status.router)
    app.add_exception_handler(web_common.RefusedForm, web_common.refused_form)
    app.include_router(docs.router)
    app.mount(docs.ASSETS_PATH, docs.assets(), name="docs-assets")
    app.mount("/static", StaticFiles(directory=Path(web_routes.__file__).parent / "static"), name="static")
    # Inside the audit trail, so a call that timed out is recorded with the 503 it was answered.
    app.add_middleware(RequestDeadline, seconds=application.settings.request_timeout)
    app.add_middleware(
        AuditTrail, record=audit_sink.record, clock=services.clock, blocking=audit_sink.blocking
    )
    app.add_middleware(BodySizeLimit, max_bytes=application.settings.max_body_bytes)
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)
    app.add_middleware(SecurityHeaders)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI documents its own 422 with a body we never send; point every error at ours."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    components.setdefault(
        "ErrorResponse", ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    )
    for defs_name, defs in list(components["ErrorResponse"].pop("$defs", {}).items()):
        components.setdefault(defs_name, defs)
    error_ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
    schema["components"]["securitySchemes"] = {
        "ApiKey": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer po_..."},
        "Session": {"type": "apiKey", "in": "cookie", "name": "po_session"},
    }
    permissions = _permissions(app)
    for path, path_item in schema.get("paths", {}).items():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            permission = permissions.get((method.upper(), path))
            if permission is not None:
                operation["x-permission"] = permission
                operation["security"] = [{"ApiKey": []}, {"Session": []}]
                responses["401"] = {"description": "No or invalid credentials", **error_ref}
                responses["403"] = {"description": "Not allowed for this role", **error_ref}
                responses["429"] = {"description": "Too many requests for this key", **error_ref}
            if "422" in responses or operation.get("parameters") or operation.get("requestBody"):
                responses["422"] = {"description": "Invalid input", **error_ref}
            if method == "post":
                responses.setdefault("413", {"description": "Body too large", **error_ref})
            for code, response in responses.items():
                # Errors are JSON even where the success is HTML (the packing slip).
                if code[0] in "45" and code != "503" or path.startswith("/api/") and code == "503":
                    response["content"] = error_ref["content"]
            responses.setdefault("500", {"description": "Internal error", **error_ref})
    app.openapi_schema = schema
    return schema


def _permissions(app: FastAPI) -> dict[tuple[str, str], str]:
    """The permission each route requires, read from its `Require` dependency."""
    found: dict[tuple[str, str], str] = {}
    routes: list[Any] = list(app.routes)
    while routes:
        route = routes.pop()
        included = getattr(route, "original_router", None)  # FastAPI wraps included routers
        if included is not None:
            routes.extend(included.routes)
            continue
        dependant = getattr(route, "dependant", None)
        stack = list(dependant.dependencies) if dependant is not None else []
        while stack:
            dependency = stack.pop()
            if isinstance(dependency.call, Require):
                for method in getattr(route, "methods", ()):
                    found[(method, route.path)] = dependency.call.permission.value
            stack.extend(dependency.dependencies)
    return found
