"""staff_account and staff_session: sign-in to the staff area under /intern/

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("setup_hash", sa.String(length=64), nullable=True),
        sa.Column("setup_expires_at", UTCDateTime(), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("blocked_until", UTCDateTime(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["region_id"], ["region.id"], name="fk_staff_account_region_id_region"),
        sa.PrimaryKeyConstraint("id", name="pk_staff_account"),
        sa.UniqueConstraint("region_id", "name", name="uq_staff_account_region_id_name"),
        sa.UniqueConstraint("setup_hash", name="uq_staff_account_setup_hash"),
    )
    op.create_index("ix_staff_account_region_id", "staff_account", ["region_id"])
    op.create_table(
        "staff_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_account.id"], name="fk_staff_session_staff_id_staff_account"),
        sa.PrimaryKeyConstraint("id", name="pk_staff_session"),
        sa.UniqueConstraint("token_hash", name="uq_staff_session_token_hash"),
    )
    op.create_index("ix_staff_session_staff_id", "staff_session", ["staff_id"])


def downgrade() -> None:
    op.drop_index("ix_staff_session_staff_id", table_name="staff_session")
    op.drop_table("staff_session")
    op.drop_index("ix_staff_account_region_id", table_name="staff_account")
    op.drop_table("staff_account")
