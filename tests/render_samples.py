"""Fixed views for the rendering tests and golden files (no I/O, fixed clock)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.domain import render
from bot.domain.models import (
    Classification,
    Countdown,
    FetchState,
    Item,
    Message,
    Source,
    SourceSpec,
    Story,
)
from bot.domain.views import (
    AlertView,
    ChangeView,
    CountdownLine,
    DigestSection,
    DigestView,
    ProposalView,
    SourceRow,
    StatusDetailView,
    StatusRow,
    StatusView,
    SubscriptionRow,
    TopicEntry,
)

NOW = datetime(2024, 9, 10, 14, 0, tzinfo=UTC)
GOLDEN = Path(__file__).parent / "golden"
HOSTILE_TITLES = (
    "<!channel> urgent: Biden–Xi call",
    "<@U123> & <!here> see this",
    "<https://evil.example|click> here",
    "[x](javascript:alert(1)) Taiwan",
    "**bold** _it_ `code` # heading",
    "1. list\n- dash\n> quote",
    "{{DATE(2024-01-01T00:00:00Z, SHORT)}} templated",
)


def story(n: int = 1, title: str | None = None, **kw: Any) -> Story:
    base: dict[str, Any] = {
        "key": f"story-{n}",
        "title": title or f"US and China hold talks on climate finance ({n})",
        "url": f"https://news.example/article/{n}?a=1&b=2",
        "first_seen": NOW - timedelta(hours=n % 24 + 1),
        "last_seen": NOW - timedelta(hours=n % 24),
        "topics": ("climate", "diplomacy"),
        "outlets": ("Reuters", "AP"),
        "item_count": 2,
    }
    base.update(kw)
    return Story(**base)


def item(title: str = "Biden and Xi to speak in coming weeks", **kw: Any) -> Item:
    base: dict[str, Any] = {
        "key": "item-1",
        "source_id": 1,
        "url": "https://news.example/biden-xi-call",
        "title": title,
        "summary": "The two leaders are expected to talk by phone, officials said.",
        "published": NOW - timedelta(minutes=30),
        "first_seen": NOW - timedelta(minutes=20),
        "source_name": "Reuters",
        "classification": Classification(True, ("diplomacy",)),
    }
    base.update(kw)
    return Item(**base)


def countdown_line(n: int = 1, tentative: bool = False) -> CountdownLine:
    if tentative:
        cd = Countdown(
            id=n,
            name="Biden–Xi call",
            start=date(2024, 9, 1),
            end=date(2024, 10, 31),
            tentative=True,
        )
        return CountdownLine(cd, None, "expected between 1 Sep and 31 Oct 2024")
    cd = Countdown(
        id=n, name="COP29", start=date(2024, 11, 11), end=date(2024, 11, 11), where="Baku"
    )
    return CountdownLine(cd, 62, "in 62 days")


def alert_view(**kw: Any) -> AlertView:
    base: dict[str, Any] = {
        "story": story(1, official=True),
        "item": item(),
        "topic_labels": ("Diplomacy", "Climate"),
        "outlet_count": 3,
        "subscribe_topic": "diplomacy",
    }
    base.update(kw)
    return AlertView(**base)


def digest_view(stories_per_topic: int = 3, hostile: bool = False, **kw: Any) -> DigestView:
    sections = []
    for t, (topic, label) in enumerate((("climate", "Climate"), ("taiwan", "Taiwan"))):
        stories = tuple(
            story(
                t * 1000 + i,
                title=HOSTILE_TITLES[i % len(HOSTILE_TITLES)] if hostile else None,
            )
            for i in range(stories_per_topic)
        )
        sections.append(DigestSection(topic, label, stories, 2, stories_per_topic + 2, t + 1))
    base: dict[str, Any] = {
        "channel_name": "china-desk",
        "period_start": NOW - timedelta(days=1),
        "period_end": NOW,
        "timezone": "America/New_York",
        "sections": tuple(sections),
        "countdowns": (countdown_line(1), countdown_line(2, tentative=True)),
    }
    base.update(kw)
    return DigestView(**base)


def status_view() -> StatusView:
    rows = (
        StatusRow("diplomacy", "Diplomacy", story(1), "Reuters", 5, 3, 2),
        StatusRow(
            "taiwan", "Taiwan", story(2, title="US approves arms sale to Taiwan"), "AP", 2, 4, None
        ),
        StatusRow("health", "Health", None, None, 0, 0, None),
    )
    return StatusView(rows, NOW, 2, "Blinken–Wang meeting")


def status_detail_view() -> StatusDetailView:
    return StatusDetailView(
        topic="climate",
        label="Climate",
        stories=tuple(story(i) for i in range(1, 6)),
        countdowns=(countdown_line(1),),
        last_engagement_title="Podesta–Liu climate talks in Beijing",
        accounts=(
            ("US", "State Department", "Special envoy meets counterpart on methane"),
            ("PRC", "Xinhua", "https://xinhua.example/climate-talks"),
        ),
    )


def proposal_view() -> ProposalView:
    return ProposalView("Biden–Xi call", "expected in the coming weeks", item(), 42)


def change_view() -> ChangeView:
    return ChangeView(
        change_id=5,
        countdown_id=3,
        countdown_name="Biden–Xi call",
        proposal="Now expected between 11 Dec 2026 and 15 Jan 2027 (Reuters).",
        current="between 1 Sep 2024 and 31 Oct 2024",
        item_title="Biden and Xi expected to speak by phone in the coming weeks",
        item_url="https://news.example/biden-xi-call",
    )


def source_row() -> SourceRow:
    state = FetchState(last_success=NOW - timedelta(minutes=5))
    spec = SourceSpec("State Dept press releases", "https://state.example/rss", "rss", 600)
    return SourceRow(Source(7, spec, state), items_7d=12)


SAMPLES: dict[str, Callable[[], Message]] = {
    "alert": lambda: render.render_alert(alert_view()),
    "followup": lambda: render.render_alert(
        alert_view(followup=True, item=item(source_name="AP", url="https://ap.example/x"))
    ),
    "burst": lambda: render.render_burst_summary("china-desk", 187, ("Taiwan", "Trade"), NOW),
    "digest": lambda: render.render_digest(digest_view(), NOW),
    "digest_quiet": lambda: render.render_digest(digest_view(sections=()), NOW),
    "countdown": lambda: render.render_countdown(countdown_line(1)),
    "countdown_list": lambda: render.render_countdown_list(
        (countdown_line(1), countdown_line(2, tentative=True))
    ),
    "status": lambda: render.render_status(status_view()),
    "status_detail": lambda: render.render_status_detail(status_detail_view()),
    "proposal": lambda: render.render_proposal(proposal_view()),
    "change_proposal": lambda: render.render_change_proposal(change_view()),
    "countdown_list_changes": lambda: render.render_countdown_list(
        (countdown_line(1),), (change_view(),), (countdown_line(2, tentative=True),)
    ),
    "latest": lambda: render.render_latest((story(1), item()), "Climate", NOW),
    "search": lambda: render.render_search("methane", (story(3),), NOW),
    "topics": lambda: render.render_topics(
        (TopicEntry("taiwan", "Taiwan", "Taiwan, the Strait"), ("ai", "AI", "AI dialogue"))
    ),
    "subscriptions": lambda: render.render_subscriptions(
        (
            SubscriptionRow("taiwan", "Taiwan", "realtime", NOW + timedelta(hours=24)),
            SubscriptionRow("*", "All topics", "digest", digest_time="08:00 America/New_York"),
        )
    ),
    "sources": lambda: render.render_sources((source_row(),)),
    "help": lambda: render.render_help(
        ("help", "topics", "latest [TOPIC] [N]", "subscribe TOPIC... [realtime|digest]")
    ),
    "error": lambda: render.render_error(
        "Unknown topic 'taiwn'.", "subscribe TOPIC... [realtime|digest]"
    ),
    "ok": lambda: render.render_ok("Subscribed #china-desk to Taiwan (realtime)."),
}


def check_golden(name: str, payload: Any) -> None:
    """Compare ``payload`` with tests/golden/NAME.json (rewrite it when UPDATE_GOLDEN=1)."""
    path = GOLDEN / f"{name}.json"
    text = json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1"
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(text), (
        f"{name} differs from {path}; inspect and rerun with UPDATE_GOLDEN=1 if intended"
    )
