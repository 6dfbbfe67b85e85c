"""General rules added after trying the classifier as a new user would.

Each example is written for the test and stands for a rule (places, third-party meetings,
summary evidence, plural forms, offices named without their holder, readable explanations),
not for any particular published item.
"""

from __future__ import annotations

import pytest

from bot.domain.classify import Classifier
from bot.domain.taxonomy import load_taxonomy
from bot.taxonomy_file import default_taxonomy


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(default_taxonomy())


def _reasons(classifier: Classifier, title: str, summary: str = "") -> str:
    return " | ".join(classifier.classify(title, summary).why["relevance"])


# --------------------------------------------------------------------------- relevance


def test_a_transit_through_a_us_state_is_a_taiwan_matter(classifier: Classifier) -> None:
    result = classifier.classify("Taiwan president transits through Hawaii; Beijing protests", "")
    assert result.relevant, result.why
    assert "taiwan" in result.topics
    assert "Hawaii" in " ".join(result.why["relevance"])


def test_a_us_place_without_dealings_is_not_the_us_side(classifier: Classifier) -> None:
    result = classifier.classify(
        "Lantern festival lights up Seattle",
        "Chinese dancers and visitors filled the waterfront on Saturday.",
    )
    assert not result.relevant


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("Xi meets Putin in Moscow, criticizes US sanctions", ""),
        ("Modi hosts Xi for border talks, warns of US pressure", ""),
    ],
)
def test_a_meeting_with_a_third_country_that_names_the_other_side_once_is_not_relevant(
    classifier: Classifier, title: str, summary: str
) -> None:
    result = classifier.classify(title, summary)
    assert not result.relevant
    assert "only mentioned in passing" in " ".join(result.why["relevance"])


def test_third_party_meetings_stay_relevant_when_a_bilateral_issue_is_at_stake(
    classifier: Classifier,
) -> None:
    result = classifier.classify(
        "Biden meets Marcos, warns China over Second Thomas Shoal", "The two leaders met."
    )
    assert result.relevant
    assert "south_china_sea" in result.topics


def test_a_third_country_meeting_about_the_other_side_at_length_stays_relevant(
    classifier: Classifier,
) -> None:
    result = classifier.classify(
        "Yellen meets Japan's finance minister, then flies to China",
        "In Beijing the Treasury secretary will press Chinese officials on overcapacity.",
    )
    assert result.relevant


# --------------------------------------------------------------------------- topics


def test_the_summary_counts_when_the_headline_is_vague(classifier: Classifier) -> None:
    result = classifier.classify(
        "Officials meet in Washington",
        "US and Chinese defense ministers agreed to reopen military hotlines.",
    )
    assert result.relevant
    assert "military" in result.topics


def test_plural_forms_of_topic_phrases_count(classifier: Classifier) -> None:
    singular = classifier.classify("US and China discuss a trade imbalance", "")
    plural = classifier.classify("US and China discuss trade imbalances", "")
    assert "trade" in singular.topics and "trade" in plural.topics
    assert plural.scores["trade"] == singular.scores["trade"]


def test_offices_named_without_holder_make_a_high_level_meeting(classifier: Classifier) -> None:
    result = classifier.classify(
        "China's foreign minister meets US Secretary of State in Vienna",
        "The two discussed the relationship.",
    )
    assert "diplomacy" in result.topics
    assert any("(high-level)" in word for word in result.why["diplomacy"])


@pytest.mark.parametrize(
    ("title", "summary", "topic"),
    [
        (
            "US and China agree to share bird flu data",
            "The CDC and its Chinese counterpart will cooperate on disease surveillance.",
            "health",
        ),
        (
            "Washington and Beijing extend tariff truce",
            "The deal covers soybean purchases and de minimis shipments.",
            "trade",
        ),
        (
            "US envoy holds talks with Chinese vice foreign minister in Beijing",
            "They discussed the upcoming leaders' summit.",
            "diplomacy",
        ),
    ],
)
def test_general_vocabulary_of_the_weaker_topics(
    classifier: Classifier, title: str, summary: str, topic: str
) -> None:
    result = classifier.classify(title, summary)
    assert result.relevant, result.why
    assert topic in result.topics


# --------------------------------------------------------------------------- explanations


def test_a_company_without_dealings_is_explained_without_contradiction(
    classifier: Classifier,
) -> None:
    result = classifier.classify("Apple sales fall in China", "")
    reasons = result.why["relevance"]
    assert not result.relevant
    assert "US side: none" in reasons
    assert not any(r.startswith("US side: Apple") for r in reasons)
    assert any("Apple" in r and "not counted" in r for r in reasons)


def test_explanations_show_whole_words_as_written(classifier: Classifier) -> None:
    result = classifier.classify(
        "US and China agree to cooperate on methane",
        "Both sides pledged cooperation on emissions.",
    )
    joined = " | ".join(result.why["relevance"])
    assert "cooperate" in joined
    assert "cooperat," not in joined + "," and "cooperat " not in joined
    for words in result.why.values():
        for word in words:
            assert not word.endswith("*")


def test_taiwan_is_listed_as_an_issue_not_as_the_china_side(classifier: Classifier) -> None:
    reasons = _reasons(classifier, "US approves arms sale to Taiwan", "Congress was notified.")
    assert "China-related issue: Taiwan" in reasons
    assert "China side: Taiwan" not in reasons
    both = _reasons(classifier, "Beijing protests US arms sale to Taiwan", "")
    assert "China side: Beijing" in both and "China-related issue: Taiwan" in both


def test_repeated_words_in_other_case_are_listed_once(classifier: Classifier) -> None:
    result = classifier.classify("HONG KONG: US sanctions officials", "Hong Kong officials react.")
    assert [w.lower() for w in result.why["human_rights"]].count("hong kong") == 1


# --------------------------------------------------------------------------- taxonomy keys


def _minimal(extra: dict[str, object]) -> dict[str, object]:
    base = default_taxonomy()
    return {
        "topics": {t.id: {"label": t.label, "phrases": dict(t.phrases)} for t in base.topics},
        "countries": {side: list(words) for side, words in base.countries},
        "interactions": ["protests", "transits"],
        **extra,
    }


def test_places_and_issue_places_come_from_the_taxonomy() -> None:
    item = ("Taiwan leader transits Hawaii; Beijing protests", "")
    bare = Classifier(load_taxonomy(_minimal({})))
    assert not bare.classify(*item).relevant
    placed = Classifier(
        load_taxonomy(_minimal({"places": {"us": ["Hawaii"]}, "issue_places": ["Taiwan"]}))
    )
    assert placed.classify(*item).relevant


def test_bilateral_issues_must_name_known_topics() -> None:
    from bot.domain.taxonomy import TaxonomyError

    with pytest.raises(TaxonomyError) as err:
        load_taxonomy(_minimal({"bilateral_issues": ["taiwan", "weather"]}))
    assert err.value.key == "bilateral_issues[1]"
