"""In-process counters and gauges rendered in the Prometheus text format (``GET /metrics``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

_HELP = {
    "uschina_bot_polls_total": "Poll cycles run.",
    "uschina_bot_source_fetches_total": "Source fetches by result (ok, not_modified, failed).",
    "uschina_bot_items_stored_total": "New items stored.",
    "uschina_bot_relevant_items_total": "New items judged relevant.",
    "uschina_bot_deliveries_total": "Deliveries by platform and result.",
    "uschina_bot_commands_total": "Chat commands handled by platform.",
    "uschina_bot_requests_rejected_total": "Chat requests refused (bad signature, replay).",
}


@dataclass
class Metrics:
    counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = field(
        default_factory=lambda: defaultdict(float)
    )
    gauges: dict[str, float] = field(default_factory=dict)

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        self.counters[(name, tuple(sorted(labels.items())))] += amount

    def set(self, name: str, value: float) -> None:
        self.gauges[name] = value

    def render(self) -> str:
        """The Prometheus exposition text (version 0.0.4)."""
        lines: list[str] = []
        seen: set[str] = set()
        for (name, labels), value in sorted(self.counters.items()):
            if name not in seen:
                seen.add(name)
                lines.append(f"# HELP {name} {_HELP.get(name, name)}")
                lines.append(f"# TYPE {name} counter")
            label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
            lines.append(f"{name}{{{label_text}}} {value:g}" if labels else f"{name} {value:g}")
        for name, value in sorted(self.gauges.items()):
            lines.append(f"# TYPE {name} gauge")
            lines.append(f"{name} {value:g}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
