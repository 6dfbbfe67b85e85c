"""Engagements and their dates, resolved against the publication time."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from classify_seed import seed_parts

from bot.domain.engagements import extract_engagements, resolve_dates
from bot.domain.models import Engagement
from bot.taxonomy_file import default_taxonomy

PUBLISHED = datetime(2024, 8, 29, 14, 0, tzinfo=UTC)  # a Thursday


def engagements(title: str, text: str, published: datetime = PUBLISHED) -> tuple[Engagement, ...]:
    return extract_engagements(title, text, published, default_taxonomy())


def test_seed_article_yields_call_visit_and_cop29() -> None:
    found = {e.label: e for e in engagements(*seed_parts())}
    call = found["Biden–Xi call"]
    assert call.kind == "call" and call.status == "expected"
    assert call.us_parties == ("Biden",) and call.cn_parties == ("Xi",)
    assert call.dates[0].certainty == "expected"
    assert call.dates[0].start == date(2024, 9, 5) and call.dates[0].end == date(2024, 10, 10)

    visit = found["Podesta visit to Beijing"]
    assert visit.kind == "visit" and visit.status == "expected"
    assert visit.us_parties == ("Podesta",)
    assert visit.dates[0].text == "soon" and visit.dates[0].start > PUBLISHED.date()

    cop = found["COP29"]
    assert cop.kind == "conference"
    assert (cop.dates[0].start, cop.dates[0].end) == (date(2024, 11, 11), date(2024, 11, 22))
    assert set(found) <= {
        "Biden–Xi call",
        "Podesta visit to Beijing",
        "COP29",
        "US presidential election 2024",
    }


@pytest.mark.parametrize(
    ("sentence", "start", "end", "certainty"),
    [
        ("They spoke on Tuesday.", date(2024, 8, 27), date(2024, 8, 27), "exact"),
        ("They will meet on Tuesday.", date(2024, 9, 3), date(2024, 9, 3), "exact"),
        ("Talks run November 11 in Baku.", date(2024, 11, 11), date(2024, 11, 11), "exact"),
        ("COP runs Nov. 11-22 in Baku.", date(2024, 11, 11), date(2024, 11, 22), "exact"),
        ("She will travel next week.", date(2024, 9, 2), date(2024, 9, 8), "approximate"),
        ("A call in the coming weeks.", date(2024, 9, 5), date(2024, 10, 10), "expected"),
        ("He will visit soon.", date(2024, 8, 30), date(2024, 9, 28), "expected"),
        ("A deal by the end of the year.", date(2024, 8, 30), date(2024, 12, 31), "expected"),
        ("The summit is in November.", date(2024, 11, 1), date(2024, 11, 30), "approximate"),
        ("Talks resume in March.", date(2025, 3, 1), date(2025, 3, 31), "approximate"),
        ("A visit later this month.", date(2024, 8, 30), date(2024, 8, 31), "expected"),
    ],
)
def test_date_phrases(sentence: str, start: date, end: date, certainty: str) -> None:
    found = resolve_dates(sentence, PUBLISHED)
    assert found, sentence
    when = found[0].when
    assert (when.start, when.end, when.certainty) == (start, end, certainty)


def test_reported_call_with_weekday() -> None:
    result = engagements(
        "Trump and Xi held phone conversation",
        "President Donald Trump and Chinese President Xi Jinping held a telephone "
        "conversation on Thursday, Chinese state media said.",
        datetime(2025, 6, 5, 16, tzinfo=UTC),
    )
    assert len(result) == 1
    call = result[0]
    assert call.kind == "call" and call.status == "reported" and call.label == "Trump–Xi call"
    assert call.dates[0].start == date(2025, 6, 5)


def test_postponed_and_cancelled_status() -> None:
    postponed = engagements(
        "Yellen delays trip",
        "Janet Yellen has postponed her visit to Beijing planned for next week.",
    )
    assert postponed and postponed[0].status == "postponed"
    cancelled = engagements("Talks off", "Beijing cancelled talks with Blinken set for Friday.")
    assert cancelled and cancelled[0].status == "cancelled"


def test_undated_mentions_are_not_engagements() -> None:
    assert engagements("Sullivan and Wang Yi met", "The two met in Beijing for talks.") == ()


def test_weekday_after_a_past_verb_is_not_next_week() -> None:
    from datetime import UTC, datetime

    from bot.domain.engagements import resolve_dates

    tuesday = datetime(2024, 8, 27, 15, tzinfo=UTC)
    found = resolve_dates("They agreed on Tuesday during a call and to hold talks soon.", tuesday)
    days = [f.when.start for f in found if "Tuesday" in f.when.text]
    assert days == [tuesday.date()]
    ahead = resolve_dates("Xi is expected to speak with Biden on Tuesday.", tuesday)
    assert [f.when.start.isoformat() for f in ahead if "Tuesday" in f.when.text] == ["2024-09-03"]
