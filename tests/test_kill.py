"""Nothing half-written: `regionsim run` and `regionsim sweep` killed at random moments.

`regionsim run … --out DIR` is SIGKILLed at random moments over its whole life — while Python starts,
while the model runs, while the files are written (found by watching for the hidden temporary folder
beside DIR) and after the rename. After every kill, DIR either does not exist or is a complete run:
all six files, `run.json` parses, every Parquet file reads with pandas with the rows of an undisturbed
run of the same command — in fact every file but `run.json` (which holds timings) is byte-identical to
it, so nothing in DIR is from two different runs. Whatever is left beside DIR is hidden, is not named
DIR, and is removed by the next run into DIR.

Replacing an existing run is checked twice: by random kills, and exhaustively — a subprocess that
SIGKILLs itself just before or just after each step that changes the disk (each file write, each
rename, each removal) leaves DIR as the old complete run or the new complete run, never a mix and
never missing. SIGINT exits with status 130 and SIGTERM with 143, with one line and no traceback.

A sweep is SIGKILLed (with its workers) at a random moment soon after each start has saved rows of its own,
five times in a row, restarted each time,
and finally has every run_id exactly once.

The random moments come from a seed printed with the results (`REGIONSIM_KILL_SEED` repeats them).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from regionsim.model.run import RUN_FILES

from tests.conftest import default_sigint

ROOT = Path(__file__).resolve().parent.parent
REGIONSIM = str(Path(sys.executable).parent / "regionsim")
CAMPAIGN = os.environ.get("REGIONSIM_CAMPAIGN") == "1"
SEED = int(os.environ.get("REGIONSIM_KILL_SEED", random.SystemRandom().randrange(2**31)))
PARQUETS = ("model.parquet", "agents.parquet", "events.parquet")


@pytest.fixture(scope="module")
def rng() -> random.Random:
    print(f"\nkill moments from REGIONSIM_KILL_SEED={SEED}")
    return random.Random(SEED)


# --- a reference run, and what a complete folder is ----------------------------------------------------


@dataclass
class Reference:
    """An undisturbed run: its files, row counts and when (seconds after start) it wrote them."""

    args: list[str]
    files: dict[str, bytes]
    rows: dict[str, int]
    run_json: dict
    shape: dict[str, tuple[int, int, int]]
    temporary_at: float  # the hidden temporary folder appeared
    final_at: float  # DIR appeared
    exit_at: float  # the process exited

    @property
    def write_seconds(self) -> float:
        return max(self.final_at - self.temporary_at, 0.005)


def command(scenario: str, until: int, out: Path) -> list[str]:
    return [REGIONSIM, "run", scenario, "--until", str(until), "--seed", "3", "--out", str(out), "--quiet"]


def watch(process: subprocess.Popen, parent: Path, name: str, started: float) -> tuple[float | None, float | None]:
    """Poll `parent` until `process` exits: when the temporary folder and when DIR first appeared."""
    temporary_at = final_at = None
    while process.poll() is None:
        names = os.listdir(parent)
        now = time.perf_counter() - started
        if temporary_at is None and any(n.startswith(f".{name}.tmp-") for n in names):
            temporary_at = now
        if final_at is None and name in names and temporary_at is not None:
            final_at = now
        time.sleep(0.0005)
    return temporary_at, final_at


def reference(folder: Path, scenario: str, until: int) -> Reference:
    folder.mkdir(parents=True)
    out = folder / "R"
    args = command(scenario, until, out)
    started = time.perf_counter()
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    temporary_at, final_at = watch(process, folder, "R", started)
    exit_at = time.perf_counter() - started
    _, stderr = process.communicate()
    assert process.returncode == 0, stderr
    files = {name: (out / name).read_bytes() for name in RUN_FILES}
    rows = {name: len(pd.read_parquet(out / name)) for name in PARQUETS}
    rows["scorecard.csv"] = len(pd.read_csv(out / "scorecard.csv"))
    run_json = json.loads(files["run.json"])
    assert rows["model.parquet"] == until - run_json["base_year"] + 1
    print(
        f"{scenario} to {until}: temporary folder at {temporary_at:.2f} s, {out.name} at {final_at:.2f} s, "
        f"exit at {exit_at:.2f} s; rows {rows}"
    )
    return Reference(args, files, rows, run_json, _shape(out), temporary_at or exit_at, final_at or exit_at, exit_at)


def _comparable(run_json: dict) -> dict:
    return {k: v for k, v in run_json.items() if k not in ("timings", "scenario_files")}


def _shape(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Rows, first and last year of each table."""
    tables = {name: pd.read_parquet(folder / name) for name in PARQUETS}
    tables["scorecard.csv"] = pd.read_csv(folder / "scorecard.csv")
    return {name: (len(t), int(t["year"].min()), int(t["year"].max())) for name, t in tables.items()}


def complete_as(folder: Path, *references: Reference) -> Reference:
    """Assert `folder` is one complete run with the tables of one of `references`; return which.

    Every table must have the reference's rows and years, and `run.json` its seed, years and parameters,
    so a folder mixing files of two runs (to 2030 and to 2035) fails. (Tables are not compared byte for
    byte: while the rules are being edited, a reference taken minutes earlier may differ in its numbers.)
    """
    present = sorted(p.name for p in folder.iterdir())
    assert present == sorted(RUN_FILES), f"{folder}: files {present}"
    run_json = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert run_json["files"] == list(RUN_FILES)
    matches = [ref for ref in references if _comparable(ref.run_json) == _comparable(run_json)]
    assert len(matches) == 1, f"{folder}/run.json is from none of the reference runs: {run_json.get('last_year')}"
    ref = matches[0]
    assert _shape(folder) == ref.shape, f"{folder}: tables {_shape(folder)} are not those of the run to {run_json['last_year']}"
    assert (folder / "scenario.toml").read_bytes() == ref.files["scenario.toml"]
    return ref


def leftovers(parent: Path, name: str) -> list[str]:
    """What else is beside DIR; assert no reader could take it for the run."""
    others = sorted(n for n in os.listdir(parent) if n != name)
    for other in others:
        assert other.startswith(f".{name}.tmp-") or other.startswith(f".{name}.old-"), f"unexpected {other}"
    return others


@pytest.fixture(scope="module")
def capital(tmp_path_factory) -> Reference:
    return reference(tmp_path_factory.mktemp("ref") / "capital", "capital_region", 2035)


@pytest.fixture(scope="module")
def capital_2030(tmp_path_factory) -> Reference:
    return reference(tmp_path_factory.mktemp("ref") / "capital_2030", "capital_region", 2030)


@pytest.fixture(scope="module")
def bohai(tmp_path_factory) -> Reference:
    return reference(tmp_path_factory.mktemp("ref") / "bohai", "bohai_rim", 2030)


# --- killing a run -------------------------------------------------------------------------------------


def wait_until_caught(process: subprocess.Popen, sig: int, seconds: float = 60.0) -> None:
    """Wait until `process` has a handler for `sig` (its bit in /proc/PID/status SigCgt), or has exited."""
    deadline = time.monotonic() + seconds
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with open(f"/proc/{process.pid}/status", encoding="ascii") as status:
                caught = next(int(line.split()[1], 16) for line in status if line.startswith("SigCgt:"))
        except (OSError, StopIteration):
            caught = 0
        if caught >> (sig - 1) & 1:
            return
        time.sleep(0.002)


def kill_once(
    ref: Reference,
    parent: Path,
    moment: str,
    rng: random.Random,
    sig: int = signal.SIGKILL,
    out_name: str = "R",
    earliest: float = 0.0,
    spread: float = 1.5,
) -> tuple[subprocess.Popen, str, float, str]:
    """Start the reference command writing into parent/out_name and signal it.

    moment "any": at a random delay over the reference run's whole life (from `earliest`); "write": a random
    delay after the temporary folder appears, up to `spread` times the reference run's write phase (so some
    land after the rename). Returns the process, the phase it was
    in when signalled (starting/running, writing, written, exited), the delay and stderr.
    """
    args = [a if not a.endswith("/R") else str(parent / out_name) for a in ref.args]
    started, wall_started = time.perf_counter(), time.time()
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)
    if earliest > 0 and sig != signal.SIGKILL:
        # not before the process catches the signal: on a busy machine Python's start-up can outlast `earliest`,
        # and a signal then ends it by the default action, before regionsim exists to handle it
        wait_until_caught(process, sig)
    if moment == "any":
        wanted = rng.uniform(min(earliest, ref.exit_at), ref.exit_at if sig == signal.SIGKILL else ref.temporary_at)
        time.sleep(max(0.0, wanted - (time.perf_counter() - started)))
    else:
        while process.poll() is None and not any(n.startswith(f".{out_name}.tmp-") for n in os.listdir(parent)):
            time.sleep(0.0005)
        time.sleep(rng.uniform(0.0, ref.write_seconds * spread))
    delay = time.perf_counter() - started
    names = os.listdir(parent)
    if process.poll() is not None:
        phase = "exited"
    elif any(n.startswith(f".{out_name}.old-") for n in names):
        phase = "swapping"
    elif any(n.startswith(f".{out_name}.tmp-") for n in names):
        phase = "writing"
    elif out_name in names and os.stat(parent / out_name / "run.json").st_mtime >= wall_started:
        phase = "written"
    else:
        phase = "before writing"
    if process.poll() is None:
        process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    return process, phase, delay, stderr


def _phases(phases: list[str]) -> str:
    return ", ".join(f"{phase} {phases.count(phase)}" for phase in dict.fromkeys(phases))


@pytest.mark.parametrize("scenario", ["capital", "bohai"])
def test_sigkill_at_random_moments_leaves_no_half_written_run(scenario, request, tmp_path, rng):
    ref: Reference = request.getfixturevalue(scenario)
    kills = 40 if CAMPAIGN else (8 if scenario == "capital" else 6)
    outcomes, phases, cleaned = [], [], 0
    k = 0
    # then, if the load of the machine made every write-moment kill land after the writing (the reference's write
    # phase is timed once), up to five more kills early in the write phase
    while k < kills or ("writing" not in phases and k < kills + 5):
        parent = tmp_path / f"kill{k}"
        parent.mkdir()
        moment, spread = ("any" if k % 2 == 0 else "write", 1.5) if k < kills else ("write", 0.1)
        process, phase, delay, _ = kill_once(ref, parent, moment, rng, spread=spread)
        k += 1
        out = parent / "R"
        if out.exists():
            complete_as(out, ref)
            outcomes.append("complete")
        else:
            outcomes.append("absent")
        left = leftovers(parent, "R")
        phases.append(phase)
        if left and cleaned < 2:
            cleaned += 1
            # the next run into the same folder removes what the killed one left
            result = subprocess.run(ref.args[:-3] + ["--out", str(out), "--quiet"], cwd=ROOT, capture_output=True, text=True)
            assert result.returncode == 0, result.stderr
            complete_as(out, ref)
            assert leftovers(parent, "R") == [], "stale temporary folders were not cleaned by the next run"
    print(
        f"{scenario}: {k} SIGKILLs — phases: {_phases(phases)}; DIR afterwards: {_phases(outcomes)}; "
        f"{cleaned} left hidden temporary folders, removed by the next run"
    )
    assert "writing" in phases, "no kill landed in the write phase"


def test_sigkill_while_replacing_leaves_old_or_new_whole(capital, capital_2030, tmp_path, rng):
    """DIR holds a complete run to 2030; the run to 2035 into it is killed: DIR is one of the two, whole."""
    kills = 30 if CAMPAIGN else 5
    outcomes, phases = [], []
    for k in range(kills):
        parent = tmp_path / f"replace{k}"
        shutil.copytree(Path(capital_2030.args[-2]).parent, parent)
        _, phase, _, _ = kill_once(capital, parent, "any" if k % 3 == 0 else "write", rng)
        assert (parent / "R").is_dir(), f"kill {k} ({phase}): the old run is gone and the new one is not there"
        which = complete_as(parent / "R", capital, capital_2030)
        outcomes.append("new" if which is capital else "old")
        phases.append(phase)
        leftovers(parent, "R")
    print(f"replace: {kills} SIGKILLs — phases: {_phases(phases)}; DIR afterwards: {_phases(outcomes)}")


# Each step of `atomic_directory` that changes the disk, wrapped so the process SIGKILLs itself just before
# or just after the k-th of them. One process imports everything once, then forks a child per (k, before/after)
# that runs `regionsim run` into its own copy of the old folder and kills itself at that step.
STEPPER = textwrap.dedent("""
    import json, os, shutil, signal, sys, warnings
    warnings.simplefilter("ignore", DeprecationWarning)  # fork() of a process with idle library threads
    from regionsim.model import io, run, model  # noqa: F401 (import before forking: each child starts warm)
    from regionsim.model.cli import main

    source, target, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    state = {"k": 0, "when": "", "calls": 0}

    def wrap(owner, name):
        original = getattr(owner, name)

        def step(*a, **kw):
            state["calls"] += 1
            if state["calls"] == state["k"] and state["when"] == "before":
                os.kill(os.getpid(), signal.SIGKILL)
            result = original(*a, **kw)
            if state["calls"] == state["k"] and state["when"] == "after":
                os.kill(os.getpid(), signal.SIGKILL)
            return result
        setattr(owner, name, step)

    for owner, name in ((os, "rename"), (os, "replace"), (os, "rmdir"), (shutil, "rmtree"), (io, "write_parquet"),
                        (io, "write_json"), (io, "_exchange")):
        if hasattr(owner, name):
            wrap(owner, name)
    results = []
    for k in range(1, 40):
        for when in ("before", "after"):
            parent = os.path.join(target, f"step{k}{when}")
            shutil.copytree(source, parent)
            pid = os.fork()
            if pid == 0:
                state.update(k=k, when=when)
                os._exit(main([*args, "--out", os.path.join(parent, "R"), "--quiet"]))
            _, status = os.waitpid(pid, 0)
            results.append([k, when, parent, os.waitstatus_to_exitcode(status)])
        if results[-1][3] == 0 and results[-2][3] == 0:
            break
    print(json.dumps(results))
""")


def test_sigkill_at_every_step_of_a_replacement(capital, capital_2030, tmp_path):
    source = Path(capital_2030.args[-2]).parent
    args = capital.args[1:-3]  # run capital_region --until 2035 --seed 3
    result = subprocess.run(
        [sys.executable, "-c", STEPPER, str(source), str(tmp_path), *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    steps = json.loads(result.stdout.strip().splitlines()[-1])
    outcomes = []
    for k, when, parent, status in steps:
        parent = Path(parent)
        if status == 0:  # fewer than k steps: not killed, finished
            assert complete_as(parent / "R", capital) is capital
            continue
        assert status == -signal.SIGKILL, (k, when, status)
        assert (parent / "R").is_dir(), f"killed {when} step {k}: the old run is gone and the new one is not there"
        which = complete_as(parent / "R", capital, capital_2030)
        outcomes.append(f"{when} {k}: {'new' if which is capital else 'old'}")
        leftovers(parent, "R")
    print(f"replacement killed before and after each of its {len(steps) // 2 - 1} steps: {len(outcomes)} kills — " + "; ".join(outcomes))
    assert len(outcomes) >= 10 and any("new" in o for o in outcomes) and any("old" in o for o in outcomes)


def test_next_run_removes_only_stale_temporary_folders(tmp_path):
    """`.R.tmp-PID-…`/`.R.old-PID-…` of dead processes go; a live process's, another name's and newer ones stay."""
    from regionsim.model import io

    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    dead, alive = finished.pid, os.getppid()
    names = {
        f".R.tmp-{dead}-a1": "removed",
        f".R.old-{dead}-b2": "removed",
        f".R.tmp-{alive}-c3": "kept",
        f".S.tmp-{dead}-d4": "kept",
        ".R.tmp-e5": "kept",
        f".R.tmp-{dead}-new": "kept",
    }
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "run.json").write_text("{}")
    future = time.time() + 3600
    os.utime(tmp_path / f".R.tmp-{dead}-new", (future, future))
    io.atomic_directory(tmp_path / "R", lambda folder: (folder / "run.json").write_text("{}"))
    assert sorted(os.listdir(tmp_path)) == sorted(["R", *(n for n, fate in names.items() if fate == "kept")])


# --- SIGINT and SIGTERM --------------------------------------------------------------------------------


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_interrupt_and_terminate_exit_cleanly(sig, status, bohai, tmp_path, rng):
    """Signalled while it simulates or while it writes: its status, one line, no traceback, nothing left.

    A signal that arrives after `regionsim` has finished its work (while Python shuts down) ends the process
    by the signal itself (the shell shows 128 + signal, as for the status it returns itself); the folder is
    then complete. Random moments start 0.5 s in: a Ctrl-C while Python itself is still starting prints
    Python's own traceback, which is not regionsim's to change.
    """
    phases, statuses = [], []
    tries = 16 if CAMPAIGN else 4
    for k in range(tries):
        parent = tmp_path / f"sig{k}"
        parent.mkdir()
        # alternately while it imports and simulates, and early in the write phase
        process, phase, _, stderr = kill_once(bohai, parent, "write" if k % 2 else "any", rng, sig=sig, earliest=0.5, spread=0.5)
        phases.append(phase)
        statuses.append(process.returncode)
        assert "Traceback" not in stderr, stderr
        assert process.returncode in (0, status, -sig), (phase, process.returncode, stderr)
        if process.returncode == status:
            assert stderr.strip().splitlines()[-1] == ("regionsim: interrupted" if sig == signal.SIGINT else "regionsim: terminated"), (
                stderr
            )
        if process.returncode != status:  # finished its work before the signal
            complete_as(parent / "R", bohai)
        elif (parent / "R").exists():
            complete_as(parent / "R", bohai)
        assert leftovers(parent, "R") == [], "a signalled run left its temporary folder behind"
    print(f"{signal.Signals(sig).name}: {tries} signals — phases: {_phases(phases)}; exit statuses {statuses}")
    assert status in statuses, "no signal arrived while the run was working"


# --- a sweep killed five times in a row ----------------------------------------------------------------

SWEEP = """
[sweep]
scenario = "capital_region"
until = 2035
design = "latin_hypercube"
samples = 400
replicates = 2
seed = 5
[levers]
"rules.relocate.annual_quota_share" = { low = 0.05, high = 0.35 }
"rules.migrate.hukou_friction" = { low = 0.1, high = 0.7 }
[outcomes]
indicators = ["population_beijing", "pm25_population_weighted"]
years = [2024, 2028]
series = ["population_total"]
"""
SWEEP_RUNS = 800
"""Large enough that five starts, each killed soon after its first part file, cannot finish it. A start keeps
what it wrote by its first flush (`store.FLUSH_SECONDS`, 2 s of runs: 73 rows on the CI machine and here, twice
that on a machine twice as fast), so 200 runs were finished by the third or fourth start."""


def test_sweep_killed_five_times_then_finished_has_every_run_once(tmp_path, rng):
    from regionsim.model.sweeps import open_results

    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP, encoding="utf-8")
    out = tmp_path / "out"
    args = [REGIONSIM, "sweep", str(path), "--out", str(out), "--workers", "2", "--quiet"]
    done, killed = [], 0
    for _ in range(5):
        driver = subprocess.Popen(
            args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, preexec_fn=default_sigint
        )
        # a random moment soon after this start has saved rows of its own (a new part file), so every
        # kill lands in a sweep that is making progress
        parts_before = len(list(out.glob("parts/part-*.parquet")))
        deadline = time.monotonic() + 120
        while driver.poll() is None and len(list(out.glob("parts/part-*.parquet"))) == parts_before:
            assert time.monotonic() < deadline, "no part file appeared"
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.5))
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)  # the driver and its workers, as when a machine dies
            killed += 1
        driver.communicate(timeout=60)
        parts = sorted((out / "parts").glob("part-*.parquet")) if (out / "parts").exists() else []
        rows = pd.concat([pq.read_table(p).to_pandas() for p in parts], ignore_index=True) if parts else pd.DataFrame({"run_id": []})
        assert rows["run_id"].is_unique, "a killed sweep wrote a run twice"
        done.append(len(rows))
    result = subprocess.run(args[:-1], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    parts = sorted((out / "parts").glob("part-*.parquet"))
    rows = pd.concat([pq.read_table(p).to_pandas() for p in parts], ignore_index=True)
    assert sorted(rows["run_id"]) == list(range(SWEEP_RUNS)), "every run_id exactly once"
    con = open_results(out)
    assert con.execute("SELECT count(*), count(DISTINCT run_id) FROM runs").fetchone() == (SWEEP_RUNS, SWEEP_RUNS)
    con.close()
    print(
        f"sweep of {SWEEP_RUNS} runs SIGKILLed {killed} times in 5 starts: rows done after each {done}; "
        f"then: {result.stdout.strip().splitlines()[0]}"
    )
    assert killed >= 4 and 0 < done[-1] < SWEEP_RUNS, "starts finished before their kill: the sweep is too small"
