"""The compiled engagement extractor gives exactly the results recorded before it existed.

``CASES`` pairs varied items (title, text, publication time) with the engagements the
per-item, pattern-per-actor extractor returned for them: kind, label, status, US parties,
Chinese parties and dates (text, start, end, certainty). The compiled extractor, its
pre-filters and its per-taxonomy cache must reproduce them exactly.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest
import text_corpus

from bot.domain.engagements import (
    DATE_PATTERNS,
    KIND_PATTERNS,
    EngagementExtractor,
    _matches,
    extract_engagements,
    extractor_for,
)
from bot.domain.models import Engagement
from bot.domain.taxonomy import Taxonomy
from bot.taxonomy_file import default_taxonomy

Row = tuple[str, str, str, tuple[str, ...], tuple[str, ...], tuple[tuple[str, str, str, str], ...]]

CASES: list[tuple[tuple[str, str, str], list[Row]]] = [
    (
        (
            "Biden and Xi to speak by phone",
            "Biden and Xi are expected to speak by phone in the coming weeks, officials said.",
            "2024-08-29T14:00",
        ),
        [
            (
                "call",
                "Biden–Xi call",
                "expected",
                ("Biden",),
                ("Xi",),
                (("in the coming weeks", "2024-09-05", "2024-10-10", "expected"),),
            )
        ],
    ),
    (
        (
            "Podesta to visit Beijing",
            "John Podesta will visit Beijing soon for climate talks ahead of COP29.",
            "2024-08-29T14:00",
        ),
        [
            (
                "conference",
                "COP29",
                "expected",
                (),
                (),
                (("COP29", "2024-11-11", "2024-11-22", "exact"),),
            ),
            (
                "visit",
                "Podesta visit to Beijing",
                "expected",
                ("Podesta",),
                (),
                (("soon", "2024-08-30", "2024-09-28", "expected"),),
            ),
        ],
    ),
    (
        (
            "Blinken's trip",
            "Blinken's adviser said Secretary of State Antony Blinken will travel to Beijing next "
            "week.",
            "2024-08-29T14:00",
        ),
        [
            (
                "visit",
                "Blinken visit to Beijing",
                "expected",
                ("Blinken",),
                (),
                (("next week", "2024-09-02", "2024-09-08", "approximate"),),
            )
        ],
    ),
    (
        (
            "Talks",
            "Trade talks between Yellen and He Lifeng are scheduled for November 11 in Washington.",
            "2024-08-29T14:00",
        ),
        [
            (
                "talks",
                "Yellen–He Lifeng talks",
                "expected",
                ("Yellen",),
                ("He Lifeng",),
                (("November 11", "2024-11-11", "2024-11-11", "exact"),),
            )
        ],
    ),
    (
        (
            "Summit",
            "Biden and Xi met at the APEC summit in Woodside on Wednesday.",
            "2024-08-29T14:00",
        ),
        [
            (
                "summit",
                "APEC 2024",
                "expected",
                (),
                (),
                (("on Wednesday", "2024-11-15", "2024-11-16", "exact"),),
            )
        ],
    ),
    (
        (
            "Cancelled",
            "The planned visit to Taipei on Friday was cancelled after Beijing protested.",
            "2024-08-29T14:00",
        ),
        [
            (
                "visit",
                "Official visit to Taipei",
                "cancelled",
                (),
                (),
                (("on Friday", "2024-08-30", "2024-08-30", "exact"),),
            )
        ],
    ),
    (
        (
            "Postponed",
            "A meeting between Austin and Dong Jun was postponed until October.",
            "2024-08-29T14:00",
        ),
        [
            (
                "meeting",
                "Dong Jun meeting",
                "postponed",
                (),
                ("Dong Jun",),
                (("until October", "2024-10-01", "2024-10-31", "approximate"),),
            )
        ],
    ),
    (
        (
            "Agreed on Tuesday",
            "Sullivan and Wang Yi agreed on Tuesday to plan a leaders' call in the coming weeks.",
            "2024-08-29T14:00",
        ),
        [
            (
                "call",
                "Sullivan–Wang Yi call",
                "expected",
                ("Sullivan",),
                ("Wang Yi",),
                (("in the coming weeks", "2024-09-05", "2024-10-10", "expected"),),
            )
        ],
    ),
    (
        (
            "No cue",
            "Markets rose on Monday as investors weighed inflation data.",
            "2024-08-29T14:00",
        ),
        [],
    ),
    (
        (
            "No date",
            "Officials said talks between Washington and Beijing would continue.",
            "2024-08-29T14:00",
        ),
        [],
    ),
    (
        (
            "Election",
            "Both candidates courted voters before the presidential election.",
            "2024-08-29T14:00",
        ),
        [
            (
                "election",
                "US presidential election 2024",
                "expected",
                (),
                (),
                (("US presidential election 2024", "2024-11-05", "2024-11-05", "exact"),),
            )
        ],
    ),
    (
        (
            "Election later",
            "Analysts expect tariffs to dominate the presidential election campaign.",
            "2027-06-01T00:00",
        ),
        [],
    ),
    (
        (
            "COP",
            "Kerry and Xie Zhenhua met in Baku during COP 29 on 12 November.",
            "2024-11-20T08:00",
        ),
        [
            (
                "conference",
                "COP29",
                "reported",
                (),
                (),
                (("12 November", "2024-11-11", "2024-11-22", "exact"),),
            )
        ],
    ),
    (
        (
            "G20",
            "Leaders gather for the G-20 in Rio de Janeiro, where a Biden–Xi meeting is possible.",
            "2024-08-29T14:00",
        ),
        [
            (
                "summit",
                "G20 2024",
                "expected",
                (),
                (),
                (("G20 2024", "2024-11-18", "2024-11-19", "exact"),),
            )
        ],
    ),
    (
        (
            "Ranges",
            "Negotiators will hold talks Nov. 11-22 and again 3 to 5 December 2024.",
            "2024-08-29T14:00",
        ),
        [
            (
                "talks",
                "talks",
                "expected",
                (),
                (),
                (("Nov. 11-22", "2024-11-11", "2024-11-22", "exact"),),
            )
        ],
    ),
    (
        (
            "Sanctions",
            "Treasury imposed sanctions on Chinese firms on Thursday; the entity list grows next "
            "month.",
            "2024-08-29T14:00",
        ),
        [
            (
                "sanctions",
                "sanctions",
                "expected",
                (),
                (),
                (("next month", "2024-09-01", "2024-09-30", "approximate"),),
            )
        ],
    ),
    (
        (
            "Incident",
            "A Chinese coast guard ship used a water cannon near Second Thomas Shoal yesterday.",
            "2024-08-29T14:00",
        ),
        [
            (
                "incident",
                "incident",
                "reported",
                (),
                (),
                (("yesterday", "2024-08-28", "2024-08-28", "exact"),),
            )
        ],
    ),
    (
        (
            "Intercept",
            "A US aircraft was intercepted by a Chinese fighter over the South China Sea today.",
            "2024-08-29T14:00",
        ),
        [
            (
                "incident",
                "incident",
                "reported",
                (),
                (),
                (("today", "2024-08-29", "2024-08-29", "exact"),),
            )
        ],
    ),
    (
        (
            "Forum",
            "Raimondo will speak at a business forum in Shanghai later this month.",
            "2024-08-29T14:00",
        ),
        [
            (
                "conference",
                "Raimondo conference",
                "expected",
                ("Raimondo",),
                (),
                (("later this month", "2024-08-30", "2024-08-31", "expected"),),
            )
        ],
    ),
    (
        (
            "Year end",
            "Both sides hope for a trade deal by the end of the year, with talks planned in "
            "mid-September.",
            "2024-08-29T14:00",
        ),
        [
            (
                "talks",
                "talks",
                "expected",
                (),
                (),
                (("by the end of the year", "2024-08-30", "2024-12-31", "expected"),),
            )
        ],
    ),
    (
        (
            "Early month",
            "Lutnick plans to travel to Beijing in early December 2024.",
            "2024-08-29T14:00",
        ),
        [
            (
                "visit",
                "Lutnick visit to Beijing",
                "expected",
                ("Lutnick",),
                (),
                (("early December 2024", "2024-12-01", "2024-12-10", "approximate"),),
            )
        ],
    ),
    (
        (
            "Tomorrow",
            "Bessent meets He Lifeng tomorrow in Geneva. They spoke yesterday by telephone.",
            "2024-08-29T14:00",
        ),
        [
            (
                "meeting",
                "Bessent–He Lifeng meeting",
                "expected",
                ("Bessent",),
                ("He Lifeng",),
                (("tomorrow", "2024-08-30", "2024-08-30", "exact"),),
            ),
            (
                "call",
                "call",
                "reported",
                (),
                (),
                (("yesterday", "2024-08-28", "2024-08-28", "exact"),),
            ),
        ],
    ),
    (
        ("Dismay", "Dismay 5 visitors came to the conference.", "2024-08-29T14:00"),
        [
            (
                "conference",
                "conference",
                "reported",
                (),
                (),
                (("may 5", "2024-05-05", "2024-05-05", "exact"),),
            )
        ],
    ),
    (
        ("Possessive only", "Xi's envoy will visit Washington on Saturday.", "2024-08-29T14:00"),
        [
            (
                "visit",
                "Xi visit to Washington",
                "expected",
                (),
                ("Xi",),
                (("on Saturday", "2024-08-31", "2024-08-31", "exact"),),
            )
        ],
    ),
    (
        (
            "Two sides",
            "Wang Yi arrived in Washington on Thursday for talks with Rubio and Hegseth.",
            "2024-08-29T14:00",
        ),
        [
            (
                "talks",
                "Rubio–Wang Yi talks",
                "reported",
                ("Rubio", "Hegseth"),
                ("Wang Yi",),
                (("on Thursday", "2024-08-29", "2024-08-29", "exact"),),
            )
        ],
    ),
    (
        (
            "Multi sentence",
            "Harris spoke with Li Qiang. Next, she will visit Hanoi next Friday! A summit is set "
            "for "
            "2025.",
            "2024-08-29T14:00",
        ),
        [
            (
                "visit",
                "Official visit to Hanoi",
                "expected",
                (),
                (),
                (("next Friday", "2024-08-30", "2024-08-30", "exact"),),
            )
        ],
    ),
    (
        (
            "Newlines",
            "Dialogue resumes\nnext week in Beijing\nofficials say the forum is on Sunday",
            "2024-08-29T14:00",
        ),
        [
            (
                "conference",
                "conference",
                "reported",
                (),
                (),
                (("on Sunday", "2024-08-25", "2024-08-25", "exact"),),
            )
        ],
    ),
    (
        (
            "Weekday past",
            "Trump and Xi held a video call on Monday, the White House said.",
            "2025-06-09T10:00",
        ),
        [
            (
                "call",
                "Trump–Xi call",
                "reported",
                ("Trump",),
                ("Xi",),
                (("on Monday", "2025-06-09", "2025-06-09", "exact"),),
            )
        ],
    ),
    (
        (
            "Long range",
            "Pompeo met Yang Jiechi in Hawaii on June 17, 2020 for talks.",
            "2020-06-20T10:00",
        ),
        [
            (
                "talks",
                "Pompeo–Yang Jiechi talks",
                "reported",
                ("Pompeo",),
                ("Yang Jiechi",),
                (("June 17, 2020", "2020-06-17", "2020-06-17", "exact"),),
            )
        ],
    ),
    (
        (
            "Sept",
            "The dialogue is planned for Sept 12th to Sept 14th in Beijing.",
            "2024-08-29T14:00",
        ),
        [
            (
                "talks",
                "talks",
                "expected",
                (),
                (),
                (("Sept 12th", "2024-09-12", "2024-09-12", "exact"),),
            )
        ],
    ),
    (
        (
            "Soon",
            "A potential meeting between Vance and Han Zheng could come shortly, or in the near "
            "future.",
            "2024-08-29T14:00",
        ),
        [
            (
                "meeting",
                "Han Zheng meeting",
                "expected",
                (),
                ("Han Zheng",),
                (("shortly", "2024-08-30", "2024-09-28", "expected"),),
            )
        ],
    ),
    (
        ("Year", "Greer expects negotiations to continue next year.", "2024-08-29T14:00"),
        [
            (
                "talks",
                "Greer talks",
                "expected",
                ("Greer",),
                (),
                (("next year", "2025-01-01", "2025-12-31", "approximate"),),
            )
        ],
    ),
    (("Empty", "", "2024-08-29T14:00"), []),
    (
        ("", "Call on Tuesday.", "2024-08-29T14:00"),
        [
            (
                "call",
                "call",
                "reported",
                (),
                (),
                (("on Tuesday", "2024-08-27", "2024-08-27", "exact"),),
            )
        ],
    ),
    (
        (
            "Unicode",
            "Ambassador Tai will visit Beijing ſoon; the Kelvin K talks are next week.",
            "2024-08-29T14:00",
        ),
        [
            (
                "visit",
                "Tai visit to Beijing",
                "expected",
                ("Tai",),
                (),
                (("ſoon", "2024-08-30", "2024-09-28", "expected"),),
            ),
            (
                "talks",
                "Tai talks",
                "expected",
                ("Tai",),
                (),
                (("next week", "2024-09-02", "2024-09-08", "approximate"),),
            ),
        ],
    ),
    (
        ("Lower case names", "biden and xi will meet next week.", "2024-08-29T14:00"),
        [
            (
                "meeting",
                "meeting",
                "expected",
                (),
                (),
                (("next week", "2024-09-02", "2024-09-08", "approximate"),),
            )
        ],
    ),
    (
        (
            "Quoted",
            "“We will meet on Tuesday,” Blinken said. ‘Talks are set to resume in March.’",
            "2024-08-29T14:00",
        ),
        [
            (
                "meeting",
                "Blinken meeting",
                "expected",
                ("Blinken",),
                (),
                (("on Tuesday", "2024-09-03", "2024-09-03", "exact"),),
            ),
            (
                "talks",
                "talks",
                "expected",
                (),
                (),
                (("in March", "2025-03-01", "2025-03-31", "approximate"),),
            ),
        ],
    ),
    (
        (
            "Travel",
            "Campbell travelled to Manila on Friday and arrives in Tokyo next week.",
            "2024-08-29T14:00",
        ),
        [
            (
                "visit",
                "Official visit to Manila",
                "reported",
                (),
                (),
                (("on Friday", "2024-08-23", "2024-08-23", "exact"),),
            ),
            (
                "visit",
                "Official visit to Tokyo",
                "expected",
                (),
                (),
                (("next week", "2024-09-02", "2024-09-08", "approximate"),),
            ),
        ],
    ),
    (
        (
            "US envoy visits Beijing for talks on fentanyl precursors (#3-4)",
            "Report 3-4: officials said the talks covered a range of issues that met this week "
            "while "
            "analysts noted the meeting followed months of tension.",
            "2024-09-01T16:03",
        ),
        [
            (
                "meeting",
                "meeting",
                "reported",
                (),
                (),
                (("this week", "2024-08-26", "2024-09-01", "approximate"),),
            )
        ],
    ),
    (
        (
            "Biden and Xi agree in call to resume military-to-military communication (#0-0)",
            "Report 0-0: the working groups that met this week and next steps for the governments.",
            "2024-09-01T12:00",
        ),
        [
            (
                "meeting",
                "meeting",
                "reported",
                (),
                (),
                (("this week", "2024-08-26", "2024-09-01", "approximate"),),
            )
        ],
    ),
]


def _rows(found: tuple[Engagement, ...]) -> list[Row]:
    return [
        (
            e.kind,
            e.label,
            e.status,
            e.us_parties,
            e.cn_parties,
            tuple((d.text, d.start.isoformat(), d.end.isoformat(), d.certainty) for d in e.dates),
        )
        for e in found
    ]


def _published(when: str) -> datetime:
    return datetime.fromisoformat(when).replace(tzinfo=UTC)


@pytest.mark.parametrize(("item", "expected"), CASES, ids=[c[0][0] or "untitled" for c in CASES])
def test_module_function_matches_recorded_results(
    item: tuple[str, str, str], expected: list[Row]
) -> None:
    title, text, when = item
    found = extract_engagements(title, text, _published(when), default_taxonomy())
    assert _rows(found) == expected


def test_a_fresh_extractor_matches_recorded_results() -> None:
    extractor = EngagementExtractor(default_taxonomy())
    for (title, text, when), expected in CASES:
        assert _rows(extractor.extract(title, text, _published(when))) == expected, title


def test_most_recorded_cases_find_something() -> None:
    assert sum(bool(expected) for _, expected in CASES) >= len(CASES) - 5


def test_extractor_is_built_once_per_taxonomy() -> None:
    taxonomy = default_taxonomy()
    assert extractor_for(taxonomy) is extractor_for(taxonomy)
    other = Taxonomy(topics=taxonomy.topics, actors=taxonomy.actors[:1], events=())
    assert extractor_for(other) is not extractor_for(taxonomy)
    assert extractor_for(other).taxonomy is other


def test_an_empty_taxonomy_still_resolves_dated_cues() -> None:
    found = extract_engagements(
        "", "They will meet on Tuesday.", _published("2024-08-29T14:00"), Taxonomy(topics=())
    )
    assert [(e.kind, e.label, e.dates[0].start) for e in found] == [
        ("meeting", "meeting", date(2024, 9, 3))
    ]


_GLUE = (" ", "  ", "\t", "-", " - ", " to ", "to", ", ", ".", "'s ", "\n", "_", "")
_PIECES = (
    "on", "this", "next", "in", "over", "within", "the", "coming", "few", "days", "weeks",
    "month", "year", "later", "by", "end", "of", "before", "early", "mid", "late", "until",
    "tomorrow", "today", "yesterday", "soon", "shortly", "near", "future", "summit", "phone",
    "telephone", "video", "call", "calls", "spoke", "speaks", "speaking", "with", "visit",
    "visited", "trip", "travelled", "arrives", "talks", "dialogue", "negotiations", "meet",
    "met", "meetings", "sanctioned", "entity", "list", "intercepted", "collided",
    "collision", "water", "cannon", "conference", "forum", "Monday", "friday", "SUNDAY",
    "January", "Feb", "Sept.", "may", "Dec", "mar", "5", "12", "31", "2024", "123", "5th",
    "x", "Summitry", "intotheweek", "Xi", "Biden",
)  # fmt: skip


def _scrambles(count: int) -> list[str]:
    rnd = random.Random(99)
    out = []
    for _ in range(count):
        parts = [rnd.choice(_PIECES) for _ in range(rnd.randint(1, 14))]
        text = "".join(p + rnd.choice(_GLUE) for p in parts)
        out.append(text.strip() if rnd.random() < 0.5 else text)
    return out


def test_anchored_scans_find_what_finditer_finds() -> None:
    """Each date and cue pattern, tried only where a match can start, gives exactly the
    matches of an unanchored scan (scrambled ASCII text full of near-misses and the items
    of the generated corpus)."""
    texts = _scrambles(4000) + [
        f"{row['title']}. {row['summary']}" for row in text_corpus.items(600)
    ]
    for text in texts:
        for name, pattern in DATE_PATTERNS + KIND_PATTERNS:
            fast = [m.span() for m in _matches(name, pattern, text)]
            assert fast == [m.span() for m in pattern.finditer(text)], (name, text)
