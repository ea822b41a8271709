"""Where every number in a scenario comes from.

The rule (scenarios/FORMAT.md): a number's source is `sources.<field>` in its own table, else the
table's `source`, else the nearest enclosing table's `source`. `numbers_with_sources` walks a
scenario and returns each number with the source that rule gives it (empty when none does).
"""

from __future__ import annotations

from typing import Any

SOURCE_KEYS = ("source", "sources")
NO_SOURCE_NEEDED = ("meta",)
"""Sections whose numbers are settings (years), not data."""


def _label(items: list[Any], index: int) -> str:
    item = items[index]
    return str(item["id"]) if isinstance(item, dict) and isinstance(item.get("id"), str) else str(index)


def numbers_with_sources(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(key path, value, source) for every number in the document."""
    rows: list[tuple[str, str, str]] = []

    def walk(node: Any, path: str, inherited: str, field_source: str) -> None:
        if isinstance(node, dict):
            own = node.get("source") if isinstance(node.get("source"), str) else ""
            here = own or inherited
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
