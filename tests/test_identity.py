"""Identity keys: primary key choice, dedup within a batch, and the 'no repeats' invariant."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import feedserver as fs

from bot.domain.identity import (
    dedupe_batch,
    identities_of,
    is_new,
    item_identities,
    new_items,
    normalise_title,
    stable_hash,
)
from bot.domain.models import Item, Source, SourceSpec
from bot.domain.normalize import normalize_entry
from bot.domain.parse import parse_feed

NOW = datetime(2024, 9, 1, 12, 0, tzinfo=UTC)
SOURCE = Source(id=1, spec=SourceSpec(name="Regen", url="https://regen.example.com/feed"))


def test_keys_and_primary_order() -> None:
    keys = item_identities("urn:1", "https://e.com/a", "Title")
    assert [k[:2] for k in keys] == ["g:", "u:", "t:"]
    assert all(re.fullmatch(r"[gut]:[0-9a-f]{24}", k) for k in keys)
    assert item_identities(None, "https://e.com/a", "Title")[0] == keys[1]
    assert item_identities("  ", None, "Title")[0].startswith("t:")


def test_keys_are_stable_and_discriminating() -> None:
    assert stable_hash("x") == stable_hash("x") != stable_hash("y")
    a = item_identities("urn:1", "https://e.com/a", "Title")
    assert a == item_identities("urn:1", "https://e.com/a", "Title")
    assert set(a).isdisjoint(item_identities("urn:2", "https://e.com/b", "Other"))


def test_title_normalisation_ignores_case_punctuation_and_spacing() -> None:
    assert normalise_title("US–China  “Talks”: Agree!") == normalise_title("us china talks agree")
    assert (
        item_identities(None, None, "US–China Talks")[-1]
        == item_identities(None, None, "us-china talks")[-1]
    )


def make_item(guid: str | None, url: str, title: str) -> Item:
    return Item(
        key="",
        source_id=1,
        url=url,
        title=title,
        summary="",
        published=NOW,
        first_seen=NOW,
        guid=guid,
    )


def test_dedupe_batch_drops_repeated_guids_and_urls_keeping_first() -> None:
    items = [
        make_item("g1", "https://e.com/1", "One"),
        make_item("g1", "https://e.com/1-dup", "One again"),
        make_item("g2", "https://e.com/1", "Same link"),
        make_item("g3", "https://e.com/3", "Three"),
    ]
    kept = dedupe_batch(items)
    assert [i.guid for i in kept] == ["g1", "g3"]
    assert kept[0].title == "One"


def test_regenerated_guids_and_dates_produce_no_new_items() -> None:
    """The invariant: new only if none of the identities is known for the source."""
    with fs.FeedServer(n_feeds=0) as server:
        first = parse_feed(server.regen_body(), url=SOURCE.url)
        second = parse_feed(server.regen_body(), url=SOURCE.url)
    assert {e.guid for e in first.entries}.isdisjoint(e.guid for e in second.entries)
    now2 = NOW + timedelta(hours=1)
    items1 = [normalize_entry(e, source=SOURCE, feed_language=None, now=NOW) for e in first.entries]
    items2 = [
        normalize_entry(e, source=SOURCE, feed_language=None, now=now2) for e in second.entries
    ]
    known = {key for item in items1 for key in identities_of(item)}
    assert len(new_items(items1, set())) == len(items1)
    assert new_items(items2, known) == []
    assert {i.key for i in items1}.isdisjoint(i.key for i in items2)  # keys did change


def test_changed_links_with_stable_guids_are_not_new() -> None:
    old = make_item("g1", "https://e.com/a", "Title")
    moved = make_item("g1", "https://e.com/a-renamed", "Title edited")
    assert not is_new(identities_of(moved), set(identities_of(old)))
    fresh = make_item("g2", "https://e.com/b", "Another")
    assert is_new(identities_of(fresh), set(identities_of(old)))
