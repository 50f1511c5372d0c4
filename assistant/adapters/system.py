"""Clock, keyed hasher and metrics: the small adapters every function uses."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from assistant.adapters.aws import AWS_ERRORS, translate


class SystemClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class HmacHasher:
    """HMAC-SHA256, hex, 128 bits: a bare SHA-256 of a phone number is reversible by enumeration."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the HMAC key must be at least 16 bytes")
        self._key = key

    def key(self, *parts: str) -> str:
        # "surrogatepass": total and injective over every str, where the default encoding raises on a lone
        # surrogate; identical bytes (so identical keys) for every str without one. The envelope parser
        # already cleans the ids it returns (an id goes back to WhatsApp, so it must be valid UTF-8); this
        # keeps the hasher from being the one that crashes should any other caller hand it such a str.
        data = "\x1f".join(parts).encode("utf-8", "surrogatepass")
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()[:32]


def load_hash_key(secrets_client: Any, secret_id: str) -> bytes:
    """The HMAC key, from a Secrets Manager secret (read once per container, at cold start)."""
    try:
        response = secrets_client.get_secret_value(SecretId=secret_id)
    except AWS_ERRORS as exc:
        raise translate("secretsmanager", exc) from None
    return str(response["SecretString"]).encode()


class PowertoolsMetrics:
    """Counts as CloudWatch EMF through powertools; flushed by the handler's ``log_metrics``."""

    def __init__(self, namespace: str, service: str) -> None:
        from aws_lambda_powertools import Metrics

        self._metrics = Metrics(namespace=namespace, service=service)
        self._namespace = namespace
        self._service = service

    def count(self, name: str, value: int = 1, **dimensions: str) -> None:
        self._add(name, "Count", value, dimensions)

    def measure(self, name: str, value: float, unit: str = "Seconds", **dimensions: str) -> None:
        self._add(name, unit, value, dimensions)

    def _add(self, name: str, unit: str, value: float, dimensions: dict[str, str]) -> None:
        from aws_lambda_powertools.metrics import MetricUnit, single_metric

        metric_unit = MetricUnit(unit)
        if not dimensions:
            self._metrics.add_metric(name=name, unit=metric_unit, value=value)
            return
        with single_metric(
            name=name,
            unit=metric_unit,
            value=value,
            namespace=self._namespace,
            default_dimensions={"service": self._service},
        ) as metric:
            for key, dim in dimensions.items():
                metric.add_dimension(name=key, value=dim)
