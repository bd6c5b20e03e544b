# Formulas below use Greek letters on purpose (α, σ, ρ, ν, θ).
# ruff: noqa: RUF002, RUF003
"""Multiple-comparison corrections for several variants or persona breakdowns.

Testing m hypotheses at α each makes "at least one false winner" likely (1 - 0.95¹⁰ ≈ 40% for
ten personas). Adjusted p-values are compared with α as usual:

    holm  Holm-Bonferroni, controls the family-wise error rate (any false positive).
          Sorted p₍₁₎ ≤ … ≤ p₍ₘ₎:  p̃₍ᵢ₎ = maxⱼ≤ᵢ min(1, (m - j + 1) p₍ⱼ₎)
    bh    Benjamini-Hochberg, controls the false discovery rate (share of false winners).
          p̃₍ᵢ₎ = minⱼ≥ᵢ min(1, m p₍ⱼ₎ / j)
    none  unadjusted.

Comparisons without a p-value (degenerate arms) are not counted in m.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

Correction = Literal["none", "holm", "bh"]
CORRECTIONS: tuple[Correction, ...] = ("none", "holm", "bh")


def adjust_p_values(p_values: Sequence[float | None], method: Correction) -> list[float | None]:
    """Adjusted p-values in the input order; None stays None."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = list(p_values)
    if method == "none" or not indexed:
        return adjusted
    ranked = [p for p, _ in indexed]
    values = _holm(ranked) if method == "holm" else _benjamini_hochberg(ranked)
    for (_, index), value in zip(indexed, values, strict=True):
        adjusted[index] = value
    return adjusted


def _holm(sorted_p: list[float]) -> list[float]:
    m = len(sorted_p)
    out: list[float] = []
    running = 0.0
    for rank, p in enumerate(sorted_p):
        running = max(running, min(1.0, (m - rank) * p))
        out.append(running)
    return out


def _benjamini_hochberg(sorted_p: list[float]) -> list[float]:
    m = len(sorted_p)
    out = [0.0] * m
    running = 1.0
    for rank in range(m - 1, -1, -1):
        running = min(running, m * sorted_p[rank] / (rank + 1))
        out[rank] = running
    return out
