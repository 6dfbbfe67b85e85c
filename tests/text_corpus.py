"""A generated, deterministic corpus of news-like text for equivalence tests of the text stages.

Items are spliced from fragments chosen to reach every branch of the per-item text code:
date phrases of every form (month-day, day-month, ranges, ISO, weekdays, relative), event
cues, tense markers, role words before names, places after "in"/"visit", measures and their
targets, numbers with units, the spellings folded into one token (U.S., United States,
People's Republic of China), curly quotes, title-case headlines, roundups, non-ASCII letters
(including ones whose lower case changes length or matches ASCII under IGNORECASE) and
newlines. :func:`raw_entries` wraps items as feed entries with markup, entities, control
characters, tracking parameters, relative links and odd publication times for normalisation.
No evaluation data is involved.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from bot.domain.models import ParsedEntry

ACTORS = (
    "President Joe Biden",
    "Biden",
    "Chinese President Xi Jinping",
    "Xi",
    "Secretary of State Antony Blinken",
    "Blinken's adviser",
    "Foreign Minister Wang Yi",
    "Treasury Secretary Janet Yellen",
    "Vice Premier He Lifeng",
    "Defense Secretary Lloyd Austin",
    "Admiral Dong Jun",
    "National Security Adviser Jake Sullivan",
    "John Podesta",
    "President Donald Trump",
    "Commerce Secretary Howard Lutnick",
    "Premier Li Qiang",
    "Secretary of State Marco Rubio",
    "the White House",
    "the Pentagon",
    "the Commerce Department",
    "China's Commerce Ministry",
    "the People's Liberation Army",
    "Senator Marco Rubio",
    "Speaker Mike Johnson",
    "Ambassador Nicholas Burns",
    "Spokesperson Mao Ning",
    "CEO Jensen Huang",
    "Beijing",
    "Washington",
    "the United States",
    "the U.S.",
    "U.S.A.",
    "US",
    "China",
    "the People's Republic of China",
    "the PRC",
    "Americans",
    "Chinese officials",
    "Taiwan",
    "Japan",
    "Russia's Vladimir Putin",
    "the House of Representatives",
    "Huawei",
    "Nvidia",
    "TikTok",
)
ACTIONS = (
    "held talks with",
    "spoke by phone with",
    "will speak with",
    "is expected to meet",
    "met",
    "meets",
    "warned",
    "imposed sanctions on",
    "added firms to the entity list, targeting",
    "raised tariffs on goods from",
    "urged",
    "agreed to restart dialogue with",
    "protested arms sales by",
    "announced export controls aimed at",
    "plans to visit",
    "visited",
    "travelled to",
    "arrived in",
    "is set to travel to",
    "called off a trip to",
    "postponed talks with",
    "cancelled the meeting with",
    "hit back at",
    "retaliated against",
    "answered the levies with countermeasures against",
    "intercepted a vessel near",
    "collided with",
    "fired a water cannon at",
    "testified before the Senate Foreign Relations Committee about",
    "gave a speech at",
    "banned",
    "signed an executive order on",
    "upheld a ruling against",
    "held drills near",
    "sat down face-to-face with",
    "had a video call with",
    "joined negotiations with",
    "attended the summit with",
    "will host",
)
ISSUES = (
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
    "the APEC summit",
    "the G20 summit in Rio",
    "the presidential election",
    "a 90-day truce",
    "125% tariffs on Chinese goods",
    "$10 billion in chip subsidies",
    "a 25 percent levy",
    "duties on US soybeans",
    "curbs against Chinese chipmakers",
    "a probe into American firms",
    "sanctions against Beijing",
    "restrictions on selected mainland companies",
    "a magnitude 7.1 earthquake",
    "a typhoon",
    "flooding in the south",
    "the spy balloon",
    "a working group on trade",
    "a new framework",
    "the Strait",
    '"Volt Typhoon" hackers',
    "the world's largest economies",
)
WHEN = (
    "on Tuesday",
    "next Friday",
    "this Sunday",
    "Monday",
    "yesterday",
    "today",
    "tomorrow",
    "on March 20-22",
    "on 20 to 22 March",
    "May 5th",
    "on Nov. 11, 2024",
    "Sept. 3",
    "5-7 June 2025",
    "December 31",
    "February 30",
    "on 2024-11-05",
    "in the coming weeks",
    "over the next few days",
    "within the coming months",
    "next week",
    "next month",
    "next year",
    "this week",
    "later this month",
    "later this year",
    "by the end of the year",
    "by year-end",
    "early November",
    "mid-July 2025",
    "late Dec",
    "in November",
    "by January 2026",
    "until October",
    "soon",
    "shortly",
    "in the near future",
    "ahead of the meeting",
    "effective Saturday",
    "starting Monday",
    "in 2025",
    "since 1979",
    "on Jan 1",
    "Aug 15-16",
    "April 1 and 2",
    "at 10 a.m.",
)
CLAUSES = (
    "officials said",
    "according to state media",
    "the ministry said in a statement",
    "Reuters reported",
    "two people familiar with the matter told reporters",
    "analysts said",
    "it was reported",
    "in Geneva",
    "at the Pentagon",
    "in South Korea's Busan",
    "in the capital",
    "at least 12 people were hurt",
    "amid rising tensions",
    "in response",
    "as part of the week in review",
    "what to know",
    "the daily briefing",
    "for the first time since 2019",
    "with 3.5% growth",
    "up 12 per cent",
    "a 24-hour window",
    "worth 50 billion yuan",
    "in Baku",
    "in Lima",
    "after a summit in Woodside",
    "in late-night talks",
    "the two sides agreed to keep lines of communication open",
    "the call lasted two hours",
    "Chinatown restaurants were closed",
    "US dollars fell",
    "the Chinese Taipei team won",
    "Xi's visit to Moscow",
    "Biden's speech",
    "the report said",
)
ODD = (
    "“We will not back down,” he said.",
    "‘It’s a red line,’ a spokesman said.",
    "Café owners in Zürich reacted.",
    "Straße closures in München",
    "İstanbul talks",
    "The ſanctions were lifted",
    "Kelvin-sign \u212aey test",
    "中美会谈 in 北京",
    "Ελλάδα and Türkiye",
    "—dash— and – en dash –",
    "U.S.-China",
    "US–China relations",
    "Biden and Xi",
    "Xi-Biden",
    "U.S./China",
    "O'Brien and D'Amato",
    "rock 'n' roll",
    "#1 priority",
    "$5bn",
    "100 mph winds",
    "1,200-page report",
    "3.14",
    "2024",
    "COP 29",
    "G-20",
    "APEC",
    "The End.",
    "Mr. Smith went to Washington.",
)
ROUNDUPS = ("Week in review:", "Morning briefing:", "Roundup:", "In brief:", "Live:")


def _fragment(rnd: random.Random) -> str:
    pool = rnd.choice((ACTORS, ACTIONS, ISSUES, WHEN, CLAUSES, ODD))
    return rnd.choice(pool)


def _sentence(rnd: random.Random) -> str:
    shape = rnd.random()
    if shape < 0.55:
        parts = [rnd.choice(ACTORS), rnd.choice(ACTIONS), rnd.choice(ACTORS)]
        if rnd.random() < 0.6:
            parts.insert(rnd.randint(2, 3), rnd.choice(WHEN))
        if rnd.random() < 0.5:
            parts.append(f"over {rnd.choice(ISSUES)}")
        if rnd.random() < 0.4:
            parts.append(rnd.choice(CLAUSES))
    else:
        parts = [_fragment(rnd) for _ in range(rnd.randint(1, 5))]
    text = " ".join(parts)
    if rnd.random() < 0.05:
        text = text.upper()
    elif rnd.random() < 0.05:
        text = text.lower()
    return text[:1].upper() + text[1:]


def _title(rnd: random.Random) -> str:
    title = _sentence(rnd)
    if rnd.random() < 0.25:
        title = " ".join(w[:1].upper() + w[1:] for w in title.split())
    if rnd.random() < 0.08:
        title = f"{rnd.choice(ROUNDUPS)} {title}"
    if rnd.random() < 0.05:
        title = f"{title} ({rnd.randint(1, 999)})"
    return title


def _summary(rnd: random.Random) -> str:
    out: list[str] = []
    for _ in range(rnd.randint(0, 6)):
        out.append(_sentence(rnd))
        out.append(rnd.choice((". ", ". ", ". ", "! ", "? ", ".\n", "; ", ", ", " ")))
    return "".join(out).strip()


def _published(rnd: random.Random) -> datetime | date | str | None:
    base = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=rnd.randint(0, 900 * 24 * 60))
    kind = rnd.random()
    if kind < 0.55:
        return base
    if kind < 0.65:
        return base.date()
    if kind < 0.75:
        return base.isoformat()
    if kind < 0.8:
        return base.strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind < 0.85:
        return "not a date"
    if kind < 0.9:
        return ""
    return None


def _url(rnd: random.Random, n: int) -> str:
    kind = rnd.random()
    if kind < 0.3:
        year, month, day = rnd.randint(2019, 2026), rnd.randint(1, 12), rnd.randint(1, 31)
        return f"https://news{n % 9}.example.com/{year}/{month:02d}/{day:02d}/story-{n}"
    if kind < 0.45:
        return (
            f"https://example.org/{rnd.randint(2019, 2026)}-{rnd.randint(1, 12):02d}/item{n}.html"
        )
    if kind < 0.55:
        return f"https://example.net/news/{rnd.randint(20190101, 20261231)}/{n}"
    if kind < 0.9:
        return f"https://example.com/a/{n}?id={n}"
    return ""


def items(count: int = 3000, seed: int = 20241204) -> list[dict[str, object]]:
    """``count`` rows: ``title``, ``summary``, ``published`` (a datetime, date, string or
    None), ``url`` and ``source``."""
    rnd = random.Random(seed)
    rows: list[dict[str, object]] = []
    for n in range(count):
        rows.append(
            {
                "title": _title(rnd) if rnd.random() > 0.02 else "",
                "summary": _summary(rnd),
                "published": _published(rnd),
                "url": _url(rnd, n),
                "source": f"outlet {n % 13}",
                "identity": f"{n % 13}:{n}" if n % 3 else "",
            }
        )
    return rows


_MARKUP = (
    "<p>{}</p>",
    "<div><b>{}</b><br/>more</div>",
    "{} &amp; more &#8217;quoted&#8217; &lt;b&gt;escaped&lt;/b&gt;",
    "<![CDATA[{}]]>",
    "<!-- comment -->{}<script>var x = '<p>';</script>",
    "<style>p {{ color: red }}</style>{}",
    "  {}\t\n  with   spaces  ",
    "{}\u200b\u2028\x07 control",
    "{} &nbsp;&mdash;&hellip;",
    "&lt;p&gt;{}&lt;/p&gt;",
    "<a href='x'>{}</a> <img src=y>",
    "{} <3 and a < b > c",
    "{}",
    "{}",
)
_LINKS = (
    "https://Example.COM:443/news/{n}?utm_source=x&b=2&a=1#frag",
    "http://example.com:80/{n}?fbclid=abc&gclid=1",
    "/relative/{n}",
    "story-{n}.html",
    "HTTPS://EXAMPLE.org./p/{n}?Mc_Cid=1&z=&y=3",
    "ftp://example.com/{n}",
    "https://[::1]:8443/{n}",
    "https://user@example.com:8080/{n}?x=1&&y=2",
    "",
    "   https://example.com/{n}   ",
)


def raw_entries(count: int = 1500, seed: int = 4242) -> list[ParsedEntry]:
    """Feed entries around :func:`items` text, with markup and odd links and dates."""
    rnd = random.Random(seed)
    rows = items(count, seed)
    out: list[ParsedEntry] = []
    for n, row in enumerate(rows):
        title = rnd.choice(_MARKUP).format(row["title"])
        summary = rnd.choice(_MARKUP).format(row["summary"])
        if rnd.random() < 0.05:
            summary = " ".join([summary] * rnd.randint(20, 400))
        link = rnd.choice(_LINKS).format(n=n)
        guid_kind = rnd.random()
        guid = (
            None if guid_kind < 0.3 else f"urn:item:{n % 700}" if guid_kind < 0.7 else link or "  "
        )
        published = row["published"]
        when = (
            published
            if isinstance(published, datetime)
            else datetime(2030, 1, 1, tzinfo=UTC)
            if rnd.random() < 0.05
            else datetime(1990, 1, 1)
            if rnd.random() < 0.05
            else None
        )
        out.append(
            ParsedEntry(
                guid=guid,
                link=link or None,
                title=title if rnd.random() > 0.03 else "",
                summary=summary,
                published=when,
                language=rnd.choice((None, "en", "zh")),
            )
        )
    return out
