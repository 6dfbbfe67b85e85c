"""Story assignment speed as the number of open stories grows.

    python -m benchmarks.story_assign [--items 25000] [--open 1000 5000 20000]

For each size N, an index is filled with N open stories (synthetic items, all inside the
window), then ``--items`` further synthetic items are assigned one by one: about half are new
wordings of an open story, the rest open new stories (the oldest are retired, so about N stay
open). Fingerprints are computed before the clock starts; only :meth:`StoryIndex.assign` is
timed, with the heap built before the clock starts frozen out of garbage collection (the
service pauses collection during a cycle). Results go to
``benchmarks/results/story-assign-latest.json``.

The corpus is generated from a seeded random vocabulary (pseudo-words with a Zipf-like
frequency), so runs are repeatable and nothing here comes from real news.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bot.domain.stories import StoryIndex, row_fingerprint

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "story-assign-latest.json"
SYLLABLES = tuple(c + v for c in "bdfghklmnprstvz" for v in "aeiou")  # 75 syllables
COMMON = ("US", "China", "officials", "talks", "trade", "minister", "said", "tariffs", "visit")


def vocabulary(rng: random.Random, size: int) -> list[str]:
    """``size`` distinct pseudo-words of three to four syllables."""
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 4))))
    return sorted(words)


class Corpus:
    """Synthetic stories (a handful of distinctive words each) and items that report them."""

    def __init__(self, seed: int, vocab_size: int = 60_000) -> None:
        self.rng = random.Random(seed)
        self.words = vocabulary(self.rng, vocab_size)
        self.stories: list[list[str]] = []
        self.day = date(2025, 3, 1)

    def _word(self) -> str:
        rank = int(self.rng.paretovariate(0.9)) - 1  # Zipf-like: a few words are very common
        return self.words[min(rank, len(self.words) - 1)]

    def new_story(self) -> int:
        distinctive = [self.rng.choice(self.words) for _ in range(6)]
        self.stories.append(distinctive)
        return len(self.stories) - 1

    def item(self, story: int, serial: int) -> dict[str, Any]:
        words = self.stories[story]
        picked = self.rng.sample(words, 4) + [self._word() for _ in range(3)]
        common = self.rng.sample(COMMON, 3)
        title = " ".join(w.capitalize() for w in picked[:4]) + " " + " ".join(common[:1])
        summary = " ".join(picked[2:] + common[1:]) + " " + " ".join(self._word() for _ in range(8))
        return {
            "id": f"i{serial}",
            "title": title,
            "summary": summary + ".",
            "published": (self.day + timedelta(hours=serial % 48)).isoformat(),
            "url": f"https://bench.example/{serial}",
            "source": f"Outlet {serial % 7}",
        }


def run(open_stories: int, items: int, seed: int) -> dict[str, Any]:
    corpus = Corpus(seed)
    index = StoryIndex(window_days=30, max_stories=open_stories)
    fill = [row_fingerprint(corpus.item(corpus.new_story(), n)) for n in range(open_stories)]
    for fp in fill:
        index.assign(fp)
    todo = []
    for n in range(open_stories, open_stories + items):
        if corpus.rng.random() < 0.5:
            story = corpus.rng.randrange(
                max(0, len(corpus.stories) - open_stories), len(corpus.stories)
            )
        else:
            story = corpus.new_story()
        todo.append(row_fingerprint(corpus.item(story, n)))
    gc.collect()
    gc.freeze()  # the service pauses collection during a cycle; keep its heap scans out
    started = time.perf_counter()
    new = 0
    for fp in todo:
        _, is_new = index.assign(fp)
        new += is_new
    elapsed = time.perf_counter() - started
    gc.unfreeze()
    return {
        "open_stories": open_stories,
        "items": items,
        "seconds": round(elapsed, 2),
        "items_per_second": round(items / elapsed),
        "new_stories": new,
        "open_at_end": len(index),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=25_000)
    parser.add_argument("--open", type=int, nargs="+", default=[1_000, 5_000, 20_000])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    results = []
    for size in args.open:
        result = run(size, args.items, args.seed)
        results.append(result)
        print(
            f"open {result['open_stories']:>6}  items {result['items']:>6}  "
            f"{result['seconds']:>7.2f} s  {result['items_per_second']:>6} items/s  "
            f"(new stories {result['new_stories']}, open at end {result['open_at_end']})",
            flush=True,
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
