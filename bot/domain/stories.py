"""Same-event grouping: news items that report one real-world event share a story key.

Pure: no I/O, no clock reads. Three layers:

- :func:`~bot.domain.story_features.fingerprint` turns one item into a frozen
  :class:`~bot.domain.story_features.Fingerprint` (tokens, entities, numbers, event kinds,
  headline actions and place, targets, preview flag, dates).
- :func:`~bot.domain.story_score.pair_score` compares two fingerprints (word overlap plus
  date, kind, place and people evidence; vetoes when kind and place/day disagree).
- :class:`StoryIndex` assigns fingerprints to stories incrementally. Candidate stories come
  from an inverted index (token -> stories holding it) probed with the item's rarest tokens,
  so the work per item does not grow with the number of open stories; the same candidates
  can be computed by scanning every story (``candidate_index=False``), which tests use to
  show that the index changes no result.

Order invariant: :meth:`StoryIndex.assign_batch` and :func:`group_rows` process a batch in a
canonical order (publication day, then days named in the text, then content, then identity)
after learning token rarity from the whole batch, so the same set of items gives the same
partition and the same keys whatever order they arrive in. Single :meth:`StoryIndex.assign`
calls follow the caller's order.

The shell stores :meth:`StoryIndex.story_state` beside each story and rebuilds the window with
:meth:`StoryIndex.restore`.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from bot.domain.story_features import Fingerprint, fingerprint
from bot.domain.story_score import (
    VETO,
    WEIGHTS,
    DocFreq,
    Prepared,
    ScoreWeights,
    days_apart,
    pair_dates,
    pair_score,
    prepare,
    scored_with_dates,
    weigh,
    weigh_by,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "DocFreq",
    "Fingerprint",
    "ScoreWeights",
    "StoryIndex",
    "fingerprint",
    "group_rows",
    "pair_score",
    "row_fingerprint",
    "story_key",
]

DEFAULT_THRESHOLD = 0.33
_MAX_MEMBERS = 6
_PROBE_TOKENS = 16  # rarest shared tokens of an item used to look up candidate stories
_MAX_CANDIDATES = 10  # stories scored per item at most
_MAX_HOLDERS = 64  # a probe held by more open stories than this names no particular event


@dataclass
class _Story:
    key: str
    members: list[Fingerprint]
    prepared: list[Prepared]  # the members as the pair score reads them
    first: str | None  # earliest publication day, ISO
    last: str | None  # latest publication day, ISO
    seq: int  # order of last update, for eviction when dates are unknown
    tokens: set[str] = field(default_factory=set)  # every posting that names this story

    def add(self, item: Prepared, seq: int) -> None:
        fp = item.fp
        if len(self.members) >= _MAX_MEMBERS:
            del self.members[_MAX_MEMBERS // 3]  # keep the first few and the most recent
            del self.prepared[_MAX_MEMBERS // 3]
        self.members.append(fp)
        self.prepared.append(item)
        self.tokens.update(_index_tokens(fp))
        self.seq = seq
        day = fp.published
        if day:
            self.first = min(self.first or day, day)
            self.last = max(self.last or day, day)


def story_key(identity: str) -> str:
    """Stable story key derived from the identity of the story's first item."""
    return "st-" + hashlib.sha1(identity.encode("utf-8")).hexdigest()[:12]


def _index_tokens(fp: Fingerprint) -> list[str]:
    return list(fp.tokens) + [f"#{n}" for n in fp.numbers]


def canonical_order(fp: Fingerprint) -> tuple[int, str, str, str]:
    """Sort key of the batch order: dated items first in publication order, then items dated
    only by their text, then the rest; ties broken by content, then identity."""
    content = hashlib.sha1(repr(sorted(fp.tokens.items())).encode("utf-8")).hexdigest()
    if fp.published:
        return (0, fp.published, content, fp.identity)
    if fp.dates:
        return (1, min(fp.dates), content, fp.identity)
    return (2, "", content, fp.identity)


class StoryIndex:
    """Recent stories and their members' fingerprints, for incremental assignment.

    Invariants: at most ``max_stories`` stories are active; a story whose latest publication
    day is more than ``window_days`` before the newest day seen is retired. Retired stories are
    forgotten, unless ``archive`` is set (batch use): then items without any date can still
    join them. Token rarity is learnt from every assigned item unless a fixed ``doc_freq`` is
    given with ``learn_doc_freq=False``. Candidates are looked up through postings of the
    item's rarest tokens, skipping tokens held by more than ``max_holders`` stories (so the
    work per item is bounded); ``candidate_index=False`` finds the same candidates by
    scanning every story (slow; for equivalence tests).
    """

    def __init__(
        self,
        window_days: int = 4,
        max_stories: int = 5000,
        threshold: float = DEFAULT_THRESHOLD,
        doc_freq: DocFreq | None = None,
        learn_doc_freq: bool = True,
        archive: bool = False,
        weights: ScoreWeights = WEIGHTS,
        candidate_index: bool = True,
        max_holders: int = _MAX_HOLDERS,
    ) -> None:
        self.window_days = window_days
        self.max_stories = max_stories
        self.threshold = threshold
        self.df = doc_freq or DocFreq()
        self.learn_doc_freq = learn_doc_freq
        self.archive = archive
        self.weights = weights
        self.candidate_index = candidate_index
        self.max_holders = max_holders
        self._stories: dict[str, _Story] = {}
        self._postings: dict[str, set[str]] = {}
        self._retired: dict[str, _Story] = {}
        self._retired_postings: dict[str, set[str]] = {}
        self._newest: str | None = None
        self._seq = 0

    def __len__(self) -> int:
        return len(self._stories)

    def assign(self, fp: Fingerprint) -> tuple[str, bool]:
        """Put ``fp`` into the best matching story, or open a new one: (key, is_new_story)."""
        if self.learn_doc_freq:
            self.df.add(fp.tokens)
        return self._assign(fp)

    def assign_batch(self, fps: Sequence[Fingerprint]) -> list[tuple[str, bool]]:
        """:meth:`assign` for a batch, in canonical order (see the module doc) so the result
        does not depend on the order of ``fps``; results are in the order of ``fps``."""
        if self.learn_doc_freq:
            for fp in fps:
                self.df.add(fp.tokens)
        results: list[tuple[str, bool]] = [("", False)] * len(fps)
        for position in sorted(range(len(fps)), key=lambda i: canonical_order(fps[i])):
            results[position] = self._assign(fps[position])
        return results

    def _assign(self, fp: Fingerprint) -> tuple[str, bool]:
        self._seq += 1
        if fp.published and (self._newest is None or fp.published > self._newest):
            self._newest = fp.published
            self._retire_old()
        idf = self.df.idfs(fp.tokens)
        item = prepare(fp, weigh_by(fp.tokens, idf))
        best, best_score = None, self.threshold
        for story in self._candidates(fp, idf):
            score = self._story_score(story, item)
            if score >= best_score:
                best, best_score = story, score
        is_new = best is None
        if best is None:
            key = story_key(fp.identity)
            while key in self._stories or key in self._retired:
                key = story_key(key)
            best = _Story(key, [], [], None, None, self._seq)
            self._stories[key] = best
        best.add(item, self._seq)
        postings = self._retired_postings if best.key in self._retired else self._postings
        for token in _index_tokens(fp):
            postings.setdefault(token, set()).add(best.key)
        if best.key in self._stories:  # keep ``_stories`` ordered by last update
            self._stories[best.key] = self._stories.pop(best.key)
        self._retire_surplus()
        return best.key, is_new

    def _probes(self, fp: Fingerprint, idf: Mapping[str, float]) -> list[str]:
        """The item's rarest tokens that some earlier item shares (and not too common);
        ``idf`` holds the rarity of each of its tokens."""
        counts = self.df.counts
        seen = [t for t in fp.tokens if counts.get(t, 0) >= 2]
        probes = sorted(seen, key=lambda t: (-idf[t], t))[:_PROBE_TOKENS]
        return [t for t in probes if not self.df.is_common(t)]

    def _candidates(self, fp: Fingerprint, idf: Mapping[str, float]) -> list[_Story]:
        """Up to ``_MAX_CANDIDATES`` in-window stories sharing the most rarity of the item's
        probe tokens and numbers (ties by key). A token or number held by more than
        ``max_holders`` stories names no particular event and is not used, which bounds the
        work per item whatever the number of open stories."""
        probes = [*self._probes(fp, idf), *(f"#{n}" for n in fp.numbers)]
        sources = [(self._postings, self._stories)]
        if fp.published is None and self.archive:
            sources.append((self._retired_postings, self._retired))
        found: list[_Story] = []
        for postings, stories in sources:
            if self.candidate_index:
                weight = self._weights_from_postings(probes, postings, idf)
            else:
                weight = self._weights_by_scan(probes, stories, idf)
            ranked = sorted(weight, key=lambda k: (-weight[k], k))
            in_window = (stories[k] for k in ranked if self._in_window(stories[k], fp.published))
            found.extend(itertools.islice(in_window, _MAX_CANDIDATES))
        return found

    @staticmethod
    def _probe_weight(probe: str, idf: Mapping[str, float]) -> float:
        return 1.0 if probe.startswith("#") else idf[probe]

    def _weights_from_postings(
        self, probes: list[str], postings: dict[str, set[str]], idf: Mapping[str, float]
    ) -> dict[str, float]:
        weight: dict[str, float] = {}
        for probe in probes:
            holders = postings.get(probe, ())
            if len(holders) > self.max_holders:
                continue
            add = self._probe_weight(probe, idf)
            for key in holders:
                weight[key] = weight.get(key, 0.0) + add
        return weight

    def _weights_by_scan(
        self, probes: list[str], stories: dict[str, _Story], idf: Mapping[str, float]
    ) -> dict[str, float]:
        """What :meth:`_weights_from_postings` computes, by reading every story."""
        holders = {p: [k for k, s in stories.items() if p in s.tokens] for p in probes}
        weight: dict[str, float] = {}
        for key, story in stories.items():
            usable = [
                p for p in probes if p in story.tokens and len(holders[p]) <= self.max_holders
            ]
            if usable:
                weight[key] = sum(self._probe_weight(p, idf) for p in usable)
        return weight

    @staticmethod
    def _in_window(story: _Story, day: str | None) -> bool:
        if not day or not story.first or not story.last:
            return True
        gap = WEIGHTS.max_pub_gap
        return days_apart(day, story.first) <= gap or days_apart(day, story.last) <= gap

    def _story_score(self, story: _Story, item: Prepared) -> float:
        """Mostly the best link to a member; vetoed when any member rules the item out.

        The cheap vetoes are checked for every member before any text is compared, since one
        veto settles the story."""
        weights = self.weights
        dated: list[tuple[Prepared, float]] = []
        for member in story.prepared:
            dates = pair_dates(item, member, weights)
            if dates is None:
                return VETO
            dated.append((member, dates))
        scores = [scored_with_dates(item, member, dates, weights) for member, dates in dated]
        scores.sort(reverse=True)
        if scores[-1] <= VETO:
            return VETO
        return scores[0] if len(scores) == 1 else 0.75 * scores[0] + 0.25 * scores[1]

    def _retire_old(self) -> None:
        if self._newest is None:
            return
        cutoff = (date.fromisoformat(self._newest) - timedelta(days=self.window_days)).isoformat()
        for key in [k for k, s in self._stories.items() if s.last and s.last < cutoff]:
            self._retire(key)

    def _retire_surplus(self) -> None:
        while len(self._stories) > self.max_stories:
            self._retire(next(iter(self._stories)))  # least recently updated

    def _retire(self, key: str) -> None:
        story = self._stories.pop(key)
        for token in story.tokens:
            holders = self._postings.get(token)
            if holders is not None:
                holders.discard(key)
                if not holders:
                    del self._postings[token]
            if self.archive:
                self._retired_postings.setdefault(token, set()).add(key)
        if self.archive:
            self._retired[key] = story

    def story_state(self, key: str) -> dict[str, Any]:
        """JSON-serialisable state of one story (for storing beside the story); ``{}`` when
        the story is not held. :meth:`restore` rebuilds an index from such states."""
        story = self._stories.get(key) or self._retired.get(key)
        if story is None:
            return {}
        members = [fp.to_json() for fp in story.members]
        return {"first": story.first, "last": story.last, "members": members}

    @classmethod
    def restore(cls, states: Iterable[tuple[str, Mapping[str, Any]]], **options: Any) -> StoryIndex:
        """Rebuild an index from ``(key, story_state(key))`` pairs, oldest story first.

        Member fingerprints are read with :meth:`Fingerprint.from_json`, so states stored by
        earlier versions load too. Token rarity is re-learnt from the restored members;
        ``options`` go to the constructor.
        """
        index = cls(**options)
        loaded = [
            (key, [Fingerprint.from_json(m) for m in state.get("members", ())])
            for key, state in states
        ]
        for _, members in loaded:
            for fp in members:
                index.df.add(fp.tokens)
        for key, members in loaded:
            if members:
                index._load_story(key, members)
        return index

    def _load_story(self, key: str, members: list[Fingerprint]) -> None:
        self._seq += 1
        story = _Story(key, [], [], None, None, self._seq)
        for fp in members:
            story.add(prepare(fp, weigh(fp.tokens, self.df)), self._seq)
            if fp.published and (self._newest is None or fp.published > self._newest):
                self._newest = fp.published
        self._stories[key] = story
        for token in story.tokens:
            self._postings.setdefault(token, set()).add(key)

    def partition(self) -> list[list[str]]:
        """Identities of the members each held story keeps (active and retired), for tests."""
        held = [*self._stories.values(), *self._retired.values()]
        return [[fp.identity for fp in story.members] for story in held]


# --------------------------------------------------------------------------- batch


def row_fingerprint(row: Mapping[str, Any]) -> Fingerprint:
    """Fingerprint of a JSON row (``id``, ``title``, ``summary``; optional ``published`` or
    ``date``, ``url``, ``source`` or ``outlet``)."""
    return fingerprint(
        title=str(row.get("title") or ""),
        summary=str(row.get("summary") or ""),
        published=row.get("published") or row.get("date"),
        url=str(row.get("url") or ""),
        source=str(row.get("source") or row.get("outlet") or ""),
        identity=str(row.get("url") or row.get("id") or row.get("title") or ""),
    )


def group_rows(
    rows: Sequence[Mapping[str, Any]],
    threshold: float = DEFAULT_THRESHOLD,
    *,
    candidate_index: bool = True,
) -> list[str]:
    """A story key per row, same order. Token rarity is learnt from the whole batch first and
    rows are assigned in canonical order, so neither partition nor keys depend on the order
    of the input lines."""
    fps = [row_fingerprint(row) for row in rows]
    index = StoryIndex(threshold=threshold, archive=True, candidate_index=candidate_index)
    return [key for key, _ in index.assign_batch(fps)]
