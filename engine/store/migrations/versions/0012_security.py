"""installation id, revoked dashboard sessions, ids never reused on SQLite

Revision ID: 0012_security
Revises: 0011
Create Date: 2026-12-04
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engine.store.base import UTCDateTime

revision: str = "0012_security"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Ids that leave the system. SQLite reuses max(id) + 1 after the newest rows are deleted
# unless the table is AUTOINCREMENT, which only a rebuild can add (env.py turns foreign
# keys off around it: dropping the old table would otherwise cascade into its children).
NEVER_REUSED = (
    "flow_runs",
    "deliveries",
    "inapp_items",
    "webhook_endpoints",
    "webhook_messages",
    "webhook_attempts",
)


def upgrade() -> None:
    op.create_table(
        "installation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("install_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installation")),
    )
    installation = sa.table(
        "installation", sa.column("id", sa.Integer()), sa.column("install_id", sa.String())
    )
    op.bulk_insert(installation, [{"id": 1, "install_id": secrets.token_hex(8)}])
    op.create_table(
        "revoked_sessions",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_revoked_sessions")),
    )
    op.create_index(op.f("ix_revoked_sessions_expires_at"), "revoked_sessions", ["expires_at"])
    if op.get_bind().dialect.name == "sqlite":
        for table in NEVER_REUSED:
            with op.batch_alter_table(
                table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
            ):
                pass


def downgrade() -> None:
    # AUTOINCREMENT stays: it changes no data and no query.
    op.drop_index(op.f("ix_revoked_sessions_expires_at"), table_name="revoked_sessions")
    op.drop_table("revoked_sessions")
    op.drop_table("installation")
