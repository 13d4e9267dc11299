"""region.templates_dir and region.base_url: several regions side by side, each with its own templates folder
and page address

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.add_column(sa.Column("templates_dir", sa.String(length=1000), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("base_url", sa.String(length=500), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.drop_column("base_url")
        batch_op.drop_column("templates_dir")
