"""uvicorn's h11 protocol with deadlines for reading a request, against clients that hold a
connection by sending it slowly (slowloris).

uvicorn 0.54 bounds only the idle wait between requests (timeout_keep_alive), and the first byte of
the next request cancels even that: a client that sends its request head or body a byte at a time
keeps a socket and a connection slot for as long as it likes. Here one deadline runs from the moment
the server waits for a request head until the head is complete, another from then until the body is
complete. Each is a total, not an idle timer: dribbling a byte now and then does not extend it.

uvicorn builds this class per connection from its own Config, which has no room for our settings
and is pickled across worker processes; so the deadlines come from the environment the way
create_app's settings do in every worker, read once per process."""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any, Literal

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from perfectorder.config import Settings

Phase = Literal["head", "body"]

_BODY = json.dumps(
    {
        "error": {
            "code": "request_timeout",
            "message": "the request was not received in time; send it again, faster",
            "field": None,
            "details": {},
        }
    }
).encode()
# Written straight to the socket: h11 cannot answer a request whose head it never completed.
TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    + b"content-length: %d\r\n\r\n" % len(_BODY)
    + _BODY
)


@functools.cache
def _deadlines() -> dict[Phase, float]:
    settings = Settings.from_env()
    return {"head": settings.header_timeout, "body": settings.body_timeout}


class DeadlineH11Protocol(H11Protocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._phase: Phase | None = None
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._follow()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow()

    def connection_lost(self, exc: Exception | None) -> None:
        self._set_phase(None)
        super().connection_lost(exc)

    def _follow(self) -> None:
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            self._set_phase("body")
        elif state is h11.IDLE and self.timeout_keep_alive_task is None:
            # Between requests the keep-alive timer is in charge until the next request's first byte.
            self._set_phase("head")
        else:
            self._set_phase(None)

    def _set_phase(self, phase: Phase | None) -> None:
        if phase == self._phase:
            return
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._phase = phase
        if phase is not None:
            self._deadline = self.loop.call_later(_deadlines()[phase], self._too_slow, phase)

    def _too_slow(self, phase: Phase) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle if phase == "body" else None
        if cycle is not None and not cycle.response_started:
            # The application waits for the rest of the body: it gets a disconnect, and its answer
            # goes nowhere, while the client gets ours.
            cycle.disconnected = True
            cycle.message_event.set()
            self.transport.write(TIMEOUT_RESPONSE)
        elif phase == "head" and self.conn.trailing_data[0]:
            self.transport.write(TIMEOUT_RESPONSE)
        self.transport.close()
