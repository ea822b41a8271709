"""Compare two benchmark result files: `python tests/benchmarks/compare.py OLD.json NEW.json`.

Prints every timing both files have, old and new, and new/old (below 1 = faster). Two runs on
one machine compare well; runs on different machines say little.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def flatten(node: Any, prefix: str = "") -> dict[str, float]:
    """Numeric leaves as dotted key → value."""
    out: dict[str, float] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}{key}."))
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        out[prefix[:-1]] = float(node)
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    old, new = (json.load(open(path, encoding="utf-8")) for path in argv)
    a, b = flatten(old), flatten(new)
    print(f"old: {old['machine'].get('commit', '')[:10]}  new: {new['machine'].get('commit', '')[:10]}")
    keys = [k for k in a if k in b and (k.endswith("_s") or "per_year" in k or k.endswith("ratio")) and "share" not in k]
    width = max((len(k) for k in keys), default=10)
    print(f"{'figure':<{width}}  {'old':>10}  {'new':>10}  {'new/old':>8}")
    for key in sorted(keys):
        ratio = b[key] / a[key] if a[key] else float("nan")
        print(f"{key:<{width}}  {a[key]:>10.4f}  {b[key]:>10.4f}  {ratio:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
