"""orders

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 00:22:34.990231
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("recipient_phone", sa.String(length=16), nullable=True),
        sa.Column("country_iso2", sa.String(length=2), nullable=False),
        sa.Column("operator_id", sa.String(length=64), nullable=False),
        sa.Column("operator_name", sa.String(length=100), nullable=False),
        sa.Column("product_id", sa.String(length=80), nullable=False),
        sa.Column("local_amount", sa.BigInteger(), nullable=False),
        sa.Column("local_currency", sa.String(length=3), nullable=False),
        sa.Column("price_amount", sa.BigInteger(), nullable=False),
        sa.Column("cost_amount", sa.BigInteger(), nullable=False),
        sa.Column("fee_amount", sa.BigInteger(), nullable=False),
        sa.Column("vat_amount", sa.BigInteger(), nullable=False),
        sa.Column("message", sa.String(length=30), nullable=True),
        sa.Column("payment_method", sa.String(length=8), nullable=False),
        sa.Column("card_id", sa.String(length=40), nullable=True),
        sa.Column("card_token", sa.String(length=120), nullable=True),
        sa.Column("card_last4", sa.String(length=4), nullable=True),
        sa.Column("payment_status", sa.String(length=12), nullable=False),
        sa.Column("gateway_reference", sa.String(length=80), nullable=True),
        sa.Column("hold_transfer_id", sa.String(length=40), nullable=True),
        sa.Column("supplier_transaction_id", sa.String(length=80), nullable=True),
        sa.Column("failure_code", sa.String(length=40), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_orders_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_orders_customer_created", ["customer_id", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_orders_status_due", ["status", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_status_due")
        batch_op.drop_index("ix_orders_customer_created")

    op.drop_table("orders")
