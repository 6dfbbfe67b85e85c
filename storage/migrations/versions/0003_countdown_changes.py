"""countdowns the news may change directly (follow_news) and changes proposed to the others

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import storage.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("countdown", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("follow_news", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Countdowns the bot created from the news ("Track this") keep following the news.
    op.execute("UPDATE countdown SET follow_news = TRUE WHERE origin = 'proposal'")
    op.create_table(
        "countdown_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("countdown_id", sa.Integer(), nullable=False),
        sa.Column("what", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("tentative", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("item_title", sa.Text(), nullable=True),
        sa.Column("item_url", sa.Text(), nullable=True),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("decided_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("countdown_id", "what", "start", "end", name="uq_countdown_change"),
    )
    with op.batch_alter_table("countdown_change", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_countdown_change_countdown_id"), ["countdown_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("countdown_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_countdown_change_countdown_id"))
    op.drop_table("countdown_change")
    with op.batch_alter_table("countdown", schema=None) as batch_op:
        batch_op.drop_column("follow_news")
