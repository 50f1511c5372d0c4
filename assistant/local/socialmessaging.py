"""A local wire-level stand-in for AWS End User Messaging Social (``socialmessaging``, rest-json).

Reached through ``AWS_ENDPOINT_URL_SOCIALMESSAGING``, so the production adapter (boto3 and all) runs
unchanged. It validates requests the way the service and Meta do for what this project sends, records
every accepted call in order, answers with wamid-shaped message ids, and takes injected faults
(throttling, rejection of the typing indicator, an error after the message went out).

Like the service, it reports on what it sent: every accepted message that is not a read receipt queues a
``sent`` status event, an envelope of the shape the service publishes to the inbound topic (with the
message's ``biz_opaque_callback_data``). ``LocalCloud.drain()`` publishes them; tests can hold them back to
make a status arrive late (``hold_statuses``, ``release_statuses()``).

It also knows the WhatsApp business accounts linked to the account (``add_business_account``), for
``ListLinkedWhatsAppBusinessAccounts``, ``GetLinkedWhatsAppBusinessAccount`` and
``PutWhatsAppBusinessAccountEventDestinations`` (what ``assistant doctor`` reads and sets).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from assistant.local import envelopes
from assistant.local.wire import RestJsonServer, ServiceError

TEXT_LIMIT = 4096
_MIME_TYPES = {
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "amr": "audio/amr",
    "wav": "audio/wav",
    "jpg": "image/jpeg",
    "png": "image/png",
}


@dataclass(frozen=True, slots=True)
class Fault:
    code: str
    status: int
    when: Callable[[dict[str, Any]], bool] | None = None
    """Only calls whose decoded Meta message matches this take the fault (None: any call)."""
    applied: bool = False
    """The message goes out (recorded, status queued) and the caller still gets the error."""


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A business phone number as the service knows it: what a status envelope needs to be routed."""

    arn: str
    meta_phone_number_id: str
    display_phone_number: str = "15550009999"
    waba_id: str = "200000000000002"
    waba_arn: str = f"arn:aws:social-messaging:us-east-1:{envelopes.ACCOUNT}:waba/1"

    @property
    def origination_id(self) -> str:
        """``phone-number-id-<id>``, the form the adapter sends as ``originationPhoneNumberId``."""
        return _origination_id(self.arn)


@dataclass
class _BusinessAccount:
    """A linked WhatsApp business account, as ``GetLinkedWhatsAppBusinessAccount`` tells it."""

    account_id: str
    name: str
    phone_number_arns: tuple[str, ...]
    event_destination: str | None
    linked_at: float


class _RestJsonServerWithQuery(RestJsonServer):
    """The GET operations carry their input in the query string, which ``RestJsonServer`` leaves out: here
    its parameters become the request's members."""

    def dispatch(self, path: str, raw: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
        route, _, query = path.partition("?")
        if query and not raw:
            raw = json.dumps({key: values[-1] for key, values in parse_qs(query).items()}).encode()
        return super().dispatch(route, raw)


_EVENT_DESTINATION = re.compile(r"arn:.*:[a-z-]+([/:](.*))?")
"""``EventDestinationArn``'s pattern in the service model."""


def _origination_id(arn_or_id: str) -> str:
    # arn:aws:social-messaging:<region>:<acct>:phone-number-id/<id> -> phone-number-id-<id>
    return arn_or_id.split(":")[-1].replace("/", "-")


def new_outbound_wamid(recipient: str | None) -> str:
    """A message id shaped like Meta's: base64 of a record holding the recipient's number and a random id
    (so a wamid is personal data here as it is on WhatsApp)."""
    number = recipient if recipient and recipient.isdigit() and len(recipient) < 32 else None
    number = number or "".join(secrets.choice("0123456789") for _ in range(11))
    record = (
        b"\x1c\x18"
        + bytes([len(number)])
        + number.encode()
        + b"\x15\x02\x00\x11\x18\x12"
        + secrets.token_hex(9).upper().encode()
        + b"\x00"
    )
    return "wamid." + base64.b64encode(record).decode()


def sent_status_envelope(
    phone: PhoneNumber, message_id: str, message: Mapping[str, Any], now: float
) -> dict[str, Any]:
    """The envelope the service publishes when Meta reports a message of ours ``sent``."""
    status: dict[str, Any] = {
        "id": message_id,
        "status": "sent",
        "timestamp": str(int(now)),
        "recipient_id": str(message.get("to") or message.get("recipient") or ""),
        "conversation": {"id": secrets.token_hex(16), "origin": {"type": "service"}},
        "pricing": {"billable": True, "pricing_model": "CBP", "category": "service"},
    }
    if message.get("biz_opaque_callback_data"):
        status["biz_opaque_callback_data"] = message["biz_opaque_callback_data"]
    entry = {
        "id": phone.waba_id,
        "changes": [
            {
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {
                        "display_phone_number": phone.display_phone_number,
                        "phone_number_id": phone.meta_phone_number_id,
                    },
                    "statuses": [status],
                },
            }
        ],
    }
    seconds = int(now)
    nanos = int((now - seconds) * 1e9)
    return {
        "context": {
            "MetaWabaIds": [{"wabaId": phone.waba_id, "arn": phone.waba_arn}],
            "MetaPhoneNumberIds": [{"metaPhoneNumberId": phone.meta_phone_number_id, "arn": phone.arn}],
        },
        "whatsAppWebhookEntry": json.dumps(entry),
        "aws_account_id": phone.arn.split(":")[4] if phone.arn.count(":") >= 5 else envelopes.ACCOUNT,
        "message_timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z",
    }


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _display_numbers(raw_entry: Any) -> dict[str, str]:
    """Meta phone number id -> display number, from a webhook entry (a JSON string)."""
    try:
        entry = json.loads(raw_entry) if isinstance(raw_entry, str) else raw_entry
    except (ValueError, RecursionError):
        return {}
    numbers: dict[str, str] = {}
    for change in _list(entry.get("changes") if isinstance(entry, dict) else None):
        value = change.get("value") if isinstance(change, dict) else None
        metadata = value.get("metadata") if isinstance(value, dict) else None
        if isinstance(metadata, dict) and metadata.get("phone_number_id"):
            numbers[str(metadata["phone_number_id"])] = str(metadata.get("display_phone_number") or "")
    return numbers


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
    """Start with ``start()``; ``endpoint`` is the URL for ``AWS_ENDPOINT_URL_SOCIALMESSAGING``.

    ``statuses``: whether accepted messages (not read receipts) produce ``sent`` status events.
    ``clock``: the time status events carry (the local twin's virtual clock).
    """

    def __init__(
        self,
        *,
        statuses: bool = True,
        clock: Callable[[], float] = time.time,
        media_dir: Path | None = None,
    ) -> None:
        self.media_dir = media_dir
        """Where ``GetWhatsAppMessageMedia`` finds a message's media: ``<media_dir>/<mediaId>.<ext>``."""
        self.calls: list[dict[str, Any]] = []
        self.media_fetched: list[str] = []
        """The media ids ``GetWhatsAppMessageMedia`` copied into S3, in order."""
        self._media_files: dict[str, Path] = {}
        self.rejected: list[dict[str, Any]] = []
        self.reject_typing_indicator = False
        self.statuses = statuses
        """Queue a ``sent`` status event for every accepted message that is not a read receipt."""
        self.hold_statuses = False
        """Hold new status events back (``take_statuses`` does not return them) until ``release_statuses``."""
        self._clock = clock
        self._faults: deque[Fault] = deque()
        self._phone_numbers: dict[str, PhoneNumber] = {}
        self._ready: list[dict[str, Any]] = []
        self._held: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._accounts: dict[str, _BusinessAccount] = {}
        self.account_page_size = 100
        """The most accounts one ``ListLinkedWhatsAppBusinessAccounts`` answer holds (its maximum)."""
        self._server = _RestJsonServerWithQuery("socialmessaging", methods=True)
        self._server.route("POST /v1/whatsapp/send", self._send_operation)
        self._server.route("POST /v1/whatsapp/media/get", self._get_media_operation)
        self._server.route("GET /v1/whatsapp/waba/list", self._list_accounts_operation)
        self._server.route("GET /v1/whatsapp/waba/details", self._get_account_operation)
        self._server.route("PUT /v1/whatsapp/waba/eventdestinations", self._put_destinations_operation)

    # -- control --------------------------------------------------------------------------------------------

    def fail_next(
        self,
        code: str = "ThrottledRequestException",
        status: int = 429,
        times: int = 1,
        when: Callable[[dict[str, Any]], bool] | None = None,
        applied: bool = False,
    ) -> None:
        """Answer the next ``times`` calls (that match ``when``) with an error.

        ``applied=True`` makes the outcome ambiguous, as an internal error after the send can be: the message
        goes out (it is in ``calls`` and ``sent()``, its status event is queued) and the caller gets the
        error all the same. A message the service would reject anyway is rejected, not applied."""
        with self._lock:
            self._faults.extend(Fault(code, status, when, applied) for _ in range(times))

    def sent(self) -> list[dict[str, Any]]:
        """Decoded Meta messages of the accepted calls, in order."""
        with self._lock:
            return [call["message"] for call in self.calls]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
            self.media_fetched.clear()
            self.rejected.clear()
            self._faults.clear()
            self._ready.clear()
            self._held.clear()

    # -- phone numbers and status events --------------------------------------------------------------------

    def register_phone_number(self, phone: PhoneNumber) -> None:
        """Make status events of messages sent from this number carry its Meta id and ARN."""
        with self._lock:
            self._phone_numbers[phone.origination_id] = phone

    def learn_phone_numbers(self, envelope: Mapping[str, Any]) -> None:
        """Register the business numbers an inbound envelope names (the twin has no account to ask).

        Tolerant: what cannot be read is ignored; the envelope parser is the judge of envelopes."""
        context = envelope.get("context")
        if not isinstance(context, dict):
            return
        wabas = [w for w in _list(context.get("MetaWabaIds")) if isinstance(w, dict)]
        waba = wabas[0] if len(wabas) == 1 else {}
        displays = _display_numbers(envelope.get("whatsAppWebhookEntry"))
        for item in _list(context.get("MetaPhoneNumberIds")):
            if not isinstance(item, dict) or not isinstance(item.get("arn"), str):
                continue
            meta_id = str(item.get("metaPhoneNumberId") or "")
            if not meta_id:
                continue
            phone = PhoneNumber(arn=item["arn"], meta_phone_number_id=meta_id)
            if displays.get(meta_id):
                phone = dataclasses.replace(phone, display_phone_number=displays[meta_id])
            if isinstance(waba.get("wabaId"), str) and isinstance(waba.get("arn"), str):
                phone = dataclasses.replace(phone, waba_id=waba["wabaId"], waba_arn=waba["arn"])
            self.register_phone_number(phone)

    def take_statuses(self) -> list[dict[str, Any]]:
        """The status envelopes ready to be published, oldest first; they are handed over, not kept."""
        with self._lock:
            ready, self._ready = self._ready, []
            return ready

    def release_statuses(self, count: int | None = None) -> int:
        """Let the oldest ``count`` held status events (all by default) go out with the next
        ``take_statuses()``; returns how many. ``hold_statuses`` stays as it is: set it to False to stop
        holding new ones."""
        with self._lock:
            count = len(self._held) if count is None else max(0, count)
            released, self._held = self._held[:count], self._held[count:]
            self._ready.extend(released)
            return len(released)

    @property
    def held_statuses(self) -> list[dict[str, Any]]:
        """The status envelopes being held back, oldest first."""
        with self._lock:
            return list(self._held)

    def _queue_status(self, phone_number_id: str, message_id: str, message: dict[str, Any]) -> None:
        """Called with the lock held, for an accepted message."""
        if not self.statuses or "status" in message:
            return  # read receipts get no status of their own
        origination = _origination_id(phone_number_id)
        phone = self._phone_numbers.get(origination) or PhoneNumber(
            # A number the twin has not seen an envelope for: the local defaults, with its own ARN, which
            # is what the envelope parser routes by.
            arn=f"arn:aws:social-messaging:us-east-1:{envelopes.ACCOUNT}:"
            + origination.replace("phone-number-id-", "phone-number-id/", 1),
            meta_phone_number_id=envelopes.META_PHONE_NUMBER_ID,
        )
        envelope = sent_status_envelope(phone, message_id, message, self._clock())
        (self._held if self.hold_statuses else self._ready).append(envelope)

    # -- linked business accounts ---------------------------------------------------------------------------

    def add_business_account(
        self,
        account_id: str,
        name: str,
        phone_number_arns: tuple[str, ...] | list[str],
        event_destination: str | None = None,
    ) -> None:
        """Link a WhatsApp business account (``waba-...``) holding these phone numbers (replaces one of the
        same id)."""
        with self._lock:
            self._accounts[account_id] = _BusinessAccount(
                account_id, name, tuple(phone_number_arns), event_destination, self._clock()
            )

    def remove_business_account(self, account_id: str) -> None:
        """Unlink a business account (tests: an account set up otherwise)."""
        with self._lock:
            self._accounts.pop(account_id, None)

    def event_destination(self, account_id: str) -> str | None:
        """The account's event destination, as the service would publish to it."""
        with self._lock:
            return self._accounts[account_id].event_destination

    def _account(self, account_id: Any) -> _BusinessAccount | None:
        """Called with the lock held: an account by its id or its ARN."""
        if not isinstance(account_id, str):
            return None
        return self._accounts.get(account_id) or next(
            (a for a in self._accounts.values() if self._account_arn(a) == account_id), None
        )

    def _account_arn(self, account: _BusinessAccount) -> str:
        region = next(
            (arn.split(":")[3] for arn in account.phone_number_arns if arn.count(":") >= 5), "us-east-1"
        )
        return (
            f"arn:aws:social-messaging:{region}:{envelopes.ACCOUNT}:waba/"
            + account.account_id.removeprefix("waba-")
        )

    def _account_summary(self, account: _BusinessAccount) -> dict[str, Any]:
        return {
            "arn": self._account_arn(account),
            "id": account.account_id,
            "wabaId": str(int(hashlib.sha256(account.account_id.encode()).hexdigest()[:12], 16)),
            "registrationStatus": "COMPLETE",
            "linkDate": account.linked_at,
            "wabaName": account.name,
            "eventDestinations": (
                [{"eventDestinationArn": account.event_destination}] if account.event_destination else []
            ),
        }

    def _phone_summary(self, arn: str) -> dict[str, Any]:
        origination = _origination_id(arn)
        known = self._phone_numbers.get(origination)
        meta_id = (
            known.meta_phone_number_id
            if known
            else str(int(hashlib.sha256(arn.encode()).hexdigest()[:12], 16))
        )
        display = known.display_phone_number if known else "15550009999"
        return {
            "arn": arn,
            "phoneNumber": "+" + display,
            "phoneNumberId": origination,
            "metaPhoneNumberId": meta_id,
            "displayPhoneNumberName": "Event assistant",
            "displayPhoneNumber": display,
            "qualityRating": "GREEN",
        }

    def _list_accounts_operation(self, request: dict[str, Any], _: dict[str, str]) -> dict[str, Any]:
        """``ListLinkedWhatsAppBusinessAccounts``: summaries, a page at a time (the token is an offset)."""
        try:
            start = int(request.get("nextToken") or 0)
            size = min(int(request.get("maxResults") or self.account_page_size), self.account_page_size)
        except ValueError:
            raise ServiceError("ValidationException", 400, "invalid nextToken or maxResults") from None
        if start < 0 or size < 1:
            raise ServiceError("ValidationException", 400, "invalid nextToken or maxResults")
        with self._lock:
            accounts = list(self._accounts.values())
            page = [self._account_summary(a) for a in accounts[start : start + size]]
        answer: dict[str, Any] = {"linkedAccounts": page}
        if start + size < len(accounts):
            answer["nextToken"] = str(start + size)
        return answer

    def _get_account_operation(self, request: dict[str, Any], _: dict[str, str]) -> dict[str, Any]:
        """``GetLinkedWhatsAppBusinessAccount``: the summary and the account's phone numbers."""
        if not request.get("id"):
            raise ServiceError("ValidationException", 400, "id is required")
        with self._lock:
            account = self._account(request["id"])
            if account is None:
                raise ServiceError("ResourceNotFoundException", 404, "no such linked account")
            details = self._account_summary(account)
            details["phoneNumbers"] = [self._phone_summary(arn) for arn in account.phone_number_arns]
        return {"account": details}

    def _put_destinations_operation(self, request: dict[str, Any], _: dict[str, str]) -> dict[str, Any]:
        """``PutWhatsAppBusinessAccountEventDestinations``: the account's (only) destination, replaced."""
        destinations = request.get("eventDestinations")
        if not request.get("id") or not isinstance(destinations, list):
            raise ServiceError("ValidationException", 400, "id and eventDestinations are required")
        if len(destinations) > 1:
            raise ServiceError("ValidationException", 400, "at most one event destination")
        arns = [d.get("eventDestinationArn") if isinstance(d, dict) else None for d in destinations]
        if not all(isinstance(arn, str) and _EVENT_DESTINATION.fullmatch(arn) for arn in arns):
            raise ServiceError("ValidationException", 400, "eventDestinationArn is not an ARN")
        with self._lock:
            account = self._account(request["id"])
            if account is None:
                raise ServiceError("InvalidParametersException", 400, "no such linked account")
            account.event_destination = str(arns[0]) if arns else None
        return {}

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

    def _get_media_operation(self, request: dict[str, Any], _: dict[str, str]) -> dict[str, Any]:
        """``GetWhatsAppMessageMedia``: copy ``<media_dir>/<mediaId>.<ext>`` into S3 (moto, in this process)
        at ``key + mediaId + "." + ext``, as the service does; answer its type and size."""
        for field in ("mediaId", "originationPhoneNumberId"):
            if not request.get(field):
                raise ServiceError("ValidationException", 400, f"{field} is required")
        destination = request.get("destinationS3File")
        if not isinstance(destination, dict) or not destination.get("bucketName"):
            raise ServiceError("ValidationException", 400, "destinationS3File is required")
        media_id = str(request["mediaId"])
        found = self._media_file(media_id)
        if found is None:
            raise ServiceError("ResourceNotFoundException", 404, "media not found")
        with self._lock:
            fault = None
            if self._faults and self._faults[0].when is None:
                fault = self._faults.popleft()
            if fault is not None and not fault.applied:
                raise ServiceError(fault.code, fault.status, "injected fault")
        import boto3

        extension = found.suffix.lstrip(".").lower()
        boto3.client("s3").put_object(
            Bucket=str(destination["bucketName"]),
            Key=f"{destination.get('key') or ''}{media_id}.{extension}",
            Body=found.read_bytes(),
        )
        with self._lock:
            self.media_fetched.append(media_id)
        if fault is not None:
            raise ServiceError(fault.code, fault.status, "injected fault after the media was copied")
        return {
            "mimeType": _MIME_TYPES.get(extension, "application/octet-stream"),
            "fileSize": found.stat().st_size,
        }

    def add_media(self, media_id: str, path: Path) -> None:
        """Serve ``path`` as the media ``media_id`` (a voice note sent from ``chat``)."""
        with self._lock:
            self._media_files[media_id] = path

    def _media_file(self, media_id: str) -> Path | None:
        with self._lock:
            added = self._media_files.get(media_id)
        if added is not None:
            return added if added.is_file() else None
        if self.media_dir is None or not media_id.replace("-", "").replace("_", "").isalnum():
            return None
        matches = sorted(p for p in self.media_dir.glob(f"{media_id}.*") if p.is_file())
        return matches[0] if matches else None

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
        recipient = message.get("to") or message.get("recipient")
        message_id = new_outbound_wamid(recipient if isinstance(recipient, str) else None)
        with self._lock:
            fault = None
            if self._faults and (self._faults[0].when is None or self._faults[0].when(message)):
                fault = self._faults.popleft()
            try:
                if fault is not None and not fault.applied:
                    raise ServiceError(fault.code, fault.status, "injected fault")
                if self.reject_typing_indicator and "typing_indicator" in message:
                    raise ServiceError("ValidationException", 400, "typing_indicator is not supported")
                _validate_message(message)
            except ServiceError:
                self.rejected.append(record)
                raise
            record["messageId"] = message_id
            record["at"] = self._clock()
            self.calls.append(record)
            self._queue_status(phone, message_id, message)
        if fault is not None:
            # Applied, and the answer lost in an internal error: the caller cannot tell it went out.
            raise ServiceError(fault.code, fault.status, "injected fault after the message was sent")
        return message_id
