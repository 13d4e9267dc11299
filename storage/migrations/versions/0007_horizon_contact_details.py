"""region.concept_horizon / sheet_max_year (the sheet's year range as a region setting) and
contact.salutation / phone (the optional Anrede and Telefon columns of the institutions file)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.add_column(sa.Column("concept_horizon", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("sheet_max_year", sa.Integer(), nullable=True))
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("salutation", sa.String(length=100), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("phone", sa.String(length=100), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("phone")
        batch_op.drop_column("salutation")
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.drop_column("sheet_max_year")
        batch_op.drop_column("concept_horizon")
