"""Signed webhooks with the Standard Webhooks scheme, and the helper receivers use to verify them.

Signature: base64(HMAC-SHA256(key, f"{webhook-id}.{webhook-timestamp}.{body}")), sent as
`webhook-signature: v1,<signature>`; the key is the base64 text after the `whsec_` prefix.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

import httpx

from perfectorder.services.dispatch import WEBHOOK_SECRET_PREFIX, new_webhook_secret
from perfectorder.services.outbox_ports import DeliveryFailed

PREFIX = WEBHOOK_SECRET_PREFIX
new_secret = new_webhook_secret


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> bool:
    """For receivers: True when the signature is ours and the timestamp is fresh (no replays)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        message_id, timestamp = lowered["webhook-id"], int(lowered["webhook-timestamp"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, message_id, timestamp, body).split(",", 1)[1]
    offered = [part.split(",", 1)[1] for part in lowered.get("webhook-signature", "").split() if "," in part]
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


class HttpWebhookPoster:
    def __init__(self, timeout_seconds: float = 10.0) -> None:
        self._client = httpx.Client(timeout=timeout_seconds, follow_redirects=False)

    def post(self, url: str, secret: str, *, message_id: str, body: bytes) -> None:
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, message_id, timestamp, body),
        }
        try:
            response = self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as e:
            raise DeliveryFailed(f"{type(e).__name__}: {e}") from e
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"receiver answered {response.status_code}")
