"""a plan's end told to the supplier: the subscription's own queue for it, and the
simulator's record of the plans it stopped

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 01:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("service_end_order_id", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("service_end_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("service_end_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("service_ended_confirmed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.create_index(
            batch.f("ix_subscriptions_service_end_due_at"), ["service_end_due_at"], unique=False
        )
    op.create_table(
        "simulator_ended_plans",
        sa.Column("reference", sa.String(length=80), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reference"],
            ["simulator_topups.reference"],
            name=op.f("fk_simulator_ended_plans_reference_simulator_topups"),
        ),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_simulator_ended_plans")),
    )


def downgrade() -> None:
    op.drop_table("simulator_ended_plans")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_index(batch.f("ix_subscriptions_service_end_due_at"))
        batch.drop_column("service_ended_confirmed_at")
        batch.drop_column("service_end_attempts")
        batch.drop_column("service_end_due_at")
        batch.drop_column("service_end_order_id")
