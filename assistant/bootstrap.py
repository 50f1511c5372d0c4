"""The composition root: the only place that reads the environment and chooses adapters.

Every ``build_*`` function takes the ports it wires as optional arguments, with the real adapters as
defaults: the Lambda handlers call them with none, the tests' worlds and the benchmark with fakes. Clients
are created on first use, after configuration (a client made before moto starts is not mocked), and cached
for the life of the container (warm Lambda invocations reuse them).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from assistant.adapters.agenda import AgendaFile
from assistant.adapters.analytics import DynamoDBAnalytics
from assistant.adapters.aws import client
from assistant.adapters.bedrock import BedrockConfig, BedrockKnowledgeBaseEngine, title_of
from assistant.adapters.dynamodb import DynamoDBAnswerBudget, DynamoDBConversationStore
from assistant.adapters.s3 import S3MediaBucket
from assistant.adapters.sns import SNSPublisher
from assistant.adapters.socialmessaging import SocialMessagingMedia, SocialMessagingMessenger
from assistant.adapters.system import HmacHasher, PowertoolsMetrics, SystemClock, load_hash_key
from assistant.config import ConfigurationError, Settings
from assistant.ports import (
    Agenda,
    AnalyticsStore,
    AnswerBudget,
    AnswerEngine,
    Categorizer,
    Clock,
    ConversationStore,
    Hasher,
    Ingestion,
    Messenger,
    MetricsSink,
    Publisher,
    SessionStore,
    Source,
    Transcriber,
)
from assistant.services.admission import AdmissionLimits
from assistant.services.agenda import AgendaDesk
from assistant.services.alerting import AlarmNotifier
from assistant.services.analytics import CategorizeService
from assistant.services.answering import AnswerService
from assistant.services.inbound import InboundPolicy, InboundService, allow_key
from assistant.services.ingestion import IngestionTrigger
from assistant.services.voice import VoiceNotes, VoicePolicy

BEDROCK_CALL_TIMEOUT_SECONDS = 30
"""The longest one Bedrock call may take; the engine starts no call that could outlive its deadline."""


@dataclass(frozen=True, slots=True)
class Core:
    settings: Settings
    clock: Clock
    store: ConversationStore
    messenger: Messenger
    metrics: MetricsSink
    analytics: AnalyticsStore | None = None
    """The organizers' counters: in the conversation table (none when another store was given)."""
    budget: AnswerBudget | None = None
    """The global answer budget (``BEDROCK_BUDGET_PER_MINUTE``), in the conversation table; None: no bound
    (a budget of 0, or another store given without one)."""


def limits_of(settings: Settings) -> AdmissionLimits:
    return AdmissionLimits(
        lease_seconds=settings.lock_lease_seconds,
        rate_limit=settings.rate_limit_messages,
        rate_window_seconds=settings.rate_limit_window_seconds,
        conversation_max_messages=settings.conversation_max_messages,
        conversation_max_chars=settings.conversation_max_chars,
        conversation_idle_seconds=settings.conversation_idle_seconds,
        dedupe_ttl_seconds=settings.dedupe_ttl_seconds,
        attempt_seconds=settings.attempt_seconds,
    )


def build_core(
    settings: Settings,
    *,
    clock: Clock | None = None,
    store: ConversationStore | None = None,
    messenger: Messenger | None = None,
    metrics: MetricsSink | None = None,
    budget: AnswerBudget | None = None,
) -> Core:
    """The ports every service shares. With ``store`` given (fakes), the organizers' counters and the answer
    budget are the caller's too: none unless ``budget`` is given."""
    clock = clock or SystemClock()
    analytics = None
    if store is None:
        dynamodb = client("dynamodb")
        analytics = DynamoDBAnalytics(dynamodb, settings.table_name, clock)
        store = DynamoDBConversationStore(dynamodb, settings.table_name, limits_of(settings), clock)
        if budget is None and settings.bedrock_budget_per_minute > 0:
            budget = DynamoDBAnswerBudget(
                dynamodb, settings.table_name, settings.bedrock_budget_per_minute, clock
            )
    return Core(
        settings=settings,
        clock=clock,
        analytics=analytics,
        budget=budget,
        store=store,
        # Short timeouts: a hung send must not eat the function's time budget (see handlers' time guard).
        messenger=messenger
        or SocialMessagingMessenger(
            client("socialmessaging", attempts=1, read_timeout=5),
            settings.meta_api_version,
            sleep=clock.sleep,
        ),
        metrics=metrics or PowertoolsMetrics(settings.metrics_namespace, settings.service_name),
    )


def build_inbound(
    core: Core, *, publisher: Publisher | None = None, hasher: Hasher | None = None
) -> InboundService:
    # Only the inbound function hashes identities, so only it may read the key (least privilege).
    hasher = hasher or HmacHasher(load_hash_key(client("secretsmanager"), core.settings.hash_key_secret_arn))
    return InboundService(
        store=core.store,
        messenger=core.messenger,
        publisher=publisher or SNSPublisher(client("sns"), core.settings.processed_topic_arn),
        hasher=hasher,
        metrics=core.metrics,
        analytics=core.analytics,
        policy=InboundPolicy(
            max_text_chars=core.settings.max_text_chars,
            allowed_user_keys=core.settings.allow_list(),
            languages=core.settings.languages,
            voice=core.settings.transcriber != "off",
        ),
    )


def event_clock(core: Core) -> Callable[[], datetime]:
    """The event's "now": ``ASSISTANT_NOW`` when set (trying, testing), else the clock, in its time zone."""
    fixed = core.settings.assistant_now
    if fixed is not None:
        return lambda: fixed
    zone = ZoneInfo(core.settings.event_timezone)
    return lambda: datetime.fromtimestamp(core.clock.now(), zone)


def build_agenda(core: Core) -> Agenda | None:
    """The schedule tools, when an agenda is configured (``AGENDA_URI``)."""
    settings = core.settings
    if not settings.agenda_uri:
        return None
    # One short try: the agenda is read at most every 5 minutes, and a failed read keeps the last one.
    s3 = cache(lambda: client("s3", attempts=1, read_timeout=5))
    schedule = AgendaFile(settings.agenda_uri, settings.event_timezone, clock=core.clock, s3=s3)
    source = Source(title=title_of(settings.agenda_uri), uri=settings.agenda_uri)
    return AgendaDesk(schedule, event_clock(core), source=source)


def build_engine(
    core: Core, *, sessions: SessionStore | None = None, agenda: Agenda | None = None
) -> AnswerEngine:
    settings = core.settings
    config = BedrockConfig(
        knowledge_base_id=settings.knowledge_base_id,
        model_arn=settings.generation_model_arn,
        guardrail_id=settings.guardrail_id,
        guardrail_version=settings.guardrail_version,
        retrieval_results=settings.retrieval_results,
        call_timeout_seconds=BEDROCK_CALL_TIMEOUT_SECONDS,
        languages=settings.languages,
    )
    sessions = sessions or core.store
    # The engine retries with its own backoff inside its time budget: botocore makes one attempt per call.
    timeout = BEDROCK_CALL_TIMEOUT_SECONDS
    return BedrockKnowledgeBaseEngine(
        client("bedrock-agent-runtime", attempts=1, read_timeout=timeout),
        client("bedrock-runtime", attempts=1, read_timeout=timeout),
        sessions,
        config,
        core.metrics,
        clock=core.clock,
        sleep=core.clock.sleep,
        agenda=agenda or build_agenda(core),
    )


def build_transcriber(core: Core) -> Transcriber:
    """The speech-to-text engine ``TRANSCRIBER`` names (each imported only when chosen)."""
    settings = core.settings
    if settings.transcriber == "local":
        from assistant.local.speech import LocalWhisperTranscriber

        return LocalWhisperTranscriber()
    if settings.transcriber == "sagemaker":
        from assistant.adapters.transcription import SageMakerWhisperTranscriber

        return SageMakerWhisperTranscriber(
            client("sagemaker-runtime", read_timeout=60), settings.whisper_endpoint, clock=core.clock
        )
    from assistant.adapters.transcription import AmazonTranscribeTranscriber

    return AmazonTranscribeTranscriber(
        client("transcribe"),
        client("s3"),
        settings.media_bucket,
        language_codes=settings.transcribe_languages,
        clock=core.clock,
        metrics=core.metrics,
    )


def build_voice(core: Core, *, transcriber: Transcriber | None = None) -> VoiceNotes | None:
    """Voice notes, unless ``TRANSCRIBER=off``."""
    settings = core.settings
    if settings.transcriber == "off":
        return None
    from assistant.adapters.audio import FfmpegConverter, find_ffmpeg

    return VoiceNotes(
        media=SocialMessagingMedia(client("socialmessaging"), client("s3"), settings.media_bucket),
        bucket=S3MediaBucket(client("s3"), settings.media_bucket),
        converter=FfmpegConverter(find_ffmpeg(settings.ffmpeg_path)),
        transcriber=transcriber or build_transcriber(core),
        metrics=core.metrics,
        clock=core.clock,
        policy=VoicePolicy(
            max_seconds=settings.max_audio_seconds,
            max_bytes=settings.max_audio_bytes,
            languages=settings.languages,
        ),
    )


def build_answer(
    core: Core, *, engine: AnswerEngine | None = None, voice: VoiceNotes | None = None
) -> AnswerService:
    return AnswerService(
        store=core.store,
        messenger=core.messenger,
        engine=engine or build_engine(core),
        metrics=core.metrics,
        clock=core.clock,
        claim_seconds=core.settings.claim_seconds,
        help_desk=core.settings.help_desk,
        languages=core.settings.languages,
        confirm_wait_seconds=core.settings.send_confirm_wait_seconds,
        voice=voice or build_voice(core),
        max_audio_seconds=core.settings.max_audio_seconds,
        analytics=core.analytics,
        budget=core.budget,
    )


def settings_from(environ: Mapping[str, str] | None = None) -> Settings:
    return Settings.from_env(os.environ if environ is None else environ)


_clock: list[Clock] = []


def configure(*, clock: Clock | None = None) -> None:
    """The one thing the local twin sets besides the environment: its (virtual) clock, which moves on
    when the twin lets a visibility timeout pass. Forgets the cached services."""
    reset()
    _clock[:] = [clock] if clock is not None else []


def build_ingestion_trigger(
    settings: Settings,
    *,
    ingestion: Ingestion | None = None,
    metrics: MetricsSink | None = None,
    clock: Clock | None = None,
) -> IngestionTrigger:
    """The ingestion trigger: S3 changes of the knowledge bucket -> one ingestion job per burst."""
    from assistant.adapters.bedrock_agent import BedrockIngestion

    if ingestion is None:
        if not settings.knowledge_data_source_id:
            raise ConfigurationError("KNOWLEDGE_DATA_SOURCE_ID is required by the ingestion trigger")
        ingestion = BedrockIngestion(
            client("bedrock-agent"), settings.knowledge_base_id, settings.knowledge_data_source_id
        )
    return IngestionTrigger(
        ingestion,
        metrics or PowertoolsMetrics(settings.metrics_namespace, settings.service_name),
        clock or SystemClock(),
    )


@cache
def ingestion_trigger() -> IngestionTrigger:
    return build_ingestion_trigger(settings_from(), clock=next(iter(_clock), None))


def build_categorizer(core: Core) -> Categorizer:
    """The categorizer ``CATEGORIZER`` names (each imported only when chosen)."""
    settings = core.settings
    if settings.categorizer == "off":
        return _Uncategorized()
    if settings.categorizer == "local":
        from assistant.local.categorizer import LocalCategorizer
        from assistant.local.runtime import shared_embedder

        return LocalCategorizer(shared_embedder(), cap=settings.category_cap)
    from assistant.adapters.categorizer import BedrockCategorizer

    return BedrockCategorizer(
        client("bedrock-runtime", attempts=1, read_timeout=BEDROCK_CALL_TIMEOUT_SECONDS),
        model_arn=settings.categorization_model,
        guardrail_id=settings.guardrail_id,
        guardrail_version=settings.guardrail_version,
        clock=core.clock,
        cap=settings.category_cap,
    )


class _Uncategorized:
    """``CATEGORIZER=off``: no model is asked; questions are counted, all under "Other"."""

    def categorize(self, question: str, known: list[str]) -> str:
        from assistant.ports import OTHER_CATEGORY

        return OTHER_CATEGORY


def build_categorize(
    core: Core, *, categorizer: Categorizer | None = None, analytics: AnalyticsStore | None = None
) -> CategorizeService:
    from assistant.services.categories import parse_predefined

    store = analytics or core.analytics
    if store is None:
        raise ConfigurationError("the categorizer needs the analytics store (the conversation table)")
    return CategorizeService(
        categorizer=categorizer or build_categorizer(core),
        store=store,
        metrics=core.metrics,
        clock=core.clock,
        predefined=tuple(parse_predefined(",".join(core.settings.categories))),
        cap=core.settings.category_cap,
    )


@cache
def categorize_service() -> CategorizeService:
    return build_categorize(build_core(settings_from(), clock=next(iter(_clock), None)))


@cache
def inbound_service() -> InboundService:
    return build_inbound(build_core(settings_from(), clock=next(iter(_clock), None)))


@cache
def answer_service() -> AnswerService:
    return build_answer(build_core(settings_from(), clock=next(iter(_clock), None)))


@cache
def alarm_notifier() -> AlarmNotifier | None:
    """The on-call alarm pages (None when WhatsApp alarms are off), built once per container."""
    from assistant.adapters.alerts import build_alarm_notifier

    settings = settings_from()
    return build_alarm_notifier(
        settings,
        next(iter(_clock), None) or SystemClock(),
        PowertoolsMetrics(settings.metrics_namespace, settings.service_name),
    )


def reset() -> None:
    """Forget cached services (tests, and the local runtime between homes)."""
    inbound_service.cache_clear()
    answer_service.cache_clear()
    ingestion_trigger.cache_clear()
    categorize_service.cache_clear()
    alarm_notifier.cache_clear()


# -- the content team's library (the `assistant kb` commands) ----------------------------------------------

STACK_VARIABLE = "ASSISTANT_STACK"
"""The deployed stack `assistant kb upload/status/list/remove/eval` work on when `--stack` is not given."""
STACK_OUTPUTS = ("KnowledgeBucketName", "KnowledgeBaseId", "KnowledgeDataSourceId")


def content_library(*, stack: str | None, home: Path | None, timezone: str | None = None) -> Any:
    """The knowledge base the content team's commands publish to: a deployed stack's (``--stack`` or
    ``$ASSISTANT_STACK``), else the local one in ``home``. Raises ``LookupError`` for a stack that cannot
    be read."""
    stack = stack or os.environ.get(STACK_VARIABLE) or None
    if not stack:
        from assistant.local.library import LocalLibrary
        from assistant.local.runtime import default_home, shared_embedder
        from assistant.local.template import load_template

        if timezone is None:
            parameters = load_template().get("Parameters") or {}
            timezone = str((parameters.get("EventTimezone") or {}).get("Default") or "UTC")
        return LocalLibrary(home or default_home(), shared_embedder(), timezone=timezone)
    from assistant.adapters.bedrock_agent import BedrockIngestion
    from assistant.adapters.library import StackLibrary

    outputs = stack_outputs(stack)
    missing = [name for name in STACK_OUTPUTS if not outputs.get(name)]
    if missing:
        raise LookupError(f"stack {stack} has no output {', '.join(missing)}")

    def engine() -> AnswerEngine:
        return stack_engine(outputs)

    return StackLibrary(
        stack=stack,
        bucket=outputs["KnowledgeBucketName"],
        s3=client("s3"),
        ingestion=BedrockIngestion(
            client("bedrock-agent"), outputs["KnowledgeBaseId"], outputs["KnowledgeDataSourceId"]
        ),
        agent_runtime=client("bedrock-agent-runtime"),
        knowledge_base_id=outputs["KnowledgeBaseId"],
        engine=engine,
    )


def stack_outputs(stack: str) -> dict[str, str]:
    try:
        response = client("cloudformation").describe_stacks(StackName=stack)
    except Exception as exc:  # noqa: BLE001 - any failure to read the stack is told as one
        code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
        raise LookupError(f"cannot read stack {stack}: {code or type(exc).__name__}") from None
    stacks = response.get("Stacks") or []
    if not stacks:
        raise LookupError(f"no stack named {stack}")
    return {str(o["OutputKey"]): str(o["OutputValue"]) for o in stacks[0].get("Outputs") or []}


def stack_engine(outputs: Mapping[str, str]) -> AnswerEngine:
    """The deployed answer path for `kb eval`: the stack's knowledge base, model, guardrail and agenda, with
    sessions kept in memory (no conversation table is touched, no message is sent)."""
    from assistant.fakes import InMemoryConversationStore, RecordingMessenger

    missing = [
        name for name in ("GenerationModelArn", "GuardrailId", "GuardrailVersion") if not outputs.get(name)
    ]
    if missing:
        raise LookupError(f"the stack has no output {', '.join(missing)}: cannot ask its answer path")
    settings = Settings(
        table_name="-",
        processed_topic_arn="-",
        hash_key_secret_arn="-",  # noqa: S106 - not used: nothing is hashed here
        knowledge_base_id=outputs["KnowledgeBaseId"],
        generation_model_arn=outputs["GenerationModelArn"],
        guardrail_id=outputs["GuardrailId"],
        guardrail_version=outputs["GuardrailVersion"],
        agenda_uri=outputs.get("AgendaUri", ""),
        event_timezone=outputs.get("EventTimezone", "UTC"),
    )
    clock = SystemClock()
    core = Core(
        settings=settings,
        clock=clock,
        store=InMemoryConversationStore(clock, limits_of(settings)),
        messenger=RecordingMessenger(),
        metrics=PowertoolsMetrics(settings.metrics_namespace, settings.service_name),
    )
    return build_engine(core)


def allow_list(ids: Iterable[str], *, stack: str | None, home: Path | None) -> list[str]:
    """``ALLOWED_USERS`` entries for these wa_ids or business-scoped ids: HMACs with a deployed stack's key
    (``--stack`` or ``$ASSISTANT_STACK``: its hash-key secret), else the local twin's in ``home``."""
    stack = stack or os.environ.get(STACK_VARIABLE) or None
    if stack:
        secret = stack_outputs(stack).get("HashKeySecretArn")
        if not secret:
            raise LookupError(f"stack {stack} has no output HashKeySecretArn")
        hasher = HmacHasher(load_hash_key(client("secretsmanager"), secret))
    else:
        from assistant.local.runtime import default_home, local_hash_key

        hasher = HmacHasher(local_hash_key(home or default_home()).encode())
    return [allow_key(hasher, identity) for identity in ids]


def stack_named(stack: str | None) -> str | None:
    """The deployed stack a command is about: ``--stack``, else ``$ASSISTANT_STACK``, else None (local)."""
    return stack or os.environ.get(STACK_VARIABLE) or None


def stack_doctor(
    stack: str,
    *,
    link: bool = False,
    replace: bool = False,
    round_trip: bool = False,
    to: str | None = None,
    question: str | None = None,
) -> Any:
    """``assistant doctor --stack``: the checks of a deployed stack, on the caller's AWS credentials."""
    from assistant.adapters.bedrock_agent import BedrockIngestion
    from assistant.adapters.doctor import (
        BedrockModelAccess,
        CloudFormationStack,
        SocialMessagingAccounts,
        SqsQueues,
    )
    from assistant.adapters.round_trip import DEFAULT_QUESTION, PipelineRoundTrip, sns_publisher, table_steps
    from assistant.services.doctor import Doctor

    clock = SystemClock()
    info = CloudFormationStack(client("cloudformation"), stack)
    trip = None
    if round_trip:
        outputs = stack_outputs(stack)
        missing = [
            n for n in ("InboundTopicArn", "ConversationTableName", "PhoneNumberArn") if n not in outputs
        ]
        if missing:
            raise LookupError(f"stack {stack} has no output {', '.join(missing)}: cannot send a round trip")
        trip = PipelineRoundTrip(
            publish=sns_publisher(client("sns"), outputs["InboundTopicArn"]),
            steps=table_steps(client("dynamodb"), outputs["ConversationTableName"]),
            phone_number_arn=outputs["PhoneNumberArn"],
            clock=clock,
            settle=lambda: clock.sleep(2.0),
            to=to,
            question=question or DEFAULT_QUESTION,
        )
    return Doctor(
        info,
        accounts=SocialMessagingAccounts(client("socialmessaging")),
        models=BedrockModelAccess(client("bedrock")),
        ingestion=lambda knowledge_base, data_source: BedrockIngestion(
            client("bedrock-agent"), knowledge_base, data_source
        ),
        queues=SqsQueues(client("sqs")),
        clock=clock,
        round_trip=trip,
        link=link,
        replace=replace,
    )


def organizer_report(*, stack: str | None, home: Path | None) -> dict[str, Any]:
    """The organizers' figures: a deployed stack's (``--stack`` or ``$ASSISTANT_STACK``: its conversation
    table), else the local twin's in ``home``."""
    stack = stack or os.environ.get(STACK_VARIABLE) or None
    if not stack:
        from assistant.local.report import report_for_home
        from assistant.local.runtime import default_home

        return report_for_home(home or default_home())
    outputs = stack_outputs(stack)
    table = outputs.get("ConversationTableName")
    if not table:
        raise LookupError(f"stack {stack} has no output ConversationTableName")
    clock = SystemClock()
    return DynamoDBAnalytics(client("dynamodb"), table, clock).report(clock.now())
