"""The client's address behind reverse proxies, from X-Forwarded-For read only through them.

Each proxy appends the address it received the request from to X-Forwarded-For, so the header
reads `what the client claimed, …, what our proxies saw`. Only the right end can be believed,
and only as far as it was written by proxies we trust (`TRUSTED_PROXIES`, addresses or CIDR
networks): starting from the peer, every address that is a trusted proxy hands over to the one
left of it, and the first address that is not a trusted proxy is the client. Nothing a client
writes in the header itself is ever read. (werkzeug's ProxyFix counts hops instead, which
suits a fixed chain but not a set of proxies known by network.)

`TrustedProxies` puts that address in `REMOTE_ADDR` for the whole app: rate limits
(`service.accounts.throttle`) and logs see the client, not the proxy.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import ip_address
from typing import Any

from flask import Flask

from service.config import Network


def client_address(peer: str, forwarded_for: str | None, trusted: Iterable[Network]) -> str:
    """The rightmost address of the chain `forwarded_for…, peer` that no trusted proxy vouches for.

    When every address is a trusted proxy, the leftmost is the client as far as can be told; an
    entry that is not an address stops the walk at the last proxy that was trusted.
    """
    networks = tuple(trusted)
    current = peer
    hops = [part.strip() for part in (forwarded_for or "").split(",") if part.strip()]
    while _is_trusted(current, networks) and hops:
        candidate = hops.pop()
        if not _is_address(candidate):
            break
        current = candidate
    return current


def _is_address(text: str) -> bool:
    try:
        ip_address(text)
    except ValueError:
        return False
    return True


def _is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    if not networks or not _is_address(address):
        return False
    parsed = ip_address(address)
    return any(parsed in network for network in networks)


class TrustedProxies:
    """WSGI middleware: `REMOTE_ADDR` becomes the client's address (`client_address`), as the
    app's `TRUSTED_PROXIES` say."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.wsgi_app = app.wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        environ["REMOTE_ADDR"] = client_address(
            environ.get("REMOTE_ADDR") or "",
            environ.get("HTTP_X_FORWARDED_FOR"),
            self.app.config["TRUSTED_PROXIES"],
        )
        return self.wsgi_app(environ, start_response)
