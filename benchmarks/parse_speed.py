"""Feed parsing speed: the lxml fast path (``parse_feed``) against feedparser, on one core.

    python -m benchmarks.parse_speed [--feeds 500] [--items 50] [--repeat 3]

The corpus is synthetic (``tests/feedserver.py`` renderers): RSS 2.0, RSS 1.0 and Atom in
turn, ``--feeds`` documents of ``--items`` items each. Every fourth feed is re-encoded the
way Chinese official sources serve them (GBK bytes, charset only in the Content-Type
header) and every fifth gets bare ampersands in its titles and links, so the encoding and
repair paths are timed too. Prints the best of ``--repeat`` runs for each parser, the ratio,
and a JSON line for records.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("rss2", "rss1", "atom")
URL = "https://news.example.com/feed"


def build_corpus(feeds: int, items: int) -> list[tuple[bytes, str]]:
    """``(body, content_type)`` pairs, deterministic."""
    sys.path.insert(0, str(ROOT / "tests"))
    import feedserver

    corpus = []
    for i in range(feeds):
        fmt = FORMATS[i % len(FORMATS)]
        body, _articles = feedserver.render_feed(i, fmt, items, 40)
        ctype = feedserver.CONTENT_TYPES[fmt]
        if i % 4 == 3:
            text = body.decode().replace(' encoding="UTF-8"', "").replace("Report", "中美报告")
            body, ctype = text.encode("gbk"), ctype.replace("utf-8", "gbk")
        if i % 5 == 4:
            body = body.replace(b"(#", b"(AT&T #").replace(b"/story-", b"/story?a=1&b=")
        corpus.append((body, ctype))
    return corpus


def time_fast(corpus: list[tuple[bytes, str]]) -> tuple[float, int]:
    from bot.domain.parse import parse_feed

    started = time.perf_counter()
    entries = sum(len(parse_feed(b, url=URL, content_type=c).entries) for b, c in corpus)
    return time.perf_counter() - started, entries


def time_feedparser(corpus: list[tuple[bytes, str]]) -> tuple[float, int]:
    import feedparser

    started = time.perf_counter()
    entries = 0
    for body, ctype in corpus:
        result = feedparser.parse(
            body,
            response_headers={"content-type": ctype},
            resolve_relative_uris=False,
            sanitize_html=False,
        )
        entries += len(result.entries)
    return time.perf_counter() - started, entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    corpus = build_corpus(args.feeds, args.items)
    size_mb = sum(len(b) for b, _ in corpus) / 1e6
    fast = min(time_fast(corpus) for _ in range(args.repeat))
    slow = min(time_feedparser(corpus) for _ in range(max(1, args.repeat - 1)))
    print(f"corpus: {args.feeds} feeds x {args.items} items, {size_mb:.1f} MB")
    print(f"fast path:  {fast[0]:7.2f} s  ({fast[1]} entries, {fast[1] / fast[0]:,.0f}/s)")
    print(f"feedparser: {slow[0]:7.2f} s  ({slow[1]} entries, {slow[1] / slow[0]:,.0f}/s)")
    print(f"fast path is {slow[0] / fast[0]:.1f}x faster")
    record = {
        "feeds": args.feeds,
        "items": args.items,
        "fast_s": round(fast[0], 3),
        "feedparser_s": round(slow[0], 3),
        "ratio": round(slow[0] / fast[0], 2),
    }
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
