"""flow counters: step_counts and delivery_counts (backfilled by 0012_goal_conversions)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _keys() -> list[sa.Column[Any]]:
    return [
        sa.Column("flow", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("step", sa.String(length=200), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "step_counts",
        *_keys(),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("converted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "flow", "day", "step", "kind", "outcome", "reason", name=op.f("pk_step_counts")
        ),
    )
    op.create_table(
        "delivery_counts",
        *_keys(),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("content", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "flow",
            "day",
            "step",
            "channel",
            "content",
            "status",
            "reason",
            name=op.f("pk_delivery_counts"),
        ),
    )
    # Filled from the rows by 0012_goal_conversions, which changed what `converted` counts:
    # the recount code reads columns this revision does not have yet.


def downgrade() -> None:
    op.drop_table("delivery_counts")
    op.drop_table("step_counts")
