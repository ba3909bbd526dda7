"""Fault injection at named recovery points, for the crash tests.

The lifecycle calls :func:`checkpoint` between its steps. Normally that does nothing. A test
(or, for the chaos harness, the ``TOPUP_FAULT_AT`` setting of a process) arms one point, and
the next time the code passes it the process "dies" there with :class:`InjectedCrash`.
"""

from __future__ import annotations

import os


class InjectedCrash(Exception):
    """The simulated death of the process at a named point."""


_armed: set[str] = set(filter(None, os.environ.get("TOPUP_FAULT_AT", "").split(",")))


def arm(point: str) -> None:
    _armed.add(point)


def disarm() -> None:
    _armed.clear()


def checkpoint(point: str) -> None:
    """Crash here if this point is armed (once: a restarted process runs clean)."""
    if point in _armed:
        _armed.discard(point)
        raise InjectedCrash(point)
