"""`parcours simulate`: one profile's journey through the catalog on a virtual clock.

Input: a profile (`{"user_id": ..., "traits": {...}}`) and events as JSON lines, each
`{"at": "2h", "event": "signed_up", "properties": {...}}` (a track call) or
`{"at": "1d", "traits": {...}}` (an identify call), `at` counted from the start. Nothing is
sent: emails go to a throwaway outbox, webhooks to a recording channel.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from engine.catalog.fields import Duration
from engine.testing import InvalidContent, Simulation

T = TypeVar("T")
_DURATION: TypeAdapter[timedelta] = TypeAdapter(Duration)


class InputError(Exception):
    """A `file:line: message` problem with the profile or events file."""


@dataclass(frozen=True)
class Step:
    at: timedelta
    message: dict[str, Any]


def read_profile(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}:1: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("user_id"), str):
        raise InputError(f'{path}:1: expected {{"user_id": "...", "traits": {{...}}}}')
    traits = data.get("traits", {})
    if not isinstance(traits, dict):
        raise InputError(f"{path}:1: traits must be an object")
    return data["user_id"], traits


def read_events(path: Path, user_id: str) -> list[Step]:
    """Every step of the events file; raises InputError naming every bad line at once."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise InputError(f"{path}:1: {exc}") from exc
    steps: list[Step] = []
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            steps.append(_step(path, number, line, user_id, steps[-1].at if steps else None))
        except InputError as exc:
            problems.append(str(exc))
    if problems:
        raise InputError("\n".join(problems))
    return steps


def _step(path: Path, number: int, line: str, user_id: str, previous: timedelta | None) -> Step:
    where = f"{path}:{number}"
    try:
        data = json.loads(line)
        at = _offset(data.get("at"))
    except (json.JSONDecodeError, ValidationError, AttributeError) as exc:
        raise InputError(f"{where}: {str(exc).splitlines()[0]}") from exc
    if previous is not None and at < previous:
        raise InputError(f"{where}: events must be in time order ('at' went back)")
    if "event" in data:
        _expect(where, data["event"], str, "'event' must be a string")
        _expect(where, data.get("properties", {}), dict, "'properties' must be an object")
        message = {
            "type": "track",
            "event": data["event"],
            "properties": data.get("properties", {}),
        }
    elif "traits" in data:
        _expect(where, data["traits"], dict, "'traits' must be an object")
        message = {"type": "identify", "traits": data["traits"]}
    else:
        raise InputError(f"{where}: expected an 'event' or 'traits' key")
    return Step(at, message | {"userId": user_id})


def _expect(where: str, value: Any, kind: type, message: str) -> None:
    if not isinstance(value, kind) or value == "":
        raise InputError(f"{where}: {message}")


def _offset(value: Any) -> timedelta:
    """`at` as a duration from the start; absent or zero ("0m") is the start itself."""
    if value is None or (isinstance(value, str) and value.strip().rstrip("mhdw") in ("0", "")):
        return timedelta(0)
    return _DURATION.validate_python(value)


def simulate(content: Path, profile: Path, events: Path, until: str) -> list[str]:
    """The timeline lines; raises InputError or InvalidContent with every location."""
    problems: list[str] = []
    user_id, traits = _collect(problems, read_profile, profile) or ("", {})
    steps = _collect(problems, read_events, events, user_id) or []
    try:
        horizon = _DURATION.validate_python(until)
    except ValidationError as exc:
        problems.append(f"--until: {exc.errors()[0]['msg']}")
    if problems:
        raise InputError("\n".join(problems))
    inside = [step for step in steps if step.at <= horizon]
    with Simulation(content) as sim:
        sim.identify(user_id, **traits)
        for step in inside:
            if step.at > sim.clock.now() - sim.start:
                sim.advance(step.at - (sim.clock.now() - sim.start))
            sim.send(step.message)
        remaining = horizon - (sim.clock.now() - sim.start)
        if remaining > timedelta(0):
            sim.advance(remaining)
        lines = sim.timeline(user_id)
    if len(inside) < len(steps):
        lines.append(f"{len(steps) - len(inside)} later event(s) not sent: after --until {until}")
    return lines


def _collect(problems: list[str], read: Callable[..., T], *args: Any) -> T | None:
    """`read(*args)`, or None with its problems added, so both files are reported at once."""
    try:
        return read(*args)
    except InputError as exc:
        problems.append(str(exc))
        return None


__all__ = ["InputError", "InvalidContent", "simulate"]
