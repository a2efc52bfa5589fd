"""Real peers for communication tests: an SMTP server (aiosmtpd) and an HTTP webhook receiver that
checks signatures with its own, independent implementation of the Standard Webhooks scheme."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.live_server import free_port


@dataclass
class Inbox:
    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def subjects(self) -> list[str]:
        with self.lock:
            return [str(m["Subject"]) for m in self.messages]


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()  # aiosmtpd's Controller cannot take port 0
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def independent_signature(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    key = base64.b64decode(secret[len("whsec_") :])
    digest = hmac.new(
        key, message_id.encode() + b"." + timestamp.encode() + b"." + body, hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


@dataclass
class Receiver:
    """Accepts webhooks; fails the first `fail_first` requests; de-duplicates by webhook-id."""

    secret: str = ""
    fail_first: int = 0
    always_fail: bool = False
    requests: int = 0
    bad_signatures: int = 0
    seen: dict[str, int] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    concurrent: int = 0
    max_concurrent_same_id: int = 0
    in_flight: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delay_seconds: float = 0.0
    # Answers 307 to this URL instead of accepting, to see that the sender does not follow.
    redirect_to: str | None = None
    # Every request as it arrived: its headers and body.
    raw: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def accept(self, headers: Any, body: bytes) -> int:
        message_id = headers.get("webhook-id", "")
        with self.lock:
            self.requests += 1
            self.raw.append(({k.lower(): v for k, v in headers.items()}, body))
            if self.redirect_to is not None:
                return 307
            self.in_flight[message_id] = self.in_flight.get(message_id, 0) + 1
            self.max_concurrent_same_id = max(self.max_concurrent_same_id, self.in_flight[message_id])
            failing = self.always_fail or self.requests <= self.fail_first
        try:
            if self.delay_seconds:
                threading.Event().wait(self.delay_seconds)
            expected = independent_signature(
                self.secret, message_id, headers.get("webhook-timestamp", ""), body
            )
            offered = [p.split(",", 1)[1] for p in headers.get("webhook-signature", "").split() if "," in p]
            if expected not in offered:
                with self.lock:
                    self.bad_signatures += 1
                return 401
            if failing:
                return 503
            with self.lock:
                self.seen[message_id] = self.seen.get(message_id, 0) + 1
                if self.seen[message_id] == 1:
                    self.events.append(json.loads(body))
            return 204
        finally:
            with self.lock:
                self.in_flight[message_id] -= 1


@contextmanager
def webhook_receiver(receiver: Receiver) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            self.send_response(receiver.accept(self.headers, body))
            if receiver.redirect_to is not None:
                self.send_header("location", receiver.redirect_to)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    finally:
        server.shutdown()
        server.server_close()
