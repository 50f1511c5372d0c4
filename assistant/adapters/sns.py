"""SNSPublisher: accepted messages to the processed-messages topic."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from assistant.adapters.aws import AWS_ERRORS, translate
from assistant.ports import ProcessedMessage, Recipient


def encode(event: ProcessedMessage) -> str:
    return json.dumps(asdict(event), ensure_ascii=False, separators=(",", ":"))


def decode(data: dict[str, Any]) -> ProcessedMessage:
    """Read an event back (the answer stage). Raises KeyError/TypeError on a malformed one."""
    fields = dict(data)
    recipient = fields.pop("recipient")
    return ProcessedMessage(recipient=Recipient(**recipient), **fields)


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
