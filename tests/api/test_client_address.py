"""The client's address: X-Forwarded-For counts only when it comes through a trusted proxy, and
then the rightmost address that no trusted proxy vouches for is the client."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from service.config import ConfigError, parse_networks
from service.proxies import client_address

TRUSTED = parse_networks("10.0.0.0/8, 192.0.2.1, fd00::/8", "TRUSTED_PROXIES")


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # Without a trusted proxy in front, the header is the client's own claim: ignored.
        ("203.0.113.9", "198.51.100.7", "203.0.113.9"),
        ("203.0.113.9", None, "203.0.113.9"),
        # One trusted proxy: it appended the address it saw.
        ("10.0.0.1", "198.51.100.7", "198.51.100.7"),
        # What the client wrote itself stands left of it and is never read.
        ("10.0.0.1", "6.6.6.6, 198.51.100.7", "198.51.100.7"),
        # A chain of trusted proxies: skipped from the right.
        ("10.0.0.1", "6.6.6.6, 198.51.100.7, 10.0.0.2, 192.0.2.1", "198.51.100.7"),
        # Several headers are one list; blanks around commas do not matter.
        ("10.0.0.1", "6.6.6.6 ,198.51.100.7,10.1.2.3", "198.51.100.7"),
        # Every hop trusted: the leftmost is as far as anyone can tell.
        ("10.0.0.1", "10.0.0.3, 10.0.0.2", "10.0.0.3"),
        # Something that is not an address: stop at the last hop that was trusted.
        ("10.0.0.1", "198.51.100.7, not-an-address", "10.0.0.1"),
        ("10.0.0.1", "198.51.100.7, not-an-address, 10.0.0.2", "10.0.0.2"),
        ("10.0.0.1", "", "10.0.0.1"),
        # IPv6.
        ("fd00::1", "2001:db8::7", "2001:db8::7"),
        ("2001:db8::9", "2001:db8::7", "2001:db8::9"),
    ],
)
def test_the_client_is_the_rightmost_address_no_trusted_proxy_vouches_for(peer, forwarded, client):
    assert client_address(peer, forwarded, TRUSTED) == client


def test_nothing_is_trusted_unless_configured():
    assert client_address("10.0.0.1", "198.51.100.7", ()) == "10.0.0.1"


def test_the_setting_takes_addresses_and_networks_and_refuses_anything_else():
    assert parse_networks("", "TRUSTED_PROXIES") == ()
    assert parse_networks(" 127.0.0.1 , ::1,10.0.0.0/8 ", "TRUSTED_PROXIES") == (
        ip_network("127.0.0.1/32"),
        ip_network("::1/128"),
        ip_network("10.0.0.0/8"),
    )
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        parse_networks("10.0.0.0/8, proxy.internal", "TRUSTED_PROXIES")
