"""calling cards closed at the supplier simulator (a refunded card can no longer be used)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 01:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "simulator_closed_cards",
        sa.Column("reference", sa.String(length=80), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("original", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reference"],
            ["simulator_topups.reference"],
            name=op.f("fk_simulator_closed_cards_reference_simulator_topups"),
        ),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_simulator_closed_cards")),
    )


def downgrade() -> None:
    op.drop_table("simulator_closed_cards")
