"""Event time with client clock skew removed, the way Segment computes `timestamp`.

A device clock can be hours off. The SDK stamps each message when it is created
(`originalTimestamp`, or `timestamp` as the Python/RudderStack SDKs send it) and the
request when it is sent (`sentAt`), both on the device clock; their difference is how long
the message waited on the device, which is independent of the skew. So

    timestamp = received_at - (sent_at - original_timestamp)

is the event time on the server clock. Without `sentAt` there is nothing to correct with
and the client's time is used as given (historical imports); without any client time the
receive time is used.

Every client time is read within EARLIEST..LATEST (`schemas.Timestamp`), and the event time
is then clamped to EARLIEST..received_at: nothing happens after it is received (a `sentAt`
before the event, or a device clock years ahead, is a broken client), and a stored time
never leaves the range the dashboard's date arithmetic works in.
"""

from __future__ import annotations

from datetime import UTC, datetime

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # a device whose clock was reset sends 1970
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def corrected_timestamp(
    *, original: datetime | None, sent_at: datetime | None, received_at: datetime
) -> datetime:
    if original is None:
        return received_at
    at = original if sent_at is None else received_at - (sent_at - original)
    return max(min(at, received_at), EARLIEST)
