"""SocialMessagingMessenger: what a failed send means, and when typing indicators are switched off."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

from assistant.adapters.socialmessaging import TYPING_REFUSALS, TYPING_RETRY_SECONDS, SocialMessagingMessenger
from assistant.errors import AmbiguousOutcome, RejectedByService, RetryableError
from assistant.models.domain import Route
from assistant.ports import Recipient

ROUTE = Route("phone-number-id-1", "1")


def error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Send")


class Client:
    """Answers each send with the next scripted outcome (an exception to raise, or None for success)."""

    def __init__(self) -> None:
        self.script: list[Exception | None] = []
        self.refuse_typing = False
        self.sent: list[dict[str, Any]] = []

    def send_whatsapp_message(self, **kwargs: Any) -> dict[str, str]:
        message = json.loads(kwargs["message"])
        if self.script and (outcome := self.script.pop(0)) is not None:
            raise outcome
        if self.refuse_typing and "typing_indicator" in message:
            raise error("ValidationException", 400)
        self.sent.append(message)
        return {"messageId": "m"}


class Clock:
    def __init__(self) -> None:
        self.at = 0.0

    def __call__(self) -> float:
        return self.at


def messenger(client: Client, clock: Clock | None = None) -> SocialMessagingMessenger:
    return SocialMessagingMessenger(client, "v20.0", sleep=lambda s: None, monotonic=clock or Clock())


@pytest.mark.parametrize(
    "failure",
    [ReadTimeoutError(endpoint_url="x"), error("InternalServerException", 500)],
)
def test_a_send_that_may_have_gone_out_is_ambiguous(failure: Exception) -> None:
    client = Client()
    client.script = [failure]
    with pytest.raises(AmbiguousOutcome):
        messenger(client).send_text(ROUTE, Recipient("1555", None), "hi")
    assert client.script == []  # and it was not sent again blindly


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (ConnectTimeoutError(endpoint_url="x"), RetryableError),
        (error("ThrottledRequestException", 429), RetryableError),
        (error("ValidationException", 400), RejectedByService),
    ],
)
def test_a_send_that_surely_did_not_go_out_is_not_ambiguous(failure: Exception, kind: type) -> None:
    client = Client()
    client.script = [failure] * 3
    with pytest.raises(kind) as raised:
        messenger(client).send_text(ROUTE, Recipient("1555", None), "hi")
    assert not isinstance(raised.value, AmbiguousOutcome)


def test_typing_is_switched_off_only_after_refusals_in_a_row_and_only_for_a_while() -> None:
    client, clock = Client(), Clock()
    subject = messenger(client, clock)
    client.refuse_typing = True
    for n in range(TYPING_REFUSALS - 1):
        subject.mark_read(ROUTE, f"wamid.{n}", typing=True)
        assert subject.typing_supported  # a refusal or two may be passing
    subject.mark_read(ROUTE, "wamid.last", typing=True)
    assert not subject.typing_supported
    assert all("typing_indicator" not in m for m in client.sent)  # every message still marked read
    assert len(client.sent) == TYPING_REFUSALS
    clock.at += TYPING_RETRY_SECONDS
    assert subject.typing_supported  # tried again later


def test_a_refusal_of_the_receipt_itself_does_not_switch_typing_off() -> None:
    client = Client()
    subject = messenger(client)
    for _ in range(TYPING_REFUSALS + 1):
        client.script = [error("ValidationException", 400), error("ValidationException", 400)]
        with pytest.raises(RejectedByService):
            subject.mark_read(ROUTE, "wamid.bad", typing=True)  # a bad message id fails both
    assert subject.typing_supported


def test_a_success_in_between_resets_the_count_of_refusals() -> None:
    client = Client()
    subject = messenger(client)
    for _ in range(3 * TYPING_REFUSALS):
        client.script = [error("ValidationException", 400)]  # refused once, then the plain receipt
        subject.mark_read(ROUTE, "wamid.x", typing=True)
        subject.mark_read(ROUTE, "wamid.y", typing=True)  # and accepted with typing
    assert subject.typing_supported
