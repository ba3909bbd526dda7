"""The personal message a buyer sends with a top-up: at most 30 characters, shown in the
recipient's SMS under Topup's name, so it may carry no control character and no link.

A link is a scheme (``https://``), ``www.``, an IPv4 address, or words joined by dots
that end in a real top-level domain: ``bit.ly``, ``example.com``, ``foo.dev``, checked
against the Public Suffix List's ICANN section (``publicsuffixlist``), after folding
look-alike characters (fullwidth letters, ideographic full stops) with NFKC. So
``Mr.Smith`` and ``3.50`` pass, while ``Merci.Je`` does not: ``.je`` is Jersey's domain,
and the answer says to put a space after the full stop.
"""

from __future__ import annotations

import re
import unicodedata

from publicsuffixlist import PublicSuffixList

from topup.kit.errors import InvalidInput

MESSAGE_MAX_LENGTH = 30
_TOP_LEVEL_DOMAINS = PublicSuffixList(accept_unknown=False, only_icann=True)
_SCHEME = re.compile(r"\b[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_WWW = re.compile(r"\bwww\.", re.IGNORECASE)
_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_DOTTED = re.compile(r"[^\W_][\w-]*(?:\.[^\W_][\w-]*)+")
_DOTS = str.maketrans({"。": ".", "｡": ".", "．": "."})
# Control and format characters, and the line and paragraph separators an SMS would
# break on (Unicode categories Cc, Cf, Cn, Co, Cs, Zl, Zp).
_FORBIDDEN_CATEGORIES = ("C", "Zl", "Zp")


def checked_message(message: str | None) -> str | None:
    """The message as it will be sent (NFC), or None when there is none."""
    if message is None or not message.strip():
        return None
    text = unicodedata.normalize("NFC", message.strip())
    if len(text) > MESSAGE_MAX_LENGTH:
        raise _invalid(f"Keep the message within {MESSAGE_MAX_LENGTH} characters.")
    if any(unicodedata.category(character).startswith(_FORBIDDEN_CATEGORIES) for character in text):
        raise _invalid("The message cannot hold control characters or line breaks.")
    if has_link(text):
        raise _invalid(
            "The message cannot hold a link or web address "
            "(if it is a sentence, put a space after the full stop)."
        )
    return text


def has_link(text: str) -> bool:
    folded = unicodedata.normalize("NFKC", text).translate(_DOTS)
    if _SCHEME.search(folded) or _WWW.search(folded) or _IPV4.search(folded):
        return True
    return any(_ends_in_a_domain(token) for token in _DOTTED.findall(folded))


def _ends_in_a_domain(token: str) -> bool:
    label = token.rsplit(".", 1)[1].lower()
    if label.isdigit():
        return False
    if _TOP_LEVEL_DOMAINS.is_public(label):
        return True
    try:
        return _TOP_LEVEL_DOMAINS.is_public(label.encode("idna").decode("ascii"))
    except UnicodeError:  # not a label IDNA can spell: no domain ends in it
        return False


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_message", field="message")
