"""Small talk: a message that is only a greeting, thanks or a call for help gets a short friendly reply,
in its language, and never reaches the answer engine."""

from __future__ import annotations

import re
from enum import StrEnum


class SmallTalk(StrEnum):
    GREETING = "greeting"
    THANKS = "thanks"
    HELP = "help"


_PHRASES: dict[SmallTalk, dict[str, tuple[str, ...]]] = {
    SmallTalk.GREETING: {
        "en": ("hi", "hello", "hey", "hi there", "hello there", "good morning", "good afternoon",
               "good evening", "hiya", "yo"),
        "es": ("hola", "buenas", "buenos días", "buenos dias", "buenas tardes", "buenas noches"),
        "pt": ("olá", "ola", "oi", "bom dia", "boa tarde", "boa noite"),
        "fr": ("bonjour", "salut", "bonsoir", "coucou"),
        "de": ("hallo", "guten tag", "guten morgen", "guten abend", "servus", "moin"),
        "tr": ("merhaba", "selam", "günaydın", "gunaydin", "iyi günler", "iyi akşamlar"),
        "ar": ("مرحبا", "مرحباً", "السلام عليكم", "اهلا", "أهلا", "أهلاً", "صباح الخير", "مساء الخير"),
    },
    SmallTalk.THANKS: {
        "en": ("thanks", "thank you", "thx", "ty", "thanks a lot", "thank you so much", "cheers",
               "great thanks", "ok thanks", "perfect thanks"),
        "es": ("gracias", "muchas gracias", "mil gracias", "vale gracias"),
        "pt": ("obrigado", "obrigada", "muito obrigado", "muito obrigada", "valeu"),
        "fr": ("merci", "merci beaucoup", "merci bien"),
        "de": ("danke", "danke schön", "danke schon", "vielen dank", "dankeschön"),
        "tr": ("teşekkürler", "teşekkür ederim", "sağ ol", "sağol", "tesekkurler", "çok teşekkürler"),
        "ar": ("شكرا", "شكراً", "شكرا جزيلا", "شكراً جزيلاً"),
    },
    SmallTalk.HELP: {
        "en": ("help", "menu", "what can you do", "what can i ask", "start"),
        "es": ("ayuda", "qué puedes hacer", "que puedes hacer"),
        "pt": ("ajuda", "o que você pode fazer", "o que voce pode fazer"),
        "fr": ("aide", "que peux-tu faire", "que pouvez-vous faire"),
        "de": ("hilfe", "was kannst du"),
        "tr": ("yardım", "yardim", "neler yapabilirsin"),
        "ar": ("مساعدة", "ساعدني"),
    },
}  # fmt: skip

_INDEX: dict[str, tuple[SmallTalk, str]] = {
    phrase: (kind, language)
    for kind, languages in _PHRASES.items()
    for language, phrases in languages.items()
    for phrase in phrases
}
_NOISE = re.compile(r"[\s!¡?¿.,;:~*_\-\u060c\u061f]+|[\U0001F300-\U0001FAFF\u2600-\u27BF]")


def classify(text: str) -> tuple[SmallTalk, str] | None:
    """(kind, language) when the whole message is small talk ("hi!", "gracias 🙏"), else None."""
    if len(text) > 60:
        return None
    normal = _NOISE.sub(" ", text.lower()).strip()
    return _INDEX.get(" ".join(normal.split()))
