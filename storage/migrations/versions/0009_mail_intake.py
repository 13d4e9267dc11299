"""mail_intake: messages read from the agency's mailbox (IMAP), recorded before they are moved

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_intake",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("folder", sa.String(length=200), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("target", sa.String(length=40), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("fetched_at", UTCDateTime(), nullable=False),
        sa.Column("moved_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["region_id"], ["region.id"], name="fk_mail_intake_region_id_region"),
        sa.PrimaryKeyConstraint("id", name="pk_mail_intake"),
        sa.UniqueConstraint("region_id", "folder", "uidvalidity", "uid",
                            name="uq_mail_intake_region_id_folder_uidvalidity_uid"),
    )
    op.create_index("ix_mail_intake_region_id", "mail_intake", ["region_id"])


def downgrade() -> None:
    op.drop_index("ix_mail_intake_region_id", table_name="mail_intake")
    op.drop_table("mail_intake")
