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
import threading
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
        self.last_step_s = 0.0

    def full_run(self) -> RegionModel:
        """The same case (scenario, seed, levers) run to its horizon (for the comparison view)."""
        return run_case(self.scenario, self.seed, self.overrides)

    def scale(self, indicator: str) -> tuple[float, float]:
        """The colour range of `indicator` over the whole run of this case (every year to the
        horizon), so a city changes colour only when its value changes. The run is made once per
        case (scenario, seed, levers) in this process and only its ranges are kept (`case_ranges`)."""
        return case_ranges(self.scenario, self.seed, self.overrides)[indicator]

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
        self.last_step_s = time.perf_counter() - started
        self.simulate_s += self.last_step_s
        return True

    def export_zip(self) -> bytes:
        """The run so far as a zip of the files `regionsim run` writes (RUN_FILES)."""
        timings = {
            "setup_s": self.setup_s,
            "simulate_s": self.simulate_s,
            "years": self.year - self.base_year,
            "stages_s": dict(sorted(self.model.stage_seconds.items())),
        }
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
    """A variant file (scenarios/FORMAT.md) that `regionsim run FILE` runs: base + these overrides (written by tomlkit)."""
    import tomlkit

    document = tomlkit.document()
    document.add(tomlkit.comment("Lever settings saved from the regionsim dashboard."))
    document.add(tomlkit.comment(f"Run it with: regionsim run {name}.toml{'' if seed is None else f' --seed {seed}'} --out results/{name}"))
    document.add(tomlkit.nl())
    document["variant"] = {
        "base": base,
        "name": name,
        "title_en": f"{base} with dashboard lever settings",
        "title_zh": f"{base}（仪表盘杠杆设置）",
    }
    document["set"] = {key: value.item() if hasattr(value, "item") else value for key, value in sorted(overrides.items())}
    return tomlkit.dumps(document)


def scenario_choices() -> list[str]:
    """Scenario and variant names for the picker, the default first."""
    names = list_scenarios()
    return sorted(names, key=lambda n: (n != DEFAULT_SCENARIO, not n.startswith(DEFAULT_SCENARIO), n))


def run_case(scenario: str, seed: int, overrides: dict[str, Any] | None = None) -> RegionModel:
    """A model of `scenario` run to its horizon (for the comparison view)."""
    return RegionModel(scenario, rng=seed, **(overrides or {})).run()


def read_variant(text: str) -> tuple[str, dict[str, Any], int | None]:
    """A variant file's (base scenario, lever overrides, seed named in its comment or None), checked
    by the scenario loader; raises `UserError` with the reason when it cannot run."""
    import re
    import tomllib

    from regionsim.model.errors import ScenarioError

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"variant file: not valid TOML ({exc})"]) from None
    variant = document.get("variant")
    if not isinstance(variant, dict) or not isinstance(variant.get("base"), str):
        raise ScenarioError(['variant file: needs a [variant] table with base = "SCENARIO" (scenarios/FORMAT.md)'])
    base = variant["base"]
    if base not in list_scenarios():
        raise ScenarioError([f"variant file: variant.base {base!r} is not a known scenario; valid: {', '.join(list_scenarios())}"])
    overrides = document.get("set", {})
    if not isinstance(overrides, dict):
        raise ScenarioError(["variant file: [set] must be a table of key paths"])
    problem = check_case(base, overrides)
    if problem:
        raise UserError(problem)
    found = re.search(r"--seed (\d+)", text)
    return base, dict(overrides), int(found.group(1)) if found else None


@dataclass(frozen=True)
class CityLever:
    """A per-city lever: a rule's table of values by city id (e.g. relocate.incentives)."""

    rule: RuleSpec
    name: str
    label_en: str
    label_zh: str

    def key(self, city: str) -> str:
        """The override key path for one city, e.g. rules.relocate.incentives.xiongan."""
        return f"rules.{self.rule.key}.{self.name}.{city}"


CITY_LEVERS = (
    ("relocate", "incentives", "Receiving incentive", "承接激励"),
    ("relocate", "receiver_capacity", "Units it can receive per year", "年承接能力（单位）"),
)
"""Per-city levers shown in the dashboard's city table (rule key, table name, labels)."""


def city_levers(scenario: str) -> list[tuple[CityLever, dict[str, Any]]]:
    """The per-city levers the scenario's rules have, each with the scenario's values by city."""
    params = load_scenario(scenario).params
    out = []
    for rule_key, name, en, zh in CITY_LEVERS:
        if rule_key in REGISTRY and rule_key in params and name in params[rule_key]:
            out.append((CityLever(REGISTRY[rule_key], name, en, zh), dict(params[rule_key][name] or {})))
    return out


_RANGES: dict[tuple, dict[str, tuple[float, float]]] = {}
_RANGES_LOCK = threading.Lock()
RANGE_CACHE_SIZE = 64


def case_ranges(scenario: str, seed: int, overrides: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Each map indicator's (low, high) over a whole run of the case. A case is deterministic per
    seed, so sessions share these numbers (never a model): computed once per case, the last
    `RANGE_CACHE_SIZE` cases kept."""
    from regionsim.viz.views import INDICATORS, stable_range

    key = (scenario, int(seed), tuple(sorted((k, repr(v)) for k, v in overrides.items())))
    with _RANGES_LOCK:
        if key in _RANGES:
            return _RANGES[key]
    model = run_case(scenario, seed, overrides)
    ranges = {name: stable_range([model], name) for name in INDICATORS}
    with _RANGES_LOCK:
        _RANGES[key] = ranges
        while len(_RANGES) > RANGE_CACHE_SIZE:
            _RANGES.pop(next(iter(_RANGES)))
    return ranges
