"""Alarm Lambda: SNS (the CloudWatch alarm topic) -> `AlarmNotifier.notify`: the on-call organizers paged
by WhatsApp template message, once per alarm state change each (``services/alerting.py``).

SNS invokes this function asynchronously; a raised error makes Lambda retry the whole event (twice, about
one and then two minutes later), and the organizers already paged are skipped then. So the invocation
fails only when some organizer could not be paged yet for a reason a retry can mend; a malformed message
is counted and dropped. With ``ON_CALL_SECRET_ARN`` or ``ALARM_TEMPLATE_NAME`` empty it does nothing.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from assistant.bootstrap import alarm_notifier
from assistant.errors import RetryableError
from assistant.services.alerting import AlarmNotifier

logger = Logger()
metrics = Metrics()


@cache
def notifier() -> AlarmNotifier | None:
    """Built on first use (after configuration) and kept while warm: the on-call numbers and the HMAC key
    are read once per container. None when WhatsApp alarms are off (said once, by the builder)."""
    return alarm_notifier()


def _messages(event: dict[str, Any]) -> list[object]:
    """Every record's ``Sns.Message`` (None for a record without one: the notifier counts it malformed)."""
    records = event.get("Records") if isinstance(event, dict) else None
    messages: list[object] = []
    for record in records if isinstance(records, list) else [None]:
        sns = record.get("Sns") if isinstance(record, dict) else None
        messages.append(sns.get("Message") if isinstance(sns, dict) else None)
    return messages


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> None:
    service = notifier()
    if service is None:
        return
    outcomes = [service.notify(message) for message in _messages(event)]
    if any(outcome.retry for outcome in outcomes):
        raise RetryableError("some on-call organizers are not paged yet: Lambda retries the event")
