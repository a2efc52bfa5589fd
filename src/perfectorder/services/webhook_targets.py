"""Checks a webhook URL against its host's addresses, at subscription and again at every send."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Protocol

from perfectorder.domain.webhook_urls import (
    IPAddress,
    WebhookAllowList,
    WebhookTarget,
    WebhookUrlNotAllowed,
    parse_webhook_url,
    refusal,
)


class Resolver(Protocol):
    def __call__(self, host: str, port: int) -> list[str]:
        """The host's addresses for a TCP connection; OSError when it has none."""
        ...


def no_resolver(host: str, port: int) -> list[str]:
    raise OSError("no resolver is configured")


@dataclass(frozen=True, slots=True)
class CheckedTarget:
    url: str
    target: WebhookTarget
    # The addresses it may be sent to, in the resolver's order: the sender connects to one of
    # these, not to whatever the name resolves to a moment later.
    addresses: tuple[IPAddress, ...]


@dataclass(frozen=True, slots=True)
class WebhookGuard:
    allow: WebhookAllowList = field(default_factory=WebhookAllowList)
    resolve: Resolver = no_resolver

    def check(self, url: str) -> CheckedTarget:
        """The URL with the addresses it may be sent to, or WebhookUrlNotAllowed."""
        target = parse_webhook_url(url)
        addresses = (target.address,) if target.address is not None else self._addresses(target)
        reason = refusal(target, addresses, self.allow)
        if reason is not None:
            raise WebhookUrlNotAllowed(reason)
        return CheckedTarget(url, target, addresses)

    def _addresses(self, target: WebhookTarget) -> tuple[IPAddress, ...]:
        try:
            found = tuple(ipaddress.ip_address(a) for a in self.resolve(target.host, target.port))
        except (OSError, ValueError) as e:
            raise WebhookUrlNotAllowed(f"{target.host} cannot be resolved ({e})") from e
        if not found:
            raise WebhookUrlNotAllowed(f"{target.host} cannot be resolved (no addresses)")
        return found
