"""activity.extra: values of columns a region added to its sheet spec

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extra", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.alter_column("extra", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_column("extra")
