"""Status that tells the truth: /healthz over HTTP, the poll summary's delivery counts, and
shipped examples that work as shipped."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
import yaml
from feedserver import FeedServer

from bot.app import build_app
from bot.cli import main
from bot.config import load_config_file, load_settings
from bot.web import build_web
from jobs.poll import poll_due
from jobs.queries import queue_digest

ROOT = Path(__file__).resolve().parents[1]


def write_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: dict[str, object]
) -> None:
    path = tmp_path / "uschina-bot.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    monkeypatch.setenv("USCHINA_BOT_CONFIG", str(path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("USCHINA_BOT_ALLOW_PRIVATE_NETWORKS", "1")


async def healthz(scheduler_running: bool = True) -> tuple[int, dict[str, object]]:
    """GET /healthz through the real ASGI app, after one poll of every source."""
    app = await build_app(load_settings())
    try:
        web = build_web(app, scheduler_state=lambda: {"running": scheduler_running})
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
            before = (await client.get("/healthz")).json()
            await poll_due(app.poll_ports(), all_sources=True)
            response = await client.get("/healthz")
        assert before["sources"]["never_polled"] == before["sources"]["enabled"]
        return response.status_code, response.json()
    finally:
        await app.close()


@pytest.mark.timeout(120)
def test_healthz_is_degraded_when_most_sources_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FeedServer(n_feeds=2, items_per_feed=3) as server:
        sources = [{"name": f"good {i}", "url": f.url} for i, f in enumerate(server.feeds)]
        sources += [
            {"name": f"broken {n}", "url": server.url(f"{FeedServer.HTTP_500}?n={n}")}
            for n in range(21)
        ]
        write_config(tmp_path, monkeypatch, {"sources": sources, "poll": {"deadline": "5s"}})
        status, report = asyncio.run(healthz())
    assert status == 200
    assert report["status"] == "degraded"
    assert report["reasons"] == ["21 of 23 polled sources failing"]
    assert report["sources"] == {
        "enabled": 23,
        "polled": 23,
        "ok": 2,
        "failing": 21,
        "never_polled": 0,
        "degraded": True,
    }


@pytest.mark.timeout(120)
def test_healthz_is_ok_when_most_sources_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FeedServer(n_feeds=3, items_per_feed=3) as server:
        sources = [{"name": f"good {i}", "url": f.url} for i, f in enumerate(server.feeds)]
        sources.append({"name": "broken", "url": server.url(FeedServer.HTTP_500)})
        write_config(tmp_path, monkeypatch, {"sources": sources, "poll": {"deadline": "5s"}})
        status, report = asyncio.run(healthz())
    assert (status, report["status"], report["reasons"]) == (200, "ok", [])
    sources_report = report["sources"]
    assert isinstance(sources_report, dict)
    assert (sources_report["ok"], sources_report["failing"]) == (3, 1)


async def queue_one_digest() -> None:
    app = await build_app(load_settings())
    try:
        channel = await app.store.channels.by_name("console")
        assert channel is not None
        assert await queue_digest(app.query_ports(), channel, app.now())
    finally:
        await app.close()


def test_poll_summary_counts_add_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(
        tmp_path,
        monkeypatch,
        {"sources": [], "channels": [{"name": "console", "console": True}]},
    )
    asyncio.run(queue_one_digest())  # a delivery queued before this poll
    assert main(["poll", "--once"]) == 0
    out = capsys.readouterr().out
    assert "deliveries queued: 0" in out
    assert "deliveries: 0 queued by this poll, 1 queued earlier; posted now: 1; " in out
    assert "still pending: 0" in out


def test_example_config_works_as_shipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = load_config_file(str(ROOT / "uschina-bot.example.yaml"))
    assert config.channels and all(ch.platform == "console" for ch in config.channels)
    monkeypatch.setenv("USCHINA_BOT_CONFIG", str(ROOT / "uschina-bot.example.yaml"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert main(["countdown", "list"]) == 0
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    mounted = compose["services"]["bot"]["volumes"][0].split(":")[0]
    assert mounted == "./uschina-bot.example.yaml"


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".venv", ".git", "*.db", "tests", "**/__pycache__", ".env"):
        assert entry in ignored


async def poll_once() -> None:
    app = await build_app(load_settings())
    try:
        await poll_due(app.poll_ports(), all_sources=True)
    finally:
        await app.close()


def test_a_failing_source_is_logged_once_per_cycle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with FeedServer(n_feeds=1, items_per_feed=2) as server:
        broken = server.url(f"{FeedServer.HTTP_500}?token=SECRET")
        write_config(tmp_path, monkeypatch, {"sources": [{"name": "broken", "url": broken}]})
        with caplog.at_level("INFO"):
            asyncio.run(poll_once())
    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    about_it = [r for r in ours if "500" in r.getMessage()]
    assert len(about_it) == 1, [r.getMessage() for r in about_it]
    assert "broken" in about_it[0].getMessage()
    assert "SECRET" not in caplog.text
