"""Sample-ratio mismatch: do the arms' user counts match the configured split?

A split that drifts from its design weights means assignment or exposure logging is broken
(a redirect losing users, a bot filter hitting one arm), and every other number in the report
is then suspect. Pearson's chi-square goodness-of-fit over all arms, as gbstats:

    eᵢ = N · wᵢ / Σw        χ² = Σ (oᵢ - eᵢ)² / eᵢ        p = P(χ²_{k-1} ≥ χ²)

A p-value below 0.001 is the conventional alarm: with daily checks a looser threshold would cry
wolf, and real mismatches are usually far more extreme.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scipy import special

SRM_THRESHOLD = 0.001


@dataclass(frozen=True)
class SrmResult:
    """Chi-square test of the split; `reason` says why no p-value could be computed."""

    p_value: float | None
    chi_square: float | None
    reason: str | None = None

    @property
    def warning(self) -> str | None:
        """A sentence for the report when the split is off, else None."""
        if self.p_value is None or self.p_value >= SRM_THRESHOLD:
            return None
        return (
            f"Sample ratio mismatch: p = {self.p_value:.2g} < {SRM_THRESHOLD}. The users per "
            "variant do not match the configured weights; assignment or exposure logging is "
            "likely broken, so lifts may be biased. Investigate before trusting these results."
        )


def srm_test(users: Sequence[int], weights: Sequence[float]) -> SrmResult:
    """Chi-square test of observed users per arm against design weights (any positive scale)."""
    if len(users) != len(weights):
        return SrmResult(None, None, "weights_mismatch")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        return SrmResult(None, None, "invalid_weights")
    total = sum(users)
    if total == 0:
        return SrmResult(None, None, "no_users")
    if any(n > 0 and w == 0 for n, w in zip(users, weights, strict=True)):
        # Users in an arm designed to get none: as mismatched as a split can be.
        return SrmResult(0.0, None, "users_in_zero_weight_arm")
    arms = [(n, w) for n, w in zip(users, weights, strict=True) if w > 0]
    if len(arms) < 2:
        return SrmResult(None, None, "single_arm")
    weight_total = sum(w for _, w in arms)
    chi_square = 0.0
    for observed, weight in arms:
        expected = total * weight / weight_total
        chi_square += (observed - expected) ** 2 / expected
    p_value = float(special.chdtrc(len(arms) - 1, chi_square))
    return SrmResult(p_value=p_value, chi_square=chi_square)
