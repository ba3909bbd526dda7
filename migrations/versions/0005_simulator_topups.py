"""supplier simulator records

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 00:08:58.893677
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "simulator_topups",
        sa.Column("reference", sa.String(length=80), nullable=False),
        sa.Column("transaction_id", sa.String(length=40), nullable=False),
        sa.Column("e164", sa.String(length=16), nullable=False),
        sa.Column("operator_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("scenario", sa.String(length=4), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("status_checks", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_simulator_topups")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_simulator_topups_transaction_id")),
    )


def downgrade() -> None:
    op.drop_table("simulator_topups")
