"""stage on rows: events and deliveries keep the stage their profile was in, backfilled

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engine.store.stages import backfill

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DELIVERIES_JOURNEY = ["profile_id", "created_at", "flow", "stage", "channel", "content", "status"]


def upgrade() -> None:
    op.add_column("events", sa.Column("stage", sa.String(length=64), nullable=True))
    op.add_column("deliveries", sa.Column("stage", sa.String(length=64), nullable=True))
    op.drop_index(op.f("ix_stage_entries_stage_entered_at"), table_name="stage_entries")
    op.create_index(
        op.f("ix_stage_entries_stage_entered_at_profile_id"),
        "stage_entries",
        ["stage", "entered_at", "profile_id"],
    )
    op.create_index(
        op.f("ix_stage_entries_profile_id_entered_at_stage"),
        "stage_entries",
        ["profile_id", "entered_at", "stage"],
    )
    backfill(op.get_bind())  # after the (profile, time) index: one seek per row
    op.create_index("ix_deliveries_journey", "deliveries", DELIVERIES_JOURNEY)


def downgrade() -> None:
    op.drop_index("ix_deliveries_journey", table_name="deliveries")
    op.drop_index(op.f("ix_stage_entries_profile_id_entered_at_stage"), table_name="stage_entries")
    op.drop_index(op.f("ix_stage_entries_stage_entered_at_profile_id"), table_name="stage_entries")
    op.create_index(
        op.f("ix_stage_entries_stage_entered_at"), "stage_entries", ["stage", "entered_at"]
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("stage")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("stage")
