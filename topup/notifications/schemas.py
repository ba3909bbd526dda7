"""Answers of the sandbox message reader."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from topup.notifications.models import Channel


class SandboxMessageOut(BaseModel):
    channel: Channel
    to: str
    subject: str | None
    body: str
    created_at: datetime


class SandboxMessageList(BaseModel):
    data: list[SandboxMessageOut]
    next_cursor: str | None = None
