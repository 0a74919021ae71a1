"""Both engines give the same rows and values for the same manifest (Spark really runs, on the
Glue runtime the job declares: its Python, its Glue release's pyspark, only the modules it installs)."""

import json

import pytest

from etl_platform.pipelines.ndjson_to_parquet.assets import ENGINE_TAG
from etl_platform_tests.ndjson_to_parquet.harness import Pipeline, glue_on_its_runtime, local_runner_commands, records, scaled, manifest_id_of

pytestmark = pytest.mark.e2e


def _drifting_files():
    """Schema drift across files, nested values, case-distinct keys, malformed and blank lines."""
    files = {
        "a.ndjson": [json.dumps(r) for r in records("a", 30)],
        "b.ndjson": [json.dumps({"id": f"b-{i}", "n": 1.5 * i, "X": i, "x": -i, "extra": {"deep": [1, {"k": None}]}})
                     for i in range(20)] + ["{not json", "", "[1, 2]"],
        "c.ndjson": [json.dumps({"id": f"c-{i}", "n": "text", "user": {"name": None}, "flag": i % 2 == 0}) for i in range(25)],
    }
    out = {name: ("\n".join(lines) + "\n").encode() for name, lines in files.items()}
    out["d.ndjson"] = _poison_file()
    return out


def _poison_file() -> bytes:
    """Inputs that once crashed a manifest or damaged values: keys named like provenance
    columns, integers beyond 2**53 and int64, a 400-deep line, invalid UTF-8, blank tail."""
    lines = [b'{"id":"d-0","_source_file":"s","_source_file__input":"si","_manifest_id":"m","n":18446744073709551617}',
             b'{"id":"d-1","n":9007199254740993,"big":-9223372036854775808}',
             b'{"id":"deep","x":' + b"[" * 400 + b"]" * 400 + b"}",
             b'{"id":"latin1","note":"caf\xe9"}',
             b'{"id":"d-2","n":12,"big":9223372036854775807}']
    return b"\r\n".join(lines) + b"\r\n  \n\n"


def _rows_by_id(rows):
    return {r["id"]: {k: v for k, v in r.items()} for r in rows}


@pytest.mark.parametrize("mode", ["string", "typed"])
def test_arrow_and_spark_engines_agree(aws, mode):
    settings = scaled(aws, manifest_max_files=4, conversion_mode=mode)
    glue, runtime_python = glue_on_its_runtime(settings, settings.names.ndjson_glue_job)
    pipeline = Pipeline(settings, glue=glue)
    for name, body in _drifting_files().items():
        pipeline.land("2026-05-01", name, [], body=body)
    [request] = pipeline.tick().run_requests
    manifest = manifest_id_of(request)

    assert pipeline.run(manifest, tags={ENGINE_TAG: "arrow"}).success
    arrow_rows = _rows_by_id(pipeline.output_rows("2026-05-01"))
    arrow_rejects = pipeline.s3.get_object(Bucket=aws.names.parquet_output_bucket, Key=f"rejects/2026-05-01/{manifest}.ndjson")["Body"].read()

    spark_run = pipeline.run(manifest, tags={ENGINE_TAG: "spark"})  # overwrites the same paths
    assert spark_run.success
    [command] = local_runner_commands(pipeline.instance, spark_run.run_id)
    assert command.startswith(runtime_python + " ")
    spark_rows = _rows_by_id(pipeline.output_rows("2026-05-01"))
    spark_rejects = pipeline.s3.get_object(Bucket=aws.names.parquet_output_bucket, Key=f"rejects/2026-05-01/{manifest}.ndjson")["Body"].read()

    assert len(arrow_rows) == 78 and spark_rows == arrow_rows
    assert spark_rejects == arrow_rejects and len(arrow_rejects.splitlines()) == 4
    assert arrow_rows["d-0"]["n"] == "18446744073709551617" and arrow_rows["d-0"]["_source_file__input__input"] == "s"
    assert str(arrow_rows["d-1"]["big"]) == "-9223372036854775808"
    assert pipeline.tracking.manifest(manifest)["engine"] == "spark"
