"""`parcours experiments export KEY --csv FILE`: the per-user file of a live experiment.

The file is the one `parcours experiments analyze` and `parcours personas insight` read
(docs/experiments.md, "Offline analysis"), one row per profile counted in the primary
metric, i.e. exposed at least its window ago (or everyone exposed, in progress):

    user_id     the profile's user id, else `profile:<id>` (an anonymous profile)
    variant     the stored assignment
    converted   the primary metric for a rate metric; for a mean metric, 1 if its value > 0
    segment     the persona at exposure, blank for none
    pre_metric  the primary metric's CUPED covariate (engine.experiments.covariates)
    value       the primary metric, for a mean metric only

Rows come variant by variant in the experiment's order (so the analysis sees the control
first) and are streamed, never held in memory. The values are computed from the events
and stage entries themselves, not from the folded sums, so analysing the file checks the
live report: both give the same numbers (tests/experiments/test_export.py).
"""

from __future__ import annotations

import csv
from datetime import datetime
from typing import TextIO

from sqlalchemy import Connection

from engine.experiments import repository as repo
from engine.experiments.service import KnownExperiment


def write_export(
    conn: Connection,
    entry: KnownExperiment,
    out: TextIO,
    now: datetime,
    *,
    include_in_progress: bool = False,
) -> int:
    """Write the experiment's per-user rows to `out` as CSV; the number of rows."""
    experiment = entry.experiment
    metric = experiment.metric
    mean = metric.measure == "mean"
    cutoff = now if include_in_progress else now - metric.window_end
    writer = csv.writer(out, lineterminator="\n")
    header = ["user_id", "variant", "converted", "segment", "pre_metric"]
    writer.writerow([*header, *(["value"] if mean else [])])
    rows = repo.export_rows(experiment.key, metric, cutoff, list(experiment.variants))
    count = 0
    for profile_id, user_id, variant, persona, value, pre in repo.consistent(conn).execute(rows):
        y = float(value)
        subject = user_id or f"profile:{profile_id}"
        row = [subject, variant, "1" if y > 0 else "0", persona or "", _number(float(pre))]
        writer.writerow([*row, *([_number(y)] if mean else [])])
        count += 1
    return count


def _number(value: float) -> str:
    """Counts as integers, anything else with every digit (repr round-trips exactly)."""
    return str(int(value)) if value.is_integer() else repr(value)
