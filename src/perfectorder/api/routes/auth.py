"""Dashboard sessions: log in with a password, get an HttpOnly cookie and a CSRF token."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from perfectorder.api.deps import Services
from perfectorder.api.errors import error_responses
from perfectorder.api.schemas import In, Secret
from perfectorder.api.security import authenticate
from perfectorder.domain.access import Principal
from perfectorder.http_shared import SESSION_COOKIE, client_address
from perfectorder.services import access
from perfectorder.services import login as login_service

router = APIRouter(prefix="/auth", tags=["auth"])
PUBLIC = {"x-permission": "public"}
SESSION = {"x-permission": "session"}


class LoginRequest(In):
    username: str = Field(max_length=100)
    password: Secret = Field(max_length=200)


class WhoAmI(BaseModel):
    name: str
    role: str
    channel: str | None = None
    customer_id: int | None = None


class SessionPublic(BaseModel):
    csrf_token: str = Field(
        description="Send back in the X-CSRF-Token header on every state-changing request"
    )
    expires_at: datetime
    user: WhoAmI


@router.post(
    "/login",
    response_model=SessionPublic,
    operation_id="login",
    openapi_extra=PUBLIC,
    responses=error_responses(401, 413, 422, 429, 503),
)
def login(body: LoginRequest, request: Request, services: Services) -> JSONResponse:
    """Wrong password, unknown name or disabled user: the same 401. Too many attempts from this
    address, or failures at this name: 429 with Retry-After. Too many logins at once: 503."""
    application = request.app.state.application
    issued = login_service.login(
        services,
        application.logins,
        username=body.username,
        password=body.password,
        client=client_address(request),
        via=request.url.path,
    )
    payload = SessionPublic(
        csrf_token=issued.csrf_token, expires_at=issued.expires_at, user=_who(issued.principal)
    )
    response = JSONResponse(payload.model_dump(mode="json"))
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=int((issued.expires_at - services.clock.now()).total_seconds()),
        httponly=True,
        secure=application.settings.cookie_secure,
        samesite="strict",
        path="/",
    )
    return response


@router.post(
    "/logout",
    status_code=204,
    operation_id="logout",
    openapi_extra=SESSION,
    responses=error_responses(401, 403),
)
def logout(
    request: Request, services: Services, _caller: Annotated[Principal, Depends(authenticate)]
) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        access.logout(services, token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get(
    "/me", response_model=WhoAmI, operation_id="whoami", openapi_extra=SESSION, responses=error_responses(401)
)
def me(caller: Annotated[Principal, Depends(authenticate)]) -> WhoAmI:
    return _who(caller)


def _who(principal: Principal) -> WhoAmI:
    return WhoAmI(
        name=principal.name,
        role=principal.role.value,
        channel=principal.channel,
        customer_id=principal.customer_id,
    )
