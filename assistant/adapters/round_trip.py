"""``assistant doctor``'s round trip: a probe published to the inbound topic and followed through the table.

The probe (``local.envelopes.probe_envelope``) goes through the deployed pipeline like any message; the
answer stage records its steps under ``probe#<id>`` (``services/probe.py``), which this polls until the probe
is answered or given a static reply, or the time is up. ``settle`` is what happens between two looks: a
second's sleep against AWS, a ``drain`` of the local twin's queues in tests and locally.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from assistant.adapters.aws import AWS_ERRORS, translate
from assistant.adapters.dynamodb import probe_steps
from assistant.ports import Clock
from assistant.services.doctor import RoundTripResult

DEFAULT_QUESTION = "Where is the registration desk?"


class PipelineRoundTrip:
    def __init__(
        self,
        *,
        publish: Callable[[str], None],
        steps: Callable[[str], dict[str, str]],
        phone_number_arn: str,
        clock: Clock,
        settle: Callable[[], None],
        to: str | None = None,
        question: str = DEFAULT_QUESTION,
        timeout_seconds: float = 120.0,
    ) -> None:
        self._publish = publish
        self._steps = steps
        self._phone_number_arn = phone_number_arn
        self._clock = clock
        self._settle = settle
        self._to = to
        self._question = question
        self._timeout = timeout_seconds

    def run(self) -> RoundTripResult:
        from assistant.local.envelopes import probe_envelope

        probe_id = uuid.uuid4().hex
        started = self._clock.now()
        envelope = probe_envelope(
            self._question,
            probe_id=probe_id,
            phone_number_arn=self._phone_number_arn,
            to=self._to,
            timestamp=int(started),
        )
        dry_run = self._to is None
        try:
            self._publish(json.dumps(envelope))
        except AWS_ERRORS as exc:
            return RoundTripResult("failed", dry_run=dry_run, detail=f"publish: {translate('sns', exc)}")
        steps: dict[str, str] = {}
        while self._clock.now() - started < self._timeout:
            self._settle()
            try:
                steps = self._steps(probe_id)
            except Exception as exc:  # noqa: BLE001 - reported, never raised: the doctor goes on
                return RoundTripResult("failed", dry_run=dry_run, detail=f"reading the table: {exc}")
            outcome = "answered" if "answered" in steps else "static" if "static" in steps else ""
            if outcome:
                return RoundTripResult(
                    outcome,
                    source=steps[outcome],
                    seconds=round(self._clock.now() - started, 1),
                    replies=1 if "reply" in steps else 0,
                    dry_run=dry_run,
                    detail="read receipt recorded" if "read" in steps else "",
                )
        seen = ", ".join(sorted(steps)) or "nothing"
        return RoundTripResult(
            "timeout", seconds=round(self._clock.now() - started, 1), dry_run=dry_run, detail=f"seen: {seen}"
        )


def sns_publisher(client: Any, topic_arn: str) -> Callable[[str], None]:
    """Publish to the inbound topic as End User Messaging Social does (the message is the envelope)."""

    def publish(message: str) -> None:
        client.publish(TopicArn=topic_arn, Message=message)

    return publish


def table_steps(client: Any, table_name: str) -> Callable[[str], dict[str, str]]:
    """Read a probe's steps from the conversation table."""
    return lambda probe_id: probe_steps(client, table_name, probe_id)
