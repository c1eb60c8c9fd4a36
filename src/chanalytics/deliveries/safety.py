"""Which addresses a webhook may reach: not this machine's or its network's.

A webhook URL comes from a tenant, and the service runs inside the platform's network;
a URL naming `localhost`, `10.0.0.5` or a name that resolves there would let a tenant
make the service call internal endpoints. Loopback, private, link-local, multicast and
every other non-global address is therefore refused, unless the URL's host is listed in
`CHANALYTICS_WEBHOOK_ALLOW_HOSTS` (e.g. an internal receiver the operator trusts).

The check runs when a rule is saved (`check_webhook_url`) and again on the address
actually connected to (`GuardedBackend`): the name is resolved once, every address it
resolves to is checked, and the connection goes to one of those checked addresses,
so a name that changes its answer between the check and the connection (DNS
rebinding) gains nothing. Each redirect hop connects through the same guard.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import typing
from collections.abc import Iterable

import httpcore

from chanalytics.query.errors import BadParameter

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTarget(BadParameter):
    """A webhook target resolves to an address the service must not call (400 on save)."""

    def __init__(self, message: str, field: str = "url") -> None:
        super().__init__("unsafe_webhook_target", message, field)


class AddressPolicy:
    """The allow-list of hosts exempt from the address check (lower-case names or IPs)."""

    def __init__(self, allow_hosts: Iterable[str] = ()) -> None:
        self.allow_hosts = frozenset(h.strip().lower().strip("[]") for h in allow_hosts
                                     if h.strip())

    @classmethod
    def from_setting(cls, value: str) -> AddressPolicy:
        """From `CHANALYTICS_WEBHOOK_ALLOW_HOSTS`: host names or IPs, comma-separated."""
        return cls(value.split(","))

    def allows_any_address(self, host: str) -> bool:
        return host.lower().strip("[]") in self.allow_hosts

    def check(self, host: str, addresses: Iterable[IPAddress]) -> None:
        """Refuse when `host` is not allow-listed and any of its addresses is not global."""
        if self.allows_any_address(host):
            return
        for address in addresses:
            kind = address_kind(address)
            if kind is not None:
                raise UnsafeTarget(
                    f"webhook host {host[:100]!r} resolves to a {kind} address ({address}); "
                    "list the host in CHANALYTICS_WEBHOOK_ALLOW_HOSTS to allow it")


def address_kind(address: IPAddress) -> str | None:
    """Why the service must not call `address` (its kind), or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    # Most specific first: Python counts link-local and 0.0.0.0/8 as private too.
    for kind, test in (("loopback", address.is_loopback),
                       ("link-local", address.is_link_local),
                       ("multicast", address.is_multicast),
                       ("unspecified", address.is_unspecified),
                       ("private", address.is_private)):
        if test:
            return kind
    return None if address.is_global else "non-global"


async def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses `host` names (itself when it is an IP), in the resolver's order."""
    literal = host.strip("[]")
    try:
        return [ipaddress.ip_address(literal)]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            literal, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {literal[:100]!r}: {exc}") from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


async def check_webhook_url(url: str, policy: AddressPolicy, field: str = "url") -> None:
    """The save-time check of a (decoded, so http(s)) webhook URL: its host resolves, and
    only to addresses the policy allows. Raises UnsafeTarget (a 400) otherwise."""
    parts = httpcore.URL(url)
    host = parts.host.decode("ascii")
    port = parts.port or (443 if parts.scheme == b"https" else 80)
    try:
        addresses = await resolve(host, port)
    except httpcore.ConnectError as exc:
        raise UnsafeTarget(str(exc), field) from None
    try:
        policy.check(host, addresses)
    except UnsafeTarget as exc:
        raise UnsafeTarget(exc.message, field) from None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to checked addresses.

    httpcore hands it the URL's host; it resolves the host once, refuses it by the
    policy, and connects to the checked IP itself. TLS still verifies the certificate
    against the host name and sends it as SNI (httpcore passes the URL's host to
    `start_tls`), so connecting by IP changes nothing for HTTPS.
    """

    def __init__(self, policy: AddressPolicy,
                 inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.policy = policy
        self.inner = inner or httpcore.AnyIOBackend()
        self.connected: list[str] = []  # the addresses connected to, for the try's record

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109 (httpcore)
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve(host, port)
        self.policy.check(host, addresses)
        last: Exception | None = None
        for address in addresses:
            try:
                stream = await self.inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
                continue
            self.connected.append(str(address))
            return stream
        raise last or httpcore.ConnectError(f"no address for {host[:100]!r}")

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None,  # noqa: ASYNC109 (httpcore)
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks do not connect to Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
