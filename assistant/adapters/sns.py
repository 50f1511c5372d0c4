"""SNSPublisher: accepted messages to the processed-messages topic."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict
from typing import Any

from assistant.adapters.aws import AWS_ERRORS, translate
from assistant.ports import ProcessedMessage, Recipient


def encode(event: ProcessedMessage) -> str:
    return json.dumps(asdict(event), ensure_ascii=False, separators=(",", ":"))


_TYPES: dict[str, type | tuple[type, ...]] = {
    "str": str,
    "int": int,
    "bool": bool,
    "str | None": (str, type(None)),
}


def decode(data: dict[str, Any]) -> ProcessedMessage:
    """Read an event back (the answer stage). Raises KeyError, TypeError or ValueError on a malformed one,
    naming the field, never its value."""
    fields = dict(data)
    recipient = fields.pop("recipient")
    if not isinstance(recipient, dict):
        raise TypeError("recipient is not an object")
    event = ProcessedMessage(recipient=Recipient(**recipient), **fields)
    for holder in (event, event.recipient):
        for field in dataclasses.fields(holder):
            expected = _TYPES.get(str(field.type))
            value = getattr(holder, field.name)
            if expected is not None and (
                not isinstance(value, expected) or (isinstance(value, bool) and expected is int)
            ):
                raise ValueError(f"{field.name} has the wrong type")
    if not (event.recipient.wa_id or event.recipient.user_id):
        raise ValueError("recipient has no id")
    return event


class SNSPublisher:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self._topic = topic_arn

    def publish(self, event: ProcessedMessage) -> None:
        try:
            self._client.publish(
                TopicArn=self._topic,
                Message=encode(event),
                # Lets a subscriber filter by kind (for example, only voice notes to a transcriber).
                MessageAttributes={"kind": {"DataType": "String", "StringValue": event.kind}},
            )
        except AWS_ERRORS as exc:
            raise translate("sns", exc) from None
