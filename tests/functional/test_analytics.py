"""The organizers' counters against moto's DynamoDB: exactly once under redelivery and concurrency, the join
of a question's category with its answer's source in either order, feedback joined to the answer it reacts
to, and nothing but redacted text kept."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from assistant.adapters.analytics import DynamoDBAnalytics
from assistant.fakes import FixedClock, RecordingMetrics
from assistant.ports import AnswerRecord, ProcessedMessage, QuestionRecord, Recipient
from assistant.services.analytics import (
    BUCKET_SECONDS,
    CategorizeService,
    bucket_of,
    feedback_kind,
    percentile,
    redact,
)
from tests.worlds import create_table

NOW = 1_773_219_600.0  # 2026-03-11 09:00 UTC
BUCKET = bucket_of(NOW)


@pytest.fixture
def store() -> Iterator[DynamoDBAnalytics]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client)
        yield DynamoDBAnalytics(client, "t", FixedClock(NOW))


def question(
    key: str, category: str = "Venue & Facilities", *, user: str = "u1", text: str = ""
) -> QuestionRecord:
    return QuestionRecord(key, user, category, "text", BUCKET, "2026-03-11", text)


def test_a_question_is_counted_once_however_often_it_is_delivered(store: DynamoDBAnalytics) -> None:
    assert store.record_question(question("m1"))
    assert not store.record_question(question("m1"))  # SNS or SQS delivered it again
    assert store.question_recorded("m1")
    report = store.report(NOW)
    assert report["questions"] == 1
    assert report["categories"] == [{"name": "Venue & Facilities", "count": 1}]
    assert report["volumes"] == {"text": 1}
    assert report["unique_users"] == 1


class OneRequestAtATime:
    """The DynamoDB client, with each request served whole before the next, as the service applies one
    write to an item atomically: moto's in-process backend is not thread-safe. What runs concurrently is
    this project's code between its requests: reads, decisions, retries, the join from both sides."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attribute(*args, **kwargs)

        return call


def test_counters_are_exact_under_concurrent_deliveries_and_joins_from_both_sides() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client)
        shared = DynamoDBAnalytics(OneRequestAtATime(client), "t", FixedClock(NOW))
        errors: list[BaseException] = []

        def run(step: Any) -> None:
            try:
                step()
            except BaseException as exc:  # collected for the assertion below
                errors.append(exc)

        steps = []
        for n in range(20):
            key = f"m{n}"
            asked = question(key, user=f"u{n % 7}", text="where?")
            answer = AnswerRecord(key, "no_answer" if n % 4 == 0 else "knowledge_base", 1.5, BUCKET)
            for _ in range(3):  # every message delivered three times to each consumer
                steps.append(lambda q=asked: (shared.record_question(q), shared.join(q.message_key)))
                steps.append(lambda a=answer: (shared.record_answer(a), shared.join(a.message_key)))
        threads = [threading.Thread(target=run, args=(step,)) for step in steps]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        report = shared.report(NOW)
    assert report["questions"] == 20
    assert report["categories"] == [{"name": "Venue & Facilities", "count": 20}]
    assert report["unique_users"] == 7
    assert report["sources"] == {"no_answer": 5, "knowledge_base": 15}
    joined = report["by_category"]["Venue & Facilities"]["sources"]
    assert joined == {"no_answer": 5, "knowledge_base": 15}  # each message joined exactly once
    assert len(report["unanswered"][0]["questions"]) == 5


@pytest.mark.parametrize("answer_first", [False, True])
def test_the_answers_source_is_counted_under_the_questions_category_once_whatever_comes_first(
    store: DynamoDBAnalytics, answer_first: bool
) -> None:
    answer = AnswerRecord("m1", "no_answer", 2.5, BUCKET)
    asked = question("m1", "Travel & Parking", text=redact("Is there a taxi to +351 912 345 678?"))
    steps = [lambda: store.record_answer(answer), lambda: store.record_question(asked)]
    for step in reversed(steps) if not answer_first else steps:
        step()
        store.join("m1")
        store.join("m1")  # a retry joins again: nothing more is counted
    report = store.report(NOW)
    assert report["sources"] == {"no_answer": 1}
    assert report["by_category"] == {"Travel & Parking": {"sources": {"no_answer": 1}, "feedback": {}}}
    assert report["unanswered"] == [
        {"category": "Travel & Parking", "questions": ["Is there a taxi to [phone]?"]}
    ]
    assert report["latency"] == {"p50": 3.0, "p95": 3.0}


def test_an_answered_questions_text_is_not_kept(store: DynamoDBAnalytics) -> None:
    store.record_question(question("m1", text="Where is the keynote?"))
    store.record_answer(AnswerRecord("m1", "knowledge_base", 1.0, BUCKET))
    store.join("m1")
    assert store.report(NOW)["unanswered"] == []
    item = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName="t", Key={"pk": {"S": "qa#m1"}}
    )
    assert "redacted" not in item["Item"]
    assert int(item["Item"]["expires_at"]["N"]) > NOW  # and the rest expires


def test_a_reaction_to_one_of_our_replies_is_feedback_on_that_answer_once(store: DynamoDBAnalytics) -> None:
    store.record_question(question("m1", "Food & Drink"))
    store.remember_reply("reply-hash", "m1")
    assert store.record_reaction("reaction-1", "reply-hash", feedback_kind("👍"), BUCKET)
    assert not store.record_reaction("reaction-1", "reply-hash", "positive", BUCKET)  # redelivered
    assert store.record_reaction("reaction-2", "reply-hash", feedback_kind("👎"), BUCKET)
    assert not store.record_reaction("reaction-3", "someone-elses-message", "positive", BUCKET)
    report = store.report(NOW)
    assert report["feedback"] == {"positive": 1, "negative": 1, "other": 0}
    assert report["by_category"]["Food & Drink"]["feedback"] == {"positive": 1, "negative": 1}


def test_the_timeline_has_one_row_per_bucket(store: DynamoDBAnalytics) -> None:
    store.record_question(question("m1", "Speakers"))
    later = QuestionRecord("m2", "u2", "Speakers", "voice", BUCKET + BUCKET_SECONDS, "2026-03-11", "")
    store.record_question(later)
    timeline = store.report(NOW)["timeline"]
    assert [row["categories"] for row in timeline["buckets"]] == [{"Speakers": 1}, {"Speakers": 1}]
    assert timeline["bucket_seconds"] == BUCKET_SECONDS


class Always:
    def __init__(self, category: str) -> None:
        self.category = category
        self.asked = 0

    def categorize(self, question: str, known: list[str]) -> str:
        self.asked += 1
        return self.category


def processed(key: str, text: str = "Is there a prayer room?") -> ProcessedMessage:
    return ProcessedMessage(
        message_key=key,
        user_key="u1",
        kind="text",
        text=text,
        message_id="wamid.X",
        recipient=Recipient(wa_id="15550001111", user_id=None),
        origination_phone_number_id="phone-number-id-1",
        meta_phone_number_id="1",
        received_at=int(NOW),
    )


def test_the_categorize_consumer_counts_each_question_once_and_caps_new_categories(
    store: DynamoDBAnalytics,
) -> None:
    categorizer = Always("Quiet Spaces")
    service = CategorizeService(
        categorizer=categorizer,
        store=store,
        metrics=RecordingMetrics(),
        clock=FixedClock(NOW),
        predefined=("Venue & Facilities",),
        cap=2,
    )
    assert service.handle(processed("m1")) == "categorized"
    assert service.handle(processed("m1")) == "duplicate"  # redelivered: not asked again, not counted
    assert categorizer.asked == 1
    categorizer.category = "Lost Property"  # a third category is over the cap of 2: Other
    service.handle(processed("m2", "I lost my scarf"))
    names = {c["name"] for c in store.report(NOW)["categories"]}
    assert names == {"Quiet Spaces", "Other"}


def test_redaction_takes_out_what_could_identify_someone() -> None:
    text = "I'm at jane.doe@example.com or +44 7700 900123, badge 12345678, @jane_d https://x.y/z"
    assert redact(text) == "I'm at [email] or [phone], badge [phone], [handle] [link]"
    assert redact("booking 55321") == "booking [number]"
    assert redact("where is room 2.1 at 09:30?") == "where is room 2.1 at 09:30?"


def test_latency_percentiles_come_from_the_histogram() -> None:
    assert percentile({}, 0.5) is None
    assert percentile({"le1": 50, "le5": 45, "le30": 5}, 0.5) == 1.0
    assert percentile({"le1": 50, "le5": 45, "le30": 5}, 0.95) == 5.0


def test_the_report_names_no_one(store: DynamoDBAnalytics) -> None:
    store.record_question(question("m1", user="hmac-of-someone", text=redact("call me on +351 912 345 678")))
    store.record_answer(AnswerRecord("m1", "no_answer", 1.0, BUCKET))
    store.join("m1")
    dumped = json.dumps(store.report(NOW))
    assert "hmac-of-someone" not in dumped and "912" not in dumped


def test_old_traffic_replayed_counts_its_source_but_no_latency(store: DynamoDBAnalytics) -> None:
    store.record_answer(AnswerRecord("m1", "knowledge_base", -1.0, BUCKET))
    report = store.report(NOW)
    assert report["sources"] == {"knowledge_base": 1}
    assert report["latency"] == {"p50": None, "p95": None}


def test_a_transaction_that_loses_a_conflict_is_tried_again_then_left_to_the_retry() -> None:
    from botocore.exceptions import ClientError

    from assistant.errors import RetryableError

    class Contended:
        def __init__(self, conflicts: int) -> None:
            self.conflicts = conflicts
            self.calls = 0

        def transact_write_items(self, **kwargs: Any) -> None:
            self.calls += 1
            if self.conflicts:
                self.conflicts -= 1
                error = {"Code": "TransactionCanceledException", "Message": "cancelled"}
                reasons = [{"Code": "None"}, {"Code": "TransactionConflict"}]
                raise ClientError({"Error": error, "CancellationReasons": reasons}, "TransactWriteItems")

    client = Contended(conflicts=2)
    assert DynamoDBAnalytics(client, "t", FixedClock(NOW)).record_question(question("m1"))
    assert client.calls == 3
    with pytest.raises(RetryableError):
        DynamoDBAnalytics(Contended(conflicts=9), "t", FixedClock(NOW)).record_question(question("m2"))


def test_a_category_name_that_could_name_someone_is_counted_as_other(store: DynamoDBAnalytics) -> None:
    service = CategorizeService(
        categorizer=Always("Call 555 1234"), store=store, metrics=RecordingMetrics(), clock=FixedClock(NOW)
    )
    service.handle(processed("m1"))
    assert [c["name"] for c in store.report(NOW)["categories"]] == ["Other"]


def test_categorizer_off_asks_no_model_and_counts_under_other() -> None:
    from dataclasses import replace

    from assistant import bootstrap
    from tests.worlds import settings

    core = bootstrap.Core(
        settings=replace(settings(), categorizer="off"),
        clock=FixedClock(NOW),
        store=None,  # type: ignore[arg-type]
        messenger=None,  # type: ignore[arg-type]
        metrics=RecordingMetrics(),
    )
    assert bootstrap.build_categorizer(core).categorize("Where is the keynote?", ["Speakers"]) == "Other"
