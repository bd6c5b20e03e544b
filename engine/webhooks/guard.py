"""Refuse webhook connections to internal addresses (server-side request forgery).

Webhook URLs come from content and from the admin API, and whoever owns a domain decides
what it resolves to: unguarded, `http://169.254.169.254/` or a name resolving to 10.0.0.5
would let a webhook reach a cloud metadata service or an internal admin API. So the check
sits where connections are made, in the HTTP client's network backend:

1. the host is resolved once and *every* address is checked: loopback, private, link-local,
   multicast, unspecified and other non-global addresses are refused (IPv4-mapped IPv6
   addresses are checked as the IPv4 address they carry);
2. the connection then goes to those very addresses, so a DNS answer that changes between
   the check and the connection (rebinding) cannot slip through.

Refusal raises `Refused` before any socket is opened. Redirects are never followed (the
sender treats a 3xx as a failure). `allow_private` lifts the address check, for receivers
on the same network (and tests on 127.0.0.1); resolution and pinning stay.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import typing
from collections.abc import Callable, Sequence

import httpcore
import httpx

Resolver = Callable[[str, int], Sequence[str]]


class Refused(Exception):
    """The destination is not allowed; retrying will not change that."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order, without repeats."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def internal_kind(address: str) -> str | None:
    """Why `address` is internal ('loopback', 'private', ...), or None for a public one."""
    ip = ipaddress.ip_address(address.partition("%")[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    checks = (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("private", ip.is_private),
        ("non-public", ip.is_reserved or not ip.is_global),
    )
    return next((kind for kind, hit in checks if hit), None)


class AddressGuard:
    """Resolves a host and refuses it if any of its addresses is internal."""

    def __init__(self, allow_private: bool = False, resolver: Resolver = system_resolver):
        self.allow_private = allow_private
        self.resolver = resolver

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to; raises `Refused`, or ConnectError if unresolvable."""
        try:
            found = list(self.resolver(host, port))
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not found:
            raise httpcore.ConnectError(f"{host} resolves to no address")
        if not self.allow_private:
            for address in found:
                kind = internal_kind(address)
                if kind is not None:
                    shown = host if host == address else f"{host} resolves to {address}, which"
                    raise Refused(
                        f"{shown} is a {kind} address; webhooks to internal addresses need "
                        "PARCOURS_WEBHOOK_ALLOW_PRIVATE=true"
                    )
        return found

    def check_url(self, url: str | httpx.URL) -> list[str]:
        """`addresses` for a URL's host and port (a pre-flight check, raising what httpx
        would: `Refused`, or httpx.ConnectError if the host does not resolve)."""
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https"):
            raise Refused(f"only http and https URLs are webhook destinations, not {url}")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            return self.addresses(parsed.host, port)
        except httpcore.ConnectError as exc:
            raise httpx.ConnectError(str(exc)) from exc


class GuardedBackend(httpcore.NetworkBackend):
    """A network backend that connects only to addresses the guard accepted."""

    def __init__(self, guard: AddressGuard, inner: httpcore.NetworkBackend | None = None):
        self.guard = guard
        self.inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        failure: Exception | None = None
        for address in self.guard.addresses(host, port):
            try:
                return self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # the next address may answer
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise Refused("unix sockets are not webhook destinations")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool that connects through `GuardedBackend`.

    httpx takes no network backend, so the pool it built is replaced by an equivalent one
    that has it (httpx is pinned in constraints.txt; tests prove the guard is in the path).
    Environment proxies are ignored: a proxy would connect on our behalf, unchecked.
    """

    def __init__(
        self,
        guard: AddressGuard,
        *,
        limits: httpx.Limits | None = None,
        verify: ssl.SSLContext | bool = True,
        inner: httpcore.NetworkBackend | None = None,
    ) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        super().__init__(verify=verify, trust_env=False, limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(guard, inner),
        )


def guarded_client(
    guard: AddressGuard, timeout: float = 10.0, inner: httpcore.NetworkBackend | None = None
) -> httpx.Client:
    """An HTTP client for webhooks: guarded connections, no redirects, no env proxies."""
    return httpx.Client(
        transport=GuardedTransport(guard, inner=inner),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )
