"""The event log: one row per relocation, payment or policy change, with the reason in words.

Every row says what happened (year, rule id, source, target, function type, units, amount and
its unit), which plan clause it implements, and why, in English and Chinese. The dashboard's
"why did this happen?" answers are these rows.

A rule logs one event with `add`, or a whole array of them with `add_many` (e.g. every energy
delivery of the year). `add_many` takes columns; a text column may be given as a function that
writes all its sentences, called only when the log is first read, so a year with a hundred thousand
payments does not spend its time formatting sentences nobody has asked for yet. The rows, and their
order, are the same either way. A text column may also be (or return) a pyarrow string array: the big
blocks' sentences are built that way, column-wise, by the `text_*` helpers at the end of this module
(`text_number` formats exactly as Python's `format` does), so writing a year's events never turns
tens of thousands of sentences into Python objects.

A long run that writes as it goes (`regionsim run`) takes each year's events out of the log as an Arrow
table (`take_table`) or drops them (`discard`), so the log never holds more than one year; the blocks
taken are gone, but `len` and `block_count` keep counting them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

COLUMNS = (
    "year",
    "rule",
    "kind",
    "source",
    "target",
    "function_type",
    "units",
    "amount",
    "unit",
    "clause",
    "why_en",
    "why_zh",
    "detail",
)
NUMERIC = {"year": "int64", "units": "int64", "amount": "float64"}

Column = Any
"""A column of `add_many`: one value for every row, a sequence with one value per row, or a
function returning that sequence (text columns; called when the log is read)."""


class _Block:
    """`count` events stored as columns; lazy text columns are rendered on first read."""

    __slots__ = ("columns", "count")

    def __init__(self, count: int, columns: dict[str, Column]):
        self.count = count
        self.columns = columns

    def text(self, name: str) -> Column:
        """A column as given (a lazy text column rendered now, once)."""
        value = self.columns[name]
        if callable(value):
            value = self.columns[name] = value()
        return value

    def column(self, name: str) -> np.ndarray:
        value = self.text(name)
        dtype = NUMERIC.get(name, object)
        if isinstance(value, (str, int, float, np.integer, np.floating)):
            out = np.empty(self.count, dtype=dtype)
            out[:] = value
            return out
        if dtype is object:
            out = np.empty(self.count, dtype=object)
            out[:] = value.tolist() if isinstance(value, np.ndarray) else value.to_pylist() if _is_arrow(value) else list(value)
            return out
        return np.asarray(value, dtype=dtype)


class EventLog:
    """Rows appended by the rules during a step; read as a DataFrame."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []
        """Single rows added since the last block (flushed into a block before the next one)."""
        self._blocks: list[_Block | list[tuple[Any, ...]]] = []
        self._count = 0
        self._taken = 0
        """Blocks taken out (`take_table`, `discard`): block numbers stay those of the whole log."""

    def add(
        self,
        year: int,
        rule: str,
        kind: str,
        source: str,
        target: str,
        *,
        function_type: str = "",
        units: int = 0,
        amount: float = 0.0,
        unit: str = "",
        clause: str = "",
        why_en: str = "",
        why_zh: str = "",
        detail: str = "",
    ) -> None:
        """Append one event."""
        self.rows.append(
            (int(year), rule, kind, source, target, function_type, int(units), float(amount), unit, clause, why_en, why_zh, detail)
        )

    def add_many(
        self,
        count: int,
        year: int,
        rule: str,
        kind: str,
        source: Column,
        target: Column,
        *,
        function_type: Column = "",
        units: Column = 0,
        amount: Column = 0.0,
        unit: Column = "",
        clause: Column = "",
        why_en: Column | Callable[[], Sequence[str]] = "",
        why_zh: Column | Callable[[], Sequence[str]] = "",
        detail: Column | Callable[[], Sequence[str]] = "",
    ) -> None:
        """Append `count` events at once, in order; each field is a scalar, a column or a text function."""
        if count == 0:
            return
        self._flush()
        self._blocks.append(
            _Block(
                count,
                {
                    "year": int(year),
                    "rule": rule,
                    "kind": kind,
                    "source": source,
                    "target": target,
                    "function_type": function_type,
                    "units": units,
                    "amount": amount,
                    "unit": unit,
                    "clause": clause,
                    "why_en": why_en,
                    "why_zh": why_zh,
                    "detail": detail,
                },
            )
        )
        self._count += count

    def _flush(self) -> None:
        if self.rows:
            self._blocks.append(self.rows)
            self._count += len(self.rows)
            self.rows = []

    def __len__(self) -> int:
        return self._count + len(self.rows)

    def block_count(self) -> int:
        """How many blocks of events the log holds (it only appends): `frame(start=…)` reads from one on."""
        self._flush()
        return self._taken + len(self._blocks)

    def _held(self, start: int) -> list[_Block | list[tuple[Any, ...]]]:
        """The blocks from number `start` on (all still held)."""
        self._flush()
        if start < self._taken:
            raise ValueError(f"events of blocks {start}…{self._taken - 1} were taken out of the log (written to disk)")
        return self._blocks[start - self._taken :]

    def frame(self, start: int = 0) -> pd.DataFrame:
        """All events so far (or those of blocks `start` on), one row each, in the order they happened."""
        blocks = self._held(start)
        dtypes = NUMERIC | {c: "object" for c in COLUMNS if c not in NUMERIC}
        if not blocks:
            return pd.DataFrame([], columns=list(COLUMNS)).astype(dtypes)
        parts: dict[str, list[np.ndarray]] = {name: [] for name in COLUMNS}
        for block in blocks:
            if isinstance(block, list):
                for name, values in zip(COLUMNS, zip(*block, strict=True), strict=True):
                    array = np.empty(len(block), dtype=NUMERIC.get(name, object))
                    array[:] = values
                    parts[name].append(array)
            else:
                for name in COLUMNS:
                    parts[name].append(block.column(name))
        return pd.DataFrame({name: np.concatenate(parts[name]) for name in COLUMNS}).astype(dtypes)

    def table(self, start: int = 0):
        """The events of blocks `start` on as a pyarrow Table of `arrow_schema()`, without pandas: the rows
        and values of `frame(start)`, built column by column (a repeated value costs nothing per row)."""
        import pyarrow as pa

        schema = arrow_schema()
        pieces = []
        for block in self._held(start):
            if isinstance(block, list):
                columns = zip(*block, strict=True)
                arrays = [_arrow_column(values, len(block), schema.field(name).type) for name, values in zip(COLUMNS, columns, strict=True)]
            else:
                arrays = [_arrow_column(block.text(name), block.count, schema.field(name).type) for name in COLUMNS]
            pieces.append(pa.Table.from_arrays(arrays, schema=schema))
        return pa.concat_tables(pieces) if pieces else schema.empty_table()

    def take_table(self):
        """`table()` of every block held, which the log then forgets (they are written; memory stays one year's)."""
        table = self.table(self._taken)
        self.discard()
        return table

    def discard(self) -> None:
        """Forget every block held, unread (a run that does not write events)."""
        self._flush()
        self._taken += len(self._blocks)
        self._blocks = []


def arrow_schema():
    """The Arrow schema of the event table: int64 year and units, float64 amount, text for the rest."""
    import pyarrow as pa

    kinds = {"int64": pa.int64(), "float64": pa.float64()}
    return pa.schema([(name, kinds[NUMERIC[name]] if name in NUMERIC else pa.string()) for name in COLUMNS])


def _arrow_column(value: Any, count: int, kind: Any):
    """One column of a block as an Arrow array: a scalar repeated, or a sequence (converted as `frame` reads it)."""
    import pyarrow as pa

    if isinstance(value, (str, int, float, np.integer, np.floating)):
        if pa.types.is_string(kind):
            value = str(value)
        elif pa.types.is_integer(kind):
            value = int(value)
        else:
            value = float(value)
        return pa.repeat(pa.scalar(value, kind), count)
    if _is_arrow(value):
        return value if value.type == kind else value.cast(kind)
    if not pa.types.is_string(kind):
        return pa.array(np.asarray(value, dtype=np.int64 if pa.types.is_integer(kind) else np.float64), type=kind)
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        return pa.array(value, type=kind)
    values = value if isinstance(value, (list, np.ndarray)) else list(value)
    try:
        return pa.array(values, type=kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text (a label given as a number): as `str` writes it
        return pa.array([str(v) for v in values], type=kind)


def _is_arrow(value: Any) -> bool:
    """Whether a column is a pyarrow (chunked) array, without importing pyarrow for a run that never makes one."""
    return type(value).__module__.startswith("pyarrow")


# --- sentences built column-wise, as Arrow string arrays ------------------------------------------------
# Each helper returns, for a whole column of values, exactly the strings the Python expression in its
# docstring gives value by value (tests/test_event_text.py checks them on hard values and on whole runs).
# Numbers go through integers: |v|·10^digits is rounded to an integer k, and k is written with Arrow's
# integer-to-text cast; a value that this cannot round as Python does (within a few units in the last
# place of a tie, not finite, or too large) is formatted by Python itself.

_TIE_MARGIN = 2.0**-50
"""How close (relative to |v|·10^digits) to a tie a value is formatted by Python: |v|·10^digits is computed
with one rounding (relative error ≤ 2^-53), so outside this margin its integer rounding is the exact one."""


def _scaled(x: np.ndarray, digits: int, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """(k, exact): k = |x|·10^digits rounded half-even on the exact value, and where that k is certain."""
    with np.errstate(invalid="ignore", over="ignore"):
        s = np.abs(x) * 10.0**digits
        exact = np.isfinite(s) & (s < limit) & (np.abs(s - np.floor(s) - 0.5) > s * _TIE_MARGIN)
        k = np.where(exact, np.rint(np.where(exact, s, 0.0)), 0.0).astype(np.int64)
    return k, exact


def _patch(array: Any, exact: np.ndarray, values: np.ndarray, write: Callable[[float], str]):
    """`array` with the entries that are not `exact` written by Python (`write(value)`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if exact.all():
        return array
    rest = np.flatnonzero(~exact)
    replacements = pa.array([write(v) for v in values[rest].tolist()], type=pa.string())
    return pc.replace_with_mask(array, pa.array(~exact), replacements)


def _digits_text(k: np.ndarray, digits: int, *, strip: bool = False):
    """Integer part, and the `digits` decimals of k / 10^digits (zeros at the end dropped if `strip`, "0" kept)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    whole, part = np.divmod(k, 10**digits)
    whole_text = pc.cast(pa.array(whole), pa.string())
    if digits == 0:
        return whole_text, None
    decimals = pc.utf8_lpad(pc.cast(pa.array(part), pa.string()), digits, "0")
    if strip:
        decimals = pc.utf8_rtrim(decimals, "0")
        decimals = pc.if_else(pc.equal(pc.utf8_length(decimals), 0), "0", decimals)
    return whole_text, decimals


def _signed(x: np.ndarray, whole, decimals, suffix: str = ""):
    """A minus sign where x has its sign bit set (-0.0 too, as Python writes it), then whole[.decimals][suffix]."""
    import pyarrow as pa
    import pyarrow.compute as pc

    negative = np.signbit(x)
    parts = [pc.if_else(pa.array(negative), "-", ""), whole] if negative.any() else [whole]  # most columns have no sign
    parts += ([".", decimals] if decimals is not None else []) + ([suffix] if suffix else [])
    return pc.binary_join_element_wise(*parts, "")


def text_number(values: Any, digits: int, *, grouping: bool = False, percent: bool = False):
    """`[format(v, spec) for v in values]` as an Arrow string array, spec = f"{',' if grouping else ''}.{digits}{'%' if
    percent else 'f'}" (Python's "%" multiplies by 100.0 first, as here). Thousands with grouping go through Python."""
    x = np.asarray(values, dtype=np.float64).ravel()
    spec = f"{',' if grouping else ''}.{digits}{'%' if percent else 'f'}"
    scaled = x * 100.0 if percent else x
    k, exact = _scaled(scaled, digits, 2.0**52)
    if grouping:
        exact &= k < 1000 * 10**digits
    whole, decimals = _digits_text(k, digits)
    return _patch(_signed(scaled, whole, decimals, "%" if percent else ""), exact, x, lambda v: format(v, spec))


def text_rounded(values: Any, digits: int, *, json_float: bool = False):
    """`[repr(round(v, digits)) for v in values]` (or `json.dumps(round(v, digits))`: the same but for
    infinities and NaN) as an Arrow string array, for 1 ≤ digits ≤ 4. Up to 15 significant digits the
    shortest repr of the double nearest a decimal is that decimal, trailing zeros dropped."""
    import json

    if not 1 <= digits <= 4:
        raise ValueError(f"text_rounded: digits {digits} not in 1…4")
    if np.asarray(values).dtype.kind in "iub":  # round(int, digits) is that int
        return text_int(values)
    x = np.asarray(values, dtype=np.float64).ravel()
    k, exact = _scaled(x, digits, 1e15)
    whole, decimals = _digits_text(k, digits, strip=True)
    write = (lambda v: json.dumps(round(v, digits))) if json_float else (lambda v: repr(round(v, digits)))
    return _patch(_signed(x, whole, decimals), exact, x, write)


def text_int(values: Any):
    """`[str(v) for v in values.tolist()]` for integers, as an Arrow string array (other values: by Python)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = np.asarray(values).ravel()
    if array.dtype.kind not in "iu" or array.dtype == np.uint64:
        return pa.array([str(v) for v in array.tolist()], type=pa.string())
    return pc.cast(pa.array(array.astype(np.int64)), pa.string())


def text_pick(labels: Sequence[str] | np.ndarray, index: Any):
    """`[labels[i] for i in index]` as an Arrow string array (each label converted once, then taken)."""
    import pyarrow as pa

    table = pa.array(labels.tolist() if isinstance(labels, np.ndarray) else list(labels), type=pa.string())
    return table.take(pa.array(np.asarray(index, dtype=np.int64).ravel()))


def text_join(*parts: Any):
    """Row-wise concatenation of string arrays and plain strings (a string is the same in every row)."""
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(*parts, "")
