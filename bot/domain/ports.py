"""Protocols the shell implements, so that jobs depend on shapes, not on libraries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.domain.models import Channel, Message


@dataclass(frozen=True)
class SendResult:
    """What a platform returned for one post: its id (Slack ``ts``) and the thread it is in."""

    remote_id: str | None
    thread_ref: str | None = None


class Notifier(Protocol):
    """Posts neutral messages to one platform. Only notifiers talk to chat networks.

    ``send`` raises ``TransientDeliveryError`` (retry later), ``PermanentDeliveryError``
    (pause the channel) or ``PayloadRejectedError`` (send a plain-text fallback instead).
    """

    platform: str

    async def send(
        self, channel: Channel, message: Message, *, thread_ref: str | None, delivery_id: int
    ) -> SendResult: ...

    async def find_sent(self, channel: Channel, delivery_id: int, *, since: datetime) -> str | None:
        """After a crash: the remote id of a post already made for ``delivery_id``, if any."""
        ...


@runtime_checkable
class FileUploader(Protocol):
    """A notifier capability: files posted into a channel (or a thread of it)."""

    async def upload_file(
        self,
        channel: Channel,
        filename: str,
        content: bytes,
        title: str,
        thread_ref: str | None = None,
    ) -> str | None: ...


class Clock(Protocol):
    def __call__(self) -> datetime: ...


# --------------------------------------------------------------------------- stores, by job


class PruningStore(Protocol):
    """What retention removes or empties; each returns the number of rows touched."""

    async def tombstone_items(self, seen_before: datetime) -> int: ...
    async def delete_items(self, seen_before: datetime) -> int: ...
    async def delete_stories(self, last_seen_before: datetime) -> int: ...
    async def delete_finished_deliveries(self, before: datetime) -> int: ...


class RequestKeyStore(Protocol):
    """Replay-guard keys of processed requests."""

    async def forget_before(self, cutoff: datetime) -> int: ...
