"""Keys derived from a producer's key never leave their prefix once paths are normalised."""

import posixpath

import pytest

from etl_platform.core.profile_records import summary_key
from etl_platform.core.s3_uri import contained_key

HOSTILE = ["../up.csv", "../../etc/passwd.csv", "a/./b/../c.csv", "./x.csv", "my file ü.csv", "..", "a//b.csv"]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_summary_key_stays_under_processed(name):
    key = summary_key(name, "processed/")
    assert posixpath.normpath(key).startswith("processed/")
    assert ".." not in key.split("/") and "." not in key.split("/")


def test_contained_key_keeps_every_other_character():
    assert contained_key("q/", "landing/ndjson/2026-05-01/my file ü.ndjson") == "q/landing/ndjson/2026-05-01/my file ü.ndjson"
    assert contained_key("q/", "landing/../x/./y") == "q/landing/%2E%2E/x/%2E/y"
    assert contained_key("", "..") == "%2E%2E"
