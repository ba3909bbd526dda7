"""Monthly plans: subscriptions and the charges made for them, one row per cycle and attempt

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 00:09:15.563431
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("plan_id", sa.String(length=80), nullable=False),
        sa.Column("operator_id", sa.String(length=64), nullable=False),
        sa.Column("operator_name", sa.String(length=100), nullable=False),
        sa.Column("recipient_phone", sa.String(length=16), nullable=False),
        sa.Column("price_amount", sa.BigInteger(), nullable=False),
        sa.Column("local_amount", sa.BigInteger(), nullable=False),
        sa.Column("local_currency", sa.String(length=3), nullable=False),
        sa.Column("card_id", sa.String(length=40), nullable=True),
        sa.Column("card_last4", sa.String(length=4), nullable=True),
        sa.Column("open_key", sa.String(length=200), nullable=True),
        sa.Column("cycle", sa.String(length=7), nullable=False),
        sa.Column("current_period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_charge_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_cycle", sa.String(length=7), nullable=True),
        sa.Column("next_attempt", sa.Integer(), nullable=False),
        sa.Column("pending_order_id", sa.String(length=40), nullable=True),
        sa.Column("last_order_id", sa.String(length=40), nullable=True),
        sa.Column("failure_code", sa.String(length=40), nullable=True),
        sa.Column("ended_reason", sa.String(length=40), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("service_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_subscriptions_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint("open_key", name=op.f("uq_subscriptions_open_key")),
    )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_subscriptions_customer_created", ["customer_id", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_subscriptions_due_at", ["due_at"], unique=False)

    op.create_table(
        "subscription_charges",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("subscription_id", sa.String(length=40), nullable=False),
        sa.Column("cycle", sa.String(length=7), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("renewal", sa.Boolean(), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("failure_code", sa.String(length=40), nullable=True),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_subscription_charges_subscription_id_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_charges")),
        sa.UniqueConstraint("key", name=op.f("uq_subscription_charges_key")),
        sa.UniqueConstraint("order_id", name=op.f("uq_subscription_charges_order_id")),
        sa.UniqueConstraint(
            "subscription_id", "cycle", "attempt", name="uq_subscription_charges_attempt"
        ),
    )
    with op.batch_alter_table("subscription_charges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subscription_charges_subscription_id"), ["subscription_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("subscription_charges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscription_charges_subscription_id"))

    op.drop_table("subscription_charges")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_subscriptions_due_at")
        batch_op.drop_index("ix_subscriptions_customer_created")

    op.drop_table("subscriptions")
