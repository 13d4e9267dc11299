"""request.token_nonce: personal links derived from the server secret, revocable by a new nonce

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_nonce", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False,
                                      server_default=""))
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.alter_column("token_nonce", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.drop_column("token_nonce")
