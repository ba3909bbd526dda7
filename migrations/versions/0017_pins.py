"""PIN products: the sealed PIN of each delivered voucher or calling card, and the
simulator's own record of the PINs it issued and how its calling cards are used

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 00:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_pins",
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("code_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("serial_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("original_balance", sa.BigInteger(), nullable=True),
        sa.Column("balance_currency", sa.String(length=3), nullable=True),
        sa.Column("access_number", sa.String(length=32), nullable=True),
        sa.Column("instructions", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_pins_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_pins")),
    )
    # Every simulated top-up before this revision was airtime, with no PIN.
    with op.batch_alter_table("simulator_topups", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("product_type", sa.String(length=20), server_default="topup", nullable=False)
        )
        batch_op.add_column(sa.Column("pin_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("serial_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("card_spent", sa.BigInteger(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("simulator_topups", schema=None) as batch_op:
        batch_op.drop_column("card_spent")
        batch_op.drop_column("delivered_at")
        batch_op.drop_column("serial_sealed")
        batch_op.drop_column("pin_sealed")
        batch_op.drop_column("product_type")
    op.drop_table("order_pins")
