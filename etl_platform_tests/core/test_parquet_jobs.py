"""Pipeline A's pure rules: file names, keys, magic bytes, previews (page tokens: test_job_listing.py)."""

import pytest

from etl_platform.core.parquet_jobs import (
    job_id_for_object, output_key, parquet_magic_problem, preview_records,
    sanitise_file_name,
)


@pytest.mark.parametrize("name, safe", [
    ("sales.parquet", "sales.parquet"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\My File (1).parquet", "My_File_1_.parquet"),
    ("données été.parquet", "donnees_ete.parquet"),
    ("a;rm -rf $HOME`.parquet", "a_rm_-rf_HOME_.parquet"),
    (".hidden.parquet", "hidden.parquet"),
    ("", "upload.parquet"),
    ("???", "upload.parquet"),
    ("x" * 300 + ".parquet", "x" * 192 + ".parquet"),
])
def test_sanitise_file_name(name, safe):
    assert sanitise_file_name(name) == safe


def test_keys_are_deterministic_per_job():
    assert output_key("output/", "j1", "sales.v2.parquet") == "output/j1/sales.v2.ndjson"
    assert output_key("output/", "j1", "noext") == "output/j1/noext.ndjson"
    assert job_id_for_object("b", "k", "e1") == job_id_for_object("b", "k", "e1") != job_id_for_object("b", "k", "e2")


def test_parquet_magic_bytes():
    assert parquet_magic_problem(b"PAR1", b"PAR1", 12) is None
    not_parquet = "not a Parquet file (no PAR1 magic bytes at its start and end)"
    assert parquet_magic_problem(b"PAR1", b"PAR1", 8) == not_parquet  # too short for a footer
    assert parquet_magic_problem(b"PK\x03\x04", b"PAR1", 100) == not_parquet
    assert parquet_magic_problem(b"PAR1", b"\n}\n", 100) == not_parquet
    assert parquet_magic_problem(b"PARE", b"PARE", 100).startswith("an encrypted Parquet file")


def test_preview_ignores_a_cut_last_line():
    head = b'{"a":1}\n{"a":2}\n{"a":'
    assert preview_records(head, 10, complete=False) == [{"a": 1}, {"a": 2}]
    assert preview_records(b'{"a":1}\n{"a":2}\n', 1, complete=True) == [{"a": 1}]
    assert preview_records(b"", 10, complete=True) == []
