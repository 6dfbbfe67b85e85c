"""A new source type is one reader and one registry line: config, CLI and poll all accept it.

The ``lines`` type below (one ``url<TAB>title`` per line) lives only in this test module; a
real local HTTP server serves it and the real CLI polls it into a real SQLite database.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.config import load_settings
from bot.domain import source_types
from bot.domain.errors import ConfigError, ParseError
from bot.domain.ingest import Judge
from bot.domain.models import FetchOutcome, ParsedEntry, ParsedFeed, Source, SourceSpec
from bot.taxonomy_file import default_taxonomy
from jobs.cpu import CpuStage
from storage.db import Database
from storage.store import Store

BODY = (
    "https://lines.example.org/a\tChina and US agree tariff truce in Geneva trade talks\n"
    "https://lines.example.org/b\tUS adds Chinese chip firms to export control entity list\n"
)


def read_lines(body: bytes, url: str, content_type: str | None, selector: str | None) -> ParsedFeed:
    entries = []
    for line in body.decode("utf-8").splitlines():
        link, sep, title = line.partition("\t")
        if not sep:
            raise ParseError(f"not a lines feed: {line[:40]!r}")
        entries.append(ParsedEntry(guid=link, link=link, title=title, summary=title))
    return ParsedFeed(title="Lines", entries=tuple(entries), format="lines")


LINES = source_types.register(
    source_types.SourceKind("lines", "one url<TAB>title per line (test type)", read_lines)
)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        data = BODY.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def lines_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/feed.txt"
    finally:
        server.shutdown()
        server.server_close()


def test_registered_type_is_known_everywhere() -> None:
    assert "lines" in source_types.names()
    assert source_types.get("lines") is LINES
    with pytest.raises(ConfigError, match="unknown source type 'nope'"):
        source_types.get("nope")
    with pytest.raises(ValueError, match="already registered"):
        source_types.register(source_types.SourceKind("lines", "another", read_lines))


def test_poll_reads_a_source_of_the_registered_type(
    lines_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = {"sources": [{"name": "lines", "url": lines_url, "type": "lines"}]}
    path = tmp_path / "uschina-bot.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    monkeypatch.setenv("USCHINA_BOT_CONFIG", str(path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("USCHINA_BOT_ALLOW_PRIVATE_NETWORKS", "1")

    assert main(["poll", "--once", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["sources_ok"] == 1 and report["new_items"] == 2

    async def links() -> set[str]:
        store = Store(Database(load_settings().database_url))
        try:
            return {i.url for i in await store.items.many(await store.items.all_ids())}
        finally:
            await store.close()

    assert asyncio.run(links()) == {"https://lines.example.org/a", "https://lines.example.org/b"}


def test_config_refuses_an_unregistered_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "uschina-bot.yaml"
    path.write_text(
        yaml.safe_dump(
            {"sources": [{"name": "x", "url": "https://x.example.org/", "type": "telex"}]}
        )
    )
    monkeypatch.setenv("USCHINA_BOT_CONFIG", str(path))
    with pytest.raises(ConfigError, match="unknown source type 'telex'"):
        load_settings()


async def test_parsing_workers_read_the_registered_type() -> None:
    """Worker processes start from a fresh interpreter: they import the reader's module."""
    stage = CpuStage(Judge(default_taxonomy()), workers=1, taxonomy_path=None)
    source = Source(1, SourceSpec("lines", "https://lines.example.org/feed.txt", type="lines"))
    outcome = FetchOutcome(url=source.url, ok=True, status=200, body=BODY.encode("utf-8"))
    try:
        prepared = await stage.prepare_in_pool(
            source, outcome, frozenset(), datetime(2026, 12, 1, tzinfo=UTC)
        )
    finally:
        stage.close()
    assert prepared.warning is None
    assert [j.item.url for j in prepared.items] == [
        "https://lines.example.org/a",
        "https://lines.example.org/b",
    ]
