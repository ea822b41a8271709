"""Benchmark: runs per second of `regionsim sweep` and of `mesa.batch_run`, same model, same design.

The design is a full factorial (the only design `mesa.batch_run` can express): relocation quota ×
hukou friction at a few levels, times replicate seeds, on capital_region. Both use the same number
of worker processes and are timed in the same process, one after the other (and alternately, with
`--repeat N`, the best of N each), so their ratio means something on a noisy machine; neither is
ever failed on a time. Each wall time includes starting the worker processes. Our sweep's time
also includes what batch_run does not do: writing every row to Parquet parts as it goes and the
DuckDB views. The two tables are also compared: the same seeds and levers must give the same
outcomes, exactly (==).

Per-run seconds are process-seconds: wall time × processes / runs (what a run costs a core, start-up
included); for our sweep the mean time inside a worker per run (`elapsed_s`) is printed too.

    .venv/bin/python tests/benchmarks/bench_sweep.py            # 5 × 5 levels × 6 seeds = 150 runs to 2035
    .venv/bin/python tests/benchmarks/bench_sweep.py --small    # 2 × 2 × 2 = 8 runs to 2026
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

QUOTA = "rules.relocate.annual_quota_share"
HUKOU = "rules.migrate.hukou_friction"
OUTCOMES = ("population_beijing", "pm25_population_weighted", "theil_gdp_per_capita")


def sweep_file(folder: Path, levels: int, seeds: list[int], until: int) -> Path:
    """Write the benchmark's sweep file."""
    path = folder / "bench.toml"
    path.write_text(
        f"""
[sweep]
name = "bench"
scenario = "capital_region"
until = {until}
design = "full_factorial"
seeds = {seeds}

[levers]
"{QUOTA}" = {{ low = 0.05, high = 0.35, levels = {levels} }}
"{HUKOU}" = {{ low = 0.1, high = 0.7, levels = {levels} }}

[outcomes]
indicators = {json.dumps(list(OUTCOMES))}
years = [{until}]
""",
        encoding="utf-8",
    )
    return path


def bench(levels: int = 5, n_seeds: int = 6, until: int = 2035, workers: int | None = None, repeat: int = 1) -> dict[str, Any]:
    """Time both on the same design (best of `repeat` each, alternating); return runs, runs/s and per-run
    seconds of each, their ratio, and whether outcomes agree exactly."""
    import mesa
    from regionsim.model.model import RegionModel
    from regionsim.model.sweeps import load_sweep, read_runs, run_sweep

    workers = workers or os.cpu_count() or 1
    seeds = list(range(1, n_seeds + 1))
    ours_times, mesa_times, in_worker = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        spec = load_sweep(sweep_file(tmp_path, levels, seeds, until))
        runs = spec.n_runs
        grids = {lever.column: lever.grid() for lever in spec.levers}
        for attempt in range(repeat):
            out = tmp_path / f"out{attempt}"
            started = time.perf_counter()
            run_sweep(spec, out, workers=workers, progress=False)
            ours_times.append(time.perf_counter() - started)
            ours = read_runs(out)
            in_worker.append(float(ours["elapsed_s"].mean()))

            started = time.perf_counter()
            rows = mesa.batch_run(
                RegionModel,
                parameters={"scenario": "capital_region", "until": until, "record_functions": False, **grids},
                rng=seeds,
                number_processes=workers,
                data_collection_period=-1,
                display_progress=False,
            )
            mesa_times.append(time.perf_counter() - started)

        in_process = _in_process(spec, grids, seeds[:IN_PROCESS_SEEDS], until)

    # the same (levers, seed) must give the same outcome in both tables, exactly
    theirs = {(row[spec.levers[0].column], row[spec.levers[1].column], row["rng"]): row for row in rows}
    same = len(theirs) == runs == len(ours)
    for _, row in ours.iterrows():
        other = theirs.get((row[spec.levers[0].column], row[spec.levers[1].column], row["seed"]))
        same = same and other is not None and all(row[f"{name}_{until}"] == other[name] for name in OUTCOMES)
    ours_s, mesa_s = min(ours_times), min(mesa_times)
    return {
        "runs": runs,
        "workers": workers,
        "until": until,
        "repeat": repeat,
        "ours_s": ours_s,
        "mesa_s": mesa_s,
        "ours_all_s": ours_times,
        "mesa_all_s": mesa_times,
        "ours_runs_per_s": runs / ours_s,
        "mesa_runs_per_s": runs / mesa_s,
        "ours_s_per_run": ours_s * workers / runs,
        "mesa_s_per_run": mesa_s * workers / runs,
        "ours_in_worker_s_per_run": in_worker[ours_times.index(ours_s)],
        "ratio": (runs / ours_s) / (runs / mesa_s),
        "same_outcomes": bool(same),
        **in_process,
    }


IN_PROCESS_SEEDS = 2
"""Seeds of the design run once more in this process, with no worker pool, by each side."""


def _in_process(spec: Any, grids: dict[str, list[Any]], seeds: list[int], until: int) -> dict[str, Any]:
    """Per-run seconds of both in this one process, no pool and no start-up: our worker's loop (`run_batch` with the
    scenario installed, no Parquet) and `mesa.batch_run(number_processes=1)` on the same points and seeds."""
    import mesa
    from regionsim.model.model import RegionModel
    from regionsim.model.sweeps.task import make_task, payload_of, run_batch

    tasks = tuple(make_task(spec, row) for row in spec.design_table().to_dict("records") if row["seed"] in seeds)
    started = time.perf_counter()
    rows = run_batch(tasks, payload=payload_of(spec))
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    theirs = mesa.batch_run(
        RegionModel,
        parameters={"scenario": "capital_region", "until": until, "record_functions": False, **grids},
        rng=seeds,
        number_processes=1,
        data_collection_period=-1,
        display_progress=False,
    )
    mesa_s = time.perf_counter() - started
    assert len(rows) == len(theirs) == len(tasks) and all(row["status"] == "ok" for row in rows)
    return {
        "in_process_runs": len(tasks),
        "in_process_ours_s_per_run": ours_s / len(tasks),
        "in_process_mesa_s_per_run": mesa_s / len(theirs),
        "in_process_ratio": mesa_s / ours_s,
    }


def report(result: dict[str, Any]) -> str:
    """The figures as a few lines of text."""
    best = f", best of {result['repeat']}" if result["repeat"] > 1 else ""
    return (
        f"sweep benchmark: {result['runs']} runs of capital_region to {result['until']}, {result['workers']} processes each{best}\n"
        f"  regionsim sweep : {result['ours_runs_per_s']:7.2f} runs/s, {result['ours_s_per_run'] * 1000:6.1f} ms/run "
        f"({result['ours_s']:.2f} s incl. start-up, Parquet parts + DuckDB; {result['ours_in_worker_s_per_run'] * 1000:.1f} ms/run "
        f"inside a worker)\n"
        f"  mesa.batch_run  : {result['mesa_runs_per_s']:7.2f} runs/s, {result['mesa_s_per_run'] * 1000:6.1f} ms/run "
        f"({result['mesa_s']:.2f} s incl. start-up, in memory)\n"
        f"  ratio (ours / batch_run): {result['ratio']:.2f}× (target ≥ 3×); same outcomes for the same levers and seed: "
        f"{'yes (==)' if result['same_outcomes'] else 'NO'}\n"
        f"  in this process, no pool, {result['in_process_runs']} runs each: ours {result['in_process_ours_s_per_run'] * 1000:.1f} ms/run, "
        f"mesa.batch_run {result['in_process_mesa_s_per_run'] * 1000:.1f} ms/run ({result['in_process_ratio']:.2f}×)"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="8 runs to 2026 (the normal test suite's version)")
    parser.add_argument("--levels", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--until", type=int, default=2035)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=1, help="time each side this many times, alternately; report the best")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args(argv)
    if args.small:
        args.levels, args.seeds, args.until = 2, 2, 2026
    result = bench(args.levels, args.seeds, args.until, args.workers, args.repeat)
    print(report(result))
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.exit(main())
