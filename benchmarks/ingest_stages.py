"""CPU per item of each ingest stage on the benchmark corpus (one process, no I/O).

    python -m benchmarks.ingest_stages [--feeds 100 --items 50]

Renders the corpus of ``benchmarks.ingest`` in-process and times, over all its feeds: parsing,
normalising (with the uncapped text), classification, engagement extraction (relevant items)
and story fingerprints (relevant items), then story assignment in one index. These are the
stages ``bot.domain.ingest.prepare`` runs in the parsing workers, and ``decide``'s main cost.
Times are process CPU time (the machine may be busy) of one pass, as in a first poll (a second
pass in the same process would find the per-word and per-URL caches warm); the figures and the
load average go to ``benchmarks/results/ingest-stages-latest.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.service_common import load, load_line, machine, write_results

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("parse", "normalise", "classify", "engagements", "fingerprint", "assign")


def _one_pass(feeds, now, judge):
    """CPU seconds per stage over every feed, the items and the relevant items."""
    from bot.domain.engagements import extract_engagements
    from bot.domain.identity import dedupe_batch
    from bot.domain.ingest import full_text, item_fingerprint
    from bot.domain.models import Source, SourceSpec
    from bot.domain.normalize import normalize_entry
    from bot.domain.parse import parse_feed
    from bot.domain.stories import StoryIndex

    clock = time.process_time
    spent: dict[str, float] = dict.fromkeys(STAGES, 0.0)
    items = relevant = 0
    index = StoryIndex()

    def timed(stage: str, fn, *a, **kw):
        t = clock()
        out = fn(*a, **kw)
        spent[stage] += clock() - t
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
    return spent, items, relevant


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--output", type=Path, help="results file (default: the latest one)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from feedserver import FeedServer

    from bot.domain.ingest import Judge
    from bot.taxonomy_file import load_taxonomy_file

    judge = Judge(load_taxonomy_file(None))
    with FeedServer(n_feeds=args.feeds, items_per_feed=args.items) as server:
        feeds = list(server.feeds)
    now = datetime.now(UTC)
    load_before = load()
    spent, items, relevant = _one_pass(feeds, now, judge)
    total = sum(spent.values())
    print(f"{items} items ({relevant} relevant) from {args.feeds} feeds, CPU time")
    for stage in STAGES:
        print(f"{stage:12} {spent[stage]:7.2f} s  {1000 * spent[stage] / items:6.3f} ms per item")
    print(f"{'total':12} {total:7.2f} s  {1000 * total / items:6.3f} ms per item")
    result = {
        **machine(load_before),
        "feeds": args.feeds,
        "items": items,
        "relevant": relevant,
        "cpu_seconds": {stage: round(spent[stage], 4) for stage in STAGES},
        "ms_per_item": {stage: round(1000 * spent[stage] / items, 4) for stage in STAGES},
        "total_ms_per_item": round(1000 * total / items, 4),
    }
    print(load_line(result))
    print(f"results written to {write_results('ingest-stages', result, args.output)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
