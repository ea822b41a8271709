"""One run, start to finish: build the model, step it, and write its files atomically.

The files: `model.parquet` (one row per year), `agents.parquet` (one row per agent
per year), `events.parquet` (one row per event), `scorecard.csv` (one row per plan target per
year), `scenario.toml` (the resolved scenario: base, variants and overrides applied, so the run
can be repeated from this file alone) and `run.json` (version, seed, parameters, timings).

`run_to_directory` (what `regionsim run` does) writes as it simulates: after each year, that year's
agent rows and events go to their Parquet files as one row group each (`RunWriter`), written on a
background thread while the next year is computed, and the model forgets them. Memory therefore stays
that of one or two years of rows however many years are run. All of it happens inside the hidden
temporary folder that `io.atomic_directory` renames into place at the end, so the folder still appears
whole or not at all. Options: which tables to write (`tables`; `scenario.toml` and `run.json` always are),
and which functions get agent rows (`functions`: "all", "none", or a fixed sample — a count or a share).

`write_results` writes the same files from a model held in memory (the dashboard's and the game's save).
"""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any

from regionsim import __version__ as VERSION
from regionsim.model import io, outputs
from regionsim.model.errors import UserError
from regionsim.model.model import RegionModel
from tomlkit import dumps

RUN_FILES = ("model.parquet", "agents.parquet", "events.parquet", "scorecard.csv", "scenario.toml", "run.json")
TABLES = {"model": "model.parquet", "agents": "agents.parquet", "events": "events.parquet", "scorecard": "scorecard.csv"}
"""The tables a run can be asked to write (`regionsim run --tables`), and their files."""


def run_model(
    scenario: str | Path, *, seed: int = 0, until: int | None = None, overrides: dict[str, Any] | None = None, record_functions: bool = True
) -> tuple[RegionModel, dict[str, float]]:
    """Build and run a model; return it and its timings (seconds)."""
    started = time.perf_counter()
    model = _build(scenario, seed=seed, until=until, overrides=overrides, record_functions=record_functions)
    built = time.perf_counter()
    model.run()
    finished = time.perf_counter()
    timings = {
        "setup_s": built - started,
        "simulate_s": finished - built,
        "years": model.state.year - model.region.base_year,
        "stages_s": dict(sorted(model.stage_seconds.items())),
    }
    return model, timings


def _build(scenario: str | Path, *, seed: int, until: int | None, overrides: dict[str, Any] | None, record_functions: Any) -> RegionModel:
    model = RegionModel(str(scenario), rng=seed, until=until, record_functions=record_functions, **(overrides or {}))
    if until is not None and until < model.region.base_year:
        raise UserError(f"--until {until}: must be the base year {model.region.base_year} or later")
    return model


def parse_tables(text: str | None) -> tuple[str, ...]:
    """`model,agents` → ("model", "agents"), in the order of TABLES; None or "all" → every table."""
    if text is None or text.strip() == "all":
        return tuple(TABLES)
    asked = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in asked if t not in TABLES]
    if unknown or not asked:
        raise UserError(f"--tables {text}: choose from {', '.join(TABLES)} (comma-separated) or all")
    return tuple(t for t in TABLES if t in asked)


def parse_function_rows(text: str | None) -> str | int | float:
    """`--function-rows`: "all", "none", a count (1000) or a share (0.01) of the functions, sampled once."""
    if text is None:
        return "all"
    text = text.strip()
    if text in ("all", "none"):
        return text
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if value >= 1 and value.is_integer():
        return int(value)
    if 0 <= value < 1:
        return value
    raise UserError(f"--function-rows {text}: all, none, a number of functions (e.g. 1000) or a share (e.g. 0.01)")


def _files(tables: tuple[str, ...]) -> list[str]:
    return [TABLES[t] for t in TABLES if t in tables] + ["scenario.toml", "run.json"]


class RunWriter:
    """Writes a running model's tables into `folder` year by year (see the module's docstring).

    Call `year()` after the model has recorded a year (once for the base year, then after every step);
    `close()` finishes the files and writes the small tables and `scenario.toml`, `finish()` writes `run.json`;
    `abort()` stops the writing threads.
    """

    def __init__(self, model: RegionModel, folder: Path, *, tables: tuple[str, ...] = tuple(TABLES)):
        from regionsim.model.events import arrow_schema

        self.model = model
        self.folder = Path(folder)
        self.tables = tables
        self.streams: dict[str, io.ParquetStream] = {}
        if "agents" in tables:
            self.streams["agents"] = io.ParquetStream(self.folder / TABLES["agents"])
        if "events" in tables:
            self.streams["events"] = io.ParquetStream(self.folder / TABLES["events"], arrow_schema())
        self.seconds = 0.0
        """Time this thread spent turning years into tables (the writing threads' time is not counted)."""

    def year(self) -> None:
        """Hand the model's newest year of agent rows and events to the writers; the model drops them."""
        started = time.perf_counter()
        frames = self.model.agent_frames
        if "agents" in self.streams:
            for columns in frames:
                self.streams["agents"].write(outputs.agent_table(columns))
        frames.clear()
        if "events" in self.streams:
            self.streams["events"].write(self.model.events.take_table())
        else:
            self.model.events.discard()
        self.seconds += time.perf_counter() - started

    def close(self) -> None:
        """Finish the streamed files (waiting for their writers) and write the small tables and scenario.toml."""
        for stream in self.streams.values():
            stream.close()
        write_small_tables(self.model, self.folder, self.tables)

    def finish(self, *, seed: int, timings: dict[str, Any]) -> None:
        """`run.json`, last: the folder is a finished run."""
        write_run_json(self.model, self.folder, seed=seed, timings=timings, files=_files(self.tables))

    def abort(self) -> None:
        for stream in self.streams.values():
            stream.abort()


def write_small_tables(model: RegionModel, folder: Path, tables: tuple[str, ...]) -> None:
    """model.parquet, scorecard.csv (those asked for) and scenario.toml."""
    if "model" in tables:
        io.write_parquet(model.model_frame(), folder / "model.parquet")
    if "scorecard" in tables:
        model.scorecard_frame().to_csv(folder / "scorecard.csv", index=False)
    (folder / "scenario.toml").write_text(
        f"# resolved scenario of this run: {model.region.name} (files: "
        f"{', '.join(p.name for p in model.region.chain)})\n" + dumps(model.region.data),
        encoding="utf-8",
    )


def write_run_json(model: RegionModel, folder: Path, *, seed: int, timings: dict[str, Any], files: list[str]) -> None:
    io.write_json(
        {
            "regionsim_version": VERSION,
            "scenario": model.region.name,
            "scenario_files": [str(p) for p in model.region.chain],
            "seed": seed,
            "base_year": model.region.base_year,
            "last_year": model.state.year,
            "overrides": model.region.overrides,
            "parameters": model.params,
            "timings": timings,
            "notes": model.state.notes,
            "python": platform.python_version(),
            "files": files,
        },
        folder / "run.json",
    )


def write_results(model: RegionModel, folder: Path, *, seed: int, timings: dict[str, Any]) -> None:
    """Write the run's six files into `folder` (an empty folder) from a model held in memory (it keeps its rows)."""
    folder = Path(folder)
    agents = io.ParquetStream(folder / "agents.parquet", background=False)
    for columns in model.agent_frames:
        agents.write(outputs.agent_table(columns))
    agents.close()
    from regionsim.model.events import arrow_schema

    events = io.ParquetStream(folder / "events.parquet", arrow_schema(), background=False)
    events.write(model.events.table())
    events.close()
    write_small_tables(model, folder, tuple(TABLES))
    write_run_json(model, folder, seed=seed, timings=timings, files=list(RUN_FILES))


def run_to_directory(
    scenario: str | Path,
    out: Path,
    *,
    seed: int = 0,
    until: int | None = None,
    overrides: dict[str, Any] | None = None,
    record_functions: bool = True,
    functions: str | int | float | None = None,
    tables: tuple[str, ...] = tuple(TABLES),
) -> tuple[RegionModel, Path]:
    """Run and write the files into `out`, which appears whole or not at all, writing each year as it is done.

    `functions` ("all", "none", a count or a share; default from `record_functions`) chooses the functions
    with agent rows: a sample is the same functions every year (`outputs.function_sample`)."""
    functions = ("all" if record_functions else "none") if functions is None else functions
    started = time.perf_counter()
    model = _build(scenario, seed=seed, until=until, overrides=overrides, record_functions=functions != "none" and "agents" in tables)
    if functions not in ("all", "none") and "agents" in tables:
        k = model.state.n_functions
        size = functions if isinstance(functions, int) else round(float(functions) * k)
        model.record_functions = outputs.function_sample(k, size)
        model.agent_frames[-1] = outputs.agent_columns(model)  # the base year, again with the sample only
    built = time.perf_counter()
    out = Path(out)

    def fill(folder: Path) -> None:
        writer = RunWriter(model, folder, tables=tables)
        try:
            writer.year()
            while model.running:
                model.step()
                writer.year()
            simulated = time.perf_counter()
            timings = {
                "setup_s": built - started,
                "simulate_s": simulated - built,
                "years": model.state.year - model.region.base_year,
                "stages_s": dict(sorted(model.stage_seconds.items())),
                "tables_s": writer.seconds,
            }
            writer.close()
            writer.finish(seed=seed, timings={**timings, "write_s": time.perf_counter() - simulated})
        except BaseException:
            writer.abort()
            raise

    io.atomic_directory(out, fill)
    return model, out.resolve()
