"""``GET /v1/sandbox/messages``: read what the service sent, outside production only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from topup.kit import clock, sandbox_clock
from topup.kit.errors import NotFound
from topup.kit.http import RuntimeDep, SessionDep
from topup.kit.schemas import error_responses
from topup.notifications.repository import MessageRepository
from topup.notifications.schemas import SandboxMessageList, SandboxMessageOut

router = APIRouter(prefix="/v1/sandbox", tags=["sandbox"])


@router.get("/messages", response_model=SandboxMessageList, responses=error_responses(404, 422))
async def sandbox_messages(
    runtime: RuntimeDep,
    session: SessionDep,
    to: Annotated[
        str | None,
        Query(
            max_length=254,
            pattern=r"^[^\x00-\x1f\x7f]*$",
            description="A phone in E.164 (write + as %2B) or an email",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> SandboxMessageList:
    if not runtime.settings.is_sandbox:
        raise NotFound("No such resource.")
    recipient = to.strip() if to is not None else None
    if recipient is not None and recipient.isdigit():
        # An unescaped "+" in a query string arrives as a space; digits alone can only
        # mean an E.164 number, since every stored phone starts with "+".
        recipient = "+" + recipient
    rows = await MessageRepository(session).newest(recipient=recipient, limit=limit)
    return SandboxMessageList(
        data=[
            SandboxMessageOut(
                id=row.id,
                channel=row.channel,
                to=row.recipient or "",
                subject=row.subject,
                body=row.body or "",
                html_body=row.html_body,
                kind=row.kind,
                language=row.language,
                status=row.status,
                segments=row.segments,
                created_at=row.created_at,
                sent_at=row.sent_at,
            )
            for row in rows
        ]
    )


class ClockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    advance_seconds: Annotated[float, Field(gt=0, le=366 * 24 * 3600)]


class ClockOut(BaseModel):
    now: datetime
    offset_seconds: float


@router.post("/clock", response_model=ClockOut, responses=error_responses(404, 422))
async def move_clock(body: ClockIn, runtime: RuntimeDep, session: SessionDep) -> ClockOut:
    """Move the service's clock forward (sandbox only), to watch a 24 h expiry happen."""
    if not runtime.settings.is_sandbox:
        raise NotFound("No such resource.")
    offset = await sandbox_clock.advance(session, body.advance_seconds)
    return ClockOut(now=clock.now(), offset_seconds=offset)
