"""RegionModel: the region as a Mesa model, one step per year.

A year, as a paragraph: provinces first read last year's state and set this
year's instruments — abatement goals and relocation pressure (POLICY), and zoning tightens land
and phases out negative-list industry (ZONING). Then the relocation market moves functions out of
the cities that must shed them and into the cities positioned to receive them (RELOCATE), and
market forces shift manufacturing down the cost gradient (TRANSFER). The economy grows (GROWTH).
Public services follow schools, hospitals and money (SERVICES); people are born, die and move
toward jobs and services, within caps (MIGRATE). The region coordinates abatement if it missed
its shared air target (JOINT_CONTROL), emissions and PM2.5 follow (AIR), and energy is traded
and its CO2 accounted (ENERGY). Money changes hands: tax sharing on relocated firms (TAX_SHARE), ecological compensation
(ECO_COMP), joint-control payments (JOINT_CONTROL) and the cooperation fund (FUND). Finally the
year is recorded: series, agent rows, events and the plan scorecard.

Usage: `RegionModel(scenario="capital_region", rng=42, **overrides)`, where overrides are lever
key paths (`rules.joint_control.enabled=False`, or `rules__joint_control__enabled=False`), so
`mesa.batch_run` can sweep them unchanged; or, as Mesa's own examples do,
`RegionModel(scenario=RegionScenario(name="capital_region", rng=42, rules__joint_control__enabled=False))`,
which is also how Mesa's SolaraViz rebuilds the model on Reset.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import mesa
import numpy as np
from mesa.experimental.scenarios import Scenario as MesaScenario
from regionsim.agents import City, Function, Province
from regionsim.model import outputs
from regionsim.model.errors import Problem, ScenarioError, UserError
from regionsim.model.events import EventLog
from regionsim.model.network import travel_times
from regionsim.model.rules import (
    INITIALISED,
    air,
    eco_comp,
    energy,
    fund,
    growth,
    joint_control,
    migrate,
    policy,
    relocate,
    services,
    tax_share,
    transfer,
    zoning,
)
from regionsim.model.rules.base import StepContext, plain, rule_on
from regionsim.model.scenario import SCENARIO_DIR, Scenario, load_scenario, normalise_override_key
from regionsim.model.state import RegionState, build_state

YEAR: tuple[tuple[str, str, Any, str | None], ...] = (
    # (phase, stage, function of the StepContext, the rule whose switch skips it; None: runs always and asks itself)
    ("policy", "policy", policy.apply, "policy"),  # provinces set this year's instruments
    ("policy", "zoning", zoning.apply, "zoning"),
    ("relocation", "relocate", relocate.apply, "relocate"),  # 疏解 → 承接
    ("transfer", "transfer", transfer.apply, "transfer"),  # down the cost gradient
    ("economy", "growth", growth.apply, "growth"),
    ("people", "services", services.apply, "services"),
    ("people", "migrate", migrate.apply, "migrate"),
    ("environment", "joint_control", joint_control.coordinate, None),
    ("environment", "air", air.apply, "air"),
    ("environment", "energy", energy.apply, "energy"),
    ("money", "tax_share", tax_share.apply, "tax_share"),
    ("money", "eco_comp", eco_comp.apply, "eco_comp"),
    ("money", "joint_control_pay", joint_control.pay, None),
    ("money", "fund", fund.apply, "fund"),
)
"""The stages of a year, in the order `RegionModel.step` runs them, before the record
stage. The one list: the bare-kernel benchmark imports it, and a test checks that the rules' phases
(`RuleSpec.stage`) never go backwards along it."""


def close_books(state: RegionState) -> None:
    """The year's money, settled: transfers net into fiscal revenue, and this year's function taxes
    join their three-year history (TAX_SHARE reads it)."""
    net = state.transfers.net()
    state.fiscal_revenue = state.tax_revenue() + net[: state.n_cities]
    state.fn_tax_history = np.concatenate([state.fn_tax_history[:, 1:], state.fn_tax()[:, None]], axis=1)


DEFAULT_SCENARIO = "capital_region"
LAST_YEAR = 2200
"""The latest `until` a run accepts (the scenario format's latest horizon)."""


class RegionScenario(MesaScenario):
    """A RegionModel run as Mesa's tools see it: which scenario, until when, and lever overrides.

    Mesa 3.5 gives every model a `scenario` (`mesa.experimental.scenarios.Scenario`); this is
    RegionModel's, in the style of Mesa's own examples (`BoltzmannScenario`, `WolfSheepScenario`):

        RegionModel(scenario=RegionScenario(name="classroom", rng=7, until=2030,
                                            rules__joint_control__enabled=False))

    `name` is a shipped scenario or variant name, or a path to a scenario file. Every other keyword
    is a lever key path, `__`-separated (or dotted, via `**{"rules.fund.enabled": False}`).
    """

    name: str = DEFAULT_SCENARIO
    until: int | None = None

    def lever_overrides(self) -> dict[str, Any]:
        """The key paths this scenario sets (every field but name, until and rng), dotted."""
        return _scenario_fields(self, [])[2]


_SCENARIO_FIELDS = ("name", "until", "rng")
WHERE = "RegionModel"
"""The `file` of a problem in RegionModel's own arguments."""


def _scenario_fields(scenario: MesaScenario, problems: list[Problem]) -> tuple[str, Any, dict[str, Any]]:
    """(name, until, dotted lever overrides) of a Mesa scenario; unknown fields become problems."""
    fields = dict(scenario.__dict__)
    name = fields.pop("name", DEFAULT_SCENARIO)
    until = fields.pop("until", None)
    fields.pop("rng", None)
    overrides: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(key, str) and ("__" in key or "." in key):
            overrides[normalise_override_key(key)] = value
        else:
            problems.append(
                Problem(
                    WHERE,
                    f"scenario.{key}",
                    f"unknown field of a {type(scenario).__name__}; valid: "
                    f"{', '.join(_SCENARIO_FIELDS)}, and lever key paths such as rules__joint_control__enabled",
                )
            )
    return name, until, overrides


def _check_seed(rng: Any, problems: list[Problem]) -> Any:
    """`rng` as Mesa and numpy take it; a seed that numpy would refuse becomes a problem."""
    rng = plain(rng)
    if rng is None or isinstance(rng, (np.random.Generator, np.random.BitGenerator, np.random.SeedSequence)):
        return rng
    if isinstance(rng, str) and rng.strip().isdigit():  # a seed typed into a text field
        return int(rng.strip())
    if isinstance(rng, int) and not isinstance(rng, bool) and rng >= 0:
        return rng
    if (
        isinstance(rng, (list, tuple))
        and rng
        and all(isinstance(plain(v), int) and not isinstance(plain(v), bool) and plain(v) >= 0 for v in rng)
    ):
        return [int(v) for v in rng]
    problems.append(
        Problem(WHERE, "rng", f"must be a whole number of at least 0 (or None, a numpy Generator or SeedSequence), not {rng!r}"[:200])
    )
    return None


def _check_until(until: Any, base_year: int, problems: list[Problem]) -> int | None:
    """`until` as a year from the base year to LAST_YEAR, or a problem."""
    until = plain(until)
    if isinstance(until, float) and until.is_integer():
        until = int(until)
    if isinstance(until, bool) or not isinstance(until, int) or not base_year <= until <= LAST_YEAR:
        problems.append(Problem(WHERE, "until", f"must be a year from the base year {base_year} to {LAST_YEAR}, not {until!r}"))
        return None
    return until


class RegionModel(mesa.Model):
    """Provinces, cities and relocatable functions under the plans' coordination rules.

    `scenario` is a shipped scenario or variant name, a path to a scenario file, a loaded
    `Scenario`, or a Mesa scenario (`RegionScenario`, or a plain `mesa.experimental.scenarios.Scenario`
    with the same fields, as Mesa's SolaraViz Reset passes). Lever overrides come as keywords
    (`rules__joint_control__enabled=False`) and win over the scenario's. Every value is checked here:
    a bad scenario, lever, seed or `until` raises `ScenarioError` naming the key and what is valid.
    `self.scenario` is a `RegionScenario` describing the run (name, until, rng, overrides).
    """

    def __init__(
        self,
        scenario: str | Path | Scenario | MesaScenario | None = None,
        rng: Any = None,
        *,
        until: int | None = None,
        record_functions: bool = True,
        **overrides: Any,
    ) -> None:
        started = time.perf_counter()
        problems: list[Problem] = []
        levers = {normalise_override_key(key): value for key, value in overrides.items()}
        loaded: Scenario | None = None
        if scenario is None:
            scenario = DEFAULT_SCENARIO
        if isinstance(scenario, MesaScenario):
            name, scenario_until, scenario_levers = _scenario_fields(scenario, problems)
            levers = {**scenario_levers, **levers}
            own_rng = plain(scenario.rng)
            if rng is None:
                rng = own_rng
            elif own_rng is not None and own_rng != plain(rng):
                problems.append(Problem(WHERE, "rng", f"given twice and different: rng={rng!r} and scenario.rng={own_rng!r}"))
            if until is None:
                until = scenario_until
            elif scenario_until is not None and plain(scenario_until) != plain(until):
                problems.append(
                    Problem(WHERE, "until", f"given twice and different: until={until!r} and scenario.until={scenario_until!r}")
                )
            ref: Any = name
        elif isinstance(scenario, Scenario):
            loaded, ref = scenario, scenario.path
            levers = {**{normalise_override_key(k): v for k, v in scenario.overrides.items()}, **levers}
        elif isinstance(scenario, (str, Path)):
            ref = scenario
        else:
            raise ScenarioError(
                [
                    Problem(
                        WHERE,
                        "scenario",
                        f"must be a scenario name, a path to a scenario file, a loaded Scenario or a RegionScenario, not {scenario!r}"[
                            :240
                        ],
                    )
                ]
            )
        rng = _check_seed(rng, problems)
        if not isinstance(ref, (str, Path)):
            problems.append(Problem(WHERE, "scenario.name", f"must be a scenario name or a path, not {ref!r}"[:200]))
            ref = DEFAULT_SCENARIO
        try:
            region = loaded if loaded is not None and not levers else load_scenario(ref, levers)
        except ScenarioError as exc:
            raise ScenarioError([*problems, *exc.problems]) from None
        except UserError as exc:  # no such scenario file or name
            raise ScenarioError([*problems, Problem(WHERE, "scenario", str(exc))]) from None
        if until is not None:
            until = _check_until(until, region.base_year, problems)
        if problems:
            raise ScenarioError(problems)
        shown = region.name if region.path.parent in (SCENARIO_DIR, SCENARIO_DIR / "variants") else str(region.path)
        run_levers = {normalise_override_key(key).replace(".", "__"): value for key, value in region.overrides.items()}
        super().__init__(scenario=RegionScenario(rng=rng, name=shown, until=until, **run_levers))
        self.region = region
        self.params = self.region.params
        self.state: RegionState = self._initial_state()
        self.events = EventLog()
        self.ctx = StepContext(self.state, self.params, self.rng, self.events)
        self.until = int(until) if until is not None else self.region.horizon
        self.record_functions = record_functions
        self.stage_seconds: dict[str, float] = {}
        for module in INITIALISED:
            module.initialise(self.state, self.params)

        self._make_agents()

        self.agent_frames: list[dict[str, np.ndarray]] = []
        self.scorecard_rows: list[dict[str, Any]] = []
        self.datacollector = mesa.DataCollector(model_reporters=outputs.model_reporters(self))
        self.setup_seconds = time.perf_counter() - started
        self._record()
        self.running = self.state.year < self.until

    def _initial_state(self) -> RegionState:
        """The base year's state arrays (a sweep's worker copies a template instead of building them again)."""
        return build_state(self.region)

    def _make_agents(self) -> None:
        """The Mesa agents (views over the state arrays); a sweep's outcome-only run needs none."""
        self.provinces = [Province(self, i) for i in range(self.state.n_provinces)]
        self.cities = [City(self, i) for i in range(self.state.n_cities)]
        self.functions = [Function(self, i) for i in range(self.state.n_functions)]

    # --- the yearly step -------------------------------------------------------------------------
    def step(self) -> None:
        """Simulate one year."""
        s = self.state
        s.year += 1
        s.transfers.clear()
        s.travel_minutes = travel_times(s)  # recomputes only when links opened or got faster

        for _, name, function, rule_key in YEAR:
            self._stage(name, function, rule_key)
        self._stage("record", lambda ctx: self._close_year())

        if s.year >= self.until:
            self.running = False

    def on(self, rule_key: str) -> bool:
        """Whether a rule is switched on in this run."""
        return rule_on(self.params, rule_key)

    def run(self) -> RegionModel:
        """Step until the horizon (or `until`)."""
        while self.running:
            self.step()
        return self

    def _stage(self, name: str, function: Any, rule_key: str | None = None) -> None:
        started = time.perf_counter()
        if rule_key is None or self.on(rule_key):
            function(self.ctx)
        self.stage_seconds[name] = self.stage_seconds.get(name, 0.0) + time.perf_counter() - started

    def _close_year(self) -> None:
        """Money stage bookkeeping and the record stage."""
        close_books(self.state)
        self._record()

    def _record(self) -> None:
        self.summary = outputs.model_row(self)
        self.datacollector.collect(self)
        self.agent_frames.append(outputs.agent_columns(self))
        self.scorecard_rows.extend(outputs.scorecard(self))

    # --- results ---------------------------------------------------------------------------------
    def model_frame(self):
        """One row per year (model-level series)."""
        frame = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        return frame

    def agent_frame(self):
        """One row per agent per year."""
        return outputs.concat_agent_columns(self.agent_frames)

    def event_frame(self):
        """One row per event."""
        return self.events.frame()

    def scorecard_frame(self):
        """One row per plan target per year."""
        return outputs.scorecard_frame(self.scorecard_rows)
