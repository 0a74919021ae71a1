"""Which per-file partitions pipeline C prunes (core/partition_pruning.py)."""

from etl_platform.core.partition_pruning import PruneRules, partitions_to_prune

DAY = 86400
NOW = 1_000 * DAY
RULES = PruneRules(retention_days=30, cap=1000, max_deletes=1000)


def test_past_retention_or_gone_is_pruned_recent_failed_and_running_are_kept():
    uploaded = {"recent.csv": NOW - 2 * DAY, "old.csv": NOW - 31 * DAY, "old-failed.csv": NOW - 90 * DAY,
                "old-running.csv": NOW - 60 * DAY}
    keys = [*uploaded, "gone.csv", "gone-failed.csv"]
    doomed = partitions_to_prune(keys, uploaded, errored={"old-failed.csv", "gone-failed.csv"},
                                 in_flight={"old-running.csv"}, now=NOW, rules=RULES)
    # a failed file is kept while its upload is there to profile again; once gone, it goes too
    assert sorted(doomed) == ["gone-failed.csv", "gone.csv", "old.csv"] and doomed[-1] == "old.csv"


def test_the_cap_bounds_the_count_whatever_the_upload_rate():
    """A burst of 5,000 new names within the retention keeps the newest `cap`, never a running one."""
    uploaded = {f"f-{i:05d}.csv": NOW - i for i in range(5000)}  # f-00000 newest
    rules = PruneRules(retention_days=30, cap=1000, max_deletes=10_000)
    doomed = partitions_to_prune(list(uploaded), uploaded, errored=set(), in_flight={"f-04999.csv"}, now=NOW, rules=rules)
    kept = set(uploaded) - set(doomed)
    assert len(kept) == 1000 and "f-04999.csv" in kept and "f-00000.csv" in kept and "f-00999.csv" not in kept
    assert doomed[0] == "f-04998.csv"  # oldest first


def test_a_pass_deletes_at_most_max_deletes_oldest_first():
    uploaded = {f"f-{i}.csv": NOW - (40 + i) * DAY for i in range(10)}
    doomed = partitions_to_prune(list(uploaded), uploaded, set(), set(), NOW,
                                 PruneRules(retention_days=30, cap=1000, max_deletes=3))
    assert doomed == ["f-9.csv", "f-8.csv", "f-7.csv"]


def test_nothing_to_prune_within_retention_and_cap():
    uploaded = {"a.csv": NOW - DAY, "b.csv": NOW - 29 * DAY}
    assert partitions_to_prune(list(uploaded), uploaded, set(), set(), NOW, RULES) == []
