"""``uschina-bot digest``: renders without posting, in text, Slack and Teams formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from insights_cli import prepare, run_cli

from bot.domain.errors import ConfigError


def test_digest_text_slack_and_teams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prepare(tmp_path, monkeypatch)
    assert run_cli("digest", "--channel", "china-desk", "--now", "2024-09-10T08:00") == 0
    text = capsys.readouterr().out
    assert "DAILY US–CHINA DIGEST — CHINA-DESK" in text
    assert "Taiwan — 3 stories" in text and "COP29 (Baku) — in 62 days" in text
    assert "Entity List" not in text  # sanctions is not a topic of this channel
    run_cli("digest", "--channel", "china-desk", "--now", "2024-09-10T08:00", "--format", "slack")
    slack = json.loads(capsys.readouterr().out)
    assert slack["blocks"][0]["type"] == "header" and "text" in slack
    run_cli("digest", "--channel", "china-desk", "--now", "2024-09-10T08:00", "--format", "teams")
    teams = json.loads(capsys.readouterr().out)
    assert teams[0]["attachments"][0]["content"]["type"] == "AdaptiveCard"
    run_cli("digest", "--channel", "china-desk", "--now", "2024-09-10T05:00", "--since", "2h")
    assert "Quiet period" in capsys.readouterr().out  # nothing new between 03:00 and 05:00
    # Nothing was posted or queued.
    import asyncio

    from storage.db import Database
    from storage.store import Store

    async def count() -> dict[str, int]:
        store = Store(Database(f"sqlite:///{tmp_path / 'cli.db'}"))
        try:
            return await store.deliveries.counts()
        finally:
            await store.close()

    assert asyncio.run(count()) == {}


def test_digest_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prepare(tmp_path, monkeypatch, news=False)
    with pytest.raises(ConfigError, match=r"no channel named 'nope'.*china-desk"):
        run_cli("digest", "--channel", "nope", "--now", "2024-09-10")
    with pytest.raises(ConfigError, match="--since"):
        run_cli("digest", "--channel", "china-desk", "--since", "soon")
