"""Faults for the local twin: a call that takes effect and then times out, and a worker that dies.

- ``ambiguous(...)``: botocore sends the request (moto or a stand-in applies it), then the caller sees a
  ``ReadTimeoutError`` as if the response had been lost; botocore's own retry, if the client has one
  left, sends the same request again. That is the case every retry in this project must recognise.
- ``failing(...)``: the call fails without taking effect (a 500 from the service), every botocore attempt.
- ``refusing(...)``: the service refuses the call with an error code, message and status of your choosing
  (an ``AccessDeniedException`` for a model not enabled, a ``ThrottlingException``), without taking effect.
- ``throttling(...)``: the service turns an HTTP attempt away with a throttling error, without taking effect;
  botocore's retry policy (the client's own) applies, as on AWS.
- Each rule fires on its first ``times`` matching calls, or, with ``rate``, on each matching call with that
  probability (the plan's seeded ``random``): ``assistant loadtest --fault KIND=RATE``.
- ``crash_before(...)`` / ``crash_after(...)``: raise ``SimulatedCrash`` (a ``BaseException``: no
  ``except Exception`` catches it) at a chosen call, before or after it takes effect, as if the Lambda
  process died on that line. The local poller treats it like a dead invocation: nothing of the batch is
  deleted, and its records come back after the queue's visibility timeout.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from random import Random
from typing import Any

Match = Callable[[str, str, dict[str, Any]], bool]
"""(service, operation, params) -> whether this call takes the fault."""


class SimulatedCrash(BaseException):
    """The process died here."""


@dataclass
class _Rule:
    match: Match
    times: int
    kind: str  # "ambiguous" | "fail" | "refuse" | "throttle" | "crash_before" | "crash_after"
    hits: int = 0
    error: tuple[str, str, int] = ("", "", 400)
    """(code, message, HTTP status) of a ``refuse`` rule."""
    rate: float | None = None
    """When set, the rule fires on each matching call with this probability (``times`` is then a cap)."""


@dataclass
class FaultPlan:
    """The active rules; a rule fires on the first ``times`` matching calls."""

    rules: list[_Rule] = field(default_factory=list)
    fired: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    random: Random = field(default_factory=lambda: Random(0))
    """Draws for rules with a ``rate`` (seeded: a run can be repeated)."""

    def take(self, service: str, operation: str, params: dict[str, Any], kinds: tuple[str, ...]) -> str:
        rule = self.rule(service, operation, params, kinds)
        return rule.kind if rule is not None else ""

    def rule(
        self, service: str, operation: str, params: dict[str, Any], kinds: tuple[str, ...]
    ) -> _Rule | None:
        with self.lock:
            for rule in self.rules:
                if rule.kind in kinds and rule.hits < rule.times and rule.match(service, operation, params):
                    if rule.rate is not None and self.random.random() >= rule.rate:
                        continue
                    rule.hits += 1
                    self.fired.append((rule.kind, service, operation))
                    return rule
        return None


class _Body:
    """The raw body of a made-up HTTP response, as botocore reads one (``stream()``)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        yield self._data


def call(service: str, operation: str, when: Callable[[dict[str, Any]], bool] | None = None) -> Match:
    """Match calls of one operation (``"dynamodb", "TransactWriteItems"``), optionally by parameters."""

    def match(svc: str, op: str, params: dict[str, Any]) -> bool:
        return svc == service and op == operation and (when is None or when(params))

    return match


@contextlib.contextmanager
def injected(plan: FaultPlan) -> Iterator[FaultPlan]:
    """Install the plan into botocore for the duration (every client, created before or after)."""
    from botocore import endpoint
    from botocore.awsrequest import AWSResponse
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError, ReadTimeoutError

    original_call = BaseClient._make_api_call
    original_get = endpoint.Endpoint._do_get_response
    local = threading.local()

    def make_api_call(self: Any, operation: str, params: dict[str, Any]) -> Any:
        service = self.meta.service_model.service_name
        if plan.take(service, operation, params, ("crash_before",)):
            raise SimulatedCrash(f"{service}.{operation} (before)")
        if plan.take(service, operation, params, ("fail",)):
            raise ClientError(
                {
                    "Error": {"Code": "InternalServerError", "Message": "injected"},
                    "ResponseMetadata": {"HTTPStatusCode": 500},
                },
                operation,
            )
        refusal = plan.rule(service, operation, params, ("refuse",))
        if refusal is not None:
            code, message, status = refusal.error
            raise ClientError(
                {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
                operation,
            )
        local.current = (service, operation, params)
        try:
            result = original_call(self, operation, params)
        finally:
            local.current = None
        if plan.take(service, operation, params, ("crash_after",)):
            raise SimulatedCrash(f"{service}.{operation} (after)")
        return result

    def do_get_response(self: Any, request: Any, operation_model: Any, context: Any) -> Any:
        current = getattr(local, "current", None)
        if current is not None:
            service, operation, params = current
            throttle = plan.rule(service, operation, params, ("throttle",))
            if throttle is not None:
                # The service turns this attempt away: nothing applied, and botocore's retry policy (the
                # client's own) decides whether to try again, as it would on AWS.
                code, message, status = throttle.error
                body = json.dumps({"__type": code, "message": message}).encode()
                raw = AWSResponse(str(request.url), status, {"x-amzn-ErrorType": code}, _Body(body))
                parsed = {
                    "Error": {"Code": code, "Message": message},
                    "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0},
                }
                return (raw, parsed), None
        response, exception = original_get(self, request, operation_model, context)
        if exception is None and response is not None and current is not None:
            service, operation, params = current
            if response[0].status_code < 300 and plan.take(service, operation, params, ("ambiguous",)):
                # The request took effect; its answer is lost on the way back.
                return None, ReadTimeoutError(endpoint_url=str(request.url))
        return response, exception

    BaseClient._make_api_call = make_api_call
    endpoint.Endpoint._do_get_response = do_get_response
    try:
        yield plan
    finally:
        BaseClient._make_api_call = original_call
        endpoint.Endpoint._do_get_response = original_get


UNLIMITED = 2**62
"""``times`` of a rule that fires by its ``rate`` alone."""


def ambiguous(match: Match, times: int = 1, *, rate: float | None = None) -> _Rule:
    return _Rule(match, times, "ambiguous", rate=rate)


def failing(match: Match, times: int = 1, *, rate: float | None = None) -> _Rule:
    return _Rule(match, times, "fail", rate=rate)


def refusing(
    match: Match,
    code: str,
    message: str = "",
    times: int = 1,
    *,
    status: int = 400,
    rate: float | None = None,
) -> _Rule:
    return _Rule(match, times, "refuse", error=(code, message, status), rate=rate)


def throttling(
    match: Match,
    code: str,
    message: str = "",
    times: int = 1,
    *,
    status: int = 400,
    rate: float | None = None,
) -> _Rule:
    """The service turns the call away (each HTTP attempt draws again), without taking effect; botocore's
    retries, where the client has them, try again as they would on AWS."""
    return _Rule(match, times, "throttle", error=(code, message, status), rate=rate)


def crash_before(match: Match, times: int = 1, *, rate: float | None = None) -> _Rule:
    return _Rule(match, times, "crash_before", rate=rate)


def crash_after(match: Match, times: int = 1, *, rate: float | None = None) -> _Rule:
    return _Rule(match, times, "crash_after", rate=rate)
