"""date traits: when each profile's date conditions next flip, for the periodic job, and
which date conditions every profile has been planned for

Revision ID: 0013_date_traits
Revises: 0012_membership_entries
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engine.store.base import UTCDateTime

revision: str = "0013_date_traits"
down_revision: str | None = "0012_membership_entries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "date_reevaluations",
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("trait", sa.String(length=255), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_date_reevaluations_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("profile_id", "trait", name=op.f("pk_date_reevaluations")),
    )
    op.create_index(op.f("ix_date_reevaluations_due_at"), "date_reevaluations", ["due_at"])
    op.create_table(
        "date_plans",
        sa.Column("condition", sa.String(length=64), nullable=False),
        sa.Column("planned_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("condition", name=op.f("pk_date_plans")),
    )


def downgrade() -> None:
    op.drop_table("date_plans")
    op.drop_index(op.f("ix_date_reevaluations_due_at"), table_name="date_reevaluations")
    op.drop_table("date_reevaluations")
