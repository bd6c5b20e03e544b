"""The events Parcours itself writes, named in one place.

Stage and segment changes and experiment exposures are stored with type `internal`. In-app
outcomes, email engagement and survey answers are stored as `track` events, so flows,
stages and segments can use them like the app's own; but they record what the onboarding
did and how users answered it, so models must not learn from them by default
(engine.ml.features: a model would learn what Parcours did, not who the user is).
"""

from __future__ import annotations

STAGE_ENTERED = "stage_entered"
SEGMENT_ENTERED = "segment_entered"
SEGMENT_EXITED = "segment_exited"
EXPERIMENT_EXPOSED = "experiment_exposed"

INAPP_KINDS = ("tutorial", "tip")
INAPP_OUTCOMES = ("seen", "completed", "dismissed")

EMAIL_OPENED = "email_opened"
EMAIL_CLICKED = "email_clicked"
UNSUBSCRIBED = "unsubscribed"
SURVEY_ANSWERED = "survey_answered"  # DESIGN.md's survey answers, when surveys ship
# Sent by parcours.js (docs/browser.md): a tutorial step shown, a target selector not found.
TUTORIAL_STEP_VIEWED = "tutorial_step_viewed"
ANCHOR_MISSING = "anchor_missing"


def inapp_outcome(kind: str, outcome: str) -> str:
    """`tutorial_completed`, `tip_dismissed`, ...: the event of an in-app item's outcome."""
    return f"{kind}_{outcome}"


INTERNAL_EVENTS: frozenset[str] = frozenset(
    {
        STAGE_ENTERED,
        SEGMENT_ENTERED,
        SEGMENT_EXITED,
        EXPERIMENT_EXPOSED,
        EMAIL_OPENED,
        EMAIL_CLICKED,
        UNSUBSCRIBED,
        SURVEY_ANSWERED,
        TUTORIAL_STEP_VIEWED,
        ANCHOR_MISSING,
        *(inapp_outcome(kind, outcome) for kind in INAPP_KINDS for outcome in INAPP_OUTCOMES),
    }
)
"""Every event name the engine writes itself."""
