"""Signed links to a customer's order-status page.

A link names one order and when it stops working, signed with a server secret (HMAC-SHA256): whoever
holds it sees that order and nothing else, nobody can make one for another order or stretch its
life, and replacing the secret revokes every link at once. No login and no guessable address: the
order id in the link is useless without its signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote

_PURPOSE = b"order-status:"
_MAX_ID_DIGITS = 12
_MAX_EXPIRY_DIGITS = 12


def sign(secret: str, order_id: int, expires: int) -> str:
    """The token for `order_id`, valid until the Unix time `expires`."""
    body = f"{order_id}.{expires}"
    return f"{body}.{_mac(secret, body)}"


def verify(secret: str, token: str, now: int) -> int | None:
    """The order id a genuine, unexpired token names; None for anything else (tampered, expired,
    signed with another secret, malformed), without saying which."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    order_id, expires, mac = parts
    if not (_digits(order_id, _MAX_ID_DIGITS) and _digits(expires, _MAX_EXPIRY_DIGITS)):
        return None
    if not hmac.compare_digest(_mac(secret, f"{order_id}.{expires}"), mac):
        return None
    if int(expires) <= now:
        return None
    return int(order_id)


def _digits(text: str, most: int) -> bool:
    return 0 < len(text) <= most and text.isascii() and text.isdigit()


def _mac(secret: str, body: str) -> str:
    digest = hmac.new(secret.encode(), _PURPOSE + body.encode(), hashlib.sha256).digest()
    # 24 bytes (192 bits) keep the link short and are far beyond guessing.
    return base64.urlsafe_b64encode(digest[:24]).decode()


def parse_tracking_urls(text: str) -> dict[str, str]:
    """ "DHL=https://carrier.example/track?n={number},UPS=..." as carrier -> page; a bad entry stops
    start-up with a message naming it."""
    pages: dict[str, str] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        carrier, _, url = entry.partition("=")
        if not carrier.strip() or "{number}" not in url or not url.startswith(("https://", "http://")):
            raise ValueError(
                f"PERFECTORDER_TRACKING_URLS: {entry!r} is not CARRIER=http(s)://...{{number}}..."
            )
        pages[carrier.strip()] = url.strip()
    return pages


def tracking_url(pages: Mapping[str, str], carrier: str, number: str) -> str | None:
    page = pages.get(carrier)
    return page.replace("{number}", quote(number, safe="")) if page else None
