"""Request and response bodies of the REST API (the seed's field names)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from etl_platform.core.parquet_jobs import STATUSES

Status = Literal[STATUSES]  # type: ignore[valid-type]  # one list of statuses, in core


class UploadResponse(BaseModel):
    jobId: str
    message: str
    uploadUrl: str = Field(description="Where the file is stored (s3://...)")


class PresignRequest(BaseModel):
    fileName: str = Field(min_length=1, max_length=1024)
    fileSize: int | None = Field(None, ge=0, description="Optional: a declared size over the limit is refused (413) "
                                                         "before any job is created")


class PresignResponse(BaseModel):
    jobId: str
    message: str
    uploadUrl: str = Field(description="Where to POST the file: multipart/form-data with every `fields` entry, "
                                       "then the file as `file` (last); then POST /trigger-job")
    fields: dict[str, str] = Field(description="Form fields of the signed POST policy (key, policy, signature, ...)")
    maxBytes: int = Field(description="Largest file S3 accepts under this policy (ETL_MAX_UPLOAD_BYTES)")
    expiresIn: int


class TriggerRequest(BaseModel):
    jobId: str = Field(min_length=1, max_length=100)


class TriggerResponse(BaseModel):
    jobId: str
    status: Status
    message: str
    runId: str


class Job(BaseModel):
    """A job as stored. A record written by hand or by an older version may lack fields or
    hold values of the wrong type: those fields are null and `malformed` says why."""
    jobId: str
    fileName: str | None = Field(description="null only on a malformed record")
    status: Status | None = Field(description="null only on a malformed record")
    createdAt: str | None = Field(description="null only on a malformed record")
    updatedAt: str | None = Field(description="null only on a malformed record")
    inputS3Key: str | None = Field(description="null only on a malformed record")
    outputS3Key: str | None = None
    processingTime: float | None = None
    errorMessage: str | None = None
    runId: str | None = Field(None, description="The job's Dagster run: the one its last trigger launched, "
                                                "else the one that ran it")
    runUrl: str | None = Field(None, description="That run's page in the Dagster UI")
    launched: bool = Field(False, description="A run was launched and has not started the job yet: it waits for "
                                              "it (a new trigger is refused)")
    malformed: list[str] = Field(default_factory=list,
                                 description="What is missing or wrong in this job's record, e.g. "
                                             "[\"createdAt missing\"]; empty for a sound record")


class JobsPage(BaseModel):
    jobs: list[Job]
    nextToken: str | None = None


class DownloadResponse(BaseModel):
    downloadUrl: str
    fileName: str
    expiresIn: int


class PreviewResponse(BaseModel):
    jobId: str
    fileName: str
    columns: list[str]
    records: list[dict[str, Any]]


class ErrorResponse(BaseModel):
    detail: Any
