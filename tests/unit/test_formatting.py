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
