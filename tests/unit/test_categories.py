"""The category rules the dashboard depends on: names normalized, near-duplicates merged, the set capped."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.ports import OTHER_CATEGORY
from assistant.services.categories import (
    CATEGORY_KEYWORDS,
    DEFAULT_CATEGORIES,
    MAX_NAME_CHARS,
    describe,
    normalize,
    parse_predefined,
    same_category,
    settle,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  food   and drinks. ", "Food and Drinks"),
        ('"Food & Drinks"', "Food & Drinks"),
        ("**wi-fi & tech**", "Wi-Fi & Tech"),
        ("AI workshops", "AI Workshops"),
        ("LOST PROPERTY", "Lost Property"),
        ("  ¿parking?  ", "Parking"),
        ("   ", ""),
    ],
)
def test_normalize_gives_the_name_the_dashboard_shows(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_a_long_name_is_cut_at_a_word_and_not_left_dangling_on_and() -> None:
    name = normalize("questions about the shuttle buses and the parking garages and more")
    assert len(name) <= MAX_NAME_CHARS
    assert not name.endswith((" and", " the", " &"))
    assert name.startswith("Questions About the Shuttle")


@settings(max_examples=500)
@given(st.text(max_size=120))
def test_normalize_is_bounded_and_idempotent(raw: str) -> None:
    once = normalize(raw)
    assert len(once) <= MAX_NAME_CHARS
    assert normalize(once) == once


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Food and Drink", "Food & Drinks"),
        ("Wifi", "Wi-Fi & Tech"),
        ("wi-fi", "WiFi"),
        ("Networking", "Networking & Social"),
        ("Register", "Registration & Badges"),
        ("Café", "cafe"),
        ("Parking", "Travel & Parking"),
    ],
)
def test_near_duplicates_are_the_same_category(a: str, b: str) -> None:
    assert same_category(a, b)
    assert same_category(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Session Recordings", "Session Slides"),
        ("Transport", "Translation"),
        ("Speakers", "Sponsors"),
        ("Food & Drink", "Other"),
        ("", ""),
    ],
)
def test_different_topics_are_not_merged(a: str, b: str) -> None:
    assert not same_category(a, b)


def test_no_two_default_categories_are_near_duplicates_of_each_other() -> None:
    for a, b in itertools.combinations(DEFAULT_CATEGORIES, 2):
        assert not same_category(a, b), (a, b)


def test_default_categories_are_already_normalized_and_described_in_several_languages() -> None:
    assert 8 <= len(DEFAULT_CATEGORIES) <= 12
    for name in DEFAULT_CATEGORIES:
        assert normalize(name) == name
        assert describe(name).startswith(name) and CATEGORY_KEYWORDS[name] in describe(name)
    assert describe("Sponsors") == "Sponsors"


def test_a_default_category_spelled_otherwise_keeps_its_keywords() -> None:
    assert describe("Food and Drinks") == f"Food and Drinks: {CATEGORY_KEYWORDS['Food & Drink']}"


def test_a_proposal_duplicating_a_known_category_counts_under_the_known_spelling() -> None:
    known = ["Speakers", "Food & Drink", "Sponsors"]
    assert settle("food and drinks.", known, cap=3) == "Food & Drink"  # merged even at the cap
    assert settle("SPONSOR", known, cap=3) == "Sponsors"


def test_predefined_categories_win_over_later_ones_that_also_match() -> None:
    known = ["Wi-Fi & Tech", "Speakers", "Wifi Password"]
    assert settle("Wifi", known, cap=10) == "Wi-Fi & Tech"


def test_a_category_with_the_very_same_words_wins_over_a_broader_earlier_one() -> None:
    known = ["Travel & Parking", "Parking"]
    assert settle("parking", known, cap=10) == "Parking"


def test_a_new_category_is_made_only_below_the_cap() -> None:
    known = ["Speakers", "Food & Drink", OTHER_CATEGORY]
    assert settle("merchandise", known, cap=3) == "Merchandise"  # "Other" does not count
    assert settle("merchandise", [*known, "Weather"], cap=3) == OTHER_CATEGORY


def test_an_empty_or_other_like_proposal_is_other() -> None:
    for proposal in ("", "  ", "other", "Misc.", "General", '"None"'):
        assert settle(proposal, ["Speakers"], cap=10) == OTHER_CATEGORY


def test_predefined_categories_come_from_a_comma_separated_setting() -> None:
    parsed = parse_predefined(" tickets, Food and drink,,food & drinks ; Other,\nSponsors & Exhibitors ")
    assert parsed == ["Tickets", "Food and Drink", "Sponsors & Exhibitors"]


def test_no_predefined_categories_means_the_defaults() -> None:
    assert parse_predefined("") == list(DEFAULT_CATEGORIES)
    assert parse_predefined(" , ,") == list(DEFAULT_CATEGORIES)
    parse_predefined("").append("Changed")
    assert "Changed" not in DEFAULT_CATEGORIES


def test_settling_against_parsed_predefined_categories_keeps_them_first() -> None:
    known = [*parse_predefined("Tickets, Food & Drink"), "Food Trucks"]
    assert settle("Ticket", known, cap=5) == "Tickets"
    assert settle("Food", known, cap=5) == "Food & Drink"
    assert settle("Food Trucks", known, cap=5) == "Food Trucks"
