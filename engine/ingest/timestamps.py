"""Event time with client clock skew removed, the way Segment computes `timestamp`.

A device clock can be hours off. The SDK stamps each message when it is created
(`originalTimestamp`, or `timestamp` as the Python/RudderStack SDKs send it) and the
request when it is sent (`sentAt`), both on the device clock; their difference is how long
the message waited on the device, which is independent of the skew. So

    timestamp = received_at - (sent_at - original_timestamp)

is the event time on the server clock. Without `sentAt` there is nothing to correct with
and the client's time is used as given (historical imports); without any client time the
receive time is used. A result later than `received_at` (sentAt before the event: a
corrupt client) is clamped to `received_at`.
"""

from __future__ import annotations

from datetime import datetime


def corrected_timestamp(
    *, original: datetime | None, sent_at: datetime | None, received_at: datetime
) -> datetime:
    if original is None:
        return received_at
    if sent_at is None:
        return original
    return min(received_at - (sent_at - original), received_at)
