"""One browser session's run: its scenario, seed, lever overrides and model, with no UI code.

The Solara page (viz/app.py) keeps one `DashboardRun` per browser session (in component state,
never in a module variable), so one user's steps and levers never touch another's. Everything
here is plain Python and is unit-tested without a browser: stepping, checking a lever value,
writing the run's files as a zip, writing the lever settings as a variant file, and running two
cases side by side for the comparison view.
"""

from __future__ import annotations

import io
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regionsim.model.errors import UserError
from regionsim.model.model import DEFAULT_SCENARIO, RegionModel
from regionsim.model.rules import REGISTRY
from regionsim.model.rules.base import ENABLED, Lever, RuleSpec
from regionsim.model.run import RUN_FILES, write_results
from regionsim.model.scenario import list_scenarios, load_scenario
from regionsim.model.tomlwrite import value as toml_value

MAX_SEED = 2**32 - 1


class DashboardRun:
    """A model being stepped in the dashboard, with what is needed to rebuild or export it."""

    def __init__(self, scenario: str = DEFAULT_SCENARIO, seed: int = 0, overrides: dict[str, Any] | None = None) -> None:
        self.scenario = scenario
        self.seed = int(seed)
        self.overrides = dict(overrides or {})
        started = time.perf_counter()
        self.model = RegionModel(scenario, rng=self.seed, **self.overrides)
        self.setup_s = time.perf_counter() - started
        self.simulate_s = 0.0

    @property
    def year(self) -> int:
        """The year the model has reached."""
        return int(self.model.state.year)

    @property
    def base_year(self) -> int:
        """The scenario's base year."""
        return self.model.region.base_year

    @property
    def horizon(self) -> int:
        """The last year the model will step to."""
        return self.model.until

    @property
    def running(self) -> bool:
        """Whether another step is possible."""
        return bool(self.model.running)

    def step(self) -> bool:
        """Advance one year; False (and no change) when the horizon is reached."""
        if not self.model.running:
            return False
        started = time.perf_counter()
        self.model.step()
        self.simulate_s += time.perf_counter() - started
        return True

    def export_zip(self) -> bytes:
        """The run so far as a zip of the files `regionsim run` writes (RUN_FILES)."""
        timings = {"setup_s": self.setup_s, "simulate_s": self.simulate_s, "years": self.year - self.base_year,
                   "stages_s": dict(sorted(self.model.stage_seconds.items()))}
        buffer = io.BytesIO()
        with tempfile.TemporaryDirectory(prefix="regionsim-export-") as folder:
            write_results(self.model, Path(folder), seed=self.seed, timings=timings)
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for name in RUN_FILES:
                    archive.write(Path(folder) / name, arcname=name)
        return buffer.getvalue()

    def export_name(self) -> str:
        """A file name for the zip, e.g. capital_region_seed0_2026.zip."""
        return f"{self.scenario}_seed{self.seed}_{self.year}.zip"


# --- levers --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeverRow:
    """One lever as the widget shows it: its rule, its declaration and the scenario's value."""

    rule: RuleSpec
    lever: Lever
    scenario_value: Any

    @property
    def key(self) -> str:
        """The override key path, e.g. rules.relocate.annual_quota_share."""
        return f"rules.{self.rule.key}.{self.lever.name}"


def lever_groups(scenario: str) -> list[tuple[RuleSpec, list[LeverRow]]]:
    """Every rule with its switch and levers, at the scenario's values, in the order the yearly
    step runs the rules."""
    params = load_scenario(scenario).params
    groups = []
    for key, spec in REGISTRY.items():
        rows = [LeverRow(spec, ENABLED, bool(params[key]["enabled"]))]
        rows += [LeverRow(spec, lever, params[key].get(lever.name, lever.default)) for lever in spec.levers]
        groups.append((spec, rows))
    return groups


def parse_lever(lever: Lever, text: str | bool) -> tuple[Any, str | None]:
    """Read what the user typed for `lever`: (value, None), or (None, why it is refused)."""
    if lever.kind == "bool":
        if isinstance(text, bool):
            return text, None
        word = str(text).strip().lower()
        if word in ("true", "on", "1", "yes"):
            return True, None
        if word in ("false", "off", "0", "no"):
            return False, None
        return None, "must be true or false"
    raw = str(text).strip().replace(",", "")
    try:
        number: Any = float(raw)
    except ValueError:
        return None, f"{lever.check('x')}, not {raw!r}" if raw else f"{lever.check('x')}, not empty"
    if lever.kind == "int" and number.is_integer():
        number = int(number)
    why = lever.check(number)
    if why:
        return None, f"{why}, not {raw}"
    return number, None


def check_case(scenario: str, overrides: dict[str, Any]) -> str | None:
    """Why `scenario` with `overrides` cannot run (the loader's message), or None when it can."""
    try:
        load_scenario(scenario, overrides)
    except UserError as exc:
        return str(exc)
    return None


def parse_seed(text: str) -> tuple[int | None, str | None]:
    """A seed from what the user typed: (seed, None) or (None, why not)."""
    raw = str(text).strip()
    if not raw.isdigit() or int(raw) > MAX_SEED:
        return None, f"must be a whole number from 0 to {MAX_SEED}, not {raw!r}"
    return int(raw), None


def variant_toml(base: str, overrides: dict[str, Any], *, name: str, seed: int | None = None) -> str:
    """A variant file (scenarios/FORMAT.md) that `regionsim run FILE` runs: base + these overrides."""
    lines = ["# Lever settings saved from the regionsim dashboard.",
             f"# Run it with: regionsim run {name}.toml{'' if seed is None else f' --seed {seed}'} --out results/{name}",
             "", "[variant]", f"base = {toml_value(base)}", f"name = {toml_value(name)}",
             f"title_en = {toml_value(f'{base} with dashboard lever settings')}",
             f"title_zh = {toml_value(f'{base}（仪表盘杠杆设置）')}", "", "[set]"]
    lines += [f"{toml_value(key)} = {toml_value(value)}" for key, value in sorted(overrides.items())]
    return "\n".join(lines) + "\n"


def scenario_choices() -> list[str]:
    """Scenario and variant names for the picker, the default first."""
    names = list_scenarios()
    return sorted(names, key=lambda n: (n != DEFAULT_SCENARIO, not n.startswith(DEFAULT_SCENARIO), n))


def run_case(scenario: str, seed: int, overrides: dict[str, Any] | None = None) -> RegionModel:
    """A model of `scenario` run to its horizon (for the comparison view)."""
    return RegionModel(scenario, rng=seed, **(overrides or {})).run()
