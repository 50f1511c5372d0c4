"""SocialMessagingMessenger: outbound WhatsApp through End User Messaging Social (``socialmessaging``)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from assistant.adapters.aws import AWS_ERRORS, translate
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
    def __init__(self, client: Any, meta_api_version: str) -> None:
        self._client = client
        self._version = meta_api_version
        self._typing_supported = True

    def _send(self, route: Route, message: dict[str, Any]) -> str:
        try:
            response = self._client.send_whatsapp_message(
                originationPhoneNumberId=route.origination_phone_number_id,
                metaApiVersion=self._version,
                # boto3 base64-encodes blobs itself: pass the raw JSON bytes.
                message=json.dumps(message, ensure_ascii=False).encode(),
            )
        except AWS_ERRORS as exc:
            raise translate("socialmessaging", exc) from None
        return str(response.get("messageId", ""))

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
