"""submission.raw_removed_at and outbound_message.body_removed_at (retention: files removed, rows kept) and the
erasure table (a person's data erased on request)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw_removed_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_removed_at", UTCDateTime(), nullable=True))
    op.create_table(
        "erasure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_hash", sa.String(length=64), nullable=False),
        sa.Column("erased_at", UTCDateTime(), nullable=False),
        sa.Column("erased_by", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_erasure"),
        sa.UniqueConstraint("person_hash", name="uq_erasure_person_hash"),
    )


def downgrade() -> None:
    op.drop_table("erasure")
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_column("body_removed_at")
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_column("raw_removed_at")
