"""The SSRF guard refuses internal destinations before any connection is made.

No test here sends traffic beyond 127.0.0.1: refusals are checked with a network backend
that records (and forbids) connections, and with resolvers that answer from a table.
"""

from __future__ import annotations

import typing

import httpcore
import httpx
import pytest

from engine.webhooks.guard import AddressGuard, Refused, guarded_client, internal_kind
from engine.webhooks.sender import WebhookSender
from tests.webhooks.receiver import Receiver


class NoConnections(httpcore.NetworkBackend):
    """Records every connection attempt, and makes none."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, int]] = []

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        self.attempts.append((host, port))
        raise httpcore.ConnectError("the test forbids connections")


def table_resolver(table: dict[str, list[str]]) -> typing.Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        if host in table:
            return table[host]
        raise OSError(f"{host} is not in the test's table")

    return resolve


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::ffff:10.0.0.1", "private"),
        ("100.64.0.1", "non-public"),
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
    ],
)
def test_internal_addresses_are_recognised(address: str, kind: str | None) -> None:
    assert internal_kind(address) == kind


@pytest.mark.parametrize(
    ("url", "table", "message"),
    [
        ("http://10.0.0.1/hook", {"10.0.0.1": ["10.0.0.1"]}, "10.0.0.1 is a private address"),
        ("http://127.0.0.1:8080/", {"127.0.0.1": ["127.0.0.1"]}, "is a loopback address"),
        (
            "https://hooks.example.com/h",
            {"hooks.example.com": ["93.184.216.34", "10.9.8.7"]},
            "hooks.example.com resolves to 10.9.8.7, which is a private address",
        ),
        ("http://metadata.test/", {"metadata.test": ["169.254.169.254"]}, "link-local"),
    ],
)
def test_refusal_happens_before_any_connection(
    url: str, table: dict[str, list[str]], message: str
) -> None:
    backend = NoConnections()
    guard = AddressGuard(resolver=table_resolver(table))

    with guarded_client(guard, inner=backend) as client, pytest.raises(Refused, match=message):
        client.post(url, content=b"{}")
    assert backend.attempts == []


def test_a_name_resolving_to_loopback_is_refused_with_the_system_resolver() -> None:
    backend = NoConnections()
    expected = r"localhost resolves to .* loopback address"

    with (
        guarded_client(AddressGuard(), inner=backend) as client,
        pytest.raises(Refused, match=expected),
    ):
        client.post("http://localhost:9/hook", content=b"{}")
    assert backend.attempts == []


def test_the_sender_reports_a_refusal_as_a_permanent_failure(receiver: Receiver) -> None:
    with WebhookSender(AddressGuard(allow_private=False)) as sender:
        attempt = sender.deliver(f"{receiver.url}/hook", "msg_1", {"type": "x"}, [])

    assert attempt.outcome == "failed"
    assert attempt.error is not None
    assert "refused: 127.0.0.1 is a loopback address" in attempt.error
    assert "PARCOURS_WEBHOOK_ALLOW_PRIVATE=true" in attempt.error
    assert receiver.requests == []  # nothing reached the receiver


def test_allowing_private_addresses_reaches_the_local_receiver(
    receiver: Receiver, sender: WebhookSender
) -> None:
    attempt = sender.deliver(f"{receiver.url}/hook", "msg_1", {"type": "x"}, [])

    assert (attempt.outcome, attempt.status_code, attempt.response) == ("sent", 200, "answer 200")
    assert len(receiver.hits("/hook")) == 1


def test_connections_go_to_the_addresses_that_were_checked(receiver: Receiver) -> None:
    """The name resolves only in the guard's table: the connection uses the checked
    address, not a second DNS answer (which DNS rebinding could change)."""
    port = httpx.URL(receiver.url).port
    assert port is not None
    guard = AddressGuard(
        allow_private=True, resolver=table_resolver({"pinned.test": ["127.0.0.1"]})
    )
    with WebhookSender(guard) as sender:
        attempt = sender.deliver(f"http://pinned.test:{port}/hook", "msg_1", {}, [])

    assert attempt.outcome == "sent"
    assert receiver.hits("/hook")[0].headers["host"] == f"pinned.test:{port}"


def test_redirects_are_refused_and_not_followed(receiver: Receiver, sender: WebhookSender) -> None:
    attempt = sender.deliver(f"{receiver.url}/redirect", "msg_1", {}, [])

    assert (attempt.outcome, attempt.status_code) == ("failed", 307)
    assert attempt.error == f"redirect to '{receiver.url}/elsewhere' not followed"
    assert receiver.hits("/elsewhere") == []


def test_a_client_passed_in_gets_a_preflight_check() -> None:
    seen: list[httpx.Request] = []
    client = httpx.Client(
        transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200))
    )
    with WebhookSender(AddressGuard(), client=client) as sender:
        attempt = sender.deliver("http://10.0.0.1/hook", "msg_1", {}, [])

    assert attempt.outcome == "failed"
    assert seen == []


def test_an_unresolvable_host_is_a_transient_failure() -> None:
    with WebhookSender(AddressGuard(resolver=table_resolver({}))) as sender:
        attempt = sender.deliver("https://nowhere.test/hook", "msg_1", {}, [])

    assert attempt.outcome == "retry"
    assert attempt.error is not None
    assert "cannot resolve nowhere.test" in attempt.error


def test_the_preflight_reports_an_unresolvable_host_as_transient() -> None:
    client = httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(200)))
    guard = AddressGuard(resolver=table_resolver({}))

    with WebhookSender(guard, client=client) as sender:
        attempt = sender.deliver("https://nowhere.test/hook", "msg_1", {}, [])

    assert attempt.outcome == "retry"
    assert (
        attempt.error
        == "ConnectError: cannot resolve nowhere.test: nowhere.test is not in the test's table"
    )
