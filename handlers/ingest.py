"""Ingest Lambda: SQS (S3 event notifications of the knowledge bucket) -> one `IngestionTrigger` decision.

The whole batch is decided together (one job covers every change in it), so powertools' per-record
``process_partial_response`` does not fit: the response is built here. A malformed record is counted and
dropped (a retry cannot mend it); when the decision is to wait for the running job, or fails, every
well-formed record is reported failed, and SQS redelivers them all after the visibility timeout.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes import SQSEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from assistant.bootstrap import ingestion_trigger
from assistant.errors import AssistantError, IngestionBusy, MalformedPayload, RetryableError
from assistant.models.envelope import unwrap_sqs_body
from assistant.services.ingestion import IngestionTrigger, ObjectChange, parse_s3_events

logger = Logger()
metrics = Metrics()


def trigger() -> IngestionTrigger:
    """The trigger, built once per container by the composition root."""
    return ingestion_trigger()


def _all_failed(message_ids: list[str]) -> PartialItemFailureResponse:
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in message_ids]}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    changes: list[ObjectChange] = []
    readable: list[str] = []
    for record in SQSEvent(event).records:
        try:
            changes.extend(parse_s3_events(unwrap_sqs_body(record.body)))
        except MalformedPayload:
            metrics.add_metric(name="MalformedEvent", unit=MetricUnit.Count, value=1)
            logger.warning("malformed S3 notification dropped", extra={"sqs_message_id": record.message_id})
            continue
        readable.append(record.message_id)
    if not readable:
        return {"batchItemFailures": []}
    try:
        decision = trigger().handle(changes)
    except IngestionBusy:
        return _all_failed(readable)
    except RetryableError as exc:
        logger.warning("ingestion trigger failed, batch retried", extra={"error": type(exc).__name__})
        return _all_failed(readable)
    except AssistantError:
        # A rejected request (a wrong data source id, missing permissions): retries lead the batch to the
        # dead-letter queue, where its changes are kept.
        logger.exception("ingestion trigger rejected, batch retried")
        return _all_failed(readable)
    logger.info(
        "batch decided", extra={"decision": decision, "records": len(readable), "changes": len(changes)}
    )
    return {"batchItemFailures": []}
