"""Structured logs: one JSON object per line, with the request id bound to every line.

Secrets never reach a log line: the processor below drops any key that names one, so a
careless ``log.info(..., password=...)`` cannot leak it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

SECRET_KEYS = frozenset(
    {
        "password",
        "code",
        "token",
        "access_token",
        "card_number",
        "number",
        "cvc",
        "pan",
        "secret",
        "authorization",
        "pin",
        "pin_code",
    }
)


def _drop_secrets(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in SECRET_KEYS & event.keys():
        event[key] = "[redacted]"
    return event


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _drop_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )
    # aiosqlite's own DEBUG lines quote every statement with its bound values (a PIN in an
    # outbox row, a token's hash), which the engine's hide_parameters exists to keep out:
    # whatever level the root logger is given, the driver says no more than INFO.
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, logging.getLogger().level))
