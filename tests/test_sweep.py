"""Sweeps: designs from a file, streamed resumable Parquet results, local processes and a real Dask cluster.

The 200-run Latin-hypercube sweep of capital_region to 2035 (scenarios/sweeps/capital_lhs.toml)
is run once locally and once through a Dask LocalCluster, and both tables must agree row for
row; the same sweep is SIGKILLed part-way in a subprocess and finished by running the command
again. Small sweeps (to 2026) cover the rest.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from regionsim.model.errors import ScenarioError, UserError
from regionsim.model.sweeps import RunTask, load_sweep, open_results, read_runs, rerun, run_sweep

from tests.conftest import cli, default_sigint

ROOT = Path(__file__).resolve().parent.parent
LHS = ROOT / "scenarios" / "sweeps" / "capital_lhs.toml"
REGIONSIM = str(Path(sys.executable).parent / "regionsim")


def regionsim(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """The console script in a fresh process."""
    return subprocess.run([REGIONSIM, *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=timeout)


def small_sweep(
    folder: Path,
    *,
    design: str = "latin_hypercube",
    samples: int = 6,
    replicates: int = 2,
    until: int = 2026,
    extra: str = "",
    name: str = "small.toml",
    levers: str | None = None,
) -> Path:
    """Write a small sweep file (runs take ~0.03 s each)."""
    levers = (
        levers
        or """
"rules.relocate.annual_quota_share" = { low = 0.05, high = 0.35 }
"rules.migrate.hukou_friction" = { low = 0.1, high = 0.7 }
"""
    )
    samples_line = "" if design == "full_factorial" else f"samples = {samples}"
    path = folder / name
    path.write_text(
        textwrap.dedent(f"""
[sweep]
scenario = "capital_region"
until = {until}
design = "{design}"
{samples_line}
replicates = {replicates}
seed = 11
{extra}
[levers]
{levers}
[outcomes]
indicators = ["population_beijing", "pm25_population_weighted", "units_away_from_origin"]
years = [2024, {until}]
series = ["population_total"]
"""),
        encoding="utf-8",
    )
    return path


def part_rows(folder: Path) -> pd.DataFrame:
    """Every row of every part file, without deduplication."""
    parts = sorted((folder / "parts").glob("part-*.parquet"))
    if not parts:
        return pd.DataFrame(columns=["run_id"])
    return pd.concat([pq.read_table(p).to_pandas() for p in parts], ignore_index=True)


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """A result table without the columns that say where and how fast a run went."""
    return frame.drop(columns=["elapsed_s", "worker"]).sort_values("run_id").reset_index(drop=True)


# --- runners that misbehave (top-level, so worker processes can unpickle them) -------------------------


def kill_worker_once(marker_dir: str, run_ids: tuple[int, ...], task: RunTask) -> dict:
    """SIGKILL the worker process the first time it gets one of `run_ids`; otherwise a normal run."""
    from regionsim.model.sweeps.task import run_one

    marker = Path(marker_dir) / f"killed-{task.run_id}"
    if task.run_id in run_ids and not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return run_one(task)


def break_run(run_id: int, task: RunTask) -> dict:
    """Run `run_id` with a lever value outside the rule's range, so the model refuses it inside the worker
    (through the worker's installed scenario: the task names its digest)."""
    from regionsim.model.sweeps.task import run_one

    if task.run_id == run_id:
        task = dataclasses.replace(task, levers={**task.levers, "rules__relocate__annual_quota_share": 7.5})
    return run_one(task)


# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lhs_local(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The 200-run Latin-hypercube sweep of capital_region to 2035, run locally in 2 processes."""
    out = tmp_path_factory.mktemp("lhs") / "local"
    summary = run_sweep(LHS, out, workers=2, progress=False)
    print(f"\n200-run LHS sweep to 2035, local, 2 processes: {summary['seconds']:.1f} s, {summary['new'] / summary['seconds']:.1f} runs/s")
    return out, summary


@pytest.fixture(scope="module")
def dask_cluster():
    """A real dask.distributed scheduler and two single-threaded worker processes on 127.0.0.1."""
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None, silence_logs=50)
    try:
        yield cluster
    finally:
        cluster.close()


# --- the design ---------------------------------------------------------------------------------------


def test_design_is_deterministic_with_stable_run_ids():
    first, second = load_sweep(LHS), load_sweep(LHS)
    a, b = first.design_table(), second.design_table()
    pd.testing.assert_frame_equal(a, b)
    assert first.fingerprint() == second.fingerprint()
    assert first.n_runs == len(a) == 200
    assert list(a["run_id"]) == list(range(200))
    assert (a["run_id"] == a["point_id"] * first.replicates + a["replicate"]).all()
    # replicate seeds are common to all points; each point is repeated once per seed
    assert a.groupby("replicate")["seed"].nunique().eq(1).all() and a["seed"].nunique() == first.replicates
    # Latin hypercube: each lever's 50 points fall one in each of 50 equal strata of its range
    for lever in first.levers:
        values = a.drop_duplicates("point_id")[lever.column].to_numpy()
        assert ((values >= lever.low) & (values <= lever.high)).all()
        strata = np.floor((values - lever.low) / (lever.high - lever.low) * first.samples).astype(int)
        assert sorted(strata) == list(range(first.samples))


def test_full_factorial_and_sobol_layouts(tmp_path):
    factorial = load_sweep(
        small_sweep(
            tmp_path,
            design="full_factorial",
            levers="""
"rules.joint_control.enabled" = { values = [true, false] }
"rules.relocate.annual_quota_share" = { low = 0.05, high = 0.35, levels = 3 }
"rules.services.lag_years" = { low = 0, high = 4, levels = 3 }
""",
        )
    )
    table = factorial.design_table()
    assert factorial.n_runs == 2 * 3 * 3 * 2 == len(table)
    combos = table[[lever.column for lever in factorial.levers]].drop_duplicates()
    assert len(combos) == 18
    assert set(table["rules__services__lag_years"]) == {0, 2, 4}
    assert table["rules__services__lag_years"].dtype == np.int64
    assert table["rules__joint_control__enabled"].dtype == bool

    sobol = load_sweep(small_sweep(tmp_path, design="sobol", samples=8, replicates=1, name="sobol.toml"))
    table = sobol.design_table()
    k = len(sobol.levers)
    assert len(table) == 8 * (k + 2)
    columns = [lever.column for lever in sobol.levers]
    blocks = table[columns].to_numpy().reshape(8, k + 2, k)
    for i in range(k):  # AB^i equals A except lever i, which comes from B
        assert np.array_equal(np.delete(blocks[:, 1 + i], i, axis=1), np.delete(blocks[:, 0], i, axis=1))
        assert np.array_equal(blocks[:, 1 + i, i], blocks[:, k + 1, i])


@pytest.mark.parametrize(
    ("lever", "message"),
    [
        ('"rules.relocate.annual_quota_share" = { low = 0.1, high = 1.5 }', "must be from 0 to 1"),
        ('"rules.relocate.no_such_lever" = { low = 0.1, high = 0.5 }', "has no lever 'no_such_lever'"),
        ('"rules.nowhere.x" = { low = 0.1, high = 0.5 }', "unknown rule 'nowhere'"),
        ('"rules.relocate.annual_quota_share" = { low = 0.5, high = 0.1 }', "must be below high"),
        ('"rules.joint_control.enabled" = { low = 0, high = 1 }', "values = [true, false]"),
        ('"rules.services.lag_years" = { values = [1, 2.5] }', "whole number"),
    ],
)
def test_bad_levers_are_user_errors_naming_file_and_key(tmp_path, lever, message):
    path = small_sweep(tmp_path, levers=lever)
    with pytest.raises(UserError) as caught:
        load_sweep(path)
    assert message in str(caught.value) and str(path) in str(caught.value)


def test_cli_reports_user_mistakes_with_exit_2(tmp_path):
    path = small_sweep(tmp_path, levers='"rules.relocate.annual_quota_share" = { low = 0.1, high = 1.5 }')
    result = cli("sweep", path, "--out", tmp_path / "out")
    assert result.returncode == 2, result.stderr
    assert "rules.relocate.annual_quota_share" in result.stderr and "Traceback" not in result.stderr
    bad_outcome = small_sweep(tmp_path, name="o.toml").read_text().replace('"pm25_population_weighted"', '"pm25_weighted"')
    (tmp_path / "o.toml").write_text(bad_outcome)
    result = cli("sweep", tmp_path / "o.toml", "--out", tmp_path / "out2")
    assert result.returncode == 2 and "unknown indicator 'pm25_weighted'" in result.stderr
    assert "pm25_population_weighted" in result.stderr  # the suggestion
    result = cli("sweep", tmp_path / "missing.toml", "--out", tmp_path / "out3")
    assert result.returncode == 2 and "no such sweep file" in result.stderr


# --- check 1: 200 runs locally, one row each; any row re-runs alone ----------------------------------------


def test_lhs_200_runs_locally_one_row_per_run(lhs_local):
    out, summary = lhs_local
    runs = read_runs(out)
    spec = load_sweep(LHS)
    assert summary["new"] == 200 and len(runs) == 200
    assert sorted(runs["run_id"]) == list(range(200))
    assert len(part_rows(out)) == 200  # no duplicates even before deduplication
    assert (runs["status"] == "ok").all()
    lever_columns = [lever.column for lever in spec.levers]
    for column in ["seed", *lever_columns, *spec.outcome_columns()]:
        assert runs[column].notna().all(), column
    design = pq.read_table(out / "design.parquet").to_pandas()
    merged = runs.merge(design, on="run_id", suffixes=("", "_design"))
    for column in ["seed", *lever_columns]:
        assert (merged[column] == merged[f"{column}_design"]).all()
    # a series column holds every year from the base year to the horizon
    assert all(len(s) == 2035 - 2023 + 1 for s in runs["population_beijing_series"])
    # the DuckDB file queries every part as one table (its paths are relative to the folder)
    from regionsim.model.sweeps.store import connect

    con = connect(out, out / "sweep.duckdb", read_only=True)
    assert con.execute("SELECT count(*), count(DISTINCT run_id) FROM runs").fetchone() == (200, 200)
    assert con.execute("SELECT count(*) FROM missing").fetchone() == (0,)
    con.close()


def test_any_row_rerun_alone_reproduces_its_outcomes(lhs_local):
    from regionsim.model.model import RegionModel

    out, _ = lhs_local
    spec = load_sweep(LHS)
    runs = read_runs(out).set_index("run_id")
    design = pq.read_table(out / "design.parquet").to_pandas().set_index("run_id")
    for run_id in (0, 137):
        row = design.loc[run_id]
        levers = {lever.key: row[lever.column].item() for lever in spec.levers}
        model = RegionModel(row["scenario"], rng=int(row["seed"]), until=int(row["until"]), record_functions=False, **levers).run()
        frame = model.model_frame().set_index("year")
        for indicator in spec.indicators:
            for year in spec.years:
                assert frame.loc[year, indicator] == runs.loc[run_id, f"{indicator}_{year}"]
        # and the helper that does the same from the folder alone
        again = rerun(out, run_id)
        for column in spec.outcome_columns():
            assert again[column] == runs.loc[run_id, column]


def test_rerunning_a_finished_sweep_does_nothing(lhs_local):
    out, _ = lhs_local
    parts_before = sorted(p.name for p in (out / "parts").iterdir())
    result = cli("sweep", LHS, "--out", out, "--workers", "2", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "nothing to do" in result.stdout
    assert sorted(p.name for p in (out / "parts").iterdir()) == parts_before


# --- check 2: the same sweep on a Dask cluster gives the same outcomes --------------------------------------


def test_dask_cluster_gives_the_same_outcomes_row_for_row(lhs_local, dask_cluster, tmp_path):
    out, _ = lhs_local
    started = time.perf_counter()
    summary = run_sweep(LHS, tmp_path / "dask", scheduler=dask_cluster.scheduler_address, progress=False)
    print(f"\n200-run LHS sweep through Dask {dask_cluster.scheduler_address}: {time.perf_counter() - started:.1f} s")
    assert summary["new"] == 200
    local, remote = comparable(read_runs(out)), comparable(read_runs(tmp_path / "dask"))
    assert len(remote) == 200
    pd.testing.assert_frame_equal(local, remote, check_exact=True)

    assert read_runs(tmp_path / "dask")["worker"].nunique() >= 2  # the work really ran on both worker processes


def test_dask_worker_killed_mid_run_is_retried(dask_cluster, tmp_path):
    path = small_sweep(tmp_path, samples=4, replicates=2)
    runner = functools.partial(kill_worker_once, str(tmp_path), (3,))
    summary = run_sweep(path, tmp_path / "out", scheduler=dask_cluster.scheduler_address, progress=False, runner=runner)
    assert (tmp_path / "killed-3").exists()  # a worker really died
    runs = read_runs(tmp_path / "out")
    assert summary["new"] == 8 and sorted(runs["run_id"]) == list(range(8)) and (runs["status"] == "ok").all()


def test_unreachable_scheduler_is_a_user_error(tmp_path):
    import socket

    with socket.socket() as s:  # a free port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(UserError, match="cannot reach a Dask scheduler"):
        run_sweep(small_sweep(tmp_path), tmp_path / "out", scheduler=f"tcp://127.0.0.1:{port}", progress=False, connect_timeout=2)


# --- check 3: SIGKILL the driver part-way, run again: exactly 200 rows ---------------------------------------


def test_sigkilled_driver_resumes_to_exactly_one_row_per_run(tmp_path):
    import psutil

    out = tmp_path / "out"
    driver = subprocess.Popen(
        [REGIONSIM, "sweep", str(LHS), "--out", str(out), "--workers", "2", "--quiet"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=default_sigint,
    )
    family = psutil.Process(driver.pid)
    deadline = time.monotonic() + 120
    while not any((out / "parts").glob("part-*.parquet")):  # the first part (parts flush every 2 s; the sweep now takes ~7 s)
        assert driver.poll() is None, driver.communicate()
        assert time.monotonic() < deadline, "no part files appeared"
        time.sleep(0.05)
    children = family.children(recursive=True)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    before = part_rows(out)
    assert 0 < len(before) < 200, "the kill came too late to test anything"
    assert before["run_id"].is_unique
    # the orphaned worker processes notice and exit instead of idling forever
    deadline = time.monotonic() + 15
    while (alive := [p for p in children if _running(p)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive, f"worker processes left behind: {alive}"

    result = regionsim("sweep", LHS, "--out", out, "--workers", "2", timeout=240)
    assert result.returncode == 0, result.stderr
    after = part_rows(out)
    assert len(after) == 200 and after["run_id"].is_unique  # none computed twice, none missing
    assert sorted(after["run_id"]) == list(range(200))
    assert f"{len(before)} were already done" in result.stdout
    con = open_results(out)
    assert con.execute("SELECT count(*), count(DISTINCT run_id) FROM runs").fetchone() == (200, 200)
    con.close()
    again = cli("sweep", LHS, "--out", out, "--workers", "2", timeout=120)
    assert again.returncode == 0 and "nothing to do" in again.stdout
    assert len(part_rows(out)) == 200


def _running(process) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for an init that may never reap it)."""
    import psutil

    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_ctrl_c_keeps_finished_rows_and_resumes(tmp_path):
    path = small_sweep(tmp_path, samples=75, replicates=2, until=2030)  # 150 runs: several seconds, so Ctrl-C lands mid-sweep
    out = tmp_path / "out"
    driver = subprocess.Popen(
        [REGIONSIM, "sweep", str(path), "--out", str(out), "--workers", "2", "--quiet"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=default_sigint,
    )
    deadline = time.monotonic() + 120
    while not list((out / "parts").glob("part-*.parquet")):
        assert driver.poll() is None and time.monotonic() < deadline, driver.communicate()
        time.sleep(0.05)
    import psutil

    for child in psutil.Process(driver.pid).children(recursive=True):  # the fork server, its workers, the resource tracker
        ignored = int(Path(f"/proc/{child.pid}/status").read_text().split("SigIgn:")[1].split()[0], 16)
        assert ignored & (1 << (signal.SIGINT - 1)), f"{child.cmdline()[:3]} would raise KeyboardInterrupt on Ctrl-C"
    os.killpg(driver.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
    _, stderr = driver.communicate(timeout=60)
    assert driver.returncode == 130, stderr
    assert "Run the same command again" in stderr and "Traceback" not in stderr
    before = part_rows(out)
    assert 0 < len(before) < 150 and before["run_id"].is_unique
    assert regionsim("sweep", path, "--out", out, "--workers", "2").returncode == 0
    after = part_rows(out)
    assert len(after) == 150 and after["run_id"].is_unique


# --- failures: dead workers are retried, raising runs are rows ------------------------------------------


def test_local_worker_death_is_retried(tmp_path):
    path = small_sweep(tmp_path, samples=5, replicates=2)
    runner = functools.partial(kill_worker_once, str(tmp_path), (2, 7))
    summary = run_sweep(path, tmp_path / "out", workers=2, progress=False, runner=runner)
    assert (tmp_path / "killed-2").exists() and (tmp_path / "killed-7").exists()
    runs = read_runs(tmp_path / "out")
    assert summary["new"] == 10 and sorted(runs["run_id"]) == list(range(10))
    assert (runs["status"] == "ok").all() and len(part_rows(tmp_path / "out")) == 10


def test_a_run_that_raises_is_a_failed_row_and_the_sweep_goes_on(tmp_path):
    path = small_sweep(tmp_path, samples=4, replicates=2)
    runner = functools.partial(break_run, 5)
    summary = run_sweep(path, tmp_path / "out", workers=2, progress=False, runner=runner)
    runs = read_runs(tmp_path / "out").set_index("run_id")
    assert summary["new"] == 8 and summary["failed_new"] == 1 and len(runs) == 8
    assert runs.loc[5, "status"] == "failed" and "rules.relocate.annual_quota_share" in runs.loc[5, "error"]
    assert "ScenarioError" in runs.loc[5, "error"]
    assert np.isnan(runs.loc[5, "pm25_population_weighted_2026"])
    assert (runs.drop(index=5)["status"] == "ok").all() and runs.drop(index=5)["error"].isna().all()
    # its levers and seed are still in the row, so it can be investigated alone
    assert runs.loc[5, ["seed", "rules__relocate__annual_quota_share"]].notna().all()


def test_a_sweep_can_start_from_a_variant(tmp_path):
    from regionsim.model.model import RegionModel
    from regionsim.model.scenario import SCENARIO_DIR

    variant = "capital_region-no_joint_control"
    if not (SCENARIO_DIR / "variants" / f"{variant}.toml").exists():
        pytest.skip(f"variant {variant} not in this checkout")
    path = small_sweep(tmp_path, samples=2, replicates=1)
    path.write_text(path.read_text().replace('scenario = "capital_region"', f'scenario = "{variant}"'))
    run_sweep(path, tmp_path / "out", workers=1, progress=False)
    row = read_runs(tmp_path / "out").iloc[1]
    model = RegionModel(
        variant,
        rng=int(row["seed"]),
        until=2026,
        record_functions=False,
        rules__relocate__annual_quota_share=row["rules__relocate__annual_quota_share"],
        rules__migrate__hukou_friction=row["rules__migrate__hukou_friction"],
    ).run()
    assert model.summary["pm25_population_weighted"] == row["pm25_population_weighted_2026"]
    assert model.params["joint_control"]["enabled"] is False


# --- the folder refuses a changed design; parts are atomic ------------------------------------------------


def test_changed_sweep_file_is_refused(tmp_path):
    path = small_sweep(tmp_path, samples=3, replicates=1)
    out = tmp_path / "out"
    run_sweep(path, out, workers=1, progress=False)
    path.write_text(path.read_text().replace("high = 0.35", "high = 0.30"))
    with pytest.raises(UserError, match="different design.*levers"):
        run_sweep(path, out, workers=1, progress=False)
    path.write_text(path.read_text().replace("seed = 11", "seed = 12").replace("high = 0.30", "high = 0.35"))
    with pytest.raises(UserError, match="different design.*seed"):
        run_sweep(path, out, workers=1, progress=False)
    # a comment or a description is not a different design
    path.write_text("# a comment\n" + path.read_text().replace("seed = 12", "seed = 11"))
    assert run_sweep(path, out, workers=1, progress=False)["new"] == 0


def test_a_half_written_part_is_never_read(tmp_path):
    path = small_sweep(tmp_path, samples=3, replicates=1)
    out = tmp_path / "out"
    run_sweep(path, out, workers=1, progress=False)
    parts = out / "parts"
    # what a driver killed inside a write leaves behind: a temporary name, never a part name
    stale = parts / ".part-20990101T000000-dead00-00001.parquet.abcd1234.tmp"
    stale.write_bytes(b"PAR1 truncated")
    assert len(read_runs(out)) == 3
    summary = run_sweep(path, out, workers=1, progress=False)
    assert summary["new"] == 0 and not stale.exists()


def test_rows_are_streamed_in_bounded_parts(tmp_path):
    """The driver holds at most `part_rows` results before writing them out."""
    path = small_sweep(tmp_path, samples=5, replicates=2)
    run_sweep(path, tmp_path / "out", workers=2, progress=False, part_rows=4, flush_seconds=3600)
    sizes = [pq.read_metadata(p).num_rows for p in sorted((tmp_path / "out" / "parts").glob("part-*.parquet"))]
    assert sorted(sizes, reverse=True) == [4, 4, 2]


def test_a_sweep_refuses_a_folder_that_is_not_a_sweep(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not a sweep folder"):
        run_sweep(small_sweep(tmp_path), tmp_path / "out", workers=1, progress=False)


# --- analyze ----------------------------------------------------------------------------------------------


def test_analyze_prints_a_table_and_writes_a_plot(lhs_local, tmp_path, capsys):
    from regionsim.model.cli import main

    out, _ = lhs_local
    assert main(["analyze", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "standardised regression" in printed and "migrate.hukou_friction" in printed
    png = (out / "sensitivity.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    table = pd.read_csv(out / "sensitivity.csv")
    spec = load_sweep(LHS)
    assert len(table) == len(spec.outcome_columns()) * len(spec.levers)
    assert table["r2"].between(0, 1).all()

    sobol = small_sweep(tmp_path, design="sobol", samples=8, replicates=1, name="sobol.toml")
    run_sweep(sobol, tmp_path / "sobol", workers=2, progress=False)
    assert main(["analyze", str(tmp_path / "sobol")]) == 0
    assert "Sobol indices" in capsys.readouterr().out and (tmp_path / "sobol" / "sensitivity.png").exists()
    assert main(["analyze", str(tmp_path / "nowhere")]) == 2
    assert "not a sweep folder" in capsys.readouterr().err


def test_regression_screening_recovers_known_coefficients():
    from regionsim.model.sweeps.analyze import regression_screening

    rng = np.random.default_rng(3)
    x = rng.uniform(size=(400, 3))
    y = 3 * x[:, 0] - 1 * x[:, 1] + 0 * x[:, 2] + rng.normal(scale=0.05, size=400) + 1e6
    points = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y})
    table = regression_screening(points, ["a", "b", "c"], ["y"]).set_index("lever")
    # SRC = coefficient × sd(lever) / sd(outcome)
    expected = np.array([3.0, -1.0, 0.0]) * x.std(axis=0) / y.std()
    assert np.allclose(table["src"], expected, atol=0.01)
    assert table["r2"].iloc[0] > 0.99


# --- SALib through our own path: a sweep folder whose rows hold a known function -----------------------------


def fake_sweep(
    tmp_path: Path, design: str, samples: int, levers: dict[str, tuple[float, float]], function, replicates: int = 1
) -> tuple[Path, object]:
    """A real sweep file, design and folder, but each row's outcomes are `function(u)` of the row's inputs
    rescaled to [0, 1] (u[key] = (value − low) / (high − low)) instead of a model run. Returns (folder, spec)."""
    from regionsim.model.sweeps.store import PartWriter, SweepFolder, write_duckdb
    from regionsim.model.sweeps.task import make_task

    lines = "\n".join(f'"{key}" = {{ low = {low}, high = {high} }}' for key, (low, high) in levers.items())
    path = small_sweep(tmp_path, design=design, samples=samples, replicates=replicates, levers=lines, name=f"fake_{design}.toml")
    spec = load_sweep(path)
    folder = SweepFolder(tmp_path / f"fake_{design}", spec)
    folder.prepare()
    writer = PartWriter(folder, flush_seconds=3600)
    for row in spec.design_table().to_dict("records"):
        task = make_task(spec, row)
        u = {key: (task.levers[key.replace(".", "__")] - low) / (high - low) for key, (low, high) in levers.items()}
        y = float(function(u))
        result = task.identity()
        result.update({column: y for column in spec.outcome_columns()})
        result.update({column: [y] for column in spec.series_columns()})
        result.update({"status": "ok", "error": None, "elapsed_s": 0.0, "worker": "test"})
        writer.add(result)
    writer.flush()
    folder.release()
    write_duckdb(folder.root)
    return folder.root, spec


# The Ishigami function's analytic indices (a = 7, b = 0.1; Ishigami & Homma 1990): x1, x2, x3 on [−π, π].
ISHIGAMI_S1 = (0.3139, 0.4424, 0.0)
ISHIGAMI_ST = (0.5576, 0.4424, 0.2437)
QUOTA, HUKOU, RESPONSE = "rules.relocate.annual_quota_share", "rules.migrate.hukou_friction", "rules.joint_control.response"


def ishigami(x1: float, x2: float, x3: float) -> float:
    """sin x1 + 7 sin² x2 + 0.1 x3⁴ sin x1, plus a large mean (which must not matter)."""
    return np.sin(x1) + 7 * np.sin(x2) ** 2 + 0.1 * x3**4 * np.sin(x1) + 1e4


def test_sobol_analysis_recovers_the_ishigami_indices_through_our_path(tmp_path, capsys):
    """SALib's sample as our design, rows in a sweep folder, `regionsim analyze`: the analytic indices come back.

    The file lists the inputs as (x2, x3, x1) of Ishigami, so the importance order (x1, x2, x3 by ST)
    differs from the file order, which the plot must keep.
    """
    from regionsim.model.cli import main
    from regionsim.model.sweeps.analyze import analyze, analyze_folder

    levers = {QUOTA: (0.05, 0.35), HUKOU: (0.1, 0.7), RESPONSE: (0.0, 2.0)}

    def on_pi(u: float) -> float:
        return -np.pi + 2 * np.pi * u

    folder, spec = fake_sweep(tmp_path, "sobol", 1024, levers, lambda u: ishigami(on_pi(u[RESPONSE]), on_pi(u[QUOTA]), on_pi(u[HUKOU])))
    # the design is SALib's Saltelli sample (no second-order rows)
    from SALib.sample import sobol

    salib = sobol.sample(spec.salib_problem(), 1024, calc_second_order=False, scramble=True, seed=spec.seed)
    assert np.array_equal(spec.unit_points(), salib) and spec.n_points == 1024 * 5
    table, method, _ = analyze(folder)
    assert method == "sobol"
    table = table[table["outcome"] == spec.outcome_columns()[0]].set_index("lever")
    order = [RESPONSE, QUOTA, HUKOU]  # Ishigami's x1, x2, x3
    s1 = table.loc[[k.replace(".", "__") for k in order]]
    print("\n" + s1[["s1", "s1_conf", "st", "st_conf"]].to_string())
    for got, conf, true in zip(s1["s1"], s1["s1_conf"], ISHIGAMI_S1, strict=True):
        assert abs(got - true) <= max(conf, 0.03), (got, conf, true)
        assert 0 < conf < 0.1  # SALib's own interval, and narrow enough to mean something
    for got, conf, true in zip(s1["st"], s1["st_conf"], ISHIGAMI_ST, strict=True):
        assert abs(got - true) <= max(conf, 0.03), (got, conf, true)
        assert 0 < conf < 0.1
    # the report and the plot: plot in the sweep file's order, the text by importance
    drawn = analyze_folder(folder)
    assert drawn == ["relocate.annual_quota_share", "migrate.hukou_friction", "joint_control.response"]
    printed = capsys.readouterr().out
    assert "Sobol indices by SALib" in printed and (folder / "sensitivity.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["analyze", str(folder), "--method", "morris"]) == 2  # a Sobol design is not a Morris design
    assert "needs a sweep with design" in capsys.readouterr().err
    assert main(["analyze", str(folder), "--method", "regression"]) == 0


def test_morris_screening_recovers_linear_effects(tmp_path):
    """y = 4 u_a + 1 u_b + 0 u_c on the unit cube: μ* = (4, 1, 0) per whole range, σ = 0 (a linear function)."""
    from regionsim.model.sweeps.analyze import analyze
    from SALib.sample import morris

    levers = {QUOTA: (0.05, 0.35), HUKOU: (0.1, 0.7), RESPONSE: (0.0, 2.0)}
    folder, spec = fake_sweep(tmp_path, "morris", 12, levers, lambda u: 4 * u[QUOTA] + 1 * u[HUKOU] + 0 * u[RESPONSE], replicates=2)
    assert spec.n_points == 12 * 4 and spec.n_runs == 96
    assert np.array_equal(spec.unit_points(), morris.sample(spec.salib_problem(), 12, num_levels=4, seed=spec.seed))
    table, method, facts = analyze(folder)
    assert method == "morris" and facts["points"] == 48
    table = table[table["outcome"] == spec.outcome_columns()[0]].set_index("lever")
    assert np.allclose(table["mu_star"], [4.0, 1.0, 0.0], atol=1e-9)
    assert np.allclose(table["mu"].abs(), [4.0, 1.0, 0.0], atol=1e-9)
    assert np.allclose(table["sigma"], 0.0, atol=1e-9)
    assert (table["trajectories"] == 12).all()


def test_analyze_reports_policy_levers_then_uncertainties(tmp_path, capsys):
    """Roles are read from the rule registry: the report groups each outcome's inputs, policy levers first."""
    from regionsim.model.cli import main
    from regionsim.model.rules import REGISTRY

    floats = [
        (f"rules.{rule}.{lever.name}", lever)
        for rule, spec in REGISTRY.items()
        for lever in spec.levers
        if lever.kind == "float" and lever.high - lever.low <= 10
    ]
    policy = [item for item in floats if item[1].role == "policy"][:2]
    uncertain = [item for item in floats if item[1].role == "uncertainty"][:1]
    if not uncertain:
        pytest.skip("no lever is classified as an uncertainty yet")
    chosen = [uncertain[0], *policy]  # the uncertainty first in the file: the report still puts it second
    levers = {key: (lever.low, lever.low + (lever.high - lever.low) / 2) for key, lever in chosen}
    keys = list(levers)
    folder, _ = fake_sweep(tmp_path, "morris", 6, levers, lambda u: 3 * u[keys[0]] + 2 * u[keys[1]] + u[keys[2]])
    assert main(["analyze", str(folder)]) == 0
    printed = capsys.readouterr().out
    block = printed.split("population_beijing_2024")[1].split("\n\n")[0]
    lines = block.splitlines()
    at = {
        name: next(i for i, line in enumerate(lines) if name in line)
        for name in ("policy levers", "uncertainties (model assumptions)", *(key.split(".", 1)[1] for key in keys))
    }
    assert at["policy levers"] < at[keys[1].split(".", 1)[1]] < at["uncertainties (model assumptions)"]
    assert at["policy levers"] < at[keys[2].split(".", 1)[1]] < at["uncertainties (model assumptions)"]
    assert at["uncertainties (model assumptions)"] < at[keys[0].split(".", 1)[1]]
    table = pd.read_csv(folder / "sensitivity.csv")
    assert set(table.loc[table["lever"] == keys[0].replace(".", "__"), "role"]) == {"uncertainty"}
    assert set(table.loc[table["lever"] != keys[0].replace(".", "__"), "role"]) == {"policy"}


# --- a sweep file's problems, all at once ---------------------------------------------------------------------


def test_every_problem_of_a_sweep_file_is_reported_at_once_with_its_line(tmp_path):
    path = small_sweep(
        tmp_path,
        samples=6,
        levers="""
"rules.relocate.annual_quota_share" = { low = 0.1, high = 1.5 }
"rules.nowhere.x" = { low = 0.1, high = 0.5 }
"rules.migrate.hukou_friction" = { low = 0.1, high = 0.7 }
""",
        extra='colour = "blue"',
    )
    text = path.read_text().replace('"pm25_population_weighted"', '"pm25_weighted"').replace("replicates = 2", "replicates = 0")
    path.write_text(text)
    lines = text.splitlines()

    def line_of(fragment: str) -> int:
        return next(i for i, line in enumerate(lines, 1) if fragment in line)

    with pytest.raises(ScenarioError) as caught:
        load_sweep(path)
    problems = {p.key: p for p in caught.value.problems}
    expected = {
        "sweep.colour": line_of("colour"),
        "sweep.replicates": line_of("replicates = 0"),
        'levers."rules.relocate.annual_quota_share".high': line_of("annual_quota_share"),
        'levers."rules.nowhere.x"': line_of("rules.nowhere.x"),
        "outcomes.indicators": line_of("pm25_weighted"),
    }
    assert set(expected) <= set(problems), sorted(problems)
    for key, line in expected.items():
        assert problems[key].line == line, (key, problems[key])
        assert problems[key].file == str(path)
    message = str(caught.value)
    assert message.startswith(f"{len(caught.value.problems)} problems in the sweep file")
    assert "must be from 0 to 1" in message and "valid rules:" in message and "valid keys:" in message
    assert "Did you mean pm25_population_weighted" in message
    assert f"{path}:{expected['sweep.colour']}: sweep.colour: unknown key" in message
    # the command line: all of them, exit status 2, no traceback
    result = cli("sweep", path, "--out", tmp_path / "out")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert all(key in result.stderr for key in expected)


@pytest.mark.parametrize(
    ("sweep_line", "message"),
    [
        ("samples = 6", "power of two"),  # a Sobol design: 6 base samples
        ("morris_levels = 3", "an even whole number"),
    ],
)
def test_salib_designs_check_their_own_settings(tmp_path, sweep_line, message):
    design = "sobol" if "samples" in sweep_line else "morris"
    path = small_sweep(tmp_path, design=design, samples=6 if design == "sobol" else 4, extra="" if "samples" in sweep_line else sweep_line)
    with pytest.raises(ScenarioError, match=message):
        load_sweep(path)


# --- a moved folder still queries -------------------------------------------------------------------------------


def test_a_copied_sweep_folder_still_queries_after_the_original_is_gone(tmp_path, monkeypatch):
    import duckdb

    out = tmp_path / "first" / "out"
    run_sweep(small_sweep(tmp_path, samples=3, replicates=1), out, workers=1, progress=False)
    copy = tmp_path / "elsewhere" / "copied"
    shutil.copytree(out, copy)
    shutil.rmtree(tmp_path / "first")
    con = open_results(copy)
    assert con.execute("SELECT count(*), count(DISTINCT run_id) FROM runs").fetchone() == (3, 3)
    assert con.execute("SELECT count(*) FROM missing").fetchone() == (0,)
    con.close()
    assert len(read_runs(copy)) == 3
    # the DuckDB file itself: from inside the folder, or anywhere after SET file_search_path
    monkeypatch.chdir(copy)
    with duckdb.connect("sweep.duckdb", read_only=True) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (3,)
    monkeypatch.chdir(tmp_path)
    with duckdb.connect(str(copy / "sweep.duckdb"), read_only=True) as con:
        con.execute(f"SET file_search_path = '{copy.as_posix()}'")
        assert con.execute("SELECT count(*) FROM design").fetchone() == (3,)


# --- check 4: memory does not grow with the number of runs ------------------------------------------------

MEMORY_PROBE = """
import resource, sys
from regionsim.model.sweeps import run_sweep
summary = run_sweep(sys.argv[1], sys.argv[2], workers=2, progress=False)
print(summary["new"], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def memory_sweep(folder: Path, samples: int, scenario: str, until: int) -> Path:
    """A sweep of cheap runs with whole series kept, so rows are not trivially small."""
    path = folder / f"memory{samples}.toml"
    path.write_text(
        f"""
[sweep]
scenario = "{scenario}"
until = {until}
design = "latin_hypercube"
samples = {samples}
replicates = 2
seed = 5
[levers]
"rules.relocate.annual_quota_share" = {{ low = 0.05, high = 0.35 }}
"rules.migrate.hukou_friction" = {{ low = 0.1, high = 0.7 }}
[outcomes]
indicators = ["population_total", "gdp_total_100m_yuan", "pm25_population_weighted", "theil_gdp_per_capita"]
series = ["population_total", "gdp_total_100m_yuan", "pm25_population_weighted"]
""",
        encoding="utf-8",
    )
    return path


def peak_rss_kib(path: Path, out: Path) -> tuple[int, int]:
    """(runs, peak RSS of the driver in KiB) of a sweep run in a fresh interpreter."""
    probe = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(path), str(out)], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert probe.returncode == 0, probe.stderr
    runs, peak = map(int, probe.stdout.split())
    return runs, peak


def test_peak_memory_of_2000_runs_is_within_1_5x_of_200(tmp_path):
    """Peak RSS of the driver process (ru_maxrss of a fresh interpreter), 200 vs 2,000 runs.

    Runs-are-cheap stand-in: the three-city fixture scenario to 2026 (about 6 ms a run) through the
    real streaming path (process pool, part files, DuckDB views). The same check on capital_region
    to 2024 is `REGIONSIM_MEMORY_SCENARIO=capital_region REGIONSIM_MEMORY_UNTIL=2024`.
    """
    scenario = os.environ.get("REGIONSIM_MEMORY_SCENARIO", str(ROOT / "tests" / "fixtures" / "three_cities.toml"))
    until = int(os.environ.get("REGIONSIM_MEMORY_UNTIL", "2026"))
    peaks = {}
    for samples in (100, 1000):
        started = time.perf_counter()
        runs, peak = peak_rss_kib(memory_sweep(tmp_path, samples, scenario, until), tmp_path / f"m{samples}")
        assert runs == 2 * samples
        assert len(read_runs(tmp_path / f"m{samples}")) == runs
        peaks[runs] = peak
        print(
            f"\n{runs} runs of {Path(scenario).stem} to {until}: driver peak RSS {peak / 1024:.1f} MiB, "
            f"{time.perf_counter() - started:.1f} s"
        )
    ratio = peaks[2000] / peaks[200]
    print(f"peak RSS ratio 2000/200 runs: {ratio:.3f} ({(peaks[2000] - peaks[200]) / 1024:+.1f} MiB)")
    assert ratio <= 1.5
