"""goal conversions: a run converts when its goal holds within the window, even after its
steps ended (`converted_at`); a run that ended early keeps `goal_until` to be found;
the flow counters recounted from the rows

Revision ID: 0012_goal_conversions
Revises: 0011
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engine.store.base import UTCDateTime
from engine.store.recount import rebuild

revision: str = "0012_goal_conversions"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LATE = "j.kind = 'flow' AND j.outcome = 'goal reached'"


def upgrade() -> None:
    op.add_column("flow_runs", sa.Column("converted_at", UTCDateTime(), nullable=True))
    op.add_column("flow_runs", sa.Column("goal_until", UTCDateTime(), nullable=True))
    # Runs the goal ended, and (after a downgrade and upgrade) runs converted after they
    # ended, whose journey keeps a `goal reached` entry.
    op.execute("UPDATE flow_runs SET converted_at = ended_at WHERE status = 'converted'")
    op.execute(
        f"UPDATE flow_runs SET converted_at = (SELECT min(j.at) FROM journey_entries j"
        f" WHERE j.run_id = flow_runs.id AND {LATE}) WHERE id IN"
        f" (SELECT j.run_id FROM journey_entries j WHERE {LATE})"
    )
    rebuild(op.get_bind())  # the flow counters, from the rows (0008 created them empty)


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+): a batch copy of flow_runs would drop the table,
    # and its ON DELETE CASCADE would take every timer, delivery and journey entry along.
    for column in ("goal_until", "converted_at"):
        op.execute(f"ALTER TABLE flow_runs DROP COLUMN {column}")
