"""The personal message: 30 characters, no control characters or line breaks, no link."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.kit.errors import InvalidInput
from topup.orders.personal_message import MESSAGE_MAX_LENGTH, checked_message, has_link


@pytest.mark.parametrize(
    "text",
    [
        "Happy birthday Mum!",
        "Mr.Smith says hi",
        "3.50 for the bus",
        "St.Louis, here we come",
        "Joyeux anniversaire 🎂",
        "Bonne fête à toi, Zoë",
        "ok.ok",
        "v1.2 of me",
        "Jo.Ann",
    ],
)
def test_ordinary_messages_pass_as_written(text: str) -> None:
    assert checked_message(text) == text
    assert not has_link(text)


@pytest.mark.parametrize(
    "text",
    [
        "https://a.b",
        "see HTTP://x",
        "ftp://files",
        "www.anything",
        "ＷＷＷ.abc",
        "bit.ly/x2",
        "see t.co/abc",
        "go to topup.com",
        "evil.page",
        "see foo.dev",
        "go to 1.2.3.4/x",
        "example．com",
        "example。com",
        "пример.рф",
        "Merci.Je t aime",
    ],
)
def test_a_link_in_any_disguise_is_refused(text: str) -> None:
    assert has_link(text)
    with pytest.raises(InvalidInput) as refused:
        checked_message(text)
    assert (refused.value.code, refused.value.field) == ("invalid_message", "message")
    assert "link" in refused.value.message


@pytest.mark.parametrize("text", ["hi\u0007", "line\nbreak", "tab\there", "a\u2028b", "z\u200bw"])
def test_control_characters_and_line_breaks_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="control characters"):
        checked_message(text)


def test_thirty_characters_pass_and_thirty_one_do_not() -> None:
    assert checked_message("x" * MESSAGE_MAX_LENGTH) == "x" * MESSAGE_MAX_LENGTH
    with pytest.raises(InvalidInput, match="30 characters"):
        checked_message("x" * (MESSAGE_MAX_LENGTH + 1))


def test_length_counts_characters_as_composed() -> None:
    decomposed = "e\u0301" * 30  # 60 code points, 30 characters once composed (NFC)

    assert checked_message(decomposed) == "é" * 30


@pytest.mark.parametrize("text", [None, "", "   "])
def test_no_message_is_none(text: str | None) -> None:
    assert checked_message(text) is None


@given(st.text(max_size=60))
def test_any_text_is_either_refused_clearly_or_kept_within_the_rules(text: str) -> None:
    verdict, kept = judged(text)

    assert verdict in {"kept", "invalid_message:message"}
    if kept is not None:
        assert len(kept) <= MESSAGE_MAX_LENGTH
        assert not has_link(kept)


def judged(text: str) -> tuple[str, str | None]:
    try:
        return "kept", checked_message(text)
    except InvalidInput as refused:
        return f"{refused.code}:{refused.field}", None
