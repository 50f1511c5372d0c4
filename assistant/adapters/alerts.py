"""Alarm pages on AWS: claims in the conversation table, template messages through End User Messaging Social,
the on-call numbers from Secrets Manager (``services/alerting.py`` decides; these only carry it out).

Claim records, in the conversation table (partition key ``pk``, TTL attribute ``expires_at``):
``alarm#<hmac(alarm ARN, state change time, new state)>#<hmac(on-call number)>``, with ``status``
(``sending`` or ``sent``), ``claim_owner`` and ``claim_until`` (the sending attempt and its deadline), and
once sent ``message_key`` (the keyed hash of WhatsApp's message id) and ``sent_at``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools import Logger

from assistant.adapters.aws import AWS_ERRORS, client, error_code, translate
from assistant.adapters.socialmessaging import send_whatsapp
from assistant.adapters.system import HmacHasher, load_hash_key
from assistant.config import ConfigurationError, Settings
from assistant.ports import Clock, MetricsSink
from assistant.services.alerting import AlarmNotifier, AlarmTemplate, ClaimOutcome

logger = Logger(child=True)

_STATUS = {"#status": "status"}  # a DynamoDB reserved word


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(int(value))}


class DynamoDBAlarmClaims:
    """The ``AlarmClaims`` port on the conversation table: a conditional put with a lease, the pattern of
    Powertools' idempotency store (``attribute_not_exists(pk) OR <lapsed>``, with the old item returned)."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._db = client
        self._table = table_name

    @staticmethod
    def _key(notification: str, recipient: str) -> dict[str, Any]:
        return {"pk": _s(f"alarm#{notification}#{recipient}")}

    def take(
        self, notification: str, recipient: str, *, owner: str, now: int, until: int, expires_at: int
    ) -> ClaimOutcome:
        key = self._key(notification, recipient)
        try:
            response = self._db.put_item(
                TableName=self._table,
                Item={
                    **key,
                    "status": _s("sending"),
                    "claim_owner": _s(owner),
                    "claim_until": _n(until),
                    "expires_at": _n(expires_at),
                },
                # Free, lapsed while sending, or our own (botocore's retry of a put whose answer was lost).
                ConditionExpression=(
                    "attribute_not_exists(pk) OR "
                    "(#status = :sending AND (claim_until < :now OR claim_owner = :me))"
                ),
                ExpressionAttributeNames=_STATUS,
                ExpressionAttributeValues={":sending": _s("sending"), ":now": _n(now), ":me": _s(owner)},
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except AWS_ERRORS as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise translate("dynamodb", exc) from None
            old = getattr(exc, "response", {}).get("Item")
            if not isinstance(old, dict):
                old = self._get(key)
            return ClaimOutcome.SENT if old.get("status") == _s("sent") else ClaimOutcome.HELD
        old = response.get("Attributes") or {}
        if old and old.get("claim_owner") != _s(owner):
            return ClaimOutcome.RESUMED
        return ClaimOutcome.GRANTED

    def mark_sent(
        self, notification: str, recipient: str, *, message_key: str, now: int, expires_at: int
    ) -> None:
        # Unconditional: the page went out, whoever holds the claim now (a takeover after a slow send
        # pages again anyway; the record says "sent" either way).
        try:
            self._db.update_item(
                TableName=self._table,
                Key=self._key(notification, recipient),
                UpdateExpression=(
                    "SET #status = :sent, message_key = :message, sent_at = :now, expires_at = :expires "
                    "REMOVE claim_until"
                ),
                ExpressionAttributeNames=_STATUS,
                ExpressionAttributeValues={
                    ":sent": _s("sent"),
                    ":message": _s(message_key),
                    ":now": _n(now),
                    ":expires": _n(expires_at),
                },
            )
        except AWS_ERRORS as exc:
            raise translate("dynamodb", exc) from None

    def release(self, notification: str, recipient: str, *, owner: str) -> None:
        try:
            self._db.delete_item(
                TableName=self._table,
                Key=self._key(notification, recipient),
                ConditionExpression="#status = :sending AND claim_owner = :me",
                ExpressionAttributeNames=_STATUS,
                ExpressionAttributeValues={":sending": _s("sending"), ":me": _s(owner)},
            )
        except AWS_ERRORS as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return  # not ours any more (taken over, or sent): nothing to give back
            raise translate("dynamodb", exc) from None

    def _get(self, key: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._db.get_item(TableName=self._table, Key=key, ConsistentRead=True)
        except AWS_ERRORS as exc:
            raise translate("dynamodb", exc) from None
        return dict(response.get("Item") or {})


def template_message(to: str, name: str, language: str, parameters: Sequence[str]) -> dict[str, Any]:
    """A Meta template message with text variables in its body."""
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": language},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": text} for text in parameters]}
            ],
        },
    }


class SocialMessagingTemplateSender:
    """The ``TemplateSender`` port: ``SendWhatsAppMessage`` from one business number (its ARN).

    As ``SocialMessagingMessenger``, give it a client that makes ONE attempt per call: only throttling, which
    proves nothing went out, is retried here; a call that may have gone out raises ``AmbiguousOutcome``."""

    def __init__(
        self,
        client: Any,
        phone_number_arn: str,
        meta_api_version: str,
        *,
        throttle_attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._origination = phone_number_arn
        self._version = meta_api_version
        self._throttle_attempts = throttle_attempts
        self._sleep = sleep

    def send_template(self, to: str, name: str, language: str, parameters: Sequence[str]) -> str:
        return send_whatsapp(
            self._client,
            self._origination,
            self._version,
            template_message(to, name, language, parameters),
            attempts=self._throttle_attempts,
            sleep=self._sleep,
        )


def load_on_call(secrets_client: Any, secret_id: str) -> str:
    """The on-call numbers, comma-separated, as the secret holds them (read once per container)."""
    try:
        response = secrets_client.get_secret_value(SecretId=secret_id)
    except AWS_ERRORS as exc:
        raise translate("secretsmanager", exc) from None
    return str(response.get("SecretString") or "")


def build_alarm_notifier(settings: Settings, clock: Clock, metrics: MetricsSink) -> AlarmNotifier | None:
    """The alarm notifier on AWS, or None when WhatsApp alarms are off (``ON_CALL_SECRET_ARN`` or
    ``ALARM_TEMPLATE_NAME`` empty), which it logs. Reads both secrets: call it once per container."""
    if not settings.on_call_secret_arn or not settings.alarm_template_name:
        logger.warning("WhatsApp alarms are off: ON_CALL_SECRET_ARN or ALARM_TEMPLATE_NAME is empty")
        return None
    if not settings.phone_number_arn:
        raise ConfigurationError("WhatsApp alarms need PHONE_NUMBER_ARN (the number they are sent from)")
    secrets = client("secretsmanager")
    return AlarmNotifier(
        claims=DynamoDBAlarmClaims(client("dynamodb"), settings.table_name),
        # Short timeouts: a hung send must not outlive the claim (services.alerting.CLAIM_SECONDS).
        sender=SocialMessagingTemplateSender(
            client("socialmessaging", attempts=1, read_timeout=5),
            settings.phone_number_arn,
            settings.meta_api_version,
            sleep=clock.sleep,
        ),
        hasher=HmacHasher(load_hash_key(secrets, settings.hash_key_secret_arn)),
        metrics=metrics,
        clock=clock,
        template=AlarmTemplate(settings.alarm_template_name, settings.alarm_template_language),
        recipients=load_on_call(secrets, settings.on_call_secret_arn),
    )
