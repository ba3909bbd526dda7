"""The sandbox inbox: the SMS and emails Topup "sent", readable in the browser.

In the sandbox nothing leaves the machine, so a newcomer needs somewhere to read the code
that confirms their phone. Outside the sandbox this page does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from topup.kit.errors import NotFound
from topup.notifications.repository import MessageRepository
from topup.storefront.web import VisitorDep, page

router = APIRouter(include_in_schema=False)
SHOWN = 20


@router.get("/sandbox/inbox")
async def inbox(person: VisitorDep, to: Annotated[str, Query(max_length=254)] = "") -> Response:
    if not person.runtime.settings.is_sandbox:
        raise NotFound("No such page.", code="not_found")
    recipient = to.strip()
    if recipient.isdigit():  # "+" arrives as a space when a link forgets to escape it
        recipient = "+" + recipient
    messages = []
    if recipient and recipient.isprintable():
        async with person.runtime.session_factory() as session:
            messages = list(
                await MessageRepository(session).newest(recipient=recipient, limit=SHOWN)
            )
    return page(person, "inbox.html", to=recipient, messages=messages)
