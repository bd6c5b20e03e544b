"""experiment outcomes: per-profile metric values folded once their window has closed

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engine.store.base import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _profile_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["profile_id"],
        ["profiles.id"],
        name=op.f(f"fk_{table}_profile_id_profiles"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_index(
        op.f("ix_experiment_assignments_experiment_exposed_at"),
        "experiment_assignments",
        ["experiment", "exposed_at"],
    )
    op.create_table(
        "experiment_outcomes",
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("variant", sa.String(length=64), nullable=False),
        sa.Column("persona", sa.String(length=64), nullable=True),
        sa.Column("exposed_at", UTCDateTime(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        _profile_fk("experiment_outcomes"),
        sa.PrimaryKeyConstraint(
            "experiment", "metric", "profile_id", name=op.f("pk_experiment_outcomes")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "experiment_rollups",
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("variant", sa.String(length=64), nullable=False),
        sa.Column("persona", sa.String(length=64), nullable=False),
        sa.Column("users", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("squares", sa.Float(), nullable=False),
        sa.Column("first_exposed_at", UTCDateTime(), nullable=False),
        sa.Column("last_exposed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "experiment", "metric", "variant", "persona", name=op.f("pk_experiment_rollups")
        ),
    )
    op.create_table(
        "experiment_folds",
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("folded_until", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("experiment", "metric", name=op.f("pk_experiment_folds")),
    )
    op.create_table(
        "experiment_refolds",
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        _profile_fk("experiment_refolds"),
        sa.PrimaryKeyConstraint(
            "experiment", "metric", "profile_id", name=op.f("pk_experiment_refolds")
        ),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("experiment_refolds")
    op.drop_table("experiment_folds")
    op.drop_table("experiment_rollups")
    op.drop_table("experiment_outcomes")
    op.drop_index(
        op.f("ix_experiment_assignments_experiment_exposed_at"),
        table_name="experiment_assignments",
    )
