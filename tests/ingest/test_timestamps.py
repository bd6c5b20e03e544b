from datetime import UTC, datetime, timedelta

from engine.ingest.timestamps import EARLIEST, corrected_timestamp

RECEIVED = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_skew_is_removed_using_sent_at() -> None:
    # Device 2 h slow; the event sat 30 s in the SDK queue.
    sent = RECEIVED - timedelta(hours=2)
    original = sent - timedelta(seconds=30)
    got = corrected_timestamp(original=original, sent_at=sent, received_at=RECEIVED)
    assert got == RECEIVED - timedelta(seconds=30)


def test_without_sent_at_the_client_time_is_kept() -> None:
    historical = datetime(2025, 1, 1, tzinfo=UTC)
    assert (
        corrected_timestamp(original=historical, sent_at=None, received_at=RECEIVED) == historical
    )


def test_without_client_time_the_receive_time_is_used() -> None:
    assert corrected_timestamp(original=None, sent_at=RECEIVED, received_at=RECEIVED) == RECEIVED


def test_an_event_sent_before_it_happened_is_clamped() -> None:
    got = corrected_timestamp(
        original=RECEIVED, sent_at=RECEIVED - timedelta(minutes=5), received_at=RECEIVED
    )
    assert got == RECEIVED


def test_an_event_after_its_receive_time_is_clamped_without_sent_at_too() -> None:
    ahead = RECEIVED + timedelta(days=3650)
    assert corrected_timestamp(original=ahead, sent_at=None, received_at=RECEIVED) == RECEIVED


def test_a_correction_before_1970_is_clamped_to_1970() -> None:
    sent = datetime(2099, 1, 1, tzinfo=UTC)
    got = corrected_timestamp(original=EARLIEST, sent_at=sent, received_at=RECEIVED)
    assert got == EARLIEST
