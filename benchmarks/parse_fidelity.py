"""Agreement of the fast path (``parse_feed``) with feedparser over a directory of feeds.

    python -m benchmarks.parse_fidelity DIR [--show N] [--url URL]

Reads every file under DIR (recursively) except ``*.expected.json`` sidecars and READMEs;
a sidecar's ``content_type`` is passed to both parsers as the HTTP header. JSON files are
skipped (the installed feedparser has no JSON Feed reader), as are files feedparser finds
no entries in. Prints, with feedparser as the reference:

- count: files where both read the same number of entries (entries with neither a title
  nor a link are dropped from feedparser's list, as the fast path drops them);
- title / link / date: entries (paired in document order) whose title agrees after both are
  flattened to plain text, whose link is the same string, and whose date is the same
  instant (or both have none; published preferred to updated, as the fast path does);
- the time each parser took over the whole directory and the ratio.

``--show N`` prints the first N disagreements of each kind. Nothing is written anywhere.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.domain.models import ParsedEntry
from bot.domain.normalize import clean_text
from bot.domain.parse import parse_feed

SIDECAR = ".expected.json"
DEFAULT_URL = "https://example.org/feed.xml"


@dataclass
class Tally:
    files: int = 0
    counts_agree: int = 0
    pairs: int = 0
    agree: dict[str, int] = field(default_factory=lambda: {"title": 0, "link": 0, "date": 0})
    misses: dict[str, list[str]] = field(default_factory=dict)
    fast_s: float = 0.0
    feedparser_s: float = 0.0
    skipped: int = 0

    def miss(self, kind: str, text: str) -> None:
        self.misses.setdefault(kind, []).append(text)


def feed_files(root: Path) -> Iterator[tuple[Path, str | None]]:
    """Feed files under ``root`` with the Content-Type their sidecar names (if any)."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.name.lower()
        if name.endswith(SIDECAR) or name.startswith("readme") or name.endswith(".py"):
            continue
        sidecar = path.with_name(path.name.rsplit(".", 1)[0] + SIDECAR)
        ctype = None
        if sidecar.exists():
            ctype = json.loads(sidecar.read_text(encoding="utf-8")).get("content_type")
        yield path, ctype


def _fp_date(raw: Any) -> datetime | None:
    value = raw.get("published_parsed") or raw.get("updated_parsed")
    if not value:
        return None
    return datetime(*value[:6], tzinfo=UTC)


def _flat(text: str | None) -> str:
    return clean_text(text or "", 10_000)


def compare(path: Path, ctype: str | None, url: str, tally: Tally) -> None:
    import feedparser

    body = path.read_bytes()
    headers = {"content-location": url, **({"content-type": ctype} if ctype else {})}
    started = time.perf_counter()
    reference = feedparser.parse(
        body, response_headers=headers, resolve_relative_uris=False, sanitize_html=False
    )
    tally.feedparser_s += time.perf_counter() - started
    theirs = [e for e in reference.entries if e.get("title") or e.get("link")]
    started = time.perf_counter()
    try:
        ours: tuple[ParsedEntry, ...] = parse_feed(body, url=url, content_type=ctype).entries
    except Exception as exc:  # a tool: report any failure and go on
        ours = ()
        tally.miss("error", f"{path}: {exc}")
    tally.fast_s += time.perf_counter() - started
    if not theirs:
        tally.skipped += 1
        return
    tally.files += 1
    if len(ours) == len(theirs):
        tally.counts_agree += 1
    else:
        tally.miss("count", f"{path}: {len(ours)} vs feedparser {len(theirs)}")
    for mine, raw in zip(ours, theirs, strict=False):
        tally.pairs += 1
        checks = {
            "title": (_flat(mine.title), _flat(raw.get("title"))),
            "link": (mine.link or None, raw.get("link") or None),
            "date": (mine.published, _fp_date(raw)),
        }
        for kind, (a, b) in checks.items():
            if a == b:
                tally.agree[kind] += 1
            else:
                tally.miss(kind, f"{path}: {a!r} vs feedparser {b!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--show", type=int, default=0, help="print N disagreements per kind")
    parser.add_argument("--url", default=DEFAULT_URL, help="the URL the feeds are read from")
    args = parser.parse_args(argv)
    tally = Tally()
    for path, ctype in feed_files(args.directory):
        if path.suffix.lower() == ".json":
            tally.skipped += 1
            continue
        compare(path, ctype, args.url, tally)
    if not tally.files:
        print("no feed files with entries found")
        return 1
    pct = {k: 100 * v / max(tally.pairs, 1) for k, v in tally.agree.items()}
    print(f"files compared: {tally.files} (skipped {tally.skipped}); entry pairs: {tally.pairs}")
    print(f"count agreement: {100 * tally.counts_agree / tally.files:.1f}%")
    print(f"title {pct['title']:.1f}%  link {pct['link']:.1f}%  date {pct['date']:.1f}%")
    ratio = tally.feedparser_s / tally.fast_s if tally.fast_s else 0.0
    print(
        f"time: fast path {tally.fast_s:.3f} s, feedparser {tally.feedparser_s:.3f} s "
        f"({ratio:.1f}x)"
    )
    for kind, lines in sorted(tally.misses.items()):
        for line in lines[: args.show]:
            print(f"  [{kind}] {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
