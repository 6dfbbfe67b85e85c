"""Fixture news for the digest, countdown and status tests: a week of US–China stories.

The clock is frozen at ``NOW`` (Tuesday 2024-09-10 12:00 UTC). Times are chosen so that a
daily 08:00 UTC digest at ``SLOT`` (2024-09-10 08:00) covers the stories marked ``in_digest``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app import App
from bot.config import FileConfig, Settings
from bot.domain.classify import Classifier
from bot.domain.models import (
    Classification,
    Engagement,
    EventDate,
    FetchState,
    Item,
    SourceSpec,
    Story,
)
from bot.taxonomy_file import default_taxonomy
from storage.repos.items import IngestBatch
from storage.store import Store

NOW = datetime(2024, 9, 10, 12, 0, tzinfo=UTC)
SLOT = datetime(2024, 9, 10, 8, 0, tzinfo=UTC)
GOLDEN = Path(__file__).parent / "golden"

SOURCES = {
    "Reuters": SourceSpec(name="Reuters", url="https://reuters.example/world/rss"),
    "AP": SourceSpec(name="AP", url="https://apnews.example/china/rss"),
    "SCMP": SourceSpec(name="SCMP", url="https://scmp.example/rss/china"),
    "State Department": SourceSpec(
        name="State Department", url="https://www.state.gov/rss-feed/press", official=True
    ),
    "PRC Foreign Ministry": SourceSpec(
        name="PRC Foreign Ministry", url="https://www.mfa.gov.cn/eng/rss.xml", official=True
    ),
}
HOSTS = {
    "Reuters": "https://reuters.example",
    "AP": "https://apnews.example",
    "SCMP": "https://scmp.example",
    "State Department": "https://www.state.gov",
    "PRC Foreign Ministry": "https://www.mfa.gov.cn",
}


def at(day: int, hour: int = 9, month: int = 9) -> datetime:
    return datetime(2024, month, day, hour, 0, tzinfo=UTC)


def call(label: str, day: date, status: str = "reported", kind: str = "call") -> Engagement:
    return Engagement(
        kind=kind,
        us_parties=("Biden",),
        cn_parties=("Xi",),
        label=label,
        status=status,
        dates=(EventDate(text=day.isoformat(), start=day, end=day, certainty="exact"),),
    )


@dataclass(frozen=True)
class StorySpec:
    key: str
    title: str
    topics: tuple[str, ...]
    reports: tuple[tuple[str, datetime], ...]  # (outlet, published = first seen)
    engagements: tuple[Engagement, ...] = ()
    summary: str = ""


STORIES: tuple[StorySpec, ...] = (
    StorySpec(
        "call-0909",
        "Biden and Xi hold phone call on Taiwan, fentanyl and AI",
        ("diplomacy", "taiwan"),
        (
            ("PRC Foreign Ministry", at(9, 10)),
            ("State Department", at(9, 11)),
            ("Reuters", at(9, 12)),
            ("AP", at(9, 13)),
        ),
        (call("Biden–Xi call", date(2024, 9, 9)),),
        "The two leaders spoke by phone on Monday.",
    ),
    StorySpec(
        "arms-0909",
        "US approves $228 million arms sale to Taiwan",
        ("taiwan", "military"),
        (("Reuters", at(9, 15)), ("SCMP", at(9, 16))),
    ),
    StorySpec(
        "transit-0909",
        "US destroyer transits the Taiwan Strait",
        ("taiwan", "military"),
        (("AP", at(9, 18)),),
    ),
    StorySpec(
        "drill-0910",
        "PLA announces drills near Taiwan after arms sale",
        ("taiwan",),
        (("SCMP", at(10, 6)),),
    ),
    StorySpec(
        "entity-0909",
        "Commerce adds 16 Chinese firms to the Entity List",
        ("sanctions", "tech"),
        (("State Department", at(9, 14)),),
    ),
    StorySpec(
        "climate-0910",
        "Podesta to visit Beijing for climate talks later this month",
        ("climate", "diplomacy"),
        (("Reuters", at(10, 7)),),
        (
            Engagement(
                kind="visit",
                us_parties=("Podesta",),
                label="Podesta visit to Beijing",
                status="expected",
                dates=(
                    EventDate(
                        text="later this month",
                        start=date(2024, 9, 15),
                        end=date(2024, 9, 30),
                        certainty="approximate",
                    ),
                ),
            ),
        ),
    ),
    StorySpec(
        "fentanyl-0908",
        "US and China fentanyl working group meets in Washington",
        ("fentanyl", "diplomacy"),
        (("AP", at(8, 15)),),
        (
            Engagement(
                kind="meeting",
                label="Counternarcotics working group meeting",
                dates=(EventDate("Sunday", date(2024, 9, 8), date(2024, 9, 8), certainty="exact"),),
            ),
        ),
    ),
    StorySpec(
        "taiwan-0903",
        "Taiwan reports Chinese balloons over the Strait",
        ("taiwan",),
        (("Reuters", at(3, 8)),),
    ),
    StorySpec(
        "taiwan-0904",
        "Taipei protests Chinese coast guard patrols",
        ("taiwan",),
        (("AP", at(4, 8)),),
    ),
    StorySpec(
        "milcall-0830",
        "US and Chinese defense chiefs hold video call",
        ("military",),
        (("Reuters", at(30, 9, month=8)),),
        (
            Engagement(
                kind="call",
                us_parties=("Austin",),
                cn_parties=("Dong Jun",),
                label="Austin–Dong call",
                dates=(
                    EventDate("Friday", date(2024, 8, 30), date(2024, 8, 30), certainty="exact"),
                ),
            ),
        ),
    ),
)


def build_items(source_ids: dict[str, int]) -> tuple[list[Item], list[Story]]:
    items: list[Item] = []
    stories: list[Story] = []
    for spec in STORIES:
        members = []
        for index, (outlet, published) in enumerate(spec.reports):
            slug = f"{spec.key}-{index}"
            members.append(
                Item(
                    key=slug,
                    source_id=source_ids[outlet],
                    url=f"{HOSTS[outlet]}/news/{slug}",
                    title=spec.title if index == 0 else f"{spec.title} ({outlet})",
                    summary=spec.summary or spec.title,
                    published=published,
                    first_seen=published,
                    source_name=outlet,
                    official=SOURCES[outlet].official,
                    classification=Classification(relevant=True, topics=spec.topics),
                    story_key=spec.key,
                    engagements=spec.engagements,
                )
            )
        items += members
        outlets = tuple(dict.fromkeys(m.source_name for m in members))
        stories.append(
            Story(
                key=spec.key,
                title=spec.title,
                url=members[0].url,
                first_seen=members[0].first_seen,
                last_seen=members[-1].published,
                topics=spec.topics,
                outlets=outlets,
                official=any(m.official for m in members),
                item_count=len(members),
            )
        )
    return items, stories


async def add_sources(store: Store) -> dict[str, int]:
    ids = {}
    for name, spec in SOURCES.items():
        found = await store.sources.by_url(spec.url)
        source = found or await store.sources.add(spec, origin="config", now=at(1))
        ids[name] = source.id
    return ids


async def seed(store: Store) -> dict[str, int]:
    """Store the fixture news; returns source ids by outlet name."""
    ids = await add_sources(store)
    items, stories = build_items(ids)
    batch = IngestBatch(source_id=ids["Reuters"], state=FetchState(), now=NOW)
    batch.items = [(item, (f"id:{item.key}",)) for item in items]
    batch.stories = [(story, {}) for story in stories]
    await store.ingest.commit(batch)
    return ids


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class FakeUploader:
    """A Slack-like notifier that only records uploads."""

    platform: str = "slack"
    uploads: list[dict[str, Any]] = field(default_factory=list)

    async def upload_file(
        self, channel: Any, filename: str, content: bytes, title: str, thread_ref: Any = None
    ) -> str:
        self.uploads.append(
            {"channel": channel.name, "filename": filename, "content": content,
             "title": title, "thread_ref": thread_ref}
        )  # fmt: skip
        return f"F{len(self.uploads)}"


def make_app(
    store: Store, clock: Clock | None = None, *, instance_id: str = "test-1", **file: Any
) -> App:
    taxonomy = default_taxonomy()
    return App(
        settings=Settings(file=FileConfig(**file)),
        store=store,
        taxonomy=taxonomy,
        classifier=Classifier(taxonomy),
        clock=clock or Clock(),
        notifiers={},
        instance_id=instance_id,
    )


async def add_channel(
    app: App,
    name: str,
    topics: list[str],
    mode: str = "both",
    *,
    platform: str = "slack",
    cron: str | None = "0 8 * * *",
    timezone: str = "UTC",
) -> Any:
    channel = await app.store.channels.ensure(
        name=name,
        platform=platform,  # type: ignore[arg-type]
        target="C123" if platform == "slack" else "https://teams.example/webhook",
        timezone=timezone,
        digest_cron=cron,
        now=NOW - timedelta(days=30),
        origin="config",
    )
    await app.store.channels.subscribe(channel.id, topics, mode, now=NOW)  # type: ignore[arg-type]
    return channel


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
