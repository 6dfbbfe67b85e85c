"""The classifier's output is pinned: a faster implementation must not change a single result.

The sha256 digests below were recorded from the `uschina-bot classify --jsonl` output (relevant,
topics, scores and every explanation) of the benchmark's synthetic corpus and of the shared
development set. After a change that is meant to alter judgements (new vocabulary, a new
rule) or to the benchmark's templates, record the new digests with
``cd tests && python test_classify_equivalence.py``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from classify_seed import SEED_TEXT

from bot.cli.classify import result_row
from bot.domain.classify import Classifier
from bot.taxonomy_file import default_taxonomy

REPO = Path(__file__).resolve().parents[1]
SHARED = next(
    (p for p in (REPO.parent / "shared", Path("/work/shared")) if (p / "eval").is_dir()),
    None,
)
DEV_NEWS = SHARED / "eval" / "dev_news.jsonl" if SHARED else None
CORPUS_SIZE = 6000
CORPUS_DIGEST = "977c23520690ff5c1212c15d652b806a4766ae174f0db652ba7464c11b943687"
DEV_DIGEST = "2ef566024356b42f5d68980493b11b9757207670b5a5f3b44a173ff321380ff5"
SEED_DIGEST = "50cf7b0f8fce13c6021b65425906df98b7fed2a8bd78d97a8d2311012c0be893"


def synthetic_corpus(count: int = CORPUS_SIZE) -> list[dict[str, Any]]:
    """The items of ``benchmarks/classify_speed.py`` as classify input rows."""
    spec = importlib.util.spec_from_file_location(
        "classify_speed", REPO / "benchmarks" / "classify_speed.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [
        {"id": n, "title": title, "summary": summary}
        for n, (title, summary) in enumerate(module.make_items(count))
    ]


def dev_rows() -> list[dict[str, Any]]:
    assert DEV_NEWS is not None
    return [json.loads(line) for line in DEV_NEWS.read_text(encoding="utf-8").splitlines()]


def digest(rows: Iterable[dict[str, Any]]) -> str:
    """sha256 of the JSON Lines that ``classify --jsonl`` writes for ``rows``."""
    classifier = Classifier(default_taxonomy())
    sha = hashlib.sha256()
    for row in rows:
        result = classifier.classify(str(row.get("title") or ""), str(row.get("summary") or ""))
        line = json.dumps(result_row(row.get("id"), result), ensure_ascii=False)
        sha.update(line.encode("utf-8") + b"\n")
    return sha.hexdigest()


def test_synthetic_corpus_output_is_unchanged() -> None:
    assert digest(synthetic_corpus()) == CORPUS_DIGEST


def seed_rows() -> list[dict[str, Any]]:
    """The embedded seed article, headline and summary."""
    title, _, summary = SEED_TEXT.partition("\n")
    return [{"id": "seed", "title": title, "summary": summary}]


def test_seed_and_development_set_output_is_unchanged() -> None:
    """The development set is checked whenever it is beside the repository (CI has it)."""
    assert digest(seed_rows()) == SEED_DIGEST
    if DEV_NEWS is not None and DEV_NEWS.is_file():
        assert digest(dev_rows()) == DEV_DIGEST


if __name__ == "__main__":  # record new digests after an intended change of judgements
    print(f'CORPUS_DIGEST = "{digest(synthetic_corpus())}"')
    print(f'SEED_DIGEST = "{digest(seed_rows())}"')
    if DEV_NEWS is not None and DEV_NEWS.is_file():
        print(f'DEV_DIGEST = "{digest(dev_rows())}"')
    sys.exit(0)
