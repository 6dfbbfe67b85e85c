"""When to poll a source next (pure: ``now`` and the random ``jitter`` are passed in).

Invariants:
- after a success the next poll is never sooner than ``interval_s`` nor than the server's
  ``Retry-After``; a ``max-age`` longer than the interval stretches it, up to ``MAX_CACHE_S``;
- after ``failures`` consecutive failures the delay is ``interval_s * 2**failures``, capped at
  ``MAX_BACKOFF_S``, and never sooner than ``Retry-After`` (itself capped at ``MAX_BACKOFF_S``);
- ``jitter`` in [0, 1) only ever lengthens the delay, by at most ``jitter_fraction``;
- saturating: any stored ``interval_s`` (huge, negative, NaN) is clamped to
  [``MIN_INTERVAL_S``, ``MAX_INTERVAL_S``], so the result never overflows a ``datetime``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from bot.domain.source_input import MAX_INTERVAL_S

MAX_CACHE_S = 6 * 3600
MAX_BACKOFF_S = 24 * 3600
MIN_INTERVAL_S = 30
DEFAULT_JITTER_FRACTION = 0.1


def next_poll_at(
    now: datetime,
    interval_s: float,
    *,
    failures: int = 0,
    retry_after_s: float | None = None,
    max_age_s: float | None = None,
    jitter: float = 0.0,
    jitter_fraction: float = DEFAULT_JITTER_FRACTION,
) -> datetime:
    """The time of the next poll; ``failures`` counts consecutive failures (0 = success)."""
    delay = timedelta(
        seconds=poll_delay_s(
            interval_s,
            failures=failures,
            retry_after_s=retry_after_s,
            max_age_s=max_age_s,
            jitter=jitter,
            jitter_fraction=jitter_fraction,
        )
    )
    try:
        return now + delay
    except OverflowError:
        return datetime.max.replace(tzinfo=now.tzinfo)


def poll_delay_s(
    interval_s: float,
    *,
    failures: int = 0,
    retry_after_s: float | None = None,
    max_age_s: float | None = None,
    jitter: float = 0.0,
    jitter_fraction: float = DEFAULT_JITTER_FRACTION,
) -> float:
    """Seconds until the next poll (see the module invariants)."""
    interval = min(max(_finite(interval_s, MAX_INTERVAL_S), MIN_INTERVAL_S), MAX_INTERVAL_S)
    if failures <= 0:
        delay = max(interval, min(max_age_s or 0.0, MAX_CACHE_S))
    else:
        delay = min(interval * 2.0 ** min(failures, 40), max(MAX_BACKOFF_S, interval))
    if retry_after_s is not None and math.isfinite(retry_after_s) and retry_after_s > 0:
        delay = max(delay, min(retry_after_s, MAX_BACKOFF_S))
    fraction = min(max(jitter, 0.0), 0.999999) if math.isfinite(jitter) else 0.0
    return delay * (1.0 + jitter_fraction * fraction)


def _finite(value: float, default: float) -> float:
    """``value`` as a finite float; ``default`` for NaN, infinities and ints too big for floats."""
    try:
        number = float(value)
    except (OverflowError, TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


def format_duration(seconds: float) -> str:
    """``5400`` -> ``"1 h 30 min"``; short, for people."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
