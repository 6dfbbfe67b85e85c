"""``uschina-bot countdown list|add|remove``."""

from __future__ import annotations

from pathlib import Path

import pytest
from insights_cli import prepare, run_cli

from bot.domain.errors import CommandError


def test_list_add_remove(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prepare(tmp_path, monkeypatch, news=False)
    assert run_cli("countdown", "list", "--now", "2024-09-01") == 0
    out = capsys.readouterr().out
    assert "COP29 (Baku) — in 71 days" in out
    assert "Biden-Xi call — expected between 1 Sep and 31 Oct 2024" in out
    run_cli(
        "countdown", "add", "US election", "2024-11-05", "--where", "USA", "--now", "2024-09-01"
    )
    assert "US election (USA) — in 65 days" in capsys.readouterr().out
    run_cli("countdown", "add", "Envoy visit", "2024-09-15..2024-09-30", "--now", "2024-09-01")
    assert "tentative" in capsys.readouterr().out
    run_cli("countdown", "list", "--now", "2024-09-01")
    listing = capsys.readouterr().out
    assert listing.index("Biden-Xi") < listing.index("Envoy") < listing.index("COP29")
    assert run_cli("countdown", "remove", "3") == 0
    assert "Removed countdown #3 (US election)" in capsys.readouterr().out
    with pytest.raises(CommandError, match="no countdown #3"):
        run_cli("countdown", "remove", "3")
    with pytest.raises(CommandError, match="not a date"):
        run_cli("countdown", "add", "Summit", "next week")
    with pytest.raises(CommandError, match="already exists"):
        run_cli("countdown", "add", "COP29", "2024-11-11")
