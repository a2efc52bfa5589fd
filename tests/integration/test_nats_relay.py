"""The optional relay to NATS JetStream, against the real server on this machine."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid

import pytest

from perfectorder.adapters.nats_relay import STREAM, SUBJECT_PREFIX, NatsRelay
from tests.conftest import in_ci

NATS_URL = os.environ.get("PERFECTORDER_TEST_NATS_URL", "nats://127.0.0.1:4222")


@pytest.fixture
def nats_url() -> str:
    host, port = NATS_URL.removeprefix("nats://").split(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError as e:
        if in_ci():
            pytest.fail(f"NATS is required under CI=true and is not reachable: {e}")
        pytest.skip(f"NATS not reachable: {e}")
    return NATS_URL


async def _last_message(url: str, subject: str) -> tuple[bytes, str, int]:
    import nats

    connection = await nats.connect(url)
    try:
        js = connection.jetstream()
        message = await js.get_last_msg(STREAM, subject)
        info = await js.stream_info(STREAM, subjects_filter=subject)
        count = (info.state.subjects or {}).get(subject, 0)
        return message.data, (message.headers or {}).get("Nats-Msg-Id", ""), count
    finally:
        await connection.close()


def test_events_reach_jetstream_once_per_message_id(nats_url):
    relay = NatsRelay(nats_url)
    topic = f"test.{uuid.uuid4().hex}"
    message_id = str(uuid.uuid4())
    body = json.dumps({"order_id": 7, "event": topic}).encode()
    relay.publish(topic, message_id, body)
    relay.publish(topic, message_id, body)  # a redelivery: JetStream's duplicate window drops it
    data, seen_id, stored = asyncio.run(_last_message(nats_url, SUBJECT_PREFIX + topic))
    assert json.loads(data) == {"order_id": 7, "event": topic}
    assert seen_id == message_id
    assert stored == 1
