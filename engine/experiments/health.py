"""Health checks beside the sample-ratio check: profiles exposed to more than one variant.

Assignment is sticky per profile, but a person can have two profiles (an anonymous visitor,
then a signed-up user) exposed separately, in different variants, that identity resolution
merges later. The merged person saw both variants. The rule, documented in
docs/experiments.md ("Health checks"): the surviving profile keeps its own assignment and
stays counted in it, like any other exposure; excluding profiles after the fact would select
on something the variant may cause (identifying sooner, say) and bias the comparison. They
are counted (`experiment_mixed_exposures`) and flagged instead, with a warning from
`WARNING_SHARE` of the exposed profiles, where the mixing starts to pull the lift to zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

WARNING_SHARE = 0.01
RULE = "kept in the surviving profile's variant"


@dataclass(frozen=True)
class MixedExposures:
    """Profiles that saw two variants, per variant kept, and the warning if there are many."""

    profiles: int
    by_variant: Mapping[str, int]
    share: float | None  # of the exposed profiles; None with nobody exposed
    warning: str | None


def mixed_exposures(by_variant: Mapping[str, int], exposed: int) -> MixedExposures:
    profiles = sum(by_variant.values())
    share = profiles / exposed if exposed else None
    warning = None
    if share is not None and share >= WARNING_SHARE:
        warning = (
            f"{profiles:,} exposed profiles ({share:.1%}) saw more than one variant after "
            "identities merged; they are kept in one variant, which pulls lifts towards 0"
        )
    return MixedExposures(profiles, dict(by_variant), share, warning)
