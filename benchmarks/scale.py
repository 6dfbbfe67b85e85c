"""Does ingest grow linearly? The same pipeline on N feeds and on 10 × N feeds.

    python -m benchmarks.scale [--small 500 --large 5000 --items 20] [--runs 1] [--with-reader]

Runs ``benchmarks.ingest`` (same corpus generator, same child processes, fresh database per
run) on ``--small`` feeds and on ``--large`` feeds of ``--items`` items each, then compares:

- **time per item** of the first poll (all new) and of the second poll (all 304) per feed,
  wall and CPU time of the main process (all its threads; on a shared machine the wall time
  follows the load, so compare CPU, and the loads recorded beside each run);
- **memory growth**: peak RSS of the first poll minus the RSS before it started (what the poll
  itself added, without the interpreter and imports), small against large.

Growth is "no worse than linear" when the large run's cost per item (or per feed) is at most
``--tolerance`` (default 1.25) times the small run's, and the memory the poll added grew by at
most the item ratio. Results go to ``benchmarks/results/scale-latest.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "scale-latest.json"


def run_ingest(feeds: int, items: int, runs: int, with_reader: bool, out: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.ingest", "--feeds", str(feeds)]
    command += ["--items", str(items), "--runs", str(runs), "--output", str(out)]
    if not with_reader:
        command.append("--skip-reader")
    print(f"-- {feeds} feeds x {items} items", flush=True)
    subprocess.run(command, cwd=ROOT, check=True)
    return dict(json.loads(out.read_text()))


def figures(result: dict[str, Any]) -> dict[str, float]:
    """Per-item and per-feed costs of one ``benchmarks.ingest`` result (medians)."""
    first, second = result["uschina_bot"]["first"], result["uschina_bot"]["second"]
    feeds = result["corpus"]["feeds"]
    new = max(first["new_items"], 1)
    return {
        "feeds": feeds,
        "new_items": first["new_items"],
        "first_wall_s": first["wall_s"],
        "first_ms_per_item": round(1000 * first["wall_s"] / new, 4),
        "first_cpu_ms_per_item": round(1000 * first["cpu_s"] / new, 4),
        "first_peak_rss_mib": first["peak_rss_mib"],
        "first_rss_added_mib": round(first["peak_rss_mib"] - first["rss_before_mib"], 1),
        "second_wall_s": second["wall_s"],
        "second_ms_per_feed": round(1000 * second["wall_s"] / feeds, 4),
        "second_cpu_ms_per_feed": round(1000 * second["cpu_s"] / feeds, 4),
    }


def compare(small: dict[str, float], large: dict[str, float], tolerance: float) -> dict[str, Any]:
    scale = large["new_items"] / max(small["new_items"], 1)
    time_ratio = large["first_ms_per_item"] / max(small["first_ms_per_item"], 1e-9)
    cpu_ratio = large["first_cpu_ms_per_item"] / max(small["first_cpu_ms_per_item"], 1e-9)
    second_ratio = large["second_ms_per_feed"] / max(small["second_ms_per_feed"], 1e-9)
    second_cpu = large["second_cpu_ms_per_feed"] / max(small["second_cpu_ms_per_feed"], 1e-9)
    memory_ratio = large["first_rss_added_mib"] / max(small["first_rss_added_mib"], 1e-9)
    return {
        "item_ratio": round(scale, 2),
        "first_time_per_item_ratio": round(time_ratio, 2),
        "first_cpu_per_item_ratio": round(cpu_ratio, 2),
        "second_time_per_feed_ratio": round(second_ratio, 2),
        "second_cpu_per_feed_ratio": round(second_cpu, 2),
        "memory_added_ratio": round(memory_ratio, 2),
        "time_linear": time_ratio <= tolerance and second_ratio <= tolerance,
        "memory_linear": memory_ratio <= scale * tolerance,
    }


def report(small: dict[str, float], large: dict[str, float], verdict: dict[str, Any]) -> str:
    rows = [
        ("feeds", "feeds", "{:.0f}"),
        ("new items (first poll)", "new_items", "{:.0f}"),
        ("first poll wall s", "first_wall_s", "{:.2f}"),
        ("  ms per item (wall)", "first_ms_per_item", "{:.3f}"),
        ("  CPU ms per item (main process)", "first_cpu_ms_per_item", "{:.3f}"),
        ("  peak RSS MiB", "first_peak_rss_mib", "{:.1f}"),
        ("  RSS the poll added MiB", "first_rss_added_mib", "{:.1f}"),
        ("second poll (all 304) wall s", "second_wall_s", "{:.2f}"),
        ("  ms per feed", "second_ms_per_feed", "{:.3f}"),
        ("  CPU ms per feed (main process)", "second_cpu_ms_per_feed", "{:.3f}"),
    ]
    lines = [f"{'':36}{'small':>12}{'large':>12}", "-" * 60]
    for label, key, fmt in rows:
        lines.append(f"{label:36}{fmt.format(small[key]):>12}{fmt.format(large[key]):>12}")
    lines.append("")
    lines.append(
        f"items x{verdict['item_ratio']}: first-poll time per item x"
        f"{verdict['first_time_per_item_ratio']} (CPU x{verdict['first_cpu_per_item_ratio']}), "
        f"304 time per feed x{verdict['second_time_per_feed_ratio']} "
        f"(CPU x{verdict['second_cpu_per_feed_ratio']}), memory the poll added x"
        f"{verdict['memory_added_ratio']}"
    )
    lines.append(
        f"time linear: {'yes' if verdict['time_linear'] else 'NO'}; "
        f"memory linear: {'yes' if verdict['memory_linear'] else 'NO'}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=500, help="feeds in the small run")
    parser.add_argument("--large", type=int, default=5000, help="feeds in the large run")
    parser.add_argument("--items", type=int, default=20, help="items per feed")
    parser.add_argument("--runs", type=int, default=1, help="runs of each size (median)")
    parser.add_argument("--tolerance", type=float, default=1.25)
    parser.add_argument("--with-reader", action="store_true", help="also run reader each time")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory() as tmp:
        raw_small = run_ingest(
            args.small, args.items, args.runs, args.with_reader, Path(tmp) / "small.json"
        )
        raw_large = run_ingest(
            args.large, args.items, args.runs, args.with_reader, Path(tmp) / "large.json"
        )
    small, large = figures(raw_small), figures(raw_large)
    verdict = compare(small, large, args.tolerance)
    print()
    print(report(small, large, verdict))
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "items_per_feed": args.items,
        "small": small,
        "large": large,
        "verdict": verdict,
        "raw": {"small": raw_small, "large": raw_large},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nresults written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
