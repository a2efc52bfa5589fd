"""Which webhook URLs we will send to: public http(s) receivers only, unless an operator lists a
local one. A subscription must never become a way to make the server call its own network.

Pure: the host's addresses come from the caller (resolved at creation and again at send time).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from perfectorder.domain.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_SETTING = "PERFECTORDER_WEBHOOK_ALLOW"
_DEFAULT_PORTS = {"http": 80, "https": 443}
# ASCII only: an internationalised name goes in its xn-- form, so no normalisation (fullwidth
# digits become ASCII ones under IDNA) can turn a name into an address after we checked it.
_HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$")
_METADATA = ipaddress.IPv4Address("169.254.169.254")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class WebhookUrlNotAllowed(InvalidInput):
    def __init__(self, reason: str) -> None:
        super().__init__(
            "webhook_url_not_allowed",
            f"this webhook URL is not allowed: {reason}; give a public http:// or https:// URL "
            f"without user:password@ (an operator can allow a local receiver in {ALLOW_SETTING})",
            field="url",
            details={"reason": reason},
        )


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    scheme: str
    host: str  # lower case, without brackets or a trailing dot
    port: int
    address: IPAddress | None  # when the host is written as an address, in any form


@dataclass(frozen=True, slots=True)
class WebhookAllowList:
    """Hosts (exact names, trusted whatever they resolve to) and networks an operator allows."""

    names: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> WebhookAllowList:
        names: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in (e.strip().lower().strip("[]") for e in entries):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError as e:
                if not _HOST_NAME.match(entry.rstrip(".")):
                    raise ValueError(f"{ALLOW_SETTING}: {entry!r} is neither a host name nor a CIDR") from e
                names.add(entry.rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def allows_name(self, host: str) -> bool:
        return host in self.names

    def allows_address(self, address: IPAddress) -> bool:
        return any(_unmapped(address) in n or address in n for n in self.networks)


def parse_webhook_url(url: str) -> WebhookTarget:
    """The URL's scheme, host and port, or WebhookUrlNotAllowed for anything a parser could read
    two ways (userinfo, backslashes, control characters, percent-encoded or non-ASCII hosts)."""
    if any(c.isspace() or not c.isprintable() for c in url):
        raise WebhookUrlNotAllowed("it contains whitespace or control characters")
    if "\\" in url:
        raise WebhookUrlNotAllowed("it contains a backslash")
    try:
        parts = urlsplit(url)
    except ValueError as e:
        raise WebhookUrlNotAllowed("it is not a well-formed URL") from e
    if parts.scheme not in _DEFAULT_PORTS:
        raise WebhookUrlNotAllowed("the scheme must be http or https")
    if "@" in parts.netloc:
        raise WebhookUrlNotAllowed("it carries a user name or password (user:password@)")
    try:
        port = parts.port
    except ValueError as e:
        raise WebhookUrlNotAllowed("its port is not a number from 1 to 65535") from e
    if port == 0:
        raise WebhookUrlNotAllowed("its port is not a number from 1 to 65535")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise WebhookUrlNotAllowed("it names no host")
    address = _address_literal(host)
    if address is None and not _HOST_NAME.match(host):
        raise WebhookUrlNotAllowed("its host is not a plain name (write an international name as xn--)")
    return WebhookTarget(parts.scheme, host, port or _DEFAULT_PORTS[parts.scheme], address)


def _address_literal(host: str) -> IPAddress | None:
    """The address a host written as one stands for, read as the operating system would read it:
    0x7f000001, 2130706433, 0177.1 and 127.1 are all 127.0.0.1."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not re.fullmatch(r"[0-9a-fx.]+", host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def non_public_reason(address: IPAddress) -> str | None:
    """Why an address is not a public receiver, or None when it is one."""
    inner = _unmapped(address)
    if inner != address:
        reason = non_public_reason(inner)
        return None if reason is None else f"{address} embeds {inner}, {reason.split(' is ', 1)[-1]}"
    checks = (
        (address == _METADATA, "a cloud metadata address"),
        (address.is_loopback, "a loopback address"),
        (address.is_unspecified, "the unspecified address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (isinstance(address, ipaddress.IPv4Address) and address in _SHARED, "a carrier-grade NAT address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a globally routable address"),
    )
    return next((f"{address} is {what}" for hit, what in checks if hit), None)


def _unmapped(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), which is where a dual-stack
    host or a translating gateway actually connects. (Teredo's 2001::/32 is private as a whole.)"""
    if not isinstance(address, ipaddress.IPv6Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def refusal(target: WebhookTarget, addresses: Iterable[IPAddress], allow: WebhookAllowList) -> str | None:
    """Why the target may not be sent to at these addresses, or None when it may. Every address
    counts: a name with one public and one private address could be sent to either."""
    if allow.allows_name(target.host):
        return None
    if target.address is None and (target.host == "localhost" or target.host.endswith(".localhost")):
        return f"{target.host} is this machine"
    for address in addresses:
        if allow.allows_address(address):
            continue
        reason = non_public_reason(address)
        if reason is not None:
            return reason if target.address is not None else f"{target.host} resolves to {reason}"
    return None
