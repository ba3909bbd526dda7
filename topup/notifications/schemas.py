"""Answers of the sandbox message reader."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from topup.notifications.models import Channel, MessageStatus


class SandboxMessageOut(BaseModel):
    id: str
    channel: Channel
    to: str
    subject: str | None
    body: str
    html_body: str | None = None
    kind: str
    language: str
    status: MessageStatus
    segments: int | None = None
    created_at: datetime
    sent_at: datetime | None = None


class SandboxMessageList(BaseModel):
    data: list[SandboxMessageOut]
    next_cursor: str | None = None
