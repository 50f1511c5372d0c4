"""Inbound Lambda: SQS (fed by the End User Messaging Social topic) -> handle_inbound.

A malformed payload, or any permanent error, is logged without personal data, counted and dropped; a
retryable error fails only its own record (``ReportBatchItemFailures``) so SQS redelivers just that one.
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
from assistant.errors import MalformedPayload, PermanentError
from assistant.models.envelope import parse_sqs_body

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    try:
        inbound_service().handle(parse_sqs_body(record.body))
    except MalformedPayload as exc:
        metrics.add_metric(name="MalformedPayload", unit=MetricUnit.Count, value=1)
        logger.warning(
            "malformed payload dropped", extra={"reason": str(exc), "sqs_message_id": record.message_id}
        )
    except PermanentError as exc:
        metrics.add_metric(name="PermanentFailure", unit=MetricUnit.Count, value=1)
        logger.error("permanent failure, record dropped", extra={"error": str(exc)})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
