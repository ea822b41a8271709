"""How fast regionsim is, printed as tables. Measures and prints; never fails on a time.

Machines are noisy, so what matters most is compared within one run: the model against the bare
array kernels on the same year, one size against another. Every figure is printed beside its
target, and all of them go to the session's JSON file (see conftest.py).

Targets:
  * capital_region to 2035: < 0.5 s of simulation after start-up;
  * 1,000 cities × 100,000 functions: < 0.3 s per simulated year; 3,000 × 100,000: < 1 s;
  * `regionsim run` on 1,000 × 100,000, end to end (whole command, files written): per simulated year
    at most 1.5 × the in-process step and < 0.3 s;
  * time per year grows no faster than linearly in functions, quadratically in cities;
  * the Mesa agent layer at most 1.5 × the bare kernels;
  * `regionsim --help` in < 0.5 s.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from regionsim.model.events import EventLog
from regionsim.model.model import YEAR, RegionModel, close_books
from regionsim.model.network import travel_times
from regionsim.model.rules import INITIALISED
from regionsim.model.rules.base import StepContext, rule_on
from regionsim.model.scenario import SCENARIO_DIR, load_scenario
from regionsim.model.state import build_state
from regionsim.model.synth import write_synth

ROOT = Path(__file__).resolve().parents[2]
EXE = Path(sys.executable).parent / "regionsim"
SCENARIOS = ("classroom", "capital_region", "bohai_rim", "harbin_changchun")

# The stages of RegionModel.step, in its order: the model's own table (the overhead benchmark checks that
# the kernels alone reproduce the model's year).
STAGES = YEAR


# --- helpers -----------------------------------------------------------------------------------------


def table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    """Print an aligned plain-text table."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        return f"{value:.3f}"
    return str(value)


def verdict(value: float, target: float) -> str:
    """ "met" or "MISSED" for a figure that should stay under its target."""
    return "met" if value <= target else "MISSED"


class BareKernels:
    """The year of RegionModel.step on the state arrays alone: no Mesa model, agents or records."""

    def __init__(self, scenario: Any, seed: int) -> None:
        self.state = build_state(scenario)
        self.params = copy.deepcopy(scenario.params)
        for module in INITIALISED:
            module.initialise(self.state, self.params)
        self.ctx = StepContext(self.state, self.params, np.random.default_rng(seed), EventLog())

    def step(self) -> None:
        """One simulated year, the same stages as the model, then the money bookkeeping of its record stage."""
        s, on = self.state, self.params
        s.year += 1
        s.transfers.clear()
        if (s.link_opens == s.year).any() or on["fund"]["enabled"]:
            s.travel_minutes = travel_times(s)
        for _, _, function, key in STAGES:
            if key is None or rule_on(on, key):
                function(self.ctx)
        close_books(s)


def stage_shares(model: RegionModel, total: float) -> dict[str, float]:
    """Each stage's share of the step time; what is left is travel times and Mesa's own step."""
    shares = {name: seconds / total for name, seconds in model.stage_seconds.items()}
    shares["(travel times, Mesa step)"] = max(0.0, 1.0 - sum(shares.values()))
    return dict(sorted(shares.items(), key=lambda kv: -kv[1]))


def scenario_exists(name: str) -> bool:
    return (SCENARIO_DIR / f"{name}.toml").exists()


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("synth")


def synth_path(folder: Path, cities: int, functions: int, seed: int = 1) -> Path:
    path = folder / f"synth_{cities}_{functions}_s{seed}.toml"
    if not path.exists():
        write_synth(path, cities, functions, seed)
    return path


# --- benchmarks --------------------------------------------------------------------------------------


def test_startup(results: dict[str, Any], tmp_path: Path) -> None:
    """Start-up of `regionsim --help` and `regionsim run classroom`, and what `import regionsim.model.cli` loads."""

    def best_of(count: int, *args: str) -> float:
        times = []
        for k in range(count):
            extra = [str(tmp_path / f"run{k}")] if "--out" in args else []
            started = time.perf_counter()
            done = subprocess.run([str(EXE), *args, *extra], capture_output=True, text=True, cwd=ROOT, timeout=300)
            times.append(time.perf_counter() - started)
            assert done.returncode == 0, done.stderr
        return min(times)

    help_s = best_of(5, "--help")
    run_s = best_of(3, "run", "classroom", "--quiet", "--out")
    probe = (
        "import sys, time; t = time.perf_counter(); import regionsim.model.cli; t = time.perf_counter() - t; "
        "heavy = ('mesa', 'pandas', 'pyarrow', 'scipy', 'matplotlib', 'dask', 'distributed', 'solara', 'duckdb', 'networkx'); "
        "print(t); print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60).stdout.split("\n")
    import_s, loaded = float(out[0]), out[1] or "none"
    table(
        "Start-up (best of several fresh processes)",
        ["command", "seconds", "target", ""],
        [
            ["regionsim --help", help_s, "< 0.5", verdict(help_s, 0.5)],
            ["regionsim run classroom (whole command)", run_s, "—", ""],
            ["import regionsim.model.cli", import_s, "—", f"heavy modules loaded: {loaded}"],
        ],
    )
    results["startup"] = {
        "help_s": help_s,
        "run_classroom_s": run_s,
        "import_model_cli_s": import_s,
        "heavy_modules_loaded_by_import_model_cli": loaded,
    }


def test_scenarios(results: dict[str, Any]) -> None:
    """Wall time per simulated year and per whole run of the shipped scenarios, and each stage's share."""
    rows, shares_rows, out = [], [], {}
    for name in SCENARIOS:
        if not scenario_exists(name):
            rows.append([name, float("nan"), float("nan"), float("nan"), float("nan"), "missing: skipped"])
            continue
        until = 2035 if name == "capital_region" else None
        started = time.perf_counter()
        model = RegionModel(name, rng=7, until=until)
        setup = time.perf_counter() - started
        started = time.perf_counter()
        model.run()
        simulate = time.perf_counter() - started
        years = model.state.year - model.region.base_year
        note = f"target < 0.5 s: {verdict(simulate, 0.5)}" if name == "capital_region" else ""
        rows.append(
            [
                f"{name} ({model.state.n_cities} cities, {model.state.n_functions} functions, {years} years)",
                setup,
                simulate,
                simulate / years * 1000,
                len(model.events),
                note,
            ]
        )
        shares = stage_shares(model, simulate)
        shares_rows.append([name, *(f"{k} {v:.0%}" for k, v in list(shares.items())[:4])])
        out[name] = {
            "setup_s": setup,
            "simulate_s": simulate,
            "years": years,
            "ms_per_year": simulate / years * 1000,
            "events": len(model.events),
            "stage_shares": shares,
        }
    table(
        "Shipped scenarios (seed 7; capital_region to 2035, the others to their horizon)",
        ["scenario", "set-up s", "simulate s", "ms/year", "events", ""],
        rows,
    )
    table("Largest stages (share of the simulation time)", ["scenario", "1st", "2nd", "3rd", "4th"], shares_rows)
    results["scenarios"] = out


def test_agent_layer_overhead(results: dict[str, Any], synth_dir: Path) -> None:
    """The same years computed by RegionModel (Mesa, agents, records) and by the bare kernels."""
    cases = [("capital_region", "capital_region", 6)]
    cases.append(("synthetic 1,000 × 100,000", str(synth_path(synth_dir, 1000, 100_000)), 3))
    rows, out = [], {}
    for label, ref, years in cases:
        scenario = load_scenario(ref)
        model = RegionModel(scenario, rng=11)
        bare = BareKernels(scenario, seed=11)
        model_s = bare_s = 0.0
        for _ in range(years):  # interleaved, so both see the same machine
            started = time.perf_counter()
            model.step()
            model_s += time.perf_counter() - started
            started = time.perf_counter()
            bare.step()
            bare_s += time.perf_counter() - started
        same = bool(
            np.array_equal(model.state.population, bare.state.population) and np.array_equal(model.state.fn_host, bare.state.fn_host)
        )
        ratio = model_s / bare_s
        record = model.stage_seconds.get("record", 0.0)
        rows.append(
            [
                label,
                years,
                model_s / years * 1000,
                bare_s / years * 1000,
                ratio,
                "≤ 1.5",
                verdict(ratio, 1.5),
                record / model_s,
                "yes" if same else "NO",
            ]
        )
        out[label] = {
            "years": years,
            "model_ms_per_year": model_s / years * 1000,
            "bare_ms_per_year": bare_s / years * 1000,
            "ratio": ratio,
            "record_share": record / model_s,
            "same_state": same,
        }
    table(
        "Mesa agent layer: model.step() against the bare array kernels, same years, interleaved",
        ["case", "years", "model ms/yr", "kernels ms/yr", "ratio", "target", "", "record share", "same state"],
        rows,
    )
    results["agent_layer"] = out


def test_synthetic_scaling(results: dict[str, Any], sizes: tuple[list[int], list[int]], synth_dir: Path) -> None:
    """Time per simulated year of synthetic regions, and its growth exponents in cities and functions."""
    city_counts, function_counts = sizes
    timings: dict[tuple[int, int], float] = {}
    rows, shares_rows, out = [], [], {}
    for functions in function_counts:
        for cities in city_counts:
            path = synth_path(synth_dir, cities, functions)
            started = time.perf_counter()
            model = RegionModel(str(path), rng=3)
            setup = time.perf_counter() - started
            started = time.perf_counter()
            model.step()  # warm-up year: first touches of the big arrays
            first = time.perf_counter() - started
            model.stage_seconds.clear()
            years = 2 if cities >= 2000 else 3
            started = time.perf_counter()
            for _ in range(years):
                model.step()
            per_year = (time.perf_counter() - started) / years
            timings[cities, functions] = per_year
            target = {(1000, 100_000): 0.3, (3000, 100_000): 1.0}.get((cities, functions))
            rows.append(
                [
                    f"{cities:,} × {functions:,}",
                    setup,
                    first,
                    per_year,
                    f"< {target}" if target else "",
                    verdict(per_year, target) if target else "",
                ]
            )
            shares = stage_shares(model, per_year * years)
            shares_rows.append([f"{cities:,} × {functions:,}", *(f"{k} {v:.0%}" for k, v in list(shares.items())[:5])])
            out[f"{cities}x{functions}"] = {
                "cities": cities,
                "functions": functions,
                "setup_s": setup,
                "first_year_s": first,
                "s_per_year": per_year,
                "stage_shares": shares,
            }
            del model
    table(
        "Synthetic regions: seconds per simulated year (after one warm-up year; set-up includes loading the file)",
        ["cities × functions", "set-up s", "1st year s", "s/year", "target", ""],
        rows,
    )
    table("Largest stages (share of a year)", ["cities × functions", "1st", "2nd", "3rd", "4th", "5th"], shares_rows)

    exponents: dict[str, Any] = {"cities": {}, "functions": {}}
    fit_rows = []
    for functions in function_counts:
        xs = [c for c in city_counts if (c, functions) in timings]
        if len(xs) >= 2:
            slope = float(np.polyfit(np.log(xs), np.log([timings[c, functions] for c in xs]), 1)[0])
            last = float(np.log(timings[xs[-1], functions] / timings[xs[-2], functions]) / np.log(xs[-1] / xs[-2]))
            exponents["cities"][str(functions)] = {"fit": slope, "last_step": last}
            fit_rows.append([f"cities, at {functions:,} functions", slope, last, "≤ 2", verdict(max(slope, last), 2.0)])
    for cities in city_counts:
        xs = [f for f in function_counts if (cities, f) in timings]
        if len(xs) >= 2:
            slope = float(np.polyfit(np.log(xs), np.log([timings[cities, f] for f in xs]), 1)[0])
            exponents["functions"][str(cities)] = {"fit": slope}
            fit_rows.append([f"functions, at {cities:,} cities", slope, float("nan"), "≤ 1", verdict(slope, 1.0)])
    table(
        "Growth exponent of time per year (log–log slope; 'last step' between the two largest sizes)",
        ["in", "fitted", "last step", "target", ""],
        fit_rows,
    )
    results["synthetic"] = {"runs": out, "exponents": exponents}


MEMORY_PROBE = """
import sys
from regionsim.model.model import YEAR, RegionModel, close_books
model = RegionModel(sys.argv[1], rng=1)
for _ in range(int(sys.argv[2])):
    model.step()
# VmHWM: this process's own peak resident set (ru_maxrss would carry the parent's over fork)
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
print(int(status["VmHWM"].split()[0]) * 1024)
"""


def test_peak_memory(results: dict[str, Any], sizes: tuple[list[int], list[int]], synth_dir: Path) -> None:
    """Peak resident memory of a fresh process that builds a synthetic region and simulates two years."""
    city_counts, function_counts = sizes
    few, many = min(function_counts), max(function_counts)

    def peak(path: str) -> int:
        done = subprocess.run([sys.executable, "-c", MEMORY_PROBE, path, "2"], capture_output=True, text=True, cwd=ROOT, timeout=1800)
        assert done.returncode == 0, done.stderr
        return int(done.stdout.split()[-1])

    base = peak(str(SCENARIO_DIR / "classroom.toml"))
    peaks = {(c, few): peak(str(synth_path(synth_dir, c, few))) for c in city_counts}
    mid = sorted(city_counts)[len(city_counts) // 2]
    peaks[mid, many] = peak(str(synth_path(synth_dir, mid, many)))
    rows = [["classroom (interpreter, libraries)", base / 2**20, float("nan"), float("nan")]]
    for (cities, functions), value in sorted(peaks.items()):
        per_city = (value - base) / cities / 1024 if functions == few else float("nan")
        rows.append([f"{cities:,} cities × {functions:,} functions", value / 2**20, per_city, float("nan")])
    per_function = (peaks[mid, many] - peaks[mid, few]) / (many - few)
    rows.append([f"per function (at {mid:,} cities, {few:,} → {many:,})", float("nan"), float("nan"), per_function / 1024])
    table(
        "Peak memory (MB) and its share per city and per function (KB), over the interpreter's own",
        ["region", "peak MB", "KB per city", "KB per function"],
        rows,
    )
    results["memory"] = {
        "baseline_bytes": base,
        "peaks_bytes": {f"{c}x{f}": v for (c, f), v in peaks.items()},
        "bytes_per_city": {str(c): (peaks[c, few] - base) / c for c in city_counts},
        "bytes_per_function": per_function,
    }


RUN_PROBE = """
import sys, time
started = time.perf_counter()
from regionsim.model.cli import main
status = main(sys.argv[1:])
wall = time.perf_counter() - started
peak = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)["VmHWM"].split()[0]
print(wall, int(peak) * 1024)
sys.exit(status)
"""


def _cli_run(path: Path, until: int, out: Path, extra: list[str]) -> tuple[float, int]:
    """Wall seconds (the whole process: start-up, set-up, simulation, writing) and peak memory of `regionsim run`."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", RUN_PROBE, "run", str(path), "--until", str(until), "--seed", "3", "--quiet", "--out", str(out), *extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=3600,
    )
    wall = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    return wall, int(done.stdout.split()[-1])


def _step_seconds(path: Path, years: int = 3) -> float:
    """In-process seconds per simulated year of `model.step()` (after one warm-up year)."""
    model = RegionModel(str(path), rng=3)
    model.step()
    started = time.perf_counter()
    for _ in range(years):
        model.step()
    return (time.perf_counter() - started) / years


def test_run_end_to_end(results: dict[str, Any], sizes: tuple[list[int], list[int]], synth_dir: Path, tmp_path: Path) -> None:
    """`regionsim run` per simulated year, whole process and files included, beside the in-process step.

    Per year = (wall of a run to base+12 − wall of a run to base+2) / 10, so start-up, set-up and the
    base year cancel out. Memory is each process's peak resident set: a long run should not need more than
    a short one (the rows are written year by year, not kept). On 1,000 × 100,000 the lean options are
    measured too: a 1 % sample of function rows, and no events table.
    """
    city_counts, function_counts = sizes
    rows, out = [], {}
    cases = [(c, f, "all tables", []) for f in function_counts for c in city_counts]
    if 1000 in city_counts and 100_000 in function_counts:
        cases += [
            (1000, 100_000, "--function-rows 0.01", ["--function-rows", "0.01"]),
            (1000, 100_000, "--tables model,agents,scorecard", ["--tables", "model,agents,scorecard"]),
            (1000, 100_000, "both", ["--function-rows", "0.01", "--tables", "model,agents,scorecard"]),
        ]
    steps: dict[tuple[int, int], float] = {}
    for k, (cities, functions, label, extra) in enumerate(cases):
        path = synth_path(synth_dir, cities, functions)
        if (cities, functions) not in steps:
            steps[cities, functions] = _step_seconds(path)
        step = steps[cities, functions]
        base = load_scenario(str(path)).base_year
        short_s, short_peak = _cli_run(path, base + 2, tmp_path / f"short{k}", extra)
        long_s, long_peak = _cli_run(path, base + 12, tmp_path / f"long{k}", extra)
        per_year = (long_s - short_s) / 10
        ratio = per_year / step
        target = (cities, functions) == (1000, 100_000)
        rows.append(
            [
                f"{cities:,} × {functions:,}, {label}",
                step,
                per_year,
                ratio,
                f"{verdict(ratio, 1.5)} (≤ 1.5), {verdict(per_year, 0.3)} (< 0.3 s)" if target else "",
                long_s,
                short_peak / 2**20,
                long_peak / 2**20,
            ]
        )
        out[f"{cities}x{functions} {label}"] = {
            "step_s_per_year": step,
            "run_s_per_year": per_year,
            "ratio": ratio,
            "run_2_years_s": short_s,
            "run_12_years_s": long_s,
            "peak_bytes_2_years": short_peak,
            "peak_bytes_12_years": long_peak,
        }
    table(
        "`regionsim run` end to end: seconds per simulated year (12-year minus 2-year run, whole process) beside model.step()",
        ["synthetic region, options", "step s/yr", "run s/yr", "ratio", "target", "12-yr run s", "peak MB 2 yr", "peak MB 12 yr"],
        rows,
    )
    results["run_end_to_end"] = out


def test_write_json_is_readable(results: dict[str, Any]) -> None:
    """The results so far serialise (the file itself is written when the session ends)."""
    json.dumps(results, default=float)
