"""Signatures checked against the `standardwebhooks` reference library, rotation included."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, tzinfo

import pytest
import standardwebhooks.webhooks
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from engine.clock import FrozenClock
from engine.webhooks.signing import (
    InvalidSecret,
    generate_secret,
    parse_secret,
    parse_secrets,
    signature,
    webhook_headers,
)

START = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
NOW = int(START.timestamp())


@pytest.fixture(autouse=True)
def library_clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    """The library compares `webhook-timestamp` with `datetime.now()` (5 min tolerance):
    its reading is pinned to a FrozenClock at NOW, so no test depends on when, or how long,
    the suite runs."""
    clock = FrozenClock(START)

    class Pinned(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Pinned:
            now = clock.now()
            return cls.fromtimestamp(now.timestamp(), tz or now.tzinfo)

    monkeypatch.setattr(standardwebhooks.webhooks, "datetime", Pinned)
    return clock


def test_a_signed_request_verifies_with_the_reference_library() -> None:
    secret = generate_secret()
    body = b'{"type":"stage.entered","data":{"user_id":"sophie"}}'
    headers = webhook_headers([parse_secret(secret)], "msg_1", NOW, body)

    assert Webhook(secret).verify(body, headers)["data"] == {"user_id": "sophie"}
    assert headers["webhook-timestamp"] == str(NOW)
    assert headers["webhook-signature"].startswith("v1,")


def test_the_signature_is_the_hmac_of_id_timestamp_and_body() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the example of the specification
    key = parse_secret(secret)
    expected = Webhook(secret).sign(
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        datetime.fromtimestamp(1614265330, UTC),
        '{"test": 2432232314}',
    )

    assert (
        signature([key], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
        == expected
    )
    assert expected == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_during_a_rotation_both_secrets_sign_and_each_verifies_alone() -> None:
    old, new = generate_secret(), generate_secret()
    body = b"{}"
    headers = webhook_headers(parse_secrets(f"{new}  {old}"), "msg_2", NOW, body)

    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(body, headers) == {}
    assert Webhook(new).verify(body, headers) == {}


def test_the_library_refuses_a_timestamp_beyond_its_tolerance(
    library_clock: FrozenClock,
) -> None:
    secret = generate_secret()
    headers = webhook_headers([parse_secret(secret)], "msg_4", NOW, b"{}")

    library_clock.advance(timedelta(minutes=6))
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(b"{}", headers)
    library_clock.advance(timedelta(minutes=-2))  # 4 minutes late: inside the tolerance
    assert Webhook(secret).verify(b"{}", headers) == {}


def test_without_keys_the_request_is_unsigned() -> None:
    assert "webhook-signature" not in webhook_headers([], "msg_3", NOW, b"{}")


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "starts with 'whsec_'"),
        ("whsec_not base64!", "followed by base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "24 to 64 bytes, not 5"),
    ],
)
def test_malformed_secrets_are_refused_with_a_reason(secret: str, message: str) -> None:
    with pytest.raises(InvalidSecret, match=message):
        parse_secret(secret)


def test_generated_secrets_are_distinct_and_valid() -> None:
    first, second = generate_secret(), generate_secret()
    assert first != second
    assert len(parse_secret(first)) == 32
