"""What powertools' Tracer adds to a cold start (the answer function's; the inbound function goes without).

    python benchmarks/tracer.py

Each measurement is a new Python process that has imported boto3 already (as every handler has), then
imports the Tracer and starts it with botocore patched, as handlers/answer.py does. Prints the median of 5.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

PROBE = """
import os, time
os.environ.setdefault("AWS_LAMBDA_FUNCTION_NAME", "benchmark")  # as in Lambda: the tracer is on
import boto3
started = time.perf_counter()
from aws_lambda_powertools import Tracer
Tracer(service="benchmark", patch_modules=("botocore",))
print(time.perf_counter() - started)
"""


def main() -> None:
    runs = [
        float(
            subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
        )
        for _ in range(5)
    ]
    print(f"Tracer import and start (botocore patched), median of 5: {statistics.median(runs):.3f} s")


if __name__ == "__main__":
    main()
