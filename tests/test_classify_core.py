"""Relevance and topics: the seed article, negatives, near-misses and explanations."""

from __future__ import annotations

import pytest
from classify_seed import SEED_TEXT, seed_parts

from bot.domain.classify import Classifier
from bot.taxonomy_file import default_taxonomy

SEED_TOPICS = {
    "diplomacy",
    "climate",
    "military",
    "ai",
    "taiwan",
    "fentanyl",
    "south_china_sea",
    "sanctions",
}


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(default_taxonomy())


def test_seed_article_is_relevant_with_its_topics(classifier: Classifier) -> None:
    result = classifier.classify(*seed_parts())
    assert result.relevant
    assert set(result.topics) >= SEED_TOPICS
    for topic in result.topics:
        assert 0.0 < result.scores[topic] <= 1.0
        assert result.why[topic]


def test_embedded_seed_copy_matches_too(classifier: Classifier) -> None:
    title, _, summary = SEED_TEXT.partition("\n")
    assert set(classifier.classify(title, summary).topics) >= SEED_TOPICS


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("Chinatown gets a new restaurant", "New eateries open in the Chinatown area."),
        ("China Grove council plans retreat", "CHINA GROVE — The Town Council met on Tuesday."),
        ("Naval Air Weapons Station China Lake", "The U.S. Navy's largest landholding."),
        ("Unwinding at China Beach", "A restful end to our Vietnam trip near Da Nang."),
        ("Chinese New Year parade fills San Francisco streets", "Lion dancers and firecrackers."),
        ("China Mobile profit rises 5%", "The telecom operator reported higher earnings."),
        ("Fine china sales climb in Ohio", "American collectors snap up porcelain."),
    ],
)
def test_near_misses_are_not_relevant(classifier: Classifier, title: str, summary: str) -> None:
    result = classifier.classify(title, summary)
    assert not result.relevant
    assert result.topics == ()


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        (
            "China's GDP up 6.9% in first three quarters",
            "Output reached 59 trillion yuan (about 8.9 trillion US dollars), data showed.",
        ),
        (
            "China launches crew to Tiangong",
            "The mission advances a space programme that seeks to rival the US.",
        ),
        ("Congress passes stopgap bill", "The Senate approved the funding bill 87-11."),
        ("Modi, Xi agree to ease border tensions", "India and China will pull back troops."),
        ("Taiwan quake leaves 4 dead", "Rescuers search collapsed buildings in Hualien."),
        (
            "China hits Philippine vessels with water cannon",
            "Manila rejected Beijing's claims near Scarborough Shoal.",
        ),
    ],
)
def test_one_sided_and_third_country_news_is_not_relevant(
    classifier: Classifier, title: str, summary: str
) -> None:
    assert not classifier.classify(title, summary).relevant


@pytest.mark.parametrize(
    ("title", "summary", "topic"),
    [
        ("US destroyer sails through Taiwan Strait", "China protested the transit.", "taiwan"),
        (
            "Treasury sanctions Chinese firms over Russian drones",
            "OFAC named two companies in China.",
            "sanctions",
        ),
        (
            "China places fentanyl-related substances under control",
            "All fentanyl-like drugs become one controlled class from May 1.",
            "fentanyl",
        ),
        (
            "US and China to hold talks on AI risks in Geneva",
            "Officials from Washington and Beijing will discuss AI safety.",
            "ai",
        ),
        ("Rubio meets Wang Yi in Kuala Lumpur", "Their first face-to-face meeting.", "diplomacy"),
        (
            "China bans chipmaker Micron from key projects",
            "The cyberspace regulator cited a security review.",
            "tech",
        ),
    ],
)
def test_dealings_are_relevant_with_topic(
    classifier: Classifier, title: str, summary: str, topic: str
) -> None:
    result = classifier.classify(title, summary)
    assert result.relevant, result.why
    assert topic in result.topics


def test_ai_chips_are_not_the_ai_topic(classifier: Classifier) -> None:
    result = classifier.classify(
        "US tightens export controls on AI chips to China",
        "The Commerce Department's new rules cover Nvidia AI chips.",
    )
    assert result.relevant
    assert {"sanctions", "tech"} <= set(result.topics)
    assert "ai" not in result.topics


def test_explanations_name_both_sides(classifier: Classifier) -> None:
    result = classifier.classify("Biden and Xi hold call on Taiwan", "The White House said.")
    reasons = " | ".join(result.why["relevance"])
    assert "US side: Joe Biden" in reasons
    assert "China side: Xi Jinping" in reasons
    assert "Taiwan" in result.why["taiwan"]
    negative = classifier.classify("China's youth jobless rate hits record", "Data showed.")
    assert any("no US side" in r for r in negative.why["relevance"])
    assert negative.scores == {}


def test_relevant_items_always_get_a_topic(classifier: Classifier) -> None:
    result = classifier.classify("US and China officials speak", "Washington and Beijing agreed.")
    assert result.relevant
    assert len(result.topics) >= 1


def test_classify_many_keeps_order_and_tolerates_missing_fields(classifier: Classifier) -> None:
    rows = [
        {"title": "Trump and Xi speak by phone", "summary": "The call lasted 90 minutes."},
        {"title": "Chinatown street fair"},
        {},
    ]
    results = classifier.classify_many(rows)
    assert [r.relevant for r in results] == [True, False, False]


def test_results_are_built_with_every_field() -> None:
    """The classifier builds results without ``Classification.__init__``: it must set every
    field, and the result must equal the ordinary one."""
    from dataclasses import fields

    from bot.domain.classify import _CLASSIFICATION_FIELDS, _classification
    from bot.domain.models import Classification

    assert tuple(f.name for f in fields(Classification)) == _CLASSIFICATION_FIELDS
    made = _classification(True, ("diplomacy",), {"diplomacy": 0.5}, {"relevance": []})
    plain = Classification(True, ("diplomacy",), {"diplomacy": 0.5}, {"relevance": []})
    assert made == plain
    assert vars(made) == vars(plain)
    assert list(vars(made)) == list(vars(plain))
