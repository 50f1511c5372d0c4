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

# Courtesies that come with small talk and change nothing about it ("hola, ¿qué tal?", "thanks, that was
# really helpful!"): a message of small talk and these alone is still small talk.
_COURTESIES: dict[str, tuple[str, ...]] = {
    "en": ("how are you", "how are you doing", "how is it going", "that was really helpful",
           "that was helpful", "that was very helpful", "really helpful", "very helpful", "so much",
           "a lot", "again", "there", "great", "perfect", "awesome", "ok", "okay", "cool", "nice"),
    "es": ("qué tal", "que tal", "cómo estás", "como estas", "cómo está", "muy amable", "perfecto",
           "genial", "vale", "muy útil", "de nuevo"),
    "pt": ("tudo bem", "como vai", "como está", "como esta", "perfeito", "ótimo", "otimo", "muito útil"),
    "fr": ("ça va", "ca va", "comment ça va", "comment allez-vous", "parfait", "super", "très utile"),
    "de": ("wie geht's", "wie gehts", "wie geht es dir", "wie geht es ihnen", "super", "perfekt",
           "sehr hilfreich"),
    "tr": ("nasılsın", "nasilsin", "naber", "nasılsınız", "harika", "süper", "çok yardımcı oldu"),
    "ar": ("كيف حالك", "رائع", "ممتاز"),
}  # fmt: skip

_INDEX: dict[str, tuple[SmallTalk, str]] = {
    phrase: (kind, language)
    for kind, languages in _PHRASES.items()
    for language, phrases in languages.items()
    for phrase in phrases
}
_NOISE = re.compile(r"[\s!¡?¿.,;:~*_\-\u060c\u061f]+|[\U0001F300-\U0001FAFF\u2600-\u27BF]")


_COURTESY: dict[str, str] = {
    phrase: language for language, phrases in _COURTESIES.items() for phrase in phrases
}
_LONGEST = max(len(p.split()) for p in [*_INDEX, *_COURTESY])
_PRECEDENCE = (SmallTalk.HELP, SmallTalk.THANKS, SmallTalk.GREETING)


def classify(text: str) -> tuple[SmallTalk, str] | None:
    """(kind, language) when the whole message is small talk ("hi!", "gracias 🙏", "hola, buenos días",
    "thanks, that was really helpful!"), else None. Help wins over thanks, thanks over a greeting; the
    language is the small talk's (a courtesy's when nothing else tells)."""
    if len(text) > 80:
        return None
    words = _NOISE.sub(" ", text.lower()).split()
    if not words:
        return None
    kinds: list[tuple[SmallTalk, str]] = []
    languages: list[str] = []
    i = 0
    while i < len(words):
        for size in range(min(_LONGEST, len(words) - i), 0, -1):
            phrase = " ".join(words[i : i + size])
            if phrase in _INDEX:
                kinds.append(_INDEX[phrase])
                break
            if phrase in _COURTESY:
                languages.append(_COURTESY[phrase])
                break
        else:
            return None  # a word that is not small talk: a question, however short
        i += size
    if not kinds:
        return None
    kind = next(k for k in _PRECEDENCE if any(found == k for found, _ in kinds))
    spoken = [lang for _, lang in kinds] + languages
    language = max(dict.fromkeys(spoken), key=spoken.count)
    return kind, language
