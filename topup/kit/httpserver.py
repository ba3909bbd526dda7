"""uvicorn's httptools protocol with the one bound it lacks: the size of a request's head.

llhttp (under httptools) sets no limit on the request line and headers, and uvicorn adds
none, so a client could stream headers until the process runs out of memory. h11 refuses
a head over 16 KiB; this does the same on the faster parser: 400, and the connection closed.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

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
