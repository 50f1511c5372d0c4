"""template.yaml's Bedrock guardrail as data: what it filters, denies and masks, that the functions use it,
and that the local twin's guardrail (``assistant/local/bedrock.py``) stands for the same policy.

Only configuration is checked here: what Bedrock does with it is not tested on AWS (see SECURITY.md)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from assistant.local.bedrock import LocalGuardrail
from tests.unit.conftest import as_list

HARM_FILTERS = {"SEXUAL", "VIOLENCE", "HATE", "INSULTS", "MISCONDUCT"}
CLASSIC_LANGUAGES = {"en", "es", "fr"}
"""What Bedrock's CLASSIC tier reads, for content filters, prompt attacks and denied topics alike (the
STANDARD tier reads many more, the assistant's seven among them, and needs cross-Region inference)."""
TOPIC_NAME = re.compile(r"[0-9a-zA-Z-_ !?.]{1,100}")
"""Bedrock's pattern for a denied topic's name."""


def guardrail(template: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = template["Resources"]["Guardrail"]["Properties"]
    return props


def filters(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["Type"]: f for f in guardrail(template)["ContentPolicyConfig"]["FiltersConfig"]}


def topics(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["Name"]: t for t in guardrail(template)["TopicPolicyConfig"]["TopicsConfig"]}


def entities(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        e["Type"]: e for e in guardrail(template)["SensitiveInformationPolicyConfig"]["PiiEntitiesConfig"]
    }


def twin() -> LocalGuardrail:
    return LocalGuardrail("local-guardrail", "1")


def test_harmful_content_is_filtered_at_high_strength_both_ways(template: dict[str, Any]) -> None:
    configured = filters(template)
    assert set(configured) >= HARM_FILTERS
    for kind in HARM_FILTERS:
        assert (configured[kind]["InputStrength"], configured[kind]["OutputStrength"]) == ("HIGH", "HIGH"), (
            kind
        )


def test_prompt_attacks_are_filtered_at_high_strength_on_input(template: dict[str, Any]) -> None:
    # Bedrock applies the prompt-attack filter to input only; its output strength must be NONE.
    attack = filters(template)["PROMPT_ATTACK"]
    assert (attack["InputStrength"], attack["OutputStrength"]) == ("HIGH", "NONE")


@pytest.mark.xfail(
    strict=True,
    reason="the guardrail runs on the CLASSIC tier (English, French, Spanish): Portuguese, German, Turkish "
    "and Arabic messages pass its content filters, prompt-attack filter and denied topics unread",
)
def test_the_filters_read_every_language_the_assistant_answers_in(template: dict[str, Any]) -> None:
    languages = set(template["Parameters"]["Languages"]["Default"].split(","))
    assert languages - CLASSIC_LANGUAGES  # the default event needs more than the CLASSIC tier reads
    props = guardrail(template)
    assert props["ContentPolicyConfig"].get("ContentFiltersTierConfig") == {"TierName": "STANDARD"}
    assert props["TopicPolicyConfig"].get("TopicsTierConfig") == {"TierName": "STANDARD"}
    assert "GuardrailProfileArn" in props.get("CrossRegionConfig", {})  # STANDARD needs a guardrail profile


def test_investment_advice_and_medical_diagnosis_are_denied_topics(template: dict[str, Any]) -> None:
    denied = topics(template)
    assert {"Investment advice", "Medical diagnosis"} <= set(denied)
    assert {t["Type"] for t in denied.values()} == {"DENY"}


def test_denied_topics_fit_bedrocks_limits(template: dict[str, Any]) -> None:
    for name, topic in topics(template).items():
        assert TOPIC_NAME.fullmatch(name), name
        assert 1 <= len(topic["Definition"]) <= 200, name
        examples = topic.get("Examples", [])
        assert all(1 <= len(e) <= 100 for e in examples), name


def test_the_twin_denies_the_topics_the_template_denies(template: dict[str, Any]) -> None:
    assert set(twin().denied_topics) == set(topics(template))


def test_the_twin_refuses_every_example_of_the_templates_denied_topics(template: dict[str, Any]) -> None:
    missed = [e for t in topics(template).values() for e in t["Examples"] if not twin().intervenes(e)]
    assert missed == []


def test_attendees_contact_details_and_passwords_are_masked_before_the_model_reads_them(
    template: dict[str, Any],
) -> None:
    masked = entities(template)
    for kind in ("PHONE", "EMAIL", "PASSWORD"):
        assert masked[kind]["InputEnabled"] is True, kind
        assert masked[kind]["InputAction"] in ("ANONYMIZE", "BLOCK"), kind


def test_card_and_social_security_numbers_are_masked_in_answers(template: dict[str, Any]) -> None:
    masked = entities(template)
    for kind in ("CREDIT_DEBIT_CARD_NUMBER", "US_SOCIAL_SECURITY_NUMBER"):
        assert masked[kind]["OutputEnabled"] is True, kind
        assert masked[kind]["OutputAction"] == "ANONYMIZE", kind


def test_names_are_not_masked_so_speakers_can_be_named(template: dict[str, Any]) -> None:
    assert "NAME" not in entities(template)


def test_an_entity_off_in_one_direction_takes_no_action_there(template: dict[str, Any]) -> None:
    for kind, entity in entities(template).items():
        for way in ("Input", "Output"):
            if entity.get(f"{way}Enabled") is False:
                assert entity.get(f"{way}Action", "NONE") == "NONE", (kind, way)


@pytest.mark.xfail(
    strict=True,
    reason="the template has no WordPolicyConfig: the twin's denied words and profanity are refused "
    "locally, and reach the model on AWS (only the INSULTS and HATE filters stand in)",
)
def test_word_filters_hold_the_profanity_list_and_the_twins_denied_words(template: dict[str, Any]) -> None:
    words = guardrail(template).get("WordPolicyConfig", {})
    assert {"Type": "PROFANITY"} in words.get("ManagedWordListsConfig", [])
    configured = {w["Text"].lower() for w in words.get("WordsConfig", [])}
    assert {w.lower() for w in twin().denied_words} <= configured


def test_a_refusal_says_what_the_assistant_is_for_and_nothing_of_the_filters(
    template: dict[str, Any],
) -> None:
    props = guardrail(template)
    for key in ("BlockedInputMessaging", "BlockedOutputsMessaging"):
        message = props[key]
        assert 1 <= len(message) <= 500
        assert "the event" in message
        assert not re.search(r"(?i)guardrail|filter|policy|prompt|blocked|denied", message), key
        assert message == twin().blocked_message  # what the twin answers when it intervenes


def test_the_functions_use_the_published_version_of_this_guardrail(template: dict[str, Any]) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["GUARDRAIL_ID"] == {"Fn::GetAtt": ["Guardrail", "GuardrailId"]}
    assert env["GUARDRAIL_VERSION"] == {"Fn::GetAtt": ["GuardrailVersion", "Version"]}
    version = template["Resources"]["GuardrailVersion"]
    assert version["Type"] == "AWS::Bedrock::GuardrailVersion"
    assert version["Properties"]["GuardrailIdentifier"] == {"Fn::GetAtt": ["Guardrail", "GuardrailId"]}


def test_every_role_that_invokes_a_model_may_apply_this_guardrail_and_no_other(
    template: dict[str, Any],
) -> None:
    this = {"Fn::GetAtt": ["Guardrail", "GuardrailArn"]}
    invokers = []
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        statements = [
            s
            for policy in resource["Properties"].get("Policies", [])
            for s in as_list(policy["PolicyDocument"]["Statement"])
            if isinstance(s, dict) and "Action" in s  # an !If on a condition is the template audit's
        ]
        actions = {a for s in statements for a in as_list(s["Action"])}
        if name == "KnowledgeBaseRole" or "bedrock:InvokeModel" not in actions:
            continue  # the knowledge base's role embeds documents; it generates nothing
        invokers.append(name)
        resources = [
            r
            for s in statements
            if "bedrock:ApplyGuardrail" in as_list(s["Action"])
            for r in as_list(s["Resource"])
        ]
        assert this in resources, name
        # Besides it, only its guardrail profile (cross-Region inference), never another guardrail.
        assert all(r == this or "guardrail-profile/" in json.dumps(r) for r in resources), name
    assert {"AnswerFunctionRole", "CategorizeFunctionRole"} <= set(invokers)
