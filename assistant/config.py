"""Settings: every environment variable the code reads, named once, validated once.

Nothing else in the project reads ``os.environ`` (a test guards it), and ``template.yaml`` sets exactly
the variables listed in ``ENVIRONMENT`` (another test guards that). AWS's own variables (``AWS_REGION``,
``AWS_ENDPOINT_URL_*``) are read by botocore, not by this code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from assistant.services.language import SUPPORTED


class ConfigurationError(ValueError):
    """An environment variable is missing or has a value that cannot be used."""


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    default: str | None
    description: str


# The one list of variables. Order is the order of the README's configuration table.
ENVIRONMENT: tuple[Variable, ...] = (
    Variable(
        "TABLE_NAME", None, "DynamoDB table holding duplicate markers, user leases, rate windows, counters"
    ),
    Variable(
        "PROCESSED_TOPIC_ARN", None, "SNS topic that receives accepted messages for downstream consumers"
    ),
    Variable(
        "HASH_KEY_SECRET_ARN", None, "Secrets Manager secret holding the HMAC key for user and message hashes"
    ),
    Variable("META_API_VERSION", "v20.0", "Meta Graph API version passed to SendWhatsAppMessage"),
    Variable("KNOWLEDGE_BASE_ID", None, "Bedrock knowledge base id"),
    Variable(
        "KNOWLEDGE_DATA_SOURCE_ID",
        "",
        "The knowledge base's S3 data source, whose ingestion jobs the ingestion trigger starts",
    ),
    Variable(
        "GENERATION_MODEL_ARN",
        None,
        "The model that writes answers (RetrieveAndGenerate, Converse): a foundation-model or"
        " inference-profile ARN",
    ),
    Variable(
        "CATEGORIZER_MODEL_ARN",
        "",
        "The model that categorizes questions (CATEGORIZER=bedrock); empty: GENERATION_MODEL_ARN",
    ),
    Variable("GUARDRAIL_ID", None, "Bedrock guardrail id, applied to every generation"),
    Variable("GUARDRAIL_VERSION", None, "Published guardrail version"),
    Variable("RETRIEVAL_RESULTS", "5", "Passages retrieved per question"),
    Variable(
        "HELP_DESK",
        "",
        "Where the assistant sends people it cannot answer, fitting 'ask at ___' (or en=...|es=... per"
        " language); empty: 'the help desk at registration' in the user's language",
    ),
    Variable(
        "LANGUAGES",
        "en,es,pt,fr,de,tr,ar",
        "Languages the assistant answers in, comma-separated; the first is the fallback for any other",
    ),
    Variable("EVENT_TIMEZONE", "UTC", "The event's IANA time zone (Europe/Lisbon): the agenda's clock"),
    Variable(
        "AGENDA_URI",
        "",
        "The agenda file (s3://bucket/key or a path; Markdown, JSON, CSV or iCalendar); empty: no schedule",
    ),
    Variable(
        "ASSISTANT_NOW",
        "",
        "Fixed time the assistant takes as now (ISO 8601), for trying and testing; empty: the real clock",
    ),
    Variable("MAX_TEXT_CHARS", "1500", "Longest text accepted; longer text gets a polite static reply"),
    Variable(
        "CATEGORIZER",
        "off",
        "How questions are categorized for the organizers' dashboard: bedrock (Converse), local (embeddings,"
        " the embedded default) or off",
    ),
    Variable(
        "CATEGORIES",
        "",
        "The organizers' preferred categories, comma-separated, used first; empty: a generic event set",
    ),
    Variable("CATEGORY_CAP", "12", "Most categories kept; a question fitting none of them counts as Other"),
    Variable(
        "TRANSCRIBER",
        "off",
        "Speech to text for voice notes: transcribe (Amazon Transcribe), sagemaker (Whisper on a SageMaker"
        " endpoint), local (faster-whisper, the embedded default) or off (a polite 'text only' reply)",
    ),
    Variable(
        "TRANSCRIBE_LANGUAGES",
        "",
        "Languages a voice note may be in, as Amazon Transcribe codes (en-US,es-ES); one alone forces it;"
        " empty: those of LANGUAGES",
    ),
    Variable("WHISPER_ENDPOINT", "", "The SageMaker endpoint serving Whisper (TRANSCRIBER=sagemaker)"),
    Variable("MEDIA_BUCKET", "", "The S3 bucket voice notes pass through (deleted after each one)"),
    Variable("MAX_AUDIO_SECONDS", "120", "Longest voice note transcribed; a longer one gets a polite reply"),
    Variable("MAX_AUDIO_BYTES", "16777216", "Largest voice note fetched (WhatsApp's limit is 16 MB)"),
    Variable("FFMPEG_PATH", "", "ffmpeg; empty: /opt/bin/ffmpeg (the layer), then PATH, then imageio-ffmpeg"),
    Variable(
        "ALLOWED_USERS",
        "",
        "Optional allow list: comma-separated user HMACs from `assistant allow-list ID...` (a wa_id or"
        " business-scoped id each; either of a user's ids lets them in); empty: everyone",
    ),
    Variable("RATE_LIMIT_MESSAGES", "20", "Messages a user may send per rate window"),
    Variable("RATE_LIMIT_WINDOW_SECONDS", "60", "Length of the fixed rate window"),
    Variable(
        "BEDROCK_BUDGET_PER_MINUTE",
        "600",
        "Questions that may reach the answer engine per minute, across all users; over it, a polite 'ask me"
        " again in a minute' reply; 0: no bound",
    ),
    Variable("CONVERSATION_MAX_MESSAGES", "30", "Messages per conversation before its context is reset"),
    Variable("CONVERSATION_MAX_CHARS", "20000", "Characters per conversation before its context is reset"),
    Variable("CONVERSATION_IDLE_SECONDS", "1800", "Idle time after which a conversation starts afresh"),
    Variable(
        "LOCK_LEASE_SECONDS",
        "180",
        "Lifetime of a user's processing lease; at least the answer claim's (ANSWER_TIMEOUT_SECONDS + 30)",
    ),
    Variable("INBOUND_TIMEOUT_SECONDS", "60", "The inbound function's timeout (the template sets both)"),
    Variable("ANSWER_TIMEOUT_SECONDS", "120", "The answer function's timeout (the template sets both)"),
    Variable(
        "SEND_CONFIRM_WAIT_SECONDS",
        "10",
        "After a send whose answer was lost, how long to wait for its status event before deferring",
    ),
    Variable("DEDUPE_TTL_SECONDS", "1209600", "How long a message id is remembered to drop redeliveries"),
    Variable(
        "PHONE_NUMBER_ARN",
        "",
        "The WhatsApp number's End User Messaging Social ARN: the sender of alarm messages to on-call"
        " organizers",
    ),
    Variable(
        "ON_CALL_SECRET_ARN",
        "",
        "Secrets Manager secret holding the on-call organizers' numbers (comma-separated); empty: no"
        " WhatsApp alarms",
    ),
    Variable(
        "ALARM_TEMPLATE_NAME",
        "",
        "Approved WhatsApp message template for alarms, with one body variable (the alarm's name and state)",
    ),
    Variable("ALARM_TEMPLATE_LANGUAGE", "en_US", "The alarm template's language code"),
    Variable("POWERTOOLS_SERVICE_NAME", "event-assistant", "Service name in logs and metrics"),
    Variable("POWERTOOLS_METRICS_NAMESPACE", "EventAssistant", "CloudWatch metrics namespace"),
    Variable("POWERTOOLS_LOG_LEVEL", "INFO", "Log level"),
)

ENVIRONMENT_NAMES: frozenset[str] = frozenset(v.name for v in ENVIRONMENT)

TRANSCRIBERS = ("transcribe", "sagemaker", "local", "off")
CATEGORIZERS = ("bedrock", "local", "off")

MARGIN_SECONDS = 30
"""Added to a function's timeout for the lifetime of what one invocation owns (an inbound attempt, an
answer claim): the owner is surely dead when its ownership lapses, and SQS redelivers only after the
queue's visibility timeout, which the template keeps longer still."""


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    processed_topic_arn: str
    hash_key_secret_arn: str
    knowledge_base_id: str
    generation_model_arn: str
    guardrail_id: str
    guardrail_version: str
    meta_api_version: str = "v20.0"
    categorizer_model_arn: str = ""
    """Empty: ``generation_model_arn`` (see ``categorization_model``)."""
    knowledge_data_source_id: str = ""
    retrieval_results: int = 5
    help_desk: str = ""
    languages: tuple[str, ...] = SUPPORTED
    """The first is the fallback."""
    event_timezone: str = "UTC"
    agenda_uri: str = ""
    assistant_now: datetime | None = None
    """Aware, in the event's time zone; None: the real clock."""
    max_text_chars: int = 1500
    categorizer: str = "off"
    categories: tuple[str, ...] = ()
    category_cap: int = 12
    transcriber: str = "off"
    transcribe_languages: tuple[str, ...] = ()
    """Amazon Transcribe language codes; empty: those of ``languages``."""
    whisper_endpoint: str = ""
    media_bucket: str = ""
    max_audio_seconds: int = 120
    max_audio_bytes: int = 16 * 1024 * 1024
    ffmpeg_path: str = ""
    allowed_users: frozenset[str] = field(default_factory=frozenset)
    """``ALLOWED_USERS`` as given: user HMACs (``services.inbound.allow_key``); ``allow_list()`` checks them.
    Empty allows everyone."""
    rate_limit_messages: int = 20
    rate_limit_window_seconds: int = 60
    bedrock_budget_per_minute: int = 600
    """The global budget: questions that may reach the answer engine per minute; 0: no bound."""
    conversation_max_messages: int = 30
    conversation_max_chars: int = 20000
    conversation_idle_seconds: int = 1800
    lock_lease_seconds: int = 180
    inbound_timeout_seconds: int = 60
    answer_timeout_seconds: int = 120
    send_confirm_wait_seconds: int = 10
    dedupe_ttl_seconds: int = 1209600
    phone_number_arn: str = ""
    on_call_secret_arn: str = ""
    alarm_template_name: str = ""
    alarm_template_language: str = "en_US"
    service_name: str = "event-assistant"
    metrics_namespace: str = "EventAssistant"
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        if self.categorizer not in CATEGORIZERS:
            raise ConfigurationError(f"CATEGORIZER must be one of {', '.join(CATEGORIZERS)}")
        if self.transcriber not in TRANSCRIBERS:
            raise ConfigurationError(f"TRANSCRIBER must be one of {', '.join(TRANSCRIBERS)}")
        if self.transcriber in ("transcribe", "sagemaker") and not self.media_bucket:
            raise ConfigurationError(f"TRANSCRIBER={self.transcriber} needs MEDIA_BUCKET")
        if self.transcriber == "sagemaker" and not self.whisper_endpoint:
            raise ConfigurationError("TRANSCRIBER=sagemaker needs WHISPER_ENDPOINT")
        if self.lock_lease_seconds < self.claim_seconds:
            # The lease must outlive the answer stage's claim, or a second question would be admitted while
            # the first is still being answered.
            raise ConfigurationError(
                f"LOCK_LEASE_SECONDS must be at least ANSWER_TIMEOUT_SECONDS + {MARGIN_SECONDS} "
                f"({self.claim_seconds})"
            )

    def allow_list(self) -> frozenset[str]:
        """The allow list, checked: only the inbound function needs it, so only it refuses a bad one (the
        alarm pager, say, must still start when ``ALLOWED_USERS`` is wrong)."""
        return _allow_list(",".join(self.allowed_users))

    @property
    def categorization_model(self) -> str:
        return self.categorizer_model_arn or self.generation_model_arn

    @property
    def claim_seconds(self) -> int:
        """An answer claim's lifetime: the answer function's timeout plus a margin."""
        return self.answer_timeout_seconds + MARGIN_SECONDS

    @property
    def attempt_seconds(self) -> int:
        """How long an inbound attempt owns the message it admitted."""
        return self.inbound_timeout_seconds + MARGIN_SECONDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from an environment mapping (``os.environ`` in handlers)."""
        values: dict[str, str] = {}
        missing = []
        for var in ENVIRONMENT:
            raw = environ.get(var.name, var.default)
            if raw is None or (raw == "" and var.default is None):
                missing.append(var.name)
            else:
                values[var.name] = raw.strip()
        if missing:
            raise ConfigurationError(f"missing environment variables: {', '.join(missing)}")

        def positive(name: str, *, zero: bool = False) -> int:
            try:
                number = int(values[name])
            except ValueError:
                raise ConfigurationError(f"{name} must be an integer") from None
            if number < 0 or (number == 0 and not zero):
                raise ConfigurationError(f"{name} must be positive")
            return number

        version = values["META_API_VERSION"]
        if not version.startswith("v"):
            raise ConfigurationError("META_API_VERSION looks like v20.0")
        languages = tuple(
            dict.fromkeys(x.strip().lower() for x in values["LANGUAGES"].split(",") if x.strip())
        )
        unknown = [x for x in languages if x not in SUPPORTED]
        if not languages or unknown:
            raise ConfigurationError(
                f"LANGUAGES must list some of {', '.join(SUPPORTED)}"
                + (f" (not {', '.join(unknown)})" if unknown else "")
            )
        try:
            timezone = ZoneInfo(values["EVENT_TIMEZONE"])
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError("EVENT_TIMEZONE must be an IANA time zone, like Europe/Lisbon") from None
        now = None
        if values["ASSISTANT_NOW"]:
            try:
                now = datetime.fromisoformat(values["ASSISTANT_NOW"])
            except ValueError:
                raise ConfigurationError(
                    "ASSISTANT_NOW must be ISO 8601, like 2026-03-11T09:20:00+00:00"
                ) from None
            now = now.replace(tzinfo=timezone) if now.tzinfo is None else now.astimezone(timezone)
        return cls(
            table_name=values["TABLE_NAME"],
            processed_topic_arn=values["PROCESSED_TOPIC_ARN"],
            hash_key_secret_arn=values["HASH_KEY_SECRET_ARN"],
            meta_api_version=version,
            knowledge_base_id=values["KNOWLEDGE_BASE_ID"],
            knowledge_data_source_id=values["KNOWLEDGE_DATA_SOURCE_ID"],
            generation_model_arn=values["GENERATION_MODEL_ARN"],
            categorizer_model_arn=values["CATEGORIZER_MODEL_ARN"],
            guardrail_id=values["GUARDRAIL_ID"],
            guardrail_version=values["GUARDRAIL_VERSION"],
            retrieval_results=positive("RETRIEVAL_RESULTS"),
            help_desk=values["HELP_DESK"],
            languages=languages,
            event_timezone=values["EVENT_TIMEZONE"],
            agenda_uri=values["AGENDA_URI"],
            assistant_now=now,
            max_text_chars=positive("MAX_TEXT_CHARS"),
            categorizer=values["CATEGORIZER"].lower(),
            categories=tuple(c.strip() for c in values["CATEGORIES"].split(",") if c.strip()),
            category_cap=positive("CATEGORY_CAP"),
            transcriber=values["TRANSCRIBER"].lower(),
            transcribe_languages=tuple(
                dict.fromkeys(x.strip() for x in values["TRANSCRIBE_LANGUAGES"].split(",") if x.strip())
            ),
            whisper_endpoint=values["WHISPER_ENDPOINT"],
            media_bucket=values["MEDIA_BUCKET"],
            max_audio_seconds=positive("MAX_AUDIO_SECONDS"),
            max_audio_bytes=positive("MAX_AUDIO_BYTES"),
            ffmpeg_path=values["FFMPEG_PATH"],
            allowed_users=frozenset(
                e.strip().lower() for e in values["ALLOWED_USERS"].split(",") if e.strip()
            ),
            rate_limit_messages=positive("RATE_LIMIT_MESSAGES"),
            rate_limit_window_seconds=positive("RATE_LIMIT_WINDOW_SECONDS"),
            bedrock_budget_per_minute=positive("BEDROCK_BUDGET_PER_MINUTE", zero=True),
            conversation_max_messages=positive("CONVERSATION_MAX_MESSAGES"),
            conversation_max_chars=positive("CONVERSATION_MAX_CHARS"),
            conversation_idle_seconds=positive("CONVERSATION_IDLE_SECONDS"),
            lock_lease_seconds=positive("LOCK_LEASE_SECONDS"),
            inbound_timeout_seconds=positive("INBOUND_TIMEOUT_SECONDS"),
            answer_timeout_seconds=positive("ANSWER_TIMEOUT_SECONDS"),
            send_confirm_wait_seconds=positive("SEND_CONFIRM_WAIT_SECONDS", zero=True),
            dedupe_ttl_seconds=positive("DEDUPE_TTL_SECONDS"),
            phone_number_arn=values["PHONE_NUMBER_ARN"],
            on_call_secret_arn=values["ON_CALL_SECRET_ARN"],
            alarm_template_name=values["ALARM_TEMPLATE_NAME"],
            alarm_template_language=values["ALARM_TEMPLATE_LANGUAGE"] or "en_US",
            service_name=values["POWERTOOLS_SERVICE_NAME"],
            metrics_namespace=values["POWERTOOLS_METRICS_NAMESPACE"],
            log_level=values["POWERTOOLS_LOG_LEVEL"].upper(),
        )


_USER_HMAC = re.compile(r"[0-9a-f]{32}")


def _allow_list(raw: str) -> frozenset[str]:
    """``ALLOWED_USERS``: HMACs only. A phone number or id here would sit in the functions' configuration in
    the clear, so it is refused with the command that computes its HMAC (never echoing the value)."""
    entries = [entry.strip().lower() for entry in raw.split(",") if entry.strip()]
    if any(not _USER_HMAC.fullmatch(entry) for entry in entries):
        raise ConfigurationError(
            "ALLOWED_USERS holds user HMACs (32 hex characters each), not phone numbers or ids: "
            "compute them with `assistant allow-list ID...` (add --stack NAME for a deployed stack)"
        )
    return frozenset(entries)
