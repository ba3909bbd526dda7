"""Work a request starts and does not wait for: the fast path of an order or a refund.

A Starlette background task runs after the response but inside the request's cycle, so on
a kept-alive connection the client's next request waited for it: a top-up whose supplier
takes 2 s held the buyer's connection for 2 s. Detached work runs as its own task instead.
Nothing depends on it finishing: the rows are their own queue (DESIGN §2), so what a
restart cuts short, the worker finishes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog

log = structlog.get_logger("topup.detached")
STOP_WAITING_SECONDS = 10.0


class Detached:
    def __init__(self) -> None:
        self._running: set[asyncio.Task[Any]] = set()
        # Tests read what failed, as an in-process client would have seen it raised; a
        # server only logs it (keeping every failure would grow without end).
        self.keep_failures = False
        self.failures: list[BaseException] = []

    def start(self, work: Coroutine[Any, Any, object], *, name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._running.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        failure = task.exception()
        log.error("detached_work_failed", work=task.get_name(), exc_info=failure)
        if self.keep_failures and failure is not None:
            self.failures.append(failure)

    async def settle(self) -> None:
        """Wait until no detached work is left (work may start more work)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    async def stop(self) -> None:
        """At shutdown: let running work finish for a few seconds, then cancel the rest."""
        try:
            async with asyncio.timeout(STOP_WAITING_SECONDS):
                await self.settle()
        except TimeoutError:
            for task in list(self._running):
                task.cancel()
            await asyncio.gather(*list(self._running), return_exceptions=True)
