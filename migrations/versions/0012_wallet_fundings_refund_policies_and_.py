"""Wallet fundings, refund policies and refund requests; orders learn their product type
and how much of them refund requests have claimed.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 07:10:12.627131
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "refund_policies",
        sa.Column("product_type", sa.String(length=20), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=40), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("product_type", name=op.f("pk_refund_policies")),
    )
    op.create_table(
        "wallet_fundings",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("card_id", sa.String(length=40), nullable=True),
        sa.Column("card_token", sa.String(length=120), nullable=False),
        sa.Column("card_last4", sa.String(length=4), nullable=False),
        sa.Column("gateway_reference", sa.String(length=80), nullable=True),
        sa.Column("decline_code", sa.String(length=40), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_wallet_fundings_amount_positive")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_wallet_fundings_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_fundings")),
        sa.UniqueConstraint("customer_id", "idempotency_key", name="uq_wallet_fundings_key"),
    )
    with op.batch_alter_table("wallet_fundings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wallet_fundings_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index("ix_wallet_fundings_status_due", ["status", "due_at"], unique=False)

    op.create_table(
        "refund_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("product_type", sa.String(length=20), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("details", sa.String(length=500), nullable=True),
        sa.Column("destination", sa.String(length=16), nullable=False),
        sa.Column("approval", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("answer_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pay_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.String(length=200), nullable=True),
        sa.Column("decided_by", sa.String(length=40), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('requested', 'approved', 'rejected', 'paid')",
            name=op.f("ck_refund_requests_status_known"),
        ),
        sa.CheckConstraint(
            "amount > 0 AND fee >= 0 AND net = amount - fee",
            name=op.f("ck_refund_requests_figures"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_refund_requests_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_refund_requests_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_requests")),
        sa.UniqueConstraint("customer_id", "idempotency_key", name="uq_refund_requests_key"),
    )
    with op.batch_alter_table("refund_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_refund_requests_customer_created", ["customer_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_refund_requests_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            "ix_refund_requests_status_created", ["status", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_refund_requests_status_due", ["status", "due_at"], unique=False)

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("product_type", sa.String(length=20), server_default="topup", nullable=False)
        )
        batch_op.add_column(
            sa.Column("refunded_amount", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.create_check_constraint(
            "refunds_within_price", "refunded_amount >= 0 AND refunded_amount <= price_amount"
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_orders_refunds_within_price"), type_="check")
        batch_op.drop_column("refunded_amount")
        batch_op.drop_column("product_type")

    with op.batch_alter_table("refund_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_refund_requests_status_due")
        batch_op.drop_index("ix_refund_requests_status_created")
        batch_op.drop_index(batch_op.f("ix_refund_requests_order_id"))
        batch_op.drop_index("ix_refund_requests_customer_created")

    op.drop_table("refund_requests")
    with op.batch_alter_table("wallet_fundings", schema=None) as batch_op:
        batch_op.drop_index("ix_wallet_fundings_status_due")
        batch_op.drop_index(batch_op.f("ix_wallet_fundings_customer_id"))

    op.drop_table("wallet_fundings")
    op.drop_table("refund_policies")
