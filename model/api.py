"""`simulate`: the model as a function — levers in, outcomes out.

Exploratory modelling tools (EMA Workbench, SALib, our own sweeps) see a model as a function of
named inputs to named outcomes. `simulate` is that function for regionsim: it builds a
`RegionModel`, runs it, and returns a dict of the outcomes asked for.

    simulate("classroom", seed=7, until=2030, outcomes=["pm25_population_weighted", "population_total@2028"],
             rules__joint_control__enabled=False)
    → {"pm25_population_weighted": 41.2…, "population_total@2028": 1234.5…}

An outcome is a model-level series (a column of `RegionModel.model_frame()`, except `year`) at the
last simulated year, or `name@year` at that year. `outcomes=None` returns every series at the last
year. Lever values may be Python or numpy scalars; everything is checked before the run, and a bad
scenario, lever, seed, `until` or outcome raises `ScenarioError` naming the key and what is valid.

It records only the model-level series (no agent rows, no scorecard, no function rows), which
makes a run about a fifth cheaper; the values are the same as `RegionModel(...).run()`'s.

Many runs of one scenario (a sweep) go through `prepare`: the scenario is read and checked once,
its base-year state built once, and each run gets a copy of that state, its own levers (checked),
no Mesa agents, and the model-level row recorded only in the years it asks for. The values are
identical (==) to `simulate`'s for the same scenario, levers and seed:

    prepared = prepare("capital_region", **{"rules.fund.enabled": False})
    prepared.simulate(seed=7, until=2035, outcomes=["population_beijing"], rules__relocate__annual_quota_share=0.2)
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from regionsim.model import outputs
from regionsim.model.errors import Problem, ScenarioError
from regionsim.model.model import RegionModel
from regionsim.model.rules import REGISTRY
from regionsim.model.scenario import (
    SCENARIO_DIR,
    Scenario,
    check_document,
    coerce_override,
    load_scenario,
    normalise_override_key,
    resolve_params,
    set_path,
)
from regionsim.model.state import RegionState, build_state

WHERE = "simulate"


class _OutcomeRun(RegionModel):
    """A RegionModel that records the model-level series only (what `simulate` returns)."""

    def _record(self) -> None:
        self.summary = outputs.model_row(self)
        self.datacollector.collect(self)


def simulate(
    scenario: str | Path | Scenario = "capital_region",
    *,
    seed: Any,
    until: int | None = None,
    outcomes: Iterable[str] | str | None = None,
    **levers: Any,
) -> dict[str, Any]:
    """Run `scenario` with `seed` up to `until` (default: its horizon) and return the chosen outcomes.

    `outcomes` names model-level series (`pm25_population_weighted`, `population_total`, …), each at
    the last simulated year, or as `name@year` at that year; None returns every series at the last
    year. `levers` are key paths, `__`-separated (`rules__joint_control__enabled=False`) or dotted via
    `**{"rules.fund.enabled": False}`. Returns `{outcome: value}` in the order asked.
    """
    model = _OutcomeRun(scenario, rng=seed, until=until, record_functions=False, **levers)
    wanted = _parse_outcomes(outcomes, model)
    model.run()
    series = model.datacollector.model_vars
    row_of_year = {int(year): index for index, year in enumerate(series["year"])}
    return {label: _plain(series[name][row_of_year[year]]) for label, (name, year) in wanted.items()}


def outcome_names(model: RegionModel) -> list[str]:
    """The model-level series a run records (valid outcome names), `year` excluded."""
    return [key for key in model.summary if key != "year"]


def _parse_outcomes(outcomes: Iterable[str] | str | None, model: RegionModel) -> dict[str, tuple[str, int]]:
    """`{label: (series, year)}` for each outcome asked; every bad one is reported at once."""
    names = outcome_names(model)
    first, last = model.region.base_year, model.until
    if outcomes is None:
        return {name: (name, last) for name in names}
    if isinstance(outcomes, str):
        outcomes = [outcomes]
    wanted: dict[str, tuple[str, int]] = {}
    problems: list[Problem] = []
    try:
        asked = list(outcomes)
    except TypeError:
        raise ScenarioError([Problem(WHERE, "outcomes", f"must be a list of series names, not {outcomes!r}"[:200])]) from None
    for label in asked:
        if not isinstance(label, str):
            problems.append(Problem(WHERE, "outcomes", f"{label!r}: an outcome is a string, 'name' or 'name@year'"))
            continue
        name, at, year_text = label.partition("@")
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(Problem(WHERE, f"outcomes.{label}", f"unknown series {name!r}{hint}; valid: {', '.join(names)}"))
            continue
        year = last
        if at:
            if not year_text.strip().isdigit() or not first <= int(year_text) <= last:
                problems.append(Problem(WHERE, f"outcomes.{label}", f"the year after '@' must be from {first} to {last} (this run)"))
                continue
            year = int(year_text)
        wanted[label] = (name, year)
    if problems:
        raise ScenarioError(problems)
    return wanted


def _plain(value: Any) -> Any:
    """A recorded value as a Python scalar."""
    return value.item() if hasattr(value, "item") else value


# --- many runs of one scenario ------------------------------------------------------------------------


class _SweepRun(RegionModel):
    """A RegionModel for one run of a prepared scenario: its state copied from a template, no agents, and the
    model-level row recorded at the base year and then only in the years in `record_years`."""

    def __init__(self, scenario: Scenario, template: RegionState, **kwargs: Any) -> None:
        self._template = template
        self.record_years: frozenset[int] | None = None
        """None while the model is built (the base year is always recorded)."""
        self.rows: dict[int, dict[str, Any]] = {}
        super().__init__(scenario, **kwargs)

    def _initial_state(self) -> RegionState:
        return copy.deepcopy(self._template)

    def _make_agents(self) -> None:
        self.provinces, self.cities, self.functions = [], [], []

    def _record(self) -> None:
        year = self.state.year
        if self.record_years is None or year in self.record_years:
            self.summary = outputs.model_row(self)
            self.rows[year] = self.summary


class PreparedScenario:
    """A scenario read and checked once, for many runs that differ in seed, `until` and rule levers.

    What each run shares: the resolved scenario document (base, variants and fixed keys applied) and
    the base-year state built from it (copied for each run). What each run gets for itself: the rule
    tables its levers touch (copied, levers set and checked as `load_scenario` checks them), every
    rule's parameters resolved afresh, and its own random generator. `simulate` returns exactly what
    `regionsim.simulate` returns for the same scenario, levers and seed.

    A run's base-year state depends on the scenario's data outside `[rules]` only (`build_state`
    reads cities, provinces, links, …); a lever outside `rules.*` is applied to a full copy of the
    document, checked whole, and its run builds its state anew.
    """

    def __init__(self, scenario: Scenario):
        self.scenario = dataclasses.replace(scenario, overrides={})
        """The checked scenario, its fixed keys already applied (RegionModel uses a loaded Scenario without overrides as is)."""
        self.fixed = dict(scenario.overrides)
        """The key paths applied before the scenario was checked (a sweep's `[set]`)."""
        self._state: RegionState | None = None
        self.runs = 0
        """Runs made with it so far (in this process)."""

    @classmethod
    def from_data(
        cls, data: Mapping[str, Any], name: str, ref: str | None = None, fixed: Mapping[str, Any] | None = None
    ) -> PreparedScenario:
        """A scenario from its resolved document alone (no file read): checked, its rule parameters resolved.

        `ref` is the reference the document was resolved from (a short name or a path), kept for display only.
        """
        data = copy.deepcopy(dict(data))
        label = ref or name
        problems = check_document(data, f"{label} (resolved)")
        if problems:
            raise ScenarioError(problems)
        path = Path(ref) if ref and ref.endswith(".toml") else SCENARIO_DIR / f"{name}.toml"
        scenario = Scenario(name=name, path=path, data=data, params=resolve_params(data), chain=[], overrides=dict(fixed or {}))
        return cls(scenario)

    @property
    def base_year(self) -> int:
        return self.scenario.base_year

    @property
    def horizon(self) -> int:
        return self.scenario.horizon

    def template(self) -> RegionState:
        """The base-year state, built on first use (each run deep-copies it)."""
        if self._state is None:
            self._state = build_state(self.scenario)
        return self._state

    def scenario_with(self, levers: Mapping[str, Any]) -> tuple[Scenario, bool]:
        """(this run's Scenario with `levers` applied and checked, whether its base-year state is the template's)."""
        if not levers:
            return self._own(self.scenario.data, self.scenario.data.get("rules", {}), {}), True
        dotted = {}
        for key, value in levers.items():
            if not isinstance(key, str) or not key:
                raise ScenarioError(
                    [Problem("--set", repr(key), "a key path must be a non-empty string, e.g. rules.joint_control.enabled")]
                )
            name = normalise_override_key(key)
            dotted[name] = coerce_override(name, value)
        if all(_is_rule_lever(key) for key in dotted):
            return self._with_rule_levers(dotted), True
        return self._with_any_keys(dotted), False

    def _own(self, data: dict[str, Any], rules: Any, applied: dict[str, Any]) -> Scenario:
        """A run's Scenario over `data` (sharing what no run changes), with parameters of its own."""
        if rules is not data.get("rules"):
            data = {**data, "rules": rules}
        params = copy.deepcopy(resolve_params(data))
        # no overrides: RegionModel takes a loaded Scenario without overrides as it is (with some, it reads the file again)
        return dataclasses.replace(self.scenario, data=data, params=params, overrides={})

    def _with_rule_levers(self, dotted: dict[str, Any]) -> Scenario:
        """Copy the rule tables the levers touch, set each lever there and check it as `_check_rules` does."""
        shared = self.scenario.data.get("rules", {})
        rules, copied = dict(shared), set()
        problems: list[Problem] = []
        for key, value in dotted.items():
            _, rule, name = key.split(".")
            if rule not in copied:
                rules[rule] = copy.deepcopy(shared.get(rule, {}))
                copied.add(rule)
            why = set_path({"rules": rules}, key, value, origin="--set (user override)")
            if why is None:
                why = _lever_problem(rule, name, value)
            if why:
                problems.append(Problem("--set", key, why))
        if problems:
            raise ScenarioError(problems)
        return self._own(self.scenario.data, rules, dotted)

    def _with_any_keys(self, dotted: dict[str, Any]) -> Scenario:
        """Any key paths: a full copy of the document, each key set, the whole document checked (as `load_scenario`)."""
        data = copy.deepcopy(self.scenario.data)
        problems = [
            Problem("--set", key, why)
            for key, value in dotted.items()
            if (why := set_path(data, key, value, origin="--set (user override)"))
        ]
        if problems:
            raise ScenarioError(problems)
        problems = check_document(data, str(self.scenario.path))
        if problems:
            raise ScenarioError(problems)
        return self._own(data, data.get("rules", {}), dotted)

    def model(self, seed: Any, until: int | None = None, **levers: Any) -> _SweepRun:
        """A model for one run, built and checked, not yet run."""
        scenario, same_state = self.scenario_with(levers)
        template = self.template() if same_state else build_state(scenario)
        model = _SweepRun(scenario, template, rng=seed, until=until, record_functions=False)
        model.region.overrides = {**self.fixed, **{normalise_override_key(key): value for key, value in levers.items()}}  # for the record
        return model

    def simulate(
        self, *, seed: Any, until: int | None = None, outcomes: Iterable[str] | str | None = None, **levers: Any
    ) -> dict[str, Any]:
        """One run: the same contract and the same values as `regionsim.simulate(scenario, seed=…, …)`."""
        model = self.model(seed, until, **levers)
        wanted = _parse_outcomes(outcomes, model)
        model.record_years = frozenset(year for _, year in wanted.values())
        model.run()
        self.runs += 1
        return {label: _plain(model.rows[year][name]) for label, (name, year) in wanted.items()}


def prepare(scenario: str | Path | Scenario = "capital_region", **fixed: Any) -> PreparedScenario:
    """Read and check `scenario` once, with `fixed` key paths applied, for many `simulate` calls with other levers and seeds."""
    if isinstance(scenario, Scenario):
        if fixed:
            scenario = load_scenario(scenario.path, {**scenario.overrides, **fixed})
        return PreparedScenario(scenario)
    return PreparedScenario(load_scenario(scenario, {normalise_override_key(k): v for k, v in fixed.items()}))


def _is_rule_lever(key: str) -> bool:
    """Whether `key` is `rules.<rule>.<scalar lever or enabled>` of a registered rule."""
    parts = key.split(".")
    if len(parts) != 3 or parts[0] != "rules" or parts[1] not in REGISTRY:
        return False
    return parts[2] == "enabled" or REGISTRY[parts[1]].lever(parts[2]) is not None


def _lever_problem(rule: str, name: str, value: Any) -> str | None:
    """What `scenario._check_rules` says of one scalar rule field (None: fine)."""
    if name == "enabled":
        return None if isinstance(value, bool) else f"must be true or false, not {value!r}"
    why = REGISTRY[rule].lever(name).check(value)
    return f"{why}, not {value!r}" if why else None
