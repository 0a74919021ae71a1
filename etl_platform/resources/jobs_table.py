"""Pipeline A's jobs table (`etl-pipeline-jobs`): one item per conversion job.

Status moves PENDING -> RUNNING -> COMPLETED | FAILED, and FAILED -> RUNNING when a failed
job is run again. Every transition is a conditional write, so two runs of one job cannot
both start it and a COMPLETED job never goes back: a refused transition returns None.
A launch is claimed the same way before a run is launched, so two triggers racing on one
job launch one run, not one that converts and one that fails.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

from botocore.exceptions import ClientError
from pydantic import Field

from etl_platform.core.job_listing import decode_page_token, encode_page_token
from etl_platform.core.parquet_jobs import COMPLETED, FAILED, PENDING, RUNNING, now_iso
from etl_platform.core.timestamps import iso_utc
from etl_platform.resources.dynamodb import DynamoTable, deserialize_item, serialize_item

KEY = "jobId"
MAX_ERROR_CHARS = 2000
# A launched run that has not started the job after this long (queued behind a stopped
# daemon, or lost) no longer blocks a new trigger.
LAUNCH_CLAIM_SECONDS = 600
LAUNCH_CLAIM = "launchRequestedAt"
INPUT_VERSION = "inputVersionId"
RUN_ID = "runId"  # the Dagster run that moved the job RUNNING
LAUNCH_RUN_ID = "launchRunId"  # the Dagster run a trigger launched, before it moves the job RUNNING


def launch_in_flight(job: dict[str, Any], now: float | None = None) -> bool:
    """Whether a trigger launched this job's run and it has not started it yet (the claim
    `claim_launch` holds): the job waits for its run, and a new trigger is refused."""
    requested = job.get(LAUNCH_CLAIM)
    now = time.time() if now is None else now
    return (job.get("status") in (PENDING, FAILED) and isinstance(requested, str)
            and requested >= iso_utc(now - LAUNCH_CLAIM_SECONDS, digits=3))


class JobsTable(DynamoTable):
    status_index: str = Field(description="GSI on status (hash) and createdAt (range)")

    def create_job(self, job_id: str, *, file_name: str, input_key: str, input_version: str = "") -> bool:
        """A PENDING job; False if the id exists already (the sensor asks again on retries).
        `input_version`: the object version to convert, when the creator knows it."""
        now = now_iso()
        return self.put_if_absent({
            KEY: job_id, "fileName": file_name, "status": PENDING, "createdAt": now, "updatedAt": now,
            "inputS3Key": input_key, **({INPUT_VERSION: input_version} if input_version else {}),
        }, KEY)

    def pin_input_version(self, job_id: str, version_id: str) -> str:
        """Record the input version a job converts, unless one is recorded already; the
        version the job converts from now on (every retry and re-run reads the same one)."""
        pinned = self.update({KEY: job_id}, {INPUT_VERSION: version_id},
                             condition="attribute_exists(#key) AND attribute_not_exists(#version)",
                             names={"#key": KEY, "#version": INPUT_VERSION})
        return version_id if pinned is not None else self.get_job(job_id)[INPUT_VERSION]

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        return self.get({KEY: job_id})

    def claim_launch(self, job_id: str, now: float | None = None) -> dict[str, Any] | None:
        """Mark a PENDING or FAILED job as being launched, unless another launch holds it (a
        claim lasts until the run starts or fails the job, at most LAUNCH_CLAIM_SECONDS);
        the job, or None if refused."""
        now = time.time() if now is None else now
        return self.update(
            {KEY: job_id}, {LAUNCH_CLAIM: iso_utc(now, digits=3)}, remove=(LAUNCH_RUN_ID,),
            condition="attribute_exists(#key) AND #status IN (:pending, :failed)"
                      " AND (attribute_not_exists(#launch) OR #launch < :expired)",
            names={"#key": KEY, "#status": "status", "#launch": LAUNCH_CLAIM},
            values={":pending": PENDING, ":failed": FAILED, ":expired": iso_utc(now - LAUNCH_CLAIM_SECONDS, digits=3)},
        )

    def record_launch(self, job_id: str, run_id: str) -> None:
        self.update({KEY: job_id}, {LAUNCH_RUN_ID: run_id}, condition="attribute_exists(#key)", names={"#key": KEY})

    def release_launch(self, job_id: str, requested_at: str) -> None:
        """Drop our launch claim after Dagster refused the run, so the job can be triggered again."""
        self.update({KEY: job_id}, {}, remove=(LAUNCH_CLAIM,), condition="#launch = :mine",
                    names={"#launch": LAUNCH_CLAIM}, values={":mine": requested_at})

    def mark_running(self, job_id: str, run_id: str = "") -> dict[str, Any] | None:
        """PENDING or FAILED -> RUNNING by the Dagster run `run_id` (which settlement checks)."""
        return self._move(job_id, (PENDING, FAILED), RUNNING,
                          {"errorMessage": None, "startedAt": now_iso(), **({RUN_ID: run_id} if run_id else {})},
                          remove=(LAUNCH_CLAIM,))

    def fail_run_of_job(self, job_id: str, run_id: str, error: str) -> dict[str, Any] | None:
        """-> FAILED after run `run_id` ended without settling the job: only if that run holds
        it (RUNNING under it, or PENDING with it launched); None otherwise."""
        return self.update(
            {KEY: job_id}, {"status": FAILED, "updatedAt": now_iso(), "errorMessage": error[:MAX_ERROR_CHARS]},
            remove=(LAUNCH_CLAIM,),
            condition="(#status = :running AND #run = :r) OR (#status = :pending AND #launch = :r)",
            names={"#status": "status", "#run": RUN_ID, "#launch": LAUNCH_RUN_ID},
            values={":running": RUNNING, ":pending": PENDING, ":r": run_id},
        )

    def mark_completed(self, job_id: str, *, processing_time: float, output_key: str) -> dict[str, Any] | None:
        return self._move(job_id, (RUNNING,), COMPLETED, {
            "processingTime": round(processing_time, 3), "outputS3Key": output_key, "errorMessage": None,
        })

    def mark_failed(self, job_id: str, error: str) -> dict[str, Any] | None:
        return self._move(job_id, (PENDING, RUNNING), FAILED, {"errorMessage": error[:MAX_ERROR_CHARS]},
                          remove=(LAUNCH_CLAIM,))

    def _move(self, job_id: str, allowed: tuple[str, ...], status: str, changes: dict[str, Any],
              remove: tuple[str, ...] = ()) -> dict[str, Any] | None:
        placeholders = {f":from{i}": value for i, value in enumerate(allowed)}
        return self.update(
            {KEY: job_id}, {"status": status, "updatedAt": now_iso(), **changes}, remove=remove,
            condition=f"attribute_exists(#key) AND #status IN ({', '.join(placeholders)})",
            names={"#key": KEY, "#status": "status"}, values=placeholders,
        )

    def jobs_with_status(self, status: str) -> Iterator[dict[str, Any]]:
        """Every job of `status` (the GSI, every page), items as stored."""
        token = None
        while True:
            jobs, token = self.list_jobs(status=status, limit=100, next_token=token)
            yield from jobs
            if token is None:
                return

    def list_jobs(self, *, status: str | None = None, limit: int = 50,
                  next_token: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of jobs and the token of the next (None at the end). With `status`, the
        GSI gives them newest first; without, a Scan gives them in table order. Items as
        stored (see core.job_listing.job_view). ValueError: the token is not one of this
        listing's. A token whose job was deleted since continues from where that job was,
        as DynamoDB does with any start key."""
        arguments: dict[str, Any] = {"TableName": self.table_name, "Limit": limit}
        start = decode_page_token(next_token, status)
        if start:
            arguments["ExclusiveStartKey"] = start
        try:
            if status is None:
                response = self._client.scan(**arguments)
            else:
                response = self._client.query(
                    **arguments, IndexName=self.status_index, ScanIndexForward=False,
                    KeyConditionExpression="#status = :status", ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues=serialize_item({":status": status}),
                )
        except ClientError as exc:
            # A start key that passed our checks and DynamoDB still refuses (too long a
            # value, say) is the client's mistake too, not a server error.
            if start and exc.response["Error"]["Code"] == "ValidationException":
                raise ValueError(f"nextToken is not valid ({exc.response['Error']['Message']}); "
                                 "list again without it") from exc
            raise
        jobs = [deserialize_item(item) for item in response["Items"]]
        return jobs, encode_page_token(response.get("LastEvaluatedKey"), status)
