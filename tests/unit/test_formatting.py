from __future__ import annotations

import time

import pytest

from assistant.services.formatting import keep_published, split_message, to_whatsapp, with_sources


def test_short_text_is_one_part() -> None:
    assert split_message("  Hello.  ") == ["Hello."]


def test_empty_text_has_no_parts() -> None:
    assert split_message("   ") == []


def test_split_prefers_paragraph_boundaries() -> None:
    text = "A" * 60 + "\n\n" + "B" * 60
    assert split_message(text, limit=100) == ["A" * 60, "B" * 60]


def test_split_falls_back_to_sentences_then_words() -> None:
    text = "One sentence here. Another one there. " * 10
    parts = split_message(text, limit=50)
    assert all(len(p) <= 50 for p in parts)
    assert all(p.endswith(".") for p in parts)
    assert " ".join(parts).split() == text.split()


def test_a_word_longer_than_the_limit_is_cut() -> None:
    parts = split_message("x" * 250, limit=100)
    assert parts == ["x" * 100, "x" * 100, "x" * 50]


@pytest.mark.parametrize("size", [4096, 4097, 10_000, 50_000])
def test_no_part_exceeds_the_whatsapp_limit_and_nothing_is_lost(size: int) -> None:
    words = ("word " * (size // 5 + 1))[:size]
    parts = split_message(words)
    assert all(0 < len(p) <= 4096 for p in parts)
    assert " ".join(parts).split() == words.split()


@pytest.mark.parametrize(
    ("markdown", "whatsapp"),
    [
        ("**Auditorium A** at 09:00", "*Auditorium A* at 09:00"),
        ("__bold__ and *italic*", "*bold* and _italic_"),
        ("~~cancelled~~", "~cancelled~"),
        ("## Opening keynote\nDay 1", "*Opening keynote*\nDay 1"),
        ("* first\n* second", "- first\n- second"),
        ("See [the agenda](https://example.com/agenda)", "See the agenda (https://example.com/agenda)"),
        ("Use `make run` to start", "Use `make run` to start"),
        ("a\n\n\n\nb", "a\n\nb"),
        ("5 * 3 * 2 = 30", "5 * 3 * 2 = 30"),
        ("---\ntext", "text"),
    ],
)
def test_markdown_becomes_whatsapp_formatting(markdown: str, whatsapp: str) -> None:
    assert to_whatsapp(markdown) == whatsapp


def test_sources_are_listed_with_links_only_for_web_addresses() -> None:
    text = with_sources("Answer.", [("Agenda", "s3://b/agenda.md"), ("Venue", "https://example.com/venue")])
    assert text == "Answer.\n\n_Sources:_\n- Agenda\n- Venue (https://example.com/venue)"


def test_no_sources_leaves_the_text_alone() -> None:
    assert with_sources("Answer.", []) == "Answer."


# ---------------------------------------------------------------- any text: NULs, headings (regressions)


@pytest.mark.parametrize(
    "markdown",
    [
        "a\x007\x00b",
        "\x000\x00",
        "`code` and \x000\x00",
        "`a\x00b` \x001\x00 `c`",
        "\x00\x00",
        "**\x000\x00**",
    ],
    ids=["index 7", "index 0", "after a code span", "inside a code span", "two NULs", "in bold"],
)
def test_nul_digits_nul_in_the_text_is_kept_not_taken_for_a_code_span_placeholder(markdown: str) -> None:
    text = to_whatsapp(markdown)

    assert text.count("\x00") == markdown.count("\x00")
    assert text.replace("*", "") == markdown.replace("*", "")


def test_nuls_at_the_start_of_a_word_or_paragraph_are_kept_when_splitting() -> None:
    text = "\x00a \x00b\n\n\x00c " + "\x00d " * 30

    parts = split_message(text, limit=10)

    assert all(0 < len(p) <= 10 for p in parts)
    assert "".join(parts).count("\x00") == text.count("\x00")
    assert " ".join(parts).split() == text.split()


def test_a_heading_keeps_the_blank_line_after_it() -> None:
    assert to_whatsapp("# Venue\n\nHall B is upstairs.") == "*Venue*\n\nHall B is upstairs."


def test_a_line_of_only_hashes_is_not_a_heading_of_the_next_line() -> None:
    assert to_whatsapp("#\nfoo") == "#\nfoo"


@pytest.mark.parametrize(("markdown", "whatsapp"), [("## Title ##", "*Title*"), ("# Learn C#", "*Learn C#*")])
def test_closing_hashes_are_dropped_but_a_hash_ending_a_word_is_kept(markdown: str, whatsapp: str) -> None:
    assert to_whatsapp(markdown) == whatsapp


# ---------------------------------------------------------------- keep_published: only what the documents say

PUBLISHED = (
    "Code of conduct: call the hotline on +351 910 000 417 or write to conduct@cloudforgesummit.example. "
    "The full agenda is at https://cloudforgesummit.example/agenda, the venue at www.taguscongress.example."
)


@pytest.mark.parametrize(
    "text",
    [
        "Call the hotline on +351 910 000 417.",
        "Call +351910000417 or 910-000-417.",  # the same digits, spaced otherwise or without the country code
        "Write to conduct@cloudforgesummit.example.",
        "See https://cloudforgesummit.example/agenda, or **https://cloudforgesummit.example/agenda**.",
        "See cloudforgesummit.example/agenda or http://cloudforgesummit.example (the site).",
        "The venue: https://www.taguscongress.example/ or taguscongress.example.",
        "See [the agenda](https://cloudforgesummit.example/agenda).",
        "Day 1 starts 2026-03-11 09:00 in Room 2.1; doors at 08:30, 1,200 seats, 12345678.",
        "No link or number here.",
    ],
)
def test_what_the_documents_publish_and_what_is_no_contact_are_kept(text: str) -> None:
    assert keep_published(text, PUBLISHED) == (text, 0)


@pytest.mark.parametrize(
    ("text", "kept", "dropped"),
    [
        (
            "Half-price tickets: https://win-prizes.example/claim or call +44 20 7946 0958.",
            "Half-price tickets: or call.",
            2,
        ),
        ("Details at win-prizes.example/claim, today.", "Details at, today.", 1),
        ("Write to claims@win-prizes.example.", "Write to.", 1),
        ("Call tel:+44 20 7946 0958 now", "Call tel: now", 1),
        ("Call 910 000 418.", "Call.", 1),  # one digit off the hotline
        ("See [the prizes](https://win-prizes.example/claim) now.", "See the prizes now.", 1),
        ("See [https://win-prizes.example](https://win-prizes.example) now.", "See  now.", 1),
    ],
)
def test_links_and_numbers_the_documents_do_not_publish_are_dropped(
    text: str, kept: str, dropped: int
) -> None:
    assert keep_published(text, PUBLISHED) == (kept, dropped)


@pytest.mark.parametrize(
    "lookalike",
    [
        "https://cloudforgesummit.example.win-prizes.example/agenda",  # the published name inside another
        "https://evil-cloudforgesummit.example/agenda",
        "https://cloudforgesummit.example/agenda-and-prizes",  # a longer path than the published one
        "https://cloudforgesummit.example/agenda?pay=now",
        "https://cloudforgesummit.exam",
        "prizes@cloudforgesummit.example",
    ],
)
def test_a_link_that_only_resembles_a_published_one_is_dropped(lookalike: str) -> None:
    assert keep_published(f"Go to {lookalike} now", PUBLISHED) == ("Go to now", 1)


def test_nothing_is_published_by_an_empty_text() -> None:
    text = "Call +351 910 000 417 or see https://cloudforgesummit.example/agenda."
    assert keep_published(text, "") == ("Call or see.", 2)


def test_a_kept_markdown_link_still_becomes_whatsapp_formatting() -> None:
    text, dropped = keep_published(
        "See [the agenda](https://cloudforgesummit.example/agenda) and [prizes](https://win-prizes.example).",
        PUBLISHED,
    )
    assert dropped == 1
    assert to_whatsapp(text) == "See the agenda (https://cloudforgesummit.example/agenda) and prizes."


@pytest.mark.parametrize(
    "text", [" " * 5000, "\t " * 2500, "[a](" * 1000, "a-" * 2500, "1 " * 2500, "x." * 2500, "a@" * 2500]
)
def test_a_long_hostile_answer_is_read_in_linear_time(text: str) -> None:
    start = time.perf_counter()
    keep_published(text, PUBLISHED)
    assert time.perf_counter() - start < 1.0
