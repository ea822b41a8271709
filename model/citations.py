"""Plan-clause references a reader can check: `capital_metro_area L173「40萬—50萬」`.

Every rule, lever, scenario source and event that cites a plan names the plan file, the line
(`L173`, or a range `L171–173`) and a few words quoted from that line between 「」. The quote lets a
reader without the texts see what is cited, and lets `check()` prove the line number right: the
quoted words (white space ignored; `…` separates fragments that must appear in order) must stand in
the cited lines, and those lines must not be blank.

One file name may govern several lines: `capital_metro_area L43「控增量」, L145「…」` — each `L` number
belongs to the last plan file named before it in the same text. A reference with no quote is a
finding too: a wrong line number must not survive because nobody quoted it.

The plan texts are not ours to ship. They are read from the folder the user names (`--plans DIR`
or `$REGIONSIM_PLANS_DIR`), by default `../shared/plans` beside the repository root (where the
development and CI machines keep them), or `./plans` / `../shared/plans` from the working folder.

Run as a script to check files: `python -m regionsim.model.citations FILE…` prints one line per
bad reference and exits 1 if there is any.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

PLAN_FILES = ("bohai_rim_outline", "inner_mongolia_bohai", "capital_metro_area", "harbin_changchun", "green_development")
"""The plan texts every reference names (each a `NAME.txt` in the plans folder)."""

_PLAN = "|".join(PLAN_FILES)
# a plan name, or a line number (L12, L12–14, L12–L14, L12-14), optionally followed by 「quote」
_TOKEN = re.compile(
    rf"(?P<plan>\b(?:{_PLAN})\b)"
    r"|(?<![A-Za-z0-9_])L(?P<first>\d+)(?:\s*[–\-—~]\s*L?(?P<last>\d+))?(?P<quote>\s*「[^」]*」)?"
)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Reference:
    """One cited line (or range) of one plan, with the words quoted from it ('' when none)."""

    plan: str
    first: int
    last: int
    quote: str

    def __str__(self) -> str:
        span = f"L{self.first}" if self.first == self.last else f"L{self.first}–{self.last}"
        return f"{self.plan} {span}" + (f"「{self.quote}」" if self.quote else "")


def references(text: str) -> Iterator[Reference]:
    """Every plan-line reference in `text`, each tied to the last plan file named before it."""
    plan = None
    for match in _TOKEN.finditer(text):
        if match.group("plan"):
            plan = match.group("plan")
            continue
        if plan is None:
            continue  # an L-number with no plan named before it is not a plan reference
        first = int(match.group("first"))
        last = int(match.group("last") or first)
        quote = (match.group("quote") or "").strip()[1:-1]
        yield Reference(plan, first, max(first, last), quote)


def plans_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """The folder holding the plan texts: `explicit`, `$REGIONSIM_PLANS_DIR`, then the defaults; None if absent."""
    repo = Path(__file__).resolve().parent.parent
    candidates = [explicit, os.environ.get("REGIONSIM_PLANS_DIR"), repo.parent / "shared" / "plans",
                  Path.cwd() / "plans", Path.cwd().parent / "shared" / "plans"]
    for candidate in candidates:
        if candidate and all((Path(candidate) / f"{name}.txt").is_file() for name in PLAN_FILES):
            return Path(candidate)
    return None


@functools.lru_cache(maxsize=32)
def plan_lines(folder: Path, name: str) -> tuple[str, ...]:
    """The lines of one plan text (line 1 first)."""
    return tuple((folder / f"{name}.txt").read_text(encoding="utf-8").splitlines())


def problem(ref: Reference, folder: Path) -> str | None:
    """Why `ref` does not hold against the plan texts in `folder`, or None when it does."""
    lines = plan_lines(folder, ref.plan)
    if ref.last > len(lines) or ref.first < 1:
        return f"{ref.plan} has {len(lines)} lines"
    cited = lines[ref.first - 1 : ref.last]
    if not any(line.strip() for line in cited):
        return "the cited lines are blank"
    if not ref.quote:
        return "no words quoted from the cited line (write them as 「…」 after the line number)"
    haystack = _SPACE.sub("", "".join(cited))
    at = 0
    for fragment in (_SPACE.sub("", part) for part in ref.quote.split("…")):
        if not fragment:
            continue
        found = haystack.find(fragment, at)
        if found < 0:
            return f"「{fragment}」 is not in the cited lines"
        at = found + len(fragment)
    return None


def check(texts: Iterable[tuple[str, str]], folder: Path) -> list[str]:
    """Check every reference in `(where, text)` pairs; one finding per bad reference."""
    findings = []
    for where, text in texts:
        for ref in references(text):
            why = problem(ref, folder)
            if why:
                findings.append(f"{where}: {ref}: {why}")
    return findings


def quote_lines(ref: Reference, folder: Path | None, limit: int = 160) -> str:
    """The text of the lines `ref` cites (for a tooltip), or '' when the texts are not at hand."""
    if folder is None:
        return ""
    lines = plan_lines(folder, ref.plan)
    text = " ".join(line.strip() for line in lines[ref.first - 1 : ref.last] if line.strip())
    return text[:limit] + ("…" if len(text) > limit else "")


def _file_texts(path: Path) -> Iterator[tuple[str, str]]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        yield f"{path}:{number}", line


def main(argv: list[str] | None = None) -> int:
    """Check the references in the files named on the command line."""
    args = list(sys.argv[1:] if argv is None else argv)
    explicit = None
    if "--plans" in args:
        at = args.index("--plans")
        explicit = args[at + 1]
        del args[at : at + 2]
    folder = plans_dir(explicit)
    if folder is None:
        print("plan texts not found: name their folder with --plans DIR or REGIONSIM_PLANS_DIR", file=sys.stderr)
        return 2
    findings = [finding for name in args for finding in check(_file_texts(Path(name)), folder)]
    print("\n".join(findings) if findings else "every reference holds")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
