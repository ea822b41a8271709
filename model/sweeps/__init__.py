"""Batch parameter sweeps: many runs of one scenario, streamed to Parquet, resumable, local or on Dask.

| module      | what it holds                                                              |
|-------------|----------------------------------------------------------------------------|
| `spec`      | the sweep file, read and checked (every problem at once); its design       |
| `task`      | `RunTask` (one design row, a frozen dataclass) and `run_one` (a worker)    |
| `store`     | the sweep folder: design, fingerprint, Parquet parts, DuckDB views, rerun  |
| `executors` | local worker processes, a Dask cluster, and the driver `run_sweep`         |
| `analyze`   | sensitivity: SALib Sobol and Morris, regression screening; table and plot  |

    regionsim sweep scenarios/sweeps/capital_lhs.toml --out sweeps/capital_lhs
    regionsim analyze sweeps/capital_lhs

The command-line handlers are in `regionsim.model.cli`.
"""

from __future__ import annotations

from regionsim.model.sweeps.executors import run_sweep
from regionsim.model.sweeps.spec import LeverRange, SweepFileError, SweepSpec, load_sweep
from regionsim.model.sweeps.store import open_results, read_info, read_runs, rerun
from regionsim.model.sweeps.task import RunTask, run_one

__all__ = [
    "LeverRange",
    "RunTask",
    "SweepFileError",
    "SweepSpec",
    "load_sweep",
    "open_results",
    "read_info",
    "read_runs",
    "rerun",
    "run_one",
    "run_sweep",
]
