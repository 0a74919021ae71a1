"""Pipeline A's files in S3, as the REST API needs them: store an upload, check that an
object is Parquet, presign transfers and read the head of an output for a preview."""

from __future__ import annotations

import os
from typing import IO, Any

from botocore.exceptions import ClientError
from dagster import ConfigurableResource

from etl_platform.config import Settings
from etl_platform.core.parquet_jobs import NOT_PARQUET, parquet_magic_problem, preview_records, upload_key
from etl_platform.resources.connection import AwsConnection

PREVIEW_BYTES = 1024 * 1024  # records longer than this do not fit a preview


class JobFiles(ConfigurableResource):
    connection: AwsConnection
    input_bucket: str
    output_bucket: str
    upload_prefix: str
    expires_in: int

    @classmethod
    def from_settings(cls, settings: Settings) -> "JobFiles":
        return cls(connection=AwsConnection.from_settings(settings), input_bucket=settings.names.jobs_input_bucket,
                   output_bucket=settings.names.jobs_output_bucket, upload_prefix=settings.jobs.upload_prefix,
                   expires_in=settings.jobs.presigned_url_seconds)

    @property
    def _s3(self) -> Any:
        return self.connection.client("s3")

    def upload_key(self, job_id: str, file_name: str) -> str:
        return upload_key(self.upload_prefix, job_id, file_name)

    def input_uri(self, key: str) -> str:
        return f"s3://{self.input_bucket}/{key}"

    @staticmethod
    def size_of(stream: IO[bytes]) -> int:
        size = stream.seek(0, os.SEEK_END)
        stream.seek(0)
        return size

    def store(self, job_id: str, file_name: str, stream: IO[bytes]) -> str:
        key = self.upload_key(job_id, file_name)
        self._s3.upload_fileobj(stream, self.input_bucket, key)  # multipart above 8 MB
        return key

    def input_version(self, key: str, version_id: str | None = None) -> tuple[int, str] | None:
        """(size, version id) of `version_id` of the input, or of its current version; None
        if there is none. The version id is "null" in a bucket without versioning."""
        try:
            head = self._s3.head_object(Bucket=self.input_bucket, Key=key, **_version(version_id))
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NoSuchVersion", "NotFound"):
                return None
            raise
        return head["ContentLength"], head.get("VersionId") or "null"

    def _range(self, bucket: str, key: str, byte_range: str, version_id: str | None = None) -> bytes:
        return self._s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={byte_range}",
                                   **_version(version_id))["Body"].read()

    def parquet_problem(self, key: str, size: int, version_id: str | None = None) -> str | None:
        """Why the stored object is not convertible Parquet (`parquet_magic_problem`), or None."""
        if size < 4:
            return NOT_PARQUET
        head, tail = (self._range(self.input_bucket, key, r, version_id) for r in ("0-3", "-4"))
        return parquet_magic_problem(head, tail, size)

    def presigned_post(self, key: str, max_bytes: int) -> dict[str, Any]:
        """A browser-form upload of exactly `key`, at most `max_bytes` long: `{url, fields}`.

        A POST policy, not a presigned PUT: S3 itself refuses a file outside the policy's
        `content-length-range` (400 EntityTooLarge), whatever the client declared, and the
        signed policy pins the key. A presigned PUT can only sign one exact Content-Length,
        which the client would have to declare up front. POST the fields, then the file last.
        """
        return self._s3.generate_presigned_post(
            self.input_bucket, key, Conditions=[["content-length-range", 1, max_bytes]], ExpiresIn=self.expires_in)

    def presigned_get(self, key: str, file_name: str) -> str:
        return self._s3.generate_presigned_url("get_object", Params={
            "Bucket": self.output_bucket, "Key": key,
            "ResponseContentDisposition": f'attachment; filename="{file_name}"',
        }, ExpiresIn=self.expires_in)

    def preview(self, key: str, limit: int) -> list[dict[str, Any]]:
        try:
            response = self._s3.get_object(Bucket=self.output_bucket, Key=key, Range=f"bytes=0-{PREVIEW_BYTES - 1}")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "InvalidRange":  # an empty output: no records
                return []
            raise
        head = response["Body"].read()
        total = int(response.get("ContentRange", "/0").rsplit("/", 1)[-1] or 0) or len(head)
        return preview_records(head, limit, complete=len(head) >= total)


def _version(version_id: str | None) -> dict[str, str]:
    return {"VersionId": version_id} if version_id and version_id != "null" else {}
