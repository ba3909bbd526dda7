"""idempotency keys carry the fencing token of the claim that holds them

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 09:12:31.402118
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Keys stored before this revision get "": no claim's token matches it, so a request
    # that was in flight across the upgrade cannot complete, and a retry takes its key
    # over once the lease lapses, as after a crash.
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claim_token", sa.String(length=32), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_column("claim_token")
