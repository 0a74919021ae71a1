"""Pipeline A's jobs table (`etl-pipeline-jobs`): one item per conversion job.

Status moves PENDING -> RUNNING -> COMPLETED | FAILED, and FAILED -> RUNNING when a failed
job is run again. Every transition is a conditional write, so two runs of one job cannot
both start it and a COMPLETED job never goes back: a refused transition returns None.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from etl_platform.core.parquet_jobs import (
    COMPLETED, FAILED, PENDING, RUNNING, decode_page_token, encode_page_token, now_iso,
)
from etl_platform.resources.dynamodb import DynamoTable, deserialize_item, serialize_item

KEY = "jobId"
MAX_ERROR_CHARS = 2000


class JobsTable(DynamoTable):
    status_index: str = Field(description="GSI on status (hash) and createdAt (range)")

    def create_job(self, job_id: str, *, file_name: str, input_key: str) -> bool:
        """A PENDING job; False if the id exists already (the sensor asks again on retries)."""
        now = now_iso()
        return self.put_if_absent({
            KEY: job_id, "fileName": file_name, "status": PENDING, "createdAt": now, "updatedAt": now,
            "inputS3Key": input_key,
        }, KEY)

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        return self.get({KEY: job_id})

    def mark_running(self, job_id: str) -> dict[str, Any] | None:
        return self._move(job_id, (PENDING, FAILED), RUNNING, {"errorMessage": None, "startedAt": now_iso()})

    def mark_completed(self, job_id: str, *, processing_time: float, output_key: str) -> dict[str, Any] | None:
        return self._move(job_id, (RUNNING,), COMPLETED, {
            "processingTime": round(processing_time, 3), "outputS3Key": output_key, "errorMessage": None,
        })

    def mark_failed(self, job_id: str, error: str) -> dict[str, Any] | None:
        return self._move(job_id, (PENDING, RUNNING), FAILED, {"errorMessage": error[:MAX_ERROR_CHARS]})

    def _move(self, job_id: str, allowed: tuple[str, ...], status: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        placeholders = {f":from{i}": value for i, value in enumerate(allowed)}
        return self.update(
            {KEY: job_id}, {"status": status, "updatedAt": now_iso(), **changes},
            condition=f"attribute_exists(#key) AND #status IN ({', '.join(placeholders)})",
            names={"#key": KEY, "#status": "status"}, values=placeholders,
        )

    def list_jobs(self, *, status: str | None = None, limit: int = 50,
                  next_token: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of jobs and the token of the next (None at the end). With `status`, the
        GSI gives them newest first; without, a Scan gives them in table order."""
        arguments: dict[str, Any] = {"TableName": self.table_name, "Limit": limit}
        start = decode_page_token(next_token)
        if start:
            arguments["ExclusiveStartKey"] = start
        if status is None:
            response = self._client.scan(**arguments)
        else:
            response = self._client.query(
                **arguments, IndexName=self.status_index, ScanIndexForward=False,
                KeyConditionExpression="#status = :status", ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=serialize_item({":status": status}),
            )
        jobs = [deserialize_item(item) for item in response["Items"]]
        return jobs, encode_page_token(response.get("LastEvaluatedKey"))
