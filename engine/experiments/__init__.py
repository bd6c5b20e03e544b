"""Experiments: assignment of profiles to variants and the statistics of their results.

In the engine (docs/experiments.md):

    assignment.py   the deterministic hash and split of a profile (pure)
    service.py      sticky assignment and exposure events for the flow runtime, the global
                    holdout, the experiment list and results
    repository.py   every SQL statement: assignments, per-(variant, persona) metric sums
    results.py      from SQL sums to the results document (pure)
    schemas.py      response models; endpoints.py the admin API; commands.py the CLI report

The statistics are pure (no database, no HTTP, no settings) and work on per-arm sufficient
statistics, so SQL aggregates and CSV exports feed the same code:

    arms.py         ArmStats: n, Σy, Σy² (and Σx, Σx², Σxy for CUPED)
    effects.py      absolute/relative lifts, Welch t, delta method, CUPED
    bayesian.py     chance to win and risk
    sequential.py   always-valid confidence sequences
    srm.py          sample-ratio mismatch
    corrections.py  Holm and Benjamini-Hochberg adjusted p-values
    planning.py     minimum detectable effect and days needed
    statistics.py   compare_arms: one variant against control, every statistic
    summary.py      a whole experiment and its per-segment breakdown
    analyze.py      offline analysis of an exported CSV (`parcours experiments analyze`)

Formulas and the JSON shape are documented in docs/experiments.md.
"""
