"""Builds the FastAPI application around an already-wired `Application`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

import perfectorder
from perfectorder.api.errors import ErrorResponse, install_error_handlers
from perfectorder.api.middleware import ApiMetrics, BodySizeLimit, RequestMetrics
from perfectorder.api.routes import catalog, customers, health, orders, stock
from perfectorder.bootstrap import Application, build
from perfectorder.config import Settings


def create_app(settings: Settings | None = None, *, application: Application | None = None) -> FastAPI:
    application = application or build(settings or Settings.from_env())
    app = FastAPI(
        title="Perfect Order",
        version=perfectorder.__version__,
        description="Order management that measures how often each order is perfect.",
    )
    app.state.application = application
    app.state.services = application.services
    app.state.engine = application.engine
    app.state.metrics = ApiMetrics()
    install_error_handlers(app)
    for module in (orders, catalog, stock, customers, health):
        app.include_router(module.router)
    app.add_middleware(BodySizeLimit, max_bytes=application.settings.max_body_bytes)
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)
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
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses or operation.get("parameters") or operation.get("requestBody"):
                responses["422"] = {"description": "Invalid input", **error_ref}
            responses.setdefault("500", {"description": "Internal error", **error_ref})
    app.openapi_schema = schema
    return schema
