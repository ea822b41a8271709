"""Sweep workers that need only the package, and sweeps that reuse what every run shares.

* A sweep task carries the resolved scenario as content (sent once per worker process), not as a
  path: a sweep of a scenario file in a temporary folder runs on Dask worker processes started in
  another working directory after the file has been deleted, and its table equals a local run's.
* A prepared scenario (read and checked once, its base-year state copied for each run, only the
  asked outcomes recorded) gives outcomes identical (==) to a plain `regionsim.simulate` run for
  the same levers and seed; batching several runs per task changes nothing in the table.
"""

from __future__ import annotations

import copy
import functools
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from regionsim.model.api import prepare, simulate
from regionsim.model.errors import ScenarioError
from regionsim.model.sweeps import load_sweep, read_runs, run_sweep
from regionsim.model.sweeps.task import install, make_task, payload_of, run_one, worker_stats

from tests.test_sweep import comparable, kill_worker_once, part_rows

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "three_cities.toml"
QUOTA, HUKOU = "rules.relocate.annual_quota_share", "rules.migrate.hukou_friction"


def own_scenario(folder: Path) -> Path:
    """A user's own scenario file: the three-city fixture with another name and another natural change in the east."""
    text = FIXTURE.read_text(encoding="utf-8")
    text = text.replace('name = "three_cities"', 'name = "my_region"', 1)
    changed = text.replace("natural_change_per_1000 = 0.0", "natural_change_per_1000 = 4.0", 1)
    assert changed != text
    path = folder / "my_region.toml"
    path.write_text(changed, encoding="utf-8")
    return path


def sweep_of(folder: Path, scenario: str, until: int, *, samples: int = 8, replicates: int = 2, extra_set: str = "") -> Path:
    """A Latin-hypercube sweep file of two levers (plus a whole series) over `scenario`."""
    path = folder / "sweep.toml"
    path.write_text(
        textwrap.dedent(f"""
[sweep]
scenario = "{scenario}"
until = {until}
design = "latin_hypercube"
samples = {samples}
replicates = {replicates}
seed = 3
[levers]
"{QUOTA}" = {{ low = 0.05, high = 0.35 }}
"{HUKOU}" = {{ low = 0.1, high = 0.7 }}
[set]
{extra_set}
[outcomes]
indicators = ["population_total", "pm25_population_weighted", "units_away_from_origin", "theil_gdp_per_capita"]
years = [{until - 1}, {until}]
series = ["population_total"]
"""),
        encoding="utf-8",
    )
    return path


# --- the task carries content, and little of it -----------------------------------------------------------


def test_a_task_carries_no_scenario_and_the_payload_carries_the_resolved_content(tmp_path):
    spec = load_sweep(sweep_of(tmp_path, "capital_region", 2026, extra_set='"rules.fund.enabled" = false'))
    task = make_task(spec, spec.design_table().iloc[3].to_dict())
    pickled = pickle.dumps(task)
    assert len(pickled) < 2000, len(pickled)
    assert b"bj_core" not in pickled and task.scenario_sha256 == spec.scenario_digest
    payload = payload_of(spec)
    assert payload.data["rules"]["fund"]["enabled"] is False, "the [set] is applied in the content"
    assert any(city["id"] == "bj_core" for city in payload.data["cities"])
    again = pickle.loads(pickle.dumps(payload))
    assert again == payload


# --- workers that need only the package ------------------------------------------------------------------


@pytest.fixture
def dask_workers_elsewhere(tmp_path):
    """A Dask scheduler (LocalCluster, no workers of its own) and two `dask worker` processes started in another directory."""
    from distributed import Client, LocalCluster

    elsewhere = tmp_path / "worker_home"
    elsewhere.mkdir()
    cluster = LocalCluster(n_workers=0, processes=True, host="127.0.0.1", dashboard_address=None, silence_logs=50)
    dask = str(Path(sys.executable).parent / "dask")
    workers = [
        subprocess.Popen(
            [dask, "worker", cluster.scheduler_address, "--nthreads", "1", "--no-dashboard", "--name", f"elsewhere-{i}"],
            cwd=elsewhere,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(2)
    ]
    client = Client(cluster.scheduler_address, set_as_default=False)
    try:
        client.wait_for_workers(2, timeout=120)
        yield cluster.scheduler_address, client, elsewhere
    finally:
        client.close()
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        cluster.close()


def test_dask_workers_elsewhere_run_a_deleted_scenario_file_sent_once_each(tmp_path, dask_workers_elsewhere):
    address, client, elsewhere = dask_workers_elsewhere
    driver = tmp_path / "driver"
    driver.mkdir()
    scenario = own_scenario(driver)
    spec = load_sweep(sweep_of(driver, "my_region.toml", 2029, samples=10, replicates=2))
    assert spec.scenario == str(scenario.resolve())
    local = run_sweep(spec, tmp_path / "local", workers=2, progress=False)
    assert local["new"] == 20 and local["failed_new"] == 0

    scenario.unlink()  # the driver's file is gone; the workers never had it
    assert not scenario.exists()
    cwds = set(client.run(os.getcwd).values())
    assert cwds == {str(elsewhere)}, cwds

    summary = run_sweep(spec, tmp_path / "dask", scheduler=address, progress=False)
    assert summary["new"] == 20 and summary["failed_new"] == 0, read_runs(tmp_path / "dask")["error"].dropna().tolist()
    remote = read_runs(tmp_path / "dask")
    pd.testing.assert_frame_equal(comparable(read_runs(tmp_path / "local")), comparable(remote), check_exact=True)
    assert remote["worker"].nunique() == 2, "both worker processes ran some of the sweep"

    stats = [s[spec.scenario_digest] for s in client.run(worker_stats).values() if spec.scenario_digest in s]
    assert len(stats) == 2
    assert all(s["received"] == 1 for s in stats), f"the scenario went to each worker once, not once per run: {stats}"
    assert all(s["cwd"] == str(elsewhere) for s in stats)
    assert sum(s["runs"] for s in stats) == 20


# --- prepared runs are the same runs -----------------------------------------------------------------------


def test_prepared_runs_equal_plain_simulate_exactly():
    """Same scenario, [set], levers and seed: `PreparedScenario.simulate` == `regionsim.simulate` (not approx)."""
    fixed = {"rules.fund.enabled": False}
    prepared = prepare("capital_region", **fixed)
    outcomes = ["population_beijing@2030", "pm25_population_weighted@2027", "theil_gdp_per_capita", "units_moved@2023"]
    cases = [(1, 0.1, 0.2), (2, 0.3, 0.6), (2, 0.3, 0.6), (77, 0.05, 0.7)]
    results = []
    for seed, quota, hukou in cases:
        levers = {QUOTA.replace(".", "__"): quota, HUKOU: hukou}
        ours = prepared.simulate(seed=seed, until=2030, outcomes=outcomes, **levers)
        plain = simulate("capital_region", seed=seed, until=2030, outcomes=outcomes, **fixed, **levers)
        assert ours == plain, (seed, quota, hukou)
        assert list(ours) == outcomes and all(type(v) is type(plain[k]) for k, v in ours.items())
        results.append(ours)
    assert results[1] == results[2] and results[0] != results[1], "levers and seeds matter, and the same ones repeat"
    # no outcomes named: every series at the last year, as simulate
    assert prepared.simulate(seed=5, until=2025) == simulate("capital_region", seed=5, until=2025, **fixed)


def test_runs_do_not_change_the_prepared_scenario_or_its_state():
    prepared = prepare("capital_region")
    data = copy.deepcopy(prepared.scenario.data)
    params = copy.deepcopy(prepared.scenario.params)
    template = copy.deepcopy(prepared.template())
    first = prepared.simulate(seed=9, until=2028, **{QUOTA: 0.3})
    prepared.simulate(seed=10, until=2028, **{QUOTA: 0.1, "rules.joint_control.enabled": False})
    assert prepared.simulate(seed=9, until=2028, **{QUOTA: 0.3}) == first
    assert prepared.scenario.data == data and prepared.scenario.params == params
    for name, value in vars(template).items():
        other = getattr(prepared.template(), name)
        if isinstance(value, np.ndarray):
            assert np.array_equal(value, other, equal_nan=True), name
    assert prepared.runs == 3


def test_prepared_levers_are_checked_and_any_key_path_still_works():
    prepared = prepare(FIXTURE)
    with pytest.raises(ScenarioError, match="rules.relocate.annual_quota_share"):
        prepared.simulate(seed=1, until=2027, **{QUOTA: 7.5})
    with pytest.raises(ScenarioError, match="rules.joint_control.enabled"):
        prepared.simulate(seed=1, until=2027, **{"rules.joint_control.enabled": "yes"})
    with pytest.raises(ScenarioError, match="until"):
        prepared.simulate(seed=1, until=1990)
    # a key path outside the rules: the whole document is copied and checked, the state built anew
    key = "cities.newtown.hukou_friction"
    ours = prepared.simulate(seed=4, until=2028, **{key: 0.55, QUOTA: 0.2})
    assert ours == simulate(FIXTURE, seed=4, until=2028, **{key: 0.55, QUOTA: 0.2})
    assert ours != prepared.simulate(seed=4, until=2028, **{QUOTA: 0.2})


def test_sweep_rows_equal_plain_simulate_for_the_same_levers_and_seed(tmp_path):
    """The real path: local worker processes, batches, the installed scenario — each row == simulate(...)."""
    spec = load_sweep(sweep_of(tmp_path, "capital_region", 2027, samples=6, replicates=2, extra_set='"rules.fund.enabled" = false'))
    run_sweep(spec, tmp_path / "out", workers=2, progress=False, batch_size=4)
    runs = read_runs(tmp_path / "out").set_index("run_id")
    assert len(runs) == 12 and (runs["status"] == "ok").all()
    for run_id in (0, 5, 11):
        row = runs.loc[run_id]
        levers = {lever.key: row[lever.column].item() for lever in spec.levers}
        asked = [f"{i}@{y}" for i in spec.indicators for y in spec.years]
        plain = simulate("capital_region", seed=int(row["seed"]), until=2027, outcomes=asked, **spec.fixed, **levers)
        for indicator in spec.indicators:
            for year in spec.years:
                assert row[f"{indicator}_{year}"] == plain[f"{indicator}@{year}"], (run_id, indicator, year)
        series = simulate(
            "capital_region",
            seed=int(row["seed"]),
            until=2027,
            outcomes=[f"population_total@{y}" for y in spec.series_years],
            **spec.fixed,
            **levers,
        )
        assert list(row["population_total_series"]) == list(series.values())


def test_batches_change_nothing_in_the_table(tmp_path):
    spec = load_sweep(sweep_of(tmp_path, str(FIXTURE), 2028, samples=9, replicates=2))
    run_sweep(spec, tmp_path / "single", workers=2, progress=False, batch_size=1)
    run_sweep(spec, tmp_path / "batched", workers=2, progress=False, batch_size=5)
    single, batched = read_runs(tmp_path / "single"), read_runs(tmp_path / "batched")
    assert len(batched) == 18 and len(part_rows(tmp_path / "batched")) == 18
    pd.testing.assert_frame_equal(comparable(single), comparable(batched), check_exact=True)


def test_a_worker_killed_mid_batch_loses_no_run_and_duplicates_none(tmp_path):
    spec = load_sweep(sweep_of(tmp_path, str(FIXTURE), 2027, samples=8, replicates=2))
    runner = functools.partial(kill_worker_once, str(tmp_path), (5,))
    summary = run_sweep(spec, tmp_path / "out", workers=2, progress=False, runner=runner, batch_size=4)
    assert (tmp_path / "killed-5").exists()
    runs = read_runs(tmp_path / "out")
    assert summary["new"] == 16 and sorted(runs["run_id"]) == list(range(16))
    assert (runs["status"] == "ok").all() and len(part_rows(tmp_path / "out")) == 16


def test_installing_twice_in_one_process_prepares_once(tmp_path):
    spec = load_sweep(sweep_of(tmp_path, str(FIXTURE), 2027, samples=2, replicates=1))
    payload = payload_of(spec)
    first = install(payload)
    assert install(pickle.loads(pickle.dumps(payload))) is first
    row = run_one(make_task(spec, spec.design_table().iloc[0].to_dict()))
    assert row["status"] == "ok" and first.runs >= 1
    damaged = type(payload)(payload.ref, payload.name, {**payload.data, "meta": {}}, payload.digest + "0", payload.fixed)
    with pytest.raises(ValueError, match="does not match its digest"):
        install(damaged)
