"""The categories of attendees' questions, as organizers see them on the dashboard.

A dashboard is only readable when its categories are few and stable, so every categorizer (the Bedrock
one, the local one) ends with :func:`settle`: the organizers' predefined categories come first, a proposal
that is a near-duplicate of a known category (:func:`same_category`: "Food and Drink" and "Food & Drinks")
is counted under the known one, and once ``cap`` categories exist nothing new is made: the question counts
as ``OTHER_CATEGORY``.

Pure on purpose (no boto3, no numpy): the inbound path may import it, and its rules are the product's.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from assistant.ports import OTHER_CATEGORY

DEFAULT_CATEGORIES: tuple[str, ...] = (
    "Agenda & Sessions",
    "Speakers",
    "Venue & Facilities",
    "Wi-Fi & Tech",
    "Food & Drink",
    "Travel & Parking",
    "Registration & Badges",
    "Accessibility",
    "Safety & Conduct",
    "Networking & Social",
)
"""What attendees of most events ask about; used when the organizers configure none."""

CATEGORY_KEYWORDS: dict[str, str] = {
    "Agenda & Sessions": (
        "agenda schedule program timetable session talk keynote workshop panel track start time what time"
        " horario programa sesión charla programação palestra programme horaire séance atelier"
        " Zeitplan Programm Vortrag Sitzung program oturum konuşma جدول برنامج جلسة محاضرة"
    ),
    "Speakers": (
        "speaker presenter who is speaking keynote speaker panelist bio ponente orador palestrante"
        " conférencier intervenant Sprecher Referent Redner konuşmacı متحدث المتحدثون"
    ),
    "Venue & Facilities": (
        "venue building hall room floor map toilets restroom cloakroom lockers coat check prayer room"
        " lost and found"
        " lugar sala baños guardarropa local banheiro vestiário salle toilettes vestiaire Veranstaltungsort"
        " Raum Toiletten"
        " Garderobe salon tuvalet mekan المكان القاعة دورة المياه"
    ),
    "Wi-Fi & Tech": (
        "wifi wi-fi password internet network connection charger charging socket app login slides"
        " contraseña red internet senha rede mot de passe réseau WLAN Passwort Netzwerk şifre internet"
        " ağ كلمة المرور الإنترنت شبكة واي فاي"
    ),
    "Food & Drink": (
        "food drink lunch breakfast dinner coffee snacks vegetarian vegan halal gluten-free menu water"
        " comida almuerzo café bebida almoço comida repas déjeuner boisson Essen Mittagessen Kaffee"
        " Getränke yemek öğle yemeği kahve içecek طعام غداء قهوة مشروبات"
    ),
    "Travel & Parking": (
        "travel parking car park directions bus train metro taxi airport shuttle hotel getting there"
        " aparcamiento estacionamiento cómo llegar estacionamento transporte parking stationnement"
        " navette Parkplatz Anfahrt Bahn otopark ulaşım havalimanı servis موقف السيارات المواصلات المطار"
    ),
    "Registration & Badges": (
        "registration register badge ticket check-in sign up pass lanyard name tag certificate invoice"
        " inscripción registro entrada acreditación inscrição credencial ingresso inscription badge billet"
        " Anmeldung Registrierung Ausweis Ticket kayıt yaka kartı bilet التسجيل الشارة تذكرة"
    ),
    "Accessibility": (
        "accessibility wheelchair accessible ramp elevator lift hearing loop sign language interpreter"
        " disability reduced mobility intérprete lengua de señas língua de sinais langue des signes"
        " Gebärdensprache işaret dili لغة الإشارة"
        " accesibilidad silla de ruedas ascensor acessibilidade cadeira de rodas accessibilité fauteuil"
        " roulant Barrierefreiheit Rollstuhl Aufzug erişilebilirlik tekerlekli sandalye asansör"
        " كرسي متحرك مصعد إمكانية الوصول"
    ),
    "Safety & Conduct": (
        "safety security emergency first aid medical doctor code of conduct harassment report lost"
        " seguridad emergencia primeros auxilios acoso segurança emergência sécurité urgence secours"
        " harcèlement Sicherheit Notfall Erste Hilfe Belästigung güvenlik acil durum ilk yardım taciz"
        " أمان طوارئ إسعافات أولية تحرش"
    ),
    "Networking & Social": (
        "networking meet people party evening reception social event drinks after-party meetup community"
        " networking fiesta conocer gente festa confraternização soirée rencontrer Party Kontakte knüpfen"
        " ağ kurma parti tanışma حفلة تعارف التواصل"
    ),
}
"""Words (several languages) that say what each default category covers, for embedding-based matching."""

DEFAULT_CAP = 20
"""At most this many categories (predefined ones included), ``OTHER_CATEGORY`` aside."""

MAX_NAME_CHARS = 40

_MINOR_WORDS = frozenset({"and", "or", "of", "the", "a", "an", "for", "to", "in", "on", "at", "with", "&"})
_IGNORED_WORDS = frozenset({"and", "or", "of", "the", "a", "an", "for", "to", "in", "on", "at", "with"})
_END_JUNK = "\"'`“”‘’«»„.,;:!?¿¡()[]{}<>*_#-–—/\\|&+ \t\n"
_SPLIT = re.compile(r"[^\w&]+")


def normalize(name: str) -> str:
    """A category name as the dashboard shows it: trimmed of quotes and end punctuation, spaces collapsed,
    Title Case ("and"/"&"/"of" stay small), at most ``MAX_NAME_CHARS`` characters cut at a word.

    A model's proposal arrives as ``"food and drinks."`` or ``**Food & Drinks**``: all say one thing."""
    text = " ".join(name.split()).strip(_END_JUNK)
    out = _shape(text)
    if out.isupper() and sum(ch.isalpha() for ch in out) > 4:
        out = _shape(out.lower())  # shouted ("LOST PROPERTY"), not an acronym ("AI")
    return out


def _shape(text: str) -> str:
    out = " ".join(_title(word, first=i == 0) for i, word in enumerate(text.split(" ")) if word)
    if len(out) > MAX_NAME_CHARS:
        cut = out[: MAX_NAME_CHARS + 1]
        out = cut.rsplit(" ", 1)[0] if " " in cut else cut[:MAX_NAME_CHARS]
    while True:
        out = out.strip(_END_JUNK)
        if " " not in out or out.rsplit(" ", 1)[1].lower() not in _MINOR_WORDS:
            return out
        out = out.rsplit(" ", 1)[0]


def _title(word: str, *, first: bool) -> str:
    if not first and word.lower() in _MINOR_WORDS:
        return word.lower()
    # Capitalize each hyphenated part ("wi-fi" -> "Wi-Fi") but leave the rest as written ("AI", "iPhone").
    return "-".join(part[:1].upper() + part[1:] for part in word.split("-"))


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words_of(name: str) -> frozenset[str]:
    """The words that identify a category: case, accents, hyphens, plurals and "and"/"&" ignored.

    Hyphens join ("Wi-Fi" is "wifi") since that is how the same word gets written both ways."""
    folded = _fold(name).replace("-", "").replace("'", "")
    return frozenset(
        _singular(word)
        for word in _SPLIT.split(folded)
        if word and word != "&" and word not in _IGNORED_WORDS
    )


def _alike(a: str, b: str) -> bool:
    """One word, written two ways: "network"/"networking", "register"/"registration"."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    if len(short) < 5:
        return False
    common = len(_common_prefix(short, long))
    return common >= 5 and common >= 0.7 * len(short)


def _common_prefix(a: str, b: str) -> str:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return a[:n]


def _covered(small: frozenset[str], large: frozenset[str]) -> bool:
    return all(any(_alike(word, other) for other in large) for word in small)


def same_category(a: str, b: str) -> bool:
    """Whether two names are near-duplicates: every word of one is in the other ("Wifi" and "Wi-Fi & Tech",
    "Food and Drink" and "Food & Drinks"), or they share at least half of their words.

    Deliberately generous: a dashboard with "Parking" and "Travel & Parking" side by side is worse than one
    question counted under the broader name."""
    left, right = words_of(a), words_of(b)
    if not left or not right:
        return False
    if _covered(left, right) or _covered(right, left):
        return True
    shared = sum(1 for word in left if any(_alike(word, other) for other in right))
    return shared / len(left | right) >= 0.5


_OTHER_WORDS = (
    frozenset({"other"}),
    frozenset({"misc"}),
    frozenset({"miscellaneous"}),
    frozenset({"general"}),
    frozenset({"none"}),
)


def is_other(name: str) -> bool:
    """Whether a name means "no category" ("Other", "Misc", "General"...)."""
    return words_of(name) in _OTHER_WORDS


def settle(proposed: str, known: list[str], *, cap: int) -> str:
    """The category to count for a proposal: the known category it duplicates (the one with the very same
    words first, else the first in ``known``'s order: predefined ones come first there), else the
    proposal itself while fewer than ``cap`` categories exist, else ``OTHER_CATEGORY``."""
    name = normalize(proposed)
    if not name or is_other(name):
        return OTHER_CATEGORY
    candidates = [category for category in known if category and not is_other(category)]
    words = words_of(name)
    for category in candidates:
        if words_of(category) == words:
            return category
    for category in candidates:
        if same_category(name, category):
            return category
    if len(_distinct(candidates)) >= cap:
        return OTHER_CATEGORY
    return name


def _distinct(names: Iterable[str]) -> list[str]:
    seen: set[frozenset[str]] = set()
    out: list[str] = []
    for name in names:
        key = words_of(name)
        if key and key not in seen:
            seen.add(key)
            out.append(name)
    return out


def parse_predefined(text: str) -> list[str]:
    """The organizers' categories from a comma-separated setting ("Tickets, Food & Drink, Sponsors"),
    normalized, in their order, exact repeats and "Other" dropped; none configured: ``DEFAULT_CATEGORIES``.

    Near-duplicates among them are kept: the organizers chose both names on purpose."""
    names = [normalize(part) for part in re.split(r"[,;\n]", text)]
    chosen = _distinct(name for name in names if name and not is_other(name))
    return chosen or list(DEFAULT_CATEGORIES)


def describe(category: str) -> str:
    """What a category covers, for matching a question against it: its name, plus, for a default category
    (however the organizers spelled it: "Food and Drinks"), keywords in several languages."""
    keywords = CATEGORY_KEYWORDS.get(category)
    if keywords is None:
        words = words_of(category)
        keywords = next((text for name, text in CATEGORY_KEYWORDS.items() if words_of(name) == words), None)
    return f"{category}: {keywords}" if keywords else category
