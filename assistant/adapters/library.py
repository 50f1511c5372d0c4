"""The content team's library on a deployed stack: the knowledge bucket, its metadata sidecars, the
knowledge base's ingestion jobs, and the real answer path for ``kb eval``.

Uploading is all that publishing takes: the bucket's events start the ingestion by themselves (the
ingestion trigger). ``follow`` watches it to its end, and starts it itself when no job picked the change
up (a stack without the trigger, or a quiet minute); the trigger then finds the change covered.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from assistant.adapters.aws import AWS_ERRORS, error_code, translate
from assistant.errors import IngestionBusy, RetryableError
from assistant.ports import AnswerEngine, DocumentStatus, Ingestion, IngestionJob
from assistant.services.library import METADATA_SUFFIX, Published, sidecar, title_from

Progress = Callable[[str, int, int], None]

FOLLOW_POLL_SECONDS = 5.0
FOLLOW_TIMEOUT_SECONDS = 1800.0
TRIGGER_GRACE_SECONDS = 90.0
"""How long ``follow`` lets the ingestion trigger start the job (its batching window is 60 s) before it
starts one itself."""
_TEXT_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm")


class StackLibrary:
    def __init__(
        self,
        *,
        stack: str,
        bucket: str,
        s3: Any,
        ingestion: Ingestion,
        agent_runtime: Any,
        knowledge_base_id: str,
        engine: Callable[[], AnswerEngine],
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        poll_seconds: float | None = None,
        timeout_seconds: float | None = None,
    ) -> None:
        self._stack = stack
        self._bucket = bucket
        self._s3 = s3
        self._ingestion = ingestion
        self._agent = agent_runtime
        self._knowledge_base_id = knowledge_base_id
        self._engine = engine
        self._clock = clock
        self._sleep = sleep
        self._poll = poll_seconds
        self._timeout = timeout_seconds

    @property
    def where(self) -> str:
        return f"stack {self._stack} (s3://{self._bucket})"

    # -- publishing -------------------------------------------------------------------------------------

    def upload(self, files: list[Path], progress: Progress) -> Published:
        """Each file goes to the bucket under its name (replacing an earlier version), its metadata sidecar
        first: a document is never indexed without its title. One PUT per object: an interrupted upload
        leaves every object either old or new, never half written."""
        total = sum(path.stat().st_size for path in files)
        sent = 0
        lines = []
        for path in files:
            text = (
                path.read_text(encoding="utf-8", errors="replace")
                if path.suffix.lower() in _TEXT_SUFFIXES
                else None
            )
            self._put(path.name + METADATA_SUFFIX, sidecar(title_from(path, text)).encode("utf-8"))

            def moved(count: int, name: str = path.name) -> None:
                nonlocal sent
                sent += count
                progress(name, sent, total)

            try:
                self._s3.upload_file(str(path), self._bucket, path.name, Callback=moved)
            except AWS_ERRORS as exc:
                raise translate("s3", exc) from None
            except S3UploadFailedError:  # the transfer manager's wrapping of a client error
                raise RetryableError("s3: the upload failed") from None
            lines.append(f"uploaded {path.name} ({path.stat().st_size / 1024:.1f} KB)")
        return Published(job=None, lines=tuple(lines))

    def remove(self, name: str) -> bool:
        try:
            self._s3.head_object(Bucket=self._bucket, Key=name)
        except AWS_ERRORS as exc:
            if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise translate("s3", exc) from None
        try:
            self._s3.delete_object(Bucket=self._bucket, Key=name)
            self._s3.delete_object(Bucket=self._bucket, Key=name + METADATA_SUFFIX)
        except AWS_ERRORS as exc:
            raise translate("s3", exc) from None
        return True

    def follow(self, since: float, progress: Progress) -> IngestionJob | None:
        """Wait for the ingestion of what changed after ``since`` to end; returns that job (or the latest,
        when it does not end in time)."""
        poll = FOLLOW_POLL_SECONDS if self._poll is None else self._poll
        deadline = self._clock() + (FOLLOW_TIMEOUT_SECONDS if self._timeout is None else self._timeout)
        waited_for_trigger = self._clock() + TRIGGER_GRACE_SECONDS
        latest = self._ingestion.latest()
        while self._clock() < deadline:
            latest = self._ingestion.latest()
            ours = latest is not None and latest.started_at is not None and latest.started_at >= since
            if ours and latest is not None and not latest.running:
                progress(latest.status, 1, 1)
                return latest
            if latest is not None and latest.running:
                progress(f"{latest.status} ({latest.scanned} scanned)", 0, 1)
            elif self._clock() >= waited_for_trigger:
                with contextlib.suppress(IngestionBusy):  # the trigger started it meanwhile
                    self._ingestion.start(f"cli-{int(since)}-{uuid.uuid4().hex[:8]}")
            self._sleep(poll)
        return latest

    # -- what is there --------------------------------------------------------------------------------

    def latest(self) -> IngestionJob | None:
        return self._ingestion.latest()

    def failures(self) -> list[tuple[str, str]]:
        return [
            (document.uri.rsplit("/", 1)[-1], document.reason or "no reason given")
            for document in self._ingestion.documents()
            if document.status == "FAILED"
        ]

    def documents(self) -> list[tuple[DocumentStatus, str, int | None, int | None]]:
        statuses = {d.uri.rsplit("/", 1)[-1]: d for d in self._ingestion.documents()}
        rows: list[tuple[DocumentStatus, str, int | None, int | None]] = []
        for key, size, modified in self._objects():
            if key.endswith(METADATA_SUFFIX) or key.startswith("eval/"):
                continue
            status = statuses.get(key) or DocumentStatus(
                uri=f"s3://{self._bucket}/{key}", status="NOT_INGESTED"
            )
            if status.updated_at is None:
                status = DocumentStatus(status.uri, status.status, status.reason, modified)
            rows.append((status, self._title(key), size, None))
        return rows

    def _objects(self) -> Iterator[tuple[str, int, float | None]]:
        token: str | None = None
        while True:
            request: dict[str, Any] = {"Bucket": self._bucket}
            if token:
                request["ContinuationToken"] = token
            try:
                page = self._s3.list_objects_v2(**request)
            except AWS_ERRORS as exc:
                raise translate("s3", exc) from None
            for item in page.get("Contents", []):
                modified = item.get("LastModified")
                yield str(item["Key"]), int(item.get("Size", 0)), modified.timestamp() if modified else None
            token = page.get("NextContinuationToken")
            if not token:
                return

    def _title(self, key: str) -> str:
        import json

        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=key + METADATA_SUFFIX)["Body"].read()
            title = json.loads(body)["metadataAttributes"]["title"]
            return str(title)
        except (ClientError, BotoCoreError, ValueError, KeyError, TypeError):
            return title_from(Path(key))

    def _put(self, key: str, body: bytes) -> None:
        try:
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/json")
        except AWS_ERRORS as exc:
            raise translate("s3", exc) from None

    # -- what an evaluation needs ---------------------------------------------------------------------

    def retrieve(self, question: str, k: int) -> list[str]:
        try:
            response = self._agent.retrieve(
                knowledgeBaseId=self._knowledge_base_id,
                retrievalQuery={"text": question},
                retrievalConfiguration={"vectorSearchConfiguration": {"numberOfResults": k}},
            )
        except AWS_ERRORS as exc:
            raise translate("bedrock-agent-runtime", exc) from None
        names = []
        for result in response.get("retrievalResults") or ():
            uri = str(((result.get("location") or {}).get("s3Location") or {}).get("uri") or "")
            if uri:
                names.append(uri.rsplit("/", 1)[-1])
        return names

    @contextmanager
    def asking(self) -> Iterator[Callable[[str], tuple[str, bool]]]:
        """``ask(question) -> (reply, dont_know)`` through the deployed answer path (Bedrock, the guardrail,
        the agenda tools) and the answer stage's decisions, each question in a conversation of its own."""
        from assistant.services.answering import asked, reply_to

        engine = self._engine()

        def ask(question: str) -> tuple[str, bool]:
            message = asked(question, f"eval-{uuid.uuid4().hex}")
            body, source = reply_to(message, engine, help_desk="")
            return body, source in ("no_answer", "error")

        yield ask
