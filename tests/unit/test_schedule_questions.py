"""Schedule questions read by rules: which agenda tool call a question asks for, and the reply from its
result.

The catalog is the CloudForge Summit's; every case is plain data, no schedule or tool is involved.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pytest

from assistant.services import replies
from assistant.services.schedule_questions import (
    FIND_SESSIONS,
    RECOMMEND_SESSIONS,
    Catalog,
    ToolCall,
    interpret,
    render,
)

CATALOG = Catalog(
    rooms=(
        "Auditorium A",
        "Auditorium B",
        "Room 1.4",
        "Room 2.1",
        "Room 2.2",
        "Room 2.3",
        "Workshop Lab",
        "Expo Stage",
        "Main Foyer (Level 0)",
        "Dining Hall (Level 1)",
    ),
    speakers=(
        "Dr. Helena Marques",
        "Ingrid Solberg",
        "Tomás Silveira",
        "Priya Raghunathan",
        "Jonas Weber",
        "Mei Lin Zhou",
    ),
    days=(date(2026, 3, 11), date(2026, 3, 12)),
    topics=("Keynotes", "Serverless", "AI/ML", "Data", "Security", "Developer Experience"),
)
WEDNESDAY, THURSDAY = "2026-03-11", "2026-03-12"


def find(**values: object) -> ToolCall:
    return ToolCall(FIND_SESSIONS, dict(values))


def recommend(*interests: str, when: str = "upcoming") -> ToolCall:
    return ToolCall(RECOMMEND_SESSIONS, {"interests": list(interests), "when": when, "limit": 3})


# --- Part 1: which call ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "call"),
    [
        ("What's on now?", find(when="now")),
        ("what's happening right now", find(when="now")),
        ("What's next?", find(when="next")),
        ("What else is on later today?", find(when="later_today")),
        ("What's on tomorrow morning?", find(when="tomorrow_morning")),
        ("Any talks this afternoon?", find(when="this_afternoon")),
        ("What's on tonight?", find(when="this_evening")),
        ("and tomorrow?", find(when="tomorrow")),
        ("¿Qué hay ahora?", find(when="now")),
        ("¿Qué hay mañana por la mañana?", find(when="tomorrow_morning")),
        ("¿Qué sesiones hay esta tarde?", find(when="this_afternoon")),
        ("O que está a acontecer agora?", find(when="now")),
        ("O que vem a seguir?", find(when="next")),
        ("O que há amanhã de manhã?", find(when="tomorrow_morning")),
        ("Qu'est-ce qui se passe maintenant ?", find(when="now")),
        ("Quelles sessions demain après-midi ?", find(when="tomorrow_afternoon")),
        ("Was läuft gerade?", find(when="now")),
        ("Was gibt es morgen früh?", find(when="tomorrow_morning")),
        ("Şu anda ne var?", find(when="now")),
        ("Sırada ne var?", find(when="next")),
        ("Yarın sabah ne var?", find(when="tomorrow_morning")),
        ("ماذا يحدث الآن؟", find(when="now")),
        ("ما التالي؟", find(when="next")),
        ("ماذا هناك غدا صباحا؟", find(when="tomorrow_morning")),
    ],
)
def test_a_time_word_with_whats_on_asks_for_the_sessions_of_that_window(
    question: str, call: ToolCall
) -> None:
    assert interpret(question, CATALOG) == call


@pytest.mark.parametrize(
    ("question", "call"),
    [
        ("What's on on Thursday?", find(when="any", day=THURSDAY)),
        ("What's on Thursday morning?", find(when="this_morning", day=THURSDAY)),
        ("Which sessions are on day 1?", find(when="any", day=WEDNESDAY)),
        ("What's on 12 March?", find(when="any", day=THURSDAY)),
        ("¿Qué charlas hay el jueves?", find(when="any", day=THURSDAY)),
        ("O que há no segundo dia?", find(when="any", day=THURSDAY)),
        ("Quel est le programme de mercredi ?", find(when="any", day=WEDNESDAY)),
        ("Was läuft am 12. März?", find(when="any", day=THURSDAY)),
        ("Perşembe günü hangi oturumlar var?", find(when="any", day=THURSDAY)),
        ("ما هي الجلسات يوم الخميس؟", find(when="any", day=THURSDAY)),
    ],
)
def test_a_named_day_of_the_event_becomes_its_date(question: str, call: ToolCall) -> None:
    assert interpret(question, CATALOG) == call


@pytest.mark.parametrize(
    ("question", "call"),
    [
        ("What's next in Room 2.1?", find(when="next", room="Room 2.1")),
        ("what is in the workshop lab", find(when="upcoming", room="Workshop Lab")),
        ("What's happening in the Workshop Lab right now?", find(when="now", room="Workshop Lab")),
        ("What's on in auditorium b tomorrow?", find(when="tomorrow", room="Auditorium B")),
        ("¿Qué sigue en la sala 2.1?", find(when="next", room="Room 2.1")),
        ("Qual é a próxima sessão na sala 2.2?", find(when="next", room="Room 2.2")),
        ("Quelle est la prochaine session dans la salle 2.1 ?", find(when="next", room="Room 2.1")),
        ("Was kommt als Nächstes in Raum 2.1?", find(when="next", room="Room 2.1")),
        ("2.1 salonunda sırada ne var?", find(when="next", room="Room 2.1")),
        ("ما التالي في القاعة 2.1؟", find(when="next", room="Room 2.1")),
    ],
)
def test_a_catalog_room_is_named_as_the_catalog_spells_it(question: str, call: ToolCall) -> None:
    assert interpret(question, CATALOG) == call


@pytest.mark.parametrize(
    ("question", "call"),
    [
        ("Sessions by Ingrid Solberg", find(when="any", speaker="Ingrid Solberg")),
        ("When is Solberg speaking?", find(when="any", speaker="Ingrid Solberg")),
        ("Is Jonas presenting today?", find(when="today", speaker="Jonas Weber")),
        ("Which sessions does Mei Lin Zhou give?", find(when="any", speaker="Mei Lin Zhou")),
        ("When is Ingrid Solberg's next session?", find(when="next", speaker="Ingrid Solberg")),
        ("¿Cuándo habla Tomas Silveira?", find(when="any", speaker="Tomás Silveira")),
        ("Quando é a palestra da Helena Marques?", find(when="any", speaker="Dr. Helena Marques")),
        ("Quand parle Priya ?", find(when="any", speaker="Priya Raghunathan")),
        ("Wann spricht Jonas Weber morgen?", find(when="tomorrow", speaker="Jonas Weber")),
        ("Ingrid Solberg ne zaman konuşuyor?", find(when="any", speaker="Ingrid Solberg")),
        ("متى يتحدث Jonas Weber؟", find(when="any", speaker="Jonas Weber")),
    ],
)
def test_a_catalog_speaker_is_found_by_full_name_first_name_or_surname_without_accents(
    question: str, call: ToolCall
) -> None:
    assert interpret(question, CATALOG) == call


@pytest.mark.parametrize(
    ("question", "call"),
    [
        ("When is the talk about Kafka?", find(when="any", topic="Kafka")),
        ("When is zero trust on?", find(when="any", topic="zero trust")),
        ("When is the Kafka talk?", find(when="any", topic="Kafka")),
        ("Any talks about security tomorrow?", find(when="tomorrow", topic="security")),
        ("Is there anything on observability later today?", find(when="later_today", topic="observability")),
        ("Which serverless sessions are on day 1?", find(when="any", day=WEDNESDAY, topic="serverless")),
        ("¿Cuándo es la charla sobre Kafka?", find(when="any", topic="Kafka")),
        ("¿Hay charlas sobre seguridad mañana?", find(when="tomorrow", topic="security")),
        ("Quando é a palestra sobre inteligência artificial?", find(when="any", topic="AI")),
        ("Quand est la conférence sur la sécurité ?", find(when="any", topic="security")),
        ("Wann ist der Vortrag über Kafka?", find(when="any", topic="Kafka")),
        ("Gibt es morgen Vorträge über KI?", find(when="tomorrow", topic="AI")),
        ("Güvenlik hakkında oturumlar ne zaman?", find(when="any", topic="security")),
        ("Kafka ile ilgili oturum ne zaman?", find(when="any", topic="Kafka")),
        ("متى الجلسة عن الذكاء الاصطناعي؟", find(when="any", topic="AI")),
    ],
)
def test_when_is_the_talk_about_a_subject_asks_for_that_topic_in_english(
    question: str, call: ToolCall
) -> None:
    assert interpret(question, CATALOG) == call


@pytest.mark.parametrize(
    ("question", "call"),
    [
        ("I like security and data, what should I see?", recommend("security", "data")),
        ("I'm into serverless and AI. What should I go to next?", recommend("serverless", "AI", when="next")),
        ("recommend me sessions about Kafka", recommend("Kafka")),
        ("Me gusta la seguridad y los datos, ¿qué me recomiendas?", recommend("security", "data")),
        (
            "Me interesan la seguridad y el cloud. ¿Qué me recomiendas ver esta mañana?",
            recommend("security", "cloud", when="this_morning"),
        ),
        ("Gosto de segurança e dados, o que me recomendas?", recommend("security", "data")),
        ("Que me conseillez-vous, j'aime la sécurité", recommend("security")),
        ("Ich interessiere mich für Sicherheit und Daten, was empfiehlst du?", recommend("security", "data")),
        ("Güvenlik ve veriyi seviyorum, ne önerirsin?", recommend("security", "data")),
        ("أحب الأمن والبيانات، ماذا تنصحني؟", recommend("security", "data")),
    ],
)
def test_a_recommendation_request_carries_its_interests_in_english(question: str, call: ToolCall) -> None:
    assert interpret(question, CATALOG) == call


def test_neighbouring_subject_words_make_one_interest() -> None:
    assert interpret("I love data engineering and zero trust, any suggestions?", CATALOG) == recommend(
        "data engineering", "zero trust"
    )


def test_a_recommendation_without_any_interest_lists_what_comes_next() -> None:
    assert interpret("What should I see next?", CATALOG) == find(when="next")
    assert interpret("¿Qué me recomiendas para mañana?", CATALOG) == find(when="tomorrow")


@pytest.mark.parametrize(
    ("question", "call"),
    [
        ("What's on?", find(when="now")),
        ("¿Qué hay?", find(when="now")),
        ("What's the schedule?", find(when="upcoming")),
        ("What's in Room 2.3?", find(when="upcoming", room="Room 2.3")),
        (
            "Which sessions are in Auditorium B on day 1?",
            find(when="any", day=WEDNESDAY, room="Auditorium B"),
        ),
        ("Talks by Ingrid Solberg", find(when="any", speaker="Ingrid Solberg")),
    ],
)
def test_without_a_time_word_each_kind_of_question_gets_its_documented_window(
    question: str, call: ToolCall
) -> None:
    assert interpret(question, CATALOG) == call


@pytest.mark.parametrize(
    "question",
    [
        "where is the opening keynote?",
        "When is the closing keynote?",
        "¿Cuál es la contraseña del wifi?",
        "What's the Wi-Fi password?",
        "is there a quiet room?",
        "where is the cloakroom?",
        # A bio question: who the person is comes from the speakers' page, not the agenda.
        "who is Ingrid Solberg?",
        "What is Ingrid Solberg's role and company?",
        "Who is talking about keeping AI safe in hospitals?",
        "What's the weather forecast for Lisbon tomorrow?",
        "What's the euro to US dollar exchange rate today?",
        "Can you recommend a good fado restaurant near the venue?",
        "What are the cloakroom opening hours on Wednesday?",
        "When is early badge pickup on Tuesday?",
        "Can I watch the talks I missed later on?",
        "What should I do if a session is full?",
        "How do I get to Room 2.1?",
        "What time is it now?",
        "What's on day 3?",
        "¿Qué hay cerca del recinto?",
        "¿Qué tiempo hará mañana en Lisboa?",
        "Onde fica a sala de oração?",
        "Quando posso levantar o crachá na terça-feira?",
        "Où est la salle de la keynote ?",
        "Qui parle de zero trust, et dans quelle salle ?",
        "Wo ist der Ruheraum?",
        "Wie bekomme ich eine Teilnahmebescheinigung?",
        "Wi-Fi şifresi nedir?",
        "Mekânın yakınında iyi bir balık restoranı önerebilir misin?",
        "أين الكلمة الافتتاحية؟",
        "ما هي كلمة مرور الواي فاي؟",
        "hi",
        "",
    ],
)
def test_a_question_for_the_documents_is_left_to_them(question: str) -> None:
    assert interpret(question, CATALOG) is None


def test_a_weekday_outside_the_event_leaves_the_question_to_the_documents() -> None:
    assert interpret("What's on on Tuesday?", CATALOG) is None
    assert interpret("What's on on Wednesday?", CATALOG) == find(when="any", day=WEDNESDAY)


def test_a_word_that_means_a_topic_in_one_language_only_counts_in_that_language() -> None:
    # German "KI" is AI; Turkish "ki" is a conjunction.
    assert interpret("Vorträge über KI morgen?", CATALOG, language="de") == find(when="tomorrow", topic="AI")
    assert interpret("Vorträge über KI morgen?", CATALOG, language="tr") == find(when="tomorrow")


def test_the_catalog_spelling_of_a_topic_is_used_when_the_question_names_it() -> None:
    assert interpret("What Developer Experience talks are on tomorrow?", CATALOG) == find(
        when="tomorrow", topic="Developer Experience"
    )


def test_reading_a_question_takes_microseconds() -> None:
    questions = ["What's next in Room 2.1?", "¿Cuándo es la charla sobre Kafka?", "where is the cloakroom?"]
    interpret(questions[0], CATALOG)  # the catalog's patterns are built once
    started = time.perf_counter()
    for _ in range(100):
        for question in questions:
            interpret(question, CATALOG)
    assert (time.perf_counter() - started) / 300 < 0.002  # ~0.1 ms measured; generous for slow runners


# --- Part 2: the reply ----------------------------------------------------------------------------------

NOW = "2026-03-11T11:20:00+00:00"


def session(title: str, start: str, end: str, room: str = "Room 2.1", *speakers: str) -> dict[str, Any]:
    day = "2026-03-11"
    if "T" in start:
        day, start = start.split("T")
    return {
        "title": title,
        "start": f"{day}T{start}:00+00:00",
        "end": f"{day}T{end}:00+00:00",
        "room": room,
        "speakers": list(speakers),
        "track": "Data",
        "abstract": "…",
    }


def result(*sessions: dict[str, Any], when: str, total: int | None = None, now: str = NOW) -> dict[str, Any]:
    return {
        "now": now,
        "timezone": "Europe/Lisbon",
        "event_days": ["2026-03-11", "2026-03-12"],
        "when": when,
        "sessions": list(sessions),
        "total": len(sessions) if total is None else total,
    }


ZERO_TRUST = session("Zero Trust in Practice", "11:00", "11:45", "Room 2.2", "Ingrid Solberg")
RAG = session("RAG in the Real World", "11:00", "11:45", "Room 2.1", "Priya Raghunathan")
LAKE = session("From Data Swamp to Data Lake", "12:00", "12:45", "Auditorium B", "Tomás Silveira")


def test_the_reply_says_what_is_on_now_one_line_a_session() -> None:
    reply = render(find(when="now"), result(ZERO_TRUST, RAG, when="now"), language="en")
    assert reply == (
        "Now (11:20):\n"
        "11:00-11:45 Zero Trust in Practice — Room 2.2 (Ingrid Solberg)\n"
        "11:00-11:45 RAG in the Real World — Room 2.1 (Priya Raghunathan)"
    )


@pytest.mark.parametrize(
    ("language", "heading"),
    [
        ("en", "Next, at 12:00:"),
        ("es", "A continuación, a las 12:00:"),
        ("pt", "A seguir, às 12:00:"),
        ("fr", "Ensuite, à 12:00 :"),
        ("de", "Als Nächstes, um 12:00:"),
        ("tr", "Sırada, saat 12:00:"),
        ("ar", "التالي، في 12:00:"),
    ],
)
def test_each_language_gets_its_own_words_around_the_sessions_as_written(language: str, heading: str) -> None:
    reply = render(find(when="next"), result(LAKE, when="next"), language=language)
    assert reply.splitlines() == [
        heading,
        "12:00-12:45 From Data Swamp to Data Lake — Auditorium B (Tomás Silveira)",
    ]


@pytest.mark.parametrize(
    ("call", "heading"),
    [
        (find(when="next", room="Room 2.1"), "In Room 2.1 next:"),
        (find(when="any", speaker="Ingrid Solberg"), "Sessions by Ingrid Solberg:"),
        (find(when="any", topic="Kafka"), "Talks about Kafka:"),
        (recommend("security"), "You might like:"),
        (find(when="later_today"), "Later today:"),
    ],
)
def test_the_first_line_answers_the_question_that_was_asked(call: ToolCall, heading: str) -> None:
    when = str(call.input.get("when", "upcoming"))
    assert render(call, result(LAKE, when=when), language="en").splitlines()[0] == heading


def test_sessions_on_another_day_than_today_carry_their_date_in_the_language() -> None:
    tomorrow = session("Vector Search Deep Dive", "2026-03-12T10:00", "10:45", "Room 2.1", "Aisha Rahman")
    assert render(find(when="tomorrow"), result(tomorrow, when="tomorrow"), language="en").splitlines() == [
        "Tomorrow:",
        "Thu 12 Mar 10:00-10:45 Vector Search Deep Dive — Room 2.1 (Aisha Rahman)",
    ]
    german = render(find(when="tomorrow"), result(tomorrow, when="tomorrow"), language="de")
    assert german.splitlines()[1].startswith("Do., 12. März 10:00-10:45")
    spanish = render(find(when="any", day=THURSDAY), result(tomorrow, when="any"), language="es")
    assert spanish.splitlines() == [
        "El jue 12 mar:",
        "jue 12 mar 10:00-10:45 Vector Search Deep Dive — Room 2.1 (Aisha Rahman)",
    ]


def test_times_are_the_events_own_as_the_results_offsets_carry_them() -> None:
    dublin = session("Opening", "09:00", "09:45", "Liffey Hall")
    dublin = {**dublin, "start": "2027-05-04T09:00+01:00", "end": "2027-05-04T09:45+01:00"}
    dublin_now = "2027-05-04T08:20:00+00:00"
    reply = render(find(when="now"), result(dublin, when="now", now=dublin_now), language="en")
    assert reply.splitlines() == ["Now (09:20):", "09:00-09:45 Opening — Liffey Hall"]


@pytest.mark.parametrize(
    ("language", "more"),
    [("en", "…and 3 more."), ("es", "…y 3 más."), ("de", "…und 3 weitere."), ("ar", "…و3 جلسات أخرى.")],
)
def test_more_sessions_than_the_limit_end_with_how_many_more(language: str, more: str) -> None:
    sessions = [session(f"Talk {n}", "14:00", "14:45") for n in range(5)]
    reply = render(find(when="upcoming"), result(*sessions, when="upcoming"), language=language, limit=2)
    assert len(reply.splitlines()) == 1 + 2 + 1
    assert reply.splitlines()[-1] == more


def test_the_total_counts_sessions_the_tool_left_out() -> None:
    reply = render(find(when="any", topic="data"), result(LAKE, when="any", total=9), language="en")
    assert reply.splitlines()[-1] == "…and 8 more."


@pytest.mark.parametrize(
    ("call", "language", "sentence"),
    [
        (find(when="now"), "en", "Nothing is on right now."),
        (find(when="now"), "fr", "Aucune session en ce moment."),
        (find(when="any", topic="Kafka"), "en", "I found no session about Kafka."),
        (find(when="any", topic="Kafka"), "tr", "Kafka hakkında bir oturum bulamadım."),
        (find(when="any", speaker="Jonas Weber"), "pt", "Não encontrei nenhuma sessão de Jonas Weber."),
        (find(when="next", room="Room 1.4"), "en", "I found nothing scheduled in Room 1.4."),
        (recommend("security"), "es", "No encontré ninguna sesión que recomendarte."),
    ],
)
def test_an_empty_result_is_a_sentence_in_the_language(call: ToolCall, language: str, sentence: str) -> None:
    when = str(call.input.get("when", "upcoming"))
    assert render(call, result(when=when), language=language) == sentence


def test_before_the_event_an_empty_result_says_when_it_starts() -> None:
    reply = render(find(when="now"), result(when="now", now="2026-03-09T10:00:00+00:00"), language="en")
    assert reply == "Nothing is on right now. The event starts on Wed 11 Mar."


def test_when_nothing_is_on_now_the_tools_next_sessions_follow_that_sentence() -> None:
    reply = render(find(when="now"), result(LAKE, when="next"), language="en")
    assert reply.splitlines()[0] == "Nothing is on right now. Next, at 12:00:"


def test_an_error_result_gives_no_reply_so_that_the_documents_answer() -> None:
    assert render(find(when="soon"), {"error": "'when' must be one of ..."}, language="en") == ""
    assert render(find(when="now"), {"sessions": "not a list"}, language="en") == ""


def test_an_unknown_language_falls_back_to_english() -> None:
    assert render(find(when="now"), result(when="now"), language="xx") == "Nothing is on right now."
    assert render(find(when="now"), result(when="now"), language=None) == "Nothing is on right now."


def test_every_language_has_the_agendas_words_and_seven_weekdays_and_twelve_months() -> None:
    for language, texts in replies.TEXTS.items():
        assert len(texts["agenda_weekdays"].split()) == 7, language
        assert len(texts["agenda_months"].split()) == 12, language
