"""What every AWS adapter shares: client creation and the translation of botocore errors."""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from assistant.errors import Misconfigured, RejectedByService, RetryableError

# Throttling, in each service's spelling (ThrottledRequestException is socialmessaging's): it proves the
# request was not carried out.
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "ThrottledRequestException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "ThrottlingError",
        "KMSThrottlingException",
        "KMSThrottling",
    }
)

# Error codes a retry can mend, across the services used here.
RETRYABLE_CODES = THROTTLING_CODES | {
    "TransactionConflict",
    "TransactionConflictException",
    "TransactionInProgressException",
    "InternalServerError",
    "InternalServiceException",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "DependencyException",
    "ConflictException",
    "ServiceQuotaExceededException",
    "ModelTimeoutException",
    "ModelNotReadyException",
    "BadGatewayException",
    "DependencyFailedException",
}

AWS_ERRORS = (ClientError, BotoCoreError)
"""What a botocore call raises; adapters catch exactly these and translate them."""


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", "Unknown"))
    return type(exc).__name__


def translate(service: str, exc: Exception) -> Exception:
    """Map a botocore exception to this project's hierarchy (by code, never by message text)."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in RETRYABLE_CODES or status >= 500 or status == 429:
            return RetryableError(f"{service}: {code}")
        return RejectedByService(service, code)
    if isinstance(exc, ParamValidationError):
        # A request this code built wrong: no retry will mend it.
        return RejectedByService(service, "ParamValidationError")
    if isinstance(exc, BotoCoreError):
        # Connection errors, timeouts, credential refresh failures: all worth a retry.
        return RetryableError(f"{service}: {type(exc).__name__}")
    return exc


_CONFIGURATION_CODES = frozenset({"AccessDeniedException", "UnrecognizedClientException"})
_CONFIGURATION_WORDS = re.compile(
    r"model identifier|model id|on-demand throughput|inference profile|end of (its )?life|not enabled"
    r"|guardrail|knowledge ?base|not supported in (this|the) region|model access",
    re.IGNORECASE,
)
"""What Bedrock says when the deployment, not the question, is wrong. ``ValidationException`` and
``ResourceNotFoundException`` also mean a bad question or an expired session, so for those two the message
decides: a service's own wording, which never holds the question."""


def misconfiguration(service: str, exc: Exception) -> Misconfigured | None:
    """A ``Misconfigured`` when ``exc`` says the deployment is wrong (see ``errors.Misconfigured``)."""
    if not isinstance(exc, ClientError):
        return None
    code = error_code(exc)
    if code in _CONFIGURATION_CODES:
        return Misconfigured(service, code)
    message = str(exc.response.get("Error", {}).get("Message") or "")
    if code in ("ValidationException", "ResourceNotFoundException") and _CONFIGURATION_WORDS.search(message):
        return Misconfigured(service, code)
    return None


def may_have_taken_effect(exc: Exception) -> bool:
    """Whether a failed call may still have been applied: its request reached the service and the answer
    was lost (a read timeout, a dropped connection, a 5xx). Throttling, a 4xx and a connection that was
    never made prove that nothing happened."""
    from botocore.exceptions import (
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return status >= 500 and code not in THROTTLING_CODES
    if isinstance(exc, ConnectTimeoutError | EndpointConnectionError):
        return False
    return isinstance(exc, ReadTimeoutError | ConnectionClosedError)


def client(service: str, *, attempts: int = 3, read_timeout: float = 10, **kwargs: Any) -> Any:
    """A boto3 client with bounded retries. Created lazily, after configuration (moto-friendly)."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "total_max_attempts": attempts},
        connect_timeout=3,
        read_timeout=read_timeout,
    )
    return boto3.client(service, config=config, **kwargs)
