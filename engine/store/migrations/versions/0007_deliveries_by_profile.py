"""deliveries by profile: the frequency cap counts a profile's recent sends per channel

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_deliveries_profile_id_channel_sent_at"),
        "deliveries",
        ["profile_id", "channel", "sent_at"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_deliveries_profile_id_channel_sent_at"), table_name="deliveries")
