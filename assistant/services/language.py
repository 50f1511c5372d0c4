"""Which of the supported languages a short message is in: a pure, dependency-free guess.

Good enough to choose the language of the assistant's own texts (``replies.say``); the answer engines detect
the language of an answer themselves. Arabic is told by its script; the Latin-script languages by their
function words and letters. ``None`` when nothing points anywhere (the default language is used then).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

SUPPORTED: tuple[str, ...] = ("en", "es", "pt", "fr", "de", "tr", "ar")
"""The languages the assistant has its own texts in (``replies.TEXTS``) and can tell apart."""

_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)

# Frequent function words and question words, distinct enough between these languages.
_MARKERS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the is are where when what who which how can could do does i you my me there a an of to in on at "
        "and or for with please thanks thank hello hi hey".split()
    ),
    "es": frozenset(
        "el la los las es son dónde donde cuándo cuando qué que quién cómo como hay un una del al por para "
        "con mi y o hola gracias puedo está esta estoy sala charla contraseña".split()
    ),
    "pt": frozenset(
        "o a os as é são onde quando quê quem como há um uma do da dos das no na ao pelo para com meu minha "
        "e ou olá oi obrigado obrigada posso está sala palestra senha não até quanto quantos quantas custa "
        "aberto aberta".split()
    ),
    "fr": frozenset(
        "le la les est sont où quand quoi qui comment il y un une du des au aux pour avec mon ma et ou "
        "bonjour salut merci puis je peux salle mot passe".split()
    ),
    "de": frozenset(
        "der die das ist sind wo wann was wer wie gibt es ein eine des dem den im am zum zur für mit mein "
        "meine und oder hallo danke kann ich raum vortrag passwort".split()
    ),
    "tr": frozenset(
        "bu şu nerede ne zaman kim nasıl var mı mi mu mü bir ve veya için ile benim merhaba selam "
        "teşekkürler teşekkür ederim salon oturum şifre nedir hangi".split()
    ),
}
_LETTERS: dict[str, str] = {"es": "ñ¿¡", "pt": "ãõ", "de": "ßäöü", "tr": "ğşıİ", "fr": "èêëàùœ"}


def detect(text: str) -> str | None:
    """The language of ``text`` among en, es, pt, fr, de, tr, ar; None when unsure."""
    if any("\u0600" <= ch <= "\u06ff" for ch in text):
        return "ar"
    words = [w.lower() for w in _WORDS.findall(text)]
    if not words:
        return None
    scores = {lang: sum(w in markers for w in words) for lang, markers in _MARKERS.items()}
    lowered = text.lower()
    for lang, letters in _LETTERS.items():
        scores[lang] += 2 * sum(ch in lowered for ch in letters)
    best = max(scores.values())
    if best == 0:
        return None
    leaders = [lang for lang, score in scores.items() if score == best]
    return leaders[0] if len(leaders) == 1 else None


def choose(spoken: str | None, languages: Sequence[str] = SUPPORTED) -> str | None:
    """The language to answer in: the one spoken when the event serves it (``LANGUAGES``), else the
    event's first language, its fallback (None when no languages are given: the default)."""
    if spoken is not None and spoken in languages:
        return spoken
    return languages[0] if languages else spoken


# Words by which a short question points back at the previous one, in the supported languages: pronouns
# anywhere ("who's giving it?"), and a conjunction that opens it ("and the day pass?", "¿y a qué hora?").
# Not "there" ("is there a cloakroom?" is a new question), nor articles and prepositions.
POINTERS = frozenset(
    (
        "that it this those they them he she him her its his else "
        "ese esa eso allí ahí tiene isso essa esse lá tem ça là il elle "
        "dort sie er orası onu"
    ).split()
)
CONJUNCTIONS = frozenset("and also then y e et und ve".split())
FOLLOW_UP_WORDS = 8
"""A follow-up is short: a longer question says what it is about."""


def points_back(text: str) -> bool:
    """Whether ``text`` is a short question that leans on the previous one."""
    words = [w.strip("?¿!.,;:") for w in text.lower().replace("'", " ").split()]
    if not words or len(words) > FOLLOW_UP_WORDS:
        return False
    return bool(POINTERS & set(words)) or words[0] in CONJUNCTIONS
