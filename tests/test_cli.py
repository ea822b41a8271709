"""The `regionsim` command line as a user meets it: files, exit codes, messages.

The runs compared across processes start fresh interpreters (`regionsim`); the other calls run in a process
forked from a warm one (`cli`, tests/conftest.py), which runs the same entry point without the start-up.
"""

from __future__ import annotations

import json
import tomllib

import pandas as pd
import pytest

from tests.conftest import cli, regionsim

RUN_FILES = {"model.parquet", "agents.parquet", "events.parquet", "scorecard.csv", "scenario.toml", "run.json"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """capital_region to 2035 with seeds 7 and 7, each in a fresh interpreter, and 8 (in a forked process)."""
    root = tmp_path_factory.mktemp("runs")
    results = {}
    for name, seed, start in (("A", 7, regionsim), ("B", 7, regionsim), ("C", 8, cli)):
        done = start("run", "capital_region", "--until", "2035", "--seed", str(seed), "--out", str(root / name))
        assert done.returncode == 0, done.stderr
        results[name] = (root / name, done)
    return results


def test_run_writes_every_file_and_a_summary(runs):
    folder, done = runs["A"]
    assert {p.name for p in folder.iterdir()} == RUN_FILES
    assert "PM2.5" in done.stdout and "plan targets met" in done.stdout
    model = pd.read_parquet(folder / "model.parquet")
    assert model["year"].tolist() == list(range(2023, 2036))
    agents = pd.read_parquet(folder / "agents.parquet")
    assert {"year", "agent_id", "agent_type", "name", "population", "gdp", "pm25"} <= set(agents.columns)
    meta = json.loads((folder / "run.json").read_text())
    assert meta["seed"] == 7 and meta["last_year"] == 2035 and "timings" in meta and "parameters" in meta
    card = pd.read_csv(folder / "scorecard.csv")
    assert {"target_id", "value", "met", "margin"} <= set(card.columns)


def test_same_seed_identical_files_in_separate_processes(runs):
    a, b, c = runs["A"][0], runs["B"][0], runs["C"][0]
    for name in ("model.parquet", "agents.parquet", "events.parquet"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert not pd.read_parquet(a / "events.parquet").equals(pd.read_parquet(c / "events.parquet"))


def test_resolved_scenario_reproduces_the_run(runs, tmp_path):
    folder = runs["A"][0]
    tomllib.loads((folder / "scenario.toml").read_text())
    again = cli("run", str(folder / "scenario.toml"), "--seed", "7", "--out", str(tmp_path / "again"), "--quiet")
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again" / "events.parquet").read_bytes() == (folder / "events.parquet").read_bytes()


def test_set_switches_rules(tmp_path):
    done = cli("run", "classroom", "--set", "rules.joint_control.enabled=false", "--out", str(tmp_path / "x"), "--quiet")
    assert done.returncode == 0, done.stderr
    meta = json.loads((tmp_path / "x" / "run.json").read_text())
    assert meta["parameters"]["joint_control"]["enabled"] is False
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "no_such_scenario", "--out", "{tmp}/x"], "no such scenario"),
        (["run", "classroom", "--set", "rules.joint_control.enabld=false", "--out", "{tmp}/x"], "enabld"),
        (["run", "classroom", "--set", "rules.relocate.annual_quota_share=7", "--out", "{tmp}/x"], "from 0 to 1"),
        (["run", "classroom", "--set", "rules.nosuchrule.x=1", "--out", "{tmp}/x"], "unknown rule"),
        (["run", "classroom", "--set", "cities.atlantis.population_10k=1", "--out", "{tmp}/x"], "atlantis"),
        (["run", "classroom", "--set", "justakey", "--out", "{tmp}/x"], "key=value"),
        (["run", "classroom", "--until", "1990", "--out", "{tmp}/x"], "base year"),
        (["run", "classroom"], "--out"),
        (["run", "{tmp}/missing.toml", "--out", "{tmp}/x"], "no such scenario file"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_user_mistakes_exit_2_with_one_clear_message(tmp_path, args, expected):
    done = cli(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "x").exists()


def test_validate_reports_every_problem_at_once(tmp_path):
    from tests.conftest import FIXTURE

    broken = tmp_path / "broken.toml"
    source = FIXTURE.read_text()
    source = source.replace("population_10k = 100.0", 'population_10k = "many"', 1)
    source = source.replace('to = "newtown"', 'to = "atlantis"', 1)
    source = source.replace("horizon = 2035", "horizon = 2020", 1)
    broken.write_text(source)
    done = cli("validate", str(broken))
    assert done.returncode == 2
    assert "4 problems" in done.stderr  # the bad link also leaves New Town unconnected
    assert "population_10k" in done.stderr and "atlantis" in done.stderr and "meta.horizon" in done.stderr
    assert "not connected" in done.stderr
    assert f"{broken}:" in done.stderr  # file and line
    assert "Traceback" not in done.stderr


def test_validate_ok_and_sources_and_levers():
    done = cli("validate", "capital_region", "classroom")
    assert done.returncode == 0, done.stderr
    sources = cli("sources", "classroom")
    assert sources.returncode == 0 and "without" in sources.stdout
    assert "0 without" in sources.stdout.splitlines()[-2]
    assert sources.stdout.splitlines()[-1].startswith("by status: ")
    levers = cli("levers", "classroom")
    assert "JOINT_CONTROL" in levers.stdout and "bohai_rim_outline L802" in levers.stdout


def test_output_folder_appears_whole_and_refuses_foreign_folders(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("precious")
    done = cli("run", "classroom", "--out", str(foreign), "--quiet")
    assert done.returncode == 2 and "not a regionsim run" in done.stderr
    assert (foreign / "thesis.docx").read_text() == "precious"
    out = tmp_path / "run"
    assert cli("run", "classroom", "--out", str(out), "--quiet").returncode == 0
    assert cli("run", "classroom", "--seed", "5", "--out", str(out), "--quiet").returncode == 0  # replaces a run
    assert json.loads((out / "run.json").read_text())["seed"] == 5
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


@pytest.mark.parametrize(("signalled", "status", "word"), [(KeyboardInterrupt, 130, "interrupted"), ("terminated", 143, "terminated")])
def test_a_signal_while_an_extension_initialises_is_an_interruption(monkeypatch, capsys, signalled, status, word):
    """Ctrl-C (or SIGTERM) landing while a compiled extension initialises (scipy, under `import mesa`) surfaces as
    "ImportError: initialization failed" raised from the KeyboardInterrupt: one line and 130 (143), no traceback.
    Any other ImportError still propagates."""
    from regionsim.model import cli as cli_module

    cause = KeyboardInterrupt() if signalled is KeyboardInterrupt else cli_module.Terminated()

    def importing(args):
        try:
            raise cause
        except BaseException as exc:
            raise ImportError("initialization failed") from exc

    monkeypatch.setitem(cli_module.COMMANDS, "validate", importing)
    assert cli_module.main(["validate", "classroom"]) == status
    assert capsys.readouterr().err == f"regionsim: {word}\n"

    def broken(args):
        raise ImportError("no module named nothing")

    monkeypatch.setitem(cli_module.COMMANDS, "validate", broken)
    with pytest.raises(ImportError, match="nothing"):
        cli_module.main(["validate", "classroom"])
