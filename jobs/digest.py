"""Scheduled digests: enqueue each channel's digest once per cron slot.

Run every minute (under a lease when several instances share a database). For each channel
with a digest cron and a digest/both subscription, ``due_digest_slot`` says which slot (if
any) is due: the latest one at or before now, within ``digest_grace``, not yet recorded. The
digest is enqueued with the dedupe key ``digest:{channel}:{slot}`` and then the slot is
recorded, so a crash between the two only repeats a no-op enqueue, a restart across a digest
time sends that digest once, and two digests never go out for one slot.

Weekly digests carry a chart: inside the message where the platform says ``inline_charts``
(see ``jobs.queries``); as a file uploaded into the digest's thread, once the digest itself
has been posted, where the platform's notifier is a ``FileUploader`` (Slack).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.digest import is_weekly
from bot.domain.errors import BotError, ConfigError
from bot.domain.models import Channel
from bot.domain.ports import DigestChannelStore, FileUploader, Notifier, OnceGuard
from bot.domain.schedule import due_digest_slot, parse_cron
from jobs.queries import CHART_FILENAME, CHART_WEEKS, QueryPorts, queue_digest, weekly_chart

log = logging.getLogger(__name__)

DIGEST_MODES = ("digest", "both")
CHART_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class DigestPorts:
    """What the digest job needs, as the composition root wires it (``App.digest_ports``):
    the query layer (to build and enqueue digests), the channels with their last digest slot,
    the once-only markers of chart uploads, and the notifiers (the ones that upload files)."""

    queries: QueryPorts
    channels: DigestChannelStore
    guards: OnceGuard
    notifiers: Mapping[str, Notifier]
    digest_grace: timedelta


async def digest_channels(channels: DigestChannelStore) -> list[Channel]:
    """Channels with a digest cron, a digest/both subscription, and not paused."""
    subs = await channels.subscriptions()
    wanted = {s.channel_id for s in subs if s.mode in DIGEST_MODES}
    return [
        c for c in await channels.all() if c.digest_cron and c.id in wanted and not c.paused_reason
    ]


async def run_due_digests(ports: DigestPorts, now: datetime) -> int:
    """Enqueue every due digest; returns how many were newly enqueued."""
    grace = ports.digest_grace
    queued = 0
    channels = await digest_channels(ports.channels)
    for channel in channels:
        try:
            last = await ports.channels.digest_last_slot(channel.id)
            slot = due_digest_slot(channel.digest_cron or "", channel.timezone, now, last, grace)
        except ConfigError as exc:
            log.warning("channel %s: digest skipped: %s", channel.name, exc)
            continue
        if slot is None:
            continue
        if await queue_digest(ports.queries, channel, now, slot):
            queued += 1
            log.info("digest for %s (slot %s) enqueued", channel.name, slot.isoformat())
        await ports.channels.set_digest_last_slot(channel.id, slot)
    weekly_files = [
        c
        for c in channels
        if isinstance(ports.notifiers.get(c.platform), FileUploader) and _weekly(c)
    ]
    if weekly_files:
        await upload_charts(ports, now, weekly_files)
    return queued


def _weekly(channel: Channel) -> bool:
    try:
        return bool(channel.digest_cron) and is_weekly(parse_cron(channel.digest_cron or ""))
    except ConfigError:
        return False


async def upload_charts(ports: DigestPorts, now: datetime, channels: list[Channel]) -> int:
    """Upload the chart of each weekly digest of these ``channels`` posted in the last hour,
    into the digest's thread, where the platform's notifier is a ``FileUploader``.

    At most once per digest (a processed-request marker is taken before uploading); a failed
    upload is logged and not retried: the chart is an extra, the digest already went out."""
    uploaded = 0
    repo = ports.queries.insights
    for channel in channels:
        notifier = ports.notifiers.get(channel.platform)
        if not isinstance(notifier, FileUploader):
            continue
        for sent in await repo.sent_with_prefix(f"digest:{channel.id}:", now - CHART_WINDOW):
            if not await ports.guards.first_time(f"chart:{sent.dedupe_key}", now):
                continue
            slot = datetime.fromisoformat(sent.dedupe_key.split(":", 2)[2])
            try:
                png = await weekly_chart(ports.queries, channel, slot)
                await notifier.upload_file(
                    channel,
                    CHART_FILENAME,
                    png,
                    f"Stories per issue, last {CHART_WEEKS} weeks",
                    thread_ref=sent.remote_id,
                )
                uploaded += 1
            except BotError as exc:
                log.warning("chart for %s not uploaded: %s", channel.name, exc)
    return uploaded
