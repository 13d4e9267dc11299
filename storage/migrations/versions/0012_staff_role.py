"""staff_account.role: "region" (the region's own staff) or "state" (the ministry: sees the roll-up of all regions)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=10), nullable=False, server_default="region"))


def downgrade() -> None:
    with op.batch_alter_table("staff_account", schema=None) as batch_op:
        batch_op.drop_column("role")
