"""The console notifier: the embedded default prints what channels would receive."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import IO

from bot.domain.models import Channel, Message
from bot.domain.ports import Notifier, SendResult
from bot.domain.textout import to_text


class ConsoleNotifier(Notifier):
    """Writes each message as plain text; never fails, so the queue always drains."""

    platform = "console"
    can_find_sent = False  # nothing to ask: a console post cannot be looked up

    def __init__(self, output: IO[str]) -> None:
        self.output = output
        self._ids = itertools.count(1)

    async def send(
        self, channel: Channel, message: Message, *, thread_ref: str | None, delivery_id: int
    ) -> SendResult:
        prefix = f"[{channel.name}]" + (" ↳" if thread_ref else "")
        body = to_text(message)
        self.output.write(f"{prefix} {body}\n\n")
        self.output.flush()
        remote = f"console-{delivery_id}"
        return SendResult(remote_id=remote, thread_ref=thread_ref or remote)

    async def find_sent(self, channel: Channel, delivery_id: int, *, since: datetime) -> str | None:
        return None
