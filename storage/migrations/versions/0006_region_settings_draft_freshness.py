"""region: holiday calendar, funding line and logo, set by `fko init --region-file` (they were read from region.toml);
concept_version.built_from: what a draft was built from, so a stale draft is rebuilt before anyone reads it;
cycle.base_version_id nullable: a region's first round starts without a published concept;
cycle.state "published" for a round whose version is adopted; replaced_link: links staff replaced

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

FUNDING = "Mit finanzieller Unterstützung des Landes Nordrhein-Westfalen und der Europäischen Union."


def upgrade() -> None:
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holiday_state", sa.String(length=2), nullable=False, server_default="NW"))
        batch_op.add_column(sa.Column("funding_line", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("logo", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("logo_type", sa.String(length=40), nullable=False, server_default=""))
    with op.batch_alter_table("concept_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("built_from", sa.String(length=64), nullable=False, server_default=""))
    with op.batch_alter_table("cycle", schema=None) as batch_op:
        batch_op.alter_column("base_version_id", existing_type=sa.Integer(), nullable=True)
    op.create_table(
        "replaced_link",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("replaced_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["request.id"], name=op.f("fk_replaced_link_request_id_request")),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_replaced_link")),
    )
    with op.batch_alter_table("replaced_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_replaced_link_request_id"), ["request_id"], unique=False)
    # A round whose version was published ended with it (no reminders, no more answers): state "published".
    op.execute(sa.text("UPDATE cycle SET state = 'published' WHERE state = 'open' AND draft_version_id IN "
                       "(SELECT id FROM concept_version WHERE status = 'published')"))
    # Existing regions were set up with the default funding line shown nowhere yet: give them the default.
    op.execute(sa.text("UPDATE region SET funding_line = :funding").bindparams(funding=FUNDING))


def downgrade() -> None:
    op.drop_table("replaced_link")
    with op.batch_alter_table("cycle", schema=None) as batch_op:
        batch_op.alter_column("base_version_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("concept_version", schema=None) as batch_op:
        batch_op.drop_column("built_from")
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.drop_column("logo_type")
        batch_op.drop_column("logo")
        batch_op.drop_column("funding_line")
        batch_op.drop_column("holiday_state")
