"""submission.activities snapshot; outbound_message.claimed_until for concurrent senders

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("activities", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.alter_column("activities", server_default=None)
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_until", storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_column("activities")
