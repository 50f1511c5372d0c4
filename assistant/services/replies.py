"""Every text a user hears from the assistant itself, per language, in one place.

Answers come from the event's documents; everything else (static replies, "I don't know", the apology,
the guardrail's refusal) is written here. ``say`` picks the user's language when it has the text, else
``DEFAULT_LANGUAGE``.
"""

from __future__ import annotations

DEFAULT_LANGUAGE = "en"

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "unsupported": (
            "Sorry, I can only read text messages for now. Please type your question "
            '(for example: "Where is the opening keynote?").'
        ),
        "too_long": (
            "That message is a bit long for me ({length} characters). Please ask in at most {limit} "
            "characters, one question at a time."
        ),
        "busy": (
            "I'm still working on your previous question. I'll answer it first; please send this one again "
            "once you have that answer."
        ),
        "rate_limited": (
            "You're sending messages faster than I can answer. Please wait a minute before asking again; "
            "messages sent until then will not be answered."
        ),
        "not_allowed": "Sorry, this assistant is only available to registered attendees of the event.",
        "welcome": (
            "Hi! I'm the event assistant. Ask me anything about the event: sessions, speakers, rooms, "
            "times, the venue. Type your question to start."
        ),
        "conversation_reset": (
            "(We've talked a lot, so I've started a fresh conversation: earlier messages are forgotten.)"
        ),
        "dont_know": (
            "I'm sorry, I couldn't find that in the event's information. Please ask at {help_desk}: they "
            "will be happy to help."
        ),
        "guardrail": "Sorry, I can't help with that. I can answer questions about the event.",
        "apology": (
            "Sorry, I couldn't answer that just now. Please try again in a minute, or ask at {help_desk}."
        ),
    },
}


def say(key: str, language: str | None = None, **values: object) -> str:
    """The text ``key`` in ``language`` (else the default language), with ``values`` filled in."""
    texts = TEXTS.get(language or DEFAULT_LANGUAGE) or TEXTS[DEFAULT_LANGUAGE]
    template = texts.get(key) or TEXTS[DEFAULT_LANGUAGE][key]
    return template.format(**values) if values else template
