"""DynamoDBConversationStore: the message state machine of docs/exactly-once.md, on one DynamoDB table.

One table, partition key ``pk`` (S), TTL attribute ``expires_at`` (a Number: DynamoDB ignores string TTLs).

- ``msg#<hmac>``: one message's marker. Written by the inbound attempt that admitted it (``attempt``,
  ``attempt_until``, the decision: ``outcome``, ``first_over``, ``reset``), finished by ``done`` (its static
  reply went out) or by the answer stage (``claim_owner``, ``claim_until``, ``parts_sent``, ``parts``,
  ``answered_at``). ``confirmed`` is the set of reply parts that status events proved sent.
- ``user#<hmac>``: the user's lease (``lease_owner``, ``lease_until``), conversation counters and idle
  deadline (``conv_*``) and the answer engine's ``session_id``. A fixed set of attributes: it never grows.
- ``rate#<hmac>#<window>``: the user's message count in one fixed rate window; expires by TTL.
- ``budget#<minute>``: the questions every user together sent to the answer engine in one minute (the global
  answer budget, ``DynamoDBAnswerBudget``); each grant is recorded on its marker (``budget_minute``).

Happy path of ``admit``: ONE ``TransactWriteItems``: Put the marker, count the window, take the lease, each
with the conditions of the common case. When it is cancelled, the old items that DynamoDB returns
(``ReturnValuesOnConditionCheckFailure=ALL_OLD``) go to ``services.admission.decide``, and its decision is
written by a second transaction. Every write carries its attempt's id, so a retry of a write whose answer was
lost finds its own marker and takes it as its own (``ClientRequestToken`` makes the transaction idempotent on
DynamoDB for ten minutes besides).
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

from assistant.adapters.aws import AWS_ERRORS, error_code, translate
from assistant.errors import RetryableError
from assistant.ports import BUDGET_MINUTE_SECONDS, Admission, AdmissionRequest, Claim, Clock, Outcome, Spend
from assistant.services.admission import (
    AdmissionLimits,
    Decision,
    MarkerState,
    UserState,
    decide,
    needs_reply,
)
from assistant.services.delivery import sent_prefix

# The lease is free, expired, or already this message's own.
_USER_FREE = "(attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :owner)"
_CONVERSATION_OK = (
    "(attribute_not_exists(conv_msgs) OR "
    "(conv_until >= :now AND conv_msgs < :max_msgs AND conv_chars <= :chars_left))"
)
_ROUNDS = 4


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": str(int(value))}


def _num(item: dict[str, Any], name: str) -> int:
    value = item.get(name)
    return int(value["N"]) if isinstance(value, dict) and "N" in value else 0


def _str(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return str(value["S"]) if isinstance(value, dict) and "S" in value else None


def _bool(item: dict[str, Any], name: str) -> bool:
    value = item.get(name)
    return bool(value.get("BOOL")) if isinstance(value, dict) else False


def _numbers(item: dict[str, Any], name: str) -> set[int]:
    value = item.get(name)
    return {int(n) for n in value.get("NS", ())} if isinstance(value, dict) else set()


def marker_state(item: dict[str, Any]) -> MarkerState:
    attempt = _str(item, "attempt")
    outcome = _str(item, "outcome") or Outcome.ACCEPTED.value
    first_over = _bool(item, "first_over")
    finished = (
        attempt is None  # written before attempts were recorded: its message was handled
        or "answered_at" in item
        or "done" in item
        or "claim_owner" in item
        or not needs_reply(Outcome(outcome), first_over)
    )
    return MarkerState(
        attempt=attempt or "",
        attempt_until=_num(item, "attempt_until"),
        outcome=Outcome(outcome),
        first_over_limit=first_over,
        conversation_reset=_bool(item, "reset"),
        finished=finished,
        reply_confirmed=0 in _numbers(item, "confirmed"),
    )


def user_state(item: dict[str, Any]) -> UserState:
    return UserState(
        lease_owner=_str(item, "lease_owner"),
        lease_until=_num(item, "lease_until"),
        conv_msgs=_num(item, "conv_msgs"),
        conv_chars=_num(item, "conv_chars"),
        conv_until=_num(item, "conv_until"),
    )


@dataclass(frozen=True, slots=True)
class _Write:
    role: str  # "marker" | "takeover" | "rate" | "user"
    item: dict[str, Any]


class _Conflict(Exception):
    """The transaction lost a race with another writer of the same item."""


def _transact(client: Any, items: list[dict[str, Any]], *, token: str) -> list[dict[str, Any]] | None:
    """Run one transaction; None when it succeeded, else its cancellation reasons (one per item). Raises
    ``_Conflict`` when it lost a race with another transaction on one of its items."""
    try:
        client.transact_write_items(TransactItems=items, ClientRequestToken=token[:36])
    except AWS_ERRORS as exc:
        if error_code(exc) != "TransactionCanceledException":
            raise translate("dynamodb", exc) from None
        reasons = getattr(exc, "response", {}).get("CancellationReasons")
        if not isinstance(reasons, list) or len(reasons) != len(items):
            raise RetryableError("dynamodb: transaction cancelled without reasons") from None
        codes = {r.get("Code") for r in reasons}
        if "TransactionConflict" in codes:
            raise _Conflict from None
        if codes - {"None", "ConditionalCheckFailed", None}:
            # ThrottlingError, ProvisionedThroughputExceeded, ...: capacity; SQS retries the record.
            raise RetryableError(
                "dynamodb: transaction cancelled: " + ",".join(sorted(c for c in codes if c))
            ) from None
        return reasons
    return None


PROBE_TTL_SECONDS = 86_400
"""How long a doctor's probe steps are kept (the TTL sweeps them)."""


def probe_steps(client: Any, table_name: str, probe_id: str) -> dict[str, str]:
    """A probe's recorded steps (``record_probe``): step -> detail. For ``assistant doctor``."""
    try:
        item = client.get_item(TableName=table_name, Key={"pk": _s("probe#" + probe_id)}, ConsistentRead=True)
    except AWS_ERRORS as exc:
        raise translate("dynamodb", exc) from None
    return {
        k.removeprefix("step_"): str(v.get("S", ""))
        for k, v in (item.get("Item") or {}).items()
        if k.startswith("step_")
    }


class DynamoDBConversationStore:
    def __init__(self, client: Any, table_name: str, limits: AdmissionLimits, clock: Clock) -> None:
        self._db = client
        self._table = table_name
        self._limits = limits
        self._clock = clock

    # -- admission ----------------------------------------------------------------------------------------

    def admit(self, request: AdmissionRequest) -> Admission:
        now = int(self._clock.now())
        decision: Decision | None = None  # None: the common case, tried first
        for round_ in range(_ROUNDS):
            writes = (
                self._fast_writes(request, now) if decision is None else self._writes(request, decision, now)
            )
            if not writes:
                assert decision is not None
                return decision.admission
            try:
                reasons = self._transact(writes, token=f"{request.attempt}-{round_}")
            except _Conflict:
                # Two messages of one user at the same instant: the loser tries again at once and gets its
                # true answer (busy, usually) instead of an SQS redelivery minutes later.
                time.sleep(0.02 * (round_ + 1))
                continue
            if reasons is None:
                return decision.admission if decision is not None else Admission(Outcome.ACCEPTED)
            decision = decide(request, *self._state(request, writes, reasons), now, self._limits)
        raise RetryableError("dynamodb: admission did not settle")

    def _state(
        self, request: AdmissionRequest, writes: list[_Write], reasons: list[dict[str, Any]]
    ) -> tuple[MarkerState | None, UserState, int]:
        """What the cancelled transaction saw: the old items of the conditions that failed; the items whose
        conditions held are read (they are needed only off the happy path)."""
        old = {w.role: r for w, r in zip(writes, reasons, strict=True)}
        marker_reason = old.get("marker") or old.get("takeover") or {}
        if marker_reason.get("Code") == "ConditionalCheckFailed":
            return marker_state(marker_reason.get("Item") or {}), UserState(), 0
        if "takeover" in old:
            return self._read_marker(request.message_key), UserState(), 0
        rate_reason = old.get("rate") or {}
        if rate_reason.get("Code") == "ConditionalCheckFailed":
            rate = _num(rate_reason.get("Item") or {}, "n")
        else:
            rate = 0  # under the limit: that is all the rule needs to know
        user_reason = old.get("user") or {}
        if user_reason.get("Code") == "ConditionalCheckFailed":
            user = user_state(user_reason.get("Item") or {})
        elif request.take_lease:
            user = user_state(self._get("user#" + request.user_key))
        else:
            user = UserState()
        return None, user, rate

    def _read_marker(self, message_key: str) -> MarkerState | None:
        item = self._get("msg#" + message_key)
        return marker_state(item) if item else None

    def _fast_writes(self, request: AdmissionRequest, now: int) -> list[_Write]:
        limits = self._limits
        writes = [
            self._marker_put(request, Admission(Outcome.ACCEPTED), now),
            self._rate_update(request, now, limit=limits.rate_limit),
        ]
        if request.take_lease:
            writes.append(
                _Write(
                    "user",
                    self._update(
                        "user#" + request.user_key,
                        "SET lease_owner = :owner, lease_until = :lease_until, conv_until = :conv_until, "
                        "expires_at = :expires, conv_msgs = if_not_exists(conv_msgs, :zero) + :one, "
                        "conv_chars = if_not_exists(conv_chars, :zero) + :chars",
                        condition=f"{_USER_FREE} AND {_CONVERSATION_OK}",
                        values={
                            ":now": _n(now),
                            ":owner": _s(request.message_key),
                            ":lease_until": _n(now + limits.lease_seconds),
                            ":conv_until": _n(now + limits.conversation_idle_seconds),
                            ":expires": _n(self._user_expiry(now)),
                            ":zero": _n(0),
                            ":one": _n(1),
                            ":chars": _n(request.chars),
                            ":max_msgs": _n(limits.conversation_max_messages),
                            ":chars_left": _n(limits.conversation_max_chars - request.chars),
                        },
                    ),
                )
            )
        return writes

    def _writes(self, request: AdmissionRequest, decision: Decision, now: int) -> list[_Write]:
        """The effects ``decide`` named, each conditioned on the state it was decided from."""
        writes: list[_Write] = []
        if decision.write_marker:
            writes.append(self._marker_put(request, decision.admission, now))
        if decision.take_over:
            writes.append(
                _Write(
                    "takeover",
                    self._update(
                        "msg#" + request.message_key,
                        "SET attempt = :me, attempt_until = :until",
                        condition="attribute_exists(pk) AND attempt_until < :now AND attempt <> :me",
                        values={
                            ":me": _s(request.attempt),
                            ":until": _n(now + self._limits.attempt_seconds),
                            ":now": _n(now),
                        },
                    ),
                )
            )
        if decision.count_rate:
            writes.append(self._rate_update(request, now, limit=None))
        if decision.user is not None:
            user = decision.user
            sets = (
                "SET lease_owner = :owner, lease_until = :lease_until, conv_until = :conv_until, "
                "conv_msgs = :msgs, conv_chars = :chars, expires_at = :expires"
            )
            writes.append(
                _Write(
                    "user",
                    self._update(
                        "user#" + request.user_key,
                        sets
                        + (
                            " REMOVE session_id, agenda_calls, agenda_at" if decision.new_conversation else ""
                        ),
                        condition=_USER_FREE,
                        values={
                            ":now": _n(now),
                            ":owner": _s(request.message_key),
                            ":lease_until": _n(user.lease_until),
                            ":conv_until": _n(user.conv_until),
                            ":msgs": _n(user.conv_msgs),
                            ":chars": _n(user.conv_chars),
                            ":expires": _n(self._user_expiry(now)),
                        },
                    ),
                )
            )
        return writes

    def _marker_put(self, request: AdmissionRequest, admission: Admission, now: int) -> _Write:
        return _Write(
            "marker",
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": _s("msg#" + request.message_key),
                        "expires_at": _n(now + self._limits.dedupe_ttl_seconds),
                        "attempt": _s(request.attempt),
                        "attempt_until": _n(now + self._limits.attempt_seconds),
                        "outcome": _s(admission.outcome.value),
                        "first_over": {"BOOL": admission.first_over_limit},
                        "reset": {"BOOL": admission.conversation_reset},
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
        )

    def _rate_update(self, request: AdmissionRequest, now: int, *, limit: int | None) -> _Write:
        window = now // self._limits.rate_window_seconds
        values = {":one": _n(1), ":expires": _n((window + 2) * self._limits.rate_window_seconds)}
        condition = None
        if limit is not None:
            values[":limit"] = _n(limit)
            condition = "attribute_not_exists(n) OR n < :limit"
        return _Write(
            "rate",
            self._update(
                f"rate#{request.user_key}#{window}",
                "ADD n :one SET expires_at = :expires",
                condition=condition,
                values=values,
            ),
        )

    def _update(
        self, pk: str, expression: str, *, condition: str | None, values: dict[str, Any]
    ) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": {"pk": _s(pk)},
            "UpdateExpression": expression,
            "ExpressionAttributeValues": values,
        }
        if condition:
            update["ConditionExpression"] = condition
            update["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return {"Update": update}

    def _user_expiry(self, now: int) -> int:
        limits = self._limits
        return now + max(limits.conversation_idle_seconds, limits.lease_seconds) + limits.rate_window_seconds

    def _transact(self, writes: list[_Write], *, token: str) -> list[dict[str, Any]] | None:
        """Run one transaction; None when it succeeded, else its cancellation reasons (one per write)."""
        return _transact(self._db, [w.item for w in writes], token=token)

    # -- static replies, leases ---------------------------------------------------------------------------

    def finish_reply(self, message_key: str) -> None:
        self._call(
            "update_item",
            Key={"pk": _s("msg#" + message_key)},
            UpdateExpression="SET done = :now",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":now": _n(self._clock.now())},
            conditional_ok=True,
        )

    def release(self, user_key: str, owner: str) -> None:
        self._call(
            "update_item",
            Key={"pk": _s("user#" + user_key)},
            UpdateExpression="REMOVE lease_owner, lease_until",
            ConditionExpression="lease_owner = :owner",
            ExpressionAttributeValues={":owner": _s(owner)},
            conditional_ok=True,
        )

    # -- answer claims and reply progress -----------------------------------------------------------------

    def claim_answer(self, message_key: str, owner: str, seconds: int) -> Claim:
        now = int(self._clock.now())
        try:
            response = self._db.update_item(
                TableName=self._table,
                Key={"pk": _s("msg#" + message_key)},
                UpdateExpression="SET claim_owner = :me, claim_until = :until",
                ConditionExpression=(
                    "attribute_exists(pk) AND attribute_not_exists(answered_at) AND "
                    "(attribute_not_exists(claim_owner) OR claim_until < :now OR claim_owner = :me)"
                ),
                ExpressionAttributeValues={":me": _s(owner), ":until": _n(now + seconds), ":now": _n(now)},
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except AWS_ERRORS as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                old = getattr(exc, "response", {}).get("Item") or {}
                return Claim(granted=False, answered="answered_at" in old)
            raise translate("dynamodb", exc) from None
        old = response.get("Attributes") or {}
        previous = _str(old, "claim_owner")
        return Claim(
            granted=True,
            taken_over=previous is not None and previous != owner,
            parts_sent=sent_prefix(_num(old, "parts_sent"), _numbers(old, "confirmed")),
            parts=_num(old, "parts"),
        )

    def record_progress(self, message_key: str, owner: str, *, parts_sent: int, parts: int) -> None:
        recorded = self._call(
            "update_item",
            Key={"pk": _s("msg#" + message_key)},
            UpdateExpression="SET parts_sent = :sent, parts = :parts",
            ConditionExpression="claim_owner = :me",
            ExpressionAttributeValues={":sent": _n(parts_sent), ":parts": _n(parts), ":me": _s(owner)},
            conditional_ok=True,
        )
        if not recorded:
            raise RetryableError("dynamodb: the answer claim was lost")

    def reply_confirmed(self, message_key: str, part: int) -> bool:
        return part in _numbers(self._get("msg#" + message_key), "confirmed")

    def confirm_delivery(self, message_key: str, part: int) -> None:
        # ADD to a set is idempotent: sent, delivered and read of one part, or a redelivered status, agree.
        self._call(
            "update_item",
            Key={"pk": _s("msg#" + message_key)},
            UpdateExpression="ADD confirmed :part",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":part": {"NS": [str(part)]}},
            conditional_ok=True,
        )

    def complete_answer(self, message_key: str, owner: str, *, lease_of: str | None = None) -> None:
        answered = self._update(
            "msg#" + message_key,
            "SET answered_at = :now REMOVE claim_until",
            condition="claim_owner = :me",
            values={":now": _n(self._clock.now()), ":me": _s(owner)},
        )
        writes = [_Write("marker", answered)]
        if lease_of is not None:
            release = self._update(
                "user#" + lease_of,
                "REMOVE lease_owner, lease_until",
                condition="lease_owner = :owner",
                values={":owner": _s(message_key)},
            )
            writes.append(_Write("user", release))
        try:
            reasons = self._transact(writes, token=f"{owner}-done")
        except _Conflict:
            raise RetryableError("dynamodb: transaction conflict") from None
        if reasons is None:
            return
        marker, *user = reasons
        if marker.get("Code") == "ConditionalCheckFailed":
            old = marker.get("Item") or {}
            if _str(old, "claim_owner") == owner and "answered_at" in old:
                # Our own earlier completion, whose answer was lost; its release went with it.
                return
            raise RetryableError("dynamodb: the answer claim was lost")
        if user and user[0].get("Code") == "ConditionalCheckFailed":
            # The lease expired and went to another message: only mark this one answered.
            self.complete_answer(message_key, owner)

    def abandon_answer(self, message_key: str, owner: str) -> None:
        self._call(
            "update_item",
            Key={"pk": _s("msg#" + message_key)},
            UpdateExpression="REMOVE claim_owner, claim_until",
            ConditionExpression="claim_owner = :me",
            ExpressionAttributeValues={":me": _s(owner)},
            conditional_ok=True,
        )

    # -- assistant doctor's round trip ---------------------------------------------------------------------

    def record_probe(self, probe_id: str, step: str, detail: str = "") -> None:
        # One attribute per step: a retried step writes the same value again.
        self._call(
            "update_item",
            Key={"pk": _s("probe#" + probe_id)},
            UpdateExpression="SET #step = :detail, expires_at = :expires",
            ExpressionAttributeNames={"#step": "step_" + step},
            ExpressionAttributeValues={
                ":detail": _s(detail or "-"),
                ":expires": {"N": str(int(self._clock.now()) + PROBE_TTL_SECONDS)},
            },
        )

    def probe(self, probe_id: str) -> dict[str, str]:
        """A probe's recorded steps (``record_probe``): step -> detail. For ``assistant doctor``."""
        item = self._get("probe#" + probe_id)
        return {
            k.removeprefix("step_"): str(v.get("S", "")) for k, v in item.items() if k.startswith("step_")
        }

    # -- the answer engine's session (Bedrock's session id) ------------------------------------------------

    def get_session(self, user_key: str) -> str | None:
        item = self._get("user#" + user_key)
        # A session belongs to its conversation: once that is idle past its time, start afresh.
        if _num(item, "conv_until") < int(self._clock.now()):
            return None
        return _str(item, "session_id") or None

    def save_session(self, user_key: str, session_id: str) -> None:
        self._call(
            "update_item",
            Key={"pk": _s("user#" + user_key)},
            UpdateExpression="SET session_id = :session",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":session": _s(session_id)},
            conditional_ok=True,
        )

    def get_agenda_calls(self, user_key: str) -> str | None:
        item = self._get("user#" + user_key)
        if _num(item, "conv_until") < int(self._clock.now()):
            return None
        # Only the last answer's: saved while answering the message before this one (the conversation's
        # count has moved on by exactly this message since).
        if _num(item, "agenda_at") != _num(item, "conv_msgs") - 1:
            return None
        return _str(item, "agenda_calls") or None

    def save_agenda_calls(self, user_key: str, calls: str | None) -> None:
        if calls is None:
            expression, values = "REMOVE agenda_calls, agenda_at", None
        else:
            expression, values = "SET agenda_calls = :calls, agenda_at = conv_msgs", {":calls": _s(calls)}
        self._call(
            "update_item",
            Key={"pk": _s("user#" + user_key)},
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(pk)",
            **({"ExpressionAttributeValues": values} if values else {}),
            conditional_ok=True,
        )

    # -- plumbing -----------------------------------------------------------------------------------------

    def _get(self, pk: str) -> dict[str, Any]:
        try:
            item = self._db.get_item(TableName=self._table, Key={"pk": _s(pk)}, ConsistentRead=True)
        except AWS_ERRORS as exc:
            raise translate("dynamodb", exc) from None
        return dict(item.get("Item") or {})

    def _call(self, operation: str, *, conditional_ok: bool = False, **kwargs: Any) -> bool:
        """Run one call; with ``conditional_ok`` a failed condition is an answer (False), not an error."""
        try:
            getattr(self._db, operation)(TableName=self._table, **kwargs)
        except AWS_ERRORS as exc:
            if conditional_ok and error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise translate("dynamodb", exc) from None
        return True


_BUDGET_ROUNDS = 8
"""Tries of the budget's transaction when it loses a race (``TransactionConflict``) for the minute's counter,
which every answer of that minute writes; with jitter, so that the losers do not meet again."""


class DynamoDBAnswerBudget:
    """The global answer budget (``AnswerBudget``) on the conversation table.

    - ``budget#<minute>``: ``n``, the questions granted in that minute (``int(now) // 60``), expiring by TTL.
    - ``budget_minute`` on the message's marker (``msg#<hmac>``): the grant, kept as long as the marker.

    ONE ``TransactWriteItems`` adds 1 to the minute's count under ``n < limit`` AND records the grant on the
    marker under ``attribute_not_exists(budget_minute)``. A retry (botocore's, after a lost answer; or SQS's,
    after a crash) is cancelled by its own grant, which counts nothing again and says ``GRANTED_BEFORE`` even
    when the minute is full by now (its own count among the rest). A denial records nothing.
    """

    def __init__(self, client: Any, table_name: str, limit: int, clock: Clock) -> None:
        if limit < 1:
            raise ValueError("a budget of 0 is no budget: wire none")
        self._db = client
        self._table = table_name
        self._limit = limit
        self._clock = clock

    def spend(self, message_key: str) -> Spend:
        # The token makes a botocore retry of one round the same transaction on DynamoDB (moto ignores it:
        # there the grant's condition recognises the retry).
        token = uuid.uuid4().hex
        for round_ in range(_BUDGET_ROUNDS):
            minute = int(self._clock.now()) // BUDGET_MINUTE_SECONDS
            try:
                reasons = _transact(self._db, self._items(message_key, minute), token=f"{token}-{round_}")
            except _Conflict:
                self._clock.sleep(random.uniform(0, 0.02 * 2**round_))
                continue
            if reasons is None:
                return Spend.GRANTED
            grant, count = reasons
            if grant.get("Code") == "ConditionalCheckFailed":
                if "budget_minute" in (grant.get("Item") or {}):
                    return Spend.GRANTED_BEFORE
                # The answer stage asks only for a message it has claimed: its marker exists.
                raise RetryableError("dynamodb: no marker to record the budget's grant on")
            if count.get("Code") == "ConditionalCheckFailed":
                return Spend.DENIED
            # A cancellation names the condition that failed; none of the two did: nothing to go on.
            raise RetryableError("dynamodb: the budget's transaction was cancelled")
        raise RetryableError("dynamodb: the budget's counter stayed contended")

    def _items(self, message_key: str, minute: int) -> list[dict[str, Any]]:
        grant = {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": _s("msg#" + message_key)},
                "UpdateExpression": "SET budget_minute = :minute",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(budget_minute)",
                "ExpressionAttributeValues": {":minute": _n(minute)},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        count = {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": _s(f"budget#{minute}")},
                "UpdateExpression": "ADD n :one SET expires_at = :expires",
                "ConditionExpression": "attribute_not_exists(n) OR n < :limit",
                "ExpressionAttributeValues": {
                    ":one": _n(1),
                    ":limit": _n(self._limit),
                    # Read only in its own minute; kept a little longer for whoever looks at the table.
                    ":expires": _n((minute + 2) * BUDGET_MINUTE_SECONDS),
                },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        return [grant, count]
