"""Signatures checked against the `standardwebhooks` reference library, rotation included."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from engine.webhooks.signing import (
    InvalidSecret,
    generate_secret,
    parse_secret,
    parse_secrets,
    signature,
    webhook_headers,
)

NOW = int(datetime.now(UTC).timestamp())  # the library refuses timestamps 5 min away


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
