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


def offset_seconds() -> float:
    return _offset.total_seconds()


def set_offset(seconds: float) -> None:
    """Take the sandbox clock's offset that another process stored (never backwards)."""
    global _offset
    if seconds > _offset.total_seconds():
        _offset = timedelta(seconds=seconds)
