"""The composition root: the one place that builds clients, stores and notifiers and wires them.

``build_app(settings)`` opens (and migrates) the database, loads the taxonomy, syncs the config
file's sources, channels and countdowns into the database, and creates one notifier per chat
platform in use. Jobs receive the port bundles it builds (``poll_ports``, ``delivery_ports``...);
chat code receives the ``ChatServices`` bundle (``App.chat``); neither reads settings or env
itself.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, TYPE_CHECKING

from bot.chat.console import ConsoleNotifier
from bot.config import CountdownConfig, Settings
from bot.domain import platforms
from bot.domain.classify import Classifier
from bot.domain.errors import ConfigError
from bot.domain.ports import ChatServices, Closable, Notifier
from bot.domain.quota import SourceAddQuota
from bot.domain.schedule import local_today
from bot.domain.taxonomy import Taxonomy
from bot.metrics import Metrics
from bot.taxonomy_file import default_taxonomy, load_taxonomy_file
from jobs.countdown import CountdownChanges, CountdownPorts
from jobs.deliver import DeliveryPorts
from jobs.digest import DigestPorts
from jobs.poll import PollPorts
from jobs.queries import Queries, QueryPorts
from jobs.retention import RetentionPorts
from jobs.scheduler import SchedulerPorts
from storage.repos.insights import InsightRepository
from storage.store import Store

if TYPE_CHECKING:
    from bot.sources.http import Fetcher

log = logging.getLogger(__name__)

CONSOLE_CHANNEL = "console"
SOURCE_RESOLVE_TIMEOUT_S = 3.0  # a source's host must resolve within this when it is added


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    settings: Settings
    store: Store
    taxonomy: Taxonomy
    classifier: Classifier
    clock: Callable[[], datetime] = system_clock
    notifiers: dict[str, Notifier] = field(default_factory=dict)
    output: IO[str] = field(default_factory=lambda: sys.stdout)
    instance_id: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    metrics: Metrics = field(default_factory=Metrics)
    source_add_quota: SourceAddQuota = field(default_factory=SourceAddQuota)

    def now(self) -> datetime:
        return self.clock()

    def retention_ports(self) -> RetentionPorts:
        """The stores retention prunes, and the configured window."""
        return RetentionPorts(
            pruning=self.insights(),
            request_keys=self.store.guards,
            retention_days=self.settings.file.retention_days,
        )

    def insights(self) -> InsightRepository:
        return InsightRepository(self.store.db)

    def query_ports(self) -> QueryPorts:
        """The stores the query layer reads (and enqueues digests into), and its settings."""
        file = self.settings.file
        return QueryPorts(
            channels=self.store.channels,
            countdowns=self.store.countdowns,
            stories=self.store.stories,
            items=self.store.items,
            deliveries=self.store.deliveries,
            insights=self.insights(),
            taxonomy=self.taxonomy,
            timezone=file.timezone,
            milestones=tuple(file.milestones),
            digest_top=file.digest_top,
        )

    def countdown_ports(self) -> CountdownPorts:
        """The stores the countdown jobs (milestones, proposals, changes) use."""
        return CountdownPorts(
            channels=self.store.channels,
            countdowns=self.store.countdowns,
            deliveries=self.store.deliveries,
            insights=self.insights(),
        )

    def digest_ports(self) -> DigestPorts:
        """The query layer, channels, chart-upload markers and notifiers of the digest job."""
        return DigestPorts(
            queries=self.query_ports(),
            channels=self.store.channels,
            guards=self.store.guards,
            notifiers=self.notifiers,
            digest_grace=timedelta(seconds=self.settings.file.digest_grace),
        )

    def delivery_ports(self) -> DeliveryPorts:
        """The outbox, channels and notifiers of the delivery worker, and where pauses are told."""
        file = self.settings.file
        return DeliveryPorts(
            deliveries=self.store.deliveries,
            channels=self.store.channels,
            notifiers=self.notifiers,
            clock=self.now,
            metrics=self.metrics,
            instance_id=self.instance_id,
            admin_channel=file.admin_channel,
            admins=tuple(file.admins),
        )

    def scheduler_ports(self) -> SchedulerPorts:
        """The lease, clock and metrics of the scheduler, and each job's ports factory."""
        return SchedulerPorts(
            leases=self.store.guards,
            clock=self.now,
            metrics=self.metrics,
            instance_id=self.instance_id,
            poll=self.poll_ports,
            delivery=self.delivery_ports,
            digests=self.digest_ports,
            countdowns=self.countdown_ports,
            retention=self.retention_ports,
        )

    def poll_ports(self) -> PollPorts:
        """The stores polling reads and commits to, the fetcher, classifier and poll settings."""
        file = self.settings.file
        return PollPorts(
            sources=self.store.sources,
            ingest=self.store.ingest,
            stories=self.store.stories,
            channels=self.store.channels,
            deliveries=self.store.deliveries,
            fetcher=self.fetcher,
            countdowns=self.countdown_ports(),
            taxonomy=self.taxonomy,
            classifier=self.classifier,
            clock=self.now,
            metrics=self.metrics,
            workers=file.poll.workers,
            taxonomy_path=file.taxonomy,
            alerts_per_channel_per_poll=file.alerts_per_channel_per_poll,
            followups_per_story_per_hour=file.followups_per_story_per_hour,
            followups_per_channel_per_poll=file.followups_per_channel_per_poll,
            deadline_s=file.poll.deadline,
        )

    @property
    def queries(self) -> Queries:
        """The query layer bound to this app (chat code reads through it)."""
        return Queries(self.query_ports())

    @property
    def chat(self) -> ChatServices:
        """The ports chat code uses: the command executor, Slack listeners, Teams endpoint."""
        file = self.settings.file
        return ChatServices(
            taxonomy=self.taxonomy,
            clock=self.now,
            channels=self.store.channels,
            items=self.store.items,
            countdowns=self.store.countdowns,
            sources=self.store.sources,
            outbox=self.store.deliveries,
            request_keys=self.store.guards,
            bounded_wait=self.store.bounded_wait,
            queries=self.queries,
            changes=CountdownChanges(self.countdown_ports()),
            source_host=self.check_source_host,
            source_quota=self.source_add_quota,
            metrics=self.metrics,
            notifiers=self.notifiers,
            admins=frozenset(file.admins),
            timezone=file.timezone,
            milestones=tuple(file.milestones),
        )

    async def check_source_host(self, url: str) -> None:
        """The fetcher's host rule, checked before a source is added (``SourceHostPolicy``):
        refuses non-http(s) URLs, and hosts on loopback/private/link-local networks or that
        do not resolve (unless private networks are allowed)."""
        from bot.sources.http import check_source_host  # loads httpx: only when one is added

        await check_source_host(
            url,
            allow_private=self.settings.allow_private_networks,
            timeout_s=SOURCE_RESOLVE_TIMEOUT_S,
        )

    def fetcher(self) -> Fetcher:
        """A new fetcher configured from settings (use as ``async with app.fetcher() as f``)."""
        from bot.sources.http import Fetcher  # heavy: httpx

        poll = self.settings.file.poll
        return Fetcher(
            max_concurrency=poll.concurrency,
            per_host=poll.per_host,
            deadline_s=poll.deadline,
            max_bytes=poll.max_bytes,
            allow_private_networks=self.settings.allow_private_networks,
        )

    async def close(self) -> None:
        for notifier in self.notifiers.values():
            if isinstance(notifier, Closable):
                await notifier.aclose()
        await self.store.close()


def load_taxonomy(settings: Settings) -> Taxonomy:
    if settings.file.taxonomy is None:
        return default_taxonomy()  # read and validated once per process
    return load_taxonomy_file(settings.file.taxonomy)


NotifierFactory = Callable[[Settings, IO[str]], "Notifier | None"]
"""Builds a platform's notifier from the settings, or None when the platform is not in use."""

NOTIFIER_FACTORIES: dict[str, NotifierFactory] = {}


def register_notifier(platform: str, factory: NotifierFactory) -> NotifierFactory:
    """The root's one registry line per chat platform: its name and how to build its notifier.

    Invariant: ``platform`` is registered in ``bot.domain.platforms`` (checked when notifiers
    are built); registering a name twice replaces the factory.
    """
    NOTIFIER_FACTORIES[platform] = factory
    return factory


def _slack_notifier(settings: Settings, output: IO[str]) -> Notifier | None:
    if settings.slack_bot_token is None:
        return None
    from bot.chat.slack.notifier import SlackNotifier  # heavy: slack_sdk, aiohttp

    token = settings.slack_bot_token.get_secret_value()
    return SlackNotifier(token, base_url=settings.slack_api_url)


def _teams_notifier(settings: Settings, output: IO[str]) -> Notifier | None:
    if not any(c.platform == "teams" for c in settings.file.channels):
        return None
    from bot.chat.teams.notifier import TeamsNotifier  # heavy: httpx

    return TeamsNotifier(allow_private_networks=settings.allow_private_networks)


register_notifier("console", lambda settings, output: ConsoleNotifier(output))
register_notifier("slack", _slack_notifier)
register_notifier("teams", _teams_notifier)


def build_notifiers(settings: Settings, output: IO[str]) -> dict[str, Notifier]:
    """One notifier per registered platform in use (``console`` always)."""
    notifiers: dict[str, Notifier] = {}
    for name, factory in NOTIFIER_FACTORIES.items():
        platforms.get(name)  # a notifier for an unregistered platform is a wiring error
        notifier = factory(settings, output)
        if notifier is not None:
            notifiers[name] = notifier
    return notifiers


async def build_app(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = system_clock,
    output: IO[str] | None = None,
    upgrade: bool = True,
    sync_config: bool = True,
) -> App:
    """Open the store and wire every part; ``clock`` is the single source of ``now``."""
    taxonomy = load_taxonomy(settings)
    store = await Store.open(settings.database_url, upgrade=upgrade)
    out = output or sys.stdout
    app = App(
        settings=settings,
        store=store,
        taxonomy=taxonomy,
        classifier=Classifier(taxonomy),
        clock=clock,
        notifiers=build_notifiers(settings, out),
        output=out,
    )
    if sync_config:
        try:
            await sync_config_into_store(app)
        except BaseException:
            await app.close()
            raise
    return app


async def sync_config_into_store(app: App) -> None:
    """Make the database reflect the config file: sources, channels, subscriptions, countdowns.

    Idempotent. Things users added through commands are kept; config-declared ones are
    refreshed. With no chat platform configured, a console channel gets every topic.
    """
    settings, store, now = app.settings, app.store, app.now()
    origin = "config" if settings.file.sources is not None else "default"
    await store.sources.upsert_specs(settings.source_specs(), origin=origin, now=now)
    for ch in settings.file.channels:
        tz = ch.timezone or settings.file.timezone
        cron = None
        if ch.mode in ("digest", "both"):
            cron = ch.digest.cron if ch.digest else "0 8 * * 1-5"
        channel = await store.channels.ensure(
            name=ch.name,
            platform=ch.platform,
            target=ch.target(),
            timezone=tz,
            origin="config",
            digest_cron=cron,
            external_id=ch.teams_channel_id,
            now=now,
        )
        topics = [app.taxonomy.resolve_topic(t) or t for t in ch.topics] or ["*"]
        unknown = [t for t in topics if t != "*" and t not in app.taxonomy.topic_ids]
        if unknown:
            hints = [
                f"'{t}' (did you mean '{hint}'?)"
                if (hint := app.taxonomy.suggest_topic(t))
                else f"'{t}'"
                for t in unknown
            ]
            raise ConfigError(
                f"unknown topic {', '.join(hints)}; see: uschina-bot topics",
                key=f"channels.{ch.name}.topics",
            )
        await store.channels.subscribe(channel.id, topics, ch.mode, now=now, origin="config")
    if not settings.slack_enabled and not settings.file.channels:
        console = await store.channels.ensure(
            name=CONSOLE_CHANNEL,
            platform="console",
            target="stdout",
            timezone=settings.file.timezone,
            origin="console",
            digest_cron="0 8 * * *",
            now=now,
        )
        if not await store.channels.subscriptions([console.id]):
            await store.channels.subscribe(console.id, ["*"], "both", now=now, origin="console")
    for cd in settings.file.countdowns:
        await _declare_countdown(app, cd)


async def _declare_countdown(app: App, cd: CountdownConfig) -> None:
    """Add a config countdown once (by name) and keep its ``follow_news`` as the file says.

    A countdown whose date is already over when it is first declared (a config file written
    months ago) is kept and a warning names it; being over, it gets no countdown posts and is
    listed under Past by ``countdown list``. Nothing is decided from the clock here, so a
    ``--now`` preview cannot mark a future event past."""
    store, now, file = app.store, app.now(), app.settings.file
    start, end = cd.window
    timezone = cd.timezone or file.timezone
    existing = await store.countdowns.by_name(cd.name)
    if existing is not None:
        if existing.source == "config" and existing.follow_news != cd.follow_news:
            await store.countdowns.update(existing.id, follow_news=cd.follow_news)
        return
    today = local_today(now, timezone)
    if end < today:
        log.warning(
            "config countdowns: '%s' ended on %s, before today (%s); it is kept and listed as "
            "past. Update its date or remove it from the config file.",
            cd.name,
            end.isoformat(),
            today.isoformat(),
        )
    await store.countdowns.add(
        name=cd.name,
        start=start,
        end=end,
        tentative=cd.tentative or start != end,
        where=cd.where,
        at=cd.at,
        timezone=timezone,
        milestones=tuple(cd.milestones or file.milestones),
        origin="config",
        now=now,
        follow_news=cd.follow_news,
    )
