"""RegionModel: the region as a Mesa model, one step per year.

A year, as a paragraph (MODEL.md §2): provinces first read last year's state and set this
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
`mesa.batch_run` can sweep them unchanged.
"""

from __future__ import annotations

import time
from typing import Any

import mesa
import numpy as np
from regionsim.agents import City, Function, Province
from regionsim.model import outputs
from regionsim.model.events import EventLog
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
from regionsim.model.rules.base import StepContext
from regionsim.model.scenario import Scenario, load_scenario
from regionsim.model.state import RegionState, build_state, travel_times

DEFAULT_SCENARIO = "capital_region"


class RegionModel(mesa.Model):
    """Provinces, cities and relocatable functions under the plans' coordination rules."""

    def __init__(
        self,
        scenario: str | Scenario = DEFAULT_SCENARIO,
        rng: Any = None,
        *,
        until: int | None = None,
        record_functions: bool = True,
        **overrides: Any,
    ) -> None:
        super().__init__(rng=rng)
        started = time.perf_counter()
        if isinstance(scenario, Scenario):
            self.region = scenario if not overrides else load_scenario(scenario.path, {**scenario.overrides, **overrides})
        else:
            self.region = load_scenario(scenario, overrides)
        self.params = self.region.params
        self.state: RegionState = build_state(self.region)
        self.events = EventLog()
        self.ctx = StepContext(self.state, self.params, self.rng, self.events)
        self.until = int(until) if until is not None else self.region.horizon
        self.record_functions = record_functions
        self.stage_seconds: dict[str, float] = {}
        for module in INITIALISED:
            module.initialise(self.state, self.params)

        self.provinces = [Province(self, i) for i in range(self.state.n_provinces)]
        self.cities = [City(self, i) for i in range(self.state.n_cities)]
        self.functions = [Function(self, i) for i in range(self.state.n_functions)]

        self.agent_frames: list[dict[str, np.ndarray]] = []
        self.scorecard_rows: list[dict[str, Any]] = []
        self.datacollector = mesa.DataCollector(model_reporters=outputs.model_reporters(self))
        self.setup_seconds = time.perf_counter() - started
        self._record()
        self.running = self.state.year < self.until

    # --- the yearly step -------------------------------------------------------------------------
    def step(self) -> None:
        """Simulate one year."""
        s = self.state
        s.year += 1
        s.transfers.clear()
        s.travel_minutes = travel_times(s)  # recomputes only when links opened or got faster

        self._stage("policy", policy.apply, "policy")
        self._stage("zoning", zoning.apply, "zoning")
        self._stage("relocate", relocate.apply, "relocate")
        self._stage("transfer", transfer.apply, "transfer")
        self._stage("growth", growth.apply, "growth")
        self._stage("services", services.apply, "services")
        self._stage("migrate", migrate.apply, "migrate")
        self._stage("joint_control", joint_control.coordinate)
        self._stage("air", air.apply, "air")
        self._stage("energy", energy.apply, "energy")
        self._stage("tax_share", tax_share.apply, "tax_share")
        self._stage("eco_comp", eco_comp.apply, "eco_comp")
        self._stage("joint_control_pay", joint_control.pay)
        self._stage("fund", fund.apply, "fund")
        self._stage("record", lambda ctx: self._close_year())

        if s.year >= self.until:
            self.running = False

    def on(self, rule_key: str) -> bool:
        """Whether a rule is switched on in this run."""
        return bool(self.params[rule_key]["enabled"])

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
        s = self.state
        net = s.transfers.net()
        s.cumulative_transfers += net
        s.fiscal_revenue = s.tax_revenue() + net[: s.n_cities]
        s.fn_tax_history = np.concatenate([s.fn_tax_history[:, 1:], s.fn_tax()[:, None]], axis=1)
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
