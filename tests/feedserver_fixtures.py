"""pytest fixtures around ``feedserver.FeedServer``.

Import the fixtures a test module needs::

    from feedserver_fixtures import feed_server  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from feedserver import FeedServer


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A fresh server: 10 feeds (two of each format) of 20 items; slow endpoint sleeps 30 s."""
    with FeedServer(n_feeds=10, items_per_feed=20) as server:
        yield server
