"""Canonical text of JSON values, columnar (pyarrow.compute) and as a Python reference.

The two implementations must agree byte for byte (tests check it on random values);
the Python functions are the specification a Spark job can reuse in a UDF.

Rules
-----
* integer (a JSON number that parsed as int64): decimal digits, ``-12``.
* double: if integral and ``|x| < 2**53`` -> written as an integer (``1.0`` -> ``1``,
  ``-0.0`` -> ``0``, ``1e3`` -> ``1000``), so a value reads the same whether its
  column was inferred int or float.  Otherwise the shortest digit string that
  round-trips to the same double, in plain notation when the decimal exponent ``k``
  (``x = d.ddd * 10**k``) satisfies ``-7 < k < 10`` (``0.000015``, ``1234567890.5``),
  else ``d[.ddd]e+k`` / ``d[.ddd]e-k`` (``5e-7``, ``1.23456789015e+10``, ``1e+300``).
* boolean: ``true`` / ``false``.
* string: the string itself at top level (:func:`text_value`); inside JSON text,
  RFC 8259 quoted: ``"`` -> ``\\"``, ``\\`` -> ``\\\\``, U+0000..U+001F ->
  ``\\b \\t \\n \\f \\r`` or ``\\u00xx``; everything else raw UTF-8.
* object: ``{"k":v,...}`` compact, members sorted by key (Unicode code point order),
  members whose value is null OMITTED (after schema unification a missing key and
  a JSON ``null`` are indistinguishable, so the text must not depend on which keys
  other records of the batch happen to have).
* array: ``[v,...]`` compact, order kept, null elements written ``null``.
* null: SQL NULL at top level; ``null`` inside arrays.
"""

from __future__ import annotations

import functools
import json
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_S = pa.string()
_INT_LIMIT = 2.0 ** 53
_SHORT_ESCAPES = {8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}


# ----------------------------------------------------------------- Python reference

def format_double(x: float) -> str:
    """Canonical text of a finite double (see module rules)."""
    if x == int(x) and abs(x) < _INT_LIMIT:
        return str(int(x))
    sign, digits, exp = Decimal(repr(x)).as_tuple()
    ds = "".join(map(str, digits)).rstrip("0") or "0"
    exp += len(digits) - len(ds)                      # value = ds * 10**exp
    k = len(ds) + exp - 1                             # scientific exponent
    neg = "-" if sign else ""
    if -7 < k < 10:
        if k >= 0:
            whole, frac = ds[:k + 1].ljust(k + 1, "0"), ds[k + 1:]
        else:
            whole, frac = "0", "0" * (-k - 1) + ds
        return neg + whole + ("." + frac if frac else "")
    mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
    return f"{neg}{mant}e{'+' if k >= 0 else '-'}{abs(k)}"


def canonical_json(v) -> str:
    """Canonical compact JSON text of a parsed JSON value (Python objects)."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return format_double(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical_json(v[k])
                              for k in sorted(v) if v[k] is not None) + "}"
    if isinstance(v, list):
        return "[" + ",".join(canonical_json(e) for e in v) + "]"
    raise TypeError(f"not a JSON value: {type(v).__name__}")


def text_value(v) -> str | None:
    """Top-level string-mode text: strings unquoted, null -> None, else canonical JSON."""
    if v is None or isinstance(v, str):
        return v
    return canonical_json(v)


# ----------------------------------------------------------------- columnar
# A value's text is built as a list of "pieces" (literal scalars and string arrays) whose
# element-wise concatenation is the text; a nested value's pieces are spliced into its
# parent's, so a whole struct column costs ONE concatenation kernel instead of one per
# level and per quoted string (profile: those joins were ~35 % of string-mode rendering).

@functools.lru_cache(maxsize=4096)
def _lit(s: str) -> pa.Scalar:
    return pa.scalar(s, _S)


def _any(mask: pa.Array) -> bool:
    return bool(pc.any(mask).as_py())


def _double_text(arr: pa.Array) -> pa.Array:
    integral = pc.and_(pc.equal(arr, pc.trunc(arr)), pc.less(pc.abs(arr), _INT_LIMIT))
    text = pc.cast(arr, _S)
    if not _any(integral):
        return text
    as_int = pc.cast(pc.cast(pc.if_else(integral, arr, 0.0), pa.int64()), _S)
    return pc.if_else(integral, as_int, text)


def _value_bytes(arr: pa.Array) -> np.ndarray:
    bufs = arr.buffers()
    if bufs[2] is None or len(arr) == 0:
        return np.zeros(0, np.uint8)
    offsets = np.frombuffer(bufs[1], np.int32)
    return np.frombuffer(bufs[2], np.uint8)[offsets[arr.offset]:offsets[arr.offset + len(arr)]]


def _escape(arr: pa.Array) -> pa.Array:
    data = _value_bytes(arr)
    if data.size and (data < 0x5d).any():              # any of \ (0x5c), " (0x22), controls
        if (data == 0x5c).any():
            arr = pc.replace_substring(arr, "\\", "\\\\")
        if (data == 0x22).any():
            arr = pc.replace_substring(arr, '"', '\\"')
        controls = data[data < 0x20]
        for code in np.unique(controls).tolist() if controls.size else ():
            arr = pc.replace_substring(arr, chr(code), _SHORT_ESCAPES.get(code, f"\\u{code:04x}"))
    return arr


def _join(pieces: list, n: int) -> pa.Array:
    """Element-wise concatenation of pieces (adjacent literals merged); null if any array is."""
    merged: list = []
    for p in pieces:
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] += p
        else:
            merged.append(p)
    if len(merged) == 1 and not isinstance(merged[0], str):
        return merged[0]
    if all(isinstance(p, str) for p in merged):
        return pa.array(["".join(merged)] * n, _S)
    return pc.binary_join_element_wise(*(_lit(p) if isinstance(p, str) else p for p in merged), _lit(""))


def _mask_nulls(text: pa.Array, like: pa.Array) -> pa.Array:
    if like.null_count:
        return pc.if_else(pc.is_valid(like), text, pa.scalar(None, _S))
    return text


def _struct_pieces(arr: pa.StructArray) -> list:
    """Members sorted by key; a null member is omitted.  A comma precedes a member when
    an earlier member is present in that row: statically when an earlier member is never
    null (the usual case), else per row.  A nullable member becomes one array holding ""
    where it is null (``null_handling="skip"`` is avoided: in pyarrow 26 it drops rows
    whose inputs are all null)."""
    t, n = arr.type, len(arr)
    pieces: list = ["{"]
    always, present = False, None          # an earlier member never null / rows with one
    for name in sorted(t.field(i).name for i in range(t.num_fields)):
        child = arr.field(t.get_field_index(name))
        if child.null_count == len(child) or pa.types.is_null(child.type):
            continue
        key = json.dumps(name, ensure_ascii=False) + ":"
        sep = "," if always else ("" if present is None else
                                  pc.if_else(present, _lit(","), _lit("")))
        if child.null_count == 0:
            pieces += [sep, key, *_pieces(child)]
            always = True
        else:
            member = _join([sep, key, json_text(child)], n)
            pieces.append(pc.fill_null(member, _lit("")))
            valid = pc.is_valid(child)
            present = valid if present is None else pc.or_(present, valid)
    pieces.append("}")
    return pieces


def _list_pieces(arr: pa.Array) -> list:
    if isinstance(arr, pa.LargeListArray):
        arr = arr.cast(pa.list_(arr.type.value_type))
    values = arr.values
    if pa.types.is_null(values.type):     # pyarrow's JSON reader may give list<null> a short child
        values = pa.nulls(arr.offsets[-1].as_py() if len(arr) else 0)
    values = json_text(values)
    if values.null_count:
        values = pc.fill_null(values, _lit("null"))
    mask = pc.is_null(arr) if arr.null_count else None
    lists = pa.ListArray.from_arrays(arr.offsets, values, mask=mask)
    return ["[", pc.binary_join(lists, _lit(",")), "]"]   # a null list -> null join


def _pieces(arr: pa.Array) -> list:
    """Pieces of the canonical JSON text of ``arr``; the concatenation is null where ``arr`` is."""
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return ['"', _escape(pc.cast(arr, _S)), '"']
    if pa.types.is_struct(t):
        pieces = _struct_pieces(arr)
        return [_mask_nulls(_join(pieces, len(arr)), arr)] if arr.null_count else pieces
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _list_pieces(arr)
    if pa.types.is_null(t):
        return [pa.nulls(len(arr), _S)]
    if pa.types.is_boolean(t):
        return [pc.if_else(arr, _lit("true"), _lit("false"))]
    if pa.types.is_integer(t):
        return [pc.cast(arr, _S)]
    if pa.types.is_floating(t):
        return [_double_text(pc.cast(arr, pa.float64()))]
    raise TypeError(f"no canonical JSON text for Arrow type {t}")


def json_text(arr: pa.Array) -> pa.Array:
    """Canonical JSON text per element (string array); null elements stay null."""
    return _join(_pieces(arr), len(arr))


def text_column(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Top-level string-mode text (strings unquoted, nested as canonical JSON)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    t = arr.type
    if pa.types.is_string(t):
        return arr
    if pa.types.is_large_string(t):
        return pc.cast(arr, _S)
    return json_text(arr)
