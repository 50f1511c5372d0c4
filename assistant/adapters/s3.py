"""S3MediaBucket: the media bucket voice notes pass through (the ``MediaBucket`` port)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.adapters.aws import AWS_ERRORS, translate


class S3MediaBucket:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def download(self, key: str, path: Path) -> None:
        try:
            body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"]
            with path.open("wb") as out:
                for chunk in body.iter_chunks(1 << 20):
                    out.write(chunk)
        except AWS_ERRORS as exc:
            raise translate("s3", exc) from None

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix`` (a voice note's: a handful at most)."""
        deleted = 0
        try:
            while True:
                listed = self._client.list_objects_v2(Bucket=self._bucket, Prefix=prefix)
                keys = [{"Key": item["Key"]} for item in listed.get("Contents", [])]
                if not keys:
                    return deleted
                self._client.delete_objects(Bucket=self._bucket, Delete={"Objects": keys, "Quiet": True})
                deleted += len(keys)
                if not listed.get("IsTruncated"):
                    return deleted
        except AWS_ERRORS as exc:
            raise translate("s3", exc) from None
