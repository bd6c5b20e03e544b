"""flow runtime: versions, runs, timers, deliveries, journey, in-app items, schedules

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engine.store.base import BigId, JSONDoc, UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(
    table: str, column: str, target: str, ondelete: str | None = "CASCADE"
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "flow_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("definition", JSONDoc, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_versions")),
        sa.UniqueConstraint("flow", "version", name=op.f("uq_flow_versions_flow_version")),
    )
    op.create_table(
        "flow_runs",
        sa.Column("id", BigId, nullable=False),
        sa.Column("flow", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("variant", sa.String(length=64), nullable=True),
        sa.Column("state", JSONDoc, nullable=False),
        sa.Column("wait_target", sa.String(length=200), nullable=True),
        sa.Column("entered_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=500), nullable=True),
        _fk("flow_runs", "version_id", "flow_versions", None),
        _fk("flow_runs", "profile_id", "profiles"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_runs")),
    )
    op.create_index(op.f("ix_flow_runs_profile_id_flow"), "flow_runs", ["profile_id", "flow"])
    op.create_index(
        op.f("ix_flow_runs_profile_id_wait_target"), "flow_runs", ["profile_id", "wait_target"]
    )
    op.create_table(
        "timers",
        sa.Column("id", BigId, nullable=False),
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("step", sa.String(length=200), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        _fk("timers", "run_id", "flow_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timers")),
    )
    op.create_index(op.f("ix_timers_due_at"), "timers", ["due_at"])
    op.create_index(op.f("ix_timers_run_id"), "timers", ["run_id"])
    op.create_table(
        "deliveries",
        sa.Column("id", BigId, nullable=False),
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("flow", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("content", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        _fk("deliveries", "run_id", "flow_runs"),
        _fk("deliveries", "profile_id", "profiles"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("run_id", "step", name=op.f("uq_deliveries_run_id_step")),
    )
    op.create_index(
        op.f("ix_deliveries_status_next_attempt_at"), "deliveries", ["status", "next_attempt_at"]
    )
    op.create_table(
        "journey_entries",
        sa.Column("id", BigId, nullable=False),
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("step", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("detail", JSONDoc, nullable=False),
        _fk("journey_entries", "run_id", "flow_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_entries")),
    )
    op.create_index(op.f("ix_journey_entries_run_id_id"), "journey_entries", ["run_id", "id"])
    op.create_table(
        "inapp_items",
        sa.Column("id", BigId, nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("content", JSONDoc, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        _fk("inapp_items", "profile_id", "profiles"),
        _fk("inapp_items", "delivery_id", "deliveries"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inapp_items")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_inapp_items_delivery_id")),
    )
    op.create_index(
        op.f("ix_inapp_items_profile_id_status"), "inapp_items", ["profile_id", "status"]
    )
    op.create_table(
        "schedule_fires",
        sa.Column("flow", sa.String(length=64), nullable=False),
        sa.Column("fired_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("flow", name=op.f("pk_schedule_fires")),
    )


def downgrade() -> None:
    for table in (
        "schedule_fires",
        "inapp_items",
        "journey_entries",
        "deliveries",
        "timers",
        "flow_runs",
        "flow_versions",
    ):
        op.drop_table(table)
