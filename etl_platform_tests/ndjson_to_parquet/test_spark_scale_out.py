"""The Glue job's Spark stages scale with the cluster (glue_jobs/ndjson_to_parquet.py, issue 11).

Spark really runs, on local[4] (more cores than the old conversion stage's ~1-2 tasks), on
the project venv's pyspark 4 and on the Glue 5.1 runtime's pyspark 3.5, reading its input
from the embedded AWS through a relay that records every request on the wire (wire.py):

- the parse and conversion stages run one task per core (defaultParallelism), fewer only
  when the manifest has fewer files; only the Parquet write runs in as many tasks as
  ~128 MB parts (one here): Spark's status tracker, per job group;
- each input object is fetched once (GETs on the wire), by one S3 client per parse task
  (client connections on the wire);
- and still: the rows and rejects of the Arrow engine, a file that cannot be read left out
  alone, the ledger;
- parts on S3 are counted from their footers, by ranged GETs, not downloaded whole.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_platform import glue_runtimes
from etl_platform.aws import make_client
from etl_platform.core.ndjson_parquet import SourceFile, convert_manifest
from etl_platform.glue_artifacts import CORE_ZIP_NAME, build_core_zip
from etl_platform.infra_template import ResolvedTemplate
from etl_platform.local import emulator
from etl_platform.resources import platform_resources
from etl_platform_tests.ndjson_to_parquet.harness import records
from etl_platform_tests.ndjson_to_parquet.wire import Relay

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "glue_jobs"))
import ndjson_to_parquet as job  # noqa: E402

PROBE = Path(__file__).with_name("spark_stages_probe.py")
CORES = 4
MANY, FEW = "many-files", "few-files"


def _bodies() -> dict[str, bytes]:
    """Six files for four cores (one with malformed lines, keys drifting), two for the other manifest."""
    bodies = {}
    for i in range(6):
        lines = [json.dumps({**r, f"only_in_{i}": i}) for r in records(f"m{i}", 40 + 10 * i)]
        if i == 2:
            lines[5:5] = ["{not json", "[1, 2]"]
        bodies[f"{MANY}/f{i}.ndjson"] = ("\n".join(lines) + "\n").encode()
    for i in range(2):
        bodies[f"{FEW}/g{i}.ndjson"] = ("\n".join(json.dumps(r) for r in records(f"g{i}", 30)) + "\n").encode()
    return bodies


def _python(runtime: str, settings) -> str:
    if runtime == "project venv":
        return sys.executable
    template = ResolvedTemplate.from_file(settings.infra_template, env=settings.env,
                                          account_id=settings.account_id, region=settings.region)
    return str(glue_runtimes.build(glue_runtimes.runtimes(template)[settings.names.ndjson_glue_job]))


@pytest.fixture(scope="module", params=["project venv", "Glue runtime"])
def spark_run(request, emulator_settings, tmp_path_factory):
    """Both manifests through `spark_convert` in one Spark session on local[4]; what it
    returned, what Spark's status tracker saw and what crossed the wire."""
    settings = emulator_settings
    emulator.reset(settings)
    python = _python(request.param, settings)
    s3 = platform_resources(settings)["s3"].get_client()
    bucket = settings.names.ndjson_input_bucket
    bodies = _bodies()
    for name, body in bodies.items():
        s3.put_object(Bucket=bucket, Key=f"landing/{name}", Body=body)
    missing = f"landing/{MANY}/vanished.ndjson"  # listed in the manifest, never written: NoSuchKey
    uris = {m: sorted(f"s3://{bucket}/landing/{n}" for n in bodies if n.startswith(m)) for m in (MANY, FEW)}
    uris[MANY].insert(3, f"s3://{bucket}/{missing}")
    work = tmp_path_factory.mktemp("spark-scale-out")
    (work / CORE_ZIP_NAME).write_bytes(build_core_zip(ROOT))
    manifests = [{"id": m, "uris": uris[m], "mode": mode, "target": str(work / m / "parquet"),
                  "rejects": str(work / m / "rejects.ndjson")} for m, mode in ((MANY, "typed"), (FEW, "string"))]
    with Relay(settings.endpoint_url) as relay:
        env = {**os.environ, **platform_resources(settings)["aws"].subprocess_credentials(),
               "AWS_ENDPOINT_URL": relay.url, "AWS_DEFAULT_REGION": settings.region,
               "PYTHONPATH": os.pathsep.join([str(ROOT / "glue_jobs"), str(work / CORE_ZIP_NAME)]),
               "PYSPARK_PYTHON": python, "SPARK_LOCAL_IP": "127.0.0.1"}
        env.pop("AWS_SESSION_TOKEN", None)
        env.pop("SPARK_HOME", None)
        done = subprocess.run([python, str(PROBE), json.dumps({"master": f"local[{CORES}]", "manifests": manifests})],
                              env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return {"probe": json.loads(done.stdout.strip().splitlines()[-1]), "relay": relay, "bucket": bucket,
            "bodies": bodies, "missing": missing, "uris": uris, "manifests": {m["id"]: m for m in manifests}}


def _conversion_and_write(stages):
    """Task counts of the stages before the shuffle (the conversion) and of the write."""
    counts = [tasks for _, tasks in stages]
    return counts[:-1], counts[-1]


def _parse(stages):
    """Task counts of the parse stages (Spark 3.5 builds the cache in a job of its own, AQE's
    table-cache query stage, then reads it for the collect: two stages; Spark 4: one)."""
    return {tasks for _, tasks in stages}


@pytest.mark.e2e
def test_parse_and_conversion_stages_run_one_task_per_core(spark_run):
    probe = spark_run["probe"]
    assert probe["default_parallelism"] == CORES
    many, few = probe["manifests"][MANY], probe["manifests"][FEW]
    assert len(spark_run["uris"][MANY]) > CORES
    assert _parse(many["stages"]["parse"]) == {CORES}
    # the conversion (one task per core), then the write of ~128 MB parts (one for these KBs)
    assert _conversion_and_write(many["stages"]["convert"]) == ([CORES], 1)
    assert _parse(few["stages"]["parse"]) == {2}  # fewer files than cores: a task per file
    assert _conversion_and_write(few["stages"]["convert"]) == ([2], 1)


@pytest.mark.e2e
def test_each_file_is_fetched_once_by_one_client_per_task(spark_run):
    relay, bucket = spark_run["relay"], spark_run["bucket"]
    fetched = Counter(r.path for r in relay.gets(f"/{bucket}/"))
    expected = [f"/{bucket}/landing/{name}" for name in spark_run["bodies"]] + [f"/{bucket}/{spark_run['missing']}"]
    assert fetched == Counter(expected)  # the missing one too: tried once, not retried
    assert all(r.method == "GET" for r in relay.requests)  # nothing else: no HEAD, no listing
    assert relay.connections == CORES + 2  # one S3 client per parse task, of either manifest


@pytest.mark.e2e
def test_rows_rejects_and_failures_are_the_arrow_engines(spark_run, tmp_path):
    many = spark_run["probe"]["manifests"][MANY]
    manifest = spark_run["manifests"][MANY]
    sources = []
    for uri in spark_run["uris"][MANY]:
        name = uri.split("/landing/", 1)[1]
        if name in spark_run["bodies"]:
            path = tmp_path / name.replace("/", "_")
            path.write_bytes(spark_run["bodies"][name])
            sources.append(SourceFile(str(path), uri))
    arrow = convert_manifest(sources, manifest_id=MANY, output_dir=str(tmp_path / "arrow"),
                             rejects_path=str(tmp_path / "arrow-rejects.ndjson"), mode="typed")
    parts = sorted(Path(manifest["target"]).glob("*.parquet"))
    spark_rows = pa.concat_tables([pq.read_table(p) for p in parts]).to_pylist()
    arrow_rows = pa.concat_tables([pq.read_table(p) for p in arrow.output_files]).to_pylist()
    assert sorted(spark_rows, key=lambda r: r["id"]) == sorted(arrow_rows, key=lambda r: r["id"])
    assert many["columns"] == [f["name"] for f in arrow.schema]
    assert Path(manifest["rejects"]).read_bytes() == (tmp_path / "arrow-rejects.ndjson").read_bytes()
    assert (many["rows_in"], many["rejected"]) == (arrow.rows_in, arrow.rejected) == (len(arrow_rows) + 2, 2)
    [(failed, why)] = many["failed"].items()
    assert failed.endswith("/vanished.ndjson") and why.startswith("NoSuchKey: ")


def test_parts_on_s3_are_counted_from_their_footers(aws):
    """publish_parts on AWS (Spark wrote to s3://.../tmp/): rows from each part's footer,
    read by ranged GETs of a few KB, never the ~128 MB part."""
    s3 = platform_resources(aws)["s3"].get_client()
    bucket = aws.names.parquet_output_bucket
    sizes = {}
    for i, rows in enumerate((30_000, 20_000)):
        sink = io.BytesIO()
        table = pa.table({"blob": [os.urandom(64) for _ in range(rows)], "n": list(range(rows))})
        pq.write_table(table, sink, compression="snappy")
        key = f"tmp/m-1/part-{i:05d}-x-c000.snappy.parquet"
        s3.put_object(Bucket=bucket, Key=key, Body=sink.getvalue())
        sizes[key] = len(sink.getvalue())
    s3.put_object(Bucket=bucket, Key="tmp/m-1/_SUCCESS", Body=b"")
    with Relay(aws.endpoint_url) as relay:
        client = make_client("s3", region=aws.region, endpoint_url=relay.url)
        rows, written = job.publish_parts(client, f"s3://{bucket}/tmp/m-1/", bucket, "output/x/", "m-1", stage_locally=False)
    assert rows == 50_000
    assert written == ["output/x/m-1-part-00000.snappy.parquet", "output/x/m-1-part-00001.snappy.parquet"]
    for key, size in sizes.items():
        reads = relay.gets(f"/{bucket}/{key}")
        assert reads and all(r.range for r in reads), reads
        assert size > 1_000_000 and sum(r.response_bytes for r in reads) <= 64 * 1024, (size, reads)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="tmp/m-1/")
