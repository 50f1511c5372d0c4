"""Everyday words for what venue guides name otherwise: a question that asks for a need is also searched
and scored with the documents' words for it."""

from __future__ import annotations

import pytest

from assistant.local.engine.needs import named


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("My phone is about to die, any ideas?", "charging"),
        ("is there somewhere I can pray?", "prayer"),
        ("Can I get my money back?", "refund"),
        ("How do I get online?", "wi-fi"),
        ("I lost my scarf", "lost property"),
        ("Can my 10-year-old come along?", "children"),
        ("¿Dónde puedo cargar el móvil?", "charging"),
        ("أين يمكنني الصلاة؟", "prayer"),
        ("Wo ist das Fundbüro?", "lost property"),
    ],
)
def test_an_everyday_need_brings_the_documents_words_for_it(question: str, words: str) -> None:
    assert words in named(question)


@pytest.mark.parametrize(
    "question", ["Where is the opening keynote?", "Who is Ingrid Solberg?", "When is lunch on day 1?"]
)
def test_a_question_that_names_things_as_documents_do_brings_nothing_else(question: str) -> None:
    assert "charging" not in named(question) and "prayer" not in named(question)
    assert "lunch food" in named("When is lunch on day 1?")


def test_short_words_match_whole_words_only() -> None:
    assert named("I need a cab") == "taxi rank"
    assert "taxi" not in named("Is the cabaret on tonight?")


def test_the_words_that_asked_for_a_need_are_told_apart() -> None:
    from assistant.local.engine.needs import everyday

    assert everyday("How do I get online?") == "online"
    assert everyday("my phone is dying") == "phone is dying"
    assert everyday("Where is the keynote?") == ""
