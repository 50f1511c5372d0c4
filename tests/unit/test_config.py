from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from assistant.config import ENVIRONMENT, ConfigurationError, Settings

REQUIRED = {
    "TABLE_NAME": "t",
    "PROCESSED_TOPIC_ARN": "arn:topic",
    "HASH_KEY_SECRET_ARN": "arn:secret",
    "KNOWLEDGE_BASE_ID": "KB",
    "GENERATION_MODEL_ARN": "arn:model",
    "GUARDRAIL_ID": "g",
    "GUARDRAIL_VERSION": "1",
}


def test_the_engine_needs_its_knowledge_base_and_guardrail() -> None:
    with pytest.raises(ConfigurationError, match="KNOWLEDGE_BASE_ID"):
        Settings.from_env({k: v for k, v in REQUIRED.items() if k != "KNOWLEDGE_BASE_ID"})


def test_defaults_apply_when_only_required_variables_are_set() -> None:
    settings = Settings.from_env(REQUIRED)
    assert settings.max_text_chars == 1500
    assert settings.allowed_users == frozenset()
    assert settings.meta_api_version == "v20.0"


def test_missing_required_variables_are_named() -> None:
    with pytest.raises(ConfigurationError, match="TABLE_NAME"):
        Settings.from_env({k: v for k, v in REQUIRED.items() if k != "TABLE_NAME"})


@pytest.mark.parametrize(("name", "value"), [("MAX_TEXT_CHARS", "many"), ("RATE_LIMIT_MESSAGES", "0")])
def test_bad_numbers_are_rejected(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env(REQUIRED | {name: value})


def test_allow_list_holds_hmacs_and_refuses_ids_without_echoing_them() -> None:
    key = "0123456789abcdef" * 2
    settings = Settings.from_env(REQUIRED | {"ALLOWED_USERS": f" {key.upper()}, {key[::-1]} ,"})
    assert settings.allow_list() == frozenset({key, key[::-1]})
    wrong = Settings.from_env(REQUIRED | {"ALLOWED_USERS": f"{key},+15550001111"})  # other functions start
    with pytest.raises(ConfigurationError, match="assistant allow-list") as refused:
        wrong.allow_list()
    assert "5550001111" not in str(refused.value)


def test_a_lease_shorter_than_the_answer_claim_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="LOCK_LEASE_SECONDS"):
        Settings.from_env(REQUIRED | {"LOCK_LEASE_SECONDS": "1"})
    with pytest.raises(ConfigurationError, match="LOCK_LEASE_SECONDS"):
        Settings.from_env(REQUIRED | {"LOCK_LEASE_SECONDS": "120"})  # equal to the timeout: no margin
    settings = Settings.from_env(REQUIRED | {"ANSWER_TIMEOUT_SECONDS": "60", "LOCK_LEASE_SECONDS": "90"})
    assert settings.claim_seconds == 90


def test_claims_and_attempts_outlive_their_functions_by_a_margin() -> None:
    settings = Settings.from_env(REQUIRED)
    assert settings.claim_seconds > settings.answer_timeout_seconds
    assert settings.attempt_seconds > settings.inbound_timeout_seconds
    assert settings.lock_lease_seconds >= settings.claim_seconds


def test_every_variable_has_a_description() -> None:
    assert all(v.description for v in ENVIRONMENT)


def test_event_timezone_and_assistant_now_are_validated() -> None:
    lisbon = ZoneInfo("Europe/Lisbon")
    settings = Settings.from_env(
        REQUIRED | {"EVENT_TIMEZONE": "Europe/Lisbon", "ASSISTANT_NOW": "2026-03-11T11:20"}
    )
    assert settings.assistant_now == datetime(2026, 3, 11, 11, 20, tzinfo=lisbon)
    with pytest.raises(ConfigurationError, match="EVENT_TIMEZONE"):
        Settings.from_env(REQUIRED | {"EVENT_TIMEZONE": "Mars/Olympus"})
    with pytest.raises(ConfigurationError, match="ASSISTANT_NOW"):
        Settings.from_env(REQUIRED | {"ASSISTANT_NOW": "half past eleven"})


def test_languages_are_validated_and_the_first_is_the_fallback() -> None:
    assert Settings.from_env(REQUIRED | {"LANGUAGES": "es, EN"}).languages == ("es", "en")
    with pytest.raises(ConfigurationError, match="LANGUAGES"):
        Settings.from_env(REQUIRED | {"LANGUAGES": "es,xx"})
