"""Write TOML (the standard library reads it but does not write it).

Enough of TOML for scenario and variant files: tables, arrays of tables, and inline strings,
numbers, booleans, lists and small tables. `tomllib.loads(dumps(d)) == d` for such documents.
"""

from __future__ import annotations

import math
import re
from typing import Any

_BARE = re.compile(r"^[A-Za-z0-9_\-]+$")


def _key(key: str) -> str:
    return key if _BARE.match(key) else _string(key)


def _string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    escaped = "".join(c if ord(c) >= 0x20 or c in "\\" else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'


def value(item: Any) -> str:
    """One inline TOML value."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int):
        return str(item)
    if isinstance(item, float):
        if math.isnan(item):
            return "nan"
        if math.isinf(item):
            return "inf" if item > 0 else "-inf"
        return repr(item)
    if isinstance(item, str):
        return _string(item)
    if isinstance(item, (list, tuple)):
        return "[" + ", ".join(value(x) for x in item) + "]"
    if isinstance(item, dict):
        return "{ " + ", ".join(f"{_key(k)} = {value(v)}" for k, v in item.items()) + " }" if item else "{}"
    if hasattr(item, "item"):  # numpy scalar
        return value(item.item())
    raise TypeError(f"cannot write {type(item).__name__} as TOML")


def _is_table_array(item: Any) -> bool:
    return isinstance(item, list) and bool(item) and all(isinstance(x, dict) for x in item)


def dumps(document: dict[str, Any], _prefix: str = "") -> str:
    """A TOML document for `document`."""
    lines: list[str] = []
    nested: list[tuple[str, Any]] = []
    for key, item in document.items():
        if isinstance(item, dict) and (any(isinstance(v, dict) for v in item.values()) or len(item) > 4 or not _prefix):
            nested.append((key, item))
        elif _is_table_array(item):
            nested.append((key, item))
        else:
            lines.append(f"{_key(key)} = {value(item)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for key, item in nested:
        path = f"{_prefix}{_key(key)}"
        if isinstance(item, dict):
            out += f"\n[{path}]\n" + dumps(item, f"{path}.")
        else:
            for record in item:
                inline = {k: v for k, v in record.items()}
                out += f"\n[[{path}]]\n" + "".join(f"{_key(k)} = {value(v)}\n" for k, v in inline.items())
    return out
