"""Plan-clause references a reader can check: `capital_metro_area L173「40萬—50萬」`.

Every rule, lever, scenario source and event that cites a plan names the plan file, the line
(an `L` and its number, or a range of two numbers joined by –) and a few words quoted from that
line between 「」. The quote lets a
reader without the texts see what is cited, and lets `check()` prove the line number right: the
quoted words (white space ignored; `…` separates fragments that must appear in order) must stand in
the cited lines, and those lines must not be blank.

One file name may govern several lines: `capital_metro_area L43「控增量」, L145「高校、醫療機構」` — each `L` number
belongs to the last plan file named before it in the same text. A reference with no quote is a
finding too: a wrong line number must not survive because nobody quoted it.

The plan texts are not ours to ship. They are read from the folder the user names (`--plans DIR`
or `$REGIONSIM_PLANS_DIR`), by default `../shared/plans` beside the repository root (where the
development and CI machines keep them), or `./plans` / `../shared/plans` from the working folder.

Run as a script to check files: `python -m regionsim.model.citations FILE…`, or the whole code base
(every .py under model/, agents/, viz/, every scenario, variant and fixture TOML, and every rule's
declared clauses) with `--all`. It prints the bad references grouped by file and exits 1 if there
is any (2 when the texts are not found).
"""

from __future__ import annotations

import functools
import io
import os
import re
import sys
import tokenize
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
_TOML_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')
FSTRING_START = getattr(tokenize, "FSTRING_START", -1)
FSTRING_MIDDLE = getattr(tokenize, "FSTRING_MIDDLE", -1)
FSTRING_END = getattr(tokenize, "FSTRING_END", -1)


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


def located_references(text: str) -> Iterator[tuple[int, Reference]]:
    """Every plan-line reference in `text` with the offset where it starts, each tied to the last
    plan file named before it."""
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
        yield match.start(), Reference(plan, first, max(first, last), quote)


def references(text: str) -> Iterator[Reference]:
    """Every plan-line reference in `text`, each tied to the last plan file named before it."""
    for _, ref in located_references(text):
        yield ref


def plans_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """The folder holding the plan texts: `explicit`, `$REGIONSIM_PLANS_DIR`, then the defaults; None if absent."""
    repo = Path(__file__).resolve().parent.parent
    candidates = [
        explicit,
        os.environ.get("REGIONSIM_PLANS_DIR"),
        repo.parent / "shared" / "plans",
        Path.cwd() / "plans",
        Path.cwd().parent / "shared" / "plans",
    ]
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
        head, _, row = where.rpartition(":")
        for offset, ref in located_references(text):
            why = problem(ref, folder)
            if why:
                at = f"{head}:{int(row) + text.count(chr(10), 0, offset)}" if head and row.isdigit() else where
                findings.append(f"{at}: {ref}: {why}")
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


def python_texts(path: Path, root: Path | None = None) -> Iterator[tuple[str, str]]:
    """Every string literal (docstrings included) and every run of comment lines of a Python file.

    Each string is one text, so a plan named in a docstring governs the later `L` numbers of that
    docstring; consecutive comment lines are one text for the same reason."""
    name = str(path.relative_to(root)) if root else str(path)
    source = path.read_text(encoding="utf-8")
    comments: list[str] = []
    start = last = 0
    parts: list[str] = []  # the pieces of one f-string
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        yield from ((f"{name}:{n}", line) for n, line in enumerate(source.splitlines(), start=1))
        return
    for tok in tokens:
        row = tok.start[0]
        if tok.type == tokenize.COMMENT:
            if comments and row != last + 1:
                yield f"{name}:{start}", "\n".join(comments)
                comments = []
            if not comments:
                start = row
            comments.append(tok.string.lstrip("#"))
            last = row
        elif tok.type == tokenize.STRING:
            yield f"{name}:{row}", tok.string
        elif tok.type == FSTRING_START:
            parts, fstart = [tok.string], row
        elif tok.type in (FSTRING_MIDDLE, FSTRING_END) and parts:
            parts.append(tok.string)
            if tok.type == FSTRING_END:
                yield f"{name}:{fstart}", "".join(parts)
                parts = []
    if comments:
        yield f"{name}:{start}", "\n".join(comments)


def toml_texts(path: Path, root: Path | None = None) -> Iterator[tuple[str, str]]:
    """Every string value of a TOML file (named by its line), and every run of comment lines."""
    name = str(path.relative_to(root)) if root else str(path)
    comments: list[str] = []
    start = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.lstrip()
        if stripped.startswith("#"):
            if not comments:
                start = number
            comments.append(stripped.lstrip("#"))  # a quote may run on over the next comment line
            continue
        if comments:
            yield f"{name}:{start}", "\n".join(comments)
            comments = []
        for match in _TOML_STRING.finditer(line):
            yield f"{name}:{number}", match.group(0)
        tail = _TOML_STRING.sub("", line)
        if "#" in tail:
            yield f"{name}:{number}", tail[tail.index("#") :]
    if comments:
        yield f"{name}:{start}", "\n".join(comments)


SOURCE_FOLDERS = ("model", "agents", "viz")
"""Folders of the repository whose Python files are checked by `tree_texts`."""
TOML_FOLDERS = ("scenarios", "scenarios/variants", "tests/fixtures")
"""Folders whose TOML files (scenarios, variants, fixtures) are checked by `tree_texts`."""


def tree_files(root: Path) -> list[Path]:
    """The files `tree_texts` reads: every .py under model/, agents/, viz/ and every scenario, variant and fixture TOML."""
    files = [p for folder in SOURCE_FOLDERS for p in sorted((root / folder).rglob("*.py"))]
    files += [p for folder in TOML_FOLDERS for p in sorted((root / folder).glob("*.toml"))]
    return files


def tree_texts(root: Path) -> Iterator[tuple[str, str]]:
    """Every text of the code base that may hold a reference, named `path:line` relative to `root`."""
    for path in tree_files(root):
        yield from (python_texts(path, root) if path.suffix == ".py" else toml_texts(path, root))


def rule_texts() -> Iterator[tuple[str, str]]:
    """Every rule's declared clauses and every lever's clause, as the registry holds them."""
    from regionsim.model.rules import MODULES

    for module in MODULES:
        spec, where = module.RULE, f"model/rules/{module.__name__.rsplit('.', 1)[-1]}.py"
        for clause in spec.clauses:
            yield f"{where} (RULE {spec.id} clauses)", clause
        for lever in spec.levers:
            if lever.clause:
                yield f"{where} (lever rules.{spec.key}.{lever.name})", lever.clause


def by_file(findings: Iterable[str]) -> dict[str, list[str]]:
    """Findings grouped by the file (or label) before the first colon, in first-seen order."""
    groups: dict[str, list[str]] = {}
    for finding in findings:
        head = re.split(r":| \(", finding, maxsplit=1)[0]
        groups.setdefault(head, []).append(finding)
    return groups


def report(findings: list[str]) -> str:
    """Findings as text, grouped by file with a count per file."""
    if not findings:
        return "every reference holds"
    lines = []
    for head, items in by_file(findings).items():
        lines.append(f"== {head} ({len(items)})")
        lines.extend(f"  {item}" for item in items)
    lines.append(f"{len(findings)} reference(s) do not hold")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Check the references in the files named on the command line, or in the whole tree with `--all`."""
    args = list(sys.argv[1:] if argv is None else argv)
    explicit = None
    if "--plans" in args:
        at = args.index("--plans")
        if at + 1 >= len(args):
            print("--plans needs a folder", file=sys.stderr)
            return 2
        explicit = args[at + 1]
        del args[at : at + 2]
    whole = "--all" in args
    args = [a for a in args if a != "--all"]
    folder = plans_dir(explicit)
    if folder is None:
        print("plan texts not found: name their folder with --plans DIR or REGIONSIM_PLANS_DIR", file=sys.stderr)
        return 2
    texts: list[tuple[str, str]] = []
    if whole:
        root = Path(__file__).resolve().parent.parent
        texts += list(tree_texts(root)) + list(rule_texts())
    for name in args:
        path = Path(name)
        if not path.is_file():
            print(f"no such file: {name}", file=sys.stderr)
            return 2
        texts += list(python_texts(path) if path.suffix == ".py" else toml_texts(path) if path.suffix == ".toml" else _file_texts(path))
    if not whole and not args:
        print("usage: python -m regionsim.model.citations [--plans DIR] (--all | FILE…)", file=sys.stderr)
        return 2
    findings = check(texts, folder)
    print(report(findings))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
