"""Runs the Glue job's conversion (glue_jobs/ndjson_to_parquet.py, `spark_convert`) on Spark
local mode and prints, as one JSON line, its results and what Spark's status tracker saw of
each of its job groups: the task count of every stage that ran.

    python spark_stages_probe.py '{"master": "local[4]", "manifests": [{"id", "uris", "mode", "target", "rejects"}]}'

Run by test_spark_scale_out.py in a process of its own, on the project venv or on the Glue
runtime's: the session is new (its master), and the environment the test gives it
(AWS_ENDPOINT_URL of a request-counting relay) reaches Spark's Python workers. It imports
only the job module and what the job itself imports, as on Glue.
"""

import json
import sys
import time


def stages_of_group(sc, group, timeout=60.0):
    """{stage id: task count} of the stages of `group`'s jobs that ran tasks. The status
    tracker is fed by Spark's listener bus, asynchronously: wait until it has seen every
    job of the group end (a job's end comes after its stages' on the bus)."""
    tracker = sc.statusTracker()
    deadline = time.monotonic() + timeout
    while True:
        jobs = [tracker.getJobInfo(j) for j in tracker.getJobIdsForGroup(group)]
        if jobs and all(j is not None and j.status in ("SUCCEEDED", "FAILED") for j in jobs):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"jobs of {group} did not end: {jobs}")
        time.sleep(0.1)
    ran = {}
    for job in jobs:
        for stage_id in job.stageIds:
            stage = tracker.getStageInfo(stage_id)
            if stage is not None and stage.numCompletedTasks > 0:  # not a stage skipped by reuse
                ran[stage_id] = stage.numTasks
    return ran


def main():
    request = json.loads(sys.argv[1])
    import ndjson_to_parquet as job

    spark = job.build_spark(request["master"])
    sc = spark.sparkContext
    out = {"default_parallelism": sc.defaultParallelism, "manifests": {}}
    for manifest in request["manifests"]:
        rows_in, bytes_in, rejected, schema, failed = job.spark_convert(
            spark, manifest["uris"], manifest["id"], manifest["mode"], manifest["target"], manifest["rejects"],
            log=lambda message: print(message, file=sys.stderr))
        out["manifests"][manifest["id"]] = {
            "rows_in": rows_in, "bytes_in": bytes_in, "rejected": rejected, "failed": failed,
            "columns": schema.names,
            "stages": {stage: sorted(stages_of_group(sc, job.job_group(manifest["id"], stage)).items())
                       for stage in ("parse", "convert")},
        }
    spark.stop()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
