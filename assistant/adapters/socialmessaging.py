"""SocialMessagingMessenger: outbound WhatsApp through End User Messaging Social (``socialmessaging``)."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from assistant.adapters.aws import AWS_ERRORS, error_code, may_have_taken_effect, translate
from assistant.errors import AmbiguousOutcome, RejectedByService, RetryableError
from assistant.models.domain import Route
from assistant.ports import FetchedMedia, Recipient

logger = Logger(child=True)

TYPING_RETRY_SECONDS = 600.0
"""After the service refused typing indicators, plain read receipts for this long, then try again."""
TYPING_REFUSALS = 3
"""Refusals of the indicator itself, in a row, that mean "not supported" rather than a passing error."""


def read_receipt(message_id: str, *, typing: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"messaging_product": "whatsapp", "message_id": message_id, "status": "read"}
    if typing:
        body["typing_indicator"] = {"type": "text"}
    return body


def text_message(
    recipient: Recipient, body: str, *, quote: str | None = None, callback_data: str | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
    if recipient.wa_id:
        message["to"] = recipient.wa_id
    elif recipient.user_id:
        # Username users without a phone number are addressed by their business-scoped user id.
        message["recipient"] = recipient.user_id
    else:
        raise ValueError("a recipient needs a wa_id or a user_id")
    message["type"] = "text"
    message["text"] = {"preview_url": False, "body": body}
    if quote:
        message["context"] = {"message_id": quote}
    if callback_data:
        message["biz_opaque_callback_data"] = callback_data
    return message


class SocialMessagingMessenger:
    """Give it a client that makes ONE attempt per call (``client("socialmessaging", attempts=1)``).

    A send is not idempotent: botocore's own retries would repeat a message after a read timeout, when it
    may already have gone out. Only throttling, which guarantees nothing was sent, is retried here; a call
    that may have gone out raises ``AmbiguousOutcome`` for the caller to resolve (docs/exactly-once.md).
    """

    def __init__(
        self,
        client: Any,
        meta_api_version: str,
        *,
        throttle_attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        typing_retry_seconds: float = TYPING_RETRY_SECONDS,
    ) -> None:
        self._client = client
        self._version = meta_api_version
        self._throttle_attempts = throttle_attempts
        self._sleep = sleep
        self._monotonic = monotonic
        self._typing_retry_seconds = typing_retry_seconds
        self._typing_off_until = float("-inf")
        self._typing_refusals = 0

    def _send(self, route: Route, message: dict[str, Any]) -> str:
        return send_whatsapp(
            self._client,
            route.origination_phone_number_id,
            self._version,
            message,
            attempts=self._throttle_attempts,
            sleep=self._sleep,
        )

    @property
    def typing_supported(self) -> bool:
        return self._monotonic() >= self._typing_off_until

    def mark_read(self, route: Route, message_id: str, *, typing: bool) -> None:
        if typing and self.typing_supported:
            try:
                self._send(route, read_receipt(message_id, typing=True))
                self._typing_refusals = 0
                return
            except RejectedByService as exc:
                if exc.code not in ("ValidationException", "InvalidParametersException"):
                    raise
                typing_rejected = True
        else:
            typing_rejected = False
        self._send(route, read_receipt(message_id, typing=False))
        if typing_rejected:
            # The same receipt without the indicator went through: the indicator itself is what the service
            # refused (a rejected message id would have failed both). Only refusals in a row mean "not
            # supported"; then plain receipts for a while, and a new try: never for the container's life.
            self._typing_refusals += 1
            if self._typing_refusals >= TYPING_REFUSALS:
                logger.warning("typing indicator refused repeatedly; plain read receipts for a while")
                self._typing_off_until = self._monotonic() + self._typing_retry_seconds
                self._typing_refusals = 0

    def send_text(
        self,
        route: Route,
        recipient: Recipient,
        body: str,
        *,
        quote: str | None = None,
        callback_data: str | None = None,
    ) -> str:
        return self._send(route, text_message(recipient, body, quote=quote, callback_data=callback_data))


class SocialMessagingMedia:
    """``GetWhatsAppMessageMedia`` into the media bucket (the ``MediaSource`` port).

    The service writes the object at ``prefix + mediaId + "." + extension`` and says only its type and
    size, so the key is found by listing the prefix. Fetching again overwrites the same key: a retry never
    leaves a second copy.
    """

    def __init__(self, client: Any, s3_client: Any, bucket: str) -> None:
        self._client = client
        self._s3 = s3_client
        self._bucket = bucket

    def fetch(self, route: Route, media_id: str, prefix: str) -> FetchedMedia:
        try:
            response = self._client.get_whatsapp_message_media(
                mediaId=media_id,
                originationPhoneNumberId=route.origination_phone_number_id,
                destinationS3File={"bucketName": self._bucket, "key": prefix},
            )
        except AWS_ERRORS as exc:
            raise translate("socialmessaging", exc) from None
        try:
            listed = self._s3.list_objects_v2(Bucket=self._bucket, Prefix=prefix + media_id)
        except AWS_ERRORS as exc:
            raise translate("s3", exc) from None
        keys = sorted(str(item["Key"]) for item in listed.get("Contents", []))
        if not keys:
            # The service said it copied the media, and nothing is there: worth another try.
            raise RetryableError("socialmessaging: the media did not arrive in the bucket")
        return FetchedMedia(
            key=keys[0],
            mime_type=str(response.get("mimeType") or ""),
            size=int(response.get("fileSize") or 0),
        )


def send_whatsapp(
    client: Any,
    origination: str,
    version: str,
    message: dict[str, Any],
    *,
    attempts: int,
    sleep: Callable[[float], None],
) -> str:
    """One ``SendWhatsAppMessage`` (the client makes one attempt per call): throttling, which proves nothing
    went out, is retried up to ``attempts`` times; a call that may have gone out raises AmbiguousOutcome."""
    body = json.dumps(message, ensure_ascii=False).encode()
    for attempt in range(1, attempts + 1):
        try:
            response = client.send_whatsapp_message(
                originationPhoneNumberId=origination,
                metaApiVersion=version,
                # boto3 base64-encodes blobs itself: pass the raw JSON bytes.
                message=body,
            )
        except AWS_ERRORS as exc:
            code = error_code(exc)
            if code == "ThrottledRequestException" and attempt < attempts:
                sleep(random.uniform(0, 0.2 * 2**attempt))
                continue
            if may_have_taken_effect(exc):
                raise AmbiguousOutcome(f"socialmessaging: {code}") from None
            raise translate("socialmessaging", exc) from None
        return str(response.get("messageId", ""))
    raise AssertionError("unreachable")
