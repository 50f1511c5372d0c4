"""``assistant doctor``'s round trip through the pipeline: where a probe's messages go.

A probe is a synthetic message that the doctor publishes to the inbound topic (``models.domain.Probe``). It is
admitted, published, answered (Bedrock, the guardrail, the agenda: the real path) like any other; only its
outbound WhatsApp calls differ, decided here:

- every step is recorded in the conversation table under the probe's id (``ConversationStore.record_probe``),
  which the doctor reads back;
- a dry run sends nothing: the recording is the sink;
- a live run (``assistant doctor --round-trip --to NUMBER``) sends its replies to that number, unquoted and
  without a read receipt, since the message they would point at never existed.

Probes are not counted in the organizers' figures.
"""

from __future__ import annotations

from assistant.models.domain import Route
from assistant.ports import ConversationStore, Messenger, Recipient


class ProbeMessenger:
    """A ``Messenger`` for one probe: records each call, and forwards replies only in a live run."""

    def __init__(self, store: ConversationStore, probe_id: str, forward: Messenger | None) -> None:
        self._store = store
        self._probe_id = probe_id
        self._forward = forward

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
        if self._forward is not None:
            message_id = self._forward.send_text(route, recipient, body, callback_data=callback_data)
        self._store.record_probe(self._probe_id, "reply", str(len(body)))
        return message_id


def messenger_for(
    store: ConversationStore, messenger: Messenger, probe_id: str | None, *, dry_run: bool
) -> Messenger:
    """The messenger a message's outbound calls go through: the real one, or its probe's."""
    if probe_id is None:
        return messenger
    return ProbeMessenger(store, probe_id, None if dry_run else messenger)
