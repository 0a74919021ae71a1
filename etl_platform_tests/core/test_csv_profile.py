"""Rules of the CSV profiler (pipeline C), one small in-memory file at a time."""

from __future__ import annotations

import io
import json

import pytest

from etl_platform.core.csv_profile import CsvProfileError, profile_csv
from etl_platform.core.csv_profile import profiler


def prof(text: str | bytes, **kw) -> dict:
    data = text.encode() if isinstance(text, str) else text
    result = profile_csv(io.BytesIO(data), **kw)
    json.dumps(result, allow_nan=False)  # every profile must be strict JSON
    return result


def q(result: dict) -> dict:
    return result["quality_issues"]


# --------------------------------------------------------------------------- shapes
def test_clean_file_full_profile():
    csv = (
        "name,age,salary,join_date\n"
        "Ann,25,45000.00,2020-01-15\n"
        "Bob,65,150000.50,2021-06-30\n"
        "Cid,40,75000,2019-12-31\n"
    )
    assert prof(csv) == {
        "row_count": 3,
        "columns": ["name", "age", "salary", "join_date"],
        "dialect": {"delimiter": ",", "quotechar": '"', "encoding": "utf-8", "has_header": True},
        "schema": {"name": "string", "age": "int", "salary": "float", "join_date": "date"},
        "statistics": {
            "age": {"min": 25, "max": 65, "avg": 43.333333333333336, "count": 3},
            "salary": {"min": 45000.0, "max": 150000.5, "avg": 90000.16666666667, "count": 3},
            "join_date": {"min": "2019-12-31", "max": "2021-06-30", "count": 3},
        },
        "quality_issues": {"total_rows": 3, "has_issues": False, "missing_values": {}, "invalid_values": {}},
    }


def test_int_min_max_stay_ints_and_float_min_max_are_floats():
    r = prof("a,b\n1,1\n2,2.5\n3,3\n")
    assert r["statistics"]["a"] == {"min": 1, "max": 3, "avg": 2.0, "count": 3}
    assert type(r["statistics"]["a"]["min"]) is int
    assert r["statistics"]["b"] == {"min": 1.0, "max": 3.0, "avg": 6.5 / 3, "count": 3}
    assert type(r["statistics"]["b"]["min"]) is float


# --------------------------------------------------------------------------- missing / invalid
def test_missing_tokens_whitespace_and_invalid_examples():
    rows = ["id,score"]
    tokens = ["", "  ", "NA", "N/A", "n/a", "null", "NULL", "None", "NaN", "#N/A", "-", " NA "]
    rows += [f"{i},{t}" for i, t in enumerate(tokens, 1)]
    rows += [f"{i},{i}.5" for i in range(13, 213)]  # 200 floats
    rows += ["213,abc", "214,1,000", "215,na"]  # "na" is not a token: invalid
    r = prof("\n".join(rows) + "\n", max_invalid_examples=2)
    assert r["row_count"] == 215
    assert r["schema"] == {"id": "int", "score": "float"}
    assert q(r)["missing_values"] == {"score": {"count": 12, "percentage": round(100 * 12 / 215, 2)}}
    # "1,000" is a ragged row here (3 fields): its extra field is ignored, "1" is valid.
    assert q(r)["invalid_values"] == {"score": {"count": 2, "percentage": 0.93, "examples": [
        {"row": 213, "value": "abc"}, {"row": 215, "value": "na"}]}}
    assert q(r)["ragged_rows"] == {"count": 1, "examples": [214]}
    assert r["statistics"]["score"]["count"] == 201
    assert q(r)["has_issues"] is True


def test_invalid_examples_are_first_rows_across_kinds():
    # int column: a float, a date and text are all invalid; examples in file order.
    vals = ["1"] * 40 + ["2.5"] + ["3"] * 10 + ["2024-01-01"] + ["x"] + ["4"] * 10 + ["y"] * 3
    r = prof("n\n" + "\n".join(vals) + "\n")
    assert r["schema"]["n"] == "int"
    inv = q(r)["invalid_values"]["n"]
    assert inv["count"] == 6
    assert inv["examples"] == [{"row": 41, "value": "2.5"}, {"row": 52, "value": "2024-01-01"},
                               {"row": 53, "value": "x"}, {"row": 64, "value": "y"}, {"row": 65, "value": "y"}]
    assert inv["percentage"] == round(100 * 6 / len(vals), 2)


def test_missing_cells_are_neither_valid_nor_invalid():
    r = prof("x\n1\n\nNA\n2\n \n3\n")  # the blank line is skipped, " " is a missing cell
    assert r["row_count"] == 5
    assert r["schema"]["x"] == "int"
    assert r["statistics"]["x"]["count"] == 3
    assert q(r)["missing_values"]["x"] == {"count": 2, "percentage": 40.0}
    assert q(r)["invalid_values"] == {}


def test_string_column_has_no_invalid_values():
    r = prof("t\n1\nabc\ndef\n2.5\n")
    assert r["schema"]["t"] == "string"
    assert q(r)["invalid_values"] == {}
    assert "t" not in r["statistics"]


# --------------------------------------------------------------------------- type rules
@pytest.mark.parametrize(
    "values, expected",
    [
        (["1"] * 9 + ["x"], "int"),  # exactly 90%
        (["1"] * 8 + ["x"] * 2, "string"),
        (["1"] * 5 + ["1.5"] * 4 + ["x"], "float"),  # ints count as floats
        (["1"] * 19 + ["1.5"], "int"),  # ints reach 90% first: the float is invalid
        (["2024-01-01"] * 9 + ["1"], "date"),
        (["NA"] * 3, "string"),  # no non-missing cell
        (["+5", "-3", "007"], "int"),
        (["1e5", ".5", "5.", "-1.5E-3", "+.5"], "float"),
        (["1234567890123456789"], "float"),  # 19 digits: beyond int64, so float
        (["1,000", "2,500"], "string"),  # thousands separators are not numbers
        (["inf", "-inf", "Infinity"], "string"),
        (["1e999"], "string"),  # overflows a double
        (["0x10"], "string"),
        (["+", ".", "e", "1e", "+-1", "1.2.3", "--5", "1-2"], "string"),  # float alphabet, not numbers
        (["1"] * 9 + ["+"], "int"),
    ],
)
def test_type_inference(values, expected):
    # Quoted, so that delimiters inside values stay in one field.
    r = prof("v\n" + "\n".join(f'"{v}"' for v in values) + "\n")
    assert r["schema"]["v"] == expected


def test_int_with_minority_float_is_invalid_and_excluded_from_stats():
    r = prof("v\n" + "\n".join(["10"] * 19 + ["1.5"]) + "\n")
    assert r["statistics"]["v"] == {"min": 10, "max": 10, "avg": 10.0, "count": 19}
    assert q(r)["invalid_values"]["v"] == {"count": 1, "percentage": 5.0, "examples": [{"row": 20, "value": "1.5"}]}


def test_date_formats_and_calendar_validity():
    vals = [
        "2024-02-29",  # leap day
        "2024/03/01",
        "31.12.2023",  # DD.MM.YYYY
        "12/31/2022",  # MM/DD/YYYY
        "2021-05-06T07:08:09",  # ISO datetime: date part
        "2021-05-07 23:59:59.123+02:00",
        "2020-01-01T00:00:00Z",
        "2023-02-29",  # not a leap year: invalid
        "13/01/2024",  # month 13: invalid
        "2024-04-31",  # invalid
        "2024-01-01T25:00:00",  # bad hour: invalid
    ] + ["2022-06-15"] * 40
    r = prof("d\n" + "\n".join(vals) + "\n")
    assert r["schema"]["d"] == "date"
    assert r["statistics"]["d"] == {"min": "2020-01-01", "max": "2024-03-01", "count": 47}
    assert q(r)["invalid_values"]["d"]["count"] == 4
    assert q(r)["invalid_values"]["d"]["examples"] == [{"row": n, "value": vals[n - 1]} for n in (8, 9, 10, 11)]


def test_numbers_in_a_date_column_are_invalid():
    r = prof("d\n" + "\n".join(["2024-01-01"] * 18 + ["5", "2.5"]) + "\n")
    assert r["schema"]["d"] == "date"
    assert q(r)["invalid_values"]["d"] == {"count": 2, "percentage": 10.0, "examples": [
        {"row": 19, "value": "5"}, {"row": 20, "value": "2.5"}]}


def test_surrounding_whitespace_is_stripped_before_classifying():
    r = prof("a,b\n 1 ,\t2.5\n2  ,  2024-01-01  \n")
    assert r["schema"]["a"] == "int"
    assert r["statistics"]["a"]["max"] == 2
    assert r["schema"]["b"] == "string"  # one float, one date: no majority
    r = prof('a\n"  7  "\n')
    assert r["statistics"]["a"] == {"min": 7, "max": 7, "avg": 7.0, "count": 1}


# --------------------------------------------------------------------------- dialects
def test_semicolon_latin1_with_accents():
    data = "nom;âge;ville\nJosé;31;Zürich\nFrançoise;42;Kraków\nRenée;;Besançon\n".encode("latin-1")
    r = prof(data)
    assert r["dialect"] == {"delimiter": ";", "quotechar": '"', "encoding": "latin-1", "has_header": True}
    assert r["columns"] == ["nom", "âge", "ville"]
    assert r["schema"] == {"nom": "string", "âge": "int", "ville": "string"}
    assert r["statistics"]["âge"] == {"min": 31, "max": 42, "avg": 36.5, "count": 2}
    assert q(r)["missing_values"] == {"âge": {"count": 1, "percentage": 33.33}}


def test_invalid_utf8_after_the_sample_falls_back_to_latin1():
    head = "id,city\n" + "".join(f"{i},Zürich\n" for i in range(1, 20_001))  # > 64 KiB of UTF-8
    data = head.encode() + "20001,Besançon\n".encode("latin-1")
    r = prof(data)
    assert r["dialect"]["encoding"] == "latin-1"
    assert r["row_count"] == 20_001
    assert r["statistics"]["id"]["max"] == 20_001


def test_utf8_with_accents_stays_utf8():
    r = prof("name,n\nJosé,1\nZoë,2\n")
    assert r["dialect"]["encoding"] == "utf-8"


@pytest.mark.parametrize("delimiter", ["\t", "|", ";", ","])
def test_delimiters(delimiter):
    rows = [["name", "qty", "price"], ["a, b", "1", "2.5"], ["c; d", "2", "3.5"], ["e|f", "3", "4"]]
    # Values holding other candidate delimiters must not confuse the sniffer.
    text = "\n".join(delimiter.join(f'"{v}"' if delimiter in v else v for v in row) for row in rows) + "\n"
    r = prof(text)
    assert r["dialect"]["delimiter"] == delimiter
    assert r["columns"] == ["name", "qty", "price"]
    assert r["schema"] == {"name": "string", "qty": "int", "price": "float"}
    assert "ragged_rows" not in q(r)


def test_utf8_bom():
    r = prof(b"\xef\xbb\xbfid,name\n1,x\n2,y\n")
    assert r["dialect"]["encoding"] == "utf-8-sig"
    assert r["columns"] == ["id", "name"]
    assert r["schema"]["id"] == "int"


def test_quoted_fields_with_delimiters_newlines_and_quotes():
    csv = (
        'id,comment,amount\n'
        '1,"hello, world",10\n'
        '2,"line one\nline two, with comma",20\n'
        '3,"she said ""hi""",30\n'
        '4,"",40\n'
        '5,"multi\n\nblank inside",50\n'
    )
    r = prof(csv)
    assert r["row_count"] == 5
    assert r["schema"] == {"id": "int", "comment": "string", "amount": "int"}
    assert r["statistics"]["amount"] == {"min": 10, "max": 50, "avg": 30.0, "count": 5}
    assert q(r)["missing_values"] == {"comment": {"count": 1, "percentage": 20.0}}
    assert q(r)["invalid_values"] == {}
    assert "ragged_rows" not in q(r)


def test_crlf_line_endings():
    r = prof("a,b\r\n1,2024-01-01\r\n2,2024-01-02\r\n")
    assert r["schema"] == {"a": "int", "b": "date"}
    assert r["row_count"] == 2


def test_header_names_made_unique():
    r = prof("name,,name, age ,name_2,\n1,2,3,4,5,6\n")
    assert r["columns"] == ["name", "col_2", "name_3", "age", "name_2", "col_6"]
    assert list(r["schema"]) == r["columns"]


def test_single_column_file():
    r = prof("value\n1\n2\n3\n")
    assert r["dialect"]["delimiter"] == ","
    assert r["statistics"]["value"]["avg"] == 2.0


# --------------------------------------------------------------------------- ragged rows
def test_ragged_rows_are_counted_and_profiled():
    csv = (
        "a,b,c\n"
        "1,2,3\n"
        "4,5\n"  # too few: c missing
        "6,7,8,9\n"  # too many: 9 ignored
        "x,10,11\n"
        "12,13,14\n"
    )
    r = prof(csv)
    assert r["row_count"] == 5
    assert q(r)["ragged_rows"] == {"count": 2, "examples": [2, 3]}
    assert q(r)["missing_values"] == {"c": {"count": 1, "percentage": 20.0}}
    assert r["statistics"]["b"] == {"min": 2, "max": 13, "avg": 7.4, "count": 5}
    assert r["statistics"]["c"]["max"] == 14
    # a: 4 ints of 5 -> string, so no invalid; b and c are clean ints.
    assert r["schema"]["a"] == "string"
    assert q(r)["has_issues"] is True


def test_invalid_row_numbers_account_for_ragged_rows():
    lines = ["a,b"]
    for i in range(1, 101):
        if i in (3, 50):
            lines.append(f"{i},1,extra")
        elif i in (10, 60):
            lines.append(f"{i},oops")
        else:
            lines.append(f"{i},{i}")
    r = prof("\n".join(lines) + "\n")
    assert q(r)["ragged_rows"] == {"count": 2, "examples": [3, 50]}
    assert q(r)["invalid_values"]["b"]["examples"] == [{"row": 10, "value": "oops"}, {"row": 60, "value": "oops"}]


def test_invalid_examples_carry_the_cell_as_read_cut_when_long():
    """The examples say what was wrong, not only where: the cell untrimmed, a long one cut."""
    long = "z" * 200
    cells = ["1"] * 30 + ["  12abc "] + ["2"] * 5 + [long] + ['"3,5"'] + ["4"] * 10
    r = prof("n\n" + "\n".join(cells) + "\n")
    assert r["schema"]["n"] == "int"
    assert q(r)["invalid_values"]["n"]["examples"] == [
        {"row": 31, "value": "  12abc "}, {"row": 37, "value": "z" * 80 + "\u2026"}, {"row": 38, "value": "3,5"}]


def test_invalid_examples_of_a_ragged_row_keep_its_value():
    # row 2 is ragged (its cell reaches the profile through the ragged path, out of order)
    r = prof("a,b\n1,1\n2,bad,extra\n" + "".join(f"{i},{i}\n" for i in range(3, 40)) + "40,worse\n")
    assert q(r)["invalid_values"]["b"]["examples"] == [{"row": 2, "value": "bad"}, {"row": 40, "value": "worse"}]


def test_ragged_rows_across_many_batches(monkeypatch):
    monkeypatch.setattr(profiler, "BLOCK_SIZE", 4096)
    monkeypatch.setattr(profiler, "RAGGED_FLUSH_ROWS", 7)
    lines = ["id,v"]
    ragged, invalid = [], []
    for i in range(1, 5001):
        if i % 97 == 0:
            lines.append(f"{i}")
            ragged.append(i)
        elif i % 89 == 0:
            lines.append(f"{i},bad")
            invalid.append(i)
        else:
            lines.append(f"{i},{i % 13}")
    r = prof("\n".join(lines) + "\n", max_invalid_examples=50)
    assert r["row_count"] == 5000
    assert q(r)["ragged_rows"]["count"] == len(ragged)
    assert q(r)["ragged_rows"]["examples"] == ragged[:50]
    assert q(r)["invalid_values"]["v"]["examples"] == [{"row": i, "value": "bad"} for i in invalid[:50]]
    assert q(r)["missing_values"]["v"]["count"] == len(ragged)
    assert r["statistics"]["id"] == {"min": 1, "max": 5000, "avg": 2500.5, "count": 5000}


# --------------------------------------------------------------------------- errors and edge files
@pytest.mark.parametrize("data", [b"", b"   \n\n\t \r\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf  \n"])
def test_empty_file(data):
    with pytest.raises(CsvProfileError, match="^file is empty$"):
        prof(data)


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\x00" * 10])  # UTF-16: its own message
def test_binary_file(data):
    with pytest.raises(CsvProfileError, match="binary"):
        prof(data)


@pytest.mark.parametrize("csv", ["a,b,c\n", "a,b,c", "\n\na;b;c\n\n"])
def test_header_only_file(csv):
    r = prof(csv)
    assert r["row_count"] == 0
    assert r["columns"] == ["a", "b", "c"]
    assert r["schema"] == {"a": "string", "b": "string", "c": "string"}
    assert r["statistics"] == {}
    assert q(r) == {"total_rows": 0, "has_issues": False, "missing_values": {}, "invalid_values": {}}


def test_unparseable_file(monkeypatch):
    # A record longer than the largest block pyarrow may use cannot be parsed.
    monkeypatch.setattr(profiler, "BLOCK_SIZE", 1024)
    monkeypatch.setattr(profiler, "MAX_BLOCK_SIZE", 4096)
    with pytest.raises(CsvProfileError, match="^CSV parsing failed: "):
        prof("a,b\n1," + "x" * 20_000 + "\n2,3\n")


def test_long_record_grows_the_block(monkeypatch):
    monkeypatch.setattr(profiler, "BLOCK_SIZE", 1024)
    r = prof("a,b\n1," + "x" * 20_000 + "\n2,3\n")
    assert r["row_count"] == 2


def test_error_message_is_human_readable():
    with pytest.raises(CsvProfileError) as exc:
        prof(b"")
    assert str(exc.value) == "file is empty"


# --------------------------------------------------------------------------- sources
def test_path_bytesio_and_non_seekable_stream_agree(tmp_path):
    data = ("id,x\n" + "".join(f"{i},{i * 0.5}\n" for i in range(1000))).encode()
    path = tmp_path / "f.csv"
    path.write_bytes(data)

    class Stream(io.RawIOBase):  # like an S3 StreamingBody: read() only
        def __init__(self, b: bytes) -> None:
            self._b = io.BytesIO(b)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buf) -> int:
            return self._b.readinto(buf)

    expected = profile_csv(path)
    assert profile_csv(str(path)) == expected
    assert profile_csv(io.BytesIO(data)) == expected
    assert profile_csv(Stream(data)) == expected
    with open(path, "rb") as f:
        assert profile_csv(f) == expected


def test_text_stream_is_rejected():
    with pytest.raises(TypeError, match="binary"):
        profile_csv(io.StringIO("a,b\n1,2\n"))


# --------------------------------------------------------------------------- unterminated quotes
@pytest.mark.parametrize("csv, row, swallowed, rows", [
    # the quote opens a middle field: the record has too few fields (ragged)
    ('a,b,c\n1,2,3\n4,"oops,6\n7,8,9\n10,11,12\n', 2, 2, 2),
    # the quote opens the last field: the record looks whole
    ('a,b,c\n1,2,3\n4,5,"oops\n7,8,9\n10,11,12\n', 2, 2, 2),
    ('a,b,c\r\n1,2,3\r\n4,5,"oo""ps\r\n7,8,9', 2, 1, 2),           # CRLF, an escaped quote, no final newline
    ('a,b,c\n1,2,3\n4,5,"oops', 2, 0, 2),                          # on the last line: swallows nothing
    ('a;b\n1;"x""\n2;3\n', 1, 1, 1),                              # an escaped quote is not a close
], ids=["middle-field", "last-field", "crlf-escaped", "last-line", "escaped-only"])
def test_an_unterminated_quote_reports_the_lines_it_swallowed(csv, row, swallowed, rows):
    r = prof(csv)
    assert r["row_count"] == rows
    assert q(r)["unterminated_quote"] == {"row": row, "lines_swallowed": swallowed}
    assert q(r)["has_issues"] is True


@pytest.mark.parametrize("csv", [
    'a,b,c\n1,2,"multi\nline"\n',                 # a closed quoted field with newlines
    'a,b,c\n1,2,"ends with ""quote"""\n',         # escaped quotes, closed
    'a,b\n1,"x\n"\n',                             # a quoted cell ending in a newline, closed
    'a,b\n1,x"\n',                                # a quote inside an unquoted field is data
    'a,b,c\n1,"x,y"\n',                           # ragged, but every quote closed
])
def test_closed_quotes_are_not_reported(csv):
    assert "unterminated_quote" not in q(prof(csv))


def test_a_1mb_cell_is_a_cell():
    """Python's csv module refuses fields over 128 KiB by default: the sniffer once called
    such a file's header unreadable."""
    r = prof(b"a,b\n1," + b"x" * (1 << 20) + b"\n2,y\n")
    assert (r["row_count"], r["columns"], r["schema"]) == (2, ["a", "b"], {"a": "int", "b": "string"})


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_is_named_not_called_binary(encoding):
    with pytest.raises(CsvProfileError, match="^UTF-16 text is not supported: save the file as UTF-8$"):
        prof("a,b\n1,2\n".encode(encoding))
