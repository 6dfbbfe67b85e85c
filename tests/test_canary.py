"""A canary server that must never be reached: sources pointing at private or local addresses
are refused at add time and at every fetch, through the CLI as a user would run it.

The canary is a local feed server that records every request; each test ends by asserting it
recorded none (after whatever setup needed it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from feedserver import FeedServer

from bot.cli import main

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def canary() -> Iterator[FeedServer]:
    with FeedServer(n_feeds=1, items_per_feed=3, summary_words=10) as srv:
        yield srv


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    config = tmp_path / "uschina-bot.yaml"
    config.write_text("timezone: UTC\nsources: []\n", encoding="utf-8")
    monkeypatch.setenv("USCHINA_BOT_CONFIG", str(config))
    monkeypatch.delenv("USCHINA_BOT_ALLOW_PRIVATE_NETWORKS", raising=False)
    return tmp_path


def hostile_urls(canary: FeedServer) -> list[str]:
    port = canary.port
    feed = f"http://127.0.0.1:{port}/feeds/0"
    return [
        feed,
        f"http://localhost:{port}/feeds/0",
        f"http://127.0.0.1:{port}/redirect-to?url={feed}",
    ]


def test_private_sources_are_refused_at_add_and_never_hit(
    env: Path, canary: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    for url in [*hostile_urls(canary), "http://169.254.169.254/latest/meta-data/"]:
        assert main(["sources", "add", url]) != 0, url
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert main(["sources", "list"]) == 0
    listing = capsys.readouterr().out
    assert "127.0.0.1" not in listing and "169.254.169.254" not in listing
    assert canary.requests == []


def test_sources_allowed_once_are_refused_at_fetch_when_no_longer_allowed(
    env: Path,
    canary: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # An operator allowed private networks while adding, then turned the permission off.
    monkeypatch.setenv("USCHINA_BOT_ALLOW_PRIVATE_NETWORKS", "1")
    for url in hostile_urls(canary):
        assert main(["sources", "add", url]) == 0, url
    monkeypatch.delenv("USCHINA_BOT_ALLOW_PRIVATE_NETWORKS")
    canary.clear_requests()
    capsys.readouterr()

    assert main(["poll", "--once", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["sources_ok"] == 0
    assert summary["sources_failed"] == len(hostile_urls(canary))
    assert canary.requests == []
