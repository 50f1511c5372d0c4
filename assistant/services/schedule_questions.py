"""Questions about the schedule: which agenda tool a question calls for (``interpret``; the answer stage
uses it to decide which questions go to the agenda tools, and the local stand-in of the model to call them),
and the reply written from the tool's result (``render``, the local model's words).

On AWS the model decides when a question needs the agenda tools (Bedrock Converse tool use) and writes the
reply from their result. Offline, two pure functions play that part with rules:

- :func:`interpret` reads a question in en, es, pt, fr, de, tr or ar and returns the :class:`ToolCall` to
  make (``find_sessions`` or ``recommend_sessions``), or None when the question is not a schedule lookup;
- :func:`render` writes the WhatsApp reply from the tool's result in the question's language, with every
  fixed word taken from :mod:`assistant.services.replies`.

``interpret`` is conservative on purpose. A question it takes is answered from the agenda alone; a question
it leaves goes to the document search, which answers most questions. So a question needs a schedule signal:
a time word with "what's on" or a session noun, a catalog room or speaker with such a word, "when is the
talk about X", or a recommendation. It is left to the documents when it asks how, why, where (unless it
names a time) or who (unless it names a time or a room), when it is about a speaker's person (role,
company, bio), when it mentions the venue's services (wifi, cloakroom, parking, food, travel, tickets,
badges, recordings...), and when it says more than the rules can account for.

Defaults for ``when`` when the question names no time:

- "what's on?", "what's happening?", "¿qué hay?": ``now``; "what's the schedule?": ``upcoming``;
- a room ("what is in the Workshop Lab?"): ``upcoming`` ("what's next in Room 2.1?" is ``next``);
- a speaker ("sessions by Ingrid Solberg"), a topic ("when is the talk about Kafka?"): ``any``;
- a recommendation: ``upcoming``. A day named ("on Thursday", "day 2", "12 March") is passed as ``day``
  with ``when=any``, or with ``this_morning``/``this_afternoon``/``this_evening`` for part of it.

A recommendation that names no interest the rules can read ("what should I see next?") becomes
``find_sessions`` for that time (``next`` by default), since ``recommend_sessions`` needs interests.
Nothing here reads files or the clock: microseconds a question, after the catalog's patterns are built
once (cached by catalog).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Final

from assistant.services import replies
from assistant.services.language import detect

FIND_SESSIONS: Final = "find_sessions"
RECOMMEND_SESSIONS: Final = "recommend_sessions"
RECOMMEND_LIMIT: Final = 3
MAX_QUESTION_CHARS: Final = 300


@dataclass(frozen=True, slots=True)
class Catalog:
    """What a question may name: the event's rooms, speakers and days (to resolve "day 2", "Thursday",
    "12 March"), and optionally topic words (tracks, title words) to recognise as subjects."""

    rooms: tuple[str, ...]
    speakers: tuple[str, ...]
    days: tuple[date, ...]
    topics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A call of one agenda tool: its name and its JSON input."""

    name: str
    input: dict[str, object] = field(default_factory=dict)


# --- Text ------------------------------------------------------------------------------------------------

_CLAUSE: Final = "|"  # the token standing for , ; : ? ! . and the like: a phrase never spans it
_TRANSLATE: Final = str.maketrans(
    {
        "ı": "i",
        "İ": "i",
        "ß": "ss",
        "ى": "ي",
        "ة": "ه",
        "ـ": None,
        "\u2019": "'",
        **{chr(0x0660 + n): str(n) for n in range(10)},
        **{chr(0x06F0 + n): str(n) for n in range(10)},
    }
)
_TOKEN: Final = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+|[.,;:?!¿¡؟،]")
_ARABIC: Final = re.compile("[\u0600-\u06ff]")


def _plain(text: str) -> str:
    """Accents and Arabic vowel marks off (they would otherwise cut words), case kept."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLATE))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_PUNCTUATION: Final = frozenset(".,;:?!¿¡؟،")


def _fold_token(word: str) -> str:
    if word in _PUNCTUATION:
        return _CLAUSE
    return word.lower().replace(",", ".")


def _fold(phrase: str) -> str:
    return " ".join(_fold_token(t) for t in _TOKEN.findall(_plain(phrase)))


@dataclass(frozen=True, slots=True)
class _Text:
    words: tuple[str, ...]  # accents off, case kept
    folded: tuple[str, ...]
    joined: str  # " " + folded words joined by spaces + " "
    starts: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> _Text:
        words = tuple(_TOKEN.findall(_plain(text)))
        folded = tuple(_fold_token(w) for w in words)
        starts: list[int] = []
        offset = 1
        for word in folded:
            starts.append(offset)
            offset += len(word) + 1
        return cls(words, folded, " " + " ".join(folded) + " ", tuple(starts))

    def token_at(self, offset: int) -> int:
        return bisect_right(self.starts, offset) - 1

    def clause_start(self, index: int) -> bool:
        return index == 0 or self.folded[index - 1] == _CLAUSE


@dataclass(frozen=True, slots=True)
class _Hit:
    first: int
    end: int  # exclusive
    label: str

    @property
    def tokens(self) -> range:
        return range(self.first, self.end)


# Arabic clitics written onto a word: wa-/fa- "and", bi-/li-/ka- "with/for/like", al- "the".
_ARABIC_PREFIX: Final = "(?:[وف]?(?:لل|[بلك])?(?:ال)?)"


def _entries(label: str, phrases: str) -> dict[str, str]:
    """``"a|b c|d*"`` -> {"a": label, "b c": label, "d*": label}; a trailing ``*`` lets the word go on
    (plurals, Turkish and German endings)."""
    return {p.strip(): label for p in phrases.split("|") if p.strip()}


class _Lexicon:
    """Phrases (accent- and case-insensitive, whole words) mapped to labels, found in one regex pass,
    longest phrase first. A label ending in ``@xx`` counts only in language ``xx``."""

    def __init__(self, entries: Mapping[str, str]) -> None:
        exact: dict[str, str] = {}
        stems: list[tuple[str, str]] = []
        alternatives: list[tuple[int, str]] = []
        for phrase, label in entries.items():
            star = phrase.endswith("*")
            folded = _fold(phrase.rstrip("*"))
            if not folded:
                continue
            if star:
                stems.append((folded, label))
                alternatives.append((len(folded), re.escape(folded) + r"\w*"))
            else:
                exact.setdefault(folded, label)
                alternatives.append((len(folded), re.escape(folded)))
        alternatives.sort(key=lambda item: -item[0])
        body = "|".join(regex for _, regex in alternatives) or "(?!)"
        self._pattern = re.compile(rf"(?<= ){_ARABIC_PREFIX}(?P<p>{body})(?= )")
        self._exact = exact
        self._stems = sorted(stems, key=lambda item: -len(item[0]))

    def find(self, text: _Text, language: str | None, skip: frozenset[int] = frozenset()) -> list[_Hit]:
        hits: list[_Hit] = []
        for match in self._pattern.finditer(text.joined):
            matched = match.group("p")
            label = self._exact.get(matched)
            if label is None:
                label = next((lab for stem, lab in self._stems if matched.startswith(stem)), None)
            if label is None:
                continue
            label, _, only = label.partition("@")
            if only and only != language:
                continue
            hit = _Hit(text.token_at(match.start("p")), text.token_at(match.end("p") - 1) + 1, label)
            if not skip.intersection(hit.tokens):
                hits.append(hit)
        return hits


# --- Vocabulary ------------------------------------------------------------------------------------------

# Slots of a time expression: rel (now, next...), base (today, tomorrow), part (of the day), n (day number),
# wd (weekday, 0 = Monday; "wd~" when the word is ambiguous and only counts on an event day). "" is neutral:
# greetings and "next year" mean no time, and shadow the shorter phrases inside them.
_TIME: Final = _Lexicon(
    {
        **_entries(
            "rel=now",
            "now|right now|currently|at the moment|at this moment|ahora|ahora mismo|en este momento|"
            "actualmente|agora|agora mesmo|neste momento|de momento|atualmente|maintenant|en ce moment|"
            "actuellement|jetzt|gerade|im moment|aktuell|momentan|derzeit|zurzeit|şu anda|şu an|şimdi|"
            "الآن|حاليا|في هذه اللحظة",
        ),
        **_entries(
            "rel=next",
            "next|up next|next up|coming up next|siguiente|la siguiente|sigue|a continuación|próxima|"
            "próximo|después|a seguir|seguinte|depois|prochaine|prochain|ensuite|suivante|suivant|"
            "als nächstes|nächste|nächster|nächstes|nächsten|danach|sırada|sıradaki|sonraki|bir sonraki|"
            "التالي|التالية|القادم|بعد ذلك",
        ),
        **_entries(
            "rel=later_today",
            "later|later today|rest of the day|rest of today|más tarde|luego|resto del día|mais tarde|"
            "mais logo|logo mais|resto do dia|plus tard|reste de la journée|später|heute später|"
            "rest des tages|daha sonra|bugün daha sonra|günün geri kalanı|لاحقا|في وقت لاحق|بقية اليوم",
        ),
        **_entries(
            "rel=upcoming",
            "upcoming|coming up|still to come|remaining|próximas|próximos|que quedan|restantes|à venir|"
            "prochaines|prochains|kommende*|anstehende*|yaklaşan|kalan|القادمة|المتبقية",
        ),
        **_entries("base=today", "today|hoy|hoje|aujourd'hui|heute|bugün*|اليوم"),
        **_entries("base=tomorrow", "tomorrow|tmrw|mañana|amanhã|demain|morgen|yarın*|غدا|الغد|بكرة"),
        **_entries(
            "base=today,part=morning",
            "this morning|esta mañana|esta manhã|ce matin|heute morgen|heute vormittag|heute früh|"
            "bu sabah|هذا الصباح|صباح اليوم",
        ),
        **_entries(
            "base=today,part=afternoon",
            "this afternoon|esta tarde|cet après-midi|cette après-midi|heute nachmittag|bu öğleden sonra|"
            "بعد ظهر اليوم",
        ),
        **_entries(
            "base=today,part=evening",
            "this evening|tonight|esta noche|esta noite|ce soir|heute abend|bu akşam|bu gece|هذا المساء|"
            "مساء اليوم|الليلة",
        ),
        **_entries(
            "base=tomorrow,part=morning",
            "tomorrow morning|mañana por la mañana|mañana temprano|amanhã de manhã|amanhã pela manhã|"
            "demain matin|morgen früh|morgen vormittag|yarın sabah*|غدا صباحا|صباح الغد|صباح غد",
        ),
        **_entries(
            "base=tomorrow,part=afternoon",
            "tomorrow afternoon|mañana por la tarde|amanhã à tarde|amanhã de tarde|demain après-midi|"
            "morgen nachmittag|yarın öğleden sonra|غدا بعد الظهر|بعد ظهر الغد|بعد ظهر غد",
        ),
        **_entries(
            "base=tomorrow,part=evening",
            "tomorrow evening|tomorrow night|mañana por la noche|amanhã à noite|demain soir|morgen abend|"
            "yarın akşam*|غدا مساء|مساء الغد",
        ),
        **_entries(
            "part=morning",
            "morning|in the morning|por la mañana|de la mañana|en la mañana|de manhã|pela manhã|le matin|"
            "matin|dans la matinée|vormittag|vormittags|am morgen|morgens|sabah*|صباحا|في الصباح",
        ),
        **_entries(
            "part=afternoon",
            "afternoon|in the afternoon|por la tarde|de la tarde|en la tarde|à tarde|de tarde|après-midi|"
            "l'après-midi|nachmittag|nachmittags|am nachmittag|öğleden sonra|öğleden sonraki|بعد الظهر|"
            "بعد الظهيرة",
        ),
        **_entries(
            "part=evening",
            "evening|in the evening|por la noche|à noite|de noite|le soir|soir|abends|am abend|akşam*|"
            "مساء|في المساء",
        ),
        **_entries(
            "",
            "good morning|good afternoon|good evening|good night|buenos días|buenas tardes|buenas noches|"
            "bom dia|boa tarde|boa noite|bonsoir|bonne soirée|guten morgen|guten tag|guten abend|"
            "gute nacht|günaydın|iyi akşamlar|iyi geceler|iyi günler|صباح الخير|مساء الخير|next to|"
            "next year|next week|next month|next time|next edition|see you later|hasta luego|"
            "hasta mañana|até amanhã|até logo|à demain|à plus tard|bis morgen|bis später|el año que viene|"
            "el próximo año|l'année prochaine|nächstes jahr|gelecek yıl|العام القادم|de nada",
        ),
        **{f"day {n}": f"n={n}" for n in range(1, 10)},
        **{f"día {n}": f"n={n}" for n in range(1, 10)},
        **{f"jour {n}": f"n={n}" for n in range(1, 10)},
        **{f"tag {n}": f"n={n}" for n in range(1, 10)},
        **{f"{n}. tag": f"n={n}" for n in range(1, 10)},
        **{f"{n}. gün*": f"n={n}" for n in range(1, 10)},
        **{f"gün {n}": f"n={n}" for n in range(1, 10)},
        **{f"اليوم {n}": f"n={n}" for n in range(1, 10)},
        **{f"يوم {n}": f"n={n}" for n in range(1, 10)},
        **_entries(
            "n=1",
            "day one|first day|1st day|primer día|primeiro dia|premier jour|ersten tag|erster tag|"
            "erste tag|tag eins|ilk gün*|birinci gün*|اليوم الأول|أول يوم",
        ),
        **_entries(
            "n=2",
            "day two|second day|2nd day|segundo día|segundo dia|deuxième jour|second jour|zweiten tag|"
            "zweiter tag|zweite tag|tag zwei|ikinci gün*|اليوم الثاني|ثاني يوم",
        ),
        **_entries(
            "n=3",
            "day three|third day|3rd day|tercer día|terceiro dia|troisième jour|dritten tag|dritter tag|"
            "üçüncü gün*|اليوم الثالث",
        ),
        **_entries(
            "n=-1",
            "last day|final day|último día|último dia|dernier jour|letzten tag|letzter tag|son gün*|"
            "اليوم الأخير|آخر يوم",
        ),
        **_entries("wd=0", "monday|lunes|segunda-feira|lundi|montag|pazartesi*|الاثنين|الإثنين"),
        **_entries("wd=1", "tuesday|martes|terça-feira|mardi|dienstag|salı*|الثلاثاء"),
        **_entries("wd=2", "wednesday|miércoles|quarta-feira|mercredi|mittwoch|çarşamba*|الأربعاء"),
        **_entries("wd=3", "thursday|jueves|quinta-feira|jeudi|donnerstag|perşembe*|الخميس"),
        **_entries("wd=4", "friday|viernes|sexta-feira|vendredi|freitag|cuma|cumaya|cuma günü|الجمعة"),
        **_entries("wd=5", "saturday|sábado|samedi|samstag|cumartesi*|السبت"),
        **_entries("wd=6", "sunday|domingo|dimanche|sonntag|pazar|pazar günü|الأحد"),
        # Portuguese says "na quinta" for Thursday, but "quinta" alone is also "fifth".
        **_entries("wd~=0", "na segunda|nesta segunda"),
        **_entries("wd~=1", "na terça|nesta terça"),
        **_entries("wd~=2", "na quarta|nesta quarta"),
        **_entries("wd~=3", "na quinta|nesta quinta"),
        **_entries("wd~=4", "na sexta|nesta sexta"),
    }
)

_MONTHS: Final[dict[str, int]] = {
    _fold(name): number
    for number, names in enumerate(
        (
            "january|enero|janeiro|janvier|januar|ocak|يناير|كانون الثاني",
            "february|febrero|fevereiro|février|februar|şubat|فبراير|شباط",
            "march|marzo|março|mars|märz|mart|مارس|آذار",
            "april|abril|avril|nisan|أبريل|ابريل|نيسان",
            "may|mayo|maio|mai|mayıs|مايو|أيار",
            "june|junio|junho|juin|juni|haziran|يونيو|حزيران",
            "july|julio|julho|juillet|juli|temmuz|يوليو|تموز",
            "august|agosto|août|ağustos|أغسطس|آب",
            "september|septiembre|setiembre|setembro|septembre|eylül|سبتمبر|أيلول",
            "october|octubre|outubro|octobre|oktober|ekim|أكتوبر|تشرين الأول",
            "november|noviembre|novembro|novembre|kasım|نوفمبر|تشرين الثاني",
            "december|diciembre|dezembro|décembre|dezember|aralık|ديسمبر|كانون الأول",
        ),
        start=1,
    )
    for name in names.split("|")
}
_MONTH_ALTERNATION: Final = "|".join(re.escape(m) for m in sorted(_MONTHS, key=len, reverse=True))
_DATE: Final = re.compile(
    # "12 March", "12th of March", "12 de marzo", "12. März" (its dot is a clause mark here), "March 12".
    rf"(?<= )(?:(?P<d1>\d{{1,2}})(?: \|)?(?: (?:st|nd|rd|th|er|º))?(?: de| of)? "
    rf"(?P<m1>{_MONTH_ALTERNATION})\w*"
    rf"|(?P<m2>{_MONTH_ALTERNATION}) (?P<d2>\d{{1,2}})(?: (?:st|nd|rd|th))?)(?= )"
)

# "What's on"-like questions. The label is the window they mean when no time is named.
_GENERIC: Final = _Lexicon(
    {
        **_entries(
            "now",
            "what's on|whats on|what is on|what's happening|whats happening|what is happening|"
            "what's going on|what is going on|what's next|whats next|what is next|what comes next|"
            "what's coming up|what is coming up|what's up next|anything on|anything interesting|"
            "anything good|something interesting|what is there|what's there|is there anything|"
            "what can i see|what can i attend|what's scheduled|what is scheduled|what's planned|"
            "what is planned|what's in|what is in|what's at|what is at|what else|anything else|"
            "qué hay|qué más hay|qué sigue|qué pasa|qué está pasando|qué ocurre|qué toca|qué viene|hay algo|"
            "qué tenemos|qué está programado|qué hay programado|"
            "o que há|o que mais há|o que está a acontecer|o que está acontecendo|o que se passa|o que vem|"
            "o que está a decorrer|o que tem|o que temos|há alguma coisa|o que está programado|"
            "qu'est-ce qui se passe|que se passe-t-il|qu'est-ce qu'il y a|qu'y a-t-il|il y a quoi|"
            "quoi de prévu|qu'est-ce qui est prévu|ce qui se passe|qu'est-ce qui suit|"
            "y a-t-il quelque chose|quoi d'autre|"
            "was läuft|was gibt es|was gibt's|was gibts|was ist los|was kommt|was steht an|was passiert|"
            "was ist geplant|gibt es etwas|was gibt es sonst|wie sieht|"
            "ne var|neler var|başka ne var|ne oluyor|neler oluyor|ne yapılıyor|neler yapılıyor|"
            "ماذا يحدث|ما الذي يحدث|ماذا هناك|ما الذي هناك|ماذا يوجد|ما الذي يوجد|ما التالي|ماذا بعد|"
            "شو في|ايش في",
        ),
        **_entries(
            "upcoming",
            "what's the schedule|what is the schedule|what's the agenda|what is the agenda|"
            "what's the programme|what is the programme|what's the program|what is the program|"
            "show me the schedule|show me the agenda|show me the programme|the schedule|the agenda|"
            "the programme|cuál es la agenda|cuál es el programa|cuál es el horario|la agenda|el programa|"
            "qual é a agenda|qual é o programa|qual é a programação|a agenda|o programa|a programação|"
            "quel est le programme|le programme|au programme|le planning|das programm|der zeitplan|"
            "die agenda|wie ist das programm|program nedir|programda ne var|ajanda|"
            "البرنامج|جدول الأعمال|الجدول",
        ),
    }
)

_NOUN: Final = _Lexicon(
    _entries(
        "noun",
        "session*|talk|talks|presentation*|keynote*|workshop*|panel*|lecture*|track|tracks|schedule|agenda|"
        "programme|program|lineup|line-up|speaker*|demo|demos|"
        "sesión|sesiones|charla*|ponencia*|conferencia*|taller*|presentación|presentaciones|programa|"
        "programación|horario*|ponente*|"
        "sessão|sessões|palestra*|apresentação|apresentações|oficina*|programação|orador*|palestrante*|"
        "conférence*|exposé*|atelier*|planning|intervention*|intervenant*|"
        "vortrag|vorträge|vortrags|vorträgen|programm|zeitplan|präsentation*|sprecher*|referent*|"
        "oturum*|konuşma*|sunum*|atölye*|ajanda*|etkinlik*|seminer*|konuşmacı*|"
        "جلسة|جلسات|محاضرة|محاضرات|ورشة|ورش|برنامج|جدول|فعاليات|متحدث|المتحدثين",
    )
)

_WHEN_QUESTION: Final = _Lexicon(
    _entries(
        "when",
        "when|what time|at what time|cuándo|a qué hora|qué hora|quando|a que horas|que horas|quand|"
        "à quelle heure|quelle heure|wann|um wie viel uhr|um wieviel uhr|ne zaman|saat kaçta|متى|"
        "في أي ساعة|في أي وقت",
    )
)

# A subject follows ("fwd": "about Kafka") or, in Turkish, comes before ("back": "Kafka hakkinda").
_ABOUT: Final = _Lexicon(
    {
        **_entries(
            "fwd",
            "about|regarding|related to|on the topic of|covering|concerning|talk on|talks on|session on|"
            "sessions on|workshop on|workshops on|presentation on|anything on|something on|"
            "sobre|acerca de|relacionado con|relacionada con|relacionados con|relacionadas con|charla de|"
            "charlas de|sesión de|sesiones de|taller de|talleres de|ponencia de|ponencias de|que trate de|"
            "que hable de|relacionado com|relacionada com|palestra de|palestras de|sessão de|sessões de|"
            "oficina de|oficinas de|que fale de|sur|à propos de|au sujet de|concernant|autour de|"
            "über|zum thema|bezüglich|rund um|vortrag zu|vorträge zu|session zu|sessions zu|workshop zu|"
            "talk zu|عن|حول|بخصوص|بشأن|في موضوع",
        ),
        **_entries("back", "hakkında*|ile ilgili|konulu|konusunda|konusundaki|üzerine|alanında"),
    }
)

_LIKE: Final = _Lexicon(
    {
        **_entries(
            "fwd",
            "i like|i love|i enjoy|i'm into|i am into|i'm interested in|i am interested in|interested in|"
            "i'm keen on|my interests are|i care about|i'm looking for|i am looking for|"
            "me gusta|me gustan|me encanta|me encantan|"
            "me interesa|me interesan|estoy interesado en|estoy interesada en|gosto de|gosto muito de|"
            "adoro|interesso-me por|me interesso por|tenho interesse em|estou interessado em|"
            "estou interessada em|j'aime|j'adore|je m'intéresse à|je m'intéresse au|je m'intéresse aux|"
            "intéressé par|intéressée par|ich mag|ich liebe|ich interessiere mich für|"
            "interessiere mich für|interessiert an|أحب|مهتم ب|مهتمة ب|مهتم|مهتمة|يهمني|يعجبني|تعجبني",
        ),
        **_entries(
            "back",
            "seviyorum|severim|ilgileniyorum|ilgimi çekiyor|ilgimi çeker|hoşlanıyorum|meraklıyım|"
            "mich interessiert|interessiert mich|m'intéresse",
        ),
    }
)

_RECOMMEND: Final = _Lexicon(
    _entries(
        "rec",
        "recommend*|suggest*|what should i see|what should i attend|what should i go to|"
        "what should i watch|which talk should i|which talks should i|which session should i|"
        "which sessions should i|where should i go|worth seeing|worth attending|recomienda*|recomend*|"
        "sugier*|sugerenci*|sugere*|sugest*|qué debería ver|a qué charla debería ir|o que devo ver|"
        "o que devo assistir|a que palestra devo ir|conseill*|recommand*|suggér*|que devrais-je voir|"
        "que dois-je voir|que faut-il voir|qu'est-ce que je dois voir|empfiehl*|empfehl*|vorschlag*|"
        "was soll ich|was sollte ich|öner*|tavsiye*|"
        "ne izlemeliyim|gitmeliyim|izlemeliyim|katılmalıyım|تنصح*|تنصحني|توصي*|أقترح|تقترح*|ماذا أحضر|"
        "ماذا يجب أن أحضر",
    )
)

_SPEAKING: Final = _Lexicon(
    _entries(
        "speak",
        "speak*|talking|present|presents|presenting|give|gives|giving|host|hosts|hosting|moderat*|"
        "habla*|presenta|presentan|da|imparte|fala|falar|apresenta|parle|parler|présente|intervient|"
        "anime|spricht|sprechen|redet|präsentiert|hält|konuşuyor|konuşacak|konuşması|sunuyor|sunacak|"
        "يتحدث|تتحدث|سيتحدث|ستتحدث|يقدم|تقدم|يلقي|تلقي",
    )
)

# Just before a speaker's name, these make it "sessions by...": "by", "de", "par", "von"...
_BY: Final = frozenset(
    {"by", "from", "with", "de", "da", "do", "par", "von", "com", "con", "avec", "mit", "مع"}
)

# A question about the person, not their sessions: who they are, where they work, how to reach them.
_PERSON: Final = _Lexicon(
    _entries(
        "person",
        "role|job|company|employer|bio|biography|linkedin|twitter|contact|email|e-mail|phone|works for|"
        "work for|rol|papel|cargo|puesto|empresa|trabaja|biografía|correo|teléfono|emprego|trabalha|"
        "telefone|rôle|poste|métier|entreprise|société|travaille|biographie|téléphone|rolle|beruf|"
        "unternehmen|firma|arbeitet|biografie|telefon|görev*|şirket*|çalışıyor|biyografi*|iletişim|"
        "دور|وظيفة|شركة|يعمل|سيرة|هاتف",
    )
)

# Questions the documents answer: the venue's services, travel, money, people, recordings.
_BLOCK: Final = _Lexicon(
    _entries(
        "block",
        "wifi|wi-fi|wlan|internet|password*|contraseña|senha|mot de passe|passwort|şifre|şifresi|şifreyi|"
        "كلمة المرور|كلمة السر|واي فاي|"
        "cloakroom*|coat check|guardarropa|bengaleiro|chapelaria|vestiaire|garderobe|vestiyer|gardırop|"
        "toilet*|restroom*|bathroom*|wc|baño|baños|aseo|aseos|casa de banho|banheiro|toilettes|"
        "tuvalet*|حمام|دورة المياه|"
        "parking|park|aparcamiento|estacionamiento|estacionamento|parkplatz|parken|otopark*|موقف|"
        "quiet room|prayer*|pray|oración|oração|prière|gebet*|ruheraum|mescit|ibadet|صلاة|مصلى|"
        "first aid|primeros auxilios|primeiros socorros|premiers secours|erste hilfe|ilk yardım|إسعاف|"
        "lost|perdido|perdida|perdí|perdi|perdu|perdue|verloren|kayıp|مفقود|"
        "charger|charging|cargador|carregador|chargeur|ladegerät|şarj|شاحن|"
        "metro|subway|bus|shuttle|train|taxi|airport|aeropuerto|aeroporto|aéroport|flughafen|"
        "havalimanı|havaalanı|مطار|autobús|ônibus|navette|otobüs|tren|comboio|zug|قطار|حافلة|"
        "hotel*|otel*|فندق|restaurant*|restaurante*|restoran*|مطعم|"
        "eat|food|menu|vegan|vegetarian|gluten|halal|allerg*|comer|comida|manger|nourriture|essen|"
        "yemek*|yemeğ*|طعام|أكل|cenar|jantar|dîner|abendessen|"
        "weather|forecast|clima|météo|wetter|hava|الطقس|"
        "price|prices|how much|ticket*|refund*|reembolso|remboursement|erstattung|rückerstattung|iade|"
        "استرداد|billet*|bilet*|تذكرة|تذاكر|precio|preço|prix|preis|fiyat*|سعر|cuánto cuesta|"
        "quanto custa|combien|wie viel kostet|ne kadar|"
        "badge*|acreditación|credencial|crachá|namensschild|yaka kartı|شارة|"
        "certificat*|certificado|zertifikat|sertifika*|شهادة|invoice|factura|fatura|facture|rechnung|"
        "slides|diapositivas|recording*|recorded|video*|vídeo*|grabación|grabada|grabadas|gravação|"
        "gravada|gravadas|enregistr*|aufzeichnung*|aufgezeichnet|kayıt|تسجيل|missed|"
        "open|opens|opening hours|closes|abierto|abierta|abre|cierra|apertura|aberto|aberta|ouvert|"
        "ouverte|ferme|geöffnet|offen|schließt|öffnungszeiten|açık mı|kapanıyor|مفتوح|يفتح|يغلق|"
        "accessib*|wheelchair|silla de ruedas|cadeira de rodas|fauteuil roulant|rollstuhl|"
        "tekerlekli sandalye|كرسي متحرك|code of conduct|harass*|"
        "capacity|capacidad|capacidade|capacité|kapazität|kapasite|سعة|address|dirección|endereço|"
        "adresse|adres|exchange rate|currency|euro|euros|dollar|dollars|football|match|kids|children|"
        "child|niños|crianças|enfants|kinder|çocuk*|أطفال|near|nearby|cerca|perto|près|"
        "in der nähe|yakın*|قريب|hay que|tengo que|tenho que|what time is it|what's the time|"
        "qué hora es|que horas são|quelle heure est-il|wie spät ist es|saat kaç|كم الساعة",
    )
)

# How, why, can-I questions ask for directions or rules, not for the agenda: only at a clause's start
# ("start"), or anywhere for the Turkish and Arabic words that may stand elsewhere ("any").
_ASKS_HOW: Final = _Lexicon(
    {
        **_entries(
            "start",
            "how|can i|could i|may i|do i|do we|should i bring|is it possible|why|cómo|como|puedo|"
            "se puede|por qué|posso|pode|dá para|comment|puis-je|peut-on|est-ce que je peux|pourquoi|wie|"
            "kann ich|darf ich|muss ich|warum|wieso|neden|niye",
        ),
        **_entries("any", "nasıl|كيف|لماذا|هل يمكنني|هل أستطيع|هل يمكن|miyim|mıyım"),
    }
)
_WHERE: Final = _Lexicon(
    {
        **_entries("start", "where|dónde|donde|onde|où|wo|wohin"),
        **_entries("any", "nerede|nereye|nerde|أين|وين"),
    }
)
_WHO: Final = _Lexicon(
    {
        **_entries("start", "who|who's|whose|quién|quien|quiénes|quem|qui|wer"),
        **_entries("any", "kim|kimdir|kimler|من هو|من هي|من يتحدث|من سيتحدث|من يقدم|من هم"),
    }
)

# Topic words in the six other languages (and English variants), to the agenda's English.
_GLOSSARY: Final = _Lexicon(
    {
        **_entries(
            "security",
            "security|secure|cybersecurity|seguridad|ciberseguridad|segurança|cibersegurança|sécurité|"
            "cybersécurité|sicherheit|cybersicherheit|güvenlik*|siber güvenlik|أمن|الأمن|أمان|الأمان|"
            "الأمن السيبراني",
        ),
        **_entries(
            "data",
            "data|big data|datos|dados|données|daten|veri|veriler*|veriyi|veriye|verisi|بيانات|البيانات",
        ),
        **_entries("serverless", "serverless|sin servidor|sem servidor|sans serveur|sunucusuz|بدون خادم"),
        **_entries(
            "AI",
            "ai|a.i.|genai|gen ai|generative ai|artificial intelligence|machine learning|ml|llm|llms|"
            "large language models|ia|ia generativa|inteligencia artificial|aprendizaje automático|"
            "inteligência artificial|aprendizado de máquina|aprendizagem automática|"
            "intelligence artificielle|apprentissage automatique|künstliche intelligenz|"
            "maschinelles lernen|yapay zeka*|yapay zekâ*|makine öğrenmesi|makine öğrenimi|"
            "الذكاء الاصطناعي|ذكاء اصطناعي|تعلم الآلة|التعلم الآلي",
        ),
        **_entries("AI@de", "ki"),
        **_entries("cloud", "cloud|nube|nuvem|nuage|wolke|bulut*|السحابة|سحابة|الحوسبة السحابية|السحابية"),
        **_entries(
            "career",
            "career|careers|job|jobs|new job|hiring|carrera profesional|empleo|carreira|emprego|carrière|"
            "emploi|karriere|neuen job|kariyer*|yeni iş|مهنة|وظيفة جديدة",
        ),
        **_entries(
            "workshop",
            "workshop|workshops|taller|talleres|atelier|ateliers|atölye*|ورشة|ورش|ورشة عمل|ورش العمل",
        ),
        **_entries("workshop@pt", "oficina|oficinas"),
        **_entries(
            "keynote",
            "keynote|keynotes|conferencia magistral|ponencia principal|palestra principal|"
            "conférence plénière|plénière|grundsatzrede|ana konuşma|الكلمة الرئيسية",
        ),
        **_entries(
            "networking",
            "networking|hacer contactos|rede de contatos|réseautage|netzwerken|ağ kurma|التواصل",
        ),
        **_entries(
            "observability",
            "observability|monitoring|observabilidad|monitorización|monitoreo|observabilidade|"
            "monitoramento|monitorização|observabilité|beobachtbarkeit|gözlemlenebilirlik|المراقبة",
        ),
        **_entries(
            "cost",
            "cost|costs|finops|coste|costes|costo|costos|custo|custos|coût|coûts|kosten|maliyet*|تكلفة|"
            "التكلفة|التكاليف",
        ),
        **_entries(
            "testing",
            "testing|tests|pruebas|testes|testen|test|الاختبار|اختبار|الاختبارات",
        ),
        **_entries(
            "privacy",
            "privacy|privacidad|privacidade|vie privée|confidentialité|datenschutz|privatsphäre|gizlilik|"
            "mahremiyet|الخصوصية|خصوصية|gdpr|rgpd|dsgvo|kvkk",
        ),
        **_entries(
            "database",
            "database|databases|base de datos|bases de datos|banco de dados|bancos de dados|"
            "base de données|bases de données|datenbank*|veritabanı*|veri tabanı*|قاعدة بيانات|"
            "قاعدة البيانات|قواعد البيانات",
        ),
        **_entries(
            "startup",
            "startup*|start-up*|emprendimiento|empresa emergente|empresas emergentes|empreendedorismo|"
            "gründer*|girişim*|شركات ناشئة|الشركات الناشئة",
        ),
        **_entries(
            "developer",
            "developer*|devs|desarrollador*|programador*|desenvolvedor*|développeur*|entwickler*|"
            "geliştirici*|مطور|مطورين|المطورين",
        ),
        **_entries(
            "architecture",
            "architecture|architectures|arquitectura|arquitetura|architektur|mimari*|الهندسة المعمارية|"
            "المعمارية",
        ),
        **_entries(
            "sustainability",
            "sustainability|sustainable|sostenibilidad|sostenible|sustentabilidade|sustentável|"
            "durabilité|développement durable|nachhaltigkeit|nachhaltig|sürdürülebilir*|الاستدامة|استدامة",
        ),
        **_entries(
            "healthcare",
            "healthcare|health care|health|salud|sanidad|saúde|santé|gesundheit*|sağlık|الرعاية الصحية|الصحة",
        ),
        **_entries(
            "vector search",
            "vector search|búsqueda vectorial|busca vetorial|pesquisa vetorial|recherche vectorielle|"
            "vektorsuche|vektör arama|البحث المتجه",
        ),
        **_entries(
            "supply chain",
            "supply chain|cadena de suministro|cadeia de suprimentos|cadeia de abastecimento|"
            "chaîne d'approvisionnement|lieferkette|tedarik zinciri|سلسلة التوريد",
        ),
        **_entries(
            "data lake",
            "data lake|lago de datos|lago de dados|lac de données|datensee|veri gölü|بحيرة البيانات",
        ),
        **_entries(
            "event-driven",
            "event-driven|orientado a eventos|orientada a eventos|orienté événements|ereignisgesteuert|"
            "olay güdümlü",
        ),
        **_entries(
            "cryptography",
            "cryptography|encryption|criptografía|cifrado|criptografia|cryptographie|chiffrement|"
            "kryptographie|verschlüsselung|kriptografi|şifreleme|التشفير|تشفير",
        ),
        **_entries("quantum", "quantum|post-quantum|cuántica|quântica|quantique|quanten*|kuantum|الكم"),
        **_entries("community", "community|comunidad|comunidade|communauté|gemeinschaft|topluluk*|المجتمع"),
        **_entries(
            "analytics",
            "analytics|analítica|análisis de datos|análise de dados|analytique|analytik|analitik|التحليلات",
        ),
        **_entries(
            "platform engineering",
            "platform engineering|ingeniería de plataformas|engenharia de plataforma|"
            "ingénierie de plateforme|plattform-engineering",
        ),
        **_entries("performance", "performance|rendimiento|desempenho|leistung|performans|الأداء"),
        **_entries(
            "compliance",
            "compliance|regulation|regulated|cumplimiento|normativa|regulación|conformidade|"
            "regulamentação|conformité|réglementation|regulierung|uyumluluk|الامتثال",
        ),
        **_entries("streaming", "streaming|real-time|tiempo real|tempo real|temps réel|echtzeit"),
        **_entries("open source", "open source|código abierto|código aberto|logiciel libre|açık kaynak"),
    }
)

# Words that carry no subject of their own: function words, question words, courtesy, vague nouns.
_FILLER: Final = frozenset(
    _fold(
        "a an the some any this that these those it its is are was were be been being do does did can "
        "could would should will shall may might must i me my mine you your we our us they them their he "
        "she his her what whats which who whom whose when where why how there here please pls plz thanks "
        "thank and or but so then also too just only about on in at of to for from with by into during over "
        "up as if anything something everything all more most other else one ones interesting good best "
        "great cool nice fun worth useful relevant helpful see attend go going happen happening happens get "
        "know tell show give "
        "let like want love interested into am im m re ve d ll s t time hmm ok okay hey hi hello still "
        "el la los las lo un una unos unas algo alguna alguno algunas algunos que quien cual cuales cuando "
        "donde como de del al en con por para sin sobre y o e u pero mi mis me te tu tus su sus nos es son "
        "esta estan este estos estas ese esa hay ha va voy ir ver puedo puede quiero gustaria interesante "
        "bueno buena mejor mas otra otro otras otros aqui alli favor gracias hola pues entonces tambien ya "
        "todo toda todos todas nada sigue pasa toca viene "
        "os as um uma uns umas algum quem qual quais onde do da dos das ao aos no na nas em pelo pela sem "
        "ou mas meu minha meus minhas voce voces seu sua sao estao tem vai vou posso pode quero gostaria "
        "bom boa ai ali obrigado obrigada ola entao ja tudo "
        "le les l un une des du d au aux a dans sur par avec et mon ma mes vous nous il ils elle elles y "
        "est sont c ce cet cette ces qu quoi qui quel quelle quels quelles quand ou se passe bien plus "
        "autre autres ici la svp merci bonjour alors aussi deja tout tous rien peux je j "
        "der die das den dem des ein eine einen einem einer was wer wann wo wie welche welcher welches "
        "ist sind gibt gibts lauft kommt steht an im um zu zum zur von vom mit fur auf aus bei und oder "
        "aber mein meine mich mir ich du sie wir ihr ihnen etwas gut gute beste mehr andere hier dort "
        "bitte danke hallo dann auch schon alles los noch denn mal es "
        "bir bu su o ne neler hangi kim nerede var mı mi mu mü ve veya ile için da ki ama benim bana beni "
        "sen siz biz onlar sey seyler ilginc iyi guzel daha baska burada orada lutfen merhaba acaba olan "
        "olacak oluyor "
        "ما ماذا من هو هي هل في على الى إلى عن مع و أو لكن هذا هذه ذلك تلك هناك هنا يوجد توجد شيء أي لي "
        "لنا انا أنا انت أنت نحن يحدث الذي التي رجاء فضلك شكرا مرحبا"
    ).split()
)
# Where a subject ends, reading on from "about": a question word or a preposition of place or time.
_SUBJECT_ENDS: Final = frozenset(
    _fold(
        "in at on during where when who which what is are en donde cuando quien cual hay es em no na nos "
        "nas onde quando quem qual dans quand qui quel quelle est im am um wo wann wer welche ist gibt ne "
        "nerede zaman kim hangi var في متى أين من هل"
    ).split()
)
_CONJUNCTIONS: Final = frozenset(_fold("and or y o e u ou et und oder ve veya و أو").split())
_ARTICLES: Final = frozenset(_fold("the a an that this what which any der den die das dem").split())
_TALK_NOUNS: Final = frozenset(_fold("talk session presentation vortrag").split())


def _folded_list(phrases: str) -> tuple[str, ...]:
    return tuple(_fold(phrase) for phrase in phrases.split("|"))


_ROOM_KINDS: Final = _folded_list(
    "room|sala|salle|raum|saal|salon|salão|hall|aula|oda|auditorium|auditorio|auditório|oditoryum|amphi|"
    "قاعة|القاعة|غرفة|الغرفة"
)
_ROOM_GENERIC: Final = frozenset(_fold("main level floor the centre center area zone hall room").split())
_ROOM_WORD_TRANSLATIONS: Final[dict[str, tuple[str, ...]]] = {
    "lab": _folded_list("laboratorio|laboratório|laboratoire|labor|laboratuvar|مختبر"),
    "stage": _folded_list("escenario|palco|scène|bühne|sahne|مسرح"),
    "foyer": _folded_list("vestíbulo|fuaye|البهو"),
    "dining": _folded_list("comedor|refeitório|speisesaal"),
}
_TITLES: Final = frozenset({"dr", "prof", "mr", "mrs", "ms", "mx", "sir", "dame", "dra"})


# --- The catalog's names ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Names:
    rooms: _Lexicon
    speakers: _Lexicon
    topics: _Lexicon


def _unique_aliases(aliases_of: Iterable[tuple[str, str, bool]]) -> dict[str, str]:
    """alias -> name, keeping an alias only when it names one thing (full names always win)."""
    owners: dict[str, set[str]] = {}
    full: dict[str, str] = {}
    for name, alias, is_full in aliases_of:
        if not alias:
            continue
        if is_full:
            full.setdefault(alias, name)
        owners.setdefault(alias, set()).add(name)
    unique = {alias: next(iter(who)) for alias, who in owners.items() if len(who) == 1}
    return {**unique, **full}


def _room_aliases(room: str) -> Iterable[tuple[str, str, bool]]:
    yield room, _fold(room), True
    bare = _fold(re.sub(r"\([^()]*\)", " ", room))
    yield room, bare, True
    words = bare.split()
    if len(words) == 2 and words[0] in _ROOM_KINDS:
        core = words[1]
        for kind in _ROOM_KINDS:
            yield room, f"{kind} {core}", False
        yield room, f"{core} salon*", False
        yield room, f"{core} nolu salon*", False
        yield room, f"{core} oda*", False
        if any(ch.isdigit() for ch in core):
            yield room, core, False
        return
    for word in words:
        if word in _ROOM_KINDS or word in _ROOM_GENERIC or word in _FILLER or len(word) < 3:
            continue
        if _GLOSSARY.find(_Text.of(word), None):
            continue  # "workshop" of "Workshop Lab" is a topic on its own
        yield room, word, False
        for translation in _ROOM_WORD_TRANSLATIONS.get(word, ()):
            yield room, translation, False


def _speaker_aliases(speaker: str) -> Iterable[tuple[str, str, bool]]:
    words = [w for w in _fold(speaker).split() if w not in _TITLES and w != _CLAUSE]
    if not words:
        return
    yield speaker, " ".join(words), True
    candidates = {words[0], words[-1]}
    if len(words) >= 3:
        candidates |= {" ".join(words[:2]), " ".join(words[-2:])}
    for alias in candidates:
        if len(alias) >= 3 and alias not in _FILLER:
            yield speaker, alias, False


@lru_cache(maxsize=16)
def _names(catalog: Catalog) -> _Names:
    rooms = _unique_aliases(a for room in catalog.rooms for a in _room_aliases(room))
    speakers = _unique_aliases(a for speaker in catalog.speakers for a in _speaker_aliases(speaker))
    topics = {
        folded: topic
        for topic in catalog.topics
        if (folded := _fold(topic)) and len(folded) >= 3 and folded not in _FILLER
    }
    return _Names(_Lexicon(rooms), _Lexicon(speakers), _Lexicon(topics))


# --- Reading a question ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Time:
    relative: str | None = None
    base: str | None = None
    part: str | None = None
    day: date | None = None
    outside: bool = False  # a day was named that is not one of the event's
    tokens: set[int] = field(default_factory=set)

    @property
    def named(self) -> bool:
        return bool(self.relative or self.base or self.part or self.day)

    def window(self) -> str | None:
        if self.relative:
            return self.relative
        part = self.part or ""
        if self.base == "tomorrow":
            return {"morning": "tomorrow_morning", "afternoon": "tomorrow_afternoon"}.get(part, "tomorrow")
        parts = {"morning": "this_morning", "afternoon": "this_afternoon", "evening": "this_evening"}
        if self.base == "today":
            return parts.get(part, "today")
        if part:
            return parts[part]
        return None


def _read_time(text: _Text, catalog: Catalog, language: str | None, skip: frozenset[int]) -> _Time:
    found = _Time()
    days = sorted(catalog.days)
    for hit in _TIME.find(text, language, skip):
        found.tokens.update(hit.tokens)
        for slot in filter(None, hit.label.split(",")):
            key, _, value = slot.partition("=")
            if key == "rel":
                found.relative = found.relative or value
            elif key == "base":
                found.base = found.base or value
            elif key == "part":
                found.part = found.part or value
            elif key == "n":
                number = int(value)
                index = number - 1 if number > 0 else len(days) + number
                if 0 <= index < len(days):
                    found.day = found.day or days[index]
                else:
                    found.outside = True
            elif key in ("wd", "wd~"):
                on = [d for d in days if d.weekday() == int(value)]
                if on:
                    found.day = found.day or on[0]
                elif key == "wd":
                    found.outside = True
    for match in _DATE.finditer(text.joined):
        first = text.token_at(match.start())
        if skip.intersection(range(first, text.token_at(match.end() - 1) + 1)):
            continue
        month = _MONTHS[match.group("m1") or match.group("m2")]
        number = int(match.group("d1") or match.group("d2"))
        on = [d for d in days if (d.month, d.day) == (month, number)]
        found.tokens.update(range(first, text.token_at(match.end() - 1) + 1))
        if on:
            found.day = found.day or on[0]
        else:
            found.outside = True
    return found


def _first(hits: Sequence[_Hit]) -> _Hit | None:
    return min(hits, key=lambda hit: hit.first) if hits else None


def _opening(text: _Text, hits: Sequence[_Hit]) -> bool:
    """A question word of ``hits`` opens a clause ("start") or stands anywhere ("any")."""
    return any(hit.label == "any" or text.clause_start(hit.first) for hit in hits)


@dataclass(slots=True)
class _Subject:
    """The subject of a question in English, term by term in order, and the tokens it came from."""

    terms: list[str] = field(default_factory=list)
    tokens: set[int] = field(default_factory=set)
    marked: bool = False  # "about X", "I like X", "the X talk" or "when is X on" named it
    known: bool = False  # a topic word of the glossary or the catalog is among them


def _passes(text: _Text, index: int, taken: set[int]) -> bool:
    """A word that may stand for itself in a topic: a Latin-script content word ("Kafka", "zero")."""
    folded = text.folded[index]
    return (
        index not in taken
        and folded != _CLAUSE
        and folded not in _FILLER
        and len(folded) >= 3
        and not folded.isdigit()
        and not _ARABIC.search(folded)
    )


def _span(text: _Text, start: int, step: int, stop: set[int]) -> list[int]:
    """Tokens of a subject from ``start`` (forwards or backwards) to a clause end, a question word, a name,
    a time or another signal."""
    out: list[int] = []
    index = start
    while 0 <= index < len(text.folded) and len(out) < 6:
        folded = text.folded[index]
        if folded == _CLAUSE or folded in _SUBJECT_ENDS or index in stop:
            break
        out.append(index)
        index += step
    return out


def _talk_subject(text: _Text, nouns: Sequence[_Hit]) -> list[int]:
    """ "the data lake talk", "der Kafka-Vortrag": the words between an article and a talk noun."""
    out: list[int] = []
    for hit in nouns:
        if text.folded[hit.first].rstrip("s") not in _TALK_NOUNS:
            continue
        between: list[int] = []
        index = hit.first - 1
        while index >= 0 and len(between) < 3 and text.folded[index] not in _ARTICLES:
            between.append(index)
            index -= 1
        if index >= 0 and text.folded[index] in _ARTICLES:
            out.extend(between)
    return out


# "when is zero trust on?": a subject between "when is" and a final "on".
_WHEN_IS_ON: Final = re.compile(
    r"^ when (?:is|s|does) (?:the )?((?:[^ |]+ ){1,4})(?:on|happening|taking place) (?:\| )?$"
)


def _known(text: _Text, language: str | None, names: _Names, stop: frozenset[int]) -> list[_Hit]:
    """Topic words the glossary or the catalog knows; of two that overlap, the longer wins ("Data
    Engineering" of the catalog over the glossary's "data"), the glossary's on a tie."""
    hits = _GLOSSARY.find(text, language, stop)
    if language == "pt":  # "data" is Portuguese for "date"
        hits = [hit for hit in hits if text.folded[hit.first] != "data"]
    ranked = sorted(
        [(hit, 0) for hit in hits] + [(hit, 1) for hit in names.topics.find(text, language, stop)],
        key=lambda item: (-(item[0].end - item[0].first), item[1], item[0].first),
    )
    chosen: list[_Hit] = []
    for hit, _ in ranked:
        if not any(set(hit.tokens) & set(other.tokens) for other in chosen):
            chosen.append(hit)
    return chosen


def _subject(
    text: _Text,
    language: str | None,
    names: _Names,
    stop: set[int],
    nouns: Sequence[_Hit],
    markers: Sequence[_Hit],
) -> _Subject:
    """What the question is about: known topic words anywhere (in English), and the other words that an
    "about"/"like" marker, "the X talk" or "when is X on" points at (as written). Neighbouring words make
    one term ("zero trust", "data engineering"); a conjunction or a filler word separates terms."""
    subject = _Subject()
    items: list[tuple[int, int, str]] = []
    for hit in _known(text, language, names, frozenset(stop)):
        subject.known = True
        items.append((hit.first, hit.end, hit.label))
        subject.tokens.update(hit.tokens)
    free: list[int] = []
    for marker in markers:
        subject.marked = True
        if marker.label == "back":
            free.extend(_span(text, marker.first - 1, -1, stop))
        else:
            free.extend(_span(text, marker.end, 1, stop))
    free.extend(_talk_subject(text, nouns))
    when_on = _WHEN_IS_ON.match(text.joined)
    if when_on:
        first = text.token_at(when_on.start(1))
        free.extend(range(first, first + len(when_on.group(1).split())))
    noun_tokens = {i for hit in nouns for i in hit.tokens}
    own = sorted({i for i in free if _passes(text, i, stop | subject.tokens | noun_tokens)})
    if own:
        subject.marked = True
    subject.tokens.update(own)
    items.extend((i, i + 1, text.words[i] if _proper(text.words[i]) else text.folded[i]) for i in own)
    merged: list[tuple[int, int, str]] = []
    for first, end, term in sorted(items):
        # Two known words stay apart ("cloud", "security"): Arabic writes "and" onto the next word.
        if merged and merged[-1][1] == first and (first in own or merged[-1][1] - 1 in own):
            merged[-1] = (merged[-1][0], end, f"{merged[-1][2]} {term}")
        else:
            merged.append((first, end, term))
    for _, _, term in merged:
        if term.lower() not in {t.lower() for t in subject.terms}:
            subject.terms.append(term)
    return subject


def _proper(word: str) -> bool:
    return any(ch.isupper() for ch in word)


def _leftover(text: _Text, explained: set[int]) -> int:
    """How many content words no rule accounts for."""
    count = 0
    for index, folded in enumerate(text.folded):
        if index in explained or folded == _CLAUSE or folded in _FILLER or folded.isdigit():
            continue
        if _ARABIC.search(folded) and _arabic_filler(folded):
            continue
        count += 1
    return count


def _arabic_filler(word: str) -> bool:
    for prefix in ("وال", "فال", "بال", "لل", "ال", "و", "ف", "ب", "ل"):
        if word.startswith(prefix) and word[len(prefix) :] in _FILLER:
            return True
    return word in _FILLER


def _call(name: str, **values: object) -> ToolCall:
    return ToolCall(name, {key: value for key, value in values.items() if value not in (None, "", [])})


def interpret(question: str, catalog: Catalog, *, language: str | None = None) -> ToolCall | None:
    """The agenda tool call that answers ``question``, or None when it is not a schedule question.

    ``language`` is the question's language when known (else detected); it only settles words that mean
    different things in different languages (German "KI", Portuguese "data" and "oficina").
    """
    if not question or len(question) > MAX_QUESTION_CHARS:
        return None
    language = language or detect(question)
    text = _Text.of(question)
    if not any(folded != _CLAUSE for folded in text.folded):
        return None
    if _BLOCK.find(text, language) or _opening(text, _ASKS_HOW.find(text, language)):
        return None
    names = _names(catalog)
    rooms = names.rooms.find(text, language)
    room_tokens = {i for hit in rooms for i in hit.tokens}
    speakers = names.speakers.find(text, language, frozenset(room_tokens))
    named = room_tokens | {i for hit in speakers for i in hit.tokens}
    skip = frozenset(named)
    time = _read_time(text, catalog, language, skip)
    if time.outside:
        return None  # "on Tuesday" before the event, "day 3" of two: the documents may know
    skip = skip | frozenset(time.tokens)
    generic = _GENERIC.find(text, language, skip)
    nouns = _NOUN.find(text, language, skip)
    asks_when = _WHEN_QUESTION.find(text, language, skip)
    recommend = _RECOMMEND.find(text, language, skip)
    likes = _LIKE.find(text, language, skip)
    about = _ABOUT.find(text, language, skip)
    signals = [*generic, *asks_when, *recommend, *likes, *about]
    stop = set(named) | time.tokens | {i for hit in signals for i in hit.tokens}
    subject = _subject(text, language, names, stop, nouns, [*about, *likes])
    leftover = _leftover(text, stop | subject.tokens | {i for hit in nouns for i in hit.tokens})
    room = _first(rooms)
    speaker = _first(speakers)
    window = time.window()
    day = time.day.isoformat() if time.day else None
    topic = " ".join(subject.terms) or None

    if (recommend or likes) and not (room or speaker):
        return _recommendation(
            time, subject, asked=bool(recommend), about=bool(about), nouns=bool(nouns), leftover=leftover
        )
    if _opening(text, _WHO.find(text, language)) and not (time.named or room):
        return None  # "who is Ingrid Solberg?", "who talks about zero trust?": the documents tell
    if _opening(text, _WHERE.find(text, language)) and not time.named:
        return None  # "where is the opening keynote?"
    if speaker is not None:
        if _PERSON.find(text, language, skip):
            return None
        speaking = _SPEAKING.find(text, language, skip)
        by = speaker.first > 0 and text.folded[speaker.first - 1] in _BY
        if (time.named or nouns or speaking or by or asks_when or generic) and leftover <= 2:
            return _call(
                FIND_SESSIONS,
                when=window or "any",
                day=day,
                speaker=speaker.label,
                room=room.label if room else None,
                topic=topic,
            )
        return None
    if room is not None:
        if (time.named or nouns or generic) and leftover <= 2:
            return _call(
                FIND_SESSIONS,
                when=window or ("any" if day else "upcoming"),
                day=day,
                room=room.label,
                topic=topic,
            )
        return None
    distinct_noun = any(not subject.tokens.intersection(hit.tokens) for hit in nouns)
    if topic and (subject.marked or distinct_noun):
        if (nouns or asks_when or time.named or generic) and leftover <= 2:
            return _call(FIND_SESSIONS, when=window or "any", day=day, topic=topic)
        return None
    if time.named:
        words = sum(folded != _CLAUSE for folded in text.folded)
        short = not (nouns or generic or asks_when) and leftover == 0 and words <= 5
        if ((generic or nouns) and leftover <= 2) or short:
            return _call(FIND_SESSIONS, when=window or "any", day=day, topic=topic)
        return None
    opening = _first(generic)
    in_opening = {i for hit in generic for i in hit.tokens}
    if opening is not None and leftover == 0 and all(set(hit.tokens) <= in_opening for hit in nouns):
        return _call(FIND_SESSIONS, when=opening.label)
    return None


def _recommendation(
    time: _Time, subject: _Subject, *, asked: bool, about: bool, nouns: bool, leftover: int
) -> ToolCall | None:
    """ "What should I see? I like security and data": ``recommend_sessions`` with the interests; without
    any interest, the sessions of the time asked (``next`` by default)."""
    if leftover > (2 if nouns else 1 if subject.known else 0):
        return None
    # An interest needs a topic word we know, a proper noun ("Kafka"), or a talk noun or "about" pointing
    # at it: "I like the venue" and "can you suggest a fado place?" are not about sessions.
    evidence = subject.known or nouns or about or any(_proper(term) for term in subject.terms)
    if subject.terms and not evidence:
        return None
    window = time.window()
    if subject.terms:
        return _call(
            RECOMMEND_SESSIONS, interests=subject.terms, when=window or "upcoming", limit=RECOMMEND_LIMIT
        )
    if not asked:
        return None  # "I like..." with nothing we can read: leave it
    return _call(FIND_SESSIONS, when=window or "next", day=time.day.isoformat() if time.day else None)


# --- Writing the reply -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Shown:
    title: str
    start: datetime
    end: datetime
    room: str
    speakers: tuple[str, ...]


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _sessions(raw: object) -> list[_Shown]:
    shown: list[_Shown] = []
    if not isinstance(raw, list):
        return shown
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        start, end = _moment(item.get("start")), _moment(item.get("end"))
        if start is None or end is None:
            continue
        speakers = item.get("speakers")
        names = tuple(str(s) for s in speakers) if isinstance(speakers, list) else ()
        shown.append(_Shown(str(item.get("title") or ""), start, end, str(item.get("room") or ""), names))
    return shown


def _date(day: date, language: str | None) -> str:
    weekdays = replies.say("agenda_weekdays", language).split()
    months = replies.say("agenda_months", language).split()
    return replies.say(
        "agenda_date", language, weekday=weekdays[day.weekday()], day=day.day, month=months[day.month - 1]
    )


def _line(session: _Shown, with_date: bool, language: str | None) -> str:
    line = f"{session.start:%H:%M}-{session.end:%H:%M} {session.title}"
    if with_date:
        line = f"{_date(session.start.date(), language)} {line}"
    if session.room:
        line += f" — {session.room}"
    if session.speakers:
        line += f" ({', '.join(session.speakers)})"
    return line


_WINDOW_KEYS: Final[dict[str, str]] = {
    "later_today": "agenda_later",
    "today": "agenda_today",
    "this_morning": "agenda_this_morning",
    "this_afternoon": "agenda_this_afternoon",
    "this_evening": "agenda_this_evening",
    "tomorrow": "agenda_tomorrow",
    "tomorrow_morning": "agenda_tomorrow_morning",
    "tomorrow_afternoon": "agenda_tomorrow_afternoon",
    "upcoming": "agenda_upcoming",
}


def _text_input(call: ToolCall, key: str) -> str | None:
    value = call.input.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _day_input(call: ToolCall) -> date | None:
    value = _text_input(call, "day")
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _heading(call: ToolCall, when: str, sessions: list[_Shown], now: datetime, language: str | None) -> str:
    if call.name == RECOMMEND_SESSIONS:
        return replies.say("agenda_recommend", language)
    speaker, room, topic = _text_input(call, "speaker"), _text_input(call, "room"), _text_input(call, "topic")
    if speaker:
        return replies.say("agenda_by_speaker", language, speaker=speaker)
    if room:
        key = {"now": "agenda_room_now", "next": "agenda_room_next"}.get(when, "agenda_room")
        return replies.say(key, language, room=room)
    if topic:
        return replies.say("agenda_about", language, topic=topic)
    if when == "now":
        return replies.say("agenda_now", language, time=f"{now:%H:%M}")
    if when == "next":
        return replies.say("agenda_next", language, time=f"{min(s.start for s in sessions):%H:%M}")
    day = _day_input(call)
    if day is not None and when == "any":
        return replies.say("agenda_on_day", language, day=_date(day, language))
    if when in _WINDOW_KEYS:
        return replies.say(_WINDOW_KEYS[when], language)
    return replies.say("agenda_sessions", language)


def _nothing(
    call: ToolCall, when: str, result: Mapping[str, object], now: datetime, language: str | None
) -> str:
    if call.name == RECOMMEND_SESSIONS:
        sentence = replies.say("agenda_none_recommend", language)
    elif speaker := _text_input(call, "speaker"):
        sentence = replies.say("agenda_none_by_speaker", language, speaker=speaker)
    elif topic := _text_input(call, "topic"):
        sentence = replies.say("agenda_none_about", language, topic=topic)
    elif room := _text_input(call, "room"):
        sentence = replies.say("agenda_none_room", language, room=room)
    elif when == "now":
        sentence = replies.say("agenda_none_now", language)
    elif when in ("next", "later_today", "upcoming"):
        sentence = replies.say("agenda_none_next", language)
    else:
        sentence = replies.say("agenda_none", language)
    days = sorted(d for d in map(_event_day, _list(result.get("event_days"))) if d is not None)
    if days and now.date() < days[0]:
        sentence += " " + replies.say("agenda_not_started", language, day=_date(days[0], language))
    elif days and now.date() > days[-1]:
        sentence += " " + replies.say("agenda_over", language)
    return sentence


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _event_day(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def render(call: ToolCall, result: Mapping[str, object], *, language: str | None, limit: int = 6) -> str:
    """The WhatsApp reply to a schedule question from the result of ``call``: a first line that answers,
    then one line a session (``HH:MM-HH:MM Title — Room (Speakers)``, dated when not all are on the day of
    ``now``), at most ``limit`` of them and "…and N more". Titles, rooms and names are quoted as they are;
    times are the event's, as the result's ISO strings carry its offset. "" for an ``{"error": ...}`` or
    unreadable result, so that the caller falls back to the documents."""
    if "error" in result:
        return ""
    language = language if language in replies.TEXTS else replies.DEFAULT_LANGUAGE
    now = _moment(result.get("now"))
    if now is None or not isinstance(result.get("sessions"), list):
        return ""
    sessions = _sessions(result.get("sessions"))
    asked = _text_input(call, "when") or ("upcoming" if call.name == RECOMMEND_SESSIONS else "any")
    reported = result.get("when")
    when = reported if isinstance(reported, str) and reported else asked
    if sessions and sessions[0].start.tzinfo is not None and now.tzinfo is not None:
        now = now.astimezone(sessions[0].start.tzinfo)
    if not sessions:
        return _nothing(call, when, result, now, language)
    heading = _heading(call, when, sessions, now, language)
    if asked == "now" and when != "now":
        heading = f"{replies.say('agenda_none_now', language)} {heading}"
    limit = max(1, limit)
    with_date = any(s.start.date() != now.date() for s in sessions)
    lines = [heading, *(_line(s, with_date, language) for s in sessions[:limit])]
    total = result.get("total")
    count = max(total if isinstance(total, int) and not isinstance(total, bool) else 0, len(sessions))
    if count > min(limit, len(sessions)):
        lines.append(replies.say("agenda_more", language, count=count - min(limit, len(sessions))))
    return "\n".join(lines)


__all__ = [
    "FIND_SESSIONS",
    "RECOMMEND_LIMIT",
    "RECOMMEND_SESSIONS",
    "Catalog",
    "ToolCall",
    "interpret",
    "render",
]
