"""Plan-clause references a reader can check, and levers marked as policy or uncertainty.

Every reference in the code base — strings, docstrings and comments of every .py under model/,
agents/ and viz/, every scenario, variant and fixture TOML, every rule's declared clauses and the
clauses of the events a short run of each shipped scenario writes — must name non-blank lines of a
plan text that contain its quoted words (`capital_metro_area L173「40萬—50萬」`). The check needs the
plan texts: it is skipped where they are absent, and fails in CI (CI=true), where they must be.

The checker's own behaviour is tested on a made-up plans folder, so it runs everywhere.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from regionsim.model import citations
from regionsim.model.citations import PLAN_FILES, Reference, check, plans_dir, references, report
from regionsim.model.rules import BY_ID, MODULES, REGISTRY
from regionsim.model.rules.base import ENABLED, POLICY, ROLES, UNCERTAINTY, Lever

from tests.conftest import CI, ROOT, cli

PLANS = plans_dir()


# --- the checker on a made-up plans folder ----------------------------------------------------------


@pytest.fixture
def fake_plans(tmp_path: Path) -> Path:
    """A plans folder whose capital_metro_area has a quotable line 3, a blank line 2 and a line 4."""
    for name in PLAN_FILES:
        (tmp_path / f"{name}.txt").write_text("first line\n\n承接北京中心城區40萬—50萬常住人口疏解\n通勤圈強調職住協同\n", encoding="utf-8")
    citations.plan_lines.cache_clear()
    return tmp_path


def test_a_quoted_reference_on_the_right_line_holds(fake_plans: Path) -> None:
    assert check([("x", "capital_metro_area L3「40萬—50萬」")], fake_plans) == []
    assert check([("x", "capital_metro_area L3「承接北京…常住人口」")], fake_plans) == []  # fragments in order
    assert check([("x", "capital_metro_area L2–4「40萬 — 50萬」")], fake_plans) == []  # a range, white space ignored


def test_a_wrong_line_number_fails(fake_plans: Path) -> None:
    findings = check([("f.py:7", "capital_metro_area L4「40萬—50萬」")], fake_plans)
    assert len(findings) == 1 and findings[0].startswith("f.py:7: ") and "not in the cited lines" in findings[0]


def test_blank_lines_missing_quotes_and_lines_past_the_end_fail(fake_plans: Path) -> None:
    assert "blank" in check([("x", "capital_metro_area L2「40萬」")], fake_plans)[0]
    assert "no words quoted" in check([("x", "capital_metro_area L3")], fake_plans)[0]
    assert "has 4 lines" in check([("x", "capital_metro_area L9「x」")], fake_plans)[0]
    assert "not in the cited lines" in check([("x", "capital_metro_area L3「常住人口…承接」")], fake_plans)[0]  # wrong order


def test_a_plan_name_governs_later_line_numbers_of_the_same_text() -> None:
    refs = list(references("capital_metro_area L3「疏解」, L4「通勤圈」; harbin_changchun L2–L4「a」 and an L5 alone"))
    assert refs == [
        Reference("capital_metro_area", 3, 3, "疏解"),
        Reference("capital_metro_area", 4, 4, "通勤圈"),
        Reference("harbin_changchun", 2, 4, "a"),
        Reference("harbin_changchun", 5, 5, ""),
    ]
    assert list(references("an L5 with no plan named before it")) == []


def test_findings_name_the_line_inside_a_multi_line_text(fake_plans: Path) -> None:
    text = '"""Docstring.\n\nPlan clauses: capital_metro_area L3「40萬」,\nL4「40萬」."""'
    assert check([("m.py:10", text)], fake_plans) == ["m.py:13: capital_metro_area L4「40萬」: 「40萬」 is not in the cited lines"]


def test_the_tree_collector_reads_strings_comments_and_toml(tmp_path: Path, fake_plans: Path) -> None:
    py = tmp_path / "m.py"
    py.write_text(
        'x = 1  # capital_metro_area L4「40萬」\ny = f"{x} capital_metro_area L3「40萬」"\nz = "capital_metro_area L2「a」"\n',
        encoding="utf-8",
    )
    toml = tmp_path / "s.toml"
    toml.write_text('# capital_metro_area L3「疏解」\n[a]\nsource = "capital_metro_area L4「40萬」"  # L3\n', encoding="utf-8")
    findings = check([*citations.python_texts(py, tmp_path), *citations.toml_texts(toml, tmp_path)], fake_plans)
    assert sorted(f.split(": ")[0] for f in findings) == ["m.py:1", "m.py:3", "s.toml:3"]


def test_report_groups_findings_by_file() -> None:
    text = report(["a.py:1: r: why", "b.toml:2: r: why", "a.py:9: r: why"])
    assert text.splitlines()[0] == "== a.py (2)" and "== b.toml (1)" in text and text.endswith("3 reference(s) do not hold")


# --- where the texts are read from ------------------------------------------------------------------


def test_the_plans_folder_is_the_one_named_then_the_default(fake_plans: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGIONSIM_PLANS_DIR", str(fake_plans))
    assert plans_dir() == fake_plans
    assert plans_dir(fake_plans) == fake_plans
    monkeypatch.setenv("REGIONSIM_PLANS_DIR", str(fake_plans / "nowhere"))
    default = ROOT.parent / "shared" / "plans"
    assert plans_dir() == (default if (default / "capital_metro_area.txt").is_file() else plans_dir())


def test_the_dashboard_tooltip_quotes_the_cited_line(fake_plans: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from regionsim.viz.clauses import quote

    monkeypatch.setenv("REGIONSIM_PLANS_DIR", str(fake_plans))
    assert quote("capital_metro_area L4「通勤圈」") == "capital_metro_area L4「通勤圈」\ncapital_metro_area L4: 「通勤圈強調職住協同」"
    assert quote("estimate: modelling assumption") == "estimate: modelling assumption"


def test_cli_refuses_a_plans_folder_without_the_texts(tmp_path: Path) -> None:
    result = cli("--plans", str(tmp_path), "list")
    assert result.returncode == 2 and "not a folder of the plan texts" in result.stderr and "Traceback" not in result.stderr


def test_no_absolute_path_of_one_machine_in_the_code() -> None:
    pattern = re.compile(r"/work/(shared|main)|/home/\w+|/Users/\w+")
    hits = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in ("model", "agents", "viz", "scenarios")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert hits == []


# --- levers: policy or uncertainty ------------------------------------------------------------------


def test_every_lever_has_a_valid_role() -> None:
    levers = [lever for spec in REGISTRY.values() for lever in spec.levers] + [ENABLED]
    assert levers and all(lever.role in ROLES for lever in levers)
    assert {lever.role for lever in levers} == {POLICY, UNCERTAINTY}
    with pytest.raises(ValueError, match="role must be one of policy, uncertainty"):
        Lever("x", 1.0, 0.0, 2.0, role="guess")


@pytest.mark.parametrize(
    ("rule", "lever", "role"),
    [
        ("transfer", "elasticity", UNCERTAINTY),
        ("transfer", "decay_minutes", UNCERTAINTY),
        ("transfer", "corridor_bonus", POLICY),
        ("tax_share", "split_to_origin", POLICY),
        ("tax_share", "cap_years", POLICY),
        ("eco_comp", "restriction_rate", POLICY),
        ("fund", "contribution_rate", POLICY),
        ("fund", "speedup_per_100m_yuan", UNCERTAINTY),
        ("services", "lag_years", UNCERTAINTY),
        ("services", "strength", UNCERTAINTY),
        ("energy", "decay_km", UNCERTAINTY),
        ("energy", "consumption_accounting", POLICY),
    ],
)
def test_choices_are_policy_and_responses_are_uncertainties(rule: str, lever: str, role: str) -> None:
    assert REGISTRY[rule].lever(lever).role == role


def test_levers_command_lists_policy_levers_first_then_model_assumptions() -> None:
    result = cli("levers", "capital_region")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.index("POLICY LEVERS") < out.index("MODEL ASSUMPTIONS / UNCERTAINTIES")
    listed: dict[tuple[str, str], tuple[str, str]] = {}  # (rule, lever) → (section, marker)
    section = rule = ""
    for line in out.splitlines():
        if "POLICY LEVERS" in line:
            section = POLICY
        elif "MODEL ASSUMPTIONS" in line:
            section = UNCERTAINTY
        elif match := re.match(r"\[rules\.(\w+)\]", line):
            rule = match.group(1)
        elif match := re.match(r"\s+\[(\w+)\] (\w+)\s+=", line):
            listed[(rule, match.group(2))] = (section, match.group(1))
    for spec in REGISTRY.values():
        for lever in spec.levers:
            assert listed[(spec.key, lever.name)] == (lever.role, lever.role), (spec.key, lever.name)


# --- every reference of the code base ---------------------------------------------------------------


def _event_texts() -> list[tuple[str, str]]:
    """The distinct clauses of the events of a three-year run of each shipped scenario, named by the rule's file."""
    from regionsim.model.model import RegionModel
    from regionsim.model.scenario import list_scenarios, load_scenario

    files = {module.RULE.id: f"model/rules/{module.__name__.rsplit('.', 1)[-1]}.py" for module in MODULES}
    seen: dict[tuple[str, str], str] = {}
    for name in list_scenarios():
        model = RegionModel(name, 0, until=load_scenario(name).base_year + 3).run()
        frame = model.event_frame()[["rule", "clause"]].drop_duplicates()
        for rule, clause in frame.itertuples(index=False):
            seen.setdefault((rule, clause), name)
    assert set(rule for rule, _ in seen) <= set(BY_ID)
    return [(f"{files[rule]} (event clause, scenario {name})", clause) for (rule, clause), name in seen.items()]


def test_every_reference_in_the_code_base_holds() -> None:
    if PLANS is None:
        if CI:
            pytest.fail("the plan texts are not found: CI keeps them in ../shared/plans (or set REGIONSIM_PLANS_DIR)")
        pytest.skip("the plan texts are not here: name their folder with REGIONSIM_PLANS_DIR to run this check")
    texts = [*citations.tree_texts(ROOT), *citations.rule_texts(), *_event_texts()]
    assert len(texts) > 1000
    findings = sorted(set(check(texts, PLANS)), key=lambda f: (f.split(":")[0], f))
    if findings:
        print(report(findings))
    assert not findings, f"{len(findings)} references do not hold (grouped by file above):\n" + report(findings)[:6000]


def test_module_checks_the_whole_tree() -> None:
    if PLANS is None:
        pytest.skip("the plan texts are not here")
    result = subprocess.run(
        [sys.executable, "-m", "regionsim.model.citations", "--all"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "REGIONSIM_PLANS_DIR": str(PLANS)},
        timeout=120,
    )
    assert result.returncode in (0, 1), result.stderr
    assert result.stdout.strip().endswith(("every reference holds", "do not hold"))
    assert (result.returncode == 0) == result.stdout.strip().endswith("every reference holds")
