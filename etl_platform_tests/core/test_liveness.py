import pytest

from etl_platform.core.liveness import judge


@pytest.mark.parametrize("status, last, alive, silent", [
    (None, None, False, False),          # the run was never created (daemon died mid-tick) or was deleted
    ("FAILURE", 99.0, False, False),     # ended without settling
    ("CANCELED", 99.0, False, False),
    ("SUCCESS", 99.0, False, False),
    ("QUEUED", None, True, False),       # run monitoring's start timeout handles a run that never starts
    ("STARTING", None, True, False),
    ("STARTED", 95.0, True, False),      # beat 5 s ago
    ("STARTED", 39.0, False, True),      # silent past the 60 s timeout: SIGKILLed worker
    ("STARTED", None, False, True),
    ("CANCELING", 10.0, False, True),
])
def test_judge(status, last, alive, silent):
    verdict = judge(status, last, now=100.0, timeout=60.0)
    assert (verdict.alive, verdict.worker_silent) == (alive, silent), verdict.reason


def test_an_unknown_status_is_an_error_not_a_verdict():
    with pytest.raises(ValueError):
        judge("NEW_STATUS", 1.0, now=2.0, timeout=1.0)
