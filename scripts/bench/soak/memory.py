"""The resident memory of every Topup process, read from /proc: the uvicorn supervisor
that ``topup serve`` is, each API process it started, and the ``topup worker``."""

from __future__ import annotations

from pathlib import Path

PROC = Path("/proc")


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (any of its threads may have), gone ones left out."""
    found: list[int] = []
    for task in (PROC / str(pid) / "task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(set(found))


def rss_kib(pid: int) -> int | None:
    """VmRSS of ``pid`` in KiB; None once it is gone."""
    try:
        status = (PROC / str(pid) / "status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def _role(pid: int) -> str:
    try:
        command = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return "gone"
    return "resource tracker" if b"resource_tracker" in command else "api"


def topup_processes(api_pid: int, worker_pid: int) -> dict[str, int]:
    """A stable label for each Topup process: the supervisor, ``api 1`` … in the order of
    their ids, any helper process multiprocessing started, and the worker."""
    labelled = {"api supervisor": api_pid}
    served = [pid for pid in children(api_pid) if _role(pid) == "api"]
    labelled |= {f"api {number}": pid for number, pid in enumerate(served, start=1)}
    labelled |= {_role(pid): pid for pid in children(api_pid) if _role(pid) != "api"}
    return labelled | {"worker": worker_pid}


def sample(processes: dict[str, int]) -> dict[str, int | None]:
    return {label: rss_kib(pid) for label, pid in processes.items()}


def changes(before: dict[str, int], after: dict[str, int]) -> list[str]:
    """What differs between two readings of the processes: a label gone, new, or on
    another process (uvicorn replaced a dead API process)."""
    found = []
    for label in sorted(before.keys() | after.keys()):
        if before.get(label) != after.get(label):
            found.append(f"{label}: pid {before.get(label)} → {after.get(label)}")
    return found
