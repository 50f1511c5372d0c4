"""Static replies: the polite explanations a user gets instead of a model's answer."""

from __future__ import annotations

UNSUPPORTED = (
    "Sorry, I can only read text messages for now. Please type your question "
    '(for example: "Where is the opening keynote?").'
)
TOO_LONG = (
    "That message is a bit long for me ({length} characters). Please ask in at most {limit} characters, "
    "one question at a time."
)
BUSY = (
    "I'm still working on your previous question. I'll answer it first; please send this one again "
    "once you have that answer."
)
RATE_LIMITED = (
    "You're sending messages faster than I can answer. Please wait a minute before asking again; "
    "messages sent until then will not be answered."
)
NOT_ALLOWED = "Sorry, this assistant is only available to registered attendees of the event."
WELCOME = (
    "Hi! I'm the event assistant. Ask me anything about the event: sessions, speakers, rooms, times, "
    "the venue. Type your question to start."
)
CONVERSATION_RESET = (
    "(We've talked a lot, so I've started a fresh conversation: earlier messages are forgotten.)"
)
APOLOGY = "Sorry, I couldn't answer that just now. Please try again in a minute, or ask at the help desk."
