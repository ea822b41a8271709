"""Relocation driven by the plans: release schedules, resident schedules, caps that limit
inflow, and receivers chosen for reasons a user can change.

Rule-level tests run on the hand-made three-city state (A capital, B New Town, C Mill Town);
model-level tests run capital_region for a few years and compare directions, never snapshots.
"""

from __future__ import annotations

import numpy as np
import pytest
from regionsim.model.model import RegionModel
from regionsim.model.rules import migrate, policy, relocate, zoning
from regionsim.model.sectors import FUNCTION_TYPE_INDEX, FUNCTION_TYPE_NAMES

from tests.conftest import three_city_context

A, B, C = 0, 1, 2
UNIVERSITY = FUNCTION_TYPE_INDEX["university"]


def _schedule(ctx, city: int, ftype: int, rate: float, start: int | None = None, end: int = 2100) -> None:
    """Give the state one release-schedule entry (as `relocate.initialise` builds them)."""
    ctx.state.schedule = {
        "city": np.array([city]),
        "type": np.array([ftype]),
        "rate": np.array([rate]),
        "start": np.array([start or ctx.state.year]),
        "end": np.array([end]),
        "due": np.zeros(1),
        "moved": np.zeros(1),
    }


def _universities_moved(ctx) -> int:
    s = ctx.state
    return int(s.fn_units[(s.fn_type == UNIVERSITY) & (s.fn_host != A)].sum())


# --- release schedule ------------------------------------------------------------------------------


def test_release_schedule_moves_the_cumulative_rate_rounded_each_year():
    # 2.4 units a year: round(2.4) = 2 after one year, round(4.8) = 5 after two (hand-computed)
    ctx = three_city_context({"rules.relocate.annual_quota_share": 0.0})
    _schedule(ctx, A, UNIVERSITY, 2.4)
    relocate.apply(ctx)
    assert _universities_moved(ctx) == 2
    ctx.state.year += 1
    relocate.apply(ctx)
    assert _universities_moved(ctx) == 5
    assert ctx.state.schedule["moved"][0] == 5
    assert set(ctx.state.fn_host[(ctx.state.fn_type == UNIVERSITY) & (ctx.state.fn_host != A)].tolist()) == {B}  # role match


def test_lower_release_scale_slows_the_schedule():
    ctx = three_city_context({"rules.relocate.annual_quota_share": 0.0, "rules.relocate.release_schedule_scale": 0.5})
    _schedule(ctx, A, UNIVERSITY, 2.5)
    relocate.apply(ctx)
    assert _universities_moved(ctx) == 1  # round(1.25)


def test_schedule_backlog_comes_forward_when_a_receiver_has_room():
    ctx = three_city_context(
        {
            "rules.relocate.annual_quota_share": 0.0,
            "rules.relocate.receiver_capacity.newtown": 0,
            "rules.relocate.receiver_capacity.milltown": 0,
        }
    )
    _schedule(ctx, A, UNIVERSITY, 2.0)
    relocate.apply(ctx)
    assert _universities_moved(ctx) == 0  # nowhere to go: stays, stays due
    ctx.params["relocate"]["receiver_capacity"]["newtown"] = 10
    ctx.state.year += 1
    relocate.apply(ctx)
    assert _universities_moved(ctx) == 4  # last year's 2 and this year's 2


def test_schedule_backlog_comes_forward_after_the_entry_ends():
    """Units due by the entry's last year that found no receiver then still leave later; nothing new is due."""
    ctx = three_city_context(
        {
            "rules.relocate.annual_quota_share": 0.0,
            "rules.relocate.receiver_capacity.newtown": 0,
            "rules.relocate.receiver_capacity.milltown": 0,
        }
    )
    _schedule(ctx, A, UNIVERSITY, 2.0)
    ctx.state.schedule["end"][:] = ctx.state.year  # this is the entry's last year
    relocate.apply(ctx)
    assert _universities_moved(ctx) == 0  # nowhere to go
    ctx.params["relocate"]["receiver_capacity"]["newtown"] = 10
    ctx.state.year += 1
    relocate.apply(ctx)
    assert _universities_moved(ctx) == 2  # the last year's 2 (the backlog), and no new 2
    assert ctx.state.schedule["due"][0] == pytest.approx(2.0)
    # the entry is over, so the capital's negative list (universities are on it) is a reason again, beside the schedule
    moves = ctx.events.frame().query("kind == 'relocation' and year == @ctx.state.year")
    assert len(moves) and all("on its city's negative list; due on the release schedule" in w for w in moves.why_en)
    ctx.state.year += 1
    relocate.apply(ctx)
    assert _universities_moved(ctx) == 2  # backlog cleared: nothing more


def test_scheduled_types_are_not_also_pushed_by_the_quota():
    # universities are on the capital's negative list; a schedule entry takes over their pace
    ctx = three_city_context({"rules.relocate.annual_quota_share": 1.0})
    _schedule(ctx, A, UNIVERSITY, 0.0)
    pushed, _ = relocate.candidates(ctx)
    assert not (ctx.state.fn_type[pushed] == UNIVERSITY).any()
    ctx.state.schedule["end"][:] = ctx.state.year - 1  # entry over: the negative list pushes them again
    pushed, _ = relocate.candidates(ctx)
    assert (ctx.state.fn_type[pushed] == UNIVERSITY).any()


# --- caps push and limit with tolerances --------------------------------------------------------------


def test_cap_push_needs_more_than_rounding():
    ctx = three_city_context({"rules.relocate.cap_push": True, "rules.relocate.cost_threshold": 100.0})
    s = ctx.state
    s.negative[:] = False
    s.population_cap[A] = s.population[A] * (1.0 - 1e-12)  # over by 1e-12 of the cap: rounding, not a push
    assert len(relocate.candidates(ctx)[0]) == 0
    s.population_cap[A] = s.population[A] / 1.01  # 1% over: every function A is not positioned for is pushed
    pushed, reason = relocate.candidates(ctx)
    assert len(pushed) == s.n_functions - int((s.fn_host != A).sum()) and (reason[pushed] & 2).all()


def test_policy_marks_a_province_near_its_cap_and_raises_pressure():
    ctx = three_city_context({"rules.policy.cap_warning_share": 0.1, "rules.policy.quota_tightening": 5.0})
    s = ctx.state
    s.province_population_cap[0] = s.province_sum(s.population)[0] / 0.95  # at 95% of its cap
    policy.apply(ctx)
    assert bool(s.province_near_cap[0]) and not bool(s.province_near_cap[1])
    assert s.relocation_pressure[0] == pytest.approx(1.0 + 5.0 * 0.05)
    ctx.params["policy"]["cap_warning_share"] = 0.02
    policy.apply(ctx)
    assert not bool(s.province_near_cap[0]) and s.relocation_pressure[0] == pytest.approx(1.0)


# --- residents and housing -------------------------------------------------------------------------


def _residents(ctx, persons_10k: float, years: int = 10) -> None:
    ctx.state.resident_schedule = {
        "source": np.array([A]),
        "target": np.array([C]),
        "per_year": np.array([persons_10k * 1e4 / years]),
        "start": np.array([ctx.state.year]),
        "end": np.array([ctx.state.year + years - 1]),
        "moved": np.zeros(1),
    }


def test_resident_schedule_moves_people_and_converts_their_homes():
    ctx = three_city_context(
        {
            "rules.relocate.annual_quota_share": 0.0,
            "rules.zoning.vacated_housing_converted": 1.0,
            "rules.relocate.resident_schedule_scale": 2.0,
        }
    )
    s = ctx.state
    zoning.apply(ctx)
    cap_before = s.population_cap[A]
    _residents(ctx, 10.0)  # 1万 a year, ×2 by the scale
    relocate.apply(ctx)
    assert s.relocation_followers[A, C] == pytest.approx(2e4)
    assert s.population_cap[A] == pytest.approx(cap_before - 2e4)  # the capital is optimised: 存量置換
    pop_c = s.population[C]
    migrate.apply(ctx)
    assert s.planned_in_cum[C] == pytest.approx(2e4, rel=1e-9)  # Mill Town has no cap: all arrive
    assert s.planned_out_cum[A] == pytest.approx(2e4, rel=1e-9)
    assert s.population[C] - pop_c >= 2e4 - 1e-6 + s.natural_change[C] - s.migration_out[C]


def test_unconverted_homes_keep_the_cap():
    ctx = three_city_context({"rules.relocate.annual_quota_share": 0.0, "rules.zoning.vacated_housing_converted": 0.0})
    zoning.apply(ctx)
    cap_before = ctx.state.population_cap[A]
    _residents(ctx, 10.0)
    relocate.apply(ctx)
    assert ctx.state.population_cap[A] == pytest.approx(cap_before)


def test_a_cap_limits_inflow_but_does_not_hold_a_population():
    # a city at its cap that people leave falls below it: the cap is not a floor
    ctx = three_city_context({"rules.relocate.annual_quota_share": 0.0, "rules.zoning.vacated_housing_converted": 0.0})
    s = ctx.state
    s.population_cap[B] = s.population[B]
    s.relocation_followers[B, C] = 5e4
    s.followers_at = np.array([B * s.n_cities + C])
    migrate.apply(ctx)
    assert s.population[B] < s.population_cap[B] - 1e4
    assert s.population[B] <= s.population_cap[B] * (1 + 1e-9)


# --- receivers: reasons a user can change, in the capital region ----------------------------------------

NAMED = [FUNCTION_TYPE_INDEX[t] for t in ("university", "hospital", "administrative_unit", "financial_institution", "research_institute")]


def _received(model: RegionModel, city: str) -> float:
    s = model.state
    j = s.city_ids.index(city)
    return float(s.fn_units[(s.fn_host == j) & (s.fn_origin != j) & np.isin(s.fn_type, NAMED)].sum())


def _run(until: int = 2028, seeds=(1, 2, 3), **overrides) -> list[RegionModel]:
    return [RegionModel("capital_region", rng=seed, until=until, record_functions=False, **overrides).run() for seed in seeds]


def test_xiongan_receives_named_functions_every_year_from_the_start():
    # to the horizon, five seeds: Xiong'an's built-up land grows (ZONING), so its density cap does not shut it late
    for model in _run(until=2035, seeds=(1, 2, 3, 4, 5)):
        events = model.event_frame()
        moves = events[
            (events.rule == "RELOCATE")
            & (events.kind == "relocation")
            & (events.target == "xiongan")
            & events.function_type.isin([FUNCTION_TYPE_NAMES[t] for t in NAMED])
        ]
        assert set(moves.year.unique()) >= set(range(2024, 2036))


def test_raising_xiongan_incentive_or_role_weight_sends_more_there():
    base = sum(_received(m, "xiongan") for m in _run())
    richer = sum(_received(m, "xiongan") for m in _run(**{"rules.relocate.incentives.xiongan": 4.0}))
    assert richer > base
    # a heavier role weight favours receivers positioned for named functions (Xiong'an is) over those that are not
    role = sum(_received(m, "xiongan") for m in _run(**{"rules.relocate.weight_role": 10.0}))
    no_role = sum(_received(m, "xiongan") for m in _run(**{"rules.relocate.weight_role": 0.0}))
    assert role > no_role


def test_lowering_the_release_schedule_slows_relocation():
    def scheduled(models):
        return sum(float(m.state.schedule["moved"].sum()) for m in models)

    assert scheduled(_run(**{"rules.relocate.release_schedule_scale": 0.5})) < scheduled(_run())
    assert scheduled(_run(**{"rules.relocate.release_schedule_scale": 0.0})) == 0.0


def test_resident_schedule_reaches_the_subcenter():
    model = _run(until=2026, seeds=(1,))[0]
    s = model.state
    sub = s.city_ids.index("bj_subcenter")
    per_year = (7.43 + 37.57) * 1e4 / 12
    # three years of the schedule arrive (the Sub-center has no cap; the inflow limit does not bind), plus staff
    assert s.planned_in_cum[sub] >= 3 * per_year * 0.99
    off = RegionModel("capital_region", rng=1, until=2026, record_functions=False, **{"rules.relocate.resident_schedule_scale": 0.0}).run()
    assert off.state.planned_in_cum[sub] < s.planned_in_cum[sub] - 2 * per_year


def test_a_relocation_event_names_the_runner_up_and_why_it_lost():
    # one university leaves A on the schedule and goes to B (role match); the only other receiver, C, is named
    # with the part of the score in which it trails B most, and a score gap that is positive
    import json

    ctx = three_city_context({"rules.relocate.annual_quota_share": 0.0})
    _schedule(ctx, A, UNIVERSITY, 1.0)
    relocate.apply(ctx)
    events = ctx.events.frame()
    moves = events[events.rule == "RELOCATE"]
    assert len(moves) == 1 and moves.iloc[0].target == ctx.state.city_ids[B]
    detail = json.loads(moves.iloc[0].detail)
    (runner,) = detail["runners_up"]
    assert runner["city"] == ctx.state.city_ids[C]
    assert runner["score_gap"] > 0
    assert any(word in runner["why"] for word in ("fits less", "farther", "less room", "offers less"))
    assert runner["why_zh"] and runner["why_zh"] != runner["why"]
    ctx.params["relocate"]["weight_role"] = 0.0  # without role match, what remains decides: B still wins or C does
    assert relocate.runners_up(ctx, *relocate.group_utilities(ctx, np.flatnonzero(ctx.state.fn_type == UNIVERSITY)[:1]), 0, B)


def test_new_town_land_supply_raises_the_density_cap_by_the_land_built():
    # B (New Town) gets a density cap on built-up land and a stated land-supply pace; hand calculation:
    # share 0.1 of area a, +g km² a year ⇒ cap = density · (0.1 · a + g · supply)
    def cap_after_one_year(supply: float) -> tuple[float, float]:
        ctx = three_city_context({"rules.zoning.new_town_land_supply": supply})
        s = ctx.state
        s.density_cap[B], s.built_up_share[B], s.built_up_growth_km2[B] = 5000.0, 0.1, 4.0
        zoning.apply(ctx)
        return float(s.population_cap[B]), float(s.area_km2[B])

    cap, area = cap_after_one_year(1.0)
    assert cap == pytest.approx(5000.0 * (0.1 * area + 4.0), rel=1e-9)
    doubled, _ = cap_after_one_year(2.0)
    none, _ = cap_after_one_year(0.0)
    assert doubled - none == pytest.approx(2 * (cap - none), rel=1e-9)
    assert none == pytest.approx(5000.0 * 0.1 * area, rel=1e-9)
