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
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.domain.digest import is_weekly
from bot.domain.errors import BotError, ConfigError
from bot.domain.models import Channel
from bot.domain.ports import FileUploader
from bot.domain.schedule import due_digest_slot, parse_cron
from jobs.queries import CHART_FILENAME, CHART_WEEKS, insight_repo, queue_digest, weekly_chart

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

DIGEST_MODES = ("digest", "both")
CHART_WINDOW = timedelta(hours=1)


async def digest_channels(app: App) -> list[Channel]:
    """Channels with a digest cron, a digest/both subscription, and not paused."""
    subs = await app.store.channels.subscriptions()
    wanted = {s.channel_id for s in subs if s.mode in DIGEST_MODES}
    return [
        c
        for c in await app.store.channels.all()
        if c.digest_cron and c.id in wanted and not c.paused_reason
    ]


async def run_due_digests(app: App, now: datetime) -> int:
    """Enqueue every due digest; returns how many were newly enqueued."""
    grace = timedelta(seconds=app.settings.file.digest_grace)
    queued = 0
    channels = await digest_channels(app)
    for channel in channels:
        try:
            last = await app.store.channels.digest_last_slot(channel.id)
            slot = due_digest_slot(channel.digest_cron or "", channel.timezone, now, last, grace)
        except ConfigError as exc:
            log.warning("channel %s: digest skipped: %s", channel.name, exc)
            continue
        if slot is None:
            continue
        if await queue_digest(app, channel, now, slot):
            queued += 1
            log.info("digest for %s (slot %s) enqueued", channel.name, slot.isoformat())
        await app.store.channels.set_digest_last_slot(channel.id, slot)
    weekly_files = [
        c
        for c in channels
        if isinstance(app.notifiers.get(c.platform), FileUploader) and _weekly(c)
    ]
    if weekly_files:
        await upload_charts(app, now, weekly_files)
    return queued


def _weekly(channel: Channel) -> bool:
    try:
        return bool(channel.digest_cron) and is_weekly(parse_cron(channel.digest_cron or ""))
    except ConfigError:
        return False


async def upload_charts(app: App, now: datetime, channels: list[Channel]) -> int:
    """Upload the chart of each weekly digest of these ``channels`` posted in the last hour,
    into the digest's thread, where the platform's notifier is a ``FileUploader``.

    At most once per digest (a processed-request marker is taken before uploading); a failed
    upload is logged and not retried: the chart is an extra, the digest already went out."""
    uploaded = 0
    repo = insight_repo(app)
    for channel in channels:
        notifier = app.notifiers.get(channel.platform)
        if not isinstance(notifier, FileUploader):
            continue
        for sent in await repo.sent_with_prefix(f"digest:{channel.id}:", now - CHART_WINDOW):
            if not await app.store.guards.first_time(f"chart:{sent.dedupe_key}", now):
                continue
            slot = datetime.fromisoformat(sent.dedupe_key.split(":", 2)[2])
            try:
                png = await weekly_chart(app, channel, slot)
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
