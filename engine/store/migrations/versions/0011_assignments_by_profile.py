"""assignments by profile: merges and erasure find a profile's experiments

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_experiment_assignments_profile_id"), "experiment_assignments", ["profile_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_experiment_assignments_profile_id"), table_name="experiment_assignments")
