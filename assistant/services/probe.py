"""``assistant doctor``'s round trip through the pipeline: where a probe's messages go.

A probe is a synthetic message that the doctor publishes to the inbound topic (``models.domain.Probe``). It is
admitted, published, answered (Bedrock, the guardrail, the agenda: the real path) like any other; only its
outbound WhatsApp calls differ, decided here:

- every step is recorded in the conversation table under the probe's id (``ConversationStore.record_probe``),
  which the doctor reads back;
- a dry run sends nothing: the recording is the sink;
- a live run (``assistant doctor --round-trip --to NUMBER``) sends its replies to that number, unquoted and
  without a read receipt, since the message they would point at never existed. The probe's user is made up
  either way (``DOCTOR.<probe id>``): it never takes a real attendee's lease, rate window or conversation.

Probes are not counted in the organizers' figures.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from assistant.errors import AssistantError
from assistant.models.domain import Route
from assistant.ports import ConversationStore, Messenger, Recipient

logger = Logger(child=True)


class ProbeMessenger:
    """A ``Messenger`` for one probe: records each call, and forwards replies only in a live run."""

    def __init__(
        self, store: ConversationStore, probe_id: str, forward: Messenger | None, to: str | None = None
    ) -> None:
        self._store = store
        self._probe_id = probe_id
        self._forward = forward if to else None
        self._to = to

    def mark_read(self, route: Route, message_id: str, *, typing: bool) -> None:
        self._store.record_probe(self._probe_id, "read", "typing" if typing else "")

    def send_text(
        self,
        route: Route,
        recipient: Recipient,
        body: str,
        *,
        quote: str | None = None,
        callback_data: str | None = None,
    ) -> str:
        message_id = f"probe-{self._probe_id}"
        if self._forward is None:
            self._store.record_probe(self._probe_id, "reply", str(len(body)))
            return message_id
        message_id = self._forward.send_text(
            route, Recipient(wa_id=self._to, user_id=None), body, callback_data=callback_data
        )
        try:
            self._store.record_probe(self._probe_id, "reply", str(len(body)))
        except AssistantError:
            # Sent: failing now would make the retry send it again. The doctor sees "answered" anyway.
            logger.warning("could not record the probe's reply")
        return message_id


def messenger_for(
    store: ConversationStore, messenger: Messenger, probe_id: str | None, *, to: str | None
) -> Messenger:
    """The messenger a message's outbound calls go through: the real one, or its probe's (``to``: a live
    run's recipient)."""
    if probe_id is None:
        return messenger
    return ProbeMessenger(store, probe_id, messenger, to)
