"""Hostile framing against a real `topup serve`, over a raw socket so that no client library
fixes the request up: oversized, chunked, lying and conflicting bodies, a huge header block,
a connection that never sends a request and a head that trickles in ("slowloris").

The body limit and the HTTP parser sit in front of everything that touches the database, so
one service (SQLite) is enough: PostgreSQL would change nothing these tests look at.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.fixtures.services import served
from topup.kit.bodylimit import MAX_BODY_BYTES

pytestmark = pytest.mark.e2e

BODY_TIMEOUT_SECONDS = 2.0
HEAD_TIMEOUT_SECONDS = 2.0
TRICKLE_SECONDS = 0.25  # between two bytes of a slow head: traffic, yet never a whole head
READ_SECONDS = 10.0  # every socket read: a server that hangs fails the test, never stalls it
ENDPOINT = b"/v1/auth/login"


@pytest.fixture(scope="module")
def address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    directory: Path = tmp_path_factory.mktemp("body-limit")
    database_url = f"sqlite+aiosqlite:///{directory / 'topup.db'}"
    settings = {
        "TOPUP_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT_SECONDS),
        "TOPUP_HEAD_TIMEOUT_SECONDS": str(HEAD_TIMEOUT_SECONDS),
    }
    for base_url in served(database_url, directory, settings):
        parts = urlsplit(base_url)
        assert parts.hostname is not None
        assert parts.port is not None
        yield parts.hostname, parts.port


def head(*headers: bytes, path: bytes = ENDPOINT, method: bytes = b"POST") -> bytes:
    lines = [method + b" " + path + b" HTTP/1.1", b"Host: 127.0.0.1", *headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def json_head(length: int) -> bytes:
    return head(b"Content-Type: application/json", b"Content-Length: %d" % length)


def exchange(address: tuple[str, int], data: bytes) -> tuple[bytes, bool]:
    """Send ``data`` and read until the server closes or stays silent for a moment:
    everything it answered, and whether it closed the connection."""
    with socket.create_connection(address, timeout=READ_SECONDS) as connection:
        connection.sendall(data)
        return read_answers(connection)


def read_answers(connection: socket.socket, quiet_seconds: float = 1.0) -> tuple[bytes, bool]:
    received = b""
    deadline = time.monotonic() + READ_SECONDS
    while time.monotonic() < deadline:
        # Once something came, a pause means the server has said all it will.
        connection.settimeout(quiet_seconds if received else deadline - time.monotonic())
        try:
            chunk = connection.recv(65536)
        except TimeoutError:
            return received, False
        except ConnectionResetError:
            return received, True
        if not chunk:
            return received, True
        received += chunk
    pytest.fail(f"the server kept talking for {READ_SECONDS} s: {received[:200]!r}")


def statuses(answers: bytes) -> list[int]:
    """The status of every answer in the bytes read (answers are small and never chunked)."""
    return [
        int(line.split(b" ")[1]) for line in answers.split(b"\r\n") if line.startswith(b"HTTP/1.")
    ]


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(
    address: tuple[str, int],
) -> None:
    # Only the head and 1 KiB of the body: the answer must not wait for the rest.
    answers, _ = exchange(address, json_head(MAX_BODY_BYTES + 1) + b"x" * 1024)

    assert statuses(answers) == [413]
    assert b'"body_too_large"' in answers


def test_a_chunked_body_that_grows_past_the_limit_is_refused(address: tuple[str, int]) -> None:
    chunk = b"a" * 4096
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(17))  # 68 KiB
    request = head(b"Content-Type: application/json", b"Transfer-Encoding: chunked") + chunks

    answers, _ = exchange(address, request)

    assert statuses(answers) == [413]
    assert b'"body_too_large"' in answers


def test_bytes_past_a_length_that_lies_downwards_never_join_the_body_nor_make_a_5xx(
    address: tuple[str, int],
) -> None:
    """The server frames by Content-Length exactly: the app judges the 10 declared bytes
    (a JSON string, not the object that follows), and what follows is parsed as a request
    of its own (HTTP/1.1 pipelining, the only meaning those bytes can have): garbage there
    is a 400 and the connection closed."""
    declared = b'"12345678"'
    following = b'{"email": "a@example.com", "password": "correct horse"}'

    answers, closed = exchange(address, json_head(len(declared)) + declared + following)

    assert statuses(answers) in ([400], [422, 400]), answers
    assert closed
    assert b"invalid_json" not in answers  # the body was never the whole byte stream


def test_a_second_length_that_disagrees_is_refused(address: tuple[str, int]) -> None:
    """Two Content-Lengths are the classic smuggling frame: never a guess at which counts."""
    request = json_head(10).replace(b"\r\n\r\n", b"\r\nContent-Length: 12\r\n\r\n")

    answers, closed = exchange(address, request + b'"12345678"xx')

    assert statuses(answers) == [400]
    assert closed


def test_a_length_and_chunked_encoding_together_are_refused(address: tuple[str, int]) -> None:
    request = head(
        b"Content-Type: application/json", b"Content-Length: 5", b"Transfer-Encoding: chunked"
    )

    answers, closed = exchange(address, request + b"0\r\n\r\n")

    assert statuses(answers) == [400]
    assert closed


def test_a_length_that_lies_upwards_is_given_up_on_in_bounded_time(
    address: tuple[str, int],
) -> None:
    started = time.monotonic()

    answers, closed = exchange(address, json_head(1000) + b'{"email": ')

    assert statuses(answers) == [408]
    assert b'"body_timeout"' in answers
    assert closed
    assert time.monotonic() - started < BODY_TIMEOUT_SECONDS + READ_SECONDS / 2


def test_a_100_kib_header_block_is_refused_without_a_5xx(address: tuple[str, int]) -> None:
    request = head(b"X-Padding: " + b"a" * 100 * 1024, path=b"/healthz", method=b"GET")

    answers, _ = exchange(address, request)

    assert statuses(answers) in ([400], [431]), answers[:200]


def test_a_header_block_that_never_ends_is_cut_off_while_it_streams(
    address: tuple[str, int],
) -> None:
    """httptools buffers an unfinished header itself: the bound must hold before it ends."""
    with socket.create_connection(address, timeout=READ_SECONDS) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ")
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for _ in range(64):  # 128 KiB at most, never the end of the header
                connection.sendall(b"a" * 2048)
                time.sleep(0.01)
        answers, closed = read_answers(connection)

    assert statuses(answers) == [400]
    assert closed


def trickle(connection: socket.socket) -> tuple[bytes, bool]:
    """Send a head that never ends, a byte at a time, until the server closes or
    READ_SECONDS pass: what it answered, and whether it closed."""
    slow_head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 1024
    deadline = time.monotonic() + READ_SECONDS
    received = b""
    for byte in slow_head:
        if time.monotonic() > deadline:
            return received, False
        try:
            connection.sendall(bytes([byte]))
            connection.settimeout(TRICKLE_SECONDS)  # the pause between bytes, listening
            chunk = connection.recv(65536)
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            return received, True
        if not chunk:
            return received, True
        received += chunk
    pytest.fail("the slow head ran out before the server gave up on it")


def within_the_head_bound(started: float) -> bool:
    return time.monotonic() - started < HEAD_TIMEOUT_SECONDS + READ_SECONDS / 2


def test_a_connection_that_never_sends_a_request_is_closed(address: tuple[str, int]) -> None:
    """uvicorn's keep-alive timer starts only after a first response: without a bound of
    its own, a silent connection holds a socket for ever."""
    started = time.monotonic()
    with socket.create_connection(address, timeout=READ_SECONDS) as connection:
        answers, closed = read_answers(connection)

    assert closed
    assert answers == b""
    assert within_the_head_bound(started)


@pytest.mark.parametrize("answered_before", [0, 1], ids=["first-request", "after-a-response"])
def test_a_head_trickled_a_byte_at_a_time_is_closed(
    address: tuple[str, int], answered_before: int
) -> None:
    """uvicorn's keep-alive timer stops at the next request's first byte: the head's bound
    runs from the connection's opening and again from the end of each response."""
    with socket.create_connection(address, timeout=READ_SECONDS) as connection:
        for _ in range(answered_before):
            connection.sendall(head(path=b"/healthz", method=b"GET"))
            first, _ = read_answers(connection, quiet_seconds=0.2)
            assert statuses(first) == [200]
        started = time.monotonic()
        answers, closed = trickle(connection)

    assert closed
    assert answers == b""
    assert within_the_head_bound(started)


def test_prompt_requests_keep_one_connection_open_past_the_head_bound(
    address: tuple[str, int],
) -> None:
    """Each complete head stops its timer: a connection lives as long as its requests come."""
    pause = HEAD_TIMEOUT_SECONDS * 0.6  # under the head bound and uvicorn's 5 s keep-alive
    started = time.monotonic()
    answered: list[int] = []
    with socket.create_connection(address, timeout=READ_SECONDS) as connection:
        for _ in range(3):
            connection.sendall(head(path=b"/healthz", method=b"GET"))
            answers, closed = read_answers(connection, quiet_seconds=0.2)
            assert not closed, answers
            answered += statuses(answers)
            time.sleep(pause)

    assert answered == [200, 200, 200]
    assert time.monotonic() - started > HEAD_TIMEOUT_SECONDS  # the first bound was passed
