"""Turn a run's decisions into rows: journey entries, deliveries, in-app items.

A delivery row is unique per (run, step), so a step is delivered at most once per run. In-app
items are written with it, in the same transaction (delivered at once); emails and webhooks
stay `pending` until the dispatcher sends them after commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.catalog.catalog import Catalog
from engine.catalog.internal_events import INAPP_KINDS
from engine.flows.interpreter import Deliver, Note
from engine.flows.writes import PlannedDelivery, RunWrites

INAPP = INAPP_KINDS


def record_decisions(
    writes: RunWrites,
    catalog: Catalog,
    now: datetime,
    run: Mapping[str, Any],
    decisions: tuple[Deliver | Note, ...],
    locale: Any = None,
) -> None:
    for decision in decisions:
        if isinstance(decision, Note):
            writes.journey.append(
                journey_row(
                    run, now, decision.step, decision.kind, decision.outcome, decision.detail
                )
            )
            continue
        row, item = _delivery(catalog, now, run, decision, locale)
        status, reason = row["status"], row["reason"]
        detail = {"content": decision.content} | ({"reason": reason} if reason else {})
        outcome = "delivered" if status == "sent" else status
        entry = journey_row(run, now, decision.step, decision.channel, outcome, detail)
        writes.journey.append(entry)
        writes.deliveries.append(PlannedDelivery(row, item, entry))


def journey_row(
    run: Mapping[str, Any], now: datetime, step: str | None, kind: str, outcome: str, detail: Any
) -> dict[str, Any]:
    return {
        "run_id": run["id"],
        "at": now,
        "step": step,
        "kind": kind,
        "outcome": outcome,
        "detail": detail,
    }


def _delivery(
    catalog: Catalog, now: datetime, run: Mapping[str, Any], decision: Deliver, locale: Any
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The delivery row, and the in-app item it shows (if any)."""
    content = _inapp_content(catalog, decision, locale) if decision.channel in INAPP else None
    status, reason = "pending", None
    if decision.channel in INAPP:
        status = "sent" if content is not None else "skipped"
        reason = None if content is not None else f"{decision.channel} no longer in the catalog"
    row = {
        "run_id": run["id"],
        "profile_id": run["profile_id"],
        "flow": run["flow"],
        "step": decision.step,
        "channel": decision.channel,
        "content": decision.content,
        "status": status,
        "reason": reason,
        "attempts": 1 if status == "sent" else 0,
        "next_attempt_at": now if status == "pending" else None,
        "created_at": now,
        "updated_at": now,
        "sent_at": now if status == "sent" else None,
    }
    item = None
    if content is not None:
        fields, priority, expires = content
        item = {
            "profile_id": run["profile_id"],
            "kind": decision.channel,
            "name": decision.content,
            "priority": priority,
            "content": fields | {"flow": run["flow"], "step": decision.step, "run_id": run["id"]},
            "status": "pending",
            "created_at": now,
            "updated_at": now,
            "expires_at": None if expires is None else now + expires,
        }
    return row, item


def _inapp_content(
    catalog: Catalog, decision: Deliver, locale: Any
) -> tuple[dict[str, Any], int, Any] | None:
    """The item's words in the profile's language (fr-CA, then fr, then the default)."""
    if decision.channel == "tip":
        tip = catalog.tips.get(decision.content)
        if tip is None:
            return None
        text = _translation(tip.translations, locale) or tip
        item = {"title": text.title, "body": text.body, "target": tip.target}
        return item, tip.priority, tip.expires
    tutorial = catalog.tutorials.get(decision.content)
    if tutorial is None:
        return None
    words = _translation(tutorial.translations, locale)
    texts = words.steps if words else tutorial.steps
    pages = [
        {"target": page.target, "title": text.title, "body": text.body}
        for page, text in zip(tutorial.steps, texts, strict=True)
    ]
    return {"title": (words or tutorial).title, "steps": pages}, tutorial.priority, tutorial.expires


def _translation(translations: Mapping[str, Any], locale: Any) -> Any:
    if not isinstance(locale, str) or not locale:
        return None
    tag = locale.replace("_", "-")
    return translations.get(tag) or translations.get(tag.split("-")[0].lower())
