"""The event log: one row per relocation, payment or policy change, with the reason in words.

Every row says what happened (year, rule id, source, target, function type, units, amount and
its unit), which plan clause it implements, and why, in English and Chinese. The dashboard's
"why did this happen?" answers are these rows.

A rule logs one event with `add`, or a whole array of them with `add_many` (e.g. every energy
delivery of the year). `add_many` takes columns; a text column may be given as a function that
writes all its sentences, called only when the log is first read, so a year with a hundred thousand
payments does not spend its time formatting sentences nobody has asked for yet. The rows, and their
order, are the same either way.

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
            out[:] = value.tolist() if isinstance(value, np.ndarray) else list(value)
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
    if not pa.types.is_string(kind):
        return pa.array(np.asarray(value, dtype=np.int64 if pa.types.is_integer(kind) else np.float64), type=kind)
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        return pa.array(value, type=kind)
    values = value if isinstance(value, (list, np.ndarray)) else list(value)
    try:
        return pa.array(values, type=kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text (a label given as a number): as `str` writes it
        return pa.array([str(v) for v in values], type=kind)
