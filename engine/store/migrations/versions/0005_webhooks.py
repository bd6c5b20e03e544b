"""webhooks: API endpoints, the outbox of event messages, the attempt log

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from engine.store.base import BigId, JSONDoc, UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ONE_ENDPOINT = "(endpoint_id IS NULL) <> (endpoint_name IS NULL)"


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE"
    )


def _endpoint_columns(table: str) -> list[Any]:
    return [
        sa.Column("endpoint_id", sa.Integer(), nullable=True),
        sa.Column("endpoint_name", sa.String(length=64), nullable=True),
        _fk(table, "endpoint_id", "webhook_endpoints"),
        sa.CheckConstraint(ONE_ENDPOINT, name=op.f(f"ck_{table}_one_endpoint")),
    ]


def _indexes(table: str, *columns: tuple[str, ...]) -> None:
    for names in columns:
        op.create_index(op.f(f"ix_{table}_{'_'.join(names)}"), table, list(names))


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("events", JSONDoc, nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("previous_secret", sa.String(length=200), nullable=True),
        sa.Column("previous_secret_expires_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "webhook_messages",
        sa.Column("id", BigId, nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        *_endpoint_columns("webhook_messages"),
        sa.Column("profile_id", sa.Integer(), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", JSONDoc, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        _fk("webhook_messages", "profile_id", "profiles"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_webhook_messages_message_id")),
    )
    _indexes(
        "webhook_messages",
        ("status", "next_attempt_at"),
        ("endpoint_id", "id"),
        ("endpoint_name", "id"),
        ("profile_id",),
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", BigId, nullable=False),
        sa.Column("message_id", BigId, nullable=True),
        sa.Column("delivery_id", BigId, nullable=True),
        *_endpoint_columns("webhook_attempts"),
        sa.Column("webhook_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("attempted_at", UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("response", sa.String(length=500), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        _fk("webhook_attempts", "message_id", "webhook_messages"),
        _fk("webhook_attempts", "delivery_id", "deliveries"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    _indexes(
        "webhook_attempts",
        ("endpoint_id", "id"),
        ("endpoint_name", "id"),
        ("message_id",),
        ("delivery_id",),
    )


def downgrade() -> None:
    for table in ("webhook_attempts", "webhook_messages", "webhook_endpoints"):
        op.drop_table(table)
