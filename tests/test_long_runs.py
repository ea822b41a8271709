"""Long and extreme runs: every shipped scenario, and every lever at its bounds, to 2100.

Each run is stepped one year at a time and checked after every year against physical limits and the
model's accounting identities:

* population finite and ≥ 0; output finite and ≥ 0; PM2.5 finite, ≥ 0 and < 1000 µg/m³ (no city on
  record has averaged anything close over a year); service level, emissions and fiscal revenue finite;
* function units conserved: every function keeps its units, and the units of each function type summed
  over cities never change (relocation moves units, it does not make or destroy them);
* money nets to zero every year (what one account pays another receives), and the model frame says so;
* population identity: this year's population = last year's + natural change + migrants in − migrants out.

What runs where (a run to 2100 of a shipped scenario takes 0.05–0.3 s, so all of this is cheap):

* normal suite — every shipped scenario and variant to 2100; each of the ~75 rule levers at its low and
  at its high bound, one at a time, on `classroom` to 2100 (its rule switched on, so the lever acts);
  all levers at low / at high together on `capital_region`, with the scenario's rules, all rules on
  and all off;
* `REGIONSIM_CAMPAIGN=1` — the same with more seeds, and the one-at-a-time lever bounds on the other
  three base scenarios too.

Known failures (bugs in the rules, reported, not fixed here) are strict xfails in `KNOWN_RUNAWAY`;
when a fix lands the xfail turns into an XPASS failure: delete the entry then.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np
import pytest
from regionsim.model.model import RegionModel
from regionsim.model.rules import REGISTRY
from regionsim.model.rules.base import Lever
from regionsim.model.scenario import list_scenarios

CAMPAIGN = os.environ.get("REGIONSIM_CAMPAIGN") == "1"
UNTIL = 2100
PM25_LIMIT = 1000.0  # µg/m³, annual mean
BASES = ("classroom", "capital_region", "bohai_rim", "harbin_changchun")
SEEDS = (0, 1, 7) if CAMPAIGN else (0,)


class PhysicalLimitError(AssertionError):
    """A run left physical limits or broke an accounting identity (scenario, lever, year, quantity)."""


# (scenario, rule, lever, bound) → the year and quantity seen when this was written. PM2.5 is proportional
# to emissions, emissions to output, and GROWTH compounds output without limit; at the high bound of a
# growth lever (or with no decline in emission intensity) PM2.5 passes 1000 µg/m³ before 2100.
KNOWN_RUNAWAY: dict[tuple[str, str, str, str], str] = {}


@dataclass(frozen=True)
class Bound:
    rule: str
    lever: Lever
    which: str  # "low" or "high"

    @property
    def value(self):
        if self.lever.kind == "bool":
            return self.which == "high"
        value = getattr(self.lever, self.which)
        return int(value) if self.lever.kind == "int" else float(value)

    @property
    def key(self) -> str:
        return f"rules.{self.rule}.{self.lever.name}"

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


BOUNDS = [Bound(rule, lever, which) for rule, spec in REGISTRY.items() for lever in spec.levers for which in ("low", "high")]


def _fail(where: str, year: int, what: str) -> None:
    raise PhysicalLimitError(f"{where}: year {year}: {what}")


def _cities(model: RegionModel, mask: np.ndarray) -> list[str]:
    return [model.state.city_ids[i] for i in np.nonzero(mask)[0][:5]]


def run_checked(where: str, scenario: str, seed: int, overrides: dict | None = None, until: int = UNTIL) -> RegionModel:
    """Run to `until`, checking every year; raise PhysicalLimitError naming year, quantity and cities."""
    model = RegionModel(scenario, rng=seed, until=until, record_functions=False, **(overrides or {}))
    s = model.state
    units = s.fn_units.copy()
    by_type = s.function_units_by_city().sum(axis=0)
    years = 0
    while model.running:
        population = s.population.copy()
        model.step()
        year, years = s.year, years + 1
        output = s.output()
        for name, values in (
            ("population", s.population),
            ("output", output),
            ("PM2.5", s.pm25),
            ("service level", s.service_level),
            ("emissions", s.emissions),
            ("fiscal revenue", s.fiscal_revenue),
            ("natural change", s.natural_change),
            ("migration in", s.migration_in),
            ("migration out", s.migration_out),
        ):
            bad = ~np.isfinite(values)
            if bad.any():
                rows = bad if bad.ndim == 1 else bad.any(axis=tuple(range(1, bad.ndim)))
                _fail(where, year, f"{name} not finite in {_cities(model, rows)}")
        for name, values in (("population", s.population), ("output", output), ("PM2.5", s.pm25), ("emissions", s.emissions)):
            if (values < -1e-9).any():
                rows = values < -1e-9 if values.ndim == 1 else (values < -1e-9).any(axis=tuple(range(1, values.ndim)))
                _fail(where, year, f"{name} negative ({values.min():.4g}) in {_cities(model, rows)}")
        if (s.pm25 >= PM25_LIMIT).any():
            worst = int(np.argmax(s.pm25))
            _fail(where, year, f"PM2.5 {s.pm25[worst]:.0f} µg/m³ ≥ {PM25_LIMIT:.0f} in {s.city_ids[worst]} (GDP {s.gdp()[worst]:.4g} 亿元)")
        if not (s.fn_units == units).all():
            _fail(where, year, "a function's units changed")
        moved = s.function_units_by_city().sum(axis=0)
        if not (moved == by_type).all():
            _fail(where, year, f"function units by type {moved.tolist()} ≠ {by_type.tolist()}")
        if not ((s.fn_host >= 0) & (s.fn_host < s.n_cities)).all():
            _fail(where, year, "a function is hosted by no city")
        net = s.transfers.net()
        if abs(net.sum()) > 1e-9 * max(1.0, s.transfers.total()):
            _fail(where, year, f"money does not net to zero: {net.sum():.6g} of {s.transfers.total():.6g} 亿元")
        expected = population + s.natural_change + s.migration_in - s.migration_out
        if not np.allclose(s.population, expected, rtol=1e-9, atol=1e-6):
            gap = np.abs(s.population - expected)
            _fail(where, year, f"population identity off by {gap.max():.6g} persons in {_cities(model, gap > 1e-6)}")
    if s.year != until or years != until - model.region.base_year:
        _fail(where, s.year, f"stopped after {years} years, not at {until}")
    frame = model.model_frame()
    assert len(frame) == until - model.region.base_year + 1, where
    money = frame["money_net_sum_100m_yuan"].abs()
    assert (money <= 1e-9 * np.maximum(1.0, frame["money_total_100m_yuan"])).all(), f"{where}: model frame money net"
    return model


def _known(scenario: str, bound: Bound):
    reason = KNOWN_RUNAWAY.get((scenario, bound.rule, bound.lever.name, bound.which))
    if reason is None:
        return []
    return [pytest.mark.xfail(raises=PhysicalLimitError, strict=True, reason=f"known runaway (reported): {reason}")]


# --- every shipped scenario and variant to 2100 -----------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("scenario", list_scenarios())
def test_shipped_scenario_to_2100(scenario, seed):
    run_checked(f"{scenario} seed {seed}", scenario, seed)


def test_every_base_scenario_is_shipped():
    assert set(BASES) <= set(list_scenarios())
    assert len(BOUNDS) >= 150, "every lever has a low and a high bound"


# --- each lever at its low and high bound, one at a time -------------------------------------------


def _bound_cases(scenarios):
    return [
        pytest.param(scenario, bound, id=f"{scenario}-{bound.rule}.{bound.lever.name}-{bound.which}", marks=_known(scenario, bound))
        for scenario in scenarios
        for bound in BOUNDS
    ]


@pytest.mark.parametrize(("scenario", "bound"), _bound_cases(BASES if CAMPAIGN else ("classroom",)))
def test_lever_at_bound_to_2100(scenario, bound):
    # the lever's rule is switched on, or a lever of a rule the scenario leaves off would change nothing
    overrides = {bound.key: bound.value, f"rules.{bound.rule}.enabled": True}
    for seed in SEEDS:
        run_checked(f"{scenario} {bound} seed {seed}", scenario, seed, overrides)


# --- every lever at once ---------------------------------------------------------------------------


def _all_at(which: str, enabled: bool | None) -> dict:
    overrides = {bound.key: bound.value for bound in BOUNDS if bound.which == which}
    if enabled is not None:
        overrides.update({f"rules.{rule}.enabled": enabled for rule in REGISTRY})
    return overrides


@pytest.mark.parametrize("enabled", [None, True, False], ids=["scenario_rules", "all_rules_on", "all_rules_off"])
@pytest.mark.parametrize("which", ["low", "high"])
@pytest.mark.parametrize("scenario", BASES if CAMPAIGN else ("capital_region",))
def test_all_levers_at_once(scenario, which, enabled):
    for seed in SEEDS:
        overrides = _all_at(which, enabled)
        model = run_checked(f"{scenario} all levers {which}, enabled={enabled} seed {seed}", scenario, seed, overrides)
        for key, value in overrides.items():  # every lever really took its bound
            _, rule, lever = key.split(".")
            assert model.params[rule][lever] == value, key


def test_a_failure_is_reported_precisely(monkeypatch):
    """The checker names scenario, lever, year and quantity (shown with a limit the run must cross)."""
    monkeypatch.setattr(sys.modules[__name__], "PM25_LIMIT", 20.0)
    with pytest.raises(PhysicalLimitError, match=r"classroom test: year 20\d\d: PM2\.5 \d+ µg/m³"):
        run_checked("classroom test", "classroom", 0, {})
