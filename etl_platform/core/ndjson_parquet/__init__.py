"""Single-node NDJSON -> Snappy Parquet engine of pipeline B (pyarrow + orjson, no AWS).

``convert_manifest(files, manifest_id=..., output_dir=..., rejects_path=..., mode=...)``
converts the NDJSON files of one manifest into Parquet parts named by
``output_file_name(manifest_id, part)``.  A Spark/Glue job that must produce the same
rows and values for the same manifest has to follow exactly these conventions.

Input and lines
    * A line is the text between ``\\n`` characters; a trailing ``\\r`` and JSON
      whitespace around the object are ignored; a UTF-8 BOM at the start of a file is
      ignored.  ``line_number`` is 1-based and counts every line, blank ones included.
    * Blank (whitespace-only) lines are ignored: neither rows nor rejects.
    * Every other line must be exactly one JSON object.  Otherwise it is REJECTED, never
      dropped: bad JSON (including ``NaN``/``Infinity`` and numbers beyond double range),
      a line that is not valid UTF-8 (error ``invalid UTF-8 at byte N of the line``; such
      bytes never reach Parquet, whose readers would refuse the whole part),
      a JSON array/scalar, several objects on one line, an object spread over several
      lines (each of its lines is rejected), and an object with a duplicate key at any
      depth (one of the values would be lost), and an object nested deeper than
      ``MAX_DEPTH`` (32) levels of objects/arrays, the line's own object being level 1
      (error ``nested deeper than 32 levels``, in both modes: Arrow's IPC and Parquet
      writers refuse far deeper types, and nothing may recurse without bound).  Each reject is one NDJSON record in
      ``rejects_path``: ``{"source_file", "line_number", "error", "line"}`` (see
      :mod:`.rejects`); the rest of the file is still converted.
    * Ledger: ``rows_in`` (valid + rejected lines) == ``rows_out + rejected``.

Output
    * Columns: the union of the top-level keys of the whole manifest, sorted by name
      (Unicode code point order; keys are case-sensitive, so ``x`` and ``X`` are two
      columns), then ``_source_file`` (``SourceFile.source_uri``) and ``_manifest_id``.
      A source key named ``_source_file``/``_manifest_id`` is kept as
      ``_source_file__input``/``_manifest_id__input``, with ``__input`` appended again
      as often as needed to differ from every other key (``output_names``).  A key absent from a record -> null.
    * Every part has the same (manifest-wide) schema; rows are in manifest order, then
      line order.  Parts roll at about ``target_file_bytes`` of Parquet (Snappy), row
      groups hold about ``row_group_bytes`` of Arrow data.  Part names are deterministic;
      parts are written under a temporary name and renamed, and parts of the same
      manifest left by an earlier run with a higher part number are deleted, so a retry
      overwrites.  A manifest without any valid row produces no part.
    * Strings that look like ISO dates/timestamps stay strings, with their original text.

mode="string" (default; the seed's "cast every column to string")
    Every top-level column is a string.  Value text (:mod:`.render`): strings unquoted;
    integers in decimal, every digit kept at any size and nesting (a line holding an
    integer of 16+ digits is parsed with Python's exact ints, never through a double);
    doubles: integral and ``|x| < 2**53`` -> integer text
    (``1.0`` -> ``1``), otherwise the shortest round-trip digits, plain when the
    decimal exponent is in -6..9, else ``1.5e-7`` / ``1.2345e+10`` form;
    ``true``/``false``; objects/arrays as compact canonical JSON with object keys
    sorted and null members omitted (``{"a":1,"b":[1,null]}``); JSON null -> null.

mode="typed"
    Arrow types unified over the manifest (:mod:`.schema`): int+double -> double,
    struct fields unioned (sorted by name), lists unified element-wise, null-only
    fields -> string, anything irreconcilable (number+string, scalar+struct, ...) ->
    string holding the value's text as in string mode.  Integers: int64 exact
    (limits included); an integer wider than int64 is typed string, its exact decimal
    text, so a field holding one becomes a string column and its int64 values their
    decimal text (``-9223372036854775808``), never a rounded double.
    A field mixing integers and fractions is double (the int+double rule): there, as
    in JSON readers generally, integers beyond 2**53 are rounded.

Parquet layout
    Snappy; dictionary encoding only for columns (including nested leaves) whose first
    source file has at most 20 % distinct values; statistics on; Arrow schema stored.

Errors
    A source_uri listed twice raises ``ValueError`` (rows would be duplicated).  A file
    that raises while it is read, parsed or spooled (pass 1: an unreadable path, content
    pyarrow refuses, memory) is left out, each with its reason in
    ``ConversionResult.failed`` (``source_uri -> "<Exception>: <message>"``), and the
    others convert: nothing of it reaches the rejects, the parts or the counts, so the
    ledger holds for the files converted.  When none converts, ``AllFilesFailed`` is raised
    (``raise_if_all_failed``, the rule of both engines: then the fault is more likely the
    run's than the files').  Errors of pass 2 (writing the parts) fail the manifest.  Parts and the rejects file are written under temporary names and
    only renamed into place when the whole manifest succeeded; the spool (Arrow IPC,
    under ``work_dir`` or ``output_dir``) is always deleted.

Spark parity (for the Glue job)
    Read lines as text (to keep line numbers and rejects), ``spark.sql.caseSensitive=true``,
    and compute values with the pure-Python reference functions exported here
    (``text_value``, ``canonical_json``, ``format_double``) in a UDF; reject lines exactly
    as listed above; sort columns by name; add ``_source_file``/``_manifest_id``.

Limits
    A file is held in memory while it is parsed (input files are 0.1-20 MB); memory does
    not grow with the number of files.  Typed mode only: in a field that mixes integers
    and fractions, integers beyond 2**53 are rounded (the column is double).  Lines
    holding an integer of 16+ digits are parsed one by one in Python (slower, exact).
"""

from .convert import (
    AllFilesFailed,
    DEFAULT_TARGET_FILE_BYTES,
    MANIFEST_ID_COLUMN,
    PROVENANCE_COLUMNS,
    SOURCE_FILE_COLUMN,
    ConversionResult,
    SourceFile,
    convert_manifest,
    failure_reason,
    output_file_name,
    output_names,
    raise_if_all_failed,
)
from .reader import MAX_DEPTH
from .render import canonical_json, format_double, text_value

__all__ = [
    "ConversionResult", "SourceFile", "convert_manifest", "output_file_name", "output_names",
    "AllFilesFailed", "failure_reason", "raise_if_all_failed",
    "MAX_DEPTH",
    "SOURCE_FILE_COLUMN", "MANIFEST_ID_COLUMN", "PROVENANCE_COLUMNS",
    "DEFAULT_TARGET_FILE_BYTES", "canonical_json", "format_double", "text_value",
]
