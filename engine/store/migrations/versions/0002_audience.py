"""stage entries, segment memberships, primary persona

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engine.store.base import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
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
    with op.batch_alter_table("profiles") as batch:
        batch.add_column(sa.Column("persona", sa.String(length=64), nullable=True))
        batch.create_index(op.f("ix_profiles_persona"), ["persona"])
    op.create_table(
        "stage_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("entered_at", UTCDateTime(), nullable=False),
        _profile_fk("stage_entries"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_entries")),
        sa.UniqueConstraint("profile_id", "stage", name=op.f("uq_stage_entries_profile_id_stage")),
    )
    op.create_index(
        op.f("ix_stage_entries_stage_entered_at"), "stage_entries", ["stage", "entered_at"]
    )
    op.create_table(
        "segment_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("segment", sa.String(length=64), nullable=False),
        sa.Column("entered_at", UTCDateTime(), nullable=False),
        sa.Column("exited_at", UTCDateTime(), nullable=True),
        _profile_fk("segment_memberships"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_memberships")),
        sa.UniqueConstraint(
            "profile_id", "segment", name=op.f("uq_segment_memberships_profile_id_segment")
        ),
    )
    op.create_index(op.f("ix_segment_memberships_segment"), "segment_memberships", ["segment"])


def downgrade() -> None:
    op.drop_table("segment_memberships")
    op.drop_table("stage_entries")
    with op.batch_alter_table("profiles") as batch:
        batch.drop_index(op.f("ix_profiles_persona"))
        batch.drop_column("persona")
