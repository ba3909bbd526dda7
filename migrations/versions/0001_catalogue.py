"""catalogue: countries, operators, their number prefixes, products, the version row

Revision ID: 0001
Revises:
Create Date: 2026-11-21 22:41:42.621089
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalogue_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fx_date", sa.String(length=10), nullable=False),
        sa.Column("fx_source", sa.String(length=400), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_state")),
    )
    op.create_table(
        "countries",
        sa.Column("iso2", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("calling_code", sa.String(length=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("iso2", name=op.f("pk_countries")),
    )
    op.create_table(
        "operators",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("country_iso2", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("balance_check_code", sa.String(length=32), nullable=True),
        sa.Column("fx_rate", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["country_iso2"], ["countries.iso2"], name=op.f("fk_operators_country_iso2_countries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
    )
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operators_country_iso2"), ["country_iso2"], unique=False
        )

    op.create_table(
        "operator_prefixes",
        sa.Column("prefix", sa.String(length=15), nullable=False),
        sa.Column("operator_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_operator_prefixes_operator_id_operators"),
        ),
        sa.PrimaryKeyConstraint("prefix", name=op.f("pk_operator_prefixes")),
    )
    with op.batch_alter_table("operator_prefixes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operator_prefixes_operator_id"), ["operator_id"], unique=False
        )

    op.create_table(
        "products",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("operator_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("local_value", sa.BigInteger(), nullable=True),
        sa.Column("local_min", sa.BigInteger(), nullable=True),
        sa.Column("local_max", sa.BigInteger(), nullable=True),
        sa.Column("local_step", sa.BigInteger(), nullable=True),
        sa.Column("price", sa.BigInteger(), nullable=True),
        sa.Column("price_min", sa.BigInteger(), nullable=True),
        sa.Column("price_max", sa.BigInteger(), nullable=True),
        sa.Column("fee_rate", sa.String(length=40), nullable=False),
        sa.Column("vat_rate", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "kind <> 'fixed' OR (local_value IS NOT NULL AND price IS NOT NULL AND local_value > 0 AND price > 0)",
            name=op.f("ck_products_fixed_has_value"),
        ),
        sa.CheckConstraint(
            "kind <> 'range' OR (local_min > 0 AND local_max >= local_min AND local_step > 0 AND price_min > 0 AND price_max >= price_min AND local_min IS NOT NULL AND local_max IS NOT NULL AND local_step IS NOT NULL AND price_min IS NOT NULL AND price_max IS NOT NULL)",
            name=op.f("ck_products_range_has_bounds"),
        ),
        sa.CheckConstraint("kind IN ('fixed', 'range')", name=op.f("ck_products_kind")),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_products_operator_id_operators")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_products_operator_id"), ["operator_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_operator_id"))

    op.drop_table("products")
    with op.batch_alter_table("operator_prefixes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operator_prefixes_operator_id"))

    op.drop_table("operator_prefixes")
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operators_country_iso2"))

    op.drop_table("operators")
    op.drop_table("countries")
    op.drop_table("catalogue_state")
