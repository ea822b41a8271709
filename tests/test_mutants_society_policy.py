"""Edge cases of GROWTH, MIGRATE and POLICY on the three-city fixture: a tiny region's crowding reference, a labour
limit met exactly, the migration draw of cities and commuting circles under one resident, planned moves on entries
that were empty before the caps, and which abatement events a province's own commitment produces when the floor
equals, holds or barely moves its goal. Every expected value is worked out in the comment beside it.
"""

from __future__ import annotations

import numpy as np
import pytest
from regionsim.model.rules import growth, migrate, policy

from tests.conftest import three_city_context

A, B, C = 0, 1, 2  # capital, New Town (both in the east province), Mill Town (west)
EAST, WEST = 0, 1


def _abatement_events(ctx):
    frame = ctx.events.frame()
    return frame[(frame.rule == "POLICY") & (frame.unit == "abatement share")]


# --- GROWTH ------------------------------------------------------------------------------------------------


def test_cost_index_of_a_region_of_one_and_a_half_residents_is_unchanged_at_its_base_year_size():
    # kills growth.cost_indices _37 (the region's base-year residents floored at 2 instead of 1)
    ctx = three_city_context({"rules.growth.cost_income_elasticity": 0.0, "rules.growth.cost_density_elasticity": 1.0})
    s, p = ctx.state, ctx.params["growth"]
    s.initial_population = np.array([1.5, 0.0, 0.0])  # the whole region: 1.5 residents, all in the capital
    s.population = s.initial_population.copy()
    cost = growth.cost_indices(s, p)
    # capital crowding 1.5 / max(1.5, 1) = 1; region crowding 1.5 / max(1.5, 1) = 1: cost_A = cost_A0 · (1/1)^1
    # (with a floor of 2 the region would read 1.5/2 = 0.75 and the capital grow dearer, ×1/0.75)
    assert cost[A] == pytest.approx(s.cost_index0[A])
    # the empty cities: crowding 0 / 1 = 0, floored at 1e-6
    np.testing.assert_allclose(cost[[B, C]], s.cost_index0[[B, C]] * 1e-6)


def test_labour_limit_met_exactly_leaves_the_rates_untouched():
    # kills growth.labour_limited _31 (`now + extra < limit`: a need that exactly fills the limit is rescaled)
    ctx = three_city_context({"rules.growth.productivity_growth": 0.0, "rules.growth.convergence": 0.0})
    s = ctx.state
    s.productivity = np.full(s.productivity.shape, 1e4)  # base jobs = output · 1e4 / 1e4 = output: whole numbers
    s.base_output = np.ones_like(s.base_output)  # 3 cities × 15 sectors = 45 jobs
    s.fn_jobs = np.ones_like(s.fn_jobs)  # one job per hosted unit
    now = 45.0 + s.n_functions
    rate = np.full_like(s.base_output, 0.5)  # g = 0: every job grows by half, extra = now / 2
    s.jobs_per_resident0 = 1.0
    s.population = np.array([1.5 * now, 0.0, 0.0])
    ctx.params["growth"]["max_jobs_per_worker"] = 1.0  # limit = 1 · 1 · 1.5 · now = now + extra, exactly
    limited, k = growth.labour_limited(ctx, rate)
    assert k == 1.0
    assert limited is rate  # room for exactly the extra jobs: the rates are handed back as they are


# --- MIGRATE -----------------------------------------------------------------------------------------------


def _draw_of_one(weight: str, **overrides) -> dict:
    """Migration overrides with every attractiveness weight 0 but `weight` (1), uncalibrated (the raw draw)."""
    weights = {w: 0.0 for w in ("weight_jobs", "weight_services", "weight_income", "weight_cost")} | {weight: 1.0}
    return {f"rules.migrate.{k}": v for k, v in (weights | {"calibrate_to_base_year": False} | overrides).items()}


def test_job_access_of_commuting_circles_under_one_resident_divides_by_their_residents():
    # kills migrate.raw_attractiveness _17 (the circle's residents floored at 1.000000001 instead of 1e-9)
    ctx = three_city_context(_draw_of_one("weight_jobs"))
    s, p = ctx.state, ctx.params["migrate"]
    s.population = np.array([0.2, 0.2, 0.1])
    jobs = s.jobs().sum(axis=1)
    raw = migrate.raw_attractiveness(s, p)
    # the 60-minute band: A reaches A, B (40), C (60); B reaches A, B (C is 100 away); C reaches A, C
    # access = jobs in the circle / residents in the circle: A (jA+jB+jC)/0.5, B (jA+jB)/0.4, C (jA+jC)/0.3
    expected = np.log([jobs.sum() / 0.5, (jobs[A] + jobs[B]) / 0.4, (jobs[A] + jobs[C]) / 0.3])
    np.testing.assert_allclose(raw, expected)


def test_income_draw_of_a_region_of_one_and_a_half_residents_is_against_its_mean_per_resident():
    # kills migrate.raw_attractiveness _31 (the region's residents floored at 2 instead of 1)
    ctx = three_city_context(_draw_of_one("weight_income"))
    s, p = ctx.state, ctx.params["migrate"]
    s.population = np.array([0.6, 0.5, 0.4])  # 1.5 residents in all
    gdp = s.gdp()
    raw = migrate.raw_attractiveness(s, p)
    # each city's GDP per resident: GDP / max(pop, 1) = GDP; the region's mean: ΣGDP / 1.5 → ln(1.5 · GDP_c / ΣGDP)
    np.testing.assert_allclose(raw, np.log(1.5 * gdp / gdp.sum()))


def test_planned_moves_on_an_entry_empty_before_the_caps_count_nothing():
    # kills migrate._count_planned_moves _15 and _19 (no zeroed output: the entries with nothing before the caps
    # are left as whatever memory the division got, and that is counted as moved)
    ctx = three_city_context()
    s = ctx.state
    s.relocation_followers[A, B] = 1e3
    s.relocation_followers[C, C] = 700.0  # staff "following" their unit within their own city
    s.followers_at = np.array([A * 3 + B, C * 3 + C])
    m = np.zeros((3, 3))
    m[A, B] = 500.0  # half of A → B's 1,000 planned got through the caps
    s.planned_pre = np.array([1e3, 0.0])  # the diagonal entry was zero before the caps
    junk = [np.full(2, 1e9) for _ in range(8)]  # fill numpy's small-buffer cache with nonzero memory, so an
    del junk  # output that is not zeroed shows up (the next small arrays reuse these buffers)
    migrate._count_planned_moves(s, m)
    # A → B: 1,000 · 500 / 1,000 = 500 through; C → C: nothing before the caps, nothing through
    np.testing.assert_array_equal(s.planned_out_cum, [500.0, 0.0, 0.0])
    np.testing.assert_array_equal(s.planned_in_cum, [0.0, 500.0, 0.0])
    assert s.planned_pre is None


def test_followers_within_their_own_city_are_not_counted_as_moved():
    # the same through a whole MIGRATE step: the diagonal is cleared, so C's 700 never move
    ctx = three_city_context({"rules.migrate.migration_rate": 0.0})
    s = ctx.state
    s.relocation_followers[A, B] = 1e3
    s.relocation_followers[C, C] = 700.0
    s.followers_at = np.array([A * 3 + B, C * 3 + C])
    pop = s.population.copy()
    migrate.apply(ctx)
    # no attractiveness-driven moves (rate 0); A → B's 1,000 are 0.1% of New Town's 100万, within every share and cap
    np.testing.assert_allclose(s.planned_out_cum, [1e3, 0.0, 0.0])
    np.testing.assert_allclose(s.planned_in_cum, [0.0, 1e3, 0.0])
    np.testing.assert_allclose(s.population, pop + np.array([-1e3, 1e3, 0.0]))


# --- POLICY ------------------------------------------------------------------------------------------------


def _policy_context(**levers):
    ctx = three_city_context({f"rules.policy.{k}": v for k, v in levers.items()})
    ctx.state.pm25_target = np.array([35.0, 40.0])
    return ctx


def test_a_floor_equal_to_the_capped_goal_is_not_the_province_holding_its_commitment():
    # kills policy.apply _73 (`floor >= goal`: the air-quality raise would be told as the province's own commitment)
    ctx = _policy_context(abatement_response=1.0, abatement_relax=0.0, max_abatement=0.6)
    s = ctx.state
    ctx.params["policy"]["abatement_floor"] = {"east": 0.9}  # held at max_abatement: floor 0.6
    s.pm25 = np.array([70.0, 70.0, 40.0])  # east at 70/35 = 2: goal 0.3 + 1 · (2 − 1) = 1.3 → clipped to 0.6
    s.province_abatement_goal = np.array([0.3, 0.2])
    policy.apply(ctx)
    assert s.province_abatement_goal[EAST] == pytest.approx(0.6)
    events = _abatement_events(ctx)
    assert list(events.source) == ["east"]  # west at its target: unchanged, not logged
    # the goal reached 0.6 from the PM2.5 response; the floor (also 0.6) did not lift it: a raise, clause L42
    assert "L42" in events.clause.iloc[0]
    assert events.why_en.iloc[0].startswith("East Province raises end-of-pipe abatement to 60%")


def test_a_commitment_that_keeps_the_goal_where_it_was_is_not_logged():
    # kills policy.apply _114 (|goal + before| ≥ 0.005 instead of |goal − before|: a held goal logged every year)
    ctx = _policy_context(abatement_response=0.4, abatement_relax=0.2, max_abatement=0.6)
    s = ctx.state
    ctx.params["policy"]["abatement_floor"] = {"east": 0.5}
    s.pm25 = np.array([28.0, 28.0, 40.0])  # east below its target: would relax 0.5 → 0.5 − 0.2 · 0.2 = 0.46
    s.province_abatement_goal = np.array([0.5, 0.2])
    policy.apply(ctx)
    # the commitment holds east at 0.5 (0.5 > 0.46): no change from last year, so nothing to report
    np.testing.assert_allclose(s.province_abatement_goal, [0.5, 0.2])
    assert len(_abatement_events(ctx)) == 0


def test_a_commitment_that_lifts_the_goal_by_exactly_half_a_point_is_logged():
    # kills policy.apply _115 (`> 0.005`: a move of exactly half a point would go unreported)
    ctx = _policy_context(abatement_response=0.0, abatement_relax=0.0)
    s = ctx.state
    ctx.params["policy"]["abatement_floor"] = {"east": 0.005}
    s.province_abatement_goal = np.zeros(2)
    policy.apply(ctx)
    # no response either way: goals stay 0; east's floor lifts it to 0.005, |0.005 − 0| = 0.005 ≥ 0.005: logged
    np.testing.assert_array_equal(s.province_abatement_goal, [0.005, 0.0])
    events = _abatement_events(ctx)
    assert list(events.source) == ["east"]
    assert events.amount.iloc[0] == 0.005
    assert "L802" in events.clause.iloc[0]
    assert events.why_en.iloc[0].startswith("East Province holds end-of-pipe abatement at its own commitment")
