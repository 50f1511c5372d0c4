"""The error hierarchy: retryable (SQS redelivers the record) and permanent (answered or dropped).

Messages of these errors never contain personal data: they name a field or an AWS error code, never a value.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base of every error this project raises on purpose."""


class RetryableError(AssistantError):
    """A transient failure (throttling, a 5xx, a network error): failing the record lets SQS retry it."""


class AmbiguousOutcome(RetryableError):
    """The request reached the service, and its answer was lost (a read timeout, a 5xx): it may or may not
    have taken effect. Whoever retries must first find out whether it did (see docs/exactly-once.md)."""


class Misconfigured(RetryableError):
    """A service refused the deployment rather than the request: access denied, a model not enabled or not
    offered on demand in the region, an unknown model, guardrail or knowledge base. Retryable on purpose:
    the message goes back to its queue, then to the dead-letter queue, and an alarm
    (``BedrockMisconfigured``) tells the operators, who fix the stack and redrive it. Apologising instead
    would fail every attendee one at a time, silently."""

    def __init__(self, service: str, code: str) -> None:
        super().__init__(f"{service} refused the configuration: {code}")
        self.service = service
        self.code = code


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


class UnusableAudio(PermanentError):
    """A voice note or audio message that cannot be transcribed: ``reason`` is ``too_big``, ``too_long``,
    ``unreadable`` (not audio, corrupted, mislabelled) or ``silent`` (empty, or nothing intelligible)."""

    REASONS = ("too_big", "too_long", "unreadable", "silent")

    def __init__(self, reason: str) -> None:
        if reason not in self.REASONS:
            raise ValueError("unknown reason")
        super().__init__(f"unusable audio: {reason}")
        self.reason = reason


class IngestionBusy(RetryableError):
    """An ingestion job is already running on the data source: try again once it is over."""
