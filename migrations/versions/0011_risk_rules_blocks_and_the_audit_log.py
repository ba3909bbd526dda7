"""Risk: limit, market and fraud-signal rules, card blocks, the audit log, risk locks;
accounts gain a date of birth and a residence; orders keep their card and risk outcome.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 02:07:11.085266
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "card_blocks",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("blocked_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_card_blocks")),
    )
    op.create_table(
        "fraud_signal_rules",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fraud_signal_rules")),
    )
    op.create_table(
        "limit_rules",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("market", sa.String(length=2), nullable=True),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("max_count", sa.Integer(), nullable=True),
        sa.Column("max_amount", sa.BigInteger(), nullable=True),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_limit_rules")),
    )
    op.create_table(
        "market_rules",
        sa.Column("market", sa.String(length=2), nullable=False),
        sa.Column("min_age", sa.Integer(), nullable=True),
        sa.Column("residence_required", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("market", name=op.f("pk_market_rules")),
    )
    op.create_table(
        "risk_decisions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=True),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("rule_id", sa.String(length=64), nullable=True),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_decisions")),
    )
    with op.batch_alter_table("risk_decisions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_risk_decisions_customer", ["customer_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_risk_decisions_order", ["order_id", "created_at"], unique=False)

    op.create_table(
        "risk_locks",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("touched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_risk_locks")),
    )
    op.create_table(
        "risk_thresholds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_score", sa.Integer(), nullable=False),
        sa.Column("reject_score", sa.Integer(), nullable=False),
        sa.Column("duplicate_window_seconds", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_thresholds")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("date_of_birth", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("residence_country", sa.String(length=2), nullable=True))

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("card_fingerprint", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("card_country", sa.String(length=2), nullable=True))
        batch_op.add_column(
            sa.Column("risk_outcome", sa.String(length=8), nullable=False, server_default="allow")
        )
        batch_op.add_column(
            sa.Column("risk_score", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("review_decision", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("failure_message", sa.String(length=200), nullable=True))
        batch_op.create_index(
            "ix_orders_card_created", ["card_fingerprint", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_orders_recipient_created", ["recipient_phone", "created_at"], unique=False
        )

    with op.batch_alter_table("saved_cards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("country", sa.String(length=2), nullable=True))
    # Orders paid with a saved card learn its fingerprint, so card limits see history.
    op.execute(
        "UPDATE orders SET card_fingerprint = (SELECT saved_cards.fingerprint FROM saved_cards"
        " WHERE saved_cards.id = orders.card_id) WHERE card_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("saved_cards", schema=None) as batch_op:
        batch_op.drop_column("country")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_recipient_created")
        batch_op.drop_index("ix_orders_card_created")
        batch_op.drop_column("failure_message")
        batch_op.drop_column("review_decision")
        batch_op.drop_column("risk_score")
        batch_op.drop_column("risk_outcome")
        batch_op.drop_column("card_country")
        batch_op.drop_column("card_fingerprint")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("residence_country")
        batch_op.drop_column("date_of_birth")

    op.drop_table("risk_thresholds")
    op.drop_table("risk_locks")
    with op.batch_alter_table("risk_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_decisions_order")
        batch_op.drop_index("ix_risk_decisions_customer")

    op.drop_table("risk_decisions")
    op.drop_table("market_rules")
    op.drop_table("limit_rules")
    op.drop_table("fraud_signal_rules")
    op.drop_table("card_blocks")
