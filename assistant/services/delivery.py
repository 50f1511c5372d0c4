"""Which reply parts went out: the callback data every reply part carries, and what proves a part sent.

WhatsApp has no idempotency key for sends, but it echoes a message's ``biz_opaque_callback_data`` in the
status events of that message (sent, delivered, read, failed). Each reply part is sent with
``<message key>.<part>``; a status event carrying it proves that part went out (docs/exactly-once.md).
"""

from __future__ import annotations

import re

_CALLBACK = re.compile(r"([0-9a-f]{32})\.(\d{1,2})")


def reply_callback(message_key: str, part: int) -> str:
    return f"{message_key}.{part}"


def parse_reply_callback(data: str | None) -> tuple[str, int] | None:
    """The (message key, part) a status event's callback data names, or None if it is not ours."""
    match = _CALLBACK.fullmatch(data or "")
    return (match.group(1), int(match.group(2))) if match else None


def sent_prefix(parts_sent: int, confirmed: set[int]) -> int:
    """Parts known to have gone out: those the sender recorded, then those status events proved, in order."""
    while parts_sent in confirmed:
        parts_sent += 1
    return parts_sent
