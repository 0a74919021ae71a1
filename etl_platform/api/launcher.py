"""How `POST /trigger-job` starts the `parquet_to_json` run of a job.

With a Dagster webserver configured (ETL_DAGSTER_GRAPHQL_URL, which `etl-platform dev`
sets), the run is launched through its GraphQL API: it runs under the daemon, like every
sensor run. Without one, it executes in this process against the local DagsterInstance
(DAGSTER_HOME), on a single background thread: runs queue one after another, since
SQLite storage does not take concurrent writers well. Either way the run shows in the UI.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import httpx

from etl_platform.config import Settings
from etl_platform.pipelines.in_process import execute_partition, resolve_job
from etl_platform.pipelines.parquet_to_json import JOB_NAME
from etl_platform.pipelines.parquet_to_json.partitions import JOB_TAG, parquet_jobs_partitions, run_day

CODE_LOCATION = "etl_platform"  # pyproject's [tool.dagster] code_location_name
REPOSITORY = "__repository__"  # the repository name Dagster gives a module's `defs`
log = logging.getLogger(__name__)

LAUNCH_RUN = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on Error { message }
  }
}"""


class LaunchError(RuntimeError):
    """Dagster refused or could not be reached; the job is left as it was."""


class RunLauncher(Protocol):
    def launch(self, job_id: str) -> str:
        """Start the run of `job_id`; returns the Dagster run id."""


class GraphQLLauncher:
    def __init__(self, url: str, timeout: float = 30.0):
        self.url, self.timeout = url, timeout

    def _call(self, query: str, variables: dict, field: str) -> dict:
        try:
            response = httpx.post(self.url, json={"query": query, "variables": variables}, timeout=self.timeout)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise LaunchError(f"Dagster webserver at {self.url} did not answer: {exc}") from exc
        if body.get("errors"):
            raise LaunchError(f"Dagster GraphQL error: {body['errors'][0].get('message')}")
        return body["data"][field]

    def launch(self, job_id: str) -> str:
        selector = {"repositoryLocationName": CODE_LOCATION, "repositoryName": REPOSITORY}
        params = {
            "selector": {**selector, "jobName": JOB_NAME},
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": run_day()},
                                           {"key": JOB_TAG, "value": job_id}, {"key": "launched_by", "value": "api"}]},
            "runConfigData": {},
        }
        launched = self._call(LAUNCH_RUN, {"params": params}, "launchRun")
        if launched["__typename"] != "LaunchRunSuccess":
            raise LaunchError(f"Dagster did not launch the run: {launched.get('message', launched['__typename'])}")
        return launched["run"]["runId"]


class InProcessLauncher:
    def __init__(self, settings: Settings):
        from etl_platform.local.devstack import dagster_instance
        from etl_platform.pipelines.parquet_to_json import parquet_to_json_definitions

        self.instance = dagster_instance(settings)
        self.job = resolve_job(settings, parquet_to_json_definitions(settings), JOB_NAME)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-to-json-run")

    def launch(self, job_id: str) -> str:
        from dagster._core.utils import make_new_run_id

        run_id = make_new_run_id()
        self._pool.submit(self._execute, job_id, run_id)
        return run_id

    def _execute(self, job_id: str, run_id: str) -> None:
        try:
            execute_partition(self.job, self.instance, parquet_jobs_partitions, run_day(),
                              {JOB_TAG: job_id, "launched_by": "api"}, run_id=run_id)
        except Exception:  # the asset records job failures itself; this is Dagster failing around it
            log.exception("run %s of job %s could not execute", run_id, job_id)


def launcher_for(settings: Settings) -> RunLauncher:
    url = settings.jobs.dagster_graphql_url
    return GraphQLLauncher(url) if url else InProcessLauncher(settings)
