"""mixed exposures: profiles that saw two variants of an experiment after a merge

Revision ID: 0012_mixed_exposures
Revises: 0011
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_mixed_exposures"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "experiment_mixed_exposures",
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("variant", sa.String(length=64), nullable=False),
        sa.Column("other_variant", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_experiment_mixed_exposures_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "experiment", "profile_id", name=op.f("pk_experiment_mixed_exposures")
        ),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("experiment_mixed_exposures")
