"""One run of a sweep: the task a worker receives, and the result row it returns.

A `RunTask` is everything a worker needs and nothing else — the design row (run id, point,
replicate, seed, input values) plus the sweep's fixed settings and the outcomes to keep — so a task
pickles small, runs the same in a local process or on a Dask worker, and any row of a finished
sweep can be re-run from its design row alone (`store.rerun`).
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from regionsim.model.sweeps.spec import fixed_columns, outcome_column

if TYPE_CHECKING:
    from regionsim.model.sweeps.spec import SweepSpec

RUN_COLUMNS = ("run_id", "point_id", "replicate", "seed")
STATUS_OK, STATUS_FAILED = "ok", "failed"


@dataclass(frozen=True)
class RunTask:
    """One design row to compute: `regionsim.simulate(scenario, seed=seed, until=until, **fixed, **levers)`."""

    run_id: int
    point_id: int
    replicate: int
    seed: int
    scenario: str
    """Scenario reference (a short name or an absolute path)."""
    until: int
    levers: dict[str, Any] = field(default_factory=dict)
    """Input column (`rules__relocate__annual_quota_share`) → value, as Python scalars."""
    fixed: dict[str, Any] = field(default_factory=dict)
    """The sweep's `[set]` key paths → values."""
    indicators: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    series: tuple[str, ...] = ()
    series_years: tuple[int, ...] = ()
    """The years a series column covers (base year … until)."""

    def identity(self) -> dict[str, Any]:
        """The row's leading columns: run_id, point_id, replicate, seed, every input, every fixed key."""
        row: dict[str, Any] = {key: getattr(self, key) for key in RUN_COLUMNS}
        row.update(self.levers)
        row.update(fixed_columns(self.fixed))
        return row


def plain(value: Any) -> Any:
    """numpy scalars to Python ones (for keyword arguments and JSON)."""
    return value.item() if hasattr(value, "item") else value


def make_task(spec: SweepSpec, row: dict[str, Any]) -> RunTask:
    """The task of one design row of `spec`."""
    return RunTask(
        run_id=int(row["run_id"]),
        point_id=int(row["point_id"]),
        replicate=int(row["replicate"]),
        seed=int(row["seed"]),
        scenario=spec.scenario,
        until=spec.until,
        levers={lever.column: plain(row[lever.column]) for lever in spec.levers},
        fixed=dict(spec.fixed),
        indicators=tuple(spec.indicators),
        years=tuple(spec.years),
        series=tuple(spec.series),
        series_years=tuple(spec.series_years),
    )


def run_one(task: RunTask) -> dict[str, Any]:
    """Run one task and return its result row. Never raises for a model error: the row says so."""
    started = time.perf_counter()
    row = task.identity()
    try:
        row.update(simulate(task))
        row["status"], row["error"] = STATUS_OK, None
    except Exception as exc:  # a failing run is data, not the end of the sweep
        row["status"] = STATUS_FAILED
        row["error"] = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exc(limit=-3))
    row["elapsed_s"] = time.perf_counter() - started
    row["worker"] = f"{os.uname().nodename}:{os.getpid()}"
    return row


def simulate(task: RunTask) -> dict[str, Any]:
    """Run the model for one task through `regionsim.simulate`; return its outcome columns (and whole series as lists)."""
    from regionsim.model.api import simulate as run_model

    wanted = [f"{indicator}@{year}" for indicator in task.indicators for year in task.years]
    wanted += [f"{indicator}@{year}" for indicator in task.series for year in task.series_years]
    values = run_model(task.scenario, seed=task.seed, until=task.until, outcomes=wanted, **task.fixed, **task.levers)
    outcomes: dict[str, Any] = {
        outcome_column(indicator, year): float(values[f"{indicator}@{year}"]) for indicator in task.indicators for year in task.years
    }
    for indicator in task.series:
        outcomes[f"{indicator}_series"] = [float(values[f"{indicator}@{year}"]) for year in task.series_years]
    return outcomes


def failed_row(task: RunTask, error: str) -> dict[str, Any]:
    """A failed result row for a task that never returned (its worker died too often)."""
    row = task.identity()
    row.update({"status": STATUS_FAILED, "error": error, "elapsed_s": None, "worker": None})
    return row
