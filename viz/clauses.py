"""Quote the plan clause a lever or event cites ("capital_metro_area L109" → that line's text).

The plan texts live outside the package (`plans/*.txt`, one line per paragraph; `L123` is line
123). They are looked up in `$REGIONSIM_PLANS_DIR`, then `plans/` beside the repository, then
`/work/shared/plans`. Without them the tooltip shows the reference alone, which is still correct.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

_REF = re.compile(r"([a-z_]+)\s+L(\d+)")
QUOTE_CHARS = 160


def plans_dir() -> Path | None:
    """The folder holding the plan texts, or None."""
    repo = Path(__file__).resolve().parent.parent
    for candidate in (os.environ.get("REGIONSIM_PLANS_DIR"), repo / "plans", repo.parent / "plans", "/work/shared/plans"):
        if candidate and (Path(candidate) / "capital_metro_area.txt").is_file():
            return Path(candidate)
    return None


@functools.lru_cache(maxsize=16)
def _lines(name: str) -> tuple[str, ...]:
    folder = plans_dir()
    if folder is None or not (folder / f"{name}.txt").is_file():
        return ()
    return tuple((folder / f"{name}.txt").read_text(encoding="utf-8", errors="replace").splitlines())


def quote(clause: str, limit: int = QUOTE_CHARS) -> str:
    """`clause` followed by the first words of each line it cites, e.g.
    'green_development L42: 「…PM2.5…」'. Estimates and unknown references come back unchanged."""
    if not clause:
        return ""
    parts = []
    for name, line in _REF.findall(clause):
        lines = _lines(name)
        number = int(line)
        if 0 < number <= len(lines):
            text = lines[number - 1].strip()
            if text:
                parts.append(f"{name} L{number}: 「{text[:limit]}{'…' if len(text) > limit else ''}」")
    return clause + ("\n" + "\n".join(parts) if parts else "")
