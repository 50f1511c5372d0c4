"""Inbound Lambda: SQS (fed by the End User Messaging Social topic) -> `InboundService.handle`.

A malformed payload is logged without personal data, counted and dropped. Any other failure fails only its
own record (``ReportBatchItemFailures``): SQS redelivers it, and after ``maxReceiveCount`` it waits in the
dead-letter queue, so nothing is lost.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from assistant.bootstrap import inbound_service
from assistant.errors import MalformedPayload, RetryableError
from assistant.models.envelope import parse_sqs_body

# A record is started only with this much time left: one cut off by the timeout would be resumed by SQS's
# retry only after the visibility timeout (docs/exactly-once.md), minutes later than it could be.
MIN_MILLIS_PER_RECORD = 40_000

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    if lambda_context is not None and lambda_context.get_remaining_time_in_millis() < MIN_MILLIS_PER_RECORD:
        raise RetryableError("not enough time left in this invocation")
    try:
        envelope = parse_sqs_body(record.body)
    except MalformedPayload as exc:
        metrics.add_metric(name="MalformedPayload", unit=MetricUnit.Count, value=1)
        logger.warning(
            "malformed payload dropped", extra={"reason": str(exc), "sqs_message_id": record.message_id}
        )
        return
    inbound_service().handle(envelope)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
