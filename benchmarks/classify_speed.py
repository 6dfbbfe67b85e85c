"""Classifier throughput on synthetic headlines and summaries (one core).

Usage: ``python -m benchmarks.classify_speed [N] [--taxonomy PATH]``; prints items/s.
Items are built from templates (US–China dealings, China-only, US-only, third-country news
and name near-misses) so no evaluation data is involved.
"""

from __future__ import annotations

import argparse
import random
import time

US = [
    "President Joe Biden",
    "Secretary of State Antony Blinken",
    "Treasury Secretary Janet Yellen",
    "the White House",
    "the Pentagon",
    "Washington",
    "U.S. officials",
    "the Commerce Department",
    "President Donald Trump",
    "Commerce Secretary Howard Lutnick",
]
CN = [
    "Chinese President Xi Jinping",
    "Foreign Minister Wang Yi",
    "Vice Premier He Lifeng",
    "Beijing",
    "China's Commerce Ministry",
    "the People's Liberation Army",
    "Chinese officials",
    "Premier Li Qiang",
]
ACTIONS = [
    "held talks with",
    "spoke by phone with",
    "met",
    "warned",
    "imposed sanctions on firms tied to",
    "raised tariffs on goods from",
    "urged",
    "agreed to restart dialogue with",
    "protested arms sales by",
    "announced export controls aimed at",
]
ISSUES = [
    "fentanyl precursors",
    "the South China Sea",
    "Taiwan",
    "semiconductor exports",
    "climate finance ahead of COP29",
    "military-to-military communications",
    "artificial intelligence risks",
    "detained Americans",
    "student visas",
    "Russia's war in Ukraine",
    "rare earth export controls",
    "COVID-19 origins",
]
CHINA_ONLY = [
    "China's factory output rose {n}% in {m}, the statistics bureau said.",
    "Beijing unveiled a stimulus package worth {n} billion yuan for property developers.",
    "China launched the Shenzhou-{n} crew to the Tiangong space station.",
    "China's national football team lost {n}-0 in a World Cup qualifier.",
]
US_ONLY = [
    "The Senate passed a stopgap bill {n} to 11, averting a shutdown in {m}.",
    "The Federal Reserve held interest rates steady for the {n}th meeting.",
    "Voters in {n} states head to the polls in {m} midterm races.",
]
OTHER = [
    "Chinatown restaurants reopen for the {m} street fair with {n} vendors.",
    "China Beach resort near Da Nang adds {n} rooms before {m}.",
    "Xi Jinping and Brazil's Lula signed {n} agreements in Beijing in {m}.",
    "Japan and China held talks on seafood imports in {m}, {n} officials said.",
]
MONTHS = ["January", "March", "May", "July", "September", "November"]


def make_items(count: int, seed: int = 7) -> list[tuple[str, str]]:
    """``count`` (title, summary) pairs, about 40% about US–China dealings."""
    rnd = random.Random(seed)
    items = []
    for _ in range(count):
        fill = {"n": rnd.randint(2, 90), "m": rnd.choice(MONTHS)}
        if rnd.random() < 0.4:
            us, cn, act, issue = (
                rnd.choice(US),
                rnd.choice(CN),
                rnd.choice(ACTIONS),
                rnd.choice(ISSUES),
            )
            title = f"{us.split()[-1]} {act} {cn.split()[-1]} over {issue}"
            summary = (
                f"{us[0].upper()}{us[1:]} {act} {cn} on {rnd.choice(MONTHS)} {rnd.randint(1, 28)}, "
                f"focusing on {issue} and {rnd.choice(ISSUES)}, officials said. "
                f"The two sides agreed to keep lines of communication open."
            )
        else:
            pool = rnd.choice((CHINA_ONLY, US_ONLY, OTHER))
            summary = rnd.choice(pool).format(**fill)
            title = summary.split(",")[0][:80]
        items.append((title, summary))
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=50_000)
    parser.add_argument("--taxonomy", metavar="PATH")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best is reported")
    args = parser.parse_args(argv)

    from bot.domain.classify import Classifier
    from bot.taxonomy_file import load_taxonomy_file

    classifier = Classifier(load_taxonomy_file(args.taxonomy))
    items = make_items(args.count)
    classify = classifier.classify
    best_cpu = best_wall = float("inf")
    relevant = 0
    for _ in range(args.repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        relevant = sum(classify(title, summary).relevant for title, summary in items)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    print(f"items: {len(items)} (relevant: {relevant})")
    print(f"items/s (CPU time, one core): {len(items) / best_cpu:,.0f}")
    print(f"items/s (wall clock):         {len(items) / best_wall:,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
