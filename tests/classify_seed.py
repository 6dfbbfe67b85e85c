"""The seed article for classifier and engagement tests (the shared copy when present)."""

from __future__ import annotations

from pathlib import Path

SEED = Path("/work/shared/seed-article.txt")
SEED_TEXT = (
    "President Joe Biden and Chinese leader Xi Jinping are expected to have a significant call "
    "in the coming weeks, marking their final direct communication before the U.S. presidential "
    "election in November 2024.\n"
    "President Joe Biden is set to speak with Chinese leader Xi Jinping in the coming weeks, "
    "according to the White House. The plans for the call were arranged during meetings in "
    "Beijing between Chinese Foreign Minister Wang Yi and U.S. National Security Adviser Jake "
    "Sullivan. Biden's senior adviser for international climate policy, John Podesta, is "
    "scheduled to visit Beijing soon to discuss climate finance, which is crucial for the "
    "success of the United Nations COP29 conference in November. The call may touch on "
    "military communications and artificial intelligence dialogue. Issues such as the Taiwan "
    "Strait, China's role in the U.S. opioid crisis, and Beijing's actions in the South China "
    "Sea were discussed. Beijing pushed back against U.S. arms sales to Taiwan and criticized "
    "U.S. sanctions on Chinese entities."
)


def seed_parts() -> tuple[str, str]:
    text = SEED.read_text(encoding="utf-8") if SEED.exists() else SEED_TEXT
    title, _, summary = text.partition("\n")
    return title, summary
