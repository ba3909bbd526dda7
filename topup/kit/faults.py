"""Fault injection at named recovery points, for the crash tests.

The lifecycle calls :func:`checkpoint` between its steps. Normally that does nothing. A test
(or, for the chaos harness, the ``TOPUP_FAULT_AT`` setting of a process) arms one point, and
the next time the code passes it the process "dies" there with :class:`InjectedCrash`.

With ``TOPUP_FAULT_KILL=1`` as well, the process really dies there: it sends itself SIGKILL,
so nothing runs after the point (no ``finally``, no rollback, no shutdown), exactly as when
the machine loses power. The chaos harness restarts a process that way to kill it at each
point; one line on stderr first says where, so the harness can tell that death from others.
"""

from __future__ import annotations

import os
import signal
import sys


class InjectedCrash(Exception):
    """The simulated death of the process at a named point."""


_armed: set[str] = set(filter(None, os.environ.get("TOPUP_FAULT_AT", "").split(",")))
_kill = os.environ.get("TOPUP_FAULT_KILL") == "1"
KILLED_AT = "topup fault: killed at "  # the harness looks for this line in the process's log


def arm(point: str) -> None:
    _armed.add(point)


def disarm() -> None:
    _armed.clear()


def checkpoint(point: str) -> None:
    """Crash here if this point is armed (once: a restarted process runs clean)."""
    if point in _armed:
        _armed.discard(point)
        if _kill:
            _die(point)
        raise InjectedCrash(point)


def _die(point: str) -> None:
    sys.stderr.write(f"{KILLED_AT}{point}\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)
