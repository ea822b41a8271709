"""`regionsim run` writes as it simulates, and a sweep folder re-runs any row on its own.

* The streamed files hold exactly the rows of a model run in memory (`agent_frame`, `event_frame`), one
  Parquet row group per simulated year, and the model keeps none of them once written.
* Peak memory of a long run does not grow with its years: a fresh process running a synthetic region 40
  years peaks (VmHWM) within a few MB of one running it 5 years.
* `--tables` writes only the tables asked for; `--function-rows` keeps none, all, or a fixed sample of the
  functions (the same ones every year and for every seed); the same command gives byte-identical files in
  separate processes; a bad option is a user's mistake (exit 2, nothing written).
* A killed writer leaves no partial file under a final name (`io.ParquetStream`), and a wake-up lost to a
  Ctrl-C inside `Condition.notify` does not leave the writer thread (and the run) waiting for ever.
* `store.rerun` repeats a row from the sweep folder alone, after the scenario file is gone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from regionsim.model import io, outputs
from regionsim.model.run import run_model, run_to_directory
from regionsim.model.synth import write_synth

from tests.conftest import regionsim

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    """A synthetic region of 60 cities and 3,000 functions."""
    path = tmp_path_factory.mktemp("synth") / "s60.toml"
    write_synth(path, 60, 3000, 2)
    return path


def test_streamed_files_hold_the_in_memory_rows_one_row_group_per_year(tmp_path):
    model, out = run_to_directory("capital_region", tmp_path / "run", seed=4, until=2029)
    assert model.agent_frames == [] and model.events.block_count() > 0 and model.events._blocks == []  # nothing kept
    reference, _ = run_model("capital_region", seed=4, until=2029)
    agents, events = pd.read_parquet(out / "agents.parquet"), pd.read_parquet(out / "events.parquet")
    pd.testing.assert_frame_equal(agents, reference.agent_frame(), check_dtype=False)
    pd.testing.assert_frame_equal(events, reference.event_frame(), check_dtype=False)
    assert len(events) == len(model.events) > 0
    years = 2029 - 2023 + 1
    assert pq.ParquetFile(out / "agents.parquet").metadata.num_row_groups == years
    assert pq.ParquetFile(out / "events.parquet").metadata.num_row_groups == events["year"].nunique()
    pd.testing.assert_frame_equal(pd.read_parquet(out / "model.parquet"), reference.model_frame())
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no temporary folder or part file left


def test_the_event_log_taken_out_keeps_counting_and_refuses_what_it_gave_away():
    from regionsim.model.events import EventLog

    log = EventLog()
    log.add(2024, "R", "k", "a", "b", units=2, amount=1.5, why_en="one")
    log.add_many(3, 2024, "R", "k", np.array(["a", "b", "c"], dtype=object), "x", amount=np.arange(3.0), why_en=lambda: ["p", "q", "r"])
    first = log.take_table()
    assert first.num_rows == 4 and first.column("why_en").to_pylist() == ["one", "p", "q", "r"]
    assert first.column("amount").to_pylist() == [1.5, 0.0, 1.0, 2.0] and first.column("units").to_pylist() == [2, 0, 0, 0]
    log.add(2025, "R", "k", "a", "b")
    assert len(log) == 5 and log.block_count() == 3
    assert log.frame(2)["year"].tolist() == [2025]
    with pytest.raises(ValueError, match="taken out"):
        log.frame()


def test_tables_and_function_samples(tmp_path, synth):
    model, out = run_to_directory(synth, tmp_path / "lean", seed=1, until=2026, tables=("model", "scorecard"))
    assert sorted(p.name for p in out.iterdir()) == ["model.parquet", "run.json", "scenario.toml", "scorecard.csv"]
    assert json.loads((out / "run.json").read_text())["files"] == ["model.parquet", "scorecard.csv", "scenario.toml", "run.json"]
    assert model.events._blocks == []  # not written, and not kept either

    keys = {}
    for name, functions, seed in (("n40", 40, 1), ("n40b", 40, 9), ("share", 0.01, 1), ("none", "none", 1), ("all", "all", 1)):
        _, out = run_to_directory(synth, tmp_path / name, seed=seed, until=2026, functions=functions, tables=("agents",))
        agents = pd.read_parquet(out / "agents.parquet")
        fn = agents[agents["agent_type"] == "function"]
        per_year = fn.groupby("year")["key"].apply(tuple)
        assert len(per_year) == (0 if functions == "none" else 4), name
        if len(per_year):
            assert per_year.nunique() == 1, f"{name}: the sample changes from year to year"
            keys[name] = per_year.iloc[0]
        assert (agents["agent_type"] == "city").sum() == 60 * 4
    assert len(keys["n40"]) == 40 and len(keys["share"]) == 30 and len(keys["all"]) == 3000
    assert keys["n40"] == keys["n40b"]  # the same functions for any seed
    assert set(keys["n40"]) < set(keys["all"])


def test_same_command_same_bytes_and_bad_options_are_user_mistakes(tmp_path, synth):
    args = ["run", str(synth), "--until", "2025", "--seed", "2", "--function-rows", "25", "--tables", "agents,events", "--quiet"]
    for name in ("a", "b"):
        done = regionsim(*args, "--out", str(tmp_path / name))
        assert done.returncode == 0, done.stderr
    for name in ("agents.parquet", "events.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert not (tmp_path / "a" / "model.parquet").exists()
    for bad, expected in ((["--tables", "agents,frogs"], "--tables"), (["--function-rows", "-3"], "--function-rows")):
        done = regionsim("run", "classroom", *bad, "--out", str(tmp_path / "x"))
        assert done.returncode == 2 and expected in done.stderr and "Traceback" not in done.stderr
        assert not (tmp_path / "x").exists()


def test_a_stream_shows_its_file_only_when_whole_and_an_aborted_one_leaves_nothing(tmp_path):
    table = pa.table({"year": np.arange(5, dtype=np.int64), "x": [f"t{i}" for i in range(5)]})
    stream = io.ParquetStream(tmp_path / "t.parquet")
    stream.write(table)
    stream.write(table.slice(0, 0))  # skipped
    stream.write(table)
    assert not (tmp_path / "t.parquet").exists()
    stream.close()
    assert pq.read_table(tmp_path / "t.parquet").num_rows == 10 and pq.ParquetFile(tmp_path / "t.parquet").metadata.num_row_groups == 2
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]
    aborted = io.ParquetStream(tmp_path / "u.parquet")
    aborted.write(table)
    aborted.abort()
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]
    empty = io.ParquetStream(tmp_path / "e.parquet", table.schema, background=False)
    empty.close()
    assert pq.read_table(tmp_path / "e.parquet").schema == table.schema
    with pytest.raises(pa.ArrowInvalid):  # a writer's error reaches the caller
        bad = io.ParquetStream(tmp_path / "b.parquet", table.schema, background=False)
        bad.write(pa.table({"year": ["not a number"], "x": ["a"]}))


def test_a_lost_wake_up_does_not_hang_the_stream(tmp_path):
    """What a Ctrl-C inside `queue.put` leaves behind (found by test_kill: `regionsim run` hung in abort).

    `Condition.notify` interrupted after releasing the writer's waiter lock but before removing it leaves a
    stale, held lock first in the waiters; the next `put` releases that one and the writer is never woken.
    """
    table = pa.table({"year": np.arange(3, dtype=np.int64)})
    stream = io.ParquetStream(tmp_path / "t.parquet")
    stream.write(table)
    deadline = time.monotonic() + 5
    while stream._queue.qsize() or not stream._queue.not_empty._waiters:  # the writer took it and waits again
        assert time.monotonic() < deadline
        time.sleep(0.005)
    stale = threading.Lock()
    stale.acquire()
    with stream._queue.mutex:
        stream._queue.not_empty._waiters.appendleft(stale)
    closing = threading.Thread(target=stream.close, daemon=True)
    closing.start()
    closing.join(10)
    assert not closing.is_alive(), "the stream waits for ever for a writer that missed its wake-up"
    assert pq.read_table(tmp_path / "t.parquet").num_rows == 3


MEMORY = """
import sys
from pathlib import Path
from regionsim.model.run import run_to_directory
run_to_directory(sys.argv[1], Path(sys.argv[2]), seed=1, until=int(sys.argv[3]))
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
print(int(status["VmHWM"].split()[0]) * 1024)
"""


def test_peak_memory_does_not_grow_with_the_years(tmp_path_factory):
    path = tmp_path_factory.mktemp("mem") / "s150.toml"
    write_synth(path, 150, 20_000, 3)

    def peak(until: int) -> tuple[int, int]:
        out = path.parent / f"run{until}"
        done = subprocess.run([sys.executable, "-c", MEMORY, str(path), str(out), str(until)], capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        rows = pq.ParquetFile(out / "agents.parquet").metadata.num_rows
        return int(done.stdout.split()[-1]), rows

    short, short_rows = peak(2028)
    long, long_rows = peak(2063)
    assert long_rows == short_rows * 41 // 6  # 41 years of 20,150+ rows against 6
    # kept in memory, the 35 extra years of agent rows alone would be ~35 × 20,183 rows × 31 columns (> 150 MB)
    print(f"\npeak memory: 5 years {short / 2**20:.0f} MB, 40 years {long / 2**20:.0f} MB")
    assert long - short < 40 * 2**20, (short, long)


def test_rerun_needs_only_the_sweep_folder(tmp_path):
    from regionsim.model.sweeps import read_runs, rerun, run_sweep
    from regionsim.model.sweeps.store import SCENARIO_FILE

    from tests.test_sweep_workers import own_scenario, sweep_of

    scenario = own_scenario(tmp_path)
    sweep = sweep_of(tmp_path, str(scenario), 2026, samples=3, replicates=1, extra_set='"rules.fund.enabled" = false')
    run_sweep(sweep, tmp_path / "out", workers=1, progress=False)
    assert (tmp_path / "out" / SCENARIO_FILE).is_file()
    scenario.unlink()  # the scenario file is gone
    runs = read_runs(tmp_path / "out").set_index("run_id")
    for run_id in runs.index:
        again = rerun(tmp_path / "out", run_id)
        assert again["status"] == "ok", again["error"]
        for column in ("population_total_2026", "pm25_population_weighted_2025", "theil_gdp_per_capita_2026"):
            assert again[column] == runs.loc[run_id, column], (run_id, column)
    document = json.loads((tmp_path / "out" / SCENARIO_FILE).read_text())
    assert document["data"]["rules"]["fund"]["enabled"] is False  # the sweep's [set] applied
    document["data"]["meta"]["horizon"] += 1  # tampered with: refused, not silently run
    (tmp_path / "out" / SCENARIO_FILE).write_text(json.dumps(document))
    from regionsim.model.errors import UserError

    with pytest.raises(UserError, match="does not match"):
        rerun(tmp_path / "out", 0)


def test_function_sample_is_fixed_and_within_bounds():
    a, b = outputs.function_sample(1000, 25), outputs.function_sample(1000, 25)
    assert np.array_equal(a, b) and len(np.unique(a)) == 25 and np.all(np.diff(a) > 0) and a.max() < 1000
    assert np.array_equal(outputs.function_sample(10, 50), np.arange(10))
