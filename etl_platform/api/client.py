"""A small client of the jobs REST API, for `etl-platform jobs ...`.

The CLI goes through the API, never to S3 or DynamoDB directly, so it needs no AWS
credentials and sees exactly what the web page sees. Uploads take the presigned-POST path:
the file streams from disk to S3, which refuses it if it is over the API's limit
(ETL_MAX_UPLOAD_BYTES, in the signed policy); the size is also declared up front, so an
oversized file is refused before any byte is sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from etl_platform.core.parquet_jobs import parquet_stream_problem


class ApiError(Exception):
    """What the API answered (`status` 0: it did not answer)."""

    def __init__(self, status: int, detail: Any):
        super().__init__(f"HTTP {status}: {detail}" if status else str(detail))
        self.status, self.detail = status, detail


def s3_error(body: str) -> str:
    """`Code: Message` of an S3 XML error (what S3 answers a refused form upload)."""
    def element(name: str) -> str:
        return body.split(f"<{name}>", 1)[1].split(f"</{name}>", 1)[0] if f"<{name}>" in body else ""

    code, message = element("Code"), element("Message")
    return f"{code}: {message}" if code else body[:500]


class JobsClient:
    def __init__(self, base_url: str, timeout: float = 60.0):
        self._http = httpx.Client(base_url=base_url, timeout=timeout)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(0, f"the jobs API does not answer at {str(self._http.base_url).rstrip('/')} ({exc}): "
                              "start it with `make up` (or `etl-platform api`)") from exc
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise ApiError(response.status_code, detail)
        return response.json()

    def upload(self, path: Path, *, trigger: bool = False) -> dict[str, Any]:
        size = path.stat().st_size
        with path.open("rb") as stream:
            problem = parquet_stream_problem(stream, size)
            if problem:
                raise ApiError(400, f"{path} is {problem}")
        job = self._call("POST", "/uploads/presign", json={"fileName": path.name, "fileSize": size})
        with path.open("rb") as stream:
            # httpx streams a file part and sends the body's length up front (S3 refuses chunked
            # uploads); the policy's fields come first, the file last, as S3 requires.
            post = httpx.post(job["uploadUrl"], data=job["fields"],
                              files={"file": (path.name, stream, "application/octet-stream")}, timeout=None)
        if post.status_code >= 300:
            raise ApiError(post.status_code, f"upload to S3 refused: {s3_error(post.text)}")
        result = {"jobId": job["jobId"], "status": "PENDING", "message": "uploaded"}
        if trigger:
            result = self.trigger(job["jobId"])
        return result

    def trigger(self, job_id: str) -> dict[str, Any]:
        return self._call("POST", "/trigger-job", json={"jobId": job_id})

    def status(self, job_id: str) -> dict[str, Any]:
        return self._call("GET", f"/job-status/{job_id}")

    def list(self, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Every job (all pages), newest first within each page."""
        jobs, token = [], None
        while True:
            params = {"limit": limit, **({"status": status} if status else {}), **({"nextToken": token} if token else {})}
            page = self._call("GET", "/jobs", params=params)
            jobs += page["jobs"]
            token = page.get("nextToken")
            if not token:
                return jobs

    def download(self, job_id: str, target: Path) -> dict[str, Any]:
        link = self._call("GET", f"/download/{job_id}")
        with httpx.stream("GET", link["downloadUrl"], timeout=None) as response:
            if response.status_code >= 300:
                raise ApiError(response.status_code, f"download failed: {response.read()[:500]!r}")
            with target.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
        return link
