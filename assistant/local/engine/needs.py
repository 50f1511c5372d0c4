"""Attendees' everyday words for what venue guides and FAQs name otherwise.

"My phone is dying" means the charging lockers; "is there somewhere I can pray?" the multi-faith room;
"can I get my money back?" the refund policy. A generating model knows this; an extractive engine that
matches words and meanings of short texts needs to be told. Each need lists the everyday words that ask for
it (a word also matches the longer words it begins) and the words documents use for it; a question that
asks for a need is searched and scored with those words too.

Generic conference and venue vocabulary, not any one event's: the held-out sample event measures it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Need:
    asks: tuple[str, ...]
    """Everyday words or phrases (lower case) that ask for it."""
    named: str
    """The words documents use for it."""


NEEDS: tuple[Need, ...] = (
    Need(
        ("online", "internet", "connect to", "get connected", "wifi", "wi-fi"), "wi-fi wifi network password"
    ),
    Need(
        (
            "phone is dying",
            "phone dying",
            "phone is about to die",
            "battery",
            "charge my",
            "charger",
            "power bank",
            "plug in",
        ),
        "charging charger lockers power",
    ),
    Need(
        ("pray", "prayer", "worship", "mosque", "chapel", "salah", "namaz", "meditate"),
        "prayer multi-faith reflection",
    ),
    Need(("name tag", "lanyard", "nametag", "pass pick", "pick up my pass"), "badge collection registration"),
    Need(("money back", "cancel my", "can't come", "cannot come", "reimburse"), "refund cancellation ticket"),
    Need(
        (
            "year-old",
            "year old",
            "my kid",
            "my kids",
            "my child",
            "my children",
            "my son",
            "my daughter",
            "baby",
            "toddler",
            "babysit",
            "mind my",
        ),
        "children child age minimum childcare family",
    ),
    Need(
        ("university", "college", "student", "studying", "cheaper", "discount"), "student pass price discount"
    ),
    Need(
        ("uncomfortable", "harass", "unsafe", "bothering", "creepy", "inappropriate", "threatened"),
        "code of conduct report harassment safety",
    ),
    Need(
        ("watch", "missed", "catch up", "replay", "recording", "on video"), "recorded recordings video slides"
    ),
    Need(
        ("suitcase", "luggage", "bags", "my bag", "backpack", "rucksack", "coat", "jacket"),
        "cloakroom luggage storage",
    ),
    Need(
        ("hard of hearing", "deaf", "hearing aid", "hearing"), "hearing loop induction captions accessibility"
    ),
    Need(
        ("wheelchair", "mobility", "crutches", "step-free", "stairs"),
        "accessible accessibility lifts step-free",
    ),
    Need(
        (
            "don't eat",
            "do not eat",
            "vegetarian",
            "vegan",
            "dairy",
            "meat",
            "gluten",
            "allerg",
            "halal",
            "kosher",
            "diet",
        ),
        "dietary vegan vegetarian allergens food",
    ),
    Need(
        (
            "calm",
            "quiet",
            "overwhelmed",
            "overstimulated",
            "rest for",
            "sit for",
            "break from",
            "anxious",
            "noise",
        ),
        "quiet low-sensory",
    ),
    Need(
        ("lost my", "left my", "misplaced", "found a", "forgot my", "can't find my", "cannot find my"),
        "lost property lost and found",
    ),
    Need(
        (
            "hurt",
            "sick",
            "unwell",
            "injured",
            "doctor",
            "medic",
            "feel ill",
            "headache",
            "plaster",
            "bandage",
        ),
        "first aid medical",
    ),
    Need(("drive", "driving", "my car", "park the car", "leave the car", "parking"), "parking car park"),
    Need(("hungry", "eat", "food", "lunch", "snack", "midday"), "lunch food catering dining"),
    Need(("thirsty", "water", "drink water", "bottle"), "water refill stations"),
    Need(("toilet", "restroom", "bathroom", "loo", "washroom", "wc"), "toilets restrooms"),
    Need(
        ("breastfeed", "nursing", "nappy", "diaper", "baby change", "changing table"),
        "parents baby changing",
    ),
    Need(("smoke", "smoking", "vape", "cigarette"), "smoking area"),
    Need(("taxi", "cab", "uber", "bolt", "ride home"), "taxi rank"),
    Need(("job", "career", "hiring", "recruit", "cv", "resume"), "careers jobs hiring"),
    Need(("photo", "pictures", "camera", "filmed", "photographed"), "photography photos consent lanyard"),
)


# The same needs asked in the other supported languages (the documents' words stay English: an extractive
# engine quotes the documents, and their passages are found by these words as well as by meaning).
NEEDS_ELSEWHERE: tuple[Need, ...] = (
    Need(
        (
            "acreditación",
            "credencial",
            "crachá",
            "credenciamento",
            "badge",
            "namensschild",
            "ausweis",
            "yaka kartı",
            "kimlik kartı",
            "بطاقة",
            "شارة",
        ),
        "badge registration",
    ),
    Need(
        (
            "certificado",
            "certificat",
            "bescheinigung",
            "teilnahmebescheinigung",
            "zertifikat",
            "sertifika",
            "belge",
            "شهادة",
        ),
        "certificate of attendance",
    ),
    Need(
        ("clausura", "encerramento", "clôture", "abschluss", "kapanış", "الختام", "ختامية"),
        "closing keynote",
    ),
    Need(
        ("apertura", "abertura", "ouverture", "eröffnung", "açılış", "الافتتاح", "افتتاحية"),
        "opening keynote",
    ),
    Need(("comida", "almuerzo", "almoço", "déjeuner", "mittagessen", "öğle yemeği", "غداء"), "lunch food"),
    Need(
        (
            "contraseña",
            "wifi",
            "senha",
            "mot de passe",
            "passwort",
            "wlan",
            "şifre",
            "كلمة المرور",
            "واي فاي",
            "internet",
        ),
        "wi-fi wifi network password",
    ),
    Need(
        (
            "cargar el móvil",
            "cargar mi",
            "batería",
            "carregar",
            "telemóvel",
            "celular",
            "bateria",
            "recharger",
            "batterie",
            "aufladen",
            "akku",
            "şarj",
            "شحن",
        ),
        "charging charger lockers power",
    ),
    Need(
        (
            "rezar",
            "oración",
            "oração",
            "prier",
            "prière",
            "beten",
            "gebetsraum",
            "namaz",
            "mescit",
            "dua",
            "صلاة",
            "الصلاة",
            "أصلي",
        ),
        "prayer multi-faith reflection",
    ),
    Need(
        (
            "baño",
            "aseo",
            "casa de banho",
            "banheiro",
            "toilettes",
            "toilette",
            "tuvalet",
            "دورة المياه",
            "حمام",
        ),
        "toilets restrooms",
    ),
    Need(
        (
            "primeros auxilios",
            "primeiros socorros",
            "premiers secours",
            "erste hilfe",
            "ilk yardım",
            "إسعاف",
            "médico",
            "médecin",
            "arzt",
            "doktor",
            "طبيب",
        ),
        "first aid medical",
    ),
    Need(
        (
            "perdí",
            "objetos perdidos",
            "perdi",
            "achados e perdidos",
            "perdu",
            "objets trouvés",
            "verloren",
            "fundbüro",
            "kaybettim",
            "kayıp eşya",
            "فقدت",
            "المفقودات",
        ),
        "lost property lost and found",
    ),
    Need(
        ("tranquilo", "silencio", "sossego", "calmo", "calme", "ruhig", "ruhe", "sessiz", "sakin", "هادئ"),
        "quiet low-sensory",
    ),
    Need(
        ("aparcar", "aparcamiento", "estacionar", "estacionamento", "garer", "parken", "otopark", "موقف"),
        "parking car park",
    ),
    Need(
        (
            "guardarropa",
            "maleta",
            "bengaleiro",
            "mala",
            "vestiaire",
            "valise",
            "garderobe",
            "koffer",
            "vestiyer",
            "bavul",
            "حقيبتي",
            "خزانة",
        ),
        "cloakroom luggage storage",
    ),
    Need(
        ("reembolso", "devolver el dinero", "remboursement", "erstattung", "geld zurück", "iade", "استرداد"),
        "refund cancellation ticket",
    ),
    Need(
        ("niños", "hijo", "hija", "crianças", "filho", "filha", "enfants", "kinder", "çocuk", "أطفال"),
        "children child age minimum childcare family",
    ),
    Need(
        (
            "silla de ruedas",
            "cadeira de rodas",
            "fauteuil roulant",
            "rollstuhl",
            "tekerlekli sandalye",
            "كرسي متحرك",
        ),
        "accessible accessibility lifts step-free",
    ),
)


def _pattern(phrase: str) -> re.Pattern[str]:
    # A phrase matches at a word start and may run on ("allerg" finds "allergic"); short ones match whole.
    tail = "" if len(phrase) >= 5 else r"\b"
    return re.compile(rf"(?<!\w){re.escape(phrase)}{tail}")


_PATTERNS: tuple[tuple[re.Pattern[str], Need], ...] = tuple(
    (_pattern(phrase), need) for need in NEEDS + NEEDS_ELSEWHERE for phrase in need.asks
)


def named(question: str) -> str:
    """The documents' words for the needs ``question`` asks for ("" when it asks for none)."""
    lowered = question.lower()
    found = dict.fromkeys(need.named for pattern, need in _PATTERNS if pattern.search(lowered))
    return " ".join(found)


def everyday(question: str) -> str:
    """The question's own words that asked for a need ("online" in "how do I get online?"): the documents
    name the need otherwise, so a passage that merely shares them ("tickets are sold online") is no
    better an answer for it."""
    lowered = question.lower()
    return " ".join(dict.fromkeys(m.group(0) for pattern, _ in _PATTERNS for m in pattern.finditer(lowered)))
