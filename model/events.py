"""The event log: one row per relocation, payment or policy change, with the reason in words.

Every row says what happened (year, rule id, source, target, function type, units, amount and
its unit), which plan clause it implements, and why, in English and Chinese. The dashboard's
"why did this happen?" answers are these rows.
"""

from __future__ import annotations

from typing import Any

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


class EventLog:
    """Rows appended by the rules during a step; read as a DataFrame."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []

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

    def __len__(self) -> int:
        return len(self.rows)

    def frame(self) -> pd.DataFrame:
        """All events so far, one row each, in the order they happened."""
        frame = pd.DataFrame(self.rows, columns=list(COLUMNS))
        return frame.astype(
            {"year": "int64", "units": "int64", "amount": "float64"}
            | {c: "object" for c in COLUMNS if c not in ("year", "units", "amount")}
        )
