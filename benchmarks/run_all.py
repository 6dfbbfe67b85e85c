"""Every benchmark in turn: classifier throughput, status board speed, feed parsing speed,
whole-pipeline ingest, commands, fan-out,
delivery and ingest growth from 500 to 5,000 feeds.

    python -m benchmarks.run_all

Each runs in its own process (so one's memory and imports do not colour the next); the
output of each is printed under a heading. Exit status is non-zero if any failed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = (
    ("classifier throughput", "benchmarks.classify_speed"),
    ("status board speed", "benchmarks.status_speed"),
    ("story assignment vs open stories", "benchmarks.story_assign"),
    ("feed parsing: fast path vs feedparser", "benchmarks.parse_speed"),
    ("ingest: uschina-bot vs reader", "benchmarks.ingest"),
    ("slash commands through the signed Slack endpoint", "benchmarks.commands_latency"),
    ("fan-out into the outbox: 2,000 subscriptions", "benchmarks.fanout_service"),
    ("delivery rate to 50 channels", "benchmarks.delivery_rate"),
    ("ingest growth: 500 vs 5,000 feeds x 20 items", "benchmarks.scale"),
)


def main() -> int:
    failed = 0
    for title, module in BENCHMARKS:
        print(f"\n== {title} ({module})", flush=True)
        done = subprocess.run([sys.executable, "-m", module], cwd=ROOT, check=False)
        if done.returncode != 0:
            print(f"!! {module} exited with {done.returncode}", flush=True)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
