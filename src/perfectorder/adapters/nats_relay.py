"""Optional relay of domain events to NATS JetStream, for consumers other than webhooks.

Off unless PERFECTORDER_NATS_URL is set. The message id goes in the `Nats-Msg-Id` header, so
JetStream's duplicate window drops the copies that at-least-once delivery can produce.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from perfectorder.services.outbox_ports import DeliveryFailed

STREAM = "PERFECTORDER"
SUBJECT_PREFIX = "perfectorder."


class NatsRelay:
    def __init__(self, url: str) -> None:
        self._url = url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="nats-relay", daemon=True)
        self._thread.start()
        self._js: Any = None

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _connect(self) -> Any:
        import nats

        connection = await nats.connect(self._url, connect_timeout=5)
        js = connection.jetstream()
        try:
            await js.add_stream(name=STREAM, subjects=[f"{SUBJECT_PREFIX}>"])
        except Exception:  # noqa: BLE001 - exists already with our subjects: fine
            pass
        return js

    def publish(self, topic: str, message_id: str, body: bytes) -> None:
        try:
            if self._js is None:
                self._js = self._run(self._connect())
            self._run(self._js.publish(SUBJECT_PREFIX + topic, body, headers={"Nats-Msg-Id": message_id}))
        except Exception as e:  # noqa: BLE001 - any broker trouble is a failed delivery, retried later
            self._js = None
            raise DeliveryFailed(f"NATS: {type(e).__name__}: {e}") from e
