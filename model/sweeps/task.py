"""One run of a sweep: the task a worker receives, and the result row it returns.

A `RunTask` is one design row (run id, point, replicate, seed, input values) plus the sweep's fixed
settings and the outcomes to keep, so it pickles small (a few hundred bytes) and any row of a
finished sweep can be re-run from its design row alone (`store.rerun`).

The scenario travels as content, not as a path: a `ScenarioPayload` holds the resolved document
(base, variants and the sweep's `[set]` applied, as `load_sweep` read it on the driver) and its
SHA-256. Each worker process receives it once — as the local pool's initializer argument, or as
one object Dask broadcasts to its workers — and `install` checks it there once and keeps it as a
`PreparedScenario` (`regionsim.model.api`), whose base-year state every run copies. A worker thus
needs the regionsim package and nothing of the driver's disk. Tasks go out in batches
(`run_batch`): several runs per round trip. A task whose scenario is not installed in its process
(`store.rerun`, or a runner called by hand) runs through `regionsim.simulate` from its reference;
the two give identical outcomes.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from regionsim.model.sweeps.spec import fixed_columns, outcome_column

if TYPE_CHECKING:
    from regionsim.model.api import PreparedScenario
    from regionsim.model.sweeps.spec import SweepSpec

RUN_COLUMNS = ("run_id", "point_id", "replicate", "seed")
STATUS_OK, STATUS_FAILED = "ok", "failed"


@dataclass(frozen=True)
class ScenarioPayload:
    """A sweep's scenario as content: what a worker needs to run it without the driver's files."""

    ref: str
    """The reference it was resolved from (a short name or a path on the driver), for display."""
    name: str
    data: dict[str, Any]
    """The resolved document: base scenario, variants and the sweep's `[set]` applied."""
    digest: str
    """SHA-256 of `data` as `spec.data_sha256` computes it (the sweep's `scenario_sha256`)."""
    fixed: dict[str, Any] = field(default_factory=dict)
    """The `[set]` key paths already applied in `data` (kept for the record)."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_unpickled, (self.ref, self.name, self.data, self.digest, self.fixed))


_INSTALLED: dict[str, PreparedScenario] = {}
"""This process's prepared scenarios, by digest: each is checked once and serves every run of its sweep."""
_STATS: dict[str, dict[str, Any]] = {}
_RECEIVED: dict[str, int] = {}
"""How many times this process unpickled each payload (what `worker_stats` reports as `received`)."""


def _unpickled(ref: str, name: str, data: dict[str, Any], digest: str, fixed: dict[str, Any]) -> ScenarioPayload:
    """A payload arriving in this process (its count says how often the content was sent here)."""
    _RECEIVED[digest] = _RECEIVED.get(digest, 0) + 1
    return ScenarioPayload(ref, name, data, digest, fixed)


def install(payload: ScenarioPayload) -> PreparedScenario:
    """Check `payload` once in this process and keep it for the runs that name its digest; return it."""
    prepared = _INSTALLED.get(payload.digest)
    if prepared is None:
        from regionsim.model.api import PreparedScenario
        from regionsim.model.sweeps.spec import data_sha256

        if data_sha256(payload.data) != payload.digest:
            raise ValueError(f"scenario {payload.ref}: its content does not match its digest {payload.digest[:12]}… (damaged in transit?)")
        prepared = PreparedScenario.from_data(payload.data, payload.name, ref=payload.ref, fixed=payload.fixed)
        prepared.template()  # the base-year state, built once here
        _INSTALLED[payload.digest] = prepared
        _STATS[payload.digest] = {"pid": os.getpid(), "cwd": os.getcwd()}
    return prepared


def worker_stats() -> dict[str, dict[str, Any]]:
    """Per installed scenario digest, in this process: its id and working directory, how many times the payload
    arrived (unpickled) here, and how many runs it has served."""
    return {digest: {**stats, "received": _RECEIVED.get(digest, 0), "runs": _INSTALLED[digest].runs} for digest, stats in _STATS.items()}


@dataclass(frozen=True)
class RunTask:
    """One design row to compute: `regionsim.simulate(scenario, seed=seed, until=until, **fixed, **levers)`."""

    run_id: int
    point_id: int
    replicate: int
    seed: int
    scenario: str
    """Scenario reference (a short name or an absolute path): what `simulate` reads when the content is not installed."""
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
    scenario_sha256: str = ""
    """Digest of the resolved scenario: a worker with that content installed runs it from there."""

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
        scenario_sha256=spec.scenario_digest,
    )


def payload_of(spec: SweepSpec) -> ScenarioPayload:
    """The sweep's scenario as content (read when the sweep file was loaded; no file is read here)."""
    return ScenarioPayload(
        ref=spec.scenario, name=spec.scenario_name, data=spec.scenario_data, digest=spec.scenario_digest, fixed=dict(spec.fixed)
    )


def run_batch(tasks: tuple[RunTask, ...], runner: Any = None, payload: ScenarioPayload | None = None) -> list[dict[str, Any]]:
    """Run several tasks in this process, one after the other; their result rows in order.

    With `payload`, the scenario is installed first (once per process: a no-op when it is already here).
    """
    if payload is not None:
        install(payload)
    runner = runner or run_one
    return [runner(task) for task in tasks]


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
    """Run the model for one task (its installed scenario, or `regionsim.simulate`); return its outcome columns (and series as lists)."""
    wanted = [f"{indicator}@{year}" for indicator in task.indicators for year in task.years]
    wanted += [f"{indicator}@{year}" for indicator in task.series for year in task.series_years]
    prepared = _INSTALLED.get(task.scenario_sha256) if task.scenario_sha256 else None
    if prepared is not None:  # the content this worker was sent, [set] already applied
        values = prepared.simulate(seed=task.seed, until=task.until, outcomes=wanted, **task.levers)
    else:
        from regionsim.model.api import simulate as run_model

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
