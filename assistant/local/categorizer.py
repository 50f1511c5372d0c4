"""LocalCategorizer: the ``Categorizer`` port offline, on the local engine's multilingual e5 embeddings.

A question is embedded once (as a query) and compared with each known category's description (a passage:
the name, plus for the default categories keywords in several languages, see ``services/categories.py``).
e5's cosine similarities sit in a narrow band (about 0.75 to 0.90 for any two texts), and some questions are
close to everything; so a category's score is its similarity minus the question's mean similarity to the ten
default descriptions, which serve as a fixed background whatever the event's categories are. A category is
chosen when its score clears its bar: ``threshold`` for a described category, ``new_threshold`` for one
known only by its name (the organizers' own, or one proposed earlier), whose similarities run differently.

When none clears its bar, a new category is proposed from the question's most salient content words (those
closest in meaning to the question itself) and ``settle`` merges it with a near-duplicate or caps it to
``OTHER_CATEGORY``. A proposal is in the question's language: the model does not translate.

Both bars were calibrated on the labelled questions of ``tests/functional/test_categorizers.py``.
"""

from __future__ import annotations

import re

import numpy as np

from assistant.local.engine.embedding import Embedder, Vectors
from assistant.ports import OTHER_CATEGORY
from assistant.services.categories import (
    DEFAULT_CAP,
    DEFAULT_CATEGORIES,
    describe,
    is_other,
    settle,
)

THRESHOLD = 0.022
"""Bar of a described category: its similarity above the question's background similarity."""
NEW_THRESHOLD = 0.038
"""Bar of a category known only by its name."""
PAIR_MARGIN = 0.01
"""A second salient word joins the proposal when it is this close to the first in similarity."""
MAX_QUESTION_CHARS = 1000
_CACHE_SIZE = 512

# Function words of the event's languages (en, es, pt, fr, de, tr, ar): never a category's name.
_STOPWORDS = frozenset(
    """
a about after again all also am an and any anyone anything are as at be been before being but by can could
did do does doing for from get got had has have here how i if in into is it its just let me more my near
need no not now of off on one or our out over please so some someone something somewhere than that the
their them then there these they this those to today tomorrow tonight too up us was we were what when where
which who whom why will with would you your there's what's where's when's who's it's i'm can't don't
doesn't isn't event
el la los las un una unos unas de del al y o en con sin por para que qué cómo como dónde donde cuándo
cuando quién quien cuál cual es son está están estoy hay mi mis tu su sus se me te le lo nos puedo puede
podemos hoy mañana algún alguna algo alguien otro otros otra otras muy ya también esta este ese esa evento
os as um uma do da dos das no na nas em com pra porque onde quem qual são tem têm meu minha seu sua posso
pode hoje amanhã vai ser até isso isto aqui
le les une des du au aux et ou dans avec pour par qui quoi comment où quand quel quelle quels quelles sont
il elle je vous nous mon ma mes son sa ses ce cette ces pas ne est-il est-ce peut puis puis-je
aujourd'hui demain ici très aussi
der die das den dem des ein eine einen einem einer und oder im mit für von zu zum zur auf an am ist sind
gibt es ich du sie wir mein meine wie wo wann wer was welche welcher kann können heute morgen abend mich
mir sich hier auch noch
bir ve veya ile için da mi mı mu mü ne nerede nasıl zaman kim hangi var yok bu şu ben sen biz siz benim
bugün yarın burada
في من إلى على عن مع هل ما ماذا أين متى كيف هو هي هذا هذه ذلك أنا يوجد هناك أو اليوم غدا
""".split()
)
_WORD = re.compile(r"[^\W\d_](?:[\w'’-]*[^\W_])?")
_ELISION = re.compile(r"^(?:[ldjmnst]|qu)['’]", re.IGNORECASE)


class LocalCategorizer:
    """The ``Categorizer`` port on an ``Embedder``. Safe to share between threads: the caches are plain dicts
    (each step atomic under the GIL), and at worst a vector is computed twice, identically."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        threshold: float = THRESHOLD,
        new_threshold: float = NEW_THRESHOLD,
        cap: int = DEFAULT_CAP,
    ) -> None:
        self._embedder = embedder
        self._threshold = threshold
        self._new_threshold = new_threshold
        self._cap = cap
        self._descriptions: dict[str, Vectors] = {}
        """Passage vectors of category descriptions (few: the set is capped, and names are stable)."""
        self._words: dict[str, Vectors] = {}
        """Passage vectors of candidate words for new names (only asked for when nothing fits)."""

    def categorize(self, question: str, known: list[str]) -> str:
        text = " ".join(question.split())[:MAX_QUESTION_CHARS]
        if not text:
            return OTHER_CATEGORY
        query = self._embedder.embed_queries([text])[0]
        best = self._best(query, known)
        if best is not None:
            return best
        proposal = self._propose(text, query)
        return settle(proposal, known, cap=self._cap) if proposal else OTHER_CATEGORY

    def scores(self, question: str, known: list[str]) -> dict[str, float]:
        """Each known category's score for ``question`` (its similarity above the background): what the bars
        are compared with, for calibration."""
        query = self._embedder.embed_queries([" ".join(question.split())[:MAX_QUESTION_CHARS]])[0]
        names = _candidates(known)
        return dict(zip(names, (float(s) for s in self._scores(query, names)), strict=True))

    def _best(self, query: Vectors, known: list[str]) -> str | None:
        names = _candidates(known)
        if not names:
            return None
        scores = self._scores(query, names)
        bars = np.array(
            [self._threshold if describe(name) != name else self._new_threshold for name in names],
            dtype=np.float32,
        )
        # Each category against its own bar: the one that clears it by the most wins.
        index = int(np.argmax(scores - bars))
        return names[index] if scores[index] >= bars[index] else None

    def _scores(self, query: Vectors, names: list[str]) -> Vectors:
        described = self._vectors([describe(c) for c in DEFAULT_CATEGORIES], self._descriptions)
        background = float(np.mean(described @ query))
        result: Vectors = self._vectors([describe(name) for name in names], self._descriptions) @ query
        return result - background

    def _propose(self, text: str, query: Vectors) -> str:
        """A name from the one or two content words of ``text`` closest in meaning to all of it."""
        words = _content_words(text)
        if not words:
            return ""
        similarity = self._vectors(words, self._words) @ query
        order = np.argsort(-similarity)
        chosen = [int(order[0])]
        if len(order) > 1 and similarity[order[0]] - similarity[order[1]] <= PAIR_MARGIN:
            chosen.append(int(order[1]))
        return " ".join(words[i] for i in sorted(chosen))

    def _vectors(self, texts: list[str], cache: dict[str, Vectors]) -> Vectors:
        found = {text: cache[text] for text in texts if text in cache}
        missing = [text for text in dict.fromkeys(texts) if text not in found]
        if missing:
            for text, vector in zip(missing, self._embedder.embed(missing), strict=True):
                found[text] = cache[text] = vector
            while len(cache) > _CACHE_SIZE:
                cache.pop(next(iter(cache)), None)  # the oldest: a long-running twin sees many words
        return np.stack([found[text] for text in texts])


def _candidates(known: list[str]) -> list[str]:
    return [name for name in dict.fromkeys(known) if name and not is_other(name)]


def _content_words(text: str) -> list[str]:
    """The question's words that could name a topic, lower-cased, in order, once each."""
    out: list[str] = []
    for match in _WORD.finditer(text):
        word = _ELISION.sub("", match.group().strip("'’-")).lower()
        if len(word) < 3 or word in _STOPWORDS or word in out:
            continue
        out.append(word)
    return out
