"""Mutation testing of the rules (`make mutants`): plant small bugs in model/rules/ and see which the tests notice.

mutmut (3.x) mutates a copy of the code and needs the package under `src/<name>/`; this repository *is* the
`regionsim` package (pyproject maps regionsim = "."), so this script builds that layout in `.mutation/`
(git-ignored): `.mutation/src/regionsim/` holds a copy of the package, `.mutation/tests/` a copy of the tests,
and `.mutation/pyproject.toml` the mutmut settings below. mutmut then runs, with `--max-children` workers, only
the fast rule-level tests that cover each mutated function (the `TESTS` list), and this script prints the
mutation score per rule module and lists every survivor that docs/TESTING.md does not record as equivalent.

    python tests/mutation/mutants.py              # build, run every mutant (resumes an unfinished run), report
    python tests/mutation/mutants.py --sample 10  # a systematic sample: the mutants numbered 10, 20, 30, … of every function
    python tests/mutation/mutants.py --report     # report on the last run only
    python tests/mutation/mutants.py --fresh      # start again from a clean copy
    python tests/mutation/mutants.py --survivors  # after writing tests: copy them, run the unexplained survivors again

A full run is about 5,600 mutants (about 40 minutes on two idle cores); `--sample 10` tests one in ten, spread over every
function, and reports the score of that sample.

Score = (killed + timed out) / (killed + timed out + survived), survivors recorded as equivalent left out; "no
tests" (code no selected test reaches) is listed apart.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import fnmatch
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".mutation"
PACKAGE_PARTS = ("__init__.py", "model", "agents", "viz", "scenarios")
RULES = WORK / "mutants" / "src" / "regionsim" / "model" / "rules"
TESTING_MD = ROOT / "docs" / "TESTING.md"

TESTS = (
    "tests/test_rules.py",
    "tests/test_rule_behaviour.py",
    "tests/test_relocation.py",
    "tests/test_air_money.py",
    "tests/test_lever_mechanisms.py",
    "tests/validation",
    "tests/test_hindcast.py",
    "tests/test_classroom_story.py",
    "tests/test_transport_share_series.py",
    "tests/test_model.py",
    "tests/test_scorecard.py",
    "tests/test_behaviour_relocate.py",
    "tests/test_behaviour_society.py",
    "tests/test_behaviour_money_air.py",
    "tests/test_event_text.py",
    "tests/test_behaviour_survivors.py",
    "tests/test_mutants_relocate.py",
    "tests/test_mutants_money_air.py",
    "tests/test_mutants_energy_transfer.py",
    "tests/test_mutants_society_policy.py",
)
"""The fast tests that exercise the rules (seconds each); mutmut runs, per mutant, those that reach its function."""

NOT_MUTATED = (
    r"^RULE = RuleSpec\(",  # the rule's declaration: lever defaults, ranges and labels are data, tested elsewhere
    r"ctx\.events\.add",  # event records: wording for the dashboard, tested by the views tests
    r"^\s*def why_(en|zh)\(",  # the sentences of an event
)


def config() -> str:
    """mutmut's settings for the copy (the test selection: those of `TESTS` that exist in this checkout)."""
    tests = [t for t in TESTS if (ROOT / t).exists()]
    return f"""[tool.mutmut]
source_paths = ["src/regionsim/model/rules"]
also_copy = ["src/regionsim", "tests"]
do_not_mutate_patterns = {json.dumps(list(NOT_MUTATED))}
pytest_add_cli_args_test_selection = {json.dumps(tests)}
pytest_add_cli_args = ["-p", "no:randomly", "-q"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""


KILLED, SURVIVED, NO_TESTS, TIMEOUT = {1, 3}, {0}, {5, 33}, {24, -24, 36, 152, 255}


def build(fresh: bool) -> None:
    """Copy the package and the tests into `.mutation/` in the src layout mutmut expects."""
    if fresh and WORK.exists():
        shutil.rmtree(WORK)
    src = WORK / "src" / "regionsim"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in PACKAGE_PARTS:
        path = ROOT / part
        (shutil.copytree(path, src / part, ignore=ignore) if path.is_dir() else shutil.copy2(path, src / part))
    if (WORK / "tests").exists():
        shutil.rmtree(WORK / "tests")
    shutil.copytree(ROOT / "tests", WORK / "tests", ignore=ignore)
    (WORK / "pyproject.toml").write_text(config(), encoding="utf-8")


SAMPLE_FILE = WORK / "sample.json"


def sample_patterns(every: int) -> list[str]:
    """fnmatch patterns for the mutants whose number is a multiple of `every` (5 or 10): a systematic sample."""
    return {10: ["*__mutmut_*0"], 5: ["*__mutmut_*0", "*__mutmut_*5"]}[every]


def run(children: int, every: int | None, names: list[str] | None = None) -> int:
    """Run mutmut in the copy: every mutant, a sample (`every`), or the mutants `names` again (the last run's
    sample stays what it was)."""
    exe = Path(sys.executable).parent / "mutmut"
    if names is None:
        patterns = sample_patterns(every) if every else []
        SAMPLE_FILE.write_text(json.dumps(patterns), encoding="utf-8")
    else:
        patterns = names
    return subprocess.call([str(exe), "run", "--max-children", str(children), *patterns], cwd=WORK)


def exit_codes() -> dict[str, dict[str, int]]:
    """mutmut's exit code for every mutant of the last run, by rule module."""
    return {
        meta.name[: -len(".py.meta")]: json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        for meta in sorted(RULES.glob("*.py.meta"))
    }


def survivors() -> list[str]:
    """The last run's survivors that docs/TESTING.md does not record as equivalent (in its sample)."""
    known = equivalents()
    return [
        key for codes in exit_codes().values() for key, code in codes.items() if code in SURVIVED and key not in known and in_sample(key)
    ]


def in_sample(key: str) -> bool:
    """Whether `key` belongs to the last run's sample (every key when the run was not sampled)."""
    patterns = json.loads(SAMPLE_FILE.read_text(encoding="utf-8")) if SAMPLE_FILE.exists() else []
    return not patterns or any(fnmatch.fnmatch(key, p) for p in patterns)


def equivalents() -> dict[str, str]:
    """Mutants docs/TESTING.md records as equivalent: `| regionsim.model.rules.x.x_f__mutmut_3 | reason |` rows."""
    if not TESTING_MD.exists():
        return {}
    rows = re.findall(r"^\|\s*`?(regionsim\.model\.rules\.[\w.]+__mutmut_\d+)`?\s*\|\s*(.+?)\s*\|\s*$", TESTING_MD.read_text("utf-8"), re.M)
    return dict(rows)


def functions_of(module_source: str) -> dict[str, str]:
    """Each function's source in mutmut's copy of a module (originals and mutants side by side)."""
    lines = module_source.splitlines()
    tree = ast.parse(module_source)
    return {n.name: "\n".join(lines[n.lineno - 1 : n.end_lineno]) for n in tree.body if isinstance(n, ast.FunctionDef)}


def changed_lines(funcs: dict[str, str], key: str) -> str:
    """The lines a mutant changed, against the original function beside it."""
    name = key.rsplit(".", 1)[-1]
    base = name.split("__mutmut_")[0]
    orig, mutant = funcs.get(base + "__mutmut_orig"), funcs.get(name)
    if not orig or not mutant:
        return "(source not found)"
    diff = difflib.unified_diff(orig.splitlines()[1:], mutant.splitlines()[1:], lineterm="", n=0)
    return " || ".join(line.strip() for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---")))


def report() -> int:
    """Print the score per module and the survivors not recorded as equivalent; 0 when every survivor is accounted for."""
    if not RULES.exists():
        print("no mutation run found: run `make mutants` first", file=sys.stderr)
        return 2
    known = equivalents()
    totals = {"killed": 0, "survived": 0, "no tests": 0, "timeout": 0, "not checked": 0, "equivalent": 0}
    unexplained: list[str] = []
    seen: set[str] = set()
    print(f"{'module':16s} {'killed':>7s} {'survived':>9s} {'equiv.':>7s} {'timeout':>8s} {'no tests':>9s} {'score':>7s}")
    for module, codes in exit_codes().items():
        funcs: dict[str, str] | None = None
        count = {k: 0 for k in totals}
        seen.update(codes)
        for key, code in codes.items():
            if not in_sample(key):
                continue
            if code in KILLED:
                count["killed"] += 1
            elif code in SURVIVED:
                if key in known:
                    count["equivalent"] += 1
                else:
                    count["survived"] += 1
                    if funcs is None:
                        funcs = functions_of((RULES / f"{module}.py").read_text(encoding="utf-8"))
                    unexplained.append(f"{key}: {changed_lines(funcs, key)}")
            elif code in NO_TESTS:
                count["no tests"] += 1
            elif code in TIMEOUT:
                count["timeout"] += 1
            else:
                count["not checked"] += 1
        for k, v in count.items():
            totals[k] += v
        print(_row(module, count))
    print(_row("all rules", totals))
    if totals["not checked"]:
        print(f"{totals['not checked']} mutants not checked yet (an unfinished run)")
    if unexplained:
        print(f"\n{len(unexplained)} survivors neither killed nor recorded as equivalent in docs/TESTING.md:")
        print("\n".join(unexplained))
    stale = sorted(set(known) - seen)  # a row whose mutant no longer exists (its function changed): judge it again
    if stale:
        print(f"\n{len(stale)} rows of docs/TESTING.md name no mutant of this run (remove them):")
        print("\n".join(stale))
    return 0 if not unexplained and not totals["not checked"] and not stale else 1


def _row(name: str, c: dict[str, int]) -> str:
    judged = c["killed"] + c["survived"] + c["timeout"]
    score = f"{100 * (c['killed'] + c['timeout']) / judged:.1f}%" if judged else "-"
    return f"{name:16s} {c['killed']:7d} {c['survived']:9d} {c['equivalent']:7d} {c['timeout']:8d} {c['no tests']:9d} {score:>7s}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="report on the last run only")
    parser.add_argument("--fresh", action="store_true", help="start again from a clean copy")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--sample", type=int, choices=(5, 10), help="test only the mutants numbered a multiple of 5 or 10")
    parser.add_argument("--survivors", action="store_true", help="copy the tests again and rerun the last run's unexplained survivors")
    args = parser.parse_args(argv)
    if not args.report:
        again = survivors() if args.survivors and RULES.exists() else None
        if args.survivors and not again:
            print("no unexplained survivors to run again" if again == [] else "no mutation run found: run `make mutants` first")
            return report() if again == [] else 2
        build(args.fresh and not args.survivors)
        status = run(args.max_children, args.sample, again)
        if status not in (0, 1):
            print(f"mutmut exited with status {status}", file=sys.stderr)
            return status
    return report()


if __name__ == "__main__":
    sys.exit(main())
