"""Notification delivery (HTML part, dedupe key, language, attempts' outcome) and card brand.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 01:17:54.540069
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("card_brand", sa.String(length=12), nullable=True))

    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("html_body", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("dedupe_key", sa.String(length=120), nullable=True))
        batch_op.add_column(
            sa.Column("language", sa.String(length=8), nullable=False, server_default="en")
        )
        batch_op.add_column(sa.Column("segments", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("provider_reference", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_outbound_messages_dedupe_key"), ["dedupe_key"]
        )
    # Before this revision nothing sent the outbox: what it holds was only ever readable
    # there. Sending it now would deliver stale codes and dead links, so it is closed.
    op.execute(
        "UPDATE outbound_messages SET status = 'dead',"
        " last_error = 'queued before delivery existed' WHERE status = 'pending'"
    )


def downgrade() -> None:
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_outbound_messages_dedupe_key"), type_="unique")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("last_error")
        batch_op.drop_column("provider_reference")
        batch_op.drop_column("segments")
        batch_op.drop_column("language")
        batch_op.drop_column("dedupe_key")
        batch_op.drop_column("html_body")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("card_brand")
