"""Audience: which stages a profile has entered and which persona segments it belongs to.

`evaluate` holds the pure part (conditions against plain facts); the service that loads
facts from the store and records entries and memberships builds on it.
"""

from engine.audience.evaluate import (
    AudienceUpdate,
    EventFact,
    ProfileFacts,
    entered_stages,
    evaluate,
    matching_segments,
    primary_persona,
    update_audience,
)
from engine.catalog.dependencies import Dependencies, dependencies

__all__ = [
    "AudienceUpdate",
    "Dependencies",
    "EventFact",
    "ProfileFacts",
    "dependencies",
    "entered_stages",
    "evaluate",
    "matching_segments",
    "primary_persona",
    "update_audience",
]
