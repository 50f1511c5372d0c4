"""BedrockIngestion: the knowledge base's ingestion jobs through ``bedrock-agent`` (the ``Ingestion`` port).

A start is idempotent by its client token, so botocore's own retries (and SQS redeliveries of the batch that
asked for it) can never start a second job: the service answers a repeated token with the job it started.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from assistant.adapters.aws import AWS_ERRORS, error_code, translate
from assistant.errors import AssistantError, IngestionBusy
from assistant.ports import DocumentStatus, IngestionJob

SERVICE = "bedrock-agent"

# StartIngestionJob's clientToken: 33 to 256 characters of this pattern (botocore's service model).
_TOKEN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){32,255}")

# Codes with which a start may be refused because a job is running (one per data source at a time). Only
# ConflictException says so by itself; the others are checked against the data source's latest job, never
# by their message text.
_CONFLICT = "ConflictException"
_MAYBE_BUSY = frozenset({"ValidationException", "ServiceQuotaExceededException"})

PAGE_SIZE = 1000
"""The largest page ``ListKnowledgeBaseDocuments`` returns."""


def client_token(token: str) -> str:
    """``token`` if the service accepts it as a client token, else a stable digest of it (64 hex
    characters): the same token always maps to the same client token."""
    if _TOKEN.fullmatch(token):
        return token
    return hashlib.sha256(token.encode()).hexdigest()


def _epoch(value: Any) -> float | None:
    # botocore parses the service's timestamps into aware datetimes; a stand-in may send numbers.
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return None


def job_of(raw: dict[str, Any]) -> IngestionJob:
    """An ``IngestionJob`` from an ``ingestionJob`` (or a job summary) of the service's answer."""
    stats = raw.get("statistics") or {}

    def number(name: str) -> int:
        return int(stats.get(name) or 0)

    return IngestionJob(
        job_id=str(raw["ingestionJobId"]),
        status=str(raw.get("status") or "STARTING"),
        started_at=_epoch(raw.get("startedAt")),
        updated_at=_epoch(raw.get("updatedAt")),
        scanned=number("numberOfDocumentsScanned"),
        indexed=number("numberOfNewDocumentsIndexed") + number("numberOfModifiedDocumentsIndexed"),
        deleted=number("numberOfDocumentsDeleted"),
        failed=number("numberOfDocumentsFailed"),
        failure_reasons=tuple(str(reason) for reason in raw.get("failureReasons") or ()),
    )


def document_of(raw: dict[str, Any]) -> DocumentStatus:
    """A ``DocumentStatus`` from a ``documentDetails`` item: S3 documents by URI, custom ones by id."""
    identifier = raw.get("identifier") or {}
    uri = (identifier.get("s3") or {}).get("uri") or (identifier.get("custom") or {}).get("id") or ""
    reason = raw.get("statusReason")
    return DocumentStatus(
        uri=str(uri),
        status=str(raw.get("status") or ""),
        reason=str(reason) if reason else None,
        updated_at=_epoch(raw.get("updatedAt")),
    )


class BedrockIngestion:
    """The ingestion jobs of one data source of one knowledge base.

    ``client`` is a ``bedrock-agent`` client (``assistant.adapters.aws.client("bedrock-agent")``); every
    call here is safe to retry, so botocore's standard retries may stay on."""

    def __init__(self, client: Any, knowledge_base_id: str, data_source_id: str) -> None:
        if not knowledge_base_id or not data_source_id:
            raise ValueError("a knowledge base id and a data source id are required")
        self._client = client
        self._ids = {"knowledgeBaseId": knowledge_base_id, "dataSourceId": data_source_id}

    def start(self, token: str) -> IngestionJob:
        try:
            response = self._client.start_ingestion_job(
                **self._ids,
                clientToken=client_token(token),
                description="Started by the ingestion trigger for a batch of S3 changes",
            )
        except AWS_ERRORS as exc:
            raise self._start_error(exc) from None
        return job_of(response["ingestionJob"])

    def _start_error(self, exc: Exception) -> Exception:
        code = error_code(exc)
        if code == _CONFLICT:
            return IngestionBusy(f"{SERVICE}: {code}")
        if code in _MAYBE_BUSY:
            # Ask the data source rather than read the message: busy if its latest job is still running.
            try:
                latest = self.latest()
            except AssistantError:
                latest = None  # the check failed: the original error stands
            if latest is not None and latest.running:
                return IngestionBusy(f"{SERVICE}: {code}")
        return translate(SERVICE, exc)

    def latest(self) -> IngestionJob | None:
        try:
            response = self._client.list_ingestion_jobs(
                **self._ids, sortBy={"attribute": "STARTED_AT", "order": "DESCENDING"}, maxResults=1
            )
        except AWS_ERRORS as exc:
            raise translate(SERVICE, exc) from None
        summaries = response.get("ingestionJobSummaries") or []
        return job_of(summaries[0]) if summaries else None

    def get(self, job_id: str) -> IngestionJob:
        try:
            response = self._client.get_ingestion_job(**self._ids, ingestionJobId=job_id)
        except AWS_ERRORS as exc:
            raise translate(SERVICE, exc) from None
        return job_of(response["ingestionJob"])

    def documents(self) -> list[DocumentStatus]:
        documents: list[DocumentStatus] = []
        request: dict[str, Any] = {**self._ids, "maxResults": PAGE_SIZE}
        while True:
            try:
                response = self._client.list_knowledge_base_documents(**request)
            except AWS_ERRORS as exc:
                raise translate(SERVICE, exc) from None
            documents.extend(document_of(item) for item in response.get("documentDetails") or ())
            token = response.get("nextToken")
            if not token:
                return documents
            request["nextToken"] = token
