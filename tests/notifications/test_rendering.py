"""Templates and catalogues: every sentence is translated in every language, every message
renders in each, and the recipient's SMS picks the richest wording that fits one part."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from topup.kit.i18n import SUPPORTED_LANGUAGES
from topup.notifications.orders import recipient_sms_body
from topup.notifications.rendering import LOCALES, render, render_email
from topup.notifications.segments import count_segments

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = [language for language in SUPPORTED_LANGUAGES if language != "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def template_sentences() -> set[str]:
    """What `make messages` would extract, read with the project's own babel.cfg."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    return {
        message[2] if isinstance(message[2], str) else message[2][0]
        for message in extract_from_dir(str(ROOT), method_map, options)
    }


def test_babel_cfg_names_both_template_directories() -> None:
    config = (ROOT / "babel.cfg").read_text()
    assert "[jinja2: topup/templates/messages/**]" in config
    assert "[jinja2: topup/templates/pages/**]" in config


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_sentence_of_the_templates_is_translated(language: str) -> None:
    path = LOCALES / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        catalog = read_po(source, locale=language)
    translated = {str(message.id): message for message in catalog if message.id}

    assert set(translated) == template_sentences()  # nothing missing, nothing stale
    for sentence, message in translated.items():
        assert message.string, f"{language}: {sentence!r} is untranslated"
        assert "fuzzy" not in message.flags, f"{language}: {sentence!r} is fuzzy"
        assert sorted(PLACEHOLDER.findall(sentence)) == sorted(
            PLACEHOLDER.findall(str(message.string))
        ), f"{language}: {sentence!r} lost or renamed a placeholder"


RECEIPT: dict[str, object] = {
    "first_name": "Ada",
    "reference": "ord_1",
    "recipient": "+234 803 123 4567",
    "operator": "MTN Nigeria",
    "local_value": "₦1,000.00",
    "price": "€2.35",
    "vat": "€0.39",
    "card": "Visa •••• 4242",
    "wallet": False,
    "date": "22 November 2026",
    "message": None,
    "balance_code": "*310#",
    "failure_code": "operator_rejected",
}
EMAILS: dict[str, dict[str, object]] = {
    "order_succeeded": RECEIPT,
    "order_failed": RECEIPT,
    "order_delayed": RECEIPT,
    "order_in_review": RECEIPT | {"hours": 20},
    # Paid from the wallet: the same emails speak of the wallet instead of the card.
    "order_succeeded:wallet": RECEIPT | {"wallet": True},
    "order_failed:wallet": RECEIPT | {"wallet": True},
    "order_delayed:wallet": RECEIPT | {"wallet": True},
    "order_in_review:wallet": RECEIPT | {"hours": 20, "wallet": True},
    "refund_paid": {
        "first_name": "Ada",
        "reference": "ord_1",
        "amount": "€10.00",
        "fee": "€1.20",
        "net": "€8.80",
        "fee_charged": True,
        "to_wallet": False,
        "card": "•••• 4242",
        "reason": "",
    },
    "refund_rejected": {
        "first_name": "Ada",
        "reference": "ord_1",
        "amount": "€2.35",
        "fee": "€0.00",
        "net": "€2.35",
        "fee_charged": False,
        "to_wallet": False,
        "card": "",
        "reason": "The operator confirms the credit arrived.",
    },
    "password_reset": {"first_name": "Ada", "link": "http://x/r?t=1", "token": "t", "minutes": 60},
    "account_deleted": {"first_name": "Ada"},
    "signup_attempt": {},
}


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
@pytest.mark.parametrize("kind", sorted(EMAILS))
def test_every_email_renders_in_every_language(language: str, kind: str) -> None:
    email = render_email(language, kind.split(":")[0], **EMAILS[kind])

    assert email.subject
    assert "\n" not in email.subject
    assert email.text.endswith("\n")
    assert email.html.startswith("<!doctype html>")
    assert f'<html lang="{language}">' in email.html
    assert "{{" not in email.text + email.html  # no placeholder left unfilled
    if EMAILS[kind].get("wallet"):
        assert "4242" not in email.text + email.html  # no card is named


def test_an_unsupported_language_falls_back_to_english() -> None:
    assert render_email("de", "account_deleted", first_name="Ada").subject == (
        "Your Topup account is deleted"
    )


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_the_code_sms_fits_one_part_in_every_language(language: str) -> None:
    text = render(language, "phone_verification.sms", code="123456", minutes=10)

    assert "123456" in text
    assert count_segments(text).segments == 1


def sms(**overrides: object) -> str:
    arguments: dict[str, object] = {
        "region": "NG",
        "sender": "Ada",
        "amount": 100000,
        "currency": "NGN",
        "operator": "MTN Nigeria",
        "message": None,
        "balance_code": "*310#",
    } | overrides
    return recipient_sms_body("en", **arguments)  # type: ignore[arg-type]


def test_the_recipient_sms_says_everything_when_it_fits() -> None:
    assert sms(message="Happy birthday!") == (
        'Ada sent you NGN 1,000.00 of MTN Nigeria credit with Topup. "Happy birthday!" '
        "Balance: *310#"
    )


def test_a_plan_is_named_as_a_monthly_plan_not_as_credit() -> None:
    assert sms(plan=True) == (
        "Ada sent you a MTN Nigeria monthly plan worth NGN 1,000.00 with Topup. Balance: *310#"
    )
    long_operator = "An Operator With A Name Long Enough To Crowd The Message Out Of One SMS"
    assert sms(plan=True, operator=long_operator, message="Bon anniversaire Mamie !") == (
        'Ada sent you a monthly plan worth NGN 1,000.00 with Topup. "Bon anniversaire Mamie !"'
        " Balance: *310#"
    )


def test_a_sign_in_the_gsm_alphabet_is_kept() -> None:
    assert sms(region="IE", currency="EUR", amount=500).startswith("Ada sent you €5.00 of")


def test_without_a_balance_code_there_is_no_balance_line() -> None:
    assert sms(balance_code=None) == "Ada sent you NGN 1,000.00 of MTN Nigeria credit with Topup."


def test_the_operator_goes_first_then_the_balance_code_when_space_runs_out() -> None:
    long_operator = "An Operator With A Name Long Enough To Crowd The Message Out Of One SMS"
    without_operator = sms(operator=long_operator, message="Bon anniversaire Mamie !")

    assert without_operator == (
        'Ada sent you NGN 1,000.00 with Topup. "Bon anniversaire Mamie !" Balance: *310#'
    )

    unicode_text = sms(message="Joyeux anniversaire 🎂🎉🎈")  # UCS-2: 70 units a part
    assert "Balance" not in unicode_text
    assert count_segments(unicode_text).segments == 1


def test_a_sender_whose_name_is_gone_is_a_friend() -> None:
    assert sms(sender=None).startswith("A friend sent you")
