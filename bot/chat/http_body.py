"""Reading a chat request's body with a hard cap, shared by the Slack and Teams endpoints.

The declared ``Content-Length`` is only a shortcut for refusing early: the body is read
chunk by chunk and reading stops as soon as the cap is passed, so a missing, wrong or
chunked length can never make the process buffer more than ``limit`` bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.requests import Request

MAX_CHAT_BODY = 64 * 1024


async def read_capped(request: Request, limit: int = MAX_CHAT_BODY) -> bytes | None:
    """The raw body, or None as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and (len(declared) > 12 or int(declared) > limit):
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def single_header(request: Request, name: str) -> str | None:
    """The one value of header ``name``; None when it is absent or given more than once."""
    values = request.headers.getlist(name)
    return values[0] if len(values) == 1 else None


class RecentKeys:
    """Keys of signed requests seen in the last ``ttl_s`` seconds, in this process.

    The first replay guard: it needs no database, so commands that never touch the database
    (help, topics, usage errors) are still answered once only while the database is down or
    locked. At most ``limit`` keys are kept (the oldest are forgotten first).
    """

    def __init__(self, ttl_s: float, limit: int = 50_000) -> None:
        self.ttl_s = ttl_s
        self.limit = limit
        self._expiry: dict[str, float] = {}

    def first_time(self, key: str, now_s: float) -> bool:
        """Remember ``key``; True the first time within the window, False for a replay."""
        self._forget(now_s)
        if key in self._expiry:
            return False
        self._expiry[key] = now_s + self.ttl_s
        return True

    def _forget(self, now_s: float) -> None:
        while self._expiry:
            oldest, expiry = next(iter(self._expiry.items()))
            if expiry > now_s and len(self._expiry) < self.limit:
                return
            del self._expiry[oldest]
