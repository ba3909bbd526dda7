"""Messages from Jinja2 templates, in the reader's language, through Babel catalogues.

The templates live in ``topup/templates/messages`` (``<kind>.sms`` for an SMS;
``<kind>.subject``, ``<kind>.txt`` and ``<kind>.html`` for an email). Their sentences are
translated in ``topup/locale/<language>/LC_MESSAGES/messages.po``, read once per process;
``make messages`` extracts new sentences into the catalogues.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from topup.kit.i18n import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES

PACKAGE = Path(__file__).resolve().parent.parent
TEMPLATES = PACKAGE / "templates" / "messages"
LOCALES = PACKAGE / "locale"


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def supported(language: str | None) -> str:
    return language if language in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


@lru_cache(maxsize=len(SUPPORTED_LANGUAGES))
def translations(language: str) -> NullTranslations:
    """The language's catalogue, compiled in memory from its ``.po`` (no build step)."""
    path = LOCALES / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT_LANGUAGE or not path.exists():
        return NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


@lru_cache(maxsize=len(SUPPORTED_LANGUAGES))
def environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        extensions=["jinja2.ext.i18n"],
        # Only the HTML part is markup; escaping a plain-text email or an SMS would print
        # "&amp;" where a customer wrote "&".
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
    )
    env.filters["colon"] = partial(with_colon, language)
    env.policies["ext.i18n.trimmed"] = True  # the same setting extraction uses (babel.cfg)
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def with_colon(language: str, label: str) -> str:
    """``Order:``, or in French ``Commande :`` with the no-break space its typography wants."""
    return f"{label}\u00a0:" if language == "fr" else f"{label}:"


def render(language: str, name: str, **context: object) -> str:
    language = supported(language)
    template = environment(language).get_template(name)
    return template.render(language=language, **context).strip()


def render_email(language: str, kind: str, **context: object) -> RenderedEmail:
    subject = " ".join(render(language, f"{kind}.subject", **context).split())
    return RenderedEmail(
        subject=subject,
        text=render(language, f"{kind}.txt", **context) + "\n",
        html=render(language, f"{kind}.html", subject=subject, **context),
    )
