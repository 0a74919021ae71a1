"""The recovery rule for a manifest left open, case by case (core/ingestion/recovery.py)."""

import pytest

from etl_platform.core.ingestion.recovery import (
    GIVE_UP, NO_RUN, RERUN, SETTLED, WAIT, LatestRun, ManifestRecord, decide,
)
from etl_platform.core.liveness import judge

NOW, GRACE, MAX = 1000.0, 120.0, 3


def run(status, beat=None, run_id="r1"):
    return LatestRun(run_id, status, judge(status, beat, NOW, timeout=60.0))


@pytest.mark.parametrize("name, record, latest, action, silent", [
    ("completed is settled", ManifestRecord("completed", 0.0), run("FAILURE"), SETTLED, False),
    ("failed is settled (a deterministic error the asset recorded)", ManifestRecord("failed", 0.0), None, SETTLED, False),
    ("fresh, no run yet: its request may be on its way", ManifestRecord("pending", NOW - 5), None, WAIT, False),
    ("minted past the grace, never run (daemon killed mid-tick)", ManifestRecord("pending", NOW - 500), None, RERUN, False),
    ("queued run is alive", ManifestRecord("pending", NOW - 500), run("QUEUED"), WAIT, False),
    ("running and beating", ManifestRecord("processing", 0.0), run("STARTED", NOW - 10), WAIT, False),
    ("STARTED but silent: fail that run and re-run", ManifestRecord("processing", 0.0), run("STARTED", NOW - 100),
     RERUN, True),
    ("run ended FAILURE unsettled", ManifestRecord("processing", 0.0), run("FAILURE"), RERUN, False),
    ("run ended SUCCESS yet open (cannot settle by itself)", ManifestRecord("pending", 0.0), run("SUCCESS"), RERUN, False),
    ("cancelled: an operator's decision, failed", ManifestRecord("processing", 0.0), run("CANCELED"), GIVE_UP, False),
    ("cancelling, and its worker died meanwhile", ManifestRecord("processing", 0.0), run("CANCELING", NOW - 100),
     GIVE_UP, True),
    ("last attempt died: give up", ManifestRecord("processing", 0.0, attempts=3), run("FAILURE"), GIVE_UP, False),
    ("last attempt silent: give up and fail the run", ManifestRecord("processing", 0.0, attempts=3),
     run("STARTED", None), GIVE_UP, True),
    ("re-run requested for this dead run within the grace",
     ManifestRecord("processing", 0.0, attempts=2, rerun_of="r1", rerun_epoch=NOW - 10), run("FAILURE"), WAIT, False),
    ("re-run requested for this dead run but lost (older than the grace)",
     ManifestRecord("processing", 0.0, attempts=2, rerun_of="r1", rerun_epoch=NOW - 500), run("FAILURE"), RERUN, False),
    ("the re-run itself died", ManifestRecord("processing", 0.0, attempts=2, rerun_of="r1", rerun_epoch=NOW - 10),
     run("FAILURE", run_id="r2"), RERUN, False),
    ("re-run of a never-run manifest requested within the grace",
     ManifestRecord("pending", NOW - 500, attempts=2, rerun_of=NO_RUN, rerun_epoch=NOW - 1), None, WAIT, False),
])
def test_decide(name, record, latest, action, silent):
    decision = decide(record, latest, NOW, grace_seconds=GRACE, max_attempts=MAX)
    assert (decision.action, decision.fail_silent_run) == (action, silent), f"{name}: {decision.reason}"


def test_a_rerun_answers_the_dead_run_it_replaces():
    assert decide(ManifestRecord("processing", 0.0), run("FAILURE", run_id="r7"), NOW, grace_seconds=GRACE,
                  max_attempts=MAX).dead_run == "r7"
    assert decide(ManifestRecord("pending", 0.0), None, NOW, grace_seconds=GRACE, max_attempts=MAX).dead_run == NO_RUN


def test_record_fields_default_to_a_first_run():
    record = ManifestRecord.from_item({"status": "pending", "created_epoch": 5})
    assert (record.attempts, record.rerun_of, record.rerun_epoch) == (1, None, None)
