"""The service's idea of "now", always timezone-aware UTC.

Everything that reads the time goes through :func:`now` so tests, and the sandbox clock
endpoint, can move time forward without touching the system clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(UTC) + _offset


def advance(seconds: float) -> datetime:
    """Move this process's clock forward; returns the new now."""
    global _offset
    if seconds < 0:
        raise ValueError("the clock only moves forward")
    _offset += timedelta(seconds=seconds)
    return now()


def reset() -> None:
    global _offset
    _offset = timedelta(0)
