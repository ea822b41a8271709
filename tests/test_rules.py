"""Each rule alone, on the hand-made three-city state, against hand-computed expectations."""

from __future__ import annotations

import numpy as np
import pytest
from regionsim.model.rules import (
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
from regionsim.model.sectors import FUNCTION_TYPE_INDEX, SECTOR_INDEX, ZONES

from tests.conftest import three_city_context

A, B, C = 0, 1, 2  # capital, newtown, milltown


# --- RELOCATE ------------------------------------------------------------------------------------


def test_deferred_acceptance_respects_capacity_and_receiver_preference():
    # three movers of 1 unit; receiver 0 has room for one and prefers mover 2; all movers prefer receiver 0
    utility = np.array([[2.0, 1.0], [2.5, 1.0], [3.0, 0.5]])
    match = relocate.deferred_acceptance(utility, np.ones(3), np.array([1.0, 5.0]), np.zeros((3, 2)))
    assert match.tolist() == [1, 1, 0]


def test_deferred_acceptance_leaves_unplaceable_movers_home():
    utility = np.array([[1.0, -np.inf], [1.0, -np.inf]])
    match = relocate.deferred_acceptance(utility, np.array([1.0, 1.0]), np.array([1.0, 0.0]), np.zeros((2, 2)))
    assert sorted(match.tolist()) == [-1, 0]


def test_relocation_moves_negative_list_functions_to_role_matching_receivers():
    ctx = three_city_context(
        {
            "rules.relocate.annual_quota_share": 1.0,
            "rules.relocate.choice_sharpness": 100.0,
            "rules.relocate.receiver_capacity.milltown": 100,
        }
    )
    state = ctx.state
    units_before = state.fn_units.sum()
    relocate.apply(ctx)
    moved = state.fn_year_moved == state.year
    assert moved.any()
    assert state.fn_units.sum() == units_before  # conserved: nothing created or destroyed
    factories = state.fn_type == FUNCTION_TYPE_INDEX["general_manufacturing_plant"]
    universities = state.fn_type == FUNCTION_TYPE_INDEX["university"]
    # factories go to the city positioned for them (Mill Town), universities to New Town
    assert set(state.fn_host[moved & factories].tolist()) == {C}
    assert set(state.fn_host[moved & universities].tolist()) == {B}
    # New Town's capacity (10 units a year) binds
    assert state.fn_units[moved & (state.fn_host == B)].sum() <= 10


def test_relocation_overflow_goes_to_second_choice_when_capacity_binds():
    ctx = three_city_context({"rules.relocate.annual_quota_share": 1.0})  # Mill Town takes 20 units a year
    relocate.apply(ctx)
    state = ctx.state
    moved = state.fn_year_moved == state.year
    assert state.fn_units[moved & (state.fn_host == C)].sum() <= 20
    assert state.fn_units[moved & (state.fn_host == B)].sum() <= 10
    events = ctx.events.frame()
    relocations = events[events.kind == "relocation"]
    assert len(relocations) == int(moved.sum())
    assert relocations.why_en.str.contains("role match").all()


def test_relocation_never_enters_a_zone_that_forbids_the_sector():
    ctx = three_city_context({"rules.relocate.annual_quota_share": 1.0})
    ctx.state.zone[C] = ZONES.index("restricted")  # general manufacturing forbidden there
    relocate.apply(ctx)
    factories = ctx.state.fn_type == FUNCTION_TYPE_INDEX["general_manufacturing_plant"]
    assert not (factories & (ctx.state.fn_host == C)).any()


def test_relocation_opens_tax_contracts_and_followers():
    ctx = three_city_context({"rules.relocate.annual_quota_share": 1.0})
    relocate.apply(ctx)
    moved = ctx.state.fn_year_moved == ctx.state.year
    assert (ctx.state.fn_contract_origin[moved] == A).all()
    expected = 3.0 * ctx.state.fn_tax_history[moved].mean(axis=1)
    np.testing.assert_allclose(ctx.state.fn_contract_cap[moved], expected)
    followers = ctx.params["relocate"]["follow_share"] * ctx.state.fn_jobs[moved].sum()
    assert ctx.state.relocation_followers.sum() == pytest.approx(followers)


def test_quota_share_zero_moves_nothing():
    ctx = three_city_context({"rules.relocate.annual_quota_share": 0.0})
    relocate.apply(ctx)
    assert (ctx.state.fn_year_moved < 0).all()


# --- TAX_SHARE -----------------------------------------------------------------------------------


def test_tax_share_pays_half_until_three_years_of_taxes():
    ctx = three_city_context()
    state, p = ctx.state, ctx.params["tax_share"]
    f = 0
    state.fn_host[f] = C
    state.fn_output[f] = 10.0  # tax = 10 × 0.1 = 1 亿元 a year
    state.fn_tax_history[f] = [1.0, 1.0, 1.0]
    tax_share.open_contracts(state, np.array([f]), np.array([A]), p)
    assert state.fn_contract_cap[f] == pytest.approx(3.0)
    paid = []
    for _ in range(8):
        state.transfers.clear()
        tax_share.apply(ctx)
        net = state.transfers.net("TAX_SHARE")
        paid.append(net[A])
        assert net.sum() == pytest.approx(0.0)
    # 0.5 a year for six years, then the contract is exhausted
    np.testing.assert_allclose(paid, [0.5] * 6 + [0.0, 0.0])
    assert state.fn_contract_origin[f] == -1


def test_tax_share_split_and_cap_are_levers():
    ctx = three_city_context({"rules.tax_share.split_to_origin": 1.0, "rules.tax_share.cap_years": 1.0})
    state = ctx.state
    state.fn_host[0], state.fn_output[0], state.fn_tax_history[0] = C, 10.0, [1.0, 1.0, 1.0]
    tax_share.open_contracts(state, np.array([0]), np.array([A]), ctx.params["tax_share"])
    tax_share.apply(ctx)
    tax_share.apply(ctx)
    assert state.transfers.net("TAX_SHARE")[A] == pytest.approx(1.0)  # capped at one year's tax


def test_tax_share_pair_split_sets_the_split_of_that_pair_only():
    """Two contracts of one year's tax of 1 亿元 each: capital→milltown (east→west) and capital→newtown (east→east).
    A pair split of 0.8 for east→west pays 0.8 on the first; the second keeps split_to_origin, 0.5."""
    ctx = three_city_context({"rules.tax_share.pair_split": [{"origin": "east", "host": "west", "split": 0.8}]})
    state = ctx.state
    for f, host in ((0, C), (1, B)):
        state.fn_host[f], state.fn_output[f], state.fn_tax_history[f] = host, 10.0, [1.0, 1.0, 1.0]
        tax_share.open_contracts(state, np.array([f]), np.array([A]), ctx.params["tax_share"])
    tax_share.apply(ctx)
    rows = dict(zip(zip(state.transfers.payer, state.transfers.payee, strict=True), state.transfers.amount, strict=True))
    assert rows == pytest.approx({(C, A): 0.8, (B, A): 0.5})
    assert state.transfers.net("TAX_SHARE").sum() == pytest.approx(0.0)
    # the cap (three years of pre-move tax) is unchanged: 0.8 a year reaches it in the fourth year
    for _ in range(4):
        state.transfers.clear()
        tax_share.apply(ctx)
    assert state.fn_contract_paid[0] == pytest.approx(3.0) and state.fn_contract_origin[0] == -1
    # a later entry wins; parties may be lists of city ids
    pairs = [{"origin": "east", "host": "west", "split": 0.8}, {"origin": ["capital"], "host": ["milltown"], "split": 0.2}]
    ctx2 = three_city_context({"rules.tax_share.pair_split": pairs})
    s2 = ctx2.state
    s2.fn_host[0], s2.fn_output[0], s2.fn_tax_history[0] = C, 10.0, [1.0, 1.0, 1.0]
    tax_share.open_contracts(s2, np.array([0]), np.array([A]), ctx2.params["tax_share"])
    tax_share.apply(ctx2)
    assert s2.transfers.net("TAX_SHARE")[A] == pytest.approx(0.2)
    assert "20% of the taxes" in ctx2.events.frame().why_en.iloc[-1]


def test_tax_share_pair_split_is_checked():
    from regionsim.model.errors import UserError

    with pytest.raises(UserError, match=r"rules\.tax_share\.pair_split\[0\]\.origin: must be a province id"):
        three_city_context({"rules.tax_share.pair_split": [{"origin": "north", "host": "west", "split": 0.8}]})
    with pytest.raises(UserError, match=r"rules\.tax_share\.pair_split\[0\]\.split: must be a share from 0 to 1, not 1\.5"):
        three_city_context({"rules.tax_share.pair_split": [{"origin": "east", "host": "west", "split": 1.5}]})


# --- TRANSFER ------------------------------------------------------------------------------------


def test_transfer_conserves_output_and_runs_down_the_cost_gradient():
    ctx = three_city_context({"rules.transfer.elasticity": 0.5})
    state = ctx.state
    s = SECTOR_INDEX["general_manufacturing"]
    before = state.base_output[:, s].copy()
    flow, sectors = transfer.flows(ctx)
    k = sectors.index(s)
    # flows only from dearer to cheaper cities
    cost = state.cost_index
    for i in range(3):
        for j in range(3):
            if flow[i, j, k] > 0:
                assert cost[i] > cost[j]
    transfer.apply(ctx)
    assert state.base_output[:, s].sum() == pytest.approx(before.sum())
    assert state.base_output[A, s] < before[A]
    # no city loses more than max_share of a sector in a year
    assert (before - state.base_output[:, s] <= ctx.params["transfer"]["max_share"] * before + 1e-9).all()


def test_transfer_blocked_by_zoning():
    ctx = three_city_context({"rules.transfer.elasticity": 0.5})
    ctx.state.zone[:] = ZONES.index("restricted")  # general manufacturing forbidden everywhere
    flow, sectors = transfer.flows(ctx)
    assert flow[:, :, sectors.index(SECTOR_INDEX["general_manufacturing"])].sum() == 0.0


# --- ZONING --------------------------------------------------------------------------------------


def test_zoning_cuts_land_and_phases_out_negative_list_sectors():
    ctx = three_city_context({"rules.zoning.construction_land_cut": 0.1, "rules.zoning.phase_out_rate": 0.5})
    state = ctx.state
    state.zone[C] = ZONES.index("restricted")
    heavy = SECTOR_INDEX["heavy_industry"]
    before = state.base_output[C, heavy]
    zoning.apply(ctx)
    assert state.land_index[A] == pytest.approx(0.9)  # the capital is an optimised zone
    assert state.land_index[B] == pytest.approx(1.0)
    assert state.base_output[C, heavy] == pytest.approx(0.5 * before)
    # optimised zones develop by reduction: population cap = base population
    assert state.population_cap[A] == pytest.approx(state.initial_population[A])


# --- GROWTH --------------------------------------------------------------------------------------


def test_growth_rate_matches_formula():
    ctx = three_city_context({"rules.growth.agglomeration": 0.0, "rules.growth.spillover": 0.0, "rules.growth.convergence": 0.0})
    state = ctx.state
    before = state.base_output.copy()
    growth.apply(ctx)
    np.testing.assert_allclose(state.base_output, before * (1 + state.output_growth[None, :]))


def test_growth_spillover_favours_cities_near_research():
    ctx = three_city_context({"rules.growth.agglomeration": 0.0, "rules.growth.spillover": 0.1, "rules.growth.convergence": 0.0})
    rate = growth.rates(ctx)
    s = SECTOR_INDEX["advanced_manufacturing"]
    base = ctx.state.output_growth[s]
    # B is 40 min from the research-rich capital, C 60 min: both gain, B more
    assert rate[B, s] > rate[C, s] > base


# --- MIGRATE -------------------------------------------------------------------------------------


def test_migration_identity_and_no_flows_at_base_year_equilibrium():
    ctx = three_city_context()
    state = ctx.state
    pop = state.population.copy()
    migrate.apply(ctx)
    assert state.migration_in.sum() == pytest.approx(0.0)  # calibrated: base year is an equilibrium
    np.testing.assert_allclose(state.population, pop + state.natural_change + state.migration_in - state.migration_out)


def test_migration_follows_jobs_and_respects_caps():
    ctx = three_city_context({"rules.migrate.migration_rate": 0.5})
    state = ctx.state
    state.base_output[B] *= 3.0  # New Town booms
    pop = state.population.copy()
    migrate.apply(ctx)
    assert state.migration_in[B] > 0
    assert state.population.sum() == pytest.approx(pop.sum() + state.natural_change.sum())
    assert state.population[B] <= state.population_cap[B] + 1e-6


def test_followers_move_with_their_units():
    ctx = three_city_context()
    ctx.state.relocation_followers[A, C] = 5000.0
    migrate.apply(ctx)
    assert ctx.state.migration_out[A] == pytest.approx(5000.0)
    assert ctx.state.migration_in[C] == pytest.approx(5000.0)


# --- AIR and JOINT_CONTROL -----------------------------------------------------------------------


def test_air_calibration_reproduces_base_year_pm25():
    ctx = three_city_context()
    state = ctx.state
    np.testing.assert_allclose(air.concentration(state, ctx.params["air"], state.emissions), [40.0, 35.0, 50.0])


def test_air_downwind_receives_more():
    ctx = three_city_context({"rules.air.wind_skew": 0.9, "rules.air.wind_toward_deg": 90.0})  # wind blows east
    sr = ctx.state.source_receptor
    # Mill Town (west) → Capital (east) is downwind; the reverse is upwind
    assert sr[A, C] > sr[C, A]


def test_air_more_emissions_more_pm25_and_abatement_cuts_it():
    ctx = three_city_context()
    state = ctx.state
    air.apply(ctx)
    base_pm = state.pm25.copy()
    state.base_output[C] *= 2.0
    air.apply(ctx)
    assert state.pm25[C] > base_pm[C] and state.pm25[A] > base_pm[A]
    state.province_abatement_goal[:] = 0.5
    air.apply(ctx)
    assert state.abatement_cost.sum() > 0


def test_policy_raises_abatement_when_above_target():
    ctx = three_city_context()
    state = ctx.state
    policy.apply(ctx)
    response, relax = ctx.params["policy"]["abatement_response"], ctx.params["policy"]["abatement_relax"]
    pop = state.population
    for prov in range(state.n_provinces):
        members = state.city_province == prov
        pm = (pop[members] * state.pm25[members]).sum() / pop[members].sum()
        expected = max(0.0, response * max(0.0, pm / 35.0 - 1.0) - relax * max(0.0, 1 - pm / 35.0))
        assert state.province_abatement_goal[prov] == pytest.approx(min(expected, 0.7))


def test_joint_control_payments_cross_borders_and_sum_to_zero():
    ctx = three_city_context()
    state = ctx.state
    joint_control.coordinate(ctx)
    assert state.jc_abatement.max() > 0
    air.apply(ctx)
    joint_control.pay(ctx)
    net = state.transfers.net("JOINT_CONTROL")
    assert net.sum() == pytest.approx(0.0, abs=1e-12)
    for payer, payee in zip(state.transfers.payer, state.transfers.payee, strict=True):
        assert state.city_province[payer] != state.city_province[payee]
    # each abating city j receives payment_rate × its abatement cost × the share of its
    # benefit that falls on other provinces
    b = joint_control.benefit(state)
    np.fill_diagonal(b, 0.0)
    cost = state.abatement_cost
    rate = ctx.params["joint_control"]["payment_rate"]
    for j in range(3):
        other = state.city_province != state.city_province[j]
        expected = rate * cost[j] * b[other, j].sum() / b[:, j].sum()
        received = sum(x for x, q in zip(state.transfers.amount, state.transfers.payee, strict=True) if q == j)
        assert received == pytest.approx(expected)


def test_joint_control_off_means_no_coordination():
    ctx = three_city_context({"rules.joint_control.enabled": False})
    ctx.state.jc_abatement[:] = 0.3
    joint_control.coordinate(ctx)
    joint_control.pay(ctx)
    assert ctx.state.jc_abatement.sum() == 0.0
    assert ctx.state.transfers.total() == 0.0


# --- ECO_COMP, FUND, ENERGY, SERVICES --------------------------------------------------------------


def test_eco_comp_pays_water_source_by_area_and_foregone_output():
    ctx = three_city_context(
        {"rules.eco_comp.restriction_rate": 0.5, "rules.eco_comp.compensation_share": 0.2, "rules.eco_comp.payment_10k_yuan_per_km2": 10.0}
    )
    state = ctx.state
    state.water_source[C] = True
    restricted = [SECTOR_INDEX[s] for s in ("energy", "heavy_industry", "general_manufacturing")]
    cut = 0.5 * state.base_output[C, restricted].sum()
    eco_comp.apply(ctx)
    owed = 10.0 * state.area_km2[C] * 1e-4 + 0.2 * cut
    net = state.transfers.net("ECO_COMP")
    assert net[C] == pytest.approx(owed)
    # payers: the non-water-source cities of province "east", by population
    pop = state.population[[A, B]]
    np.testing.assert_allclose(-net[[A, B]], owed * pop / pop.sum())


def test_eco_comp_agreed_payments_go_from_the_payer_to_its_water_source_cities_on_top_of_the_rates():
    """With the rates at 0, only the agreement pays: west (milltown, made a water source here) receives 3 亿元 from
    east's cities, in proportion to their population; a second agreement by city list adds 1 亿元 from newtown alone."""
    ctx = three_city_context(
        {
            "rules.eco_comp.payment_10k_yuan_per_km2": 0.0,
            "rules.eco_comp.compensation_share": 0.0,
            "rules.eco_comp.agreed_payments": [
                {"payer": "east", "recipient": "west", "amount": 3.0},
                {"payer": ["newtown"], "recipient": ["milltown"], "amount": 1.0},
            ],
            "cities.milltown.water_source": True,
        }
    )
    state = ctx.state
    eco_comp.apply(ctx)
    net = state.transfers.net("ECO_COMP")
    pop = state.population[[A, B]]
    assert net[C] == pytest.approx(4.0)
    np.testing.assert_allclose(-net[[A, B]], 3.0 * pop / pop.sum() + [0.0, 1.0])
    assert net.sum() == pytest.approx(0.0)
    events = ctx.events.frame().query("kind == 'agreed_payment'")
    assert list(events.source) == ["east", "newtown"] and list(events.target) == ["west", "milltown"]
    assert list(events.amount) == [3.0, 1.0] and "as agreed" in events.why_en.iloc[0]


def test_eco_comp_agreed_payments_are_checked():
    from regionsim.model.errors import UserError

    with pytest.raises(UserError, match=r"agreed_payments\[0\]\.recipient: holds no water-source city"):
        three_city_context({"rules.eco_comp.agreed_payments": [{"payer": "east", "recipient": "east", "amount": 1.0}]})
    with pytest.raises(UserError, match=r"agreed_payments\[0\]\.amount: must be a number"):
        bad = [{"payer": "east", "recipient": "west", "amount": -1.0}]
        three_city_context({"rules.eco_comp.agreed_payments": bad, "cities.milltown.water_source": True})


def test_fund_balance_equals_contributions_minus_spending():
    ctx = three_city_context({"rules.fund.spend_rate": 0.5})
    state = ctx.state
    fund.apply(ctx)
    net = state.transfers.net("FUND")
    assert net.sum() == pytest.approx(0.0, abs=1e-9)
    assert net[state.n_cities] == pytest.approx(state.fund_balance)
    assert state.fund_balance > 0


def test_energy_flows_never_exceed_deficits_and_are_paid_for():
    ctx = three_city_context({"rules.air.coal_cap_factor": 10.0})
    state = ctx.state
    state.base_output[C, SECTOR_INDEX["energy"]] *= 5.0  # Mill Town becomes an exporter
    state.base_output[A, SECTOR_INDEX["energy"]] = 0.0  # and the capital imports
    air.apply(ctx)
    flow = energy.trade(state, ctx.params["energy"])
    output = state.output()
    deficit = np.maximum(output @ state.energy_coeff - output[:, SECTOR_INDEX["energy"]], 0)
    assert (flow.sum(axis=0) <= deficit + 1e-9).all()
    assert flow[C, A] > 0
    energy.apply(ctx)
    assert state.transfers.net("ENERGY")[C] == pytest.approx(flow[C].sum())
    assert state.transfers.net("ENERGY").sum() == pytest.approx(0.0, abs=1e-9)
    # consumption-based CO2 moves the exported energy's CO2 from Mill Town to the capital
    assert state.co2_consumption[C] < state.emissions[C, 3]
    assert state.co2_consumption.sum() == pytest.approx(state.emissions[:, 3].sum())


def test_services_follow_schools_and_hospitals_after_the_lag():
    ctx = three_city_context({"rules.services.lag_years": 2, "rules.services.fiscal_strength": 0.0})
    state = ctx.state
    universities = np.nonzero(state.fn_type == FUNCTION_TYPE_INDEX["university"])[0]
    state.fn_host[universities] = B
    state.fn_year_moved[universities] = state.year
    services.apply(ctx)
    assert state.service_level[B] == pytest.approx(state.service_base[B])  # still being built
    assert state.service_level[A] < state.service_base[A]  # the capital lost them at once
    state.year += 2
    services.apply(ctx)
    assert state.service_level[B] > state.service_base[B]
