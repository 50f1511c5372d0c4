"""Answer Lambda: SQS (fed by the processed-messages topic) -> `AnswerService.handle`.

A malformed event is logged, counted and dropped; any other failure fails its record for SQS to retry and,
in the end, to dead-letter.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from assistant.adapters.sns import decode
from assistant.bootstrap import answer_service
from assistant.errors import MalformedPayload, RetryableError
from assistant.models.envelope import unwrap_sqs_body

# The answer engine's budget (60 s), a call's timeout (30 s) and sending: a question is started only with this
# much left (the function's timeout is 120 s, and BatchSize is 1).
MIN_MILLIS_PER_RECORD = 105_000

logger = Logger()
metrics = Metrics()
# X-Ray subsegments for the AWS calls (Bedrock, DynamoDB, WhatsApp) under the invocation's segment, which
# `Tracing: Active` records by itself. Only botocore is patched; responses are never captured (they hold
# answers). About 0.11 s of cold start (benchmarks/tracer.py), small beside an answer: the inbound
# function goes without.
# Outside Lambda (the local twin, tests) the tracer disables itself.
tracer = Tracer(patch_modules=("botocore",))
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    if lambda_context is not None and lambda_context.get_remaining_time_in_millis() < MIN_MILLIS_PER_RECORD:
        raise RetryableError("not enough time left in this invocation")
    try:
        question = decode(unwrap_sqs_body(record.body))
    except (MalformedPayload, KeyError, TypeError, ValueError):
        metrics.add_metric(name="MalformedEvent", unit=MetricUnit.Count, value=1)
        logger.warning(
            "malformed processed-message event dropped", extra={"sqs_message_id": record.message_id}
        )
        return
    time_left = None if lambda_context is None else lambda_context.get_remaining_time_in_millis() / 1000
    answer_service().handle(question, time_left=time_left)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
