"""DynamoDBAnalytics: the organizers' counters, in the conversation table (partition key ``pk``).

Items (every counter an atomic ``ADD``; every message's marker written in the same transaction as its
counters, so a redelivery is cancelled by the marker and counts nothing):

- ``cat#<message key>`` / ``ans#<message key>`` / ``react#<reaction key>``: the markers (TTL 7 days);
- ``qa#<message key>``: a question's category, bucket, redacted text and its answer's source, until they
  are joined once (``joined``); TTL 2 days, and the text is removed at the join unless it was unanswered;
- ``stats#<bucket>``: one time bucket's counters, named ``cat:<category>``, ``kind:<kind>``,
  ``src:<source>``, ``lat:<bin>``, ``fb:<feedback>``, ``cs:<category>|<source>``, ``questions``;
- ``stats#total``: ``cat:<category>`` over the whole event (the known categories);
- ``stats#index``: the set of buckets that have counters; ``users#<day>``: the set of users' keyed hashes;
- ``gaps#<day>``: the day's unanswered questions, redacted (category and text), TTL 14 days;
- ``reply#<reply key>``: which question one of our replies answered (for reactions), TTL 7 days.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from assistant.adapters.aws import AWS_ERRORS, error_code, translate
from assistant.adapters.dynamodb import _n, _s
from assistant.errors import RetryableError
from assistant.ports import AnswerRecord, Clock, QuestionRecord
from assistant.services.analytics import (
    DONT_KNOW,
    GAP_TTL_SECONDS,
    PENDING_TTL_SECONDS,
    build_report,
    day_of,
    latency_bin,
    source_of,
)

MARKER_TTL_SECONDS = 7 * 24 * 3600
TRANSACT_ATTEMPTS = 4
_CONTENDED = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
USER_SHARDS = "0123456789abcdef"
"""A day's attendees are kept in 16 sets, by the first hex digit of a hash of their key: one set of
32-character keys holds about 12,000 before its item reaches DynamoDB's 400 KB."""
MAX_GAPS_PER_DAY = 500


def _shard(user_key: str) -> str:
    return hashlib.sha256(user_key.encode()).hexdigest()[0]


class DynamoDBAnalytics:
    def __init__(self, client: Any, table: str, clock: Clock) -> None:
        self._db = client
        self._table = table
        self._clock = clock

    # -- counting -------------------------------------------------------------------------------------

    def categories(self) -> list[str]:
        item = self._get("stats#total")
        counts = {k[4:]: int(v["N"]) for k, v in item.items() if k.startswith("cat:") and "N" in v}
        return [name for name, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    def question_recorded(self, message_key: str) -> bool:
        return bool(self._get("cat#" + message_key))

    def record_question(self, record: QuestionRecord) -> bool:
        now = self._clock.now()
        category = f"cat:{record.category}"
        writes = [
            self._marker("cat#" + record.message_key, now),
            self._add(f"stats#{record.bucket}", {category: 1, f"kind:{record.kind}": 1, "questions": 1}),
            self._add("stats#total", {category: 1}),
            self._add_to_set("stats#index", "buckets", {"NS": [str(record.bucket)]}),
            self._add_to_set(
                f"users#{record.day}#{_shard(record.user_key)}", "users", {"SS": [record.user_key]}
            ),
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"pk": _s("qa#" + record.message_key)},
                    "UpdateExpression": "SET category = :c, qbucket = :b, redacted = :r, expires_at = :e",
                    "ExpressionAttributeValues": {
                        ":c": _s(record.category),
                        ":b": _n(record.bucket),
                        ":r": _s(record.redacted),
                        ":e": _n(now + PENDING_TTL_SECONDS),
                    },
                }
            },
        ]
        return self._transact(writes)

    def record_answer(self, record: AnswerRecord) -> bool:
        now = self._clock.now()
        source = source_of(record.source)
        counters = {f"src:{source}": 1}
        if record.latency_seconds >= 0:  # negative: not a latency (old traffic replayed)
            counters[f"lat:{latency_bin(record.latency_seconds)}"] = 1
        writes = [
            self._marker("ans#" + record.message_key, now),
            self._add(f"stats#{record.bucket}", counters),
            self._add_to_set("stats#index", "buckets", {"NS": [str(record.bucket)]}),
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"pk": _s("qa#" + record.message_key)},
                    "UpdateExpression": "SET #src = :s, abucket = :b, "
                    "expires_at = if_not_exists(expires_at, :e)",
                    "ExpressionAttributeNames": {"#src": "source"},
                    "ExpressionAttributeValues": {
                        ":s": _s(source),
                        ":b": _n(record.bucket),
                        ":e": _n(now + PENDING_TTL_SECONDS),
                    },
                }
            },
        ]
        return self._transact(writes)

    def join(self, message_key: str) -> None:
        item = self._get("qa#" + message_key)
        if not item or "joined" in item or "category" not in item or "source" not in item:
            return
        category, source = item["category"]["S"], item["source"]["S"]
        bucket = int(item.get("qbucket", item.get("abucket", {"N": "0"}))["N"])
        redacted = item.get("redacted", {}).get("S", "")
        now = self._clock.now()
        writes: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"pk": _s("qa#" + message_key)},
                    "UpdateExpression": "SET joined = :t REMOVE redacted",
                    "ConditionExpression": "attribute_not_exists(joined)",
                    "ExpressionAttributeValues": {":t": {"BOOL": True}},
                }
            },
            self._add(f"stats#{bucket}", {f"cs:{category}|{source}": 1}),
        ]
        if source == DONT_KNOW and redacted:
            writes.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": {"pk": _s(f"gaps#{day_of(bucket)}")},
                        "UpdateExpression": "SET gaps = list_append(if_not_exists(gaps, :none), :gap), "
                        "expires_at = :e",
                        "ConditionExpression": "attribute_not_exists(gaps) OR size(gaps) < :max",
                        "ExpressionAttributeValues": {
                            ":none": {"L": []},
                            ":gap": {"L": [{"M": {"c": _s(category), "t": _s(redacted)}}]},
                            ":e": _n(now + GAP_TTL_SECONDS),
                            ":max": _n(MAX_GAPS_PER_DAY),
                        },
                    }
                }
            )
        if not self._transact(writes) and len(writes) == 3:
            # Joined by the other side meanwhile, or the day's list is full: count without the text.
            self._transact(writes[:2])

    # -- feedback ---------------------------------------------------------------------------------------

    def remember_reply(self, reply_key: str, message_key: str) -> None:
        self._call(
            "put_item",
            Item={
                "pk": _s("reply#" + reply_key),
                "question": _s(message_key),
                "expires_at": _n(self._clock.now() + MARKER_TTL_SECONDS),
            },
        )

    def record_reaction(self, reaction_key: str, reply_key: str, kind: str, bucket: int) -> bool:
        reply = self._get("reply#" + reply_key)
        if not reply:
            return False
        question = self._get("qa#" + reply["question"]["S"])
        category = question.get("category", {}).get("S", "Other")
        writes = [
            self._marker("react#" + reaction_key, self._clock.now()),
            self._add(f"stats#{bucket}", {f"fb:{kind}": 1, f"cf:{category}|{kind}": 1}),
            self._add_to_set("stats#index", "buckets", {"NS": [str(bucket)]}),
        ]
        return self._transact(writes)

    # -- the report -------------------------------------------------------------------------------------

    def report(self, now: float) -> dict[str, Any]:
        index = self._get("stats#index")
        buckets = sorted(int(b) for b in index.get("buckets", {}).get("NS", []))
        rows = []
        for start in range(0, len(buckets), 100):
            keys = [{"pk": _s(f"stats#{b}")} for b in buckets[start : start + 100]]
            for item in self._batch_get(keys):
                bucket = int(item["pk"]["S"].split("#", 1)[1])
                counters = {k: int(v["N"]) for k, v in item.items() if k != "pk" and "N" in v}
                rows.append((bucket, counters))
        days = sorted({day_of(b) for b in buckets})
        users: set[str] = set()
        gaps: list[tuple[str, str]] = []
        for day in days:
            for shard in USER_SHARDS:
                users |= set(self._get(f"users#{day}#{shard}").get("users", {}).get("SS", []))
            for gap in self._get(f"gaps#{day}").get("gaps", {}).get("L", []):
                fields = gap.get("M", {})
                gaps.append((fields.get("c", {}).get("S", "Other"), fields.get("t", {}).get("S", "")))
        return build_report(rows, unique_users=len(users), gaps=gaps, now=now)

    # -- plumbing ---------------------------------------------------------------------------------------

    def _marker(self, pk: str, now: float) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": {"pk": _s(pk), "expires_at": _n(now + MARKER_TTL_SECONDS)},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _add(self, pk: str, counters: dict[str, int]) -> dict[str, Any]:
        names = {f"#a{i}": name for i, name in enumerate(counters)}
        values = {f":a{i}": _n(value) for i, value in enumerate(counters.values())}
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": _s(pk)},
                "UpdateExpression": "ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(counters))),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def _add_to_set(self, pk: str, attribute: str, value: dict[str, Any]) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": _s(pk)},
                "UpdateExpression": "ADD #set :v",
                "ExpressionAttributeNames": {"#set": attribute},
                "ExpressionAttributeValues": {":v": value},
            }
        }

    def _transact(self, writes: list[dict[str, Any]]) -> bool:
        """True when written; False when a condition cancelled it (the marker: counted before). Every
        message's counters meet on the same few items, so a transaction can lose a conflict with another:
        it is tried again (the marker keeps a retry from counting twice), then left to the caller's retry."""
        for attempt in range(TRANSACT_ATTEMPTS):
            try:
                self._db.transact_write_items(TransactItems=writes)
            except AWS_ERRORS as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise translate("dynamodb", exc) from None
                reasons = [
                    r.get("Code") for r in getattr(exc, "response", {}).get("CancellationReasons") or []
                ]
                if "ConditionalCheckFailed" in reasons:
                    return False
                if not set(reasons) & _CONTENDED or attempt == TRANSACT_ATTEMPTS - 1:
                    raise RetryableError("dynamodb: the counters' transaction was cancelled") from None
                self._clock.sleep(random.uniform(0, 0.05 * 2**attempt))
                continue
            return True
        raise AssertionError("unreachable")

    def _get(self, pk: str) -> dict[str, Any]:
        try:
            item = self._db.get_item(TableName=self._table, Key={"pk": _s(pk)}, ConsistentRead=True)
        except AWS_ERRORS as exc:
            raise translate("dynamodb", exc) from None
        return dict(item.get("Item") or {})

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
        while request:
            try:
                response = self._db.batch_get_item(RequestItems=request)
            except AWS_ERRORS as exc:
                raise translate("dynamodb", exc) from None
            found.extend(response.get("Responses", {}).get(self._table, []))
            request = response.get("UnprocessedKeys") or {}
        return found

    def _call(self, operation: str, **kwargs: Any) -> None:
        try:
            getattr(self._db, operation)(TableName=self._table, **kwargs)
        except AWS_ERRORS as exc:
            raise translate("dynamodb", exc) from None
