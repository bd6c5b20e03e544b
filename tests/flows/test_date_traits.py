"""Date traits driving flows through the testing kit: a "trial ends in 3 days" email at
the right local moment, moved when the trait changes, for profiles long inactive."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from engine.testing import Simulation
from tests.flows.content import content_with

TRIAL_ENDING = "segment: trial_ending\npriority: 30\nwhen: {trait: trial_ends_at, in_next: 3d}\n"
REMINDER = "flow: reminder\ntrigger: {segment: trial_ending}\nsteps: [{email: welcome}]\n"


def trial_sim(tmp_path: Path) -> Simulation:
    content = content_with(tmp_path / "content", reminder=REMINDER)
    (content / "segments" / "trial.yaml").write_text(TRIAL_ENDING)
    return Simulation(content)  # starts Monday 2026-01-05 09:00 UTC


def sent_at(sim: Simulation, user: str) -> list[datetime]:
    return [d["sent_at"] for d in sim.deliveries(user) if d["status"] == "sent"]


def test_the_email_goes_exactly_three_days_before_the_trial_ends_in_the_users_zone(
    tmp_path: Path,
) -> None:
    with trial_sim(tmp_path) as sim:
        sim.identify(
            "ny",
            email="ny@example.com",
            first_name="Ann",
            trial_ends_at="2026-01-20",
            timezone="America/New_York",
        )
        sim.identify(
            "tokyo",
            email="t@example.com",
            first_name="Ken",
            trial_ends_at="2026-01-20",
            timezone="Asia/Tokyo",
        )
        sim.advance("271h")  # to Friday 16 January, 16:00 UTC
        assert sent_at(sim, "tokyo") == [datetime(2026, 1, 16, 15, 0, tzinfo=UTC)]  # 00:00 JST
        assert sent_at(sim, "ny") == []
        sim.advance("1d")
        assert sent_at(sim, "ny") == [datetime(2026, 1, 17, 5, 0, tzinfo=UTC)]  # 00:00 EST
        sim.advance("30d")  # the window closing and staying closed sends nothing more
        assert len(sent_at(sim, "ny")) == 1


def test_changing_the_trial_end_moves_the_email(tmp_path: Path) -> None:
    with trial_sim(tmp_path) as sim:
        sim.identify(
            "u", email="u@example.com", first_name="Ann", trial_ends_at="2026-01-10T12:00:00Z"
        )
        sim.advance("1d")
        sim.identify("u", trial_ends_at="2026-02-10T12:00:00Z")  # trial extended
        sim.advance("40d")
        assert sent_at(sim, "u") == [datetime(2026, 2, 7, 12, 0, tzinfo=UTC)]


def test_a_profile_inactive_for_a_month_still_gets_it(tmp_path: Path) -> None:
    with trial_sim(tmp_path) as sim:
        sim.identify(
            "u", email="u@example.com", first_name="Ann", trial_ends_at="2026-02-12T09:00:00Z"
        )
        sim.advance("40d")
        assert sent_at(sim, "u") == [datetime(2026, 2, 9, 9, 0, tzinfo=UTC)]


def test_a_trial_already_in_its_last_days_gets_it_at_once_and_garbage_never(
    tmp_path: Path,
) -> None:
    with trial_sim(tmp_path) as sim:
        sim.identify(
            "soon", email="s@example.com", first_name="Ann", trial_ends_at="2026-01-06T09:00:00Z"
        )
        sim.identify("junk", email="j@example.com", first_name="Ann", trial_ends_at="next tuesday")
        sim.advance("10d")
        assert sent_at(sim, "soon") == [datetime(2026, 1, 5, 9, 0, tzinfo=UTC)]
        assert sent_at(sim, "junk") == []


RENEWAL = """\
flow: renewal
trigger: {event: subscribed}
steps:
  - wait_until: {trait: renewal_at, offset: -7d}
    on_timeout: [{tip: shortcuts}]
  - email: welcome
"""


def renewal_sim(tmp_path: Path) -> Simulation:
    return Simulation(content_with(tmp_path / "content", renewal=RENEWAL))


def timers(sim: Simulation, user: str) -> list[datetime]:
    return [t["due_at"] for run in sim.journey(user) for t in run["timers"]]


def test_a_wait_ends_seven_days_before_the_renewal_and_follows_the_trait(
    tmp_path: Path,
) -> None:
    with renewal_sim(tmp_path) as sim:
        user = {"email": "u@example.com", "first_name": "Ann", "timezone": "Europe/Paris"}
        sim.identify("u", renewal_at="2026-02-20", **user)  # midnight in Paris
        sim.track("u", "subscribed")
        assert timers(sim, "u") == [datetime(2026, 2, 12, 23, 0, tzinfo=UTC)]
        sim.identify("u", renewal_at="2026-03-20")  # moved, in the identify's transaction
        assert timers(sim, "u") == [datetime(2026, 3, 12, 23, 0, tzinfo=UTC)]
        sim.advance("70d")
        assert sent_at(sim, "u") == [datetime(2026, 3, 12, 23, 0, tzinfo=UTC)]


def test_a_renewal_moved_into_the_past_ends_the_wait_on_the_identify(tmp_path: Path) -> None:
    with renewal_sim(tmp_path) as sim:
        sim.identify("u", email="u@example.com", first_name="Ann", renewal_at="2026-03-01")
        sim.track("u", "subscribed")
        sim.identify("u", renewal_at="2026-01-08T09:00:00Z")  # 7 days before: 1 January
        assert timers(sim, "u") == []
        assert sent_at(sim, "u") == [sim.start]


def test_without_a_renewal_date_the_on_timeout_steps_run_at_once(tmp_path: Path) -> None:
    with renewal_sim(tmp_path) as sim:
        sim.identify("u", email="u@example.com", first_name="Ann")
        sim.track("u", "subscribed")
        assert [d["content"] for d in sim.deliveries("u")] == ["shortcuts", "welcome"]


def test_an_exit_when_on_a_date_ends_the_run_when_the_date_comes(tmp_path: Path) -> None:
    flow = (
        "flow: trial\ntrigger: {event: trial_started}\n"
        "exit_when: {trait: trial_ends_at, before: now}\n"
        "steps: [{wait: 30d}, {email: welcome}]\n"
    )
    with Simulation(content_with(tmp_path / "content", trial=flow)) as sim:
        sim.identify("u", email="u@example.com", first_name="Ann", trial_ends_at="2026-01-10")
        sim.track("u", "trial_started")
        sim.advance("40d")
        [run] = sim.journey("u")
        assert (run["status"], run["end_reason"]) == ("exited", "exit condition holds")
        assert run["ended_at"] == datetime(2026, 1, 10, tzinfo=UTC)
        assert sent_at(sim, "u") == []
