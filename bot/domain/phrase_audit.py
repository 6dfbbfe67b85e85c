"""Which taxonomy phrases does a labelled file actually use? Pure.

A vocabulary phrase that matches exactly one item of a development set is a warning sign: it
may have been copied from that item rather than written from knowledge of the domain, and then
it only "learns" that item. :func:`phrase_uses` counts, for every phrase of the taxonomy, the
items whose headline or summary contain it (with the classifier's own matching rules: case and
punctuation ignored, all-capital words matched in capitals, ``*`` for word endings, plural
forms of topic phrases);
:func:`single_item_phrases` keeps the multi-word phrases found in exactly one item.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.domain.classify import Classifier, phrase_forms
from bot.domain.taxonomy import Taxonomy, normalize_text, phrase_key


@dataclass(frozen=True)
class PhraseUse:
    """One taxonomy phrase, where it is declared, and the ids of the items that contain it."""

    phrase: str
    where: str
    items: tuple[str, ...]

    @property
    def words(self) -> int:
        key = phrase_key(self.phrase)
        return len(key.key.split()) if key else 0


def taxonomy_phrases(taxonomy: Taxonomy) -> Iterator[tuple[str, str]]:
    """Every (phrase, declared-at) pair of the taxonomy, in file order."""
    for topic in taxonomy.topics:
        for phrase, _ in topic.phrases:
            yield phrase, f"topics.{topic.id}.phrases"
        for phrase, _ in topic.support:
            yield phrase, f"topics.{topic.id}.support"
        for phrase in topic.exclusions:
            yield phrase, f"topics.{topic.id}.exclusions"
    for actor in taxonomy.actors:
        for phrase in actor.phrases:
            yield phrase, f"actors.{actor.side}.{actor.name}"
    for side, phrases in taxonomy.countries:
        for phrase in phrases:
            yield phrase, f"countries.{side}"
    for side, phrases in taxonomy.companies:
        for phrase in phrases:
            yield phrase, f"companies.{side}"
    for side, phrases in taxonomy.places:
        for phrase in phrases:
            yield phrase, f"places.{side}"
    for name, phrases in (
        ("issue_places", taxonomy.issue_places),
        ("near_misses", taxonomy.near_misses),
        ("third_parties", taxonomy.third_parties),
        ("interactions", taxonomy.interactions),
        ("multilateral", taxonomy.multilateral),
        ("participation", taxonomy.participation),
        ("presence_cues", taxonomy.presence_cues),
    ):
        for phrase in phrases:
            yield phrase, name


def _texts(row: Mapping[str, Any]) -> tuple[str, str]:
    """(cased, lower) padded text of a row, as the classifier reads it."""
    cased = " " + normalize_text(f"{row.get('title') or ''} | {row.get('summary') or ''}") + " "
    return cased, cased.lower()


def phrase_uses(taxonomy: Taxonomy, rows: Sequence[Mapping[str, Any]]) -> list[PhraseUse]:
    """For each distinct (phrase, place) of the taxonomy, the ids of the rows containing it.

    Rows without an ``id`` are named by their 1-based position.
    """
    texts = [_texts(row) for row in rows]
    ids = [str(row.get("id") or n) for n, row in enumerate(rows, start=1)]
    out: list[PhraseUse] = []
    seen: set[tuple[str, str]] = set()
    for phrase, where in taxonomy_phrases(taxonomy):
        key = phrase_key(phrase)
        if key is None or (phrase, where) in seen:
            continue
        seen.add((phrase, where))
        forms = phrase_forms(phrase) if where.startswith("topics.") else (phrase,)
        keys = [k.key for k in map(phrase_key, forms) if k is not None]
        found = tuple(
            ids[i]
            for i, (cased, lower) in enumerate(texts)
            if any(k in (cased if key.case_sensitive else lower) for k in keys)
        )
        out.append(PhraseUse(phrase=phrase, where=where, items=found))
    return out


def single_item_phrases(
    taxonomy: Taxonomy, rows: Sequence[Mapping[str, Any]], *, min_words: int = 2
) -> list[PhraseUse]:
    """Phrases of at least ``min_words`` words found in exactly one row."""
    return [
        use for use in phrase_uses(taxonomy, rows) if len(use.items) == 1 and use.words >= min_words
    ]


def group_by_item(uses: Iterable[PhraseUse]) -> dict[str, list[PhraseUse]]:
    """The single-item phrases grouped by the item they match."""
    out: dict[str, list[PhraseUse]] = {}
    for use in uses:
        for item in use.items:
            out.setdefault(item, []).append(use)
    return out


def _drop(phrases: tuple[str, ...], gone: set[str]) -> tuple[str, ...]:
    return tuple(p for p in phrases if p not in gone)


def _drop_weighted(
    phrases: tuple[tuple[str, float], ...], gone: set[str]
) -> tuple[tuple[str, float], ...]:
    return tuple((p, w) for p, w in phrases if p not in gone)


def without_phrases(taxonomy: Taxonomy, uses: Iterable[PhraseUse]) -> Taxonomy:
    """The taxonomy with the given (phrase, place) pairs removed (for ablation studies).

    A topic left with no weighted phrase keeps none (it can no longer fire); an actor whose
    every spelling is removed is dropped.
    """
    gone: dict[str, set[str]] = {}
    for use in uses:
        gone.setdefault(use.where, set()).add(use.phrase)
    if not gone:
        return taxonomy
    topics = tuple(
        replace(
            t,
            phrases=_drop_weighted(t.phrases, gone.get(f"topics.{t.id}.phrases", set())),
            support=_drop_weighted(t.support, gone.get(f"topics.{t.id}.support", set())),
            exclusions=_drop(t.exclusions, gone.get(f"topics.{t.id}.exclusions", set())),
        )
        for t in taxonomy.topics
    )
    actors = []
    for actor in taxonomy.actors:
        left = _drop(actor.phrases, gone.get(f"actors.{actor.side}.{actor.name}", set()))
        if left:
            actors.append(replace(actor, name=left[0], match=left[1:]))

    def sided(
        name: str, pairs: tuple[tuple[str, tuple[str, ...]], ...]
    ) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return tuple((side, _drop(ps, gone.get(f"{name}.{side}", set()))) for side, ps in pairs)

    return replace(
        taxonomy,
        topics=topics,
        actors=tuple(actors),
        countries=sided("countries", taxonomy.countries),
        companies=sided("companies", taxonomy.companies),
        places=sided("places", taxonomy.places),
        issue_places=_drop(taxonomy.issue_places, gone.get("issue_places", set())),
        near_misses=_drop(taxonomy.near_misses, gone.get("near_misses", set())),
        third_parties=_drop(taxonomy.third_parties, gone.get("third_parties", set())),
        interactions=_drop(taxonomy.interactions, gone.get("interactions", set())),
        multilateral=_drop(taxonomy.multilateral, gone.get("multilateral", set())),
        participation=_drop(taxonomy.participation, gone.get("participation", set())),
        presence_cues=_drop(taxonomy.presence_cues, gone.get("presence_cues", set())),
        _names={},
    )


def _verdict(classifier: Classifier, row: Mapping[str, Any]) -> tuple[bool, frozenset[str]]:
    result = classifier.classify(str(row.get("title") or ""), str(row.get("summary") or ""))
    return result.relevant, frozenset(result.topics)


def dependent_items(
    taxonomy: Taxonomy, rows: Sequence[Mapping[str, Any]], uses: Iterable[PhraseUse]
) -> dict[str, list[PhraseUse]]:
    """Items judged differently once the phrases found only in them are removed.

    A phrase found in one item changes no other item's result, so removing every single-item
    phrase at once (one compiled classifier) changes exactly these items.
    """
    single = [use for use in uses if len(use.items) == 1]
    own = group_by_item(single)
    if not own:
        return {}
    full = Classifier(taxonomy)
    lean = Classifier(without_phrases(taxonomy, single))
    out: dict[str, list[PhraseUse]] = {}
    for n, row in enumerate(rows, start=1):
        item = str(row.get("id") or n)
        if item in own and _verdict(full, row) != _verdict(lean, row):
            out[item] = own[item]
    return out
