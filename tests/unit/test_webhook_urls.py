"""The webhook URL classifier: every spelling of an inside address is refused, public ones pass,
the operator's allow-list opens exactly what it names, and a rotated secret signs for its grace."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from perfectorder.domain.webhook_urls import (
    WebhookAllowList,
    WebhookUrlNotAllowed,
    non_public_reason,
    parse_webhook_url,
)
from perfectorder.services.outbox_ports import Subscription
from perfectorder.services.webhook_targets import WebhookGuard


def answers(table: dict[str, list[str]]):
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"{host}: Name or service not known")
        return table[host]

    return resolve


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("0x7f000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
    ],
)
def test_shorthand_spellings_of_an_address_are_read_as_the_system_reads_them(host, address):
    assert parse_webhook_url(f"http://{host}/hooks").address == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "metadata"),
        ("169.254.10.1", "link-local"),
        ("fe80::1", "link-local"),
        ("10.0.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "metadata"),
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 around 169.254.169.254
        ("255.255.255.255", "broadcast"),
    ],
)
def test_inside_addresses_are_not_public_and_say_why(address, why):
    reason = non_public_reason(ipaddress.ip_address(address))
    assert reason is not None
    if why != "broadcast":
        assert why in reason


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address):
    assert non_public_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://user@93.184.216.34/",
        "http://:pw@93.184.216.34/",
        "http://@93.184.216.34/",
        "http://93.184.216.34/\nx",
        "http://93.184.216.34/\tx",
        "http://93.184.216.34/\x00",
        "http://93.184.216.34:0/",
        "http://93.184.216.34:99999/",
        "http://[::1/",
        "gopher://93.184.216.34/",
        "//93.184.216.34/",
        "http:///hooks",
        "http://b\u00fccher.example/",
    ],
)
def test_urls_a_parser_could_read_two_ways_are_refused(url):
    with pytest.raises(WebhookUrlNotAllowed) as refused:
        parse_webhook_url(url)
    assert refused.value.code == "webhook_url_not_allowed" and refused.value.field == "url"


def test_a_name_is_checked_against_every_address_it_resolves_to():
    guard = WebhookGuard(resolve=answers({"hooks.example.test": ["93.184.216.34", "192.168.7.7"]}))
    with pytest.raises(WebhookUrlNotAllowed, match="192.168.7.7 is a private address"):
        guard.check("https://hooks.example.test/po")


def test_a_public_name_passes_with_the_addresses_to_connect_to():
    guard = WebhookGuard(resolve=answers({"hooks.example.test": ["93.184.216.34", "2606:4700::1"]}))
    checked = guard.check("https://Hooks.Example.Test./po")
    assert checked.target.host == "hooks.example.test" and checked.target.port == 443
    assert [str(a) for a in checked.addresses] == ["93.184.216.34", "2606:4700::1"]


def test_a_name_that_does_not_resolve_is_refused():
    with pytest.raises(WebhookUrlNotAllowed, match="cannot be resolved"):
        WebhookGuard(resolve=answers({})).check("https://nowhere.example.test/po")


def test_localhost_is_refused_whatever_it_resolves_to():
    guard = WebhookGuard(resolve=answers({"localhost": ["93.184.216.34"], "a.localhost": ["93.184.216.34"]}))
    for url in ("http://localhost/", "http://a.localhost/"):
        with pytest.raises(WebhookUrlNotAllowed, match="is this machine"):
            guard.check(url)


def test_the_allow_list_opens_exactly_the_networks_and_names_it_lists():
    allow = WebhookAllowList.parse(["127.0.0.0/8", " ::1 ", "Hooks.Internal", ""])
    guard = WebhookGuard(allow, answers({"hooks.internal": ["10.1.1.1"], "other.internal": ["10.1.1.1"]}))
    assert guard.check("http://127.0.0.5:8080/").addresses == (ipaddress.ip_address("127.0.0.5"),)
    assert guard.check("http://[::1]/")
    assert guard.check("http://0x7f000001/")  # the same address, however it is spelled
    assert guard.check("http://hooks.internal/")
    for refused in ("http://other.internal/", "http://10.1.1.1/", "http://[::2]/", "http://user@127.0.0.1/"):
        with pytest.raises(WebhookUrlNotAllowed):
            guard.check(refused)


def test_an_allow_list_entry_that_is_neither_name_nor_network_stops_start_up():
    with pytest.raises(ValueError, match="PERFECTORDER_WEBHOOK_ALLOW"):
        WebhookAllowList.parse(["127.0.0.1/40"])


def test_a_rotated_out_secret_signs_until_its_grace_ends():
    now = datetime(2026, 11, 24, 8, tzinfo=UTC)
    subscription = Subscription(
        1,
        "https://hooks.example.test/",
        "whsec_new",
        ("*",),
        True,
        0,
        now,
        "whsec_old",
        now + timedelta(hours=24),
    )
    assert subscription.signing_secrets(now) == ["whsec_new", "whsec_old"]
    assert subscription.signing_secrets(now + timedelta(hours=24)) == ["whsec_new"]
