"""DynamoDBConversationStore: duplicate check, lease, rate window and counters in one transaction.

One table, partition key ``pk`` (S), TTL attribute ``expires_at`` (a Number: DynamoDB ignores string TTLs).

- ``msg#<hmac>``: the duplicate marker of one message; later the answer stage's claim on it.
- ``user#<hmac>``: the user's lease (``lease_owner``, ``lease_until``), rate window counters (``r<window>``),
  conversation counters and idle deadline (``conv_*``).

Happy path of ``admit``: ONE ``TransactWriteItems`` call - a conditional Put of the marker and a conditional
Update of the user. When it is cancelled, ``CancellationReasons`` (with the user's old item, thanks to
``ReturnValuesOnConditionCheckFailure=ALL_OLD``) tell duplicate, busy, over the rate, or a conversation that
must start afresh; each of those costs one more call, off the happy path.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from assistant.adapters.aws import AWS_ERRORS, error_code, translate
from assistant.errors import RetryableError
from assistant.ports import Admission, AdmissionRequest, Clock, Outcome

# The lease is free, expired, or already this message's own (a retry after a partly undone admission).
_USER_FREE = "(attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :owner)"
_RATE_OK = "(attribute_not_exists(#rc) OR #rc < :rate_limit)"
_CONVERSATION_OK = (
    "(attribute_not_exists(conv_msgs) OR "
    "(conv_until >= :now AND conv_msgs < :max_msgs AND conv_chars <= :chars_left))"
)


_CONFLICT_ATTEMPTS = 3


class _Conflict(Exception):
    """The admission transaction lost a race with another writer of the same item."""


@dataclass(frozen=True, slots=True)
class StoreLimits:
    lease_seconds: int
    rate_limit: int
    rate_window_seconds: int
    conversation_max_messages: int
    conversation_max_chars: int
    conversation_idle_seconds: int
    dedupe_ttl_seconds: int


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": str(int(value))}


def _num(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name)
    return int(value["N"]) if isinstance(value, dict) and "N" in value else None


class DynamoDBConversationStore:
    def __init__(self, client: Any, table_name: str, limits: StoreLimits, clock: Clock) -> None:
        self._db = client
        self._table = table_name
        self._limits = limits
        self._clock = clock

    # -- admission ----------------------------------------------------------------------------------------

    def admit(self, request: AdmissionRequest) -> Admission:
        # Two messages of one user at the same instant: DynamoDB cancels one with TransactionConflict.
        # Trying again at once gives the loser its true answer (busy, in the common case) instead of an
        # SQS redelivery minutes later.
        for attempt in range(_CONFLICT_ATTEMPTS):
            try:
                return self._admit(request)
            except _Conflict:
                time.sleep(0.02 * (attempt + 1))
        raise RetryableError("dynamodb: transaction conflict persisted")

    def _admit(self, request: AdmissionRequest) -> Admission:
        now = int(self._clock.now())
        window = now // self._limits.rate_window_seconds
        reasons = self._transact(request, now, window, mode="fast")
        if reasons is None:
            return Admission(Outcome.ACCEPTED)
        outcome, old = self._classify(reasons, request, now, window)
        if outcome is Outcome.DUPLICATE:
            return Admission(Outcome.DUPLICATE)
        if outcome is Outcome.BUSY:
            return self._mark_only(request, now, Outcome.BUSY, count_window=window)
        if outcome is Outcome.RATE_LIMITED:
            first = (_num(old, f"r{window}") or 0) == self._limits.rate_limit
            admission = self._mark_only(request, now, Outcome.RATE_LIMITED, count_window=window)
            return Admission(
                admission.outcome, first_over_limit=first and admission.outcome is not Outcome.DUPLICATE
            )
        # The conversation is idle past its time or over its budget: start a new one (and take the lease).
        told = (_num(old, "conv_until") or 0) >= now
        reasons = self._transact(request, now, window, mode="reset")
        if reasons is None:
            return Admission(Outcome.ACCEPTED, conversation_reset=told)
        outcome, _ = self._classify(reasons, request, now, window)
        if outcome is Outcome.DUPLICATE:
            return Admission(Outcome.DUPLICATE)
        # Raced with another message of the same user between the two calls.
        return self._mark_only(
            request, now, Outcome.BUSY if outcome is Outcome.BUSY else Outcome.RATE_LIMITED
        )

    def _transact(
        self, request: AdmissionRequest, now: int, window: int, *, mode: str
    ) -> list[dict[str, Any]] | None:
        """Run the admission transaction; None when it succeeded, else the cancellation reasons."""
        limits = self._limits
        names = {"#rc": f"r{window}", "#rp": f"r{window - 1}"}
        values: dict[str, Any] = {
            ":one": _n(1),
            ":zero": _n(0),
            ":rate_limit": _n(limits.rate_limit),
            ":expires": _n(now + limits.conversation_idle_seconds + limits.rate_window_seconds),
        }
        sets = ["#rc = if_not_exists(#rc, :zero) + :one", "expires_at = :expires"]
        removes = ["#rp"]
        conditions = [_RATE_OK]
        if request.take_lease:
            values |= {
                ":now": _n(now),
                ":owner": _s(request.message_key),
                ":lease_until": _n(now + limits.lease_seconds),
                ":conv_until": _n(now + limits.conversation_idle_seconds),
                ":chars": _n(request.chars),
            }
            sets += ["lease_owner = :owner", "lease_until = :lease_until", "conv_until = :conv_until"]
            conditions.insert(0, _USER_FREE)
            if mode == "fast":
                values |= {
                    ":max_msgs": _n(limits.conversation_max_messages),
                    ":chars_left": _n(limits.conversation_max_chars - request.chars),
                }
                sets += [
                    "conv_msgs = if_not_exists(conv_msgs, :zero) + :one",
                    "conv_chars = if_not_exists(conv_chars, :zero) + :chars",
                ]
                conditions.append(_CONVERSATION_OK)
            else:
                # A new conversation: counters restart and the answer engine's session is dropped.
                sets += ["conv_msgs = :one", "conv_chars = :chars"]
                removes.append("session_id")
        update = {
            "TableName": self._table,
            "Key": {"pk": _s("user#" + request.user_key)},
            "UpdateExpression": "SET " + ", ".join(sets) + " REMOVE " + ", ".join(removes),
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        try:
            self._db.transact_write_items(
                TransactItems=[{"Put": self._marker(request, now)}, {"Update": update}]
            )
        except AWS_ERRORS as exc:
            if error_code(exc) == "TransactionCanceledException":
                reasons = getattr(exc, "response", {}).get("CancellationReasons")
                if isinstance(reasons, list) and len(reasons) == 2:
                    return reasons
                raise RetryableError("dynamodb: transaction cancelled without reasons") from None
            raise translate("dynamodb", exc) from None
        return None

    def _marker(self, request: AdmissionRequest, now: int) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Item": {
                "pk": _s("msg#" + request.message_key),
                "expires_at": _n(now + self._limits.dedupe_ttl_seconds),
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        }

    def _classify(
        self, reasons: list[dict[str, Any]], request: AdmissionRequest, now: int, window: int
    ) -> tuple[Outcome | None, dict[str, Any]]:
        marker, user = reasons
        codes = {marker.get("Code"), user.get("Code")}
        if marker.get("Code") == "ConditionalCheckFailed":
            return Outcome.DUPLICATE, {}
        if "TransactionConflict" in codes:
            raise _Conflict
        if codes - {"None", "ConditionalCheckFailed", None}:
            # ThrottlingError, ProvisionedThroughputExceeded, ...: capacity; SQS retries the record.
            raise RetryableError(
                "dynamodb: transaction cancelled: " + ",".join(sorted(c for c in codes if c))
            )
        old = user.get("Item") or {}
        # Over the rate first: a flood while an answer is being worked on must not earn a reply each.
        if (_num(old, f"r{window}") or 0) >= self._limits.rate_limit:
            return Outcome.RATE_LIMITED, old
        if request.take_lease and (_num(old, "lease_until") or 0) >= now:
            return Outcome.BUSY, old
        return None, old

    def _mark_only(
        self, request: AdmissionRequest, now: int, outcome: Outcome, count_window: int | None = None
    ) -> Admission:
        """Write the duplicate marker alone (and count the window), so a redelivery gets no second reply."""
        items: list[dict[str, Any]] = [{"Put": self._marker(request, now)}]
        if count_window is not None:
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": {"pk": _s("user#" + request.user_key)},
                        "UpdateExpression": "SET #rc = if_not_exists(#rc, :zero) + :one",
                        "ExpressionAttributeNames": {"#rc": f"r{count_window}"},
                        "ExpressionAttributeValues": {":zero": _n(0), ":one": _n(1)},
                    }
                }
            )
        try:
            if len(items) == 1:
                self._db.put_item(**items[0]["Put"])
            else:
                self._db.transact_write_items(TransactItems=items)
        except AWS_ERRORS as exc:
            code = error_code(exc)
            if code == "ConditionalCheckFailedException":
                return Admission(Outcome.DUPLICATE)
            if code == "TransactionCanceledException":
                reasons = getattr(exc, "response", {}).get("CancellationReasons") or [{}]
                if reasons[0].get("Code") == "ConditionalCheckFailed":
                    return Admission(Outcome.DUPLICATE)
                raise RetryableError("dynamodb: transaction cancelled") from None
            raise translate("dynamodb", exc) from None
        return Admission(outcome)

    # -- undo, lease and answer claims --------------------------------------------------------------------

    def forget(self, message_key: str, user_key: str) -> None:
        self._call("delete_item", Key={"pk": _s("msg#" + message_key)})
        self.release(user_key, owner=message_key)

    def release(self, user_key: str, owner: str) -> None:
        self._call(
            "update_item",
            Key={"pk": _s("user#" + user_key)},
            UpdateExpression="REMOVE lease_owner, lease_until",
            ConditionExpression="lease_owner = :owner",
            ExpressionAttributeValues={":owner": _s(owner)},
            conditional_ok=True,
        )

    def claim_answer(self, message_key: str, seconds: int) -> bool:
        now = int(self._clock.now())
        return self._call(
            "update_item",
            Key={"pk": _s("msg#" + message_key)},
            UpdateExpression="SET claim_until = :until",
            ConditionExpression=(
                "attribute_exists(pk) AND attribute_not_exists(answered_at) "
                "AND (attribute_not_exists(claim_until) OR claim_until < :now)"
            ),
            ExpressionAttributeValues={":until": _n(now + seconds), ":now": _n(now)},
            conditional_ok=True,
        )

    def complete_answer(self, message_key: str, *, owner_of: str | None = None) -> None:
        answered: dict[str, Any] = {
            "Key": {"pk": _s("msg#" + message_key)},
            "UpdateExpression": "SET answered_at = :now REMOVE claim_until",
            "ExpressionAttributeValues": {":now": _n(self._clock.now())},
        }
        if owner_of is None:
            self._call("update_item", **answered)
            return
        answered["TableName"] = self._table
        release = {
            "TableName": self._table,
            "Key": {"pk": _s("user#" + owner_of)},
            "UpdateExpression": "REMOVE lease_owner, lease_until",
            "ConditionExpression": "lease_owner = :owner",
            "ExpressionAttributeValues": {":owner": _s(message_key)},
        }
        try:
            self._db.transact_write_items(TransactItems=[{"Update": answered}, {"Update": release}])
        except AWS_ERRORS as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise translate("dynamodb", exc) from None
            codes = [r.get("Code") for r in getattr(exc, "response", {}).get("CancellationReasons") or []]
            if codes == ["None", "ConditionalCheckFailed"]:
                # The lease expired and went to another message: only mark this one answered.
                self.complete_answer(message_key)
                return
            raise RetryableError(
                "dynamodb: transaction cancelled: " + ",".join(str(c) for c in codes)
            ) from None

    def abandon_answer(self, message_key: str) -> None:
        self._call(
            "update_item",
            Key={"pk": _s("msg#" + message_key)},
            UpdateExpression="REMOVE claim_until",
            ConditionExpression="attribute_exists(pk)",
            conditional_ok=True,
        )

    # -- the answer engine's session (Bedrock's session id) ------------------------------------------------

    def get_session(self, user_key: str) -> str | None:
        try:
            item = self._db.get_item(
                TableName=self._table,
                Key={"pk": _s("user#" + user_key)},
                ProjectionExpression="session_id, conv_until",
                ConsistentRead=True,
            ).get("Item", {})
        except AWS_ERRORS as exc:
            raise translate("dynamodb", exc) from None
        # A session belongs to its conversation: once that is idle past its time, start afresh.
        if (_num(item, "conv_until") or 0) < int(self._clock.now()):
            return None
        value = item.get("session_id", {}).get("S")
        return str(value) if value else None

    def save_session(self, user_key: str, session_id: str) -> None:
        self._call(
            "update_item",
            Key={"pk": _s("user#" + user_key)},
            UpdateExpression="SET session_id = :session",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":session": _s(session_id)},
            conditional_ok=True,
        )

    def _call(self, operation: str, *, conditional_ok: bool = False, **kwargs: Any) -> bool:
        """Run one call; with ``conditional_ok`` a failed condition is an answer (False), not an error."""
        try:
            getattr(self._db, operation)(TableName=self._table, **kwargs)
        except AWS_ERRORS as exc:
            if conditional_ok and error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise translate("dynamodb", exc) from None
        return True
