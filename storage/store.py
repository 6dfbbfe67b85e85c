"""``Store``: every repository over one ``Database``, the storage half of the composition root."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from storage.db import Database, bounded_wait
from storage.repos.channels import ChannelRepository
from storage.repos.countdowns import CountdownRepository
from storage.repos.deliveries import DeliveryRepository
from storage.repos.guards import GuardRepository
from storage.repos.items import IngestRepository, ItemRepository, StoryRepository
from storage.repos.sources import SourceRepository


@dataclass
class Store:
    db: Database
    sources: SourceRepository = field(init=False)
    ingest: IngestRepository = field(init=False)
    items: ItemRepository = field(init=False)
    stories: StoryRepository = field(init=False)
    channels: ChannelRepository = field(init=False)
    deliveries: DeliveryRepository = field(init=False)
    countdowns: CountdownRepository = field(init=False)
    guards: GuardRepository = field(init=False)

    def __post_init__(self) -> None:
        self.sources = SourceRepository(self.db)
        self.ingest = IngestRepository(self.db)
        self.items = ItemRepository(self.db)
        self.stories = StoryRepository(self.db)
        self.channels = ChannelRepository(self.db)
        self.deliveries = DeliveryRepository(self.db)
        self.countdowns = CountdownRepository(self.db)
        self.guards = GuardRepository(self.db)

    @classmethod
    async def open(cls, url: str, *, upgrade: bool = True) -> Store:
        """Connect to ``url`` and (by default) migrate it to the latest schema."""
        db = Database(url)
        if upgrade:
            try:
                await db.upgrade()
            except BaseException:
                await db.dispose()  # no connection left for a closed event loop to reap
                raise
        return cls(db)

    @staticmethod
    def bounded_wait(seconds: float) -> AbstractContextManager[None]:
        """Within this block SQLite waits at most ``seconds`` for a lock (``db.bounded_wait``)."""
        return bounded_wait(seconds)

    async def close(self) -> None:
        await self.db.dispose()
