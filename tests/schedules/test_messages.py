"""The schedule_paused email renders in every language, with the reason in words."""

from __future__ import annotations

import pytest

from topup.kit.i18n import SUPPORTED_LANGUAGES
from topup.notifications.rendering import render_email
from topup.schedules.models import PauseReason

PAUSED: dict[str, object] = {
    "first_name": "Ada",
    "reference": "sch_1",
    "recipient": "+234 803 123 0008",
    "operator": "MTN Nigeria",
    "new_operator": "Airtel Nigeria",
    "local_value": "₦2,500.00",
    "card": "Visa •••• 4242",
    "attempts": 3,
}
SERVICE_REASONS = [reason for reason in PauseReason if reason is not PauseReason.customer]


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
@pytest.mark.parametrize("reason", SERVICE_REASONS)
def test_the_paused_email_renders_in_every_language(language: str, reason: PauseReason) -> None:
    email = render_email(language, "schedule_paused", **PAUSED, reason=reason.value)

    assert "+234 803 123 0008" in email.subject
    assert "\n" not in email.subject
    assert "{{" not in email.text + email.html
    assert "sch_1" in email.text
    assert f'<html lang="{language}">' in email.html


def test_each_reason_has_its_own_words() -> None:
    bodies = {
        reason: render_email("en", "schedule_paused", **PAUSED, reason=reason.value).text
        for reason in SERVICE_REASONS
    }
    assert "Airtel Nigeria" in bodies[PauseReason.operator_changed]
    assert "declined" in bodies[PauseReason.payment_failed]
    assert "We tried 3 times." in bodies[PauseReason.topup_failed]
    assert len(set(bodies.values())) == len(SERVICE_REASONS)
