"""General rules of the classifier, each shown on short hand-written examples.

The examples are invented for these tests: they exercise a rule (an actor list, a cue, an
exclusion, the multilateral-guest rule), not any particular published headline.
"""

from __future__ import annotations

import pytest

from bot.domain.classify import Classifier
from bot.domain.taxonomy import load_taxonomy
from bot.taxonomy_file import default_taxonomy


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(default_taxonomy())


def _topics(classifier: Classifier, title: str, summary: str = "") -> set[str]:
    result = classifier.classify(title, summary)
    assert result.relevant, result.why
    return set(result.topics)


# --------------------------------------------------------------------------- multilateral guests


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        (
            "Summit of the G20 closes with statement on debt relief",
            "Leaders including the US president and China's premier attended the two-day summit.",
        ),
        (
            "APEC ministers gather in Bangkok",
            "Delegates from 21 economies, among them the United States and China, pledged support "
            "for supply-chain resilience.",
        ),
    ],
)
def test_both_sides_listed_as_guests_of_a_multilateral_event_is_not_relevant(
    classifier: Classifier, title: str, summary: str
) -> None:
    result = classifier.classify(title, summary)
    assert not result.relevant
    assert any("multilateral" in reason for reason in result.why["relevance"])


def test_bilateral_meeting_on_the_sidelines_of_a_multilateral_event_is_relevant(
    classifier: Classifier,
) -> None:
    topics = _topics(
        classifier,
        "Rubio and Wang Yi meet on sidelines of G20 foreign ministers' gathering",
        "The two held talks on trade and fentanyl, the State Department said.",
    )
    assert "diplomacy" in topics


def test_multilateral_rule_is_driven_by_the_taxonomy() -> None:
    """Without the multilateral lists the same guest-list item counts as relevant."""
    base = default_taxonomy()
    bare = Classifier(
        load_taxonomy(
            {
                "topics": {
                    t.id: {"label": t.label, "phrases": dict(t.phrases)} for t in base.topics
                },
                "countries": {side: list(words) for side, words in base.countries},
                "interactions": ["summit"],
            }
        )
    )
    item = ("G20 summit opens", "Leaders including the United States and China attended.")
    assert bare.classify(*item).relevant
    assert not Classifier(base).classify(*item).relevant


# --------------------------------------------------------------------------- actors and cues


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        # agencies standing for the US side without the country being named
        ("Beijing says NSA hacked a university's email servers", ""),
        ("FCC moves to strip licences of two Beijing-backed carriers", ""),
        # state-media and ministry names standing for the China side
        ("CCTV: Washington's new chip curbs 'doomed to fail'", ""),
        ("Pentagon chief speaks with Central Military Commission vice chairman", ""),
        # measure verbs linking the sides
        ("State Department designates Beijing-run outlets as foreign missions", ""),
        ("Washington orders Chinese consulate shut within 72 hours", ""),
    ],
)
def test_agencies_media_and_measures_make_items_relevant(
    classifier: Classifier, title: str, summary: str
) -> None:
    assert classifier.classify(title, summary).relevant


def test_us_companies_named_in_a_chinese_measure_stand_for_the_us_side(
    classifier: Classifier,
) -> None:
    topics = _topics(
        classifier,
        "MOFCOM adds Skydio and General Atomics units to unreliable entity list",
    )
    assert "sanctions" in topics


# --------------------------------------------------------------------------- topic exclusions


def test_attribution_to_reporters_is_not_the_people_topic(classifier: Classifier) -> None:
    topics = _topics(
        classifier,
        "US and Chinese defense chiefs agree to restore theater-level calls",
        "The Pentagon told reporters the two militaries would resume talks next month.",
    )
    assert "military" in topics
    assert "people" not in topics


def test_hong_kong_as_a_place_of_business_is_not_human_rights(classifier: Classifier) -> None:
    topics = _topics(
        classifier,
        "Treasury sanctions firms in China and Hong Kong over Iranian drone parts",
    )
    assert "sanctions" in topics
    assert "human_rights" not in topics


def test_human_control_of_nuclear_launch_is_ai_not_security(classifier: Classifier) -> None:
    topics = _topics(
        classifier,
        "Washington and Beijing affirm human control over the decision to use nuclear weapons",
        "Officials said artificial intelligence must never make that call.",
    )
    assert "ai" in topics
    assert "security" not in topics


def test_assistant_secretary_is_not_a_high_level_meeting(classifier: Classifier) -> None:
    topics = _topics(
        classifier,
        "US, China hold arms control consultations",
        "An assistant secretary of state met the Chinese foreign ministry's arms control chief.",
    )
    assert topics == {"security"}


def test_chinese_names_of_disputed_features_are_south_china_sea(classifier: Classifier) -> None:
    topics = _topics(
        classifier,
        "PLA says it warned away US destroyer near Xisha islands",
    )
    assert {"military", "south_china_sea"} <= topics


def test_pla_manoeuvres_around_taiwan_alone_are_not_military(classifier: Classifier) -> None:
    topics = _topics(
        classifier,
        "China holds manoeuvres near Taiwan after US senators visit Taipei",
    )
    assert "taiwan" in topics
    assert "military" not in topics


# --------------------------------------------------------------------------- near-misses


@pytest.mark.parametrize(
    "title",
    [
        "Chinese American museum opens new wing with Washington donors",
        "US Open: Chinese teen reaches quarter-finals",
        "'The China Syndrome' screening draws crowds in Washington",
    ],
)
def test_new_near_misses_are_not_relevant(classifier: Classifier, title: str) -> None:
    assert not classifier.classify(title, "").relevant
