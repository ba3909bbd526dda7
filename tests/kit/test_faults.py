"""The fault hook: an exception in-process, a real death by SIGKILL when a process is told
to die (the chaos harness's way to kill a process at a named recovery point)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from topup.kit import faults

PASS_TWICE = (
    "from topup.kit import faults\n"
    "faults.checkpoint('order.other')\n"
    "print('before', flush=True)\n"
    "faults.checkpoint('order.submitted')\n"
    "print('after', flush=True)\n"
)


def run_python(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {name: value for name, value in os.environ.items() if not name.startswith("TOPUP_")}
    return subprocess.run(
        [sys.executable, "-c", PASS_TWICE],
        env=clean | environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_an_armed_point_raises_once_in_process() -> None:
    faults.arm("order.submitted")
    try:
        with pytest.raises(faults.InjectedCrash, match=r"order\.submitted"):
            faults.checkpoint("order.submitted")
        faults.checkpoint("order.submitted")  # a restarted process runs clean
    finally:
        faults.disarm()


def test_the_setting_alone_raises_as_before() -> None:
    completed = run_python({"TOPUP_FAULT_AT": "order.submitted"})

    assert completed.returncode == 1
    assert "InjectedCrash: order.submitted" in completed.stderr
    assert completed.stdout == "before\n"


def test_with_kill_the_process_dies_by_sigkill_exactly_at_the_point() -> None:
    completed = run_python({"TOPUP_FAULT_AT": "order.submitted", "TOPUP_FAULT_KILL": "1"})

    assert completed.returncode == -signal.SIGKILL
    assert completed.stdout == "before\n"  # nothing after the point ran
    assert completed.stderr == f"{faults.KILLED_AT}order.submitted\n"


def test_kill_without_an_armed_point_changes_nothing() -> None:
    completed = run_python({"TOPUP_FAULT_KILL": "1"})

    assert (completed.returncode, completed.stdout) == (0, "before\nafter\n")
