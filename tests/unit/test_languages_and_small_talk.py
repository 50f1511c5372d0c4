"""The assistant's own words in the user's language; small talk answered without the engine."""

from __future__ import annotations

import pytest

from assistant.ports import Answer, Verdict
from assistant.services import replies
from assistant.services.language import detect
from assistant.services.smalltalk import SmallTalk, classify
from tests.conftest import text_envelope
from tests.unit.test_answer_service import question
from tests.worlds import World


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Where is the opening keynote?", "en"),
        ("¿Cuál es la contraseña del wifi?", "es"),
        ("Onde fica a sala de oração?", "pt"),
        ("Où est la salle de la keynote ?", "fr"),
        ("Wo ist der Ruheraum?", "de"),
        ("Wi-Fi şifresi nedir?", "tr"),
        ("أين الكلمة الافتتاحية؟", "ar"),
        ("12:30", None),
    ],
)
def test_the_language_of_a_question_is_recognised(text: str, language: str | None) -> None:
    assert detect(text) == language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hi", (SmallTalk.GREETING, "en")),
        ("Hola!!", (SmallTalk.GREETING, "es")),
        ("muito obrigado 🙏", (SmallTalk.THANKS, "pt")),
        ("Merci beaucoup.", (SmallTalk.THANKS, "fr")),
        ("Hilfe", (SmallTalk.HELP, "de")),
        ("Merhaba", (SmallTalk.GREETING, "tr")),
        ("شكرا", (SmallTalk.THANKS, "ar")),
        ("hi, where is the keynote?", None),
        ("help me find the quiet room", None),
        ("Hola, buenos días", (SmallTalk.GREETING, "es")),
        ("Merhaba, nasılsın?", (SmallTalk.GREETING, "tr")),
        ("Thanks, that was really helpful!", (SmallTalk.THANKS, "en")),
        ("hello! thanks, help", (SmallTalk.HELP, "en")),
        ("ok", None),
        ("thanks, and where is lunch?", None),
    ],
)
def test_only_a_whole_message_of_small_talk_is_small_talk(
    text: str, expected: tuple[SmallTalk, str] | None
) -> None:
    assert classify(text) == expected


def test_every_language_has_every_text_with_the_same_placeholders() -> None:
    import string

    def fields(template: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}

    for language, texts in replies.TEXTS.items():
        assert set(texts) == set(replies.TEXTS["en"]), language
        for key, template in texts.items():
            assert fields(template) == fields(replies.TEXTS["en"][key]), (language, key)


def test_a_greeting_gets_a_welcome_with_examples_and_never_reaches_the_engine() -> None:
    world = World()
    world.admit()
    assert world.answer.handle(question(text="Hola!")) == "answered"
    assert world.messenger.texts[0]["body"] == replies.say("greeting", "es")
    assert world.engine.asked == []
    assert world.metrics.counts["Answered smalltalk"] == 1
    assert world.store.holder("u1") is None


def test_i_dont_know_comes_in_the_language_of_the_question() -> None:
    world = World()
    world.engine.verdict = Verdict.NO_ANSWER
    world.admit()
    world.answer.handle(question(text="¿Dónde está la sala de oración?"))
    body = world.messenger.texts[0]["body"]
    assert body == replies.say("dont_know", "es", help_desk=replies.say("help_desk", "es"))
    assert "el mostrador de ayuda" in body  # the help desk in Spanish too, not "the help desk"


def test_help_desk_may_be_configured_per_language() -> None:
    assert replies.help_desk("en=Desk 3|es=el mostrador 3", "es") == "el mostrador 3"
    assert replies.help_desk("en=Desk 3|es=el mostrador 3", "tr") == "Desk 3"
    assert replies.help_desk("Desk 3", "fr") == "Desk 3"
    assert replies.help_desk("", "de") == replies.say("help_desk", "de")


def test_the_engines_language_wins_over_the_guess() -> None:
    from assistant.services.answering import compose

    body, _ = compose(Answer(Verdict.NO_ANSWER, language="fr"), help_desk="d", language="es")
    assert body == replies.say("dont_know", "fr", help_desk="d")


def test_static_replies_come_in_the_language_of_the_message() -> None:
    world = World(max_text_chars=20)
    world.handle(text_envelope("¿Dónde está la sala de oración para rezar?", wamid="wamid.L"))
    assert world.messenger.texts[0]["body"].startswith("Tu mensaje es algo largo")


def test_a_long_message_is_read_for_the_question_it_asks_but_a_short_one_whole() -> None:
    from assistant.local.bedrock import _focus

    assert _focus("What's next in Room 2.1?") == "What's next in Room 2.1?"
    preamble = "I am travelling from far away and I have many questions about the event. " * 5
    assert _focus(preamble + "But first: where is room 2.1 exactly?") == "where is room 2.1 exactly?"


def test_an_event_answers_only_in_its_languages_and_falls_back_to_its_first() -> None:
    world = World(languages=("fr", "en"), max_text_chars=20)
    spanish = "¿Dónde está la sala de oración para rezar?"
    world.handle(text_envelope(spanish, wamid="wamid.F1"))
    assert world.messenger.texts[0]["body"] == replies.say("too_long", "fr", length=len(spanish), limit=20)
    world.engine.verdict = Verdict.NO_ANSWER
    world.admit()
    world.answer.handle(question(text="¿Dónde está la sala de oración?"))
    assert world.messenger.texts[-1]["body"].startswith("Désolé")


def test_a_help_desk_with_an_equals_sign_is_one_text_and_language_keys_ignore_case() -> None:
    assert replies.help_desk("desk B (code=7)", "es") == "desk B (code=7)"
    assert replies.help_desk("EN=Desk 3|ES=el mostrador 3", "es") == "el mostrador 3"
