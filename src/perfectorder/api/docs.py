"""The API's documentation pages, Swagger UI and ReDoc, served from our own origin.

Their script and style come from the fastapi-offline package (only its static files; the pages are
ours), so the pages work offline and no third-party script runs on the dashboard's origin. FastAPI's
own page builders boot Swagger UI with an inline script; ours boots from /static/docs-swagger.js, so
the pages carry a policy that allows no inline script at all."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH = "/docs/assets"

router = APIRouter(include_in_schema=False)


def assets() -> StaticFiles:
    return StaticFiles(packages=[("fastapi_offline", "static")])


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    root = escape(request.scope.get("root_path", ""))
    body = (
        f'<div id="swagger-ui" data-openapi-url="{root}/openapi.json"></div>\n'
        f'<script src="{root}{ASSETS_PATH}/swagger-ui-bundle.js"></script>\n'
        f'<script src="{root}/static/docs-swagger.js"></script>'
    )
    stylesheet = f'<link rel="stylesheet" href="{root}{ASSETS_PATH}/swagger-ui.css">'
    return HTMLResponse(_page(root, "Swagger UI", head=stylesheet, body=body))


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    root = escape(request.scope.get("root_path", ""))
    # The standalone bundle renders every <redoc> element by itself: no boot script is needed.
    body = (
        f'<redoc spec-url="{root}/openapi.json"></redoc>\n'
        f'<script src="{root}{ASSETS_PATH}/redoc.standalone.js"></script>'
    )
    return HTMLResponse(_page(root, "ReDoc", head="", body=body))


def _page(root: str, title: str, *, head: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Perfect Order API - {title}</title>
<link rel="icon" href="{root}{ASSETS_PATH}/favicon.png">
{head}
</head>
<body>
{body}
</body>
</html>
"""
