"""Sliding-window quotas (pure: ``now`` is passed in; state lives in the object).

Invariant: ``SlidingWindow.take(key, now)`` admits at most ``limit`` events per ``key`` in any
``window_s`` seconds; a refused attempt is not counted, so waiting is always enough.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.polling import format_duration

MAX_KEYS = 10_000


@dataclass
class SlidingWindow:
    """At most ``limit`` events per key in any ``window_s`` seconds."""

    limit: int
    window_s: float
    _events: dict[str, deque[datetime]] = field(default_factory=dict)

    def wait_s(self, key: str, now: datetime) -> float:
        """Seconds until ``key`` may act again (0 when it may act now)."""
        events = self._events.get(key)
        if not events:
            return 0.0
        while events and (now - events[0]).total_seconds() >= self.window_s:
            events.popleft()
        if len(events) < self.limit:
            return 0.0
        return max(1.0, self.window_s - (now - events[0]).total_seconds())

    def take(self, key: str, now: datetime) -> None:
        """Record one event for ``key`` (call after ``wait_s`` said 0)."""
        if len(self._events) >= MAX_KEYS and key not in self._events:
            self._events = {k: v for k, v in self._events.items() if v}
        self._events.setdefault(key, deque()).append(now)


@dataclass
class SourceAddQuota:
    """Limits on ``sources add`` by chat command: per person, per workspace, and in total."""

    per_user: SlidingWindow = field(default_factory=lambda: SlidingWindow(5, 600))
    per_workspace: SlidingWindow = field(default_factory=lambda: SlidingWindow(20, 3600))
    max_total: int = 200

    def refusal(self, user: str, workspace: str, added_so_far: int, now: datetime) -> str | None:
        """Why this add is refused now, or None (and the add is counted)."""
        if added_so_far >= self.max_total:
            return (
                f"There are already {added_so_far} sources added by command (at most "
                f"{self.max_total}); remove some first, or add them in the config file."
            )
        user_wait = self.per_user.wait_s(f"{workspace}:{user}", now)
        if user_wait:
            return (
                f"You have added {self.per_user.limit} sources in the last "
                f"{format_duration(self.per_user.window_s)}; try again in "
                f"{format_duration(user_wait)}."
            )
        team_wait = self.per_workspace.wait_s(workspace, now)
        if team_wait:
            return (
                f"This workspace has added {self.per_workspace.limit} sources in the last "
                f"{format_duration(self.per_workspace.window_s)}; try again in "
                f"{format_duration(team_wait)}."
            )
        self.per_user.take(f"{workspace}:{user}", now)
        self.per_workspace.take(workspace, now)
        return None
