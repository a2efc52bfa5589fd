"""`perfectorder serve` drops clients that send a request too slowly (slowloris): a request head or
body dribbled a byte at a time holds a socket only until its deadline, not for as long as the
client likes. The real server runs in its own process; the clients are raw sockets."""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_server import ServerProcess, run_cli

pytestmark = pytest.mark.slow
HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.5
KEEP_ALIVE_TIMEOUT = 1
# Scheduling on a busy two-core machine; far below what a dribbling client would get otherwise.
MARGIN = 1.5


class CliServer(ServerProcess):
    """The server as an operator starts it: `perfectorder serve`."""

    def command(self) -> list[str]:
        return [str(Path(sys.executable).parent / "perfectorder"), "serve", "--port", str(self.port)]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('slow') / 'store.db'}"
    run_cli(url, "db", "upgrade")
    return url


@pytest.fixture(scope="module")
def server(database: str) -> Iterator[CliServer]:
    process = CliServer(
        database,
        PERFECTORDER_HEADER_TIMEOUT=str(HEADER_TIMEOUT),
        PERFECTORDER_BODY_TIMEOUT=str(BODY_TIMEOUT),
        PERFECTORDER_KEEP_ALIVE_TIMEOUT=str(KEEP_ALIVE_TIMEOUT),
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


def _connect(server: CliServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.settimeout(0.05)
    return sock


def _dribble(sock: socket.socket, data: bytes, *, every: float, limit: float) -> tuple[float, bytes]:
    """Sends one byte per `every` seconds until the server closes the connection; returns when
    that happened (seconds since the start) and what the server said."""
    started = time.monotonic()
    answer = b""
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
        except OSError:  # reset by the server: it is gone
            return time.monotonic() - started, answer
        until = time.monotonic() + every
        while time.monotonic() < until:
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return time.monotonic() - started, answer
            if not chunk:
                return time.monotonic() - started, answer
            answer += chunk
        if time.monotonic() - started > limit:
            break
    raise AssertionError(f"still open after {time.monotonic() - started:.1f} s; received {answer!r}")


def _whole_response(sock: socket.socket) -> bytes:
    answer = b""
    while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < _length(answer):
        chunk = sock.recv(4096)
        assert chunk, f"closed after {answer!r}"
        answer += chunk
    return answer


def _length(answer: bytes) -> int:
    for line in answer.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            return int(value)
    return 0


def _status_and_body(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


def test_a_request_head_sent_a_byte_at_a_time_is_cut_off_at_the_header_deadline(server):
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: slow-loris-the-patient\r\n" + b"X-a: b\r\n" * 50
    with _connect(server) as sock:
        closed_after, answer = _dribble(sock, head, every=0.2, limit=HEADER_TIMEOUT + 10)
    assert HEADER_TIMEOUT - 0.2 <= closed_after <= HEADER_TIMEOUT + MARGIN
    status, body = _status_and_body(answer)
    assert status == 408 and body["error"]["code"] == "request_timeout"  # type: ignore[index]


def test_a_connection_that_never_sends_anything_is_closed_at_the_header_deadline(server):
    with _connect(server) as sock:
        sock.settimeout(HEADER_TIMEOUT + 10)
        started = time.monotonic()
        assert sock.recv(4096) == b""  # closed without a word: there was no request to answer
        assert time.monotonic() - started <= HEADER_TIMEOUT + MARGIN


def test_a_kept_alive_connection_gets_a_fresh_header_deadline_for_its_next_request(server):
    with _connect(server) as sock:
        sock.settimeout(10)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _whole_response(sock).startswith(b"HTTP/1.1 200")
        # The next request starts within keep-alive, then crawls: its first byte must not free it
        # from every deadline (uvicorn alone cancels its keep-alive timer on that byte).
        sock.settimeout(0.05)
        closed_after, answer = _dribble(
            sock, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-a: b\r\n" * 50, every=0.2, limit=20
        )
    assert closed_after <= HEADER_TIMEOUT + MARGIN
    assert answer.startswith(b"HTTP/1.1 408")


def test_a_body_sent_a_byte_at_a_time_is_answered_408_at_the_body_deadline(server):
    body = json.dumps({"username": "slow-poke", "password": "x" * 200}).encode()
    head = (
        b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + b"Content-Length: %d\r\n\r\n" % len(body)
    )
    with _connect(server) as sock:
        sock.sendall(head)
        closed_after, answer = _dribble(sock, body, every=0.2, limit=BODY_TIMEOUT + 10)
    assert BODY_TIMEOUT - 0.2 <= closed_after <= BODY_TIMEOUT + MARGIN
    status, error = _status_and_body(answer)
    assert status == 408 and error["error"]["code"] == "request_timeout"  # type: ignore[index]
    time.sleep(0.5)  # the application's half of the request winds down quietly, not as a crash
    assert "Traceback" not in server.output() and "Exception" not in server.output(), server.output()


def test_ordinary_requests_are_answered_and_an_idle_connection_closes_after_keep_alive(server):
    body = b'{"username": "nobody-here", "password": "wrong"}'
    with _connect(server) as sock:
        sock.settimeout(10)
        sock.sendall(
            b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        assert _whole_response(sock).startswith(b"HTTP/1.1 401")
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _whole_response(sock).startswith(b"HTTP/1.1 200")
        idle_since = time.monotonic()
        assert sock.recv(4096) == b""
        idle = time.monotonic() - idle_since
    assert KEEP_ALIVE_TIMEOUT - 0.2 <= idle <= KEEP_ALIVE_TIMEOUT + MARGIN


def test_beyond_the_connection_cap_requests_are_answered_503_at_once(database):
    capped = CliServer(database, PERFECTORDER_MAX_CONNECTIONS="3")
    capped.start()
    try:
        hogs = [_connect(capped), _connect(capped)]
        with _connect(capped) as sock:
            sock.settimeout(10)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _whole_response(sock).startswith(b"HTTP/1.1 503")
        for hog in hogs:
            hog.close()
        time.sleep(0.3)
        with _connect(capped) as sock:
            sock.settimeout(10)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _whole_response(sock).startswith(b"HTTP/1.1 200")
    finally:
        capped.stop()
