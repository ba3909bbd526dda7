"""The service's idea of "now", always timezone-aware UTC.

Everything that reads the time goes through :func:`now` so tests, and the sandbox clock
endpoint, can move time forward without touching the system clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)
# Set by :func:`stop`: the wall-clock moment "now" stays at, plus the offset.
_stopped_at: datetime | None = None


def now() -> datetime:
    wall = datetime.now(UTC) if _stopped_at is None else _stopped_at
    return wall + _offset


def stop() -> datetime:
    """Stop the clock where it is: from then on it moves only by :func:`advance`, until
    :func:`reset`. For tests that need a moment to last while work runs (the second
    before midnight, say, whatever the worker's round finds to do); returns now."""
    global _stopped_at
    if _stopped_at is None:
        _stopped_at = datetime.now(UTC)
    return now()


def advance(seconds: float) -> datetime:
    """Move this process's clock forward; returns the new now."""
    global _offset
    if seconds < 0:
        raise ValueError("the clock only moves forward")
    _offset += timedelta(seconds=seconds)
    return now()


def reset() -> None:
    global _offset, _stopped_at
    _offset = timedelta(0)
    _stopped_at = None


def offset_seconds() -> float:
    return _offset.total_seconds()


def set_offset(seconds: float) -> None:
    """Take the sandbox clock's offset that another process stored (never backwards)."""
    global _offset
    if seconds > _offset.total_seconds():
        _offset = timedelta(seconds=seconds)
