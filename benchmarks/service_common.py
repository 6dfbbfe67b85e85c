"""Shared pieces of the service-level benchmarks: load, percentiles, results files.

Each service-level benchmark prints a small table (figure beside its goal) and writes every
run plus the machine's load to ``benchmarks/results/<name>-latest.json``.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"


def load() -> list[float]:
    """The 1, 5 and 15 minute load averages (as ``uptime`` shows them)."""
    return [round(x, 2) for x in os.getloadavg()]


def machine(load_before: list[float]) -> dict[str, Any]:
    """What the results depend on besides the code: CPUs, Python, load before and after."""
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_before": load_before,
        "load_after": load(),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` (0-100) percentile by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_results(name: str, result: dict[str, Any], output: Path | None = None) -> Path:
    path = output or RESULTS_DIR / f"{name}-latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


def load_line(result: dict[str, Any]) -> str:
    return (
        f"machine: {result['cpus']} CPUs, Python {result['python']}, load average "
        f"{result['load_before']} before, {result['load_after']} after"
    )
