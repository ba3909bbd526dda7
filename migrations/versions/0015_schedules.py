"""auto top-up: schedules (recurring top-ups) and their runs, one per due date and attempt

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 00:11:16.019859
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("recipient_phone", sa.String(length=16), nullable=True),
        sa.Column("country_iso2", sa.String(length=2), nullable=False),
        sa.Column("operator_id", sa.String(length=64), nullable=False),
        sa.Column("operator_name", sa.String(length=100), nullable=False),
        sa.Column("product_id", sa.String(length=80), nullable=False),
        sa.Column("local_amount", sa.BigInteger(), nullable=False),
        sa.Column("local_currency", sa.String(length=3), nullable=False),
        sa.Column("card_id", sa.String(length=40), nullable=False),
        sa.Column("card_last4", sa.String(length=4), nullable=False),
        sa.Column("card_brand", sa.String(length=12), nullable=False),
        sa.Column("every", sa.String(length=8), nullable=False),
        sa.Column("day_of_month", sa.Integer(), nullable=True),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("last_failure_code", sa.String(length=40), nullable=True),
        sa.Column("current_order_id", sa.String(length=40), nullable=True),
        sa.Column("last_order_id", sa.String(length=40), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pause_reason", sa.String(length=24), nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(every = 'monthly') = (day_of_month IS NOT NULL)",
            name=op.f("ck_schedules_day_only_when_monthly"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'paused', 'cancelled')", name=op.f("ck_schedules_status_known")
        ),
        sa.CheckConstraint(
            "day_of_month BETWEEN 1 AND 31", name=op.f("ck_schedules_day_of_month_in_range")
        ),
        sa.CheckConstraint(
            "local_amount > 0 AND failed_attempts >= 0", name=op.f("ck_schedules_figures")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_schedules_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
    )
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.create_index(
            "ix_schedules_customer_created", ["customer_id", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_schedules_status_due", ["status", "due_at"], unique=False)

    op.create_table(
        "schedule_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("schedule_id", sa.String(length=40), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("failure_code", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_schedule_runs_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"], ["schedules.id"], name=op.f("fk_schedule_runs_schedule_id_schedules")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_runs")),
        sa.UniqueConstraint("order_id", name="uq_schedule_runs_order_id"),
        sa.UniqueConstraint("schedule_id", "due_at", "attempt", name="uq_schedule_runs_attempt"),
    )


def downgrade() -> None:
    op.drop_table("schedule_runs")
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.drop_index("ix_schedules_status_due")
        batch_op.drop_index("ix_schedules_customer_created")

    op.drop_table("schedules")
