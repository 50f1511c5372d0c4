"""The local twin: the Lambda code, unchanged, on moto and local wire-level stand-ins.

- SNS, SQS, DynamoDB and Secrets Manager: moto, in process, with the resources created from
  ``template.yaml``'s own definitions (tables, topics, queues with their redrive policies, subscriptions).
- socialmessaging: ``SocialMessagingStandIn`` on 127.0.0.1, through ``AWS_ENDPOINT_URL_SOCIALMESSAGING``.
- socialmessaging's status events: the stand-in queues a ``sent`` status for what it sent; ``drain`` publishes
  them to the inbound topic, as the service does.
- Lambda: a poller per SQS event source that calls the handler with a Lambda-shaped event, deletes what
  succeeded, honours ``batchItemFailures``; moto moves a record to its DLQ after ``maxReceiveCount``. A queue
  fed by a bucket's notifications (IngestQueue) is created but not polled: the twin sets up no notifications,
  and locally documents go straight into the home's knowledge base (``assistant kb add``/``upload``).
- Time: the functions run on ``cloud.clock``, a ``VirtualClock``. A record that failed (or whose invocation
  died) comes back when the queue's visibility timeout has passed in virtual time, as on AWS; when only such
  records are left, ``drain`` moves the clock to the earliest of them instead of waiting.
- State between commands lives in the home directory: the HMAC key, the DynamoDB items and the virtual time
  they were written at, saved by ``save_state()`` (and on exit, even when an exception ends the run).
- What the functions print (JSON logs, EMF metrics) goes to ``<home>/logs/functions.log``, as Lambda's
  stdout goes to CloudWatch.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import json
import logging
import os
import secrets
import sys
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from assistant.config import Settings
from assistant.local.bedrock import BedrockStandIn, Scripted
from assistant.local.clock import VirtualClock
from assistant.local.engine import E5Embedder, KnowledgeBase
from assistant.local.faults import SimulatedCrash
from assistant.local.socialmessaging import SocialMessagingStandIn
from assistant.local.template import (
    LOCAL_PHONE_NUMBER_ARNS,
    FunctionSpec,
    filter_policy,
    functions,
    load_template,
    resolver,
    resources_of,
)
from assistant.ports import AnswerEngine, Clock
from assistant.services.agenda import catalog_of

if TYPE_CHECKING:
    from assistant.local.workers import Workers

REGION = "us-east-1"
_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


def default_home() -> Path:
    return Path(os.environ.get("ASSISTANT_HOME") or ".assistant")


class Feed(Protocol):
    """Arrivals for ``LocalCloud.run``: envelopes published at their (virtual) times."""

    def publish_due(self, cloud: LocalCloud) -> int:
        """Publish every arrival whose time has come; how many were published."""
        ...

    def next_at(self) -> float | None:
        """The time of the next arrival not yet published; None when all are."""
        ...


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    timeout_seconds: int = 3
    clock: Clock = field(default_factory=VirtualClock)
    """The time the invocation's budget is counted in: a virtual backoff spends it as a real one would."""
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock.now()

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.started + self.timeout_seconds - self.clock.now()) * 1000))


@dataclass
class Poller:
    spec: FunctionSpec
    queue_url: str
    queue_arn: str
    handler: Callable[[dict[str, Any], Any], Any]
    visibility_timeout: float
    """The queue's ``VisibilityTimeout``: how long a received record stays hidden before it comes back."""


@dataclass(frozen=True, slots=True)
class Invocation:
    """One call of a function by the poller, in virtual time (SQS message ids only: no personal data)."""

    function: str
    at: float
    message_ids: tuple[str, ...]
    failed: tuple[str, ...]
    """The records that were not deleted: reported in ``batchItemFailures``, or all of a failed invocation."""
    crashed: bool = False
    """The invocation died (``SimulatedCrash``): nothing of its batch was deleted."""


@dataclass(frozen=True, slots=True)
class _InFlight:
    """A received record that was not deleted: hidden in moto until its virtual visibility timeout."""

    queue_url: str
    message_id: str
    receipt_handle: str
    due: float


LOCAL_BUSINESS_ACCOUNT = "waba-local"
"""The twin's WhatsApp business account, holding its phone numbers."""


class LocalCloud:
    """Use as a context manager; ``publish_inbound`` then ``drain`` run one event through the pipeline."""

    def __init__(
        self,
        home: Path,
        *,
        template_path: Path | None = None,
        log_stream: IO[str] | None = None,
        knowledge_base: KnowledgeBase | None = None,
        now: str | None = None,
        event_timezone: str | None = None,
        media_dir: Path | None = None,
        scripted: Scripted | None = None,
    ):
        """``knowledge_base`` overrides the home's (tests share one built once; the sample schedule comes with
        it); by default the home's knowledge base is used, seeded with the sample knowledge when the home has
        none. ``now`` (ISO 8601) fixes the functions' idea of the event's time (``ASSISTANT_NOW``)."""
        self.home = home
        self.scripted = scripted
        """The scripted engine instead of the local model (``assistant loadtest --engine scripted``); the
        categorizer then goes through the Bedrock stand-in too, as on AWS."""
        self._now = now
        self._event_timezone = event_timezone
        self._engines: dict[str | None, tuple[AnswerEngine, Settings]] = {}
        self._ask_sessions = _AskSessions()
        self.template = load_template(template_path)
        self.clock = VirtualClock()
        """The functions' time (and the status events'): real time plus what the twin let pass."""
        self.social = SocialMessagingStandIn(clock=self.clock.now, media_dir=media_dir)
        self.bedrock: BedrockStandIn | None = None
        self._knowledge_base = knowledge_base
        self.summary: Counter[str] = Counter()
        self.metrics: Counter[str] = Counter()
        """Every EMF metric the functions emitted in this run, by name (and dimension values)."""
        self._log_stream = log_stream
        self._exit = contextlib.ExitStack()
        self._pollers: list[Poller] = []
        self._tables: list[str] = []
        self._refs: dict[str, str] = {}
        self._arns: dict[str, str] = {}
        self._tap = _MetricTap(sys.stderr, self.metrics)
        self._in_flight: list[_InFlight] = []
        self._sns: Any = None
        self.invocations: list[Invocation] = []
        """Every invocation the poller made in this run, in order."""

    # -- lifecycle ------------------------------------------------------------------------------------------

    def __enter__(self) -> LocalCloud:
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        # Saved whatever ends the run (an interrupted replay included): what was done, and answered, must
        # not be done again by the next run in this home.
        try:
            self.save_state()
        finally:
            self._exit.close()

    def _start(self) -> None:
        from moto import mock_aws

        from assistant.local import moto_speed

        moto_speed.install()
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "logs").mkdir(exist_ok=True)
        self._exit.enter_context(self.social)
        self._exit.enter_context(
            _patched_environ(
                {
                    **_FAKE_CREDENTIALS,
                    "AWS_ENDPOINT_URL_SOCIALMESSAGING": self.social.endpoint,
                }
            )
        )
        self._exit.enter_context(mock_aws())
        self._create_resources()
        # The business account the envelopes come from, linked to the inbound topic (as the README's deploy
        # steps leave a real one): what `assistant doctor` checks.
        self.social.add_business_account(
            LOCAL_BUSINESS_ACCOUNT, "Local event", LOCAL_PHONE_NUMBER_ARNS[:1], self.inbound_topic_arn
        )
        self._start_bedrock()
        self._load_state()
        # Lambda's stdout goes to CloudWatch; here to a log file, through a tap that counts EMF metrics.
        stream = self._log_stream or self._exit.enter_context(
            (self.home / "logs" / "functions.log").open("a", encoding="utf-8")
        )
        self._tap = _MetricTap(stream, self.metrics)
        # An empty flush is normal for a batch of statuses; powertools warns about it on every invocation.
        self._exit.enter_context(warnings.catch_warnings())
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        self._wire_functions()

    # -- resources from the template ------------------------------------------------------------------------

    def _create_resources(self) -> None:
        import boto3

        template = self.template
        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        ddb, sm = boto3.client("dynamodb"), boto3.client("secretsmanager")
        s3 = boto3.client("s3")
        for name in resources_of(template, "AWS::S3::Bucket"):
            bucket = f"local-{name.lower()}"
            s3.create_bucket(Bucket=bucket)
            self._refs[name] = bucket
            self._arns[name] = f"arn:aws:s3:::{bucket}"
        for name in resources_of(template, "AWS::SecretsManager::Secret"):
            arn = sm.create_secret(Name=name, SecretString=self._hash_key())["ARN"]
            self._refs[name] = self._arns[name] = arn
        for name, props in resources_of(template, "AWS::DynamoDB::Table").items():
            ddb.create_table(
                TableName=name,
                KeySchema=props["KeySchema"],
                AttributeDefinitions=props["AttributeDefinitions"],
                BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
            )
            ttl = props.get("TimeToLiveSpecification")
            if ttl:
                ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
            self._refs[name] = name
            self._arns[name] = f"arn:aws:dynamodb:{REGION}:123456789012:table/{name}"
            self._tables.append(name)
        for name in resources_of(template, "AWS::SNS::Topic"):
            self._refs[name] = self._arns[name] = sns.create_topic(Name=name)["TopicArn"]
        queues = resources_of(template, "AWS::SQS::Queue")
        # Dead-letter queues first: a redrive policy names its target's ARN.
        for name, props in sorted(queues.items(), key=lambda item: "RedrivePolicy" in item[1]):
            attributes = {"VisibilityTimeout": str(props.get("VisibilityTimeout", 30))}
            redrive = props.get("RedrivePolicy")
            if redrive:
                target = self._resolve(redrive["deadLetterTargetArn"])
                attributes["RedrivePolicy"] = json.dumps(
                    {"deadLetterTargetArn": target, "maxReceiveCount": int(redrive["maxReceiveCount"])}
                )
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            self._refs[name] = url
            self._arns[name] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
        for props in resources_of(template, "AWS::SNS::Subscription").values():
            attributes = {}
            if str(props.get("RawMessageDelivery", "false")).lower() == "true":
                attributes["RawMessageDelivery"] = "true"
            if props.get("FilterPolicy"):
                # Resolved (it names PhoneNumberArn), for every number of the local account, and applied where
                # the template applies it (the inbound subscription reads the envelope, the message body).
                policy = filter_policy(self.template, self._refs, self._arns, props["FilterPolicy"])
                attributes["FilterPolicy"] = json.dumps(policy)
                attributes["FilterPolicyScope"] = props.get("FilterPolicyScope", "MessageAttributes")
            sns.subscribe(
                TopicArn=self._resolve(props["TopicArn"]),
                Protocol=props["Protocol"],
                Endpoint=self._resolve(props["Endpoint"]),
                Attributes=attributes,
            )

    def _resolve(self, value: Any) -> Any:
        return resolver(self.template, self._refs, self._arns)(value)

    def _function_environment(self) -> dict[str, str]:
        from assistant.local import knowledge_home

        env: dict[str, str] = {}
        for spec in functions(self.template):
            env |= {key: str(self._resolve(value)) for key, value in spec.environment.items()}
        # Configuration is all that differs: the agenda is the home's schedule, not the bucket's file; voice
        # notes are heard by faster-whisper, with the ffmpeg this machine has (no Lambda layer here).
        env["AGENDA_URI"] = str(knowledge_home.schedule_path(self.home))
        env["TRANSCRIBER"] = "local"
        env["CATEGORIZER"] = "bedrock" if self.scripted is not None else "local"
        env["FFMPEG_PATH"] = ""
        if self._now:
            env["ASSISTANT_NOW"] = self._now
        if self._event_timezone:
            env["EVENT_TIMEZONE"] = self._event_timezone
        return env

    def _start_bedrock(self) -> None:
        """The knowledge base and guardrail stand-ins, with the ids the functions will be configured with."""
        from assistant.local import knowledge_home
        from assistant.local.bedrock import LocalGuardrail

        env = self._function_environment()
        embedder = shared_embedder()
        timezone = env.get("EVENT_TIMEZONE") or knowledge_home.SAMPLE_TIMEZONE
        seeding = self._knowledge_base is not None or not knowledge_home.exists(self.home)
        knowledge_base = self._knowledge_base or knowledge_home.open_knowledge_base(
            self.home, embedder, seed=True
        )
        if seeding and not knowledge_home.schedule_path(self.home).exists():
            knowledge_home.add_to_schedule(self.home, knowledge_home.sample_documents(), timezone)
        schedule = knowledge_home.load_schedule(self.home, timezone)
        guardrail = LocalGuardrail.load(
            self.home / "guardrail.json", env.get("GUARDRAIL_ID", ""), env.get("GUARDRAIL_VERSION", "")
        )
        self.bedrock = BedrockStandIn(
            knowledge_base,
            guardrail,
            knowledge_base_id=env.get("KNOWLEDGE_BASE_ID", ""),
            catalog=catalog_of(schedule),
            scripted=self.scripted,
        )
        self._exit.enter_context(self.bedrock)
        self._exit.enter_context(
            _patched_environ(
                {
                    "AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME": self.bedrock.agent_runtime.endpoint,
                    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": self.bedrock.runtime.endpoint,
                }
            )
        )

    def _wire_functions(self) -> None:
        import boto3

        env = self._function_environment()
        # Every function sees the same variables (they come from Globals); set them as Lambda would, before
        # the code is imported (powertools reads its service name at import).
        self._exit.enter_context(_patched_environ(env))
        from assistant import bootstrap

        # Fresh services on this run's clock (a process may run several local clouds, as the tests do).
        bootstrap.configure(clock=self.clock)
        self._exit.callback(bootstrap.configure)
        notified = {
            self._resolve(notification["Queue"])
            for bucket in resources_of(self.template, "AWS::S3::Bucket").values()
            for notification in (bucket.get("NotificationConfiguration") or {}).get("QueueConfigurations", [])
        }
        specs = [spec for spec in functions(self.template) if self._resolve(spec.queue) not in notified]
        for spec in specs:
            module_name, _, attribute = spec.handler.rpartition(".")
            handler = getattr(importlib.import_module(module_name), attribute)
        # powertools' Logger keeps the stream it found when the handler module was first imported: point it
        # at this run's log (a process may run several local clouds, as the tests do).
        for log_handler in logging.getLogger(env.get("POWERTOOLS_SERVICE_NAME", "")).handlers:
            if isinstance(log_handler, logging.StreamHandler):
                _set_stream(log_handler, self._tap)
                # ...and give it back the process's real stdout when this run ends, before the log file
                # closes (not ``sys.stdout``, which may be a capture that is closed before the next run).
                self._exit.callback(_set_stream, log_handler, sys.__stdout__ or sys.stdout)
        for spec in specs:
            module_name, _, attribute = spec.handler.rpartition(".")
            handler = getattr(importlib.import_module(module_name), attribute)
            queue_arn = self._resolve(spec.queue)
            queue_url = self._refs[queue_arn.rsplit(":", 1)[-1]]
            timeout = boto3.client("sqs").get_queue_attributes(
                QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"]
            )["Attributes"]["VisibilityTimeout"]
            self._pollers.append(Poller(spec, queue_url, queue_arn, handler, float(timeout)))

    def table_name(self) -> str:
        """The conversation table (the functions' ``TABLE_NAME``)."""
        return self._tables[0]

    def media_objects(self) -> list[str]:
        """The keys in the media bucket (voice notes pass through it; none should stay)."""
        import boto3

        bucket = self._refs.get("MediaBucket")
        if bucket is None:
            return []
        listed = boto3.client("s3").list_objects_v2(Bucket=bucket)
        return [str(item["Key"]) for item in listed.get("Contents", [])]

    @property
    def inbound_topic_arn(self) -> str:
        return self._refs["InboundTopic"]

    def queue_url(self, logical_id: str) -> str:
        return self._refs[logical_id]

    def outputs(self) -> dict[str, str]:
        """The template's outputs, resolved to what the twin created: the twin as a stack (``assistant
        doctor``). An output naming something the twin does not create (Cognito, say) is left out."""
        resolved: dict[str, str] = {}
        for name, output in (self.template.get("Outputs") or {}).items():
            try:
                value = self._resolve(output["Value"])
            except (KeyError, LookupError, TypeError, ValueError):
                continue
            if isinstance(value, str) and value:
                resolved[name] = value
        return resolved

    # -- running events -------------------------------------------------------------------------------------

    def ask(self, question: str, *, conversation: str = "kb-ask", now: str | None = None) -> tuple[str, str]:
        """Ask as the answer stage would, without the queues (``kb ask``, the evaluation): the same engine
        adapter and the same decisions (``services.answering.reply_to``). Questions asked under one
        ``conversation`` share its context, as one attendee's do; ``now`` (ISO 8601) is the event's time
        for this question (``ASSISTANT_NOW``). Returns the ``source`` and the reply."""
        from assistant import bootstrap
        from assistant.services.answering import asked, reply_to

        if now not in self._engines:
            environ = dict(os.environ) | ({"ASSISTANT_NOW": now} if now else {})
            settings = bootstrap.settings_from(environ)
            core = bootstrap.build_core(settings, clock=self.clock)
            # No admission runs here, so no user item holds the Bedrock session: the twin keeps them.
            self._engines[now] = (bootstrap.build_engine(core, sessions=self._ask_sessions), settings)
        engine, settings = self._engines[now]
        message = asked(question, conversation)
        body, source = reply_to(message, engine, help_desk=settings.help_desk, languages=settings.languages)
        return source, body

    def publish_inbound(self, message: str) -> None:
        """Publish an End User Messaging Social envelope as the service does."""
        import boto3

        self._learn_phone_numbers(message)
        if self._sns is None:
            self._sns = boto3.client("sns")  # one client: making one costs more than a publish
        self._sns.publish(TopicArn=self.inbound_topic_arn, Message=message)

    def _learn_phone_numbers(self, message: str) -> None:
        # The service knows the account's numbers; the stand-in learns them from what it publishes, so that
        # its status events name the number a reply was sent from.
        try:
            envelope = json.loads(message)
        except (ValueError, RecursionError):
            return
        if isinstance(envelope, dict):
            self.social.learn_phone_numbers(envelope)

    def drain(self, max_rounds: int = 200) -> None:
        """Run every function until no queue has work left: failed records retried once their visibility
        timeout has passed in virtual time, then dead-lettered; status events of what was sent delivered.

        A round either runs something or moves the clock to the next visibility timeout, so ``max_rounds``
        bounds the work; a pipeline that has not settled by then raises ``RuntimeError``."""
        import boto3

        sqs = boto3.client("sqs")
        for _ in range(max_rounds):
            self._release_due(sqs)
            published = self._publish_statuses()
            received = [self._poll(sqs, poller) for poller in self._pollers]
            if published or any(received) or self._visible_work(sqs):
                continue
            if not self._in_flight:
                return
            # Nothing to do before the earliest visibility timeout: on AWS the retry waits for it, here
            # virtual time jumps there (the next round makes those records visible).
            self.clock.advance_to(min(record.due for record in self._in_flight))
        raise RuntimeError("the local pipeline did not settle")

    def _publish_statuses(self) -> bool:
        envelopes = self.social.take_statuses()
        for envelope in envelopes:
            self.publish_inbound(json.dumps(envelope))
        return bool(envelopes)

    def _poll(self, sqs: Any, poller: Poller) -> bool:
        received_at = self.clock.now()
        received = self._receive(sqs, poller)
        if received:
            self._invoke(sqs, poller, received, received_at)
        return bool(received)

    def _visible_work(self, sqs: Any) -> bool:
        for poller in self._pollers:
            attributes = sqs.get_queue_attributes(
                QueueUrl=poller.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            if int(attributes["ApproximateNumberOfMessages"]):
                return True
        return False

    def _release_due(self, sqs: Any) -> None:
        """Make visible the records whose visibility timeout has passed in virtual time.

        moto hides a received record for the queue's timeout in *real* seconds, which never ends before
        the virtual one (virtual time runs at least as fast), so until now moto keeps it hidden; its
        receive count is moto's own, so the redrive to the DLQ after ``maxReceiveCount`` is moto's too."""
        now = self.clock.now()
        due = [record for record in self._in_flight if record.due <= now]
        if not due:
            return
        self._in_flight = [record for record in self._in_flight if record.due > now]
        for record in due:
            with contextlib.suppress(sqs.exceptions.ReceiptHandleIsInvalid):
                sqs.change_message_visibility(
                    QueueUrl=record.queue_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=0
                )
        # moto counts a record visible only once its clock is past the millisecond it was made visible in.
        time.sleep(0.002)

    def _invoke(
        self,
        sqs: Any,
        poller: Poller,
        messages: list[dict[str, Any]],
        received_at: float,
        *,
        handler: Callable[[dict[str, Any], Any], Any] | None = None,
        capture: bool = True,
    ) -> None:
        """One invocation of the poller's function with these records (``handler``: a worker's copy of it;
        ``capture``: send what it prints to the log, when the caller has not done so for every thread)."""
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": poller.queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
        ids = tuple(r["messageId"] for r in records)
        # Defensive: a record received again is no longer waiting for its timeout to end.
        self._in_flight = [record for record in self._in_flight if record.message_id not in ids]
        function = poller.spec.logical_id
        started = self.clock.now()
        crashed = False
        failed: set[str]
        try:
            with contextlib.redirect_stdout(self._tap) if capture else contextlib.nullcontext():
                response = (handler or poller.handler)(
                    {"Records": records},
                    LambdaContext(function, poller.spec.memory_mb, poller.spec.timeout_seconds, self.clock),
                ) or {}
            failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        except SimulatedCrash:
            # The process died: Lambda deletes nothing of the batch, and the next invocation is a cold start.
            self._tap.write(f"invocation of {function} died (simulated crash)\n")
            crashed = True
            failed = set(ids)
            from assistant import bootstrap

            bootstrap.configure(clock=self.clock)
        except Exception as exc:  # noqa: BLE001 - as Lambda: a raising invocation fails the whole batch
            self._tap.write(f"invocation of {function} failed: {type(exc).__name__}\n")
            failed = set(ids)
        self.invocations.append(
            Invocation(function, started, ids, tuple(i for i in ids if i in failed), crashed)
        )
        for message in messages:
            if message["MessageId"] in failed:
                self.summary[f"{function}.retried"] += 1
                # On AWS the record comes back when its visibility timeout, counted from the receive, ends.
                self._in_flight.append(
                    _InFlight(
                        poller.queue_url,
                        message["MessageId"],
                        message["ReceiptHandle"],
                        received_at + poller.visibility_timeout,
                    )
                )
            else:
                self.summary[f"{function}.records"] += 1
                sqs.delete_message(QueueUrl=poller.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def run(self, feed: Feed, *, concurrency: int = 4, workers: Workers | None = None) -> Workers:
        """Run a stream of arrivals through the pipeline with up to ``concurrency`` invocations of each
        function in flight (Lambda's concurrency), until every arrival is published and nothing is left to
        do. Returns the run's ``Workers`` (its AWS calls, who sent what).

        One loop, the event source mappings' part: publish the arrivals that are due, make visible the
        records whose visibility timeout has passed, deliver status events, start an invocation for each
        batch a function has room for. Virtual time follows real time while anything runs; when nothing
        can (every invocation asleep in a backoff, the queues empty or waiting), it jumps to the next
        arrival, visibility timeout or wake-up."""
        import boto3

        from assistant.local.workers import Workers, installed

        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        workers = workers or Workers(self.clock)
        sqs = boto3.client("sqs")
        active: dict[Future[None], str] = {}
        running: Counter[str] = Counter()
        self.clock.sleeper = workers.sleep
        threads = concurrency * max(1, len(self._pollers))
        pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fn")
        try:
            with installed(workers), contextlib.redirect_stdout(self._tap):
                while True:
                    progressed = False
                    with workers.baton.hold():
                        progressed |= feed.publish_due(self) > 0
                        self._release_due(sqs)
                        progressed |= self._publish_statuses()
                        for poller in self._pollers:
                            function = poller.spec.logical_id
                            while running[function] < concurrency:
                                received_at = self.clock.now()
                                messages = self._receive(sqs, poller)
                                if not messages:
                                    break
                                running[function] += 1
                                future = pool.submit(self._work, workers, sqs, poller, messages, received_at)
                                active[future] = function
                                progressed = True
                    for future in [f for f in active if f.done()]:
                        running[active.pop(future)] -= 1
                        future.result()
                        progressed = True
                    if progressed:
                        continue
                    if active and len(workers.sleepers()) < len(active):
                        # Someone is running or waiting on a stand-in: real time passes for them.
                        wait(list(active), timeout=0.005, return_when=FIRST_COMPLETED)
                        continue
                    if not active:
                        with workers.baton.hold():
                            if self._visible_work(sqs):
                                continue
                    upcoming = [record.due for record in self._in_flight] + workers.sleepers()
                    if (arrival := feed.next_at()) is not None:
                        upcoming.append(arrival)
                    if not upcoming:
                        return workers
                    self.clock.advance_to(min(upcoming))
                    workers.wake()
        finally:
            self.clock.sleeper = None
            pool.shutdown(wait=True)

    def _receive(self, sqs: Any, poller: Poller) -> list[dict[str, Any]]:
        return list(
            sqs.receive_message(
                QueueUrl=poller.queue_url,
                MaxNumberOfMessages=poller.spec.batch_size,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
        )

    def _work(
        self, workers: Workers, sqs: Any, poller: Poller, messages: list[dict[str, Any]], received_at: float
    ) -> None:
        """One invocation on a worker thread, with a copy of the handler of its own (as a process's)."""
        module_name, _, attribute = poller.spec.handler.rpartition(".")
        function = poller.spec.logical_id
        with workers.baton.hold():
            handler = workers.take_handler(module_name, attribute)

            def invoke(event: dict[str, Any], context: Any) -> Any:
                with workers.working_for(function):
                    return handler(event, context)

            crashed_before = sum(invocation.crashed for invocation in self.invocations)
            self._invoke(sqs, poller, messages, received_at, handler=invoke, capture=False)
            if sum(invocation.crashed for invocation in self.invocations) == crashed_before:
                # A copy whose invocation died is not reused: the next one is a cold start.
                workers.give_back(module_name, attribute, handler)

    def dead_letters(self) -> dict[str, int]:
        import boto3

        sqs = boto3.client("sqs")
        counts = {}
        # The dead-letter queues of the polled queues (one of a queue the twin does not poll stays empty).
        polled = {poller.queue_arn for poller in self._pollers}
        for name, props in resources_of(self.template, "AWS::SQS::Queue").items():
            if "RedrivePolicy" in props and self._arns[name] in polled:
                dead = self._resolve(props["RedrivePolicy"]["deadLetterTargetArn"]).rsplit(":", 1)[-1]
                attrs = sqs.get_queue_attributes(
                    QueueUrl=self._refs[dead], AttributeNames=["ApproximateNumberOfMessages"]
                )["Attributes"]
                counts[dead] = int(attrs["ApproximateNumberOfMessages"])
        return counts

    # -- state in the home directory ------------------------------------------------------------------------

    def _hash_key(self) -> str:
        return local_hash_key(self.home)

    def _state_path(self, table: str) -> Path:
        return self.home / "state" / f"{table}.json"

    def _load_state(self) -> None:
        import boto3

        # The items hold virtual times (leases, rate windows, claims): go on from the latest of them, or a
        # lease taken in a run that let an hour pass would look held for an hour of real time.
        clock_path = self._clock_path()
        if clock_path.exists():
            with contextlib.suppress(ValueError, TypeError, KeyError):
                self.clock.advance_to(float(json.loads(clock_path.read_text(encoding="utf-8"))["now"]))
        ddb = boto3.client("dynamodb")
        for table in self._tables:
            path = self._state_path(table)
            if not path.exists():
                continue
            items = json.loads(path.read_text(encoding="utf-8"))
            for start in range(0, len(items), 25):
                batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
                ddb.batch_write_item(RequestItems={table: batch})

    def _clock_path(self) -> Path:
        return self.home / "state" / "clock.json"

    def save_state(self) -> None:
        """Write the DynamoDB items (and the virtual time they were written at) into the home.

        Each file is replaced whole (written beside, then renamed): an interruption mid-save leaves the
        previous state, never a torn one."""
        import boto3

        ddb = boto3.client("dynamodb")
        now = self.clock.now()
        (self.home / "state").mkdir(parents=True, exist_ok=True)
        for table in self._tables:
            items: list[dict[str, Any]] = []
            for page in ddb.get_paginator("scan").paginate(TableName=table):
                # moto never expires items by TTL; dropping expired ones here plays DynamoDB's part.
                items += [i for i in page["Items"] if float(i.get("expires_at", {}).get("N", "inf")) > now]
            _replace(self._state_path(table), json.dumps(items))
        _replace(self._clock_path(), json.dumps({"now": now}))


class _AskSessions:
    """``SessionStore`` for ``LocalCloud.ask``: each conversation's Bedrock session, in memory."""

    def __init__(self) -> None:
        self._sessions: dict[str, str] = {}
        self._agenda_calls: dict[str, str] = {}

    def get_session(self, user_key: str) -> str | None:
        return self._sessions.get(user_key)

    def save_session(self, user_key: str, session_id: str) -> None:
        self._sessions[user_key] = session_id

    def get_agenda_calls(self, user_key: str) -> str | None:
        return self._agenda_calls.get(user_key)

    def save_agenda_calls(self, user_key: str, calls: str | None) -> None:
        if calls is None:
            self._agenda_calls.pop(user_key, None)
        else:
            self._agenda_calls[user_key] = calls


class _MetricTap(io.TextIOBase):
    """Passes the functions' output to the log and counts the EMF metrics in it, for the run's summary."""

    def __init__(self, target: IO[str], counts: Counter[str]) -> None:
        self._target = target
        self._counts = counts

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.startswith('{"_aws"'):
                self._count(line)
        return self._target.write(text)

    def flush(self) -> None:
        self._target.flush()

    def _count(self, line: str) -> None:
        try:
            record = json.loads(line)
            directive = record["_aws"]["CloudWatchMetrics"][0]
        except (ValueError, KeyError, IndexError):
            return
        dims = [d for d in directive["Dimensions"][0] if d != "service"]
        suffix = "".join(f" {record[d]}" for d in dims if d in record)
        for metric in directive["Metrics"]:
            values = record.get(metric["Name"], [])
            total = sum(values) if isinstance(values, list) else values
            self._counts[metric["Name"] + suffix] += int(total)


def _set_stream(handler: logging.StreamHandler[Any], stream: IO[str] | io.TextIOBase) -> None:
    # setStream flushes the old stream first, which fails if that stream has been closed meanwhile.
    if getattr(handler.stream, "closed", False):
        handler.stream = stream
    else:
        handler.setStream(stream)


def _replace(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


@functools.cache
def shared_embedder() -> E5Embedder:
    """One embedding model per process: loading it costs more than a query."""
    return E5Embedder()


@contextlib.contextmanager
def _patched_environ(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def local_hash_key(home: Path) -> str:
    """The local twin's HMAC key (its Secrets Manager secret's value), made once per home, readable by its
    owner only."""
    path = home / "hash.key"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()
