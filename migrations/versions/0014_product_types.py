"""products carry a type: airtime, PIN voucher, calling card or monthly plan

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 00:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every product sold before this revision is airtime.
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("product_type", sa.String(length=20), server_default="topup", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_products_product_type"),
            "product_type IN ('topup', 'voucher', 'calling_card', 'plan')",
        )
        batch_op.create_check_constraint(
            op.f("ck_products_range_is_topup"), "kind = 'fixed' OR product_type = 'topup'"
        )


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_products_range_is_topup"), type_="check")
        batch_op.drop_constraint(op.f("ck_products_product_type"), type_="check")
        batch_op.drop_column("product_type")
