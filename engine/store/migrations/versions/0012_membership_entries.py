"""membership entries: how many times a profile entered a segment, so each entry and exit
event has its own messageId even when they share an instant

Revision ID: 0012_membership_entries
Revises: 0011
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_membership_entries"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "segment_memberships",
        sa.Column("times_entered", sa.Integer(), nullable=False, server_default="1"),
    )


def downgrade() -> None:
    with op.batch_alter_table("segment_memberships") as batch:
        batch.drop_column("times_entered")
