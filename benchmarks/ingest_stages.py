"""CPU per item of each ingest stage on the benchmark corpus (one process, no I/O).

    python -m benchmarks.ingest_stages [--feeds 100 --items 50]

Renders the corpus of ``benchmarks.ingest`` in-process and times, over all its feeds: parsing,
normalising (with the uncapped text), classification, engagement extraction (relevant items)
and story fingerprints (relevant items), then story assignment in one index. These are the
stages ``bot.domain.ingest.prepare`` runs in the parsing workers, and ``decide``'s main cost.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--items", type=int, default=50)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from feedserver import FeedServer

    from bot.domain.engagements import extract_engagements
    from bot.domain.identity import dedupe_batch
    from bot.domain.ingest import Judge, full_text, item_fingerprint
    from bot.domain.models import Source, SourceSpec
    from bot.domain.normalize import normalize_entry
    from bot.domain.parse import parse_feed
    from bot.domain.stories import StoryIndex
    from bot.taxonomy_file import load_taxonomy_file

    judge = Judge(load_taxonomy_file(None))
    with FeedServer(n_feeds=args.feeds, items_per_feed=args.items) as server:
        feeds = list(server.feeds)
    now = datetime.now(UTC)
    spent: dict[str, float] = dict.fromkeys(
        ("parse", "normalise", "classify", "engagements", "fingerprint", "assign"), 0.0
    )
    items = relevant = 0
    index = StoryIndex()

    def timed(stage: str, fn, *a, **kw):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        out = fn(*a, **kw)
        spent[stage] += time.perf_counter() - t
        return out

    for n, feed in enumerate(feeds):
        source = Source(
            n + 1,
            SourceSpec(
                name=f"feed {n}", url=feed.url, type=feed.source_type, selector=feed.selector
            ),
        )
        parsed = timed(
            "parse",
            parse_feed,
            feed.body,
            url=feed.url,
            content_type=feed.content_type,
            source_type=feed.source_type,
            selector=feed.selector,
        )
        for entry in parsed.entries:
            item = timed(
                "normalise",
                normalize_entry,
                entry,
                source=source,
                feed_language=parsed.language,
                now=now,
            )
            text = timed("normalise", full_text, item, entry)
            dedupe_batch([item])
            items += 1
            c = timed("classify", judge.classifier.classify, *text)
            if not c.relevant:
                continue
            relevant += 1
            timed(
                "engagements", extract_engagements, text[0], text[1], item.published, judge.taxonomy
            )
            fp = timed("fingerprint", item_fingerprint, item)
            timed("assign", index.assign, fp)
    total = sum(spent.values())
    print(f"{items} items ({relevant} relevant) from {args.feeds} feeds")
    for stage, seconds in spent.items():
        print(f"{stage:12} {seconds:7.2f} s  {1000 * seconds / items:6.3f} ms per item")
    print(f"{'total':12} {total:7.2f} s  {1000 * total / items:6.3f} ms per item")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
