"""uvicorn's httptools protocol with the two bounds it lacks on a request's head: its size
and the time it may take to arrive.

llhttp (under httptools) sets no limit on the request line and headers, and uvicorn adds
none, so a client could stream headers until the process runs out of memory. h11 refuses
a head over 16 KiB; this does the same on the faster parser: 400, and the connection closed.

uvicorn arms its keep-alive timer only once a response is complete, and cancels it at the
first byte of the next request, so a connection that never sends a request, or one that
sends its head a byte at a time ("slowloris"), holds a socket for ever. A head must arrive
whole within a bound from the moment the server is ready for it: the connection's opening,
or the end of the previous response. After it the connection is closed without an answer,
as uvicorn closes an idle one.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, cast

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

# Browsers send a few KiB of headers (cookies included); h11's default is 16 KiB.
MAX_HEAD_BYTES = 16 * 1024


class HeadTooLarge(Exception):
    """Raised in a parser callback: httptools turns it into the parse error uvicorn
    answers with 400 and a closed connection."""


class BoundedHeadProtocol(HttpToolsProtocol):
    # Two counts, each at most one read above the truth: the head as the parser hands it
    # over (a head that arrives in one read), and the bytes read while a head is still
    # open (a head that never ends, which httptools buffers without telling anyone).
    _parsed = 0
    _streamed = 0
    _in_head = True

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        head_timeout_seconds: float,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.head_timeout_seconds = head_timeout_seconds
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # uvicorn armed its keep-alive timer: it waits for the next request (none is
        # pipelined, and the connection stays open). That timer bounds the idle gap and
        # stops at the next request's first byte; this one bounds the whole head.
        if self.timeout_keep_alive_task is not None:
            self._await_head()

    def on_message_begin(self) -> None:
        self._in_head = True
        self._parsed = self._streamed = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._charge(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._charge(len(name) + len(value))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        # The body has its own bound (the body limit's timeout, in the application).
        self._stop_head_timer()
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            self._streamed += len(data)
            if self._streamed > MAX_HEAD_BYTES:
                self.send_400_response("Request header block too large.")

    def _charge(self, size: int) -> None:
        self._parsed += size
        if self._parsed > MAX_HEAD_BYTES:
            raise HeadTooLarge

    def _await_head(self) -> None:
        self._stop_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout_seconds, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def bounded_head_protocol(head_timeout_seconds: float) -> type[asyncio.Protocol]:
    """The protocol for `uvicorn.run(http=...)` with this head timeout. uvicorn only calls
    it with keyword arguments, once per connection, and pickles it into each worker process
    under --workers: a partial of the module's class does both, a class made here could not
    be pickled."""
    protocol = functools.partial(BoundedHeadProtocol, head_timeout_seconds=head_timeout_seconds)
    return cast(type[asyncio.Protocol], protocol)
