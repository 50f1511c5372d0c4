"""AcknowledgementAnswerEngine: the first answer engine. It says, honestly, that the question arrived.

It exists so the whole pipeline (lease, claim, reply, release) runs end to end before a knowledge base is
connected; its answers are recorded with ``source="acknowledgement"`` so they are never taken for real ones.
"""

from __future__ import annotations

from assistant.ports import Answer, ProcessedMessage

_TEXT = (
    "Thanks, I got your question ({length} characters). The event knowledge base is not connected yet, "
    "so I can't answer it for now: please ask at the help desk."
)


class AcknowledgementAnswerEngine:
    def answer(self, question: ProcessedMessage) -> Answer:
        return Answer(text=_TEXT.format(length=len(question.text)), source="acknowledgement")
