"""Where every number in a scenario comes from.

The rule (scenarios/FORMAT.md): a number's source is `sources.<field>` in its own table, else the
table's `source`, else the nearest enclosing table's `source`. `numbers_with_sources` walks a
scenario and returns each number with the source that rule gives it (empty when none does).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from regionsim.model.citations import PLAN_FILES

SOURCE_KEYS = ("source", "sources")
NO_SOURCE_NEEDED = ("meta",)
"""Sections whose numbers are settings (years), not data."""


STATUSES = ("plan clause", "published", "derived", "estimate", "recalled", "unclassified", "missing")
"""Provenance of a number, best first. A source note says which by how it begins (scenarios/FORMAT.md):
`<plan> L<n>「…」` a plan clause; `published: <document>「wording」` a publication seen (also Natural Earth
and national standards); `derived: <method>, from <document>` computed from publications; `estimate: <how>`.
A note that says "recalled" or "not verified" is `recalled` unless it also says "no publication found"
and why — then it is the estimate it describes."""

_PUBLISHED = ("published", "natural earth", "national standard")
_RECALLED = re.compile(r"\brecalled\b|not verified", re.IGNORECASE)
_PLAN_START = re.compile(rf"^(?:{'|'.join(PLAN_FILES)})\s+L\d")


def status(source: str) -> str:
    """The provenance status of one source note (one of STATUSES)."""
    note = source.strip()
    low = note.lower()
    if not note:
        return "missing"
    if _RECALLED.search(note) and "no publication found" not in low:
        return "recalled"
    if low.startswith(_PUBLISHED):
        return "published"
    if low.startswith("derived"):
        return "derived"
    if low.startswith(("estimate", "lon/lat: estimate")):
        return "estimate"
    if _PLAN_START.match(note):
        return "plan clause"
    return "unclassified"


def status_counts(rows: list[tuple[str, str, str]]) -> Counter:
    """How many numbers have each status, from `numbers_with_sources` rows."""
    return Counter(status(source) for _, _, source in rows)


def _label(items: list[Any], index: int) -> str:
    item = items[index]
    return str(item["id"]) if isinstance(item, dict) and isinstance(item.get("id"), str) else str(index)


def numbers_with_sources(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(key path, value, source) for every number in the document."""
    rows: list[tuple[str, str, str]] = []

    def walk(node: Any, path: str, inherited: str, field_source: str) -> None:
        if isinstance(node, dict):
            own = node.get("source") if isinstance(node.get("source"), str) else ""
            here = own or field_source or inherited  # `sources.gdp_share` covers gdp_share's own fields
            per_field = node.get("sources") if isinstance(node.get("sources"), dict) else {}
            for key, value in node.items():
                if key in SOURCE_KEYS:
                    continue
                child_source = per_field.get(key, "") if isinstance(per_field.get(key, ""), str) else ""
                walk(value, f"{path}.{key}" if path else key, here, child_source or "")
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{path}[{_label(node, index)}]", inherited, field_source)
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            if path.split(".")[0].split("[")[0] in NO_SOURCE_NEEDED:
                return
            rows.append((path, f"{node:g}" if isinstance(node, float) else str(node), field_source or inherited))

    walk(data, "", "", "")
    return rows
