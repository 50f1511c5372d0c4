from __future__ import annotations

import pytest

from assistant.services.formatting import split_message, to_whatsapp, with_sources


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
