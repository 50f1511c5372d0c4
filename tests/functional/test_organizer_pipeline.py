"""The organizers' figures through the local pipeline: questions categorized by the categorize function
beside the answer stage, answers' sources, and an attendee's reaction to a reply counted as feedback on it."""

from __future__ import annotations

import json
from typing import Any

from assistant.local.envelopes import message_envelope, text_envelope
from assistant.local.report import build_report
from assistant.local.runtime import LocalCloud

SENDER = "15550100777"


def run(cloud: LocalCloud, envelope: dict[str, Any]) -> list[dict[str, Any]]:
    before = len(cloud.social.calls)
    cloud.publish_inbound(json.dumps(envelope))
    cloud.drain()
    return cloud.social.calls[before:]


def test_questions_answers_and_reactions_fill_the_organizers_figures(cloud: LocalCloud) -> None:
    calls = run(cloud, text_envelope("What is the Wi-Fi password?", sender=SENDER))
    (reply,) = [c for c in calls if c["message"].get("type") == "text"]
    run(cloud, text_envelope("Who won the football match last night?", sender=SENDER))
    reaction = {"type": "reaction", "reaction": {"message_id": reply["messageId"], "emoji": "👍"}}
    run(cloud, message_envelope(reaction, sender=SENDER))
    run(cloud, message_envelope(reaction, sender=SENDER))  # the same emoji again: a new reaction message
    figures = build_report(cloud)
    assert figures["questions"] == 2
    assert figures["unique_users"] == 1
    assert {c["name"] for c in figures["categories"]} >= {"Wi-Fi & Tech"}
    assert figures["sources"] == {"knowledge_base": 1, "no_answer": 1}
    assert figures["feedback"]["positive"] == 2
    wifi = figures["by_category"]["Wi-Fi & Tech"]
    assert wifi["sources"] == {"knowledge_base": 1} and wifi["feedback"] == {"positive": 2}
    (gap,) = figures["unanswered"]
    assert gap["questions"] == ["Who won the football match last night?"]
    assert figures["latency"]["p50"] is not None
    assert cloud.metrics["QuestionCategorized"] == 2


def test_a_redelivered_question_is_categorized_and_counted_once(cloud: LocalCloud) -> None:
    envelope = text_envelope(
        "Where can I park my car?", sender=SENDER, wamid="wamid.P1", timestamp=1_773_219_600
    )
    run(cloud, envelope)
    run(cloud, envelope)  # SNS delivered it again
    assert build_report(cloud)["questions"] == 1
