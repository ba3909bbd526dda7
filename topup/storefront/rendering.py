"""Pages from Jinja2 templates in ``topup/templates/pages``, in the visitor's language.

The sentences are translated through the same Babel catalogues as the emails and SMS
(``make messages`` extracts both). Money, dates and phone numbers go through the same
CLDR formatting as the messages, so a price reads the same on the page and in the receipt.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import lru_cache, partial
from pathlib import Path

from babel import Locale
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from topup.kit.i18n import format_moment, format_money, format_phone, locale_for
from topup.notifications.rendering import supported, translations, with_colon

PACKAGE = Path(__file__).resolve().parent.parent
TEMPLATES = PACKAGE / "templates" / "pages"
STATIC = PACKAGE / "static"


@lru_cache(maxsize=64)
def static_url(name: str) -> str:
    """``/static/<name>?v=<hash of its content>``: cached for a year, renamed by each change."""
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
    return f"/static/{name}?v={digest}"


@lru_cache(maxsize=4)
def environment(language: str) -> Environment:
    locale = Locale.parse(language)
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        extensions=["jinja2.ext.i18n"],
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["ext.i18n.trimmed"] = True  # as extraction reads them (babel.cfg)
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["colon"] = partial(with_colon, language)
    # A price in euros as the reader writes it; a local value as the reader's language
    # writes it in that country ("₦2,500.00" in en_NG, where plain "en" says "NGN").
    env.filters["money"] = lambda amount, currency: format_money(amount, currency, locale)
    env.filters["phone"] = format_phone
    env.filters["moment"] = lambda moment: _moment(moment, locale)
    env.filters["local_money"] = lambda amount, currency, region: format_money(
        amount, currency, locale_for(language, region)
    )
    env.filters["country_name"] = lambda iso2: locale.territories.get(iso2, iso2)
    env.filters["language_name"] = lambda code: Locale.parse(code).get_display_name(code)
    env.globals["static"] = static_url
    return env


def _moment(moment: datetime, locale: Locale) -> str:
    return format_moment(moment, locale)


def render_page(language: str, name: str, **context: object) -> str:
    language = supported(language)
    return environment(language).get_template(name).render(language=language, **context)
