"""A local wire-level stand-in for AWS End User Messaging Social (``socialmessaging``, rest-json).

Reached through ``AWS_ENDPOINT_URL_SOCIALMESSAGING``, so the production adapter (boto3 and all) runs
unchanged. It validates requests the way the service and Meta do for what this project sends, records
every accepted call in order, and takes injected faults (throttling, rejection of the typing indicator).
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assistant.local.wire import RestJsonServer, ServiceError

TEXT_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Fault:
    code: str
    status: int
    when: Callable[[dict[str, Any]], bool] | None = None
    """Only calls whose decoded Meta message matches this take the fault (None: any call)."""


def _validate_message(message: dict[str, Any]) -> None:
    if message.get("messaging_product") != "whatsapp":
        raise ServiceError("ValidationException", 400, "messaging_product must be whatsapp")
    if "status" in message:
        if message.get("status") != "read" or not message.get("message_id"):
            raise ServiceError("ValidationException", 400, "a status update needs status=read and message_id")
        return
    if not (message.get("to") or message.get("recipient")):
        raise ServiceError("ValidationException", 400, "to or recipient is required")
    kind = message.get("type")
    if kind == "text":
        body = (message.get("text") or {}).get("body")
        if not isinstance(body, str) or not body:
            raise ServiceError("ValidationException", 400, "text.body is required")
        if len(body) > TEXT_LIMIT:
            raise ServiceError(
                "ValidationException", 400, f"text.body is longer than {TEXT_LIMIT} characters"
            )
    elif kind not in (
        "reaction",
        "interactive",
        "image",
        "audio",
        "document",
        "video",
        "sticker",
        "template",
    ):
        raise ServiceError("ValidationException", 400, "unknown message type")


class SocialMessagingStandIn:
    """Start with ``start()``; ``endpoint`` is the URL for ``AWS_ENDPOINT_URL_SOCIALMESSAGING``."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []
        self.reject_typing_indicator = False
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._server = RestJsonServer("socialmessaging")
        self._server.route("/v1/whatsapp/send", self._send_operation)

    # -- control --------------------------------------------------------------------------------------------

    def fail_next(
        self,
        code: str = "ThrottledRequestException",
        status: int = 429,
        times: int = 1,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """Answer the next ``times`` calls (that match ``when``) with an error."""
        with self._lock:
            self._faults.extend(Fault(code, status, when) for _ in range(times))

    def sent(self) -> list[dict[str, Any]]:
        """Decoded Meta messages of the accepted calls, in order."""
        with self._lock:
            return [call["message"] for call in self.calls]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
            self.rejected.clear()
            self._faults.clear()

    @property
    def endpoint(self) -> str:
        return self._server.endpoint

    def start(self) -> SocialMessagingStandIn:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> SocialMessagingStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the wire -------------------------------------------------------------------------------------------

    def _send_operation(self, request: dict[str, Any], _: dict[str, str]) -> dict[str, Any]:
        return {"messageId": self._send(request)}

    def _send(self, request: dict[str, Any]) -> str:
        for field in ("originationPhoneNumberId", "metaApiVersion", "message"):
            if not request.get(field):
                raise ServiceError("ValidationException", 400, f"{field} is required")
        phone = str(request["originationPhoneNumberId"])
        if not (phone.startswith("phone-number-id-") or phone.startswith("arn:")):
            raise ServiceError(
                "ValidationException", 400, "originationPhoneNumberId is not a phone number id"
            )
        try:
            message = json.loads(base64.b64decode(request["message"], validate=True))
        except (binascii.Error, ValueError):
            raise ServiceError("ValidationException", 400, "message is not base64 of JSON") from None
        if not isinstance(message, dict):
            raise ServiceError("ValidationException", 400, "message is not a JSON object")
        record = {
            "operation": "SendWhatsAppMessage",
            "originationPhoneNumberId": phone,
            "metaApiVersion": request["metaApiVersion"],
            "message": message,
        }
        with self._lock:
            fault = None
            if self._faults and (self._faults[0].when is None or self._faults[0].when(message)):
                fault = self._faults.popleft()
            try:
                if fault is not None:
                    raise ServiceError(fault.code, fault.status, "injected fault")
                if self.reject_typing_indicator and "typing_indicator" in message:
                    raise ServiceError("ValidationException", 400, "typing_indicator is not supported")
                _validate_message(message)
            except ServiceError:
                self.rejected.append(record)
                raise
            self.calls.append(record)
        return str(uuid.uuid4())
