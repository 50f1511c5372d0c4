"""Categorize Lambda: SQS (fed by the processed-messages topic, beside the answer stage) ->
`CategorizeService.handle`: each question's category, counted once for the organizers' dashboard.

A malformed event is logged, counted and dropped; any other failure fails its record for SQS to retry and,
in the end, to dead-letter (nothing is lost, and the marker keeps a retry from counting twice).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from assistant.adapters.sns import decode
from assistant.bootstrap import categorize_service
from assistant.errors import MalformedPayload
from assistant.models.envelope import unwrap_sqs_body

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    try:
        question = decode(unwrap_sqs_body(record.body))
    except (MalformedPayload, KeyError, TypeError, ValueError):
        metrics.add_metric(name="MalformedEvent", unit=MetricUnit.Count, value=1)
        logger.warning(
            "malformed processed-message event dropped", extra={"sqs_message_id": record.message_id}
        )
        return
    categorize_service().handle(question)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
