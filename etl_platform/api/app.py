"""The REST API of pipeline A (seed 001's endpoints) and its web page at `/`.

Uploads go to s3://<input bucket>/uploads/<jobId>/<sanitised name> and create a PENDING job;
`POST /trigger-job` starts its Dagster run (see launcher.py), which owns every later status.
Errors are JSON `{"detail": ...}` with the status code saying what went wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi_offline import FastAPIOffline

from etl_platform.api import models
from etl_platform.api.launcher import LaunchError, RunLauncher, launcher_for
from etl_platform.resources.job_files import JobFiles
from etl_platform.resources.jobs_table import INPUT_VERSION, LAUNCH_RUN_ID, launch_in_flight
from etl_platform.config import Settings
from etl_platform.core.job_listing import job_view, newest_first
from etl_platform.core.parquet_jobs import COMPLETED, RUNNING, new_job_id, parquet_stream_problem, sanitise_file_name
from etl_platform.resources import platform_resources

MULTIPART_OVERHEAD = 64 * 1024  # headers and boundaries around the file in a multipart body
PAGE = Path(__file__).parent / "static" / "index.html"
ERRORS = {code: {"model": models.ErrorResponse} for code in (400, 404, 409, 413)}


def create_app(settings: Settings, launcher: RunLauncher | None = None) -> FastAPI:
    # FastAPI's own /docs and /redoc load their scripts from a CDN: a blank page offline.
    # fastapi-offline serves the same pages with Swagger UI's and ReDoc's files from this API.
    app = FastAPIOffline(title="etl-platform jobs API", version="1",
                         description="Parquet -> JSON conversion jobs (pipeline A)")
    jobs_table = platform_resources(settings)["jobs_table"]
    files = JobFiles.from_settings(settings)
    max_bytes = settings.jobs.max_upload_bytes
    state: dict[str, Any] = {"launcher": launcher}

    if settings.jobs.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.jobs.cors_origins),
                           allow_methods=["GET", "POST"], allow_headers=["*"])

    @app.middleware("http")
    async def refuse_oversized_uploads(request: Request, call_next):
        # Checked before the body is read: the multipart parser would spool all of it to disk.
        if request.method == "POST" and request.url.path == "/upload":
            length = request.headers.get("content-length")
            if length is None or not length.isdigit():
                return JSONResponse({"detail": "Content-Length required"}, status_code=411)
            if int(length) > max_bytes + MULTIPART_OVERHEAD:
                return JSONResponse({"detail": f"file too large: the limit is {max_bytes} bytes"}, status_code=413)
        return await call_next(request)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": f"internal error: {type(exc).__name__}"}, status_code=500)

    def shown(item: dict[str, Any]) -> dict[str, Any]:
        """A job as the API and the page show it: its view, whether its launched run is still
        to start, and a link to its run in the Dagster UI."""
        view = job_view(item)
        run_url = f"{settings.dagster_ui_url}/runs/{view['runId']}" if view["runId"] else None
        return {**view, "launched": launch_in_flight(item), "runUrl": run_url}

    def job_or_404(job_id: str) -> dict[str, Any]:
        """The item as stored: it may lack anything but its key (see job_view)."""
        job = jobs_table.get_job(job_id)
        if job is None:
            raise HTTPException(404, f"job {job_id} not found")
        return job

    def completed_or_409(job_id: str) -> dict[str, Any]:
        job = job_view(job_or_404(job_id))
        if job["status"] != COMPLETED or job["outputS3Key"] is None:
            raise HTTPException(409, f"job {job_id} is {_described(job)}, not COMPLETED with an output")
        return job

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(PAGE, media_type="text/html")

    @app.post("/upload", response_model=models.UploadResponse, status_code=201, responses=ERRORS)
    def upload(file: UploadFile = File(..., description="A Parquet file")) -> dict:
        size = file.size if file.size is not None else files.size_of(file.file)
        if size > max_bytes:
            raise HTTPException(413, f"file too large: {size} bytes, the limit is {max_bytes}")
        problem = parquet_stream_problem(file.file, size)
        if problem:
            raise HTTPException(400, problem)
        job_id, name = new_job_id(), sanitise_file_name(file.filename or "")
        key = files.store(job_id, name, file.file)
        jobs_table.create_job(job_id, file_name=name, input_key=key)
        return {"jobId": job_id, "message": "uploaded; POST /trigger-job to convert it",
                "uploadUrl": files.input_uri(key)}

    @app.post("/uploads/presign", response_model=models.PresignResponse, status_code=201, responses=ERRORS)
    def presign_upload(body: models.PresignRequest) -> dict:
        if body.fileSize is not None and body.fileSize > max_bytes:
            raise HTTPException(413, f"file too large: {body.fileSize} bytes, the limit is {max_bytes}")
        job_id, name = new_job_id(), sanitise_file_name(body.fileName)
        key = files.upload_key(job_id, name)
        jobs_table.create_job(job_id, file_name=name, input_key=key)
        post = files.presigned_post(key, max_bytes)   # S3 refuses a larger file, whatever was declared
        return {"jobId": job_id, "uploadUrl": post["url"], "fields": post["fields"], "maxBytes": max_bytes,
                "expiresIn": files.expires_in,
                "message": "POST the fields and then the file (multipart/form-data) to uploadUrl, then POST /trigger-job"}

    @app.post("/trigger-job", response_model=models.TriggerResponse, status_code=202, responses=ERRORS)
    def trigger_job(body: models.TriggerRequest) -> dict:
        job = job_or_404(body.jobId)
        view = job_view(job)
        if view["status"] is None or view["inputS3Key"] is None:  # nothing to convert, or no state to move from
            raise HTTPException(409, f"job {body.jobId} is {_described(view)}: it cannot be triggered")
        if job["status"] in (RUNNING, COMPLETED):
            raise HTTPException(409, f"job {body.jobId} is {job['status']}")
        # The version the job converts: pinned by its first trigger (or by the drop sensor),
        # and checked here, so a later POST to the same key is neither checked nor converted.
        found = files.input_version(job["inputS3Key"], job.get(INPUT_VERSION))
        if found is None:
            raise HTTPException(409, f"job {body.jobId} has no input file yet: upload it first")
        size, version = found
        problem = files.parquet_problem(job["inputS3Key"], size, version)
        if problem:
            jobs_table.mark_failed(body.jobId, f"input is {problem}")
            raise HTTPException(400, f"the uploaded file is {problem}")
        jobs_table.pin_input_version(body.jobId, version)
        claimed = jobs_table.claim_launch(body.jobId)
        if claimed is None:
            raise HTTPException(409, _launch_refused(job_or_404(body.jobId)))
        try:
            if state["launcher"] is None:
                state["launcher"] = launcher_for(settings)  # lazily: the in-process one loads Dagster
            run_id = state["launcher"].launch(body.jobId)
        except Exception as exc:
            jobs_table.release_launch(body.jobId, claimed["launchRequestedAt"])
            if isinstance(exc, LaunchError):
                raise HTTPException(503, str(exc)) from exc
            raise
        jobs_table.record_launch(body.jobId, run_id)
        return {"jobId": body.jobId, "status": claimed["status"], "runId": run_id,
                "message": f"conversion launched as Dagster run {run_id}"}

    @app.get("/job-status/{job_id}", response_model=models.Job, responses=ERRORS)
    def job_status(job_id: str) -> dict:
        return shown(job_or_404(job_id))

    @app.get("/jobs", response_model=models.JobsPage, responses=ERRORS)
    def list_jobs(status: models.Status | None = None, limit: int = Query(50, ge=1, le=100),
                  nextToken: str | None = None) -> dict:
        try:
            jobs, token = jobs_table.list_jobs(status=status, limit=limit, next_token=nextToken)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        return {"jobs": newest_first([shown(job) for job in jobs]), "nextToken": token}

    @app.get("/download/{job_id}", response_model=models.DownloadResponse, responses=ERRORS)
    def download(job_id: str) -> dict:
        job = completed_or_409(job_id)
        name = job["outputS3Key"].rsplit("/", 1)[-1]
        return {"downloadUrl": files.presigned_get(job["outputS3Key"], name), "fileName": name,
                "expiresIn": files.expires_in}

    @app.get("/jobs/{job_id}/preview", response_model=models.PreviewResponse, responses=ERRORS)
    def preview(job_id: str, limit: int = Query(10, ge=1, le=100)) -> dict:
        job = completed_or_409(job_id)
        records = files.preview(job["outputS3Key"], limit)
        columns = list(dict.fromkeys(name for record in records for name in record))
        return {"jobId": job_id, "fileName": job["outputS3Key"].rsplit("/", 1)[-1], "columns": columns,
                "records": records}

    return app


def _described(view: dict[str, Any]) -> str:
    """A job's status, and what its record lacks if it is malformed."""
    if not view["malformed"]:
        return view["status"]
    return f"{view['status'] or 'of unknown status'} with a malformed record ({'; '.join(view['malformed'])})"


def _launch_refused(job: dict[str, Any]) -> str:
    if job.get("status") in (RUNNING, COMPLETED) or not job.get("launchRequestedAt"):
        return f"job {job['jobId']} is {job.get('status')}"
    run = f"Dagster run {job[LAUNCH_RUN_ID]}" if job.get(LAUNCH_RUN_ID) else "a run"
    return f"job {job['jobId']} is {job.get('status')}: {run} triggered at {job['launchRequestedAt']} has not started it yet"
