"""``uschina-bot status [TOPIC] [--now ISO]``."""

from __future__ import annotations

from pathlib import Path

import pytest
from insights_cli import prepare, run_cli

from bot.domain.errors import CommandError


def test_status_board_and_topic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prepare(tmp_path, monkeypatch)
    assert run_cli("status", "--now", "2024-09-10T12:00") == 0
    board = capsys.readouterr().out
    assert "US–CHINA STATUS BOARD" in board and "Taiwan — 7 days: 5 (▲4)" in board
    assert run_cli("status", "diplomacy", "--now", "2024-09-10T12:00") == 0
    detail = capsys.readouterr().out
    assert "STATUS: DIPLOMACY" in detail and "Side by side" in detail
    with pytest.raises(CommandError, match="unknown topic"):
        run_cli("status", "nonsense", "--now", "2024-09-10T12:00")
