"""operators' promotions shown on the products, and when each supplier's are next synced

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 00:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "operator_promotions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("operator_id", sa.String(length=64), nullable=False),
        sa.Column("supplier", sa.String(length=20), nullable=False),
        sa.Column("supplier_promotion_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("bonus_percent", sa.Integer(), nullable=True),
        sa.Column("bonus_text", sa.String(length=200), nullable=True),
        sa.Column("denominations", sa.String(length=200), nullable=True),
        sa.Column("product_ids", sa.JSON(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_operator_promotions_window")),
        sa.CheckConstraint(
            "bonus_percent IS NULL OR (bonus_percent > 0 AND bonus_percent <= 1000)",
            name=op.f("ck_operator_promotions_bonus_percent"),
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_operator_promotions_operator_id_operators"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_promotions")),
        sa.UniqueConstraint(
            "supplier", "supplier_promotion_id", name=op.f("uq_operator_promotions_supplier")
        ),
    )
    with op.batch_alter_table("operator_promotions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operator_promotions_operator_id"), ["operator_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_operator_promotions_ends_at"), ["ends_at"], unique=False
        )

    op.create_table(
        "promotion_syncs",
        sa.Column("supplier", sa.String(length=20), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("supplier", name=op.f("pk_promotion_syncs")),
    )
    with op.batch_alter_table("promotion_syncs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_promotion_syncs_due_at"), ["due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("promotion_syncs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promotion_syncs_due_at"))
    op.drop_table("promotion_syncs")
    with op.batch_alter_table("operator_promotions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operator_promotions_ends_at"))
        batch_op.drop_index(batch_op.f("ix_operator_promotions_operator_id"))
    op.drop_table("operator_promotions")
