"""No dead levers: in each shipped scenario, every lever of a rule that is switched on moves
some model-level output, unless the lever's mechanism has no object in that scenario — listed below,
per scenario, with a reason the test checks on the run itself.

A lever is moved halfway to its upper bound and halfway to its lower bound (a switch: flipped), over
`YEARS` years. "Moves" means some model-level series (`model_frame`, every column, every year) differs
from the unchanged run by more than a relative 1e-9. A lever that moves nothing there is tried again
over the scenario's full horizon (some act only late: relaxing abatement once the air is clean, a
migration limit once flows grow). A LIMIT (a ceiling that binds only where the run comes near it) that
still moves nothing is then moved nine tenths of the way to its tighter bound, and last to that bound.

Rules switched off are listed in RULES_OFF (the test checks the list against the scenarios); levers
that cannot act although their rule is on are in EXEMPT, each with a predicate that must hold on the
scenario's unchanged full run — the reason is checked, not taken on trust. `python
tests/test_lever_liveness.py [SCENARIO …]` prints every lever's largest relative change and the move
that produced it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest
from regionsim.model.model import RegionModel
from regionsim.model.rules import REGISTRY
from regionsim.model.scenario import load_scenario
from regionsim.model.sectors import ZONES

SCENARIOS = ("capital_region", "bohai_rim", "harbin_changchun", "classroom")
YEARS = 3
TOLERANCE = 1e-9


RULES_OFF: dict[str, dict[str, str]] = {
    "capital_region": {
        "energy": "the region's coal and power come from outside it (Shanxi, Inner Mongolia), which the "
        "scenario does not model; inside it the energy sector is local utilities (capital_region.toml)"
    },
    "bohai_rim": {},
    "harbin_changchun": {},
    "classroom": {
        "transfer": "the teaching toy keeps to relocation, joint control, tax sharing and compensation "
        "(classroom.toml's header lists the rules it shows)",
        "energy": "not one of the rules the classroom shows (classroom.toml's header)",
        "fund": "not one of the rules the classroom shows (classroom.toml's header)",
    },
}
"""Rules switched off in each scenario, with the reason; their levers are not tested there."""


LIMITS: dict[str, str] = {
    "policy.max_abatement": "a ceiling on provinces' abatement goals: it binds only where a goal reaches it",
    "relocate.max_travel_minutes": "the farthest a function moves: it binds only on movers whose chosen receiver is farther",
    "relocate.receiver_capacity_default": "a receiver's yearly room: it binds only where more units want in",
    "migrate.max_inflow_share": "a ceiling on a city's yearly arrivals: it binds only where flows reach it",
    "migrate.max_outflow_share": "a ceiling on a city's yearly departures: it binds only where flows reach it",
    "growth.max_jobs_per_worker": "a ceiling on jobs per resident: it binds only where jobs outgrow residents",
}
"""Levers that are ceilings; each ceiling is lowered toward its tighter (lower) bound when halfway moves leave it slack."""


Check = Callable[[RegionModel], bool]


@dataclass(frozen=True)
class Exemption:
    """Why a lever of a rule that is on cannot act in a scenario, and a predicate on the unchanged full run that says so."""

    reason: str
    holds: Check


def _param_empty(rule: str, name: str) -> Check:
    return lambda m: not m.params[rule][name]


def _no_caps(m: RegionModel) -> bool:
    s = m.state
    return not (np.isfinite(s.population_cap).any() or np.isfinite(s.province_population_cap).any() or np.isfinite(s.density_cap).any())


def _no_optimised_zone(m: RegionModel) -> bool:
    return not (m.state.zone == ZONES.index("optimised")).any()


def _pm_above_target_every_year(m: RegionModel) -> bool:
    frame = m.agent_frame()
    provinces = frame[frame.agent_type == "province"]
    target = dict(zip(m.state.province_ids, m.state.pm25_target, strict=True))
    return bool((provinces.pm25.to_numpy() >= provinces.key.map(target).to_numpy()).all())


def _hukou_set_by_every_city(m: RegionModel) -> bool:
    return not np.isnan(m.state.hukou_friction).any()


def _headroom_equal(m: RegionModel) -> bool:
    return _no_caps(m) and _no_optimised_zone(m)


def _jobs_fall_every_year(m: RegionModel) -> bool:
    frame = m.agent_frame()
    jobs = frame[frame.agent_type == "city"].groupby("year").jobs.sum().to_numpy()
    return bool((np.diff(jobs) < 0).all())


def _only_own_capacity_receivers(m: RegionModel) -> bool:
    """Every city a function moved to has a capacity of its own (RELOCATE's events)."""
    events = m.event_frame()
    moved_to = set(events[(events.rule == "RELOCATE") & (events.kind == "relocation")].target)
    return moved_to <= set(m.params["relocate"]["receiver_capacity"])


def _no_optimised_receiver(m: RegionModel) -> bool:
    """Every function starts in an optimised-zone city and none ever moved into one (RELOCATE's events)."""
    s = m.state
    optimised = s.zone == ZONES.index("optimised")
    events = m.event_frame()
    moved_to = events[(events.rule == "RELOCATE") & (events.kind == "relocation")].target
    ids = np.array(s.city_ids)
    return bool(optimised[s.fn_origin].all() and not np.isin(moved_to, ids[optimised]).any())


_NO_RESIDENT_SCHEDULE = Exemption(
    "the scenario states no resident schedule (the plans behind it give no number of residents to move)",
    _param_empty("relocate", "resident_schedule"),
)
_NO_RELEASE_SCHEDULE = Exemption(
    "the scenario states no release schedule (its toy cities shed functions by negative list and cost)",
    _param_empty("relocate", "release_schedule"),
)
_NO_PAIRING = Exemption(
    "the scenario names no pairing-aid pairs (fund.pairing is empty; harbin_changchun.txt has no 对口)", _param_empty("fund", "pairing")
)
_NO_CAP = Exemption(
    "no city or province has a population or density cap (harbin_changchun opens hukou instead, "
    "L194「全面放开牡丹江、松原等城市落户限制」)",
    _no_caps,
)
_JOBS_FALL = Exemption(
    "the region's jobs fall every year (output grows more slowly than labour productivity), and the ceiling only holds back growth of jobs",
    _jobs_fall_every_year,
)
_NO_OPTIMISED = Exemption(
    "no city is an optimised zone (优化开发): the scenario makes every city a key or restricted zone", _no_optimised_zone
)
_NO_LAND_SUPPLY = Exemption(
    "no city states a pace of new built-up land (built_up_growth_km2); only capital_region's Xiong'an does",
    lambda m: not (m.state.built_up_growth_km2 > 0).any(),
)

EXEMPT: dict[str, dict[str, Exemption]] = {
    "capital_region": {},
    "bohai_rim": {
        "zoning.new_town_land_supply": _NO_LAND_SUPPLY,
        "relocate.release_schedule_scale": Exemption(
            "no release schedule: bohai_rim_outline asks only 「有序疏解北京非首都功能」 (L271) with no functions named in batches "
            "and no pace; Beijing's candidates leave by its negative list and its near-cap push at the quota's pace",
            _param_empty("relocate", "release_schedule"),
        ),
        "relocate.resident_schedule_scale": Exemption(
            "no resident schedule: the planned resident moves (central city → Sub-center, capital_metro_area L173) are inside "
            "Beijing, one city in this scenario",
            _param_empty("relocate", "resident_schedule"),
        ),
    },
    "harbin_changchun": {
        "zoning.new_town_land_supply": _NO_LAND_SUPPLY,
        "policy.abatement_relax": Exemption(
            "acts only below a province's PM2.5 target; both provinces stay above theirs to 2020", _pm_above_target_every_year
        ),
        "policy.quota_tightening": _NO_CAP,
        "policy.cap_warning_share": _NO_CAP,
        "relocate.cap_push": _NO_CAP,
        "zoning.construction_land_cut": _NO_OPTIMISED,
        "zoning.optimised_housing_growth": _NO_OPTIMISED,
        "zoning.vacated_housing_converted": _NO_OPTIMISED,
        "relocate.resident_schedule_scale": _NO_RESIDENT_SCHEDULE,
        "relocate.weight_headroom": Exemption(
            "with no caps and no optimised zone every receiver's headroom is 1, so its weight adds the same to every score", _headroom_equal
        ),
        "relocate.weight_incentive": Exemption("the scenario sets no receiving incentives", _param_empty("relocate", "incentives")),
        "migrate.hukou_friction": Exemption(
            "every city sets its own hukou friction (harbin_changchun L194), which overrides the lever", _hukou_set_by_every_city
        ),
        "fund.pairing_rate": _NO_PAIRING,
    },
    "classroom": {  # classroom.toml is being rewritten by its owner; these reasons are checked on whatever it holds
        "relocate.release_schedule_scale": _NO_RELEASE_SCHEDULE,
        "relocate.resident_schedule_scale": _NO_RESIDENT_SCHEDULE,
        "zoning.new_town_land_supply": _NO_LAND_SUPPLY,
        "zoning.construction_land_cut": Exemption(
            "the land cut scales only an optimised city's headroom as a receiver (TRANSFER is off), and the one optimised "
            "city, the Capital, is where every function starts and none moves to",
            _no_optimised_receiver,
        ),
        "growth.max_jobs_per_worker": _JOBS_FALL,
        "relocate.receiver_capacity_default": Exemption(
            "every city that receives a function has a capacity of its own; the default applies to none of them",
            _only_own_capacity_receivers,
        ),
    },
}
"""Levers that cannot act in a scenario although their rule is on, with the reason and its check."""


# --- running ------------------------------------------------------------------------------------------------


@cache
def _frame(scenario: str, until: int, overrides: tuple = ()) -> np.ndarray:
    model = RegionModel(scenario, rng=3, until=until, record_functions=False, **dict(overrides))
    return model.run().model_frame().select_dtypes("number").to_numpy(dtype=float)


def _change(base: np.ndarray, moved: np.ndarray) -> float:
    """Largest relative change of any series in any year."""
    return float(np.max(np.abs(base - moved) / np.maximum(np.abs(base), 1.0)))


def _halfway(lever, value) -> list:
    if lever.kind == "bool":
        return [not value]
    ups = [(value + lever.high) / 2] if lever.high is not None and math.isfinite(lever.high) else [value * 2 + 1]
    downs = [(value + lever.low) / 2] if lever.low is not None else []
    return _distinct(lever, value, ups + downs)


def _toward_low(lever, value) -> list:
    return _distinct(lever, value, [lever.low + (value - lever.low) / 10, lever.low])


def _show(value) -> str:
    return str(value) if isinstance(value, bool) else f"{value:g}"


def _distinct(lever, value, moves: list) -> list:
    out = [int(round(v)) if lever.kind == "int" else v for v in moves]
    return [v for v in dict.fromkeys(out) if v != value]


def lever_effect(scenario: str, name: str) -> tuple[float, str]:
    """The largest relative change a lever's moves make, and the move that made it ("" and 0 when none did)."""
    region = load_scenario(scenario)
    key, lever_name = name.split(".")
    lever = REGISTRY[key].lever(lever_name)
    value = region.params[key][lever_name]
    short, full = region.base_year + YEARS, region.horizon
    tiers = [("halfway", short, _halfway(lever, value)), ("halfway, full horizon", full, _halfway(lever, value))]
    if name in LIMITS:
        tiers.append(("toward the lower bound, full horizon", full, _toward_low(lever, value)))
    for label, until, moves in tiers:
        best, best_move = 0.0, ""
        for move in moves:
            # one tier at a time: the next is tried only when this one moved nothing
            effect = _change(_frame(scenario, until), _frame(scenario, until, ((f"rules.{name}", move),)))
            if effect > best:
                best, best_move = effect, f"{_show(value)}→{_show(move)} ({label}, to {until})"
            if effect > TOLERANCE:
                return best, best_move
    return 0.0, ""


def levers_under_test(scenario: str) -> list[str]:
    """Levers of rules switched on in `scenario`, except the exempt ones."""
    params = load_scenario(scenario).params
    return [
        f"{key}.{lever.name}"
        for key, spec in REGISTRY.items()
        if params[key]["enabled"]
        for lever in spec.levers
        if lever.name != "enabled" and f"{key}.{lever.name}" not in EXEMPT.get(scenario, {})
    ]


def dead_levers(scenario: str) -> list[str]:
    """Levers of rules switched on in `scenario`, not exempt, that change no model-level output."""
    return [name for name in levers_under_test(scenario) if lever_effect(scenario, name)[0] <= TOLERANCE]


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_lever_moves_an_output(scenario):
    assert dead_levers(scenario) == []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rules_off_are_listed_with_reasons(scenario):
    params = load_scenario(scenario).params
    assert {key for key in REGISTRY if not params[key]["enabled"]} == set(RULES_OFF[scenario])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_exemptions_hold(scenario):
    """Each exemption names a lever of a rule that is on, and its reason is true of the unchanged full run."""
    model = RegionModel(scenario, rng=3, record_functions=False).run()
    for name, exemption in EXEMPT.get(scenario, {}).items():
        key, lever = name.split(".")
        assert REGISTRY[key].lever(lever) is not None, name
        assert model.on(key), f"{name}: its rule is off in {scenario} (list it in RULES_OFF, not EXEMPT)"
        assert exemption.holds(model), f"{scenario}: the exemption of {name} no longer holds: {exemption.reason}"


def test_limits_are_levers_with_a_lower_bound():
    for name in LIMITS:
        key, lever = name.split(".")
        assert REGISTRY[key].lever(lever).low is not None, name


def test_the_measure_tells_a_display_setting_from_a_lever():
    """The test can fail: TRANSFER's event-log threshold, a display setting the simulation never reads,
    changes no model-level output (it would be reported dead), while a lever of the same rule does."""
    until = load_scenario("bohai_rim").base_year + 1
    base = _frame("bohai_rim", until)
    assert _change(base, _frame("bohai_rim", until, (("rules.transfer.event_threshold_100m_yuan", 50.0),))) == 0.0
    assert _change(base, _frame("bohai_rim", until, (("rules.transfer.elasticity", 0.5),))) > TOLERANCE


if __name__ == "__main__":  # print every lever's effect, for the record
    for scenario in sys.argv[1:] or SCENARIOS:
        for name in levers_under_test(scenario):
            effect, move = lever_effect(scenario, name)
            print(f"{scenario:<17} {name:<40} {effect:9.2e}  {move}")
        for name, exemption in EXEMPT.get(scenario, {}).items():
            print(f"{scenario:<17} {name:<40} {'exempt':>9}  {exemption.reason}")
