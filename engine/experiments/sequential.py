# Formulas below use Greek letters on purpose (α, σ, ρ, ν, θ).
# ruff: noqa: RUF002, RUF003
"""Always-valid intervals: asymptotic confidence sequences (Waudby-Smith et al., 2023).

A fixed-horizon interval is valid once, at a sample size chosen in advance; checked every day,
"stop at the first significant look" pushes the false-positive rate far above α. A confidence
sequence holds at every sample size at once, P(∀n: lift ∈ CSₙ) ≥ 1 - α, so results can be read
daily. For an estimate θ̂ with standard error se after n users in the comparison (both arms),
σ̂² = n·se² and (Theorem 2.2 of arXiv:2103.06476, gbstats' form)

    half-width = σ̂ · √( 2(nρ² + 1) / (n²ρ²) · ln( √(nρ² + 1) / α ) )

The mixing parameter ρ sets where the sequence is tightest. It is tuned so the width is nearly
minimal at n = N (the tuning parameter, default 5,000 users in the comparison):

    ρ = √( (-2 ln α + ln(-2 ln α + 1)) / N )

Choose N near the sample size at which you expect to decide: smaller N tightens early looks and
loosens late ones. The matching always-valid p-value is min(1, 1/E) with the e-value
(eq. 155 of the same paper)

    E = exp( ρ² n θ̂² / (2 se² (nρ² + 1)) ) / √(nρ² + 1)

and p ≤ α exactly when the sequence excludes 0.
"""

from __future__ import annotations

import math

DEFAULT_TUNING = 5000.0


def mixing_rho(alpha: float, tuning: float = DEFAULT_TUNING) -> float:
    """ρ that makes the sequence (nearly) narrowest at n = tuning."""
    log_term = -2.0 * math.log(alpha)
    return math.sqrt((log_term + math.log(log_term + 1.0)) / tuning)


def sequential_halfwidth(
    standard_error: float, users: int, alpha: float, tuning: float = DEFAULT_TUNING
) -> float:
    """Half-width of the confidence sequence after `users` users (both arms together)."""
    rho = mixing_rho(alpha, tuning)
    n_rho2 = users * rho * rho
    sigma = standard_error * math.sqrt(users)
    factor = 2.0 * (n_rho2 + 1.0) / (users * n_rho2) * math.log(math.sqrt(n_rho2 + 1.0) / alpha)
    return sigma * math.sqrt(factor)


def sequential_interval(
    point: float, standard_error: float, users: int, alpha: float, tuning: float = DEFAULT_TUNING
) -> tuple[float, float]:
    """θ̂ ± half-width: valid at every look."""
    width = sequential_halfwidth(standard_error, users, alpha, tuning)
    return (point - width, point + width)


def sequential_p_value(
    point: float, standard_error: float, users: int, alpha: float, tuning: float = DEFAULT_TUNING
) -> float:
    """Always-valid p-value min(1, 1/E); `alpha` only picks ρ, as for the interval."""
    rho = mixing_rho(alpha, tuning)
    n_rho2p1 = users * rho * rho + 1.0
    exponent = rho * rho * users * point * point / (2.0 * standard_error**2 * n_rho2p1)
    # log(1/E) = ½ ln(nρ²+1) - exponent; clamp before exp so a huge effect cannot overflow.
    log_p = 0.5 * math.log(n_rho2p1) - exponent
    return 1.0 if log_p >= 0 else math.exp(max(log_p, -745.0))
