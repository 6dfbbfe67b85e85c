"""Countdowns are their owners': through the CLI, news about a person's countdown only proposes
a change (listed by ``countdown list``, applied by ``countdown confirm``, discarded by
``countdown dismiss``); a countdown opted in with ``follow_news: true`` follows the news; a date
already over is refused at ``countdown add`` unless ``--past`` says so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from newsserver import NewsItem, NewsServer, rss_feed

from bot.cli import main

pytestmark = pytest.mark.timeout(120)

NOW = "2024-09-03T15:00:00Z"
PUBLISHED = datetime(2024, 9, 3, 14, 0, tzinfo=UTC)
BASELINE = NewsItem(
    guid="wire-0",
    title="Commerce Department adds Chinese drone makers to the entity list",
    link="https://wire.example/entity-list",
    summary="The US Commerce Department added Chinese drone manufacturers to its entity list.",
    published=datetime(2024, 9, 2, 14, 0, tzinfo=UTC),
)
OCT_24 = NewsItem(
    guid="wire-1",
    title="Biden and Xi to speak by phone on October 24, White House says",
    link="https://wire.example/call-oct-24",
    summary="President Joe Biden and Chinese President Xi Jinping will speak by phone on "
    "October 24, the White House said, as the two sides try to keep talking on Taiwan.",
    published=PUBLISHED,
)
NOV_14 = NewsItem(
    guid="wire-2",
    title="Biden, Xi call set for November 14",
    link="https://wire.example/call-nov-14",
    summary="Officials in Washington and Beijing said President Joe Biden and President Xi "
    "Jinping will hold a phone call on November 14.",
    published=PUBLISHED,
)
NOV_14_AGAIN = NewsItem(
    guid="wire-3",
    title="Biden and Xi to hold phone call on November 14, officials say",
    link="https://wire.example/call-nov-14-again",
    summary="The call between US President Joe Biden and Chinese President Xi Jinping will "
    "take place on November 14, US and Chinese officials said.",
    published=PUBLISHED,
)
CALL = "{name: Biden-Xi call, after: 2024-09-01, before: 2024-10-31, tentative: true%s}"


@pytest.fixture
def news() -> Iterator[NewsServer]:
    with NewsServer() as server:
        yield server


def configure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, feed: str, *, follow_news: bool = False
) -> None:
    call = CALL % (", follow_news: true" if follow_news else "")
    config = tmp_path / "uschina-bot.yaml"
    config.write_text(
        "timezone: UTC\n"
        f"sources:\n  - {{name: Wire, url: '{feed}', type: rss, interval: 10m}}\n"
        "channels:\n  - {name: china-desk, console: true, mode: realtime}\n"
        f"countdowns:\n  - {call}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("USCHINA_BOT_CONFIG", str(config))
    monkeypatch.setenv("USCHINA_BOT_ALLOW_PRIVATE_NETWORKS", "1")
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "TEAMS_OUTGOING_SECRET"):
        monkeypatch.delenv(name, raising=False)


def cli(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> str:
    capsys.readouterr()
    assert main(list(argv)) == code
    captured = capsys.readouterr()
    return captured.out + captured.err


def publish(news: NewsServer, capsys: pytest.CaptureFixture[str], *items: NewsItem) -> str:
    news.set("/wire.xml", rss_feed("Wire", [*items, BASELINE]))
    return cli(capsys, "poll", "--once", "--now", NOW)


def listing(capsys: pytest.CaptureFixture[str]) -> str:
    return cli(capsys, "countdown", "list", "--now", NOW)


def test_news_only_proposes_changes_to_a_persons_countdown(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    news: NewsServer,
) -> None:
    feed = news.set("/wire.xml", rss_feed("Wire", [BASELINE]))
    configure(tmp_path, monkeypatch, feed)
    publish(news, capsys)  # baseline
    before = listing(capsys)
    assert "Biden-Xi call — expected between 1 Sep and 31 Oct 2024" in before

    polled = publish(news, capsys, OCT_24)
    assert "The news suggests a change to Biden-Xi call (#1)" in polled  # the console post
    after = listing(capsys)
    assert "Biden-Xi call — expected between 1 Sep and 31 Oct 2024" in after  # unchanged
    assert "CHANGES PROPOSED BY THE NEWS" in after
    assert "Biden-Xi call #1: Confirmed for 24 Oct 2024 (Wire)." in after
    assert "countdown confirm 1 · countdown dismiss 1" in after

    confirmed = cli(capsys, "countdown", "confirm", "1", "--now", NOW)
    assert "Change #1 applied: Biden-Xi call (#1) — in 51 days." in confirmed
    applied = listing(capsys)
    assert "Biden-Xi call — in 51 days" in applied
    assert "CHANGES PROPOSED BY THE NEWS" not in applied
    again = cli(capsys, "countdown", "confirm", "1", "--now", NOW)
    assert "Change #1 was already applied" in again
    assert listing(capsys) == applied

    publish(news, capsys, NOV_14, OCT_24)
    moved = listing(capsys)
    assert "Biden-Xi call — in 51 days" in moved
    assert "Biden-Xi call #1: Moved for 14 Nov 2024 (Wire). (now: on 24 Oct 2024)" in moved
    dismissed = cli(capsys, "countdown", "dismiss", "2", "--now", NOW)
    assert "Change #2 dismissed" in dismissed
    assert "will not be proposed again" in dismissed
    assert listing(capsys) == applied
    assert "already confirmed" in cli(capsys, "countdown", "dismiss", "1", code=2)

    republished = publish(news, capsys, NOV_14_AGAIN, NOV_14, OCT_24)  # same change, new item
    assert "The news suggests a change" not in republished
    assert listing(capsys) == applied
    assert "no proposed change #9" in cli(capsys, "countdown", "confirm", "9", code=2)


def test_a_countdown_that_follows_the_news_is_updated_directly(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    news: NewsServer,
) -> None:
    feed = news.set("/wire.xml", rss_feed("Wire", [BASELINE]))
    configure(tmp_path, monkeypatch, feed, follow_news=True)
    publish(news, capsys)
    polled = publish(news, capsys, OCT_24)
    assert "Confirmed for 24 Oct 2024 (Wire)." in polled
    updated = listing(capsys)
    assert "Biden-Xi call — in 51 days" in updated
    assert "CHANGES PROPOSED BY THE NEWS" not in updated


def test_a_past_date_is_refused_unless_past_is_given(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    news: NewsServer,
) -> None:
    configure(tmp_path, monkeypatch, news.set("/wire.xml", rss_feed("Wire", [BASELINE])))
    refused = cli(
        capsys, "countdown", "add", "G20 Rio", "2024-11-18", "--now", "2024-12-01", code=2
    )
    assert "2024-11-18 has already passed (today is 2024-12-01 in UTC)" in refused
    assert "--past" in refused
    window = cli(
        capsys, "countdown", "add", "APEC", "2024-11-10..2024-11-16", "--now", "2024-12-01", code=2
    )
    assert "2024-11-16 has already passed" in window
    assert "G20 Rio" not in cli(capsys, "countdown", "list", "--now", "2024-12-01")

    # --now is honoured: the same date is accepted when "today" is before it
    added = cli(capsys, "countdown", "add", "G20 Rio", "2024-11-18", "--now", "2024-11-01")
    assert "Added countdown #2:" in added and "in 17 days" in added
    recorded = cli(
        capsys, "countdown", "add", "APEC", "2024-11-10..2024-11-16", "--past", "--now", NOW
    )
    assert "Added countdown" in recorded  # not past as of NOW: --past changes nothing
    cli(capsys, "countdown", "remove", "3")
    recorded = cli(
        capsys,
        "countdown",
        "add",
        "APEC",
        "2024-11-10..2024-11-16",
        "--past",
        "--now",
        "2024-12-01",
    )
    assert "Added past event #" in recorded
    shown = cli(capsys, "countdown", "list", "--now", "2024-12-01")
    assert "PAST" in shown and "APEC" in shown.split("PAST")[1]
    # declared in a config file written before the event: kept, listed as past, warned about
    assert "Biden-Xi call" in shown.split("PAST")[1]
    assert (
        "Biden-Xi call" in cli(capsys, "countdown", "list", "--now", "2024-09-01").split("PAST")[0]
    )
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(
        "'Biden-Xi call' ended on 2024-10-31, before today (2024-12-01)" in w for w in warnings
    ), warnings
