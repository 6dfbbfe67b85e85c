"""full-text search over items: FTS5 on SQLite, a GIN tsvector index on PostgreSQL

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 07:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE = [
    "CREATE VIRTUAL TABLE item_fts USING fts5("
    "title, summary, content='item', content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER item_fts_ai AFTER INSERT ON item BEGIN "
    "INSERT INTO item_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary); END",
    "CREATE TRIGGER item_fts_ad AFTER DELETE ON item BEGIN "
    "INSERT INTO item_fts(item_fts, rowid, title, summary) "
    "VALUES ('delete', old.id, old.title, old.summary); END",
    "CREATE TRIGGER item_fts_au AFTER UPDATE OF title, summary ON item BEGIN "
    "INSERT INTO item_fts(item_fts, rowid, title, summary) "
    "VALUES ('delete', old.id, old.title, old.summary); "
    "INSERT INTO item_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary); END",
]
_POSTGRES = [
    "CREATE INDEX ix_item_fts ON item USING GIN "
    "(to_tsvector('english', coalesce(title, '') || ' ' || coalesce(summary, '')))",
]


def upgrade() -> None:
    statements = _SQLITE if op.get_bind().dialect.name == "sqlite" else _POSTGRES
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("item_fts_ai", "item_fts_ad", "item_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS item_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_item_fts")
