import gzip

import pytest

CLEAN = (
    "name,age,salary,join_date\n"
    "Alice,25,45000.00,2020-01-15\n"
    "Bob,65,150000.00,2019-03-01\n"
    "Chloé,42,75000.50,2021-07-30\n"
    "Dan,36,60000.00,2018-11-02\n"
).encode()

MISSING_AND_INVALID = (
    "name,age,salary,join_date\n"
    "a,30,1000.5,2020-01-01\n"
    "b,31,,2020-01-02\n"
    "c,abc,2000,2020-01-03\n"
    "d,33,n/a,2020-01-04\n"
    "e,34,3000,2020-01-05\n"
    "f,35,4000,2020-01-06\n"
    "g,36,5000,2020-01-07\n"
    "h,37,6000,2020-01-08\n"
    "i,38,7000,2020-01-09\n"
    "j,39,8000,2020-01-10\n"
    "k,40,9000,2020-01-11\n"
).encode()

SEMICOLON_LATIN1 = "nom;âge;ville\nJosé;34;Montréal\nRenée;29;Genève\nFrançois;51;Liège\n".encode("latin-1")


@pytest.fixture
def sample_files():
    return {
        "clean.csv": CLEAN,
        "missing_invalid.csv": MISSING_AND_INVALID,
        "malformed.csv": gzip.compress(b"\x00\x01binary" * 500),
        "empty.csv": b"",
        "header_only.csv": b"name,age,salary\n",
        "semicolon_latin1.csv": SEMICOLON_LATIN1,
    }
