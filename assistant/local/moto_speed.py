"""moto made fast enough for an event's worth of messages, without changing what it answers.

- DynamoDB: moto's ``TransactWriteItems`` keeps a deep copy of every table it touches (one per item of the
  transaction) to roll back a cancelled one: each transaction costs time proportional to the table, so a
  run slows as the table grows (68 ms a transaction at a few hundred items, seconds at ten thousand).
  Here it keeps a copy of the items the transaction names instead, and puts those back when moto cancels
  it; moto's own code still decides everything else (conditions, cancellation reasons, the errors).
- SQS: whether a message is visible is asked of every message in the queue on every receive and every
  attribute read, each time building a ``datetime`` for "now" (3 µs): a backlog of thousands made each
  receive cost milliseconds. Here "now" is read once per scan, from ``time.time()`` (the same instant in
  the same unit: milliseconds since the epoch). Deleting a message and checking a received one's retention
  scanned the whole queue (twice, or for every attribute); here once, and not at all.
- Every request: moto lists a response class's methods (``inspect.getmembers``) and converts names from
  camel case, the same answers each time; here both are remembered (pure functions of a class or a name).

``install()`` is idempotent and process-wide; the local twin calls it when it starts.
``tests/unit/test_moto_speed.py`` checks that a cancelled transaction leaves every item as it was.
"""

from __future__ import annotations

import copy
import functools
import threading
import time
from typing import Any

_installed = False
_lock = threading.Lock()


class _TablesByReference:
    """Stands in for the ``copy`` module inside moto's DynamoDB backend: a table is "copied" by reference
    (the transaction's own snapshot restores what it changed); anything else is deep-copied as before."""

    def __init__(self, table_type: type) -> None:
        self._table_type = table_type

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(value, self._table_type):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        from moto.dynamodb import models
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.table import Table

        original = DynamoDBBackend.transact_write_items

        def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
            saved = _snapshot(self, transact_items)
            try:
                original(self, transact_items)
            except BaseException:
                _restore(saved)
                raise

        models.copy = _TablesByReference(Table)  # type: ignore[attr-defined,assignment]
        DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
        _install_sqs()
        _install_caches()
        _installed = True


def _install_caches() -> None:
    import moto.core.responses
    import moto.core.utils
    import moto.sns.models
    import moto.sns.responses
    import moto.sqs.models

    names = functools.cache(moto.core.utils.method_names_from_class)
    moto.core.responses.method_names_from_class = names  # type: ignore[attr-defined]
    underscores = functools.lru_cache(maxsize=8192)(moto.core.utils.camelcase_to_underscores)
    for module in (moto.core.responses, moto.sqs.models, moto.sns.models, moto.sns.responses):
        module.camelcase_to_underscores = underscores  # type: ignore[attr-defined]


def _install_sqs() -> None:
    from moto.sqs.exceptions import ReceiptHandleIsInvalid
    from moto.sqs.models import Message, Queue, SQSBackend

    def visible(message: Any) -> bool:
        return bool(time.time() * 1000 > message.visible_at)

    def delayed(message: Any) -> bool:
        return bool(time.time() * 1000 < message.delayed_until)

    def messages(queue: Any) -> list[Any]:
        now = time.time() * 1000
        return [m for m in queue._messages if now > m.visible_at and not now < m.delayed_until]

    original_attributes = Queue.attributes

    def attributes(queue: Any) -> dict[str, Any]:
        # moto reads every attribute (three of them a scan of the queue each) even to look up one, on every
        # message sent to the queue: counted here in one scan, the rest read as moto reads them.
        now = time.time() * 1000
        visible = hidden = delayed = 0
        for message in queue._messages:
            waiting = now < message.delayed_until
            delayed += waiting
            if now > message.visible_at:
                visible += not waiting
            else:
                hidden += 1
        counts = {
            "approximate_number_of_messages": visible,
            "approximate_number_of_messages_not_visible": hidden,
            "approximate_number_of_messages_delayed": delayed,
        }
        return original_attributes.fget(_Counted(queue, counts))  # type: ignore[attr-defined,no-any-return]

    def delete_message(queue: Any, receipt_handle: str) -> None:
        # moto scans the queue twice, each message's handles rebuilt as a list; here once, by identity.
        if receipt_handle in queue.deleted_messages:
            return  # already deleted: gracefully, as moto does
        for index, message in enumerate(queue._messages):
            if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles:
                del queue._messages[index]
                queue.pending_messages.discard(message)
                queue.deleted_messages.update(message.all_receipt_handles)
                return
        raise ReceiptHandleIsInvalid()

    def retained(backend: Any, queue_name: str, message: Any) -> bool:
        # moto reads all of the queue's attributes (a scan of it) for each message it receives.
        period = int(backend.get_queue(queue_name).message_retention_period)
        return bool(period + message.sent_timestamp / 1000 > time.time())

    Queue.delete_message = delete_message  # type: ignore[method-assign,assignment]
    SQSBackend.is_message_valid_based_on_retention_period = retained  # type: ignore[method-assign,assignment]
    Message.visible = property(visible)  # type: ignore[assignment,method-assign]
    Message.delayed = property(delayed)  # type: ignore[assignment,method-assign]
    Queue.messages = property(messages)  # type: ignore[assignment,method-assign]
    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]


class _Counted:
    """A queue whose three message counts are given: every other attribute is the queue's own."""

    def __init__(self, queue: Any, counts: dict[str, int]) -> None:
        self.__dict__["_queue"] = queue
        self.__dict__["_counts"] = counts

    def __getattr__(self, name: str) -> Any:
        counts = self.__dict__["_counts"]
        return counts[name] if name in counts else getattr(self.__dict__["_queue"], name)


_UNREADABLE = object()

_Saved = list[tuple[Any, Any, Any, Any]]
"""(table, hash value, range value or None, a copy of the item then, or None if there was none)."""


def _snapshot(backend: Any, transact_items: list[dict[str, Any]]) -> _Saved:
    from moto.dynamodb.models.dynamo_type import DynamoType

    saved: _Saved = []
    for entry in transact_items:
        if not isinstance(entry, dict) or len(entry) != 1:
            continue  # moto refuses it before changing anything
        op_type, op = next(iter(entry.items()))
        if not isinstance(op, dict):
            continue
        table = backend.tables.get(op.get("TableName"))
        if table is None:
            continue
        key = op.get("Item") if op_type == "Put" else op.get("Key")
        if not isinstance(key, dict) or table.hash_key_attr not in key:
            continue
        try:
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = (
                DynamoType(key[table.range_key_attr]) if table.range_key_attr in (key or {}) else None
            )
            current = table.get_item(hash_value, range_value)
        except Exception:  # noqa: BLE001 - a key moto will refuse itself; nothing of it can change
            current = _UNREADABLE
        if current is not _UNREADABLE:
            saved.append((table, hash_value, range_value, copy.deepcopy(current)))
    return saved


def _restore(saved: _Saved) -> None:
    # In reverse: an item named twice (moto refuses that, after applying the first) ends as it began.
    for table, hash_value, range_value, item in reversed(saved):
        if item is None:
            if table.get_item(hash_value, range_value) is not None:
                table.delete_item(hash_value, range_value)
        elif range_value is not None:
            table.items[hash_value][range_value] = item
        else:
            table.items[hash_value] = item
