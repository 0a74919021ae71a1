"""Each Glue job of the template names a runtime Glue offers, its `--additional-python-modules`
install on that runtime's Python, and its script runs there end to end against the emulator.

Pipeline B's script runs on its runtime in the engine-parity test
(etl_platform_tests/ndjson_to_parquet/test_engines_parity.py); pipeline A's runs here.
"""

import copy
import io
import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from dagster import AssetExecutionContext, DagsterInstance, MaterializeResult, asset, materialize

from etl_platform import glue_runtimes
from etl_platform.config import Settings
from etl_platform.infra_template import ResolvedTemplate, load_template
from etl_platform.resources.glue import GlueJobRunner
from etl_platform_tests.glue_jobs.test_parquet_to_json import flat_table, job, nested_table
from etl_platform_tests.ndjson_to_parquet.harness import glue_on_its_runtime, local_runner_commands

SETTINGS = Settings()
NAMES = SETTINGS.names


def _template(edit=None) -> ResolvedTemplate:
    raw = load_template(SETTINGS.infra_template)
    if edit:
        raw = copy.deepcopy(raw)
        edit(raw["Resources"])
    return ResolvedTemplate(raw, env=SETTINGS.env, account_id=SETTINGS.account_id, region=SETTINGS.region)


def _as_python_shell_39(resources):
    """Pipeline A's job as it was: a Python-shell 3.9 job installing pyarrow==26.0.1."""
    props = resources["ParquetToJsonJob"]["Properties"]
    props["Command"] = {**props["Command"], "Name": "pythonshell", "PythonVersion": "3.9"}
    for key in ("GlueVersion", "WorkerType", "NumberOfWorkers"):
        props.pop(key)
    props["MaxCapacity"] = 1


def _on_glue_4(resources):
    resources["NdjsonBatchJob"]["Properties"]["GlueVersion"] = "4.0"


def test_every_job_declares_a_current_glue_runtime():
    declared = glue_runtimes.runtimes(_template())
    assert sorted(declared) == sorted(NAMES.glue_jobs())
    for runtime in declared.values():
        assert (runtime.command, runtime.python) == ("glueetl", "3.11"), runtime.describe()
        assert runtime.glue_version in ("5.0", "5.1") and runtime.spark.startswith("3.5."), runtime.describe()
        assert f"pyspark[sql]=={runtime.spark}" in runtime.provided
        assert any(m.startswith("dagster-pipes") for m in runtime.additional)


def test_runtime_of_older_and_unknown_definitions():
    shell = glue_runtimes.runtimes(_template(_as_python_shell_39))[NAMES.parquet_to_json_glue_job]
    assert (shell.command, shell.python, shell.spark) == ("pythonshell", "3.9", None)
    assert "pyarrow==26.0.1" in shell.additional and "pyarrow" in shell.provided  # analytics library set
    glue4 = glue_runtimes.runtimes(_template(_on_glue_4))[NAMES.ndjson_glue_job]
    assert (glue4.python, glue4.spark) == ("3.10", "3.3.0")

    def unknown(resources):
        resources["NdjsonBatchJob"]["Properties"]["GlueVersion"] = "9.9"

    with pytest.raises(glue_runtimes.UnknownRuntime, match="GlueVersion '9.9'"):
        glue_runtimes.runtimes(_template(unknown))
    with pytest.raises(glue_runtimes.UnknownRuntime, match="only PyPI requirements"):
        glue_runtimes.additional_modules({"--additional-python-modules": "s3://bucket/wheel-1.0-py3-none-any.whl"})


@pytest.mark.e2e
@pytest.mark.parametrize("job_name", NAMES.glue_jobs())
def test_each_job_installs_its_modules_on_its_python(job_name):
    runtime = glue_runtimes.runtimes(_template())[job_name]
    resolved = glue_runtimes.resolve(runtime)  # what Glue's pip would install at job start
    python = glue_runtimes.build(runtime)
    probe = ("import sys, json, importlib.metadata as m; print(json.dumps({'python': '%d.%d' % sys.version_info[:2], "
             "'packages': {d.metadata['Name'].lower(): d.version for d in m.distributions()}}))")
    found = json.loads(subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True).stdout)
    assert found["python"] == runtime.python
    if runtime.spark:
        assert found["packages"]["pyspark"] == runtime.spark
    for module in runtime.additional:
        name, _, version = module.partition("==")
        if version:
            assert resolved[name] == found["packages"][name] == version, module


@pytest.mark.e2e
def test_a_pin_the_runtime_cannot_install_fails_clearly():
    shell = glue_runtimes.runtimes(_template(_as_python_shell_39))[NAMES.parquet_to_json_glue_job]
    with pytest.raises(glue_runtimes.RuntimeUnavailable) as failure:
        glue_runtimes.resolve(shell)
    message = str(failure.value)
    assert NAMES.parquet_to_json_glue_job in message and "Python 3.9" in message
    reasons = {line.split(":")[0] for line in message.splitlines() if line.startswith("- ")}
    assert reasons == {"- dagster-pipes~=1.13.27", "- pyarrow==26.0.1", "- numpy==2.4.6"}, message
    assert "- pyarrow==26.0.1: 26.0.1 Requires-Python >=3.11" in message

    glue4 = glue_runtimes.runtimes(_template(_on_glue_4))[NAMES.ndjson_glue_job]
    with pytest.raises(glue_runtimes.RuntimeUnavailable, match=r"Glue 4.0 Spark job, Python 3.10(.|\n)*pyarrow==26.0.1"):
        glue_runtimes.resolve(glue4)


@pytest.mark.e2e
def test_parquet_to_json_runs_on_its_glue_runtime(aws, tmp_path):
    """Parquet in the emulator -> the Glue job's script on its runtime under Dagster Pipes -> the
    NDJSON it writes is byte for byte what this venv's converter writes."""
    job_name = aws.names.parquet_to_json_glue_job
    glue, runtime_python = glue_on_its_runtime(aws, job_name)
    s3 = glue.connection.client("s3")
    in_bucket, out_bucket = aws.names.jobs_input_bucket, aws.names.jobs_output_bucket
    expected = {}
    for name, table in {"flat": flat_table(2000), "nested": nested_table(300)}.items():
        path = tmp_path / f"{name}.parquet"
        pq.write_table(table, path, row_group_size=700)
        s3.upload_file(str(path), in_bucket, f"uploads/{name}.parquet")
        sink = io.BytesIO()
        job.convert(str(path), sink)
        expected[name] = (table.num_rows, sink.getvalue())
    s3.put_object(Bucket=in_bucket, Key="uploads/bad.parquet", Body=b"PAR1 but not Parquet")

    outcomes = {}

    @asset
    def converted(context: AssetExecutionContext, glue_runner: GlueJobRunner) -> MaterializeResult:
        for name in [*expected, "bad"]:
            invocation = glue_runner.run(context, job_name=job_name, script="parquet_to_json.py", arguments={
                "input_path": f"s3://{in_bucket}/uploads/{name}.parquet",
                "output_path": f"s3://{out_bucket}/output/{name}.ndjson", "output_format": "ndjson"})
            outcomes[name] = invocation.get_custom_messages()[-1]
        return MaterializeResult()

    instance = DagsterInstance.ephemeral()
    result = materialize([converted], resources={"glue_runner": glue}, instance=instance)
    assert result.success
    commands = local_runner_commands(instance, result.run_id)
    assert len(commands) == 3 and all(c.startswith(runtime_python + " ") for c in commands)
    for name, (rows, body) in expected.items():
        assert outcomes[name]["status"] == "SUCCEEDED" and outcomes[name]["rows"] == rows
        assert s3.get_object(Bucket=out_bucket, Key=f"output/{name}.ndjson")["Body"].read() == body
    assert outcomes["bad"]["status"] == "FAILED" and "not a Parquet file" in outcomes["bad"]["message"]


@pytest.mark.e2e
def test_two_workers_never_build_the_same_runtime_at_once(tmp_path):
    """What pytest-xdist's two workers do on a clean machine: both ask for one runtime at once."""
    bare = glue_runtimes.GlueRuntime("bare", "x.py", "glueetl", "5.1", "3.11", None, (), ())
    script = ("import sys; from pathlib import Path; from etl_platform import glue_runtimes as g; "
              f"print(g.build(g.{bare!r}, Path(sys.argv[1]), log=lambda m: print('BUILDING')))")
    workers = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
               for _ in range(2)]
    outputs = [w.communicate(timeout=300)[0].split() for w in workers]
    assert all(w.returncode == 0 for w in workers)
    assert sorted(len(o) for o in outputs) == [1, 2] and sum(o.count("BUILDING") for o in outputs) == 1
    assert {o[-1] for o in outputs} == {str(glue_runtimes.venv_python(bare, tmp_path))}
    assert (tmp_path / glue_runtimes.venv_dir(bare, tmp_path).name / "glue-runtime.json").exists()
