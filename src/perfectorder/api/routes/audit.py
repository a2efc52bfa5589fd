"""The audit log, for admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from perfectorder.api.deps import MAX_ID, AuditReader, Services
from perfectorder.api.errors import error_responses
from perfectorder.services import access

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditPublic(BaseModel):
    id: int
    occurred_at: datetime
    actor: str
    role: str | None
    method: str
    path: str
    status_code: int
    client: str
    outcome: str
    detail: str | None = Field(default=None, description="For a login attempt: the username tried")


@router.get("", response_model=list[AuditPublic], operation_id="list_audit", responses=error_responses(422))
def audit(
    services: Services,
    _caller: AuditReader,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AuditPublic]:
    """Every state-changing call, newest first: who, what, when, from where, and how it ended; and
    every login attempt, with the username tried (outcome `login_succeeded` or `login_failed_...`)."""
    return [
        AuditPublic(
            id=r.id,
            occurred_at=r.entry.occurred_at,
            actor=r.entry.actor,
            role=r.entry.role,
            method=r.entry.method,
            path=r.entry.path,
            status_code=r.entry.status_code,
            client=r.entry.client,
            outcome=r.entry.outcome,
            detail=r.entry.detail,
        )
        for r in access.audit_page(services, before_id=before_id, limit=limit)
    ]
