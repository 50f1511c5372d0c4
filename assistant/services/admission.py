"""The admission rule: what one inbound message gets, decided from what the store holds. Pure: no I/O.

Both conversation stores (DynamoDB, and the in-memory fake) read the state, call ``decide``, and write the
effects it names; the DynamoDB store first tries the common case (new message, rate under the limit, user
free, conversation within budget) as one conditional transaction whose conditions are exactly that case's
preconditions, and calls ``decide`` on the old values DynamoDB returns when a condition fails.

Precedence, first match wins:
1. The message's marker exists.
   - Written by this very attempt (a retry of a write whose answer was lost): the decision it recorded.
   - Finished (answered, being answered, replied, or needing no reply), or its attempt is still alive:
     DUPLICATE.
   - Its attempt died before finishing (crash, timeout): RESUME that attempt's recorded decision.
2. Over the rate limit in the current window: RATE_LIMITED (only the first one over is told).
3. A question while another message of the user holds a live lease: BUSY.
4. Otherwise ACCEPTED; a question takes the lease, and starts a new conversation when the old one is idle
   past its time or over its budget (the user is told only when it was not idle).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from assistant.ports import Admission, AdmissionRequest, Outcome


@dataclass(frozen=True, slots=True)
class AdmissionLimits:
    lease_seconds: int
    rate_limit: int
    rate_window_seconds: int
    conversation_max_messages: int
    conversation_max_chars: int
    conversation_idle_seconds: int
    dedupe_ttl_seconds: int
    attempt_seconds: int
    """How long an inbound attempt owns a message: the inbound function's timeout plus a margin. After
    that, a redelivery may resume what the attempt left unfinished."""


@dataclass(frozen=True, slots=True)
class MarkerState:
    """The duplicate marker of one message, as stored."""

    attempt: str
    attempt_until: int
    outcome: Outcome
    first_over_limit: bool = False
    conversation_reset: bool = False
    finished: bool = False
    """Answered, claimed by the answer stage, its static reply recorded as sent, or needing no reply."""
    reply_confirmed: bool = False
    """A status event proved that the reply (part 0) went out."""


@dataclass(frozen=True, slots=True)
class UserState:
    lease_owner: str | None = None
    lease_until: int = 0
    conv_msgs: int = 0
    conv_chars: int = 0
    conv_until: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    admission: Admission
    write_marker: bool = False
    """Create the marker (recording ``admission``) with this attempt as its owner."""
    take_over: bool = False
    """Make this attempt the owner of an existing, abandoned marker (condition: the old owner)."""
    count_rate: bool = False
    user: UserState | None = None
    """The user's new state (lease taken, conversation counted), or None to leave it."""
    new_conversation: bool = False
    """The user's conversation starts afresh: the answer engine's session is dropped."""


def needs_reply(outcome: Outcome, first_over_limit: bool) -> bool:
    """Whether an admitted outcome sends the user anything (a question's answer comes from the answer
    stage; every other outcome but a quiet rate limit sends a static reply)."""
    return not (outcome is Outcome.RATE_LIMITED and not first_over_limit)


def decide(
    request: AdmissionRequest,
    marker: MarkerState | None,
    user: UserState,
    rate_count: int,
    now: int,
    limits: AdmissionLimits,
) -> Decision:
    if marker is not None:
        recorded = Admission(
            marker.outcome,
            conversation_reset=marker.conversation_reset,
            first_over_limit=marker.first_over_limit,
            reply_sent=marker.reply_confirmed,
        )
        if marker.attempt == request.attempt:
            return Decision(recorded)
        if marker.finished or marker.attempt_until >= now:
            return Decision(Admission(Outcome.DUPLICATE))
        return Decision(replace(recorded, resumed=True), take_over=True)

    if rate_count >= limits.rate_limit:
        first = rate_count == limits.rate_limit
        return Decision(
            Admission(Outcome.RATE_LIMITED, first_over_limit=first), write_marker=True, count_rate=True
        )
    lease_held = user.lease_owner not in (None, request.message_key) and user.lease_until >= now
    if request.take_lease and lease_held:
        return Decision(Admission(Outcome.BUSY), write_marker=True, count_rate=True)
    if not request.take_lease:
        return Decision(Admission(Outcome.ACCEPTED), write_marker=True, count_rate=True)

    within_budget = user.conv_msgs == 0 or (
        user.conv_until >= now
        and user.conv_msgs < limits.conversation_max_messages
        and user.conv_chars + request.chars <= limits.conversation_max_chars
    )
    if within_budget:
        msgs, chars = user.conv_msgs, user.conv_chars
    else:
        msgs, chars = 0, 0
    # Told only when the conversation was cut short, not when it simply went idle.
    told = not within_budget and user.conv_until >= now
    return Decision(
        Admission(Outcome.ACCEPTED, conversation_reset=told),
        write_marker=True,
        count_rate=True,
        user=UserState(
            lease_owner=request.message_key,
            lease_until=now + limits.lease_seconds,
            conv_msgs=msgs + 1,
            conv_chars=chars + request.chars,
            conv_until=now + limits.conversation_idle_seconds,
        ),
        new_conversation=not within_budget,
    )
