"""Vivid, valid order payloads that tests bend one field at a time."""

from __future__ import annotations

import copy
import itertools
from typing import Any

_refs = itertools.count(1)


def order_payload(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "web",
        "external_ref": f"WEB-{next(_refs):06d}",
        "currency": "EUR",
        "customer": {
            "email": "margot.fenwick@example.com",
            "name": "Margot Fenwick",
            "phone": "+49 170 5550101",
        },
        "shipping_address": {
            "name": "Margot Fenwick",
            "line1": "Kastanienallee 7",
            "city": "Berlin",
            "postal_code": "10435",
            "country": "DE",
            "timezone": "Europe/Berlin",
        },
        "lines": [{"sku": "MUG-CERAMIC-BLUE", "quantity": 2, "unit_price": "12.90"}],
        "payment": {"method": "card", "status": "authorized", "authorized_amount": "25.80"},
    }
    for key, value in changes.items():
        body[key] = value
    return copy.deepcopy(body)


def one_line(sku: str, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {"lines": [{"sku": sku, "quantity": quantity, **extra}]}
