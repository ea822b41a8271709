"""The sweep benchmark in `make bench`: runs/s and per-run seconds of `regionsim sweep` and of
`mesa.batch_run` on the same 150-run design with the same number of processes, and their ratio
(target: ≥ 3×). Measures and prints; never fails on a time. It fails if either side breaks or if the
two disagree on an outcome for the same levers and seed. The figures go to the session's JSON file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def test_sweep_vs_mesa_batch_run(results: dict[str, Any]) -> None:
    # a subprocess: mesa.batch_run switches the multiprocessing start method of its whole process to spawn
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "benchmarks" / "bench_sweep.py"), "--repeat", "2", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    print("\n" + "\n".join(lines[:-1]))
    results["sweep"] = figures
    assert figures["same_outcomes"], "the sweep and mesa.batch_run disagree for the same levers and seed"
