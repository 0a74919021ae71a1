"""Leaf-level JSON text helpers for :mod:`etl_platform.core.arrow_json`.

Everything works on whole arrays (Arrow kernels, numpy on raw buffers) and
returns ``large_string`` text so a chunk may exceed 2 GiB; the type rules are
documented in ``arrow_json``.
"""

from __future__ import annotations

import binascii

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TEXT = pa.large_string()


def lit(text: str) -> pa.Scalar:
    return pa.scalar(text, TEXT)


EMPTY, QUOTE, NULL, COMMA = lit(""), lit('"'), lit("null"), lit(",")
NULL_TEXT = pa.scalar(None, TEXT)
_SHORT_ESCAPES = {8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}


NULL_AS_TEXT = pc.JoinOptions(null_handling="replace", null_replacement="null")


def join(*parts) -> pa.Array:
    """Concatenate strings element-wise; a null part makes the result null."""
    return pc.binary_join_element_wise(*parts, EMPTY)


def join_members(*parts) -> pa.Array:
    """Concatenate object members; a null value is written ``null`` (no fill_null copy)."""
    return pc.binary_join_element_wise(*parts, EMPTY, options=NULL_AS_TEXT)


def quote(arr: pa.Array, suffix: str = "") -> pa.Array:
    return join(QUOTE, arr, lit(suffix + '"'))


def _offsets_and_data(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Slice-aware int64 offsets (rebased to 0) and the bytes they index."""
    bufs = arr.buffers()
    width = np.int64 if arr.type in (TEXT, pa.large_binary()) else np.int32
    offsets = np.frombuffer(bufs[1], width)[arr.offset:arr.offset + len(arr) + 1]
    offsets = offsets.astype(np.int64)
    if bufs[2] is None or len(offsets) == 0:
        return np.zeros(len(arr) + 1, np.int64), np.zeros(0, np.uint8)
    data = np.frombuffer(bufs[2], np.uint8)[offsets[0]:offsets[-1]]
    return offsets - offsets[0], data


def _string_from_numpy(offsets, data, nulls_like: pa.Array) -> pa.Array:
    """Build a large_string array with the null positions of ``nulls_like``."""
    bitmap = pc.is_valid(nulls_like).buffers()[1] if nulls_like.null_count else None
    return pa.Array.from_buffers(TEXT, len(offsets) - 1,
                                 [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)])


def with_nulls_of(text: pa.Array, arr: pa.Array) -> pa.Array:
    """``text`` (fresh, null-free) with ``arr``'s nulls, by swapping in a validity bitmap."""
    if not arr.null_count:
        return text
    assert text.offset == 0 and text.null_count == 0
    return pa.Array.from_buffers(TEXT, len(text), [pc.is_valid(arr).buffers()[1], *text.buffers()[1:]])


def escape_string(arr: pa.Array) -> pa.Array:
    """RFC 8259 JSON string text (with quotes) for a large_string array."""
    offsets, data = _offsets_and_data(arr)
    if data.size and data.max() >= 0x80:
        try:
            arr.validate(full=True)
        except pa.ArrowInvalid:  # malformed file: repair rather than emit bad UTF-8
            raw = arr.cast(pa.large_binary()).to_pylist()
            arr = pa.array([None if b is None else b.decode("utf-8", "replace") for b in raw], TEXT)
            offsets, data = _offsets_and_data(arr)
    controls = data[data < 0x20]
    present = {b for b in (92, 34) if (data == b).any()}
    if 92 in present:  # backslash first: later replacements introduce backslashes
        arr = pc.replace_substring(arr, "\\", "\\\\")
    if 34 in present:
        arr = pc.replace_substring(arr, '"', '\\"')
    for code in np.flatnonzero(np.bincount(controls, minlength=32)) if controls.size else ():
        code = int(code)
        arr = pc.replace_substring(arr, chr(code), _SHORT_ESCAPES.get(code, f"\\u{code:04x}"))
    return quote(arr)


def encode_base64(arr: pa.Array) -> pa.Array:
    """Per-element base64: pad each value to 3 bytes, encode all at once, fix padding."""
    arr = arr.cast(pa.large_binary())
    offsets, data = _offsets_and_data(arr)
    lengths = np.diff(offsets)
    padded_off = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum((lengths + 2) // 3 * 3, out=padded_off[1:])
    if padded_off[-1] == offsets[-1]:
        padded = data
    else:
        padded = np.zeros(padded_off[-1], np.uint8)
        shift = np.repeat(padded_off[:-1] - offsets[:-1], lengths)
        padded[shift + np.arange(data.size)] = data
    text = np.frombuffer(binascii.b2a_base64(padded, newline=False), np.uint8).copy()
    text_off = padded_off // 3 * 4
    ends, rest = text_off[1:], lengths % 3
    text[ends[rest == 1] - 2] = ord("=")
    text[ends[rest != 0] - 1] = ord("=")
    return quote(_string_from_numpy(text_off, text, arr))


def encode_timestamp(arr: pa.Array) -> pa.Array:
    unit, tz = arr.type.unit, arr.type.tz
    text = arr.view(pa.timestamp(unit)).cast(TEXT)  # stored values are UTC already
    offsets, data = _offsets_and_data(text)
    data = data.copy()
    data[data == 0x20] = ord("T")  # Arrow writes "date time"; the only space
    return quote(_string_from_numpy(offsets, data, arr), "Z" if tz else "")


def encode_float(arr: pa.Array) -> pa.Array:
    text = arr.cast(TEXT)
    finite = pc.is_finite(arr)
    if pc.all(finite).as_py() is False:
        text = pc.if_else(finite, text, NULL_TEXT)
    return text


_HEX_PAIRS = np.frombuffer("".join(f"{i:02x}" for i in range(256)).encode(), np.uint8).reshape(256, 2)
_UUID_DASHES = (9, 14, 19, 24)  # positions in '"8-4-4-4-12"' (after the opening quote)


def encode_uuid(arr: pa.Array) -> pa.Array:
    """16-byte UUIDs as canonical ``"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"`` strings."""
    storage = arr.storage if isinstance(arr, pa.ExtensionArray) else arr
    raw = np.frombuffer(storage.buffers()[1], np.uint8)[storage.offset * 16:(storage.offset + len(arr)) * 16]
    hexed = _HEX_PAIRS[raw.reshape(-1, 16)].reshape(-1, 32)
    text = np.full((len(arr), 38), ord("-"), np.uint8)
    text[:, 0] = text[:, 37] = ord('"')
    columns = [c for c in range(1, 37) if c not in _UUID_DASHES]
    text[:, columns] = hexed
    offsets = np.arange(len(arr) + 1, dtype=np.int64) * 38
    return _string_from_numpy(offsets, text.reshape(-1), storage)
