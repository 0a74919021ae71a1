"""Schema unification across the files of a manifest, and conforming tables to it.

Typed-mode unification (applied recursively, commutative and associative, so the
result does not depend on file order):

* ``null`` (a field that was always null / absent) + T -> T
* int64 + double -> double
* struct + struct -> struct with the union of the fields (children unified)
* list<A> + list<B> -> list<unify(A, B)>
* anything else that differs (number + string, bool + number, struct + scalar,
  list + struct, ...) -> string; values are then written as their canonical text
  (:mod:`.render`: strings unchanged, ``42``, ``true``, nested as JSON text).

After the whole manifest is unified (:func:`finalize_type`): fields are sorted by
name (code point order, top level and inside structs), a type that is still
``null`` becomes string (all null), and a struct without fields (an object that was
always ``{}``) becomes string (``"{}"``), because Parquet cannot store either.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from .render import text_column

STRING = pa.string()


def _is_num(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t)


def unify_types(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    if a == b:
        return a
    if pa.types.is_null(a):
        return b
    if pa.types.is_null(b):
        return a
    if _is_num(a) and _is_num(b):
        return pa.float64()
    if pa.types.is_struct(a) and pa.types.is_struct(b):
        fields = {f.name: f.type for f in a}
        for f in b:
            fields[f.name] = unify_types(fields[f.name], f.type) if f.name in fields else f.type
        return pa.struct([pa.field(n, t) for n, t in fields.items()])
    if pa.types.is_list(a) and pa.types.is_list(b):
        return pa.list_(unify_types(a.value_type, b.value_type))
    return STRING


def unify_fields(acc: dict[str, pa.DataType], schema: pa.Schema) -> None:
    """Fold ``schema`` into ``acc`` (name -> unified type), in place."""
    for f in schema:
        acc[f.name] = unify_types(acc[f.name], f.type) if f.name in acc else f.type


def finalize_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_null(t):
        return STRING
    if pa.types.is_struct(t):
        if t.num_fields == 0:
            return STRING
        return pa.struct(sorted((pa.field(f.name, finalize_type(f.type)) for f in t),
                                key=lambda f: f.name))
    if pa.types.is_list(t):
        return pa.list_(finalize_type(t.value_type))
    return t


def conform(arr: pa.Array, t: pa.DataType) -> pa.Array:
    """Cast ``arr`` (a type that unifies into ``t``) to exactly ``t``."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if arr.type == t:
        return arr
    if pa.types.is_string(t):
        return text_column(arr)
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), t)
    if pa.types.is_floating(t):
        return pc.cast(arr, t)
    mask = pc.is_null(arr) if arr.null_count else None
    if pa.types.is_struct(t):
        have = {arr.type.field(i).name: i for i in range(arr.type.num_fields)}
        children = [conform(arr.field(have[f.name]), f.type) if f.name in have
                    else pa.nulls(len(arr), f.type) for f in t]
        return pa.StructArray.from_arrays(children, fields=list(t), mask=mask)
    if pa.types.is_list(t):
        values = arr.values
        if pa.types.is_null(values.type):  # pyarrow's JSON reader may give list<null> a short child
            values = pa.nulls(arr.offsets[-1].as_py() if len(arr) else 0)
        values = conform(values, t.value_type)
        return pa.ListArray.from_arrays(arr.offsets, values, type=t, mask=mask)
    raise TypeError(f"cannot conform {arr.type} to {t}")


# ----------------------------------------------------------------- timestamp hints
# pyarrow's JSON reader turns ISO-looking strings ("2024-01-01", "2024-01-01T10:00:00Z")
# into timestamps, losing the original text.  Such fields are re-read as strings.

def has_timestamp(t: pa.DataType | pa.Schema) -> bool:
    if isinstance(t, pa.Schema):
        return any(has_timestamp(f.type) for f in t)
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return True
    if pa.types.is_struct(t):
        return any(has_timestamp(f.type) for f in t)
    if pa.types.is_list(t):
        return has_timestamp(t.value_type)
    return False


def timestamps_to_string(t):
    if isinstance(t, pa.Schema):
        return pa.schema([pa.field(f.name, timestamps_to_string(f.type)) for f in t])
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return STRING
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, timestamps_to_string(f.type)) for f in t])
    if pa.types.is_list(t):
        return pa.list_(timestamps_to_string(t.value_type))
    return t


def timestamp_hints(schema: pa.Schema) -> list[pa.Field]:
    """The parts of ``schema`` that lead to timestamps, with the timestamps as strings."""
    def prune(t):
        if pa.types.is_timestamp(t) or pa.types.is_date(t):
            return STRING
        if pa.types.is_struct(t):
            kids = [pa.field(f.name, p) for f in t if (p := prune(f.type)) is not None]
            return pa.struct(kids) if kids else None
        if pa.types.is_list(t):
            p = prune(t.value_type)
            return pa.list_(p) if p is not None else None
        return None
    return [pa.field(f.name, p) for f in schema if (p := prune(f.type)) is not None]


def merge_hints(old: list[pa.Field], new: list[pa.Field]) -> list[pa.Field]:
    merged = {f.name: f.type for f in old}
    for f in new:
        if f.name not in merged:
            merged[f.name] = f.type
        else:
            u = unify_types(merged[f.name], f.type)
            merged[f.name] = u if u != STRING or merged[f.name] == STRING else merged[f.name]
    return [pa.field(n, t) for n, t in merged.items()]


def has_nonfinite(arr: pa.Array) -> bool:
    """True if a double anywhere in ``arr`` is NaN/Infinity (pyarrow accepts NaN tokens; JSON does not)."""
    t = arr.type
    if pa.types.is_floating(t):
        finite = pc.is_finite(arr)
        return finite.null_count < len(finite) and not pc.all(finite).as_py()
    if pa.types.is_struct(t):
        return any(has_nonfinite(arr.field(i)) for i in range(t.num_fields))
    if pa.types.is_list(t):
        return has_nonfinite(arr.values)
    return False
