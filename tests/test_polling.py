"""Next-poll arithmetic: intervals, cache hints, backoff, Retry-After, jitter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.polling import (
    MAX_BACKOFF_S,
    MAX_CACHE_S,
    format_duration,
    next_poll_at,
    poll_delay_s,
)

NOW = datetime(2024, 9, 1, 12, 0, tzinfo=UTC)


def test_success_uses_interval() -> None:
    assert next_poll_at(NOW, 600, failures=0, retry_after_s=None, max_age_s=None, jitter=0.0) == (
        NOW + timedelta(seconds=600)
    )


def test_success_honours_longer_max_age_up_to_cap() -> None:
    assert poll_delay_s(600, max_age_s=1800) == 1800
    assert poll_delay_s(600, max_age_s=60) == 600
    assert poll_delay_s(600, max_age_s=10 * 24 * 3600) == MAX_CACHE_S
    assert poll_delay_s(12 * 3600, max_age_s=10) == 12 * 3600  # a long interval is kept


@pytest.mark.parametrize(("failures", "expected"), [(1, 1200), (2, 2400), (3, 4800)])
def test_failures_back_off_exponentially(failures: int, expected: float) -> None:
    assert poll_delay_s(600, failures=failures) == expected


def test_backoff_is_capped_and_survives_huge_counts() -> None:
    assert poll_delay_s(600, failures=30) == MAX_BACKOFF_S
    assert poll_delay_s(600, failures=10_000) == MAX_BACKOFF_S


def test_retry_after_is_honoured_but_capped() -> None:
    assert poll_delay_s(600, failures=1, retry_after_s=7200) == 7200
    assert poll_delay_s(600, failures=1, retry_after_s=60) == 1200
    assert poll_delay_s(600, retry_after_s=3600) == 3600
    assert poll_delay_s(600, failures=1, retry_after_s=10**9) == MAX_BACKOFF_S


def test_jitter_only_lengthens_within_fraction() -> None:
    base = poll_delay_s(600, failures=2)
    for jitter in (0.0, 0.3, 0.999):
        delay = poll_delay_s(600, failures=2, jitter=jitter)
        assert base <= delay <= base * 1.1
    assert poll_delay_s(600, failures=2, jitter=0.5) == pytest.approx(base * 1.05)
    assert poll_delay_s(600, failures=2, jitter=0.5, jitter_fraction=0.5) == pytest.approx(
        base * 1.25
    )


def test_tiny_intervals_are_raised_to_a_floor() -> None:
    assert poll_delay_s(1) == 30


def test_descriptions_for_people() -> None:
    assert format_duration(45) == "45 s"
    assert format_duration(5400) == "1 h 30 min"
    assert format_duration(3 * 86400) == "3 d"
