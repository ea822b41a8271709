"""What each rule does, in both directions and in size, on the hand-made three-city state.

These tests were written against the mutation campaign (`make mutants`, docs/TESTING.md): each checks a
documented equation or direction with a hand-calculated expectation — a weight that rewards something moves
functions toward it, a rate doubled doubles what it drives, money flows from the party the plans name — so a
bug of sign, size or direction in a rule fails here, not only in a snapshot. A = capital (East), B = New Town
(East), C = Mill Town (West).
"""

from __future__ import annotations

import numpy as np
import pytest
from regionsim.model.rules import air, energy
from regionsim.model.sectors import POLLUTANT_INDEX, SECTOR_INDEX

from tests.conftest import three_city_context

A, B, C = 0, 1, 2
ENERGY = SECTOR_INDEX["energy"]
CO2 = POLLUTANT_INDEX["co2"]


# --- ENERGY ------------------------------------------------------------------------------------------------


def _energy_ctx(scale: float = 1.0, **overrides):
    """C exports (five times its energy output); A keeps a fifth of its own, so it is an importer that
    still produces some energy. `scale` shrinks the whole economy (a small region: flows under 1亿元)."""
    ctx = three_city_context({"rules.air.coal_cap_factor": 10.0, **overrides})
    s = ctx.state
    s.base_output *= scale
    s.fn_output *= scale
    s.base_output[C, ENERGY] *= 5.0
    s.base_output[A, ENERGY] *= 0.2
    air.apply(ctx)
    return ctx


def test_energy_kernel_is_the_documented_decay_with_a_zero_diagonal():
    s = three_city_context().state
    k, row_max = energy.kernel(s, 300.0)
    expected = np.exp(-s.distance_km / 300.0)
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(k, expected)
    np.testing.assert_allclose(row_max, expected.max(axis=1))
    assert k[C, B] > k[C, A] if s.distance_km[C, B] < s.distance_km[C, A] else k[C, A] > k[C, B]


@pytest.mark.parametrize("scale", [1.0, 1e-4])
def test_only_cities_with_a_surplus_export_and_only_named_bases_when_named(scale):
    ctx = _energy_ctx(scale)
    s, p = ctx.state, ctx.params["energy"]
    output = s.output()
    surplus = output[:, ENERGY] - output @ s.energy_coeff
    assert surplus[A] < 0 < surplus[C]
    flow = energy.trade(s, p)
    assert flow[A].sum() == 0.0  # an importer that still produces energy sells none
    assert flow[C].sum() > 0.0
    # exportable = min(surplus, export_share_max · energy output): the cap binds at a small share
    capped = energy.trade(s, {**p, "export_share_max": 0.01})
    assert capped[C].sum() == pytest.approx(0.01 * output[C, ENERGY], rel=1e-9)
    # named bases: a surplus city not on the list exports nothing
    named = energy.trade(s, {**p, "exporters": ["newtown"]})
    assert named[C].sum() == 0.0


def test_importers_pay_exporters_the_price_of_the_flow():
    ctx = _energy_ctx(**{"rules.energy.price_factor": 2.0})
    s, p = ctx.state, ctx.params["energy"]
    flow = energy.trade(s, p)
    energy.apply(ctx)
    net = s.transfers.net("ENERGY")
    # each city receives price × what it sells and pays price × what it buys
    np.testing.assert_allclose(net[: s.n_cities], 2.0 * (flow.sum(axis=1) - flow.sum(axis=0)), rtol=1e-9, atol=1e-12)
    assert net[C] > 0 > net[A]


@pytest.mark.parametrize("scale", [1.0, 1e-4])
def test_consumption_co2_moves_the_exported_energys_co2_at_the_exporters_rate(scale):
    """consumption CO2_c = production CO2_c − exported_c · CO2 per unit of energy_c + imported CO2_c, where the
    exporter's CO2 per unit counts its base energy output and its hosted energy functions alike."""
    ctx = _energy_ctx(scale)
    s, p = ctx.state, ctx.params["energy"]
    # give Mill Town a hosted energy plant, so the per-unit rate must count functions too
    s.fn_sector[0], s.fn_host[0], s.fn_output[0] = ENERGY, C, 50.0 * scale
    flow = energy.trade(s, p)
    output = s.output()
    energy_co2 = s.base_output[:, ENERGY] * s.intensity[ENERGY, CO2] + np.bincount(
        [C], weights=[50.0 * scale * s.intensity[ENERGY, CO2]], minlength=s.n_cities
    )
    per_unit = energy_co2 / np.maximum(output[:, ENERGY], 1e-12)
    energy.apply(ctx)
    exported, imported = flow.sum(axis=1), flow.T @ per_unit
    expected = s.emissions[:, CO2] - exported * per_unit + imported
    np.testing.assert_allclose(s.co2_consumption, expected, rtol=1e-9)


# --- TRANSFER ----------------------------------------------------------------------------------------------


def _transfer_ctx(**overrides):
    ctx = three_city_context({"rules.transfer.enabled": True, "rules.transfer.corridor_bonus": 0.5, **overrides})
    ctx.state.cost_index[:] = [2.0, 1.5, 1.0]  # A dearest, C cheapest: output drains A → B, C and B → C
    return ctx


def _expected_transfer_kernel(s, decay: float, bonus: float) -> np.ndarray:
    """S_ij = exp(−minutes_ij / decay) · (1 + bonus · corridor_ij) · max(0, cost_i − cost_j) / cost_i, zero diagonal."""
    corridor = np.zeros((s.n_cities, s.n_cities))
    corridor[s.link_from[s.link_corridor], s.link_to[s.link_corridor]] = 1.0
    corridor = np.maximum(corridor, corridor.T)
    gap = np.maximum(0.0, s.cost_index[:, None] - s.cost_index[None, :]) / s.cost_index[:, None]
    k = np.exp(-s.travel_minutes / decay) * (1.0 + bonus * corridor) * gap
    np.fill_diagonal(k, 0.0)
    return k


def test_transfer_kernel_is_the_documented_form_and_patches_like_a_rebuild():
    from regionsim.model.rules import transfer

    ctx = _transfer_ctx()
    s, p = ctx.state, ctx.params["transfer"]
    assert s.link_corridor.any()  # A–C is a corridor in the fixture
    k, row_max = transfer.kernel(ctx)
    expected = _expected_transfer_kernel(s, float(p["decay_minutes"]), 0.5)
    np.testing.assert_allclose(k, expected, rtol=1e-12)
    np.testing.assert_allclose(row_max, expected.max(axis=1))
    # a link opens: the A → C time halves; the cached kernel is patched in place and must equal a rebuild
    old = s.travel_minutes
    new = old.copy()
    new[A, C] *= 0.5
    s.travel_change, s.travel_minutes = (old, new, {}), new
    patched = transfer.kernel(ctx)[0].copy()
    np.testing.assert_allclose(patched, _expected_transfer_kernel(s, float(p["decay_minutes"]), 0.5), rtol=1e-12)
    s.derived_cache.clear()
    np.testing.assert_allclose(patched, transfer.kernel(ctx)[0], rtol=1e-12)


def test_transfer_events_run_from_the_dearer_to_the_cheaper_city_and_name_the_sector():
    from regionsim.model.rules import transfer

    ctx = _transfer_ctx(**{"rules.transfer.event_threshold_100m_yuan": 0.01, "rules.transfer.elasticity": 0.5})
    s = ctx.state
    flows, sectors = transfer.flows(ctx)
    transfer.apply(ctx)
    events = ctx.events.frame()
    rows = events[events.rule == "TRANSFER"]
    assert len(rows) > 0
    ids = list(s.city_ids)
    labels = {SECTOR_INDEX["heavy_industry"]: "heavy industry", SECTOR_INDEX["general_manufacturing"]: "general manufacturing"}
    for source, target, amount, why in zip(rows.source, rows.target, rows.amount, rows.why_en, strict=True):
        i, j = ids.index(source), ids.index(target)
        assert s.cost_index[i] > s.cost_index[j]  # output drains down the cost gradient
        k = int(np.argmin(np.abs(flows[i, j] - amount)))
        assert flows[i, j, k] == pytest.approx(amount, rel=1e-9)
        assert labels[sectors[k]] in why, why  # the sentence names the sector that moved


def test_transfer_share_is_elasticity_times_reach_up_to_the_cap():
    """share_i = min(max_share, elasticity · Σ_j w_ij); output leaving i = base_output_is · share_i, conserved."""
    from regionsim.model.rules import transfer

    def leaving(**levers):
        ctx = _transfer_ctx(**{"rules.transfer.max_share": 0.5, **levers})
        s = ctx.state
        coef, s_matrix, col, sectors = transfer.factors(ctx)
        total = s_matrix @ col
        before = s.base_output.copy()
        transfer.apply(ctx)
        share = np.minimum(ctx.params["transfer"]["max_share"], ctx.params["transfer"]["elasticity"] * total)
        np.testing.assert_allclose((before - s.base_output)[A, sectors], before[A, sectors] * share[A], rtol=1e-9)
        assert s.base_output.sum() == pytest.approx(before.sum(), rel=1e-12)  # conserved
        others = [k for k in range(s.base_output.shape[1]) if k not in sectors]
        np.testing.assert_array_equal(s.base_output[:, others], before[:, others])  # other sectors untouched
        return (before - s.base_output)[A, sectors].sum()

    small = leaving(**{"rules.transfer.elasticity": 0.01})
    assert leaving(**{"rules.transfer.elasticity": 0.02}) == pytest.approx(2 * small, rel=1e-9)
    capped = leaving(**{"rules.transfer.elasticity": 1.0, "rules.transfer.max_share": 0.05})
    base = _transfer_ctx().state.base_output
    sectors = [SECTOR_INDEX[x] for x in ("heavy_industry", "general_manufacturing")]
    assert capped == pytest.approx(0.05 * base[A, sectors].sum(), rel=1e-9)


# --- MIGRATE: the caps' fallback ---------------------------------------------------------------------------


def test_capped_cities_trading_residents_end_within_their_caps_net_of_natural_change():
    """Two cities at their caps trade residents and both grow naturally: whatever the rounds do, arrivals never fill
    more than the room left under the cap after natural change and departures (a cap limits inflow; natural change
    itself is not capped)."""
    from regionsim.model.rules import migrate

    from tests.test_behaviour_society import _better_services_in_b

    ctx = _better_services_in_b(max_inflow_share=0.5, max_outflow_share=0.5)
    s = ctx.state
    s.population_cap = np.array([s.population[A], s.population[B], np.inf])
    s.relocation_followers[B, A] = 5e3
    s.followers_at = np.array([B * s.n_cities + A])
    natural = np.array([300.0, 300.0, 0.0])
    m, inflow, outflow = migrate._flows(ctx, natural)
    room = np.maximum(0.0, s.population_cap - (s.population + natural - outflow))
    assert (inflow[[A, B]] <= room[[A, B]] + 1e-6).all(), inflow[[A, B]] - room[[A, B]]
    np.testing.assert_allclose(inflow, m.sum(axis=0))
    np.testing.assert_allclose(outflow, m.sum(axis=1))


# --- ENERGY: demand coefficients -----------------------------------------------------------------------------


def test_energy_demand_coefficients_follow_each_sectors_co2_intensity():
    """r_s ∝ the sector's CO2 intensity (non-energy sectors; a tiny floor for the cleanest), scaled so base-year demand
    equals energy output."""
    s = three_city_context().state
    energy.initialise(s, {})
    co2 = s.base_intensity[:, CO2].copy()
    co2[ENERGY] = 0.0
    floor = 1e-6 * co2.max()
    expected = np.maximum(co2, floor)
    expected[ENERGY] = 0.0
    expected *= s.output()[:, ENERGY].sum() / (s.output() @ expected).sum()
    np.testing.assert_allclose(s.energy_coeff, expected, rtol=1e-12)
    heavy, services = SECTOR_INDEX["heavy_industry"], SECTOR_INDEX["finance_business"]
    assert s.energy_coeff[heavy] / s.energy_coeff[services] == pytest.approx(co2[heavy] / co2[services])
