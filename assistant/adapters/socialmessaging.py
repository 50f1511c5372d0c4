"""SocialMessagingMessenger: outbound WhatsApp through End User Messaging Social (``socialmessaging``)."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from assistant.adapters.aws import AWS_ERRORS, error_code, translate
from assistant.errors import RejectedByService
from assistant.models.domain import Route
from assistant.ports import Recipient

logger = Logger(child=True)


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
    may already have gone out. Only throttling, which guarantees nothing was sent, is retried here.
    """

    def __init__(
        self,
        client: Any,
        meta_api_version: str,
        *,
        throttle_attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._version = meta_api_version
        self._typing_supported = True
        self._throttle_attempts = throttle_attempts
        self._sleep = sleep

    def _send(self, route: Route, message: dict[str, Any]) -> str:
        body = json.dumps(message, ensure_ascii=False).encode()
        for attempt in range(1, self._throttle_attempts + 1):
            try:
                response = self._client.send_whatsapp_message(
                    originationPhoneNumberId=route.origination_phone_number_id,
                    metaApiVersion=self._version,
                    # boto3 base64-encodes blobs itself: pass the raw JSON bytes.
                    message=body,
                )
            except AWS_ERRORS as exc:
                if error_code(exc) == "ThrottledRequestException" and attempt < self._throttle_attempts:
                    self._sleep(random.uniform(0, 0.2 * 2**attempt))
                    continue
                raise translate("socialmessaging", exc) from None
            return str(response.get("messageId", ""))
        raise AssertionError("unreachable")

    def mark_read(self, route: Route, message_id: str, *, typing: bool) -> None:
        if typing and self._typing_supported:
            try:
                self._send(route, read_receipt(message_id, typing=True))
                return
            except RejectedByService as exc:
                if exc.code not in ("ValidationException", "InvalidParametersException"):
                    raise
                # The service rejected the typing indicator: fall back to a plain receipt from now on.
                logger.warning("typing indicator rejected; falling back to plain read receipts")
                self._typing_supported = False
        self._send(route, read_receipt(message_id, typing=False))

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
