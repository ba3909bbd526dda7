"""promo codes, their per-customer uses and redemptions; orders record a discount

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 00:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "promo_codes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("percent_off", sa.String(length=40), nullable=True),
        sa.Column("amount_off", sa.BigInteger(), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_redemptions", sa.Integer(), nullable=True),
        sa.Column("per_customer_limit", sa.Integer(), nullable=False),
        sa.Column("redeemed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("product_ids", sa.JSON(), nullable=False),
        sa.Column("operator_ids", sa.JSON(), nullable=False),
        sa.Column("country_iso2s", sa.JSON(), nullable=False),
        sa.Column("product_types", sa.JSON(), nullable=False),
        sa.Column("min_price", sa.BigInteger(), nullable=True),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'percent' AND percent_off IS NOT NULL AND amount_off IS NULL)"
            " OR (kind = 'fixed' AND amount_off > 0 AND percent_off IS NULL)",
            name=op.f("ck_promo_codes_one_discount"),
        ),
        sa.CheckConstraint(
            "valid_from < valid_until", name=op.f("ck_promo_codes_validity_ordered")
        ),
        sa.CheckConstraint(
            "max_redemptions IS NULL OR max_redemptions > 0",
            name=op.f("ck_promo_codes_max_redemptions_positive"),
        ),
        sa.CheckConstraint(
            "per_customer_limit > 0", name=op.f("ck_promo_codes_per_customer_limit_positive")
        ),
        sa.CheckConstraint(
            "redeemed >= 0 AND (max_redemptions IS NULL OR redeemed <= max_redemptions)",
            name=op.f("ck_promo_codes_redeemed_within_limit"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_promo_codes_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_promo_codes_code")),
    )
    with op.batch_alter_table("promo_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_promo_codes_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index("ix_promo_codes_created", ["created_at", "id"], unique=False)

    op.create_table(
        "promo_customer_uses",
        sa.Column("promo_code_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.CheckConstraint("uses >= 0", name=op.f("ck_promo_customer_uses_uses_not_negative")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_promo_customer_uses_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["promo_code_id"],
            ["promo_codes.id"],
            name=op.f("fk_promo_customer_uses_promo_code_id_promo_codes"),
        ),
        sa.PrimaryKeyConstraint(
            "promo_code_id", "customer_id", name=op.f("pk_promo_customer_uses")
        ),
    )

    op.create_table(
        "promo_redemptions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("promo_code_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("discount_amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "discount_amount > 0", name=op.f("ck_promo_redemptions_discount_positive")
        ),
        sa.CheckConstraint(
            "status IN ('reserved', 'used', 'released')",
            name=op.f("ck_promo_redemptions_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_promo_redemptions_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_promo_redemptions_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["promo_code_id"],
            ["promo_codes.id"],
            name=op.f("fk_promo_redemptions_promo_code_id_promo_codes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_redemptions")),
        sa.UniqueConstraint("order_id", name=op.f("uq_promo_redemptions_order_id")),
    )
    with op.batch_alter_table("promo_redemptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_promo_redemptions_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            "ix_promo_redemptions_code_status", ["promo_code_id", "status"], unique=False
        )

    # Orders placed before this revision had no discount: 0, and no code.
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("discount_amount", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("promo_code_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("promo_code", sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_orders_promo_code_id_promo_codes"),
            "promo_codes",
            ["promo_code_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            op.f("ck_orders_discount_not_negative"), "discount_amount >= 0"
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_orders_discount_not_negative"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_orders_promo_code_id_promo_codes"), type_="foreignkey"
        )
        batch_op.drop_column("promo_code")
        batch_op.drop_column("promo_code_id")
        batch_op.drop_column("discount_amount")
    with op.batch_alter_table("promo_redemptions", schema=None) as batch_op:
        batch_op.drop_index("ix_promo_redemptions_code_status")
        batch_op.drop_index(batch_op.f("ix_promo_redemptions_customer_id"))
    op.drop_table("promo_redemptions")
    op.drop_table("promo_customer_uses")
    with op.batch_alter_table("promo_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_promo_codes_created")
        batch_op.drop_index(batch_op.f("ix_promo_codes_customer_id"))
    op.drop_table("promo_codes")
