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


class PresignResponse(BaseModel):
    jobId: str
    message: str
    uploadUrl: str = Field(description="Presigned URL: PUT the file's bytes there, then POST /trigger-job")
    expiresIn: int


class TriggerRequest(BaseModel):
    jobId: str = Field(min_length=1, max_length=100)


class TriggerResponse(BaseModel):
    jobId: str
    status: Status
    message: str
    runId: str


class Job(BaseModel):
    jobId: str
    fileName: str
    status: Status
    createdAt: str
    updatedAt: str
    inputS3Key: str
    outputS3Key: str | None = None
    processingTime: float | None = None
    errorMessage: str | None = None


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
