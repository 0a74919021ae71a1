"""The runtime each Glue job of the template runs on, and local virtualenvs that reproduce it.

A Glue job's definition fixes its interpreter and libraries: `GlueVersion` (Spark jobs) or
`Command.PythonVersion` (Python-shell jobs) fixes the Python minor version and the Spark
version, and at job start Glue pip-installs `--additional-python-modules` for that Python on
top of what the runtime already provides. A pin that the job's Python cannot install fails
the job before its script runs, so this module reads each AWS::Glue::Job of
`infra/template.yaml` and derives the runtime it declares; the builder below makes a venv
from the matching interpreter (pyenv's) with exactly those requirements, and the tests run
`glue_jobs/` scripts on it end to end against the emulator.

Runtimes the jobs use (README, "Glue runtimes"): both jobs are Glue 5.1 Spark jobs
(Python 3.11, Spark 3.5.6, Java 17). Pipeline A runs on Glue 5.1 rather than a Python-shell
job (Python 3.9) because Python 3.9 is end of life (October 2025; AWS SDK support ended
April 2026) and the newest releases that still install on it are pyarrow 21, numpy 2.0 and
dagster-pipes 1.12. The script does run there (the runtime test passes with the job declared
as Python-shell 3.9 installing dagster-pipes==1.12.1 and pyarrow==21.0.0), but it would parse
uploaded, untrusted Parquet with a pyarrow that gets no more fixes on an interpreter that gets
no security fixes, and the script and the core modules it imports would have to stay
compatible with both stacks. It costs
more per run (at least 2 DPUs for 1 minute, about $0.015, against $0.007 for a 1-DPU
Python-shell job): about $7 more per 1,000 converted files. The jobs pin numpy 2 because
pyarrow 26 refuses NumPy 1.x at import (without declaring it) and PySpark 3.5 declares numpy<2;
pipeline B pins pandas too (PySpark's mapInArrow imports it), to a release built for NumPy 2.

What a runtime provides before `--additional-python-modules` is installed is reduced here to
what the scripts import (`PROVIDED_EVERYWHERE`, `SPARK_COMPANIONS`, `PYTHON_SHELL_ANALYTICS`):

* every Glue job: boto3 (AWS installs it in every Glue runtime);
* Spark jobs: the release's Spark as pyspark from PyPI, with its `sql` extra (pandas,
  numpy < 2, pyarrow: the libraries PySpark's Arrow path needs and Glue ships beside it),
  pandas 2 (the Glue releases predate pandas 3); Spark and Python versions: AWS Glue release
  notes, https://docs.aws.amazon.com/glue/latest/dg/release-notes.html;
* Python-shell 3.9 jobs with `--library-set analytics`: boto3, numpy, pandas and pyarrow
  among others (https://docs.aws.amazon.com/glue/latest/dg/add-job-python.html).

Unpinned, they resolve to the newest release that installs on the job's Python, as pip
does on Glue for an unpinned `--additional-python-modules` entry. Wheels in S3 and
`--python-modules-installer-option` are not supported here (the template uses neither).

The pure part (up to `runtimes`) imports neither boto3 nor dagster. The builder runs the
job's interpreter and pip in subprocesses: a venv per runtime under
~/.cache/etl-platform/glue-runtimes/ (outside git), named by a hash of its spec, built under a
file lock so two test workers never build the same one at once. One takes 735 MB and about
25 s to build here with pip's cache warm, 50-85 s with it empty (pyspark is a 300 MB sdist).

    python -m etl_platform.glue_runtimes build   # build every job's runtime (`make up` then uses them)
    python -m etl_platform.glue_runtimes show    # what each job declares
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from etl_platform.infra_template import ResolvedResource, ResolvedTemplate

# GlueVersion -> (Python minor version, Spark version) of Spark (glueetl) jobs.
GLUE_RELEASES = {
    "5.1": ("3.11", "3.5.6"),
    "5.0": ("3.11", "3.5.4"),
    "4.0": ("3.10", "3.3.0"),
    "3.0": ("3.7", "3.1.1"),
}
# Command.PythonVersion of Python-shell jobs (3.6 reached end of support in March 2026).
PYTHON_SHELL_VERSIONS = ("3.9",)

PROVIDED_EVERYWHERE = ("boto3",)
# Glue 4.0-5.1 predate pandas 3 (January 2026) and ship pandas 2.
SPARK_COMPANIONS = ("pandas<3",)
PYTHON_SHELL_ANALYTICS = ("numpy", "pandas", "pyarrow")

CACHE_ROOT = Path.home() / ".cache" / "etl-platform" / "glue-runtimes"
_COMPLETE = "glue-runtime.json"


class UnknownRuntime(ValueError):
    """The job definition names a runtime Glue does not offer (or this module does not know)."""


class RuntimeUnavailable(RuntimeError):
    """The runtime cannot be built here: no such interpreter, or pip cannot install its requirements."""


@dataclass(frozen=True)
class GlueRuntime:
    job_name: str
    script: str  # file name in glue_jobs/
    command: str  # glueetl | pythonshell
    glue_version: str | None
    python: str  # minor version, e.g. "3.11"
    spark: str | None
    provided: tuple[str, ...]
    additional: tuple[str, ...]

    @property
    def spec(self) -> dict[str, Any]:
        """What the venv depends on (not the job's name: two jobs alike share one venv)."""
        return {"python": self.python, "provided": list(self.provided), "additional": list(self.additional)}

    @property
    def spec_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.spec, sort_keys=True).encode()).hexdigest()[:16]

    def describe(self) -> str:
        kind = f"Glue {self.glue_version} Spark job" if self.command == "glueetl" else "Python-shell job"
        spark = f", Spark {self.spark}" if self.spark else ""
        return f"{self.job_name}: {kind}, Python {self.python}{spark}; installs {', '.join(self.additional) or 'nothing'}"


def additional_modules(arguments: dict[str, str]) -> tuple[str, ...]:
    """`--additional-python-modules` as pip requirements (comma-separated, as Glue reads it)."""
    raw = arguments.get("--additional-python-modules", "")
    modules = tuple(m.strip() for m in raw.split(",") if m.strip())
    for module in modules:
        if module.startswith("s3://") or module.endswith((".whl", ".txt", ".zip")):
            raise UnknownRuntime(f"--additional-python-modules entry {module!r}: only PyPI requirements are supported locally")
    if "--python-modules-installer-option" in arguments:
        raise UnknownRuntime("--python-modules-installer-option is not supported locally")
    return modules


def runtime_of(job: ResolvedResource) -> GlueRuntime:
    props = job.properties
    command = props["Command"]
    arguments = props.get("DefaultArguments", {})
    script = Path(command["ScriptLocation"]).name
    if command["Name"] == "glueetl":
        version = props.get("GlueVersion")
        if version not in GLUE_RELEASES:
            raise UnknownRuntime(f"Glue job {job.name}: GlueVersion {version!r} is not one of {sorted(GLUE_RELEASES)}")
        python, spark = GLUE_RELEASES[version]
        provided = PROVIDED_EVERYWHERE + (f"pyspark[sql]=={spark}",) + SPARK_COMPANIONS
        return GlueRuntime(job.name, script, "glueetl", version, python, spark, provided, additional_modules(arguments))
    if command["Name"] == "pythonshell":
        python = str(command.get("PythonVersion", ""))
        if python not in PYTHON_SHELL_VERSIONS:
            raise UnknownRuntime(f"Glue job {job.name}: Python-shell jobs run Python {PYTHON_SHELL_VERSIONS}, not {python!r}")
        library_set = arguments.get("--library-set", "analytics")
        provided = PROVIDED_EVERYWHERE + (PYTHON_SHELL_ANALYTICS if library_set == "analytics" else ())
        return GlueRuntime(job.name, script, "pythonshell", None, python, None, provided, additional_modules(arguments))
    raise UnknownRuntime(f"Glue job {job.name}: command {command['Name']!r} is not a Python job this platform runs")


def runtimes(template: ResolvedTemplate) -> dict[str, GlueRuntime]:
    """Job name -> runtime, for every AWS::Glue::Job of the template."""
    return {job.name: runtime_of(job) for job in template.of_type("AWS::Glue::Job")}


# --- building a venv of a runtime ---------------------------------------------------------

def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", path.parts[-3]))


def find_interpreter(python: str) -> Path:
    """A CPython of that minor version: pyenv's newest patch release, else `pythonX.Y` on PATH."""
    versions = Path.home() / ".pyenv" / "versions"
    found = sorted(versions.glob(f"{python}.*/bin/python{python}"), key=_version_key)
    found = [p for p in found if re.fullmatch(rf"{re.escape(python)}\.\d+", p.parts[-3])]
    if found:
        return found[-1]
    on_path = shutil.which(f"python{python}")
    if on_path:
        return Path(on_path)
    raise RuntimeUnavailable(f"no Python {python} interpreter on this machine (pyenv install {python})")


def venv_dir(runtime: GlueRuntime, root: Path = CACHE_ROOT) -> Path:
    return root / f"py{runtime.python}-{runtime.spec_hash}"


def venv_python(runtime: GlueRuntime, root: Path = CACHE_ROOT) -> Path:
    return venv_dir(runtime, root) / "bin" / "python"


def built_python(runtime: GlueRuntime, root: Path = CACHE_ROOT) -> Path | None:
    """The runtime's interpreter if its venv has been built completely, else None (cheap)."""
    return venv_python(runtime, root) if (venv_dir(runtime, root) / _COMPLETE).exists() else None


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pip_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in (result.stderr + result.stdout).splitlines()
            if line.strip() and not line.startswith("WARNING: Location")]


def _dry_run(interpreter: Path, requirements: tuple[str, ...]) -> subprocess.CompletedProcess:
    command = [str(interpreter), "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
               "--report", "-", *requirements]
    return subprocess.run(command, capture_output=True, text=True)


def _reason(requirement: str, lines: list[str]) -> str:
    """pip's verdict on one requirement, led by the Requires-Python that excludes it, if any."""
    ignored = next((line for line in lines if "require a different python version:" in line), "")
    versions = [v.strip() for v in ignored.split("python version:", 1)[-1].split(";") if v.strip()]
    pinned = requirement.partition("==")[2]
    newest = sorted(versions, key=lambda v: tuple(int(n) for n in re.findall(r"\d+", v.split()[0])))[-1:]
    excluded = [v for v in versions if pinned and v.split()[0] == pinned] or newest
    final = lines[-1] if lines else "pip failed"
    return f"{excluded[0]} ({final})" if excluded else final


def _pip_failure(runtime: GlueRuntime, interpreter: Path, requirements: tuple[str, ...],
                 result: subprocess.CompletedProcess) -> RuntimeUnavailable:
    """pip stops at the first requirement it cannot satisfy: name each one, with pip's reason."""
    reasons = []
    for requirement in requirements:
        alone = _dry_run(interpreter, (requirement,))
        if alone.returncode != 0:
            reasons.append(f"- {requirement}: {_reason(requirement, _pip_lines(alone))}")
    detail = "\n".join(reasons) or "\n".join(_pip_lines(result)[-12:])  # only their combination fails
    return RuntimeUnavailable(
        f"{runtime.describe()}\npip on Python {runtime.python} ({interpreter}) cannot install "
        f"{' '.join(requirements)}:\n{detail}"
    )


def resolve(runtime: GlueRuntime) -> dict[str, str]:
    """What pip installs for the job's `--additional-python-modules` on the runtime's Python
    (name -> version), installing nothing. Raises RuntimeUnavailable, with pip's reason, when
    one of them cannot be installed there: on Glue that job would fail before its script runs."""
    interpreter = find_interpreter(runtime.python)
    result = _dry_run(interpreter, runtime.additional)
    if result.returncode != 0:
        raise _pip_failure(runtime, interpreter, runtime.additional, result)
    report = json.loads(result.stdout[result.stdout.index("{"):])
    return {item["metadata"]["name"].lower(): item["metadata"]["version"] for item in report["install"]}


def build(runtime: GlueRuntime, root: Path = CACHE_ROOT, log=print) -> Path:
    """The runtime's venv interpreter, building the venv first if needed: what the runtime
    provides, then, in a second pip run as Glue does at job start, `--additional-python-modules`
    (which may upgrade a provided module, as on Glue)."""
    target = venv_dir(runtime, root)
    if (target / _COMPLETE).exists():
        return venv_python(runtime, root)
    with _locked(root / f"{target.name}.lock"):
        if (target / _COMPLETE).exists():  # the other worker built it while we waited
            return venv_python(runtime, root)
        interpreter = find_interpreter(runtime.python)
        log(f"building the Glue runtime of {runtime.describe()} in {target}")
        shutil.rmtree(target, ignore_errors=True)  # a build that died half-way
        subprocess.run([str(interpreter), "-m", "venv", str(target)], check=True, capture_output=True)
        python = venv_python(runtime, root)
        for requirements in (runtime.provided, runtime.additional):
            if not requirements:
                continue
            result = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *requirements],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                shutil.rmtree(target, ignore_errors=True)
                raise _pip_failure(runtime, interpreter, requirements, result)
        frozen = subprocess.run([str(python), "-m", "pip", "freeze"], capture_output=True, text=True, check=True).stdout
        (target / _COMPLETE).write_text(json.dumps({**runtime.spec, "installed": frozen.split()}, indent=1))
    return python


def _template(project_root: Path) -> ResolvedTemplate:
    return ResolvedTemplate.from_file(project_root / "infra" / "template.yaml",
                                      env="dev", account_id="123456789012", region="us-east-1")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    action = argv[0] if argv else "show"
    project_root = Path(__file__).resolve().parent.parent
    for runtime in runtimes(_template(project_root)).values():
        print(runtime.describe())
        if action == "build":
            print(f"  -> {build(runtime)}")
        elif action == "show":
            print(f"  built: {built_python(runtime) or 'no'}")
        else:
            print("usage: python -m etl_platform.glue_runtimes [show|build]", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
