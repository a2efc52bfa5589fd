"""Signed webhooks with the Standard Webhooks scheme, and the helper receivers use to verify them.

Signature: base64(HMAC-SHA256(key, f"{webhook-id}.{webhook-timestamp}.{body}")), sent as
`webhook-signature: v1,<signature>`; the key is the base64 text after the `whsec_` prefix. After a
secret rotation, during the grace period, the header carries one signature per secret, separated
by a space (`v1,<new> v1,<previous>`), as the scheme allows: a receiver accepts the delivery when
any of them verifies with the secret it knows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

import httpx

from perfectorder.domain.webhook_urls import WebhookUrlNotAllowed
from perfectorder.services.dispatch import WEBHOOK_SECRET_PREFIX, new_webhook_secret
from perfectorder.services.outbox_ports import DeliveryFailed, DeliveryRefused
from perfectorder.services.webhook_targets import CheckedTarget, WebhookGuard

PREFIX = WEBHOOK_SECRET_PREFIX
new_secret = new_webhook_secret
# Connection pools kept at once, one per receiver host (see HttpWebhookPoster._client).
_POOLS = 64


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signature_header(secrets: Sequence[str], message_id: str, timestamp: int, body: bytes) -> str:
    return " ".join(sign(secret, message_id, timestamp, body) for secret in secrets)


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> bool:
    """For receivers: True when a signature is ours and the timestamp is fresh (no replays)."""
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


def resolve_host(host: str, port: int) -> list[str]:
    """The system resolver's addresses for host, without repeats, in its order of preference."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


class HttpWebhookPoster:
    """Posts to the address the guard checked, never to whatever the name resolves to a moment
    later (DNS rebinding): the request goes to the IP, with the name in the Host header and in
    TLS (SNI and certificate check). Redirects are not followed: a receiver could point us inside."""

    def __init__(self, guard: WebhookGuard, timeout_seconds: float = 10.0) -> None:
        self._guard = guard
        self._timeout = timeout_seconds
        self._clients: OrderedDict[str, httpx.Client] = OrderedDict()
        self._lock = threading.Lock()

    def post(self, url: str, secrets: Sequence[str], *, message_id: str, body: bytes) -> None:
        try:
            checked = self._guard.check(url)
        except WebhookUrlNotAllowed as e:
            raise DeliveryRefused(e.message) from e
        timestamp = int(time.time())
        headers = {
            "host": urlsplit(url).netloc,
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(secrets, message_id, timestamp, body),
        }
        response = self._send(checked, headers, body)
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"receiver answered {response.status_code}")

    def _send(self, checked: CheckedTarget, headers: dict[str, str], body: bytes) -> httpx.Response:
        target = checked.target
        extensions = {"sni_hostname": target.host} if target.address is None else {}
        client, failure = self._client(target.host), None
        # Each checked address in the resolver's order, as a connecting client would try them:
        # a name with an IPv6 address first must still reach a receiver over IPv4.
        for address in checked.addresses:
            pinned = httpx.URL(checked.url).copy_with(host=str(address))
            try:
                return client.post(pinned, content=body, headers=headers, extensions=extensions)
            except (httpx.ConnectError, httpx.ConnectTimeout) as e:
                failure = e
            except httpx.HTTPError as e:
                raise DeliveryFailed(f"{type(e).__name__}: {e}") from e
        raise DeliveryFailed(f"{type(failure).__name__}: {failure}") from failure

    def _client(self, host: str) -> httpx.Client:
        """One pool per host name: pools are keyed by address, and a TLS connection verified for
        one name must not carry another name's request that happens to share the address."""
        with self._lock:
            client = self._clients.pop(host, None)
            if client is None:
                client = httpx.Client(timeout=self._timeout, follow_redirects=False)
                if len(self._clients) >= _POOLS:
                    self._clients.popitem(last=False)[1].close()
            self._clients[host] = client
            return client
