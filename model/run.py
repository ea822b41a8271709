"""One run, start to finish: build the model, step it, and write its files atomically.

The files: `model.parquet` (one row per year), `agents.parquet` (one row per agent
per year), `events.parquet` (one row per event), `scorecard.csv` (one row per plan target per
year), `scenario.toml` (the resolved scenario: base, variants and overrides applied, so the run
can be repeated from this file alone) and `run.json` (version, seed, parameters, timings).
"""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any

from regionsim import __version__ as VERSION
from regionsim.model import io
from regionsim.model.model import RegionModel
from tomlkit import dumps

RUN_FILES = ("model.parquet", "agents.parquet", "events.parquet", "scorecard.csv", "scenario.toml", "run.json")


def run_model(
    scenario: str | Path, *, seed: int = 0, until: int | None = None, overrides: dict[str, Any] | None = None, record_functions: bool = True
) -> tuple[RegionModel, dict[str, float]]:
    """Build and run a model; return it and its timings (seconds)."""
    started = time.perf_counter()
    model = RegionModel(str(scenario), rng=seed, until=until, record_functions=record_functions, **(overrides or {}))
    built = time.perf_counter()
    if until is not None and until < model.region.base_year:
        from regionsim.model.errors import UserError

        raise UserError(f"--until {until}: must be the base year {model.region.base_year} or later")
    model.run()
    finished = time.perf_counter()
    timings = {
        "setup_s": built - started,
        "simulate_s": finished - built,
        "years": model.state.year - model.region.base_year,
        "stages_s": dict(sorted(model.stage_seconds.items())),
    }
    return model, timings


def write_results(model: RegionModel, folder: Path, *, seed: int, timings: dict[str, Any]) -> None:
    """Write the run's six files into `folder` (an empty folder)."""
    io.write_parquet(model.model_frame(), folder / "model.parquet")
    io.write_parquet(model.agent_frame(), folder / "agents.parquet")
    io.write_parquet(model.event_frame(), folder / "events.parquet")
    model.scorecard_frame().to_csv(folder / "scorecard.csv", index=False)
    (folder / "scenario.toml").write_text(
        f"# resolved scenario of this run: {model.region.name} (files: "
        f"{', '.join(p.name for p in model.region.chain)})\n" + dumps(model.region.data),
        encoding="utf-8",
    )
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
            "files": list(RUN_FILES),
        },
        folder / "run.json",
    )


def run_to_directory(
    scenario: str | Path,
    out: Path,
    *,
    seed: int = 0,
    until: int | None = None,
    overrides: dict[str, Any] | None = None,
    record_functions: bool = True,
) -> tuple[RegionModel, Path]:
    """Run and write the files into `out`, which appears whole or not at all."""
    model, timings = run_model(scenario, seed=seed, until=until, overrides=overrides, record_functions=record_functions)
    started = time.perf_counter()
    out = Path(out)

    def fill(folder: Path) -> None:
        write_results(model, folder, seed=seed, timings={**timings, "write_s": time.perf_counter() - started})

    io.atomic_directory(out, fill)
    return model, out.resolve()
