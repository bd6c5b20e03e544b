"""Deterministic assignment of a profile to a variant (pure: no database, no settings).

    bucket = int(sha256(f"{key}:{salt}:{subject}")[:8]) mod 10,000
    variant = the first variant whose cumulative weight share exceeds bucket / 10,000

`subject` is the profile's user id, or its profile id when it is anonymous, so the SaaS app
can compute the same bucket from its own user ids. The split is a pure function of the
definition; what makes it sticky is the stored assignment (engine.experiments.service), so
changing weights or adding a variant moves only profiles that were never exposed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from engine.catalog.catalog import Catalog
from engine.catalog.definitions import HOLDOUT_VARIANT, Experiment

BUCKETS = 10_000


def subject_of(profile_id: int, user_id: str | None) -> str:
    """What the hash is taken of: the user id, else (anonymous profile) the profile id."""
    return user_id if user_id is not None else str(profile_id)


def bucket_of(key: str, salt: str, subject: str) -> int:
    """A uniform bucket in [0, 10000), the same for the same key, salt and subject forever."""
    digest = hashlib.sha256(f"{key}:{salt}:{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def variant_for(variants: Mapping[str, int], bucket: int) -> str:
    """The variant whose slice of [0, 10000), in declaration order, holds `bucket`."""
    total = sum(variants.values())
    cumulative = 0
    for name, weight in variants.items():
        cumulative += weight
        # Integer arithmetic: with weights in percent each slice is exactly weight * 100.
        if bucket * total < cumulative * BUCKETS:
            return name
    return next(reversed(list(variants)))  # unreachable for buckets below BUCKETS


def choose(experiment: Experiment, subject: str) -> tuple[str, int]:
    """The variant and bucket a first exposure gives `subject`."""
    bucket = bucket_of(experiment.key, experiment.salt, subject)
    return variant_for(experiment.variants, bucket), bucket


def is_holdout_variant(experiment: Experiment, variant: str) -> bool:
    """True for the control of an experiment whose control receives nothing."""
    return experiment.holdout and variant == experiment.control


def in_global_holdout(catalog: Catalog, *, profile_id: int, user_id: str | None) -> bool:
    """Whether the catalog's global holdout would hold this profile out of all onboarding.

    A pure preview (simulations, dashboards). The runtime uses
    `service.assign_global_holdout`, which also records the exposure and stays sticky when an
    anonymous profile is later identified (its hash subject changes then).
    """
    if catalog.holdout is None:
        return False
    variant, _ = choose(catalog.holdout.experiment, subject_of(profile_id, user_id))
    return variant == HOLDOUT_VARIANT
