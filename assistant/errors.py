"""The error hierarchy: retryable (SQS redelivers the record) and permanent (answered or dropped).

Messages of these errors never contain personal data: they name a field or an AWS error code, never a value.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base of every error this project raises on purpose."""


class RetryableError(AssistantError):
    """A transient failure (throttling, a 5xx, a network error): failing the record lets SQS retry it."""


class PermanentError(AssistantError):
    """A failure that a retry cannot mend."""


class MalformedPayload(PermanentError):
    """The payload is not an End User Messaging Social envelope this code can read."""


class RejectedByService(PermanentError):
    """An AWS service rejected a request as invalid (4xx other than throttling)."""

    def __init__(self, service: str, code: str) -> None:
        super().__init__(f"{service} rejected the request: {code}")
        self.service = service
        self.code = code
