"""Benchmark: runs per second of `regionsim sweep` and of `mesa.batch_run`, same model, same design.

The design is a full factorial (the only design `mesa.batch_run` can express): relocation quota ×
hukou friction at a few levels, times replicate seeds, on capital_region. Both use the same number
of worker processes and are timed in the same process, one after the other, so their ratio means
something on a noisy machine; neither is ever failed on a time. Our sweep's time includes what
batch_run does not do: writing every row to Parquet parts as it goes and the DuckDB views. The two
tables are also compared: the same seeds and levers must give the same outcomes.

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

import numpy as np

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


def bench(levels: int = 5, n_seeds: int = 6, until: int = 2035, workers: int | None = None) -> dict[str, float]:
    """Time both on the same design; return runs, runs/s of each, their ratio, and whether outcomes agree."""
    import mesa
    from regionsim.model.model import RegionModel
    from regionsim.model.sweeps import load_sweep, read_runs, run_sweep

    workers = workers or os.cpu_count() or 1
    seeds = list(range(1, n_seeds + 1))
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        spec = load_sweep(sweep_file(tmp_path, levels, seeds, until))
        runs = spec.n_runs

        started = time.perf_counter()
        run_sweep(spec, tmp_path / "out", workers=workers, progress=False)
        ours_s = time.perf_counter() - started
        ours = read_runs(tmp_path / "out")

        grids = {lever.column: lever.grid() for lever in spec.levers}
        started = time.perf_counter()
        rows = mesa.batch_run(
            RegionModel,
            parameters={"scenario": "capital_region", "until": until, "record_functions": False, **grids},
            rng=seeds,
            number_processes=workers,
            data_collection_period=-1,
            display_progress=False,
        )
        mesa_s = time.perf_counter() - started

    # the same (levers, seed) must give the same outcome in both tables
    theirs = {(row[spec.levers[0].column], row[spec.levers[1].column], row["rng"]): row for row in rows}
    same = len(theirs) == runs == len(ours)
    for _, row in ours.iterrows():
        other = theirs.get((row[spec.levers[0].column], row[spec.levers[1].column], row["seed"]))
        same = same and other is not None and all(np.isclose(row[f"{name}_{until}"], other[name], rtol=0, atol=0) for name in OUTCOMES)
    return {
        "runs": runs,
        "workers": workers,
        "until": until,
        "ours_s": ours_s,
        "mesa_s": mesa_s,
        "ours_runs_per_s": runs / ours_s,
        "mesa_runs_per_s": runs / mesa_s,
        "ratio": (runs / ours_s) / (runs / mesa_s),
        "same_outcomes": bool(same),
    }


def report(result: dict[str, float]) -> str:
    """The figures as a few lines of text."""
    return (
        f"sweep benchmark: {result['runs']} runs of capital_region to {result['until']}, {result['workers']} processes each\n"
        f"  regionsim sweep : {result['ours_runs_per_s']:7.2f} runs/s ({result['ours_s']:.2f} s, incl. Parquet parts + DuckDB)\n"
        f"  mesa.batch_run  : {result['mesa_runs_per_s']:7.2f} runs/s ({result['mesa_s']:.2f} s, in memory)\n"
        f"  ratio (ours / batch_run): {result['ratio']:.2f}×; same outcomes for the same levers and seed: "
        f"{'yes' if result['same_outcomes'] else 'NO'}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="8 runs to 2026 (the normal test suite's version)")
    parser.add_argument("--levels", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--until", type=int, default=2035)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args(argv)
    if args.small:
        args.levels, args.seeds, args.until = 2, 2, 2026
    result = bench(args.levels, args.seeds, args.until, args.workers)
    print(report(result))
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.exit(main())
