"""The sweep benchmark, small: runs per second of `regionsim sweep` and of `mesa.batch_run` on the
same model and design, printed with their ratio (`pytest -s` shows them). It never fails on a time;
it fails if either side breaks or if the two disagree on an outcome for the same levers and seed.
The full version: `.venv/bin/python tests/benchmarks/bench_sweep.py`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_sweep_benchmark_small_prints_runs_per_second_and_ratio():
    # a subprocess: mesa.batch_run switches the multiprocessing start method of its whole process to spawn
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "benchmarks" / "bench_sweep.py"), "--small", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    print("\n" + "\n".join(lines[:-1]))
    assert figures["runs"] == 8
    assert figures["ours_runs_per_s"] > 0 and figures["mesa_runs_per_s"] > 0 and figures["ratio"] > 0
    assert figures["same_outcomes"], "the sweep and mesa.batch_run disagree for the same levers and seed"
