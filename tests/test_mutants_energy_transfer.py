"""Behaviour tests for ENERGY (who may export, the reach floor of the trade's factors, the CO2 of near-zero energy
output, the delivery sentences, the demand coefficients set at initialisation) and TRANSFER (the kernel's patch
and rebuild, conservation when every pull rounds to zero, the Chinese event sentence), on hand-made three-city
states with hand-calculated expectations.

A = Capital 0, B = New Town 1, C = Mill Town 2 (tests/fixtures/three_cities.toml). The ENERGY states are built by
hand: no hosted output unless a test adds it, energy output E_c in the energy sector, and demand put in one sector
(other services) whose energy-use coefficient is 1, so demand_c = use_c and surplus_c = E_c − use_c exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from regionsim.model.rules import energy, transfer
from regionsim.model.sectors import POLLUTANT_INDEX, SECTOR_INDEX

from tests.conftest import three_city_context

A, B, C = 0, 1, 2
ENERGY, OTHER = SECTOR_INDEX["energy"], SECTOR_INDEX["other_services"]
GENERAL = SECTOR_INDEX["general_manufacturing"]
CO2 = POLLUTANT_INDEX["co2"]


def _events(ctx, rule: str):
    frame = ctx.events.frame()
    return frame[frame.rule == rule].reset_index(drop=True)


def _one_event(ctx, rule: str, source: str, target: str, amount: float):
    """The rule's only event, checked to go from `source` to `target` with `amount`; its row."""
    rows = _events(ctx, rule)
    assert len(rows) == 1
    assert (rows.source[0], rows.target[0]) == (source, target)
    assert rows.amount[0] == pytest.approx(amount, rel=1e-12)
    return rows.iloc[0]


# =====================================================================================================
# ENERGY
# =====================================================================================================


def _energy_ctx(energy_out, use, km, **levers):
    """Energy output E_c and use (= demand) per city, and the distances (km) between them; production CO2 in
    `emissions` is output × intensity, as AIR computes it."""
    ctx = three_city_context({f"rules.energy.{k}": v for k, v in levers.items()})
    s = ctx.state
    s.fn_output[:] = 0.0
    s.base_output[:] = 0.0
    s.base_output[:, ENERGY] = energy_out
    s.base_output[:, OTHER] = use
    s.energy_coeff = np.zeros(s.base_output.shape[1])
    s.energy_coeff[OTHER] = 1.0  # demand_c = use_c
    s.distance_km = np.array(km, dtype=float)
    s.emissions[:] = 0.0
    s.emissions[:, CO2] = s.output() @ s.intensity[:, CO2]
    return ctx


def test_a_city_short_of_energy_exports_none_of_what_it_produces():
    # kills energy.x_trade_factors__mutmut_15 (surplus floored at 1 instead of 0)
    # A produces 10 but uses 30 (deficit 20); B produces nothing and uses 40 (deficit 40); C produces 50 and uses
    # nothing: exportable_C = min(50, 0.6 · 50) = 30. A and B are equally far from C (300 km), so C's 30 is shared by
    # deficit: A gets 30 · 20/60 = 10, B 30 · 40/60 = 20, neither above its deficit. A, though it produces energy and
    # B next door (100 km) is short too, sells none: it is short itself.
    ctx = _energy_ctx([10.0, 0.0, 50.0], [30.0, 40.0, 0.0], [[0, 100, 300], [100, 0, 300], [300, 300, 0]])
    flow = energy.trade(ctx.state, ctx.params["energy"])
    assert flow[A].sum() == 0.0 and flow[B].sum() == 0.0
    assert flow[C, A] == pytest.approx(10.0, rel=1e-12)
    assert flow[C, B] == pytest.approx(20.0, rel=1e-12)


def test_an_exporter_with_no_deficit_within_reach_has_a_zero_trade_factor():
    # kills energy.x_trade_factors__mutmut_55, _59 (the factor a left uninitialised where nothing is within reach:
    # whatever the freed memory held, here the leftovers of the function's own temporaries, none of them 0)
    # decay 1 km: C is 2,000 km from the others, e^−2000 underflows to 0, so C's surplus (50 − 10 = 40) reaches no
    # one. B (3 made, 1 used: exportable min(2, 0.6 · 3) = 1.8) is 100 km from A (deficit 5): a_B = 1.8 / (e^−100 · 5),
    # and A gets all 1.8. a_e = exportable_e / Σ_c K_ec · deficit_c, and 0 where that sum is 0: for C, and for A
    # (nothing to export, and no one else is short).
    ctx = _energy_ctx([0.0, 3.0, 50.0], [5.0, 1.0, 10.0], [[0, 100, 2000], [100, 0, 2000], [2000, 2000, 0]], decay_km=1.0)
    for _ in range(2):  # the same factors every time they are asked for
        a, k, b = energy.trade_factors(ctx.state, ctx.params["energy"])
        assert k[C, A] == 0.0 and k[C, B] == 0.0
        assert a[A] == 0.0 and a[C] == 0.0
        assert a[B] == pytest.approx(1.8 / (math.exp(-100.0) * 5.0), rel=1e-12)
        np.testing.assert_array_equal(b, [5.0, 0.0, 0.0])
        flow = energy.trade(ctx.state, ctx.params["energy"])
        assert flow[B, A] == pytest.approx(1.8, rel=1e-12)
        assert flow[C].sum() == 0.0


@pytest.mark.parametrize("above", [False, True])
def test_an_exporters_reach_must_exceed_the_1e_minus_150_floor(above):
    # kills energy.x_trade_factors__mutmut_62 (`gravity >= 1e-150`)
    # C (50 made, none used: exportable 30) and one importer, A, 345 km away at a decay of 1 km: K_CA = e^−345 ≈ 1.47e-150.
    # A's deficit x is chosen so that C's reach Σ_c K_Cc · deficit_c = K_CA · x is exactly 1e-150 (x ≈ 0.68): at the
    # floor C counts as having no deficit within reach and sells nothing; one step of x above it, C sells A its whole
    # deficit (30 available, A short of x).
    k_ca = math.exp(-345.0)
    x = 1e-150 / k_ca
    candidates = [x, *(np.nextafter(x, d) for d in (0.0, np.inf))]
    x = next(float(c) for c in candidates if c * k_ca == 1e-150)
    if above:
        x = float(np.nextafter(x, np.inf))
    ctx = _energy_ctx([0.0, 0.0, 50.0], [x, 0.0, 0.0], [[0, 100, 345], [100, 0, 345], [345, 345, 0]], decay_km=1.0)
    flow = energy.trade(ctx.state, ctx.params["energy"])
    if above:
        assert flow[C, A] == pytest.approx(x, rel=1e-9)
    else:
        assert flow[C, A] == 0.0
    assert flow[A].sum() == flow[B].sum() == 0.0


@pytest.mark.parametrize("output", [1e-12, 1e-13])
def test_energy_exported_from_a_city_with_at_most_1e_minus_12_of_energy_output_carries_no_co2(output):
    # kills energy.x_apply__mutmut_25, _29 (CO2 per unit left uninitialised there) and _32 (`>= 1e-12`)
    # C makes `output` 亿元 of energy, half in its base and half in a hosted plant, and uses none: it exports
    # 0.6 · output to A (deficit 5). At or below 1e-12 亿元 its CO2 per unit of energy counts as 0, so the consumption
    # accounts equal the production accounts in every city, exactly.
    ctx = _energy_ctx([0.0, 0.0, output / 2], [5.0, 0.0, 0.0], [[0, 100, 200], [100, 0, 200], [200, 200, 0]])
    s = ctx.state
    s.fn_sector[0], s.fn_host[0], s.fn_output[0] = ENERGY, C, output / 2
    s.emissions[:, CO2] = s.output() @ s.intensity[:, CO2]
    assert s.output()[C, ENERGY] == output and s.emissions[C, CO2] > 0.0
    flow = energy.trade(s, ctx.params["energy"])
    assert flow[C, A] == pytest.approx(0.6 * output, rel=1e-12)  # it does export
    energy.apply(ctx)
    np.testing.assert_array_equal(s.co2_consumption, s.emissions[:, CO2])


def test_a_delivery_of_thousands_is_written_with_thousands_separators():
    # kills energy.x_delivery_text__mutmut_6, _9, _11 (no grouping in the amount)
    # C makes 5,000 and uses none: exportable min(5000, 0.6 · 5000) = 3,000; A alone is short, by 2,500, so it
    # receives its whole deficit: 2,500 亿元, paid at price factor 1.
    ctx = _energy_ctx([0.0, 0.0, 5000.0], [2500.0, 0.0, 0.0], [[0, 100, 200], [100, 0, 200], [200, 200, 0]])
    energy.apply(ctx)
    row = _one_event(ctx, "ENERGY", "capital", "milltown", 2500.0)
    assert row.why_en == "Capital buys 2,500.00 亿元 of power and coal from Mill Town, whose energy output exceeds its own use"
    assert row.why_zh == "京城从工城购入2,500.00亿元电力和煤炭：后者能源产出超过自身需求"


# =====================================================================================================
# TRANSFER
# =====================================================================================================


def _transfer_ctx(**levers):
    ctx = three_city_context({"rules.transfer.enabled": True, **{f"rules.transfer.{k}": v for k, v in levers.items()}})
    ctx.state.cost_index = np.array([2.0, 1.5, 1.0])  # A dearest, C cheapest
    return ctx


def test_a_patched_transfer_kernel_has_the_documented_entries_off_the_corridor():
    # kills transfer.x_kernel__mutmut_87 (gap floored at 1, not 0) and _93 (1 + bonus / corridor) in the patch path
    # Travel minutes A–B 40, A–C 60 (the corridor), B–C 100; decay 120 min, corridor bonus 0.5, costs 2 / 1.5 / 1:
    #   S_AB = e^(−40/120) · (2 − 1.5)/2, S_AC = e^(−60/120) · (1 + 0.5) · (2 − 1)/2, S_BC = e^(−100/120) · (1.5 − 1)/1.5,
    #   and 0 up the cost gradient (B → A, C → A, C → B).
    # A link opens and only A → B changes (40 → 30 min: one pair of nine, so the cached kernel is patched in place):
    # S_AB = e^(−30/120) · 0.25; then B → A (40 → 30): B is cheaper than A, so S_BA stays 0.
    ctx = _transfer_ctx(corridor_bonus=0.5, decay_minutes=120.0)
    s = ctx.state
    s_ac, s_bc = 0.75 * math.exp(-0.5), math.exp(-100 / 120) / 3
    expected = np.array([[0.0, 0.25 * math.exp(-40 / 120), s_ac], [0.0, 0.0, s_bc], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(transfer.kernel(ctx)[0], expected, rtol=1e-12, atol=0.0)
    for i, j in ((A, B), (B, A)):
        old = s.travel_minutes
        new = old.copy()
        new[i, j] = 30.0
        s.travel_change, s.travel_minutes = (old, new, {}), new
        patched, row_max = transfer.kernel(ctx)
        expected[A, B] = 0.25 * math.exp(-30 / 120)  # S_BA stays 0
        np.testing.assert_allclose(patched, expected, rtol=1e-12, atol=0.0)
        np.testing.assert_allclose(row_max, expected.max(axis=1), rtol=1e-12, atol=0.0)


def test_the_transfer_kernel_follows_new_costs_and_levers():
    # kills transfer.x_kernel__mutmut_104 (the kernel cached without its parameters)
    ctx = _transfer_ctx(corridor_bonus=0.5, decay_minutes=120.0)
    s, p = ctx.state, ctx.params["transfer"]
    transfer.kernel(ctx)
    # GROWTH replaces the cost index: now C is dearest (costs 1 / 1.5 / 2), and output runs the other way:
    #   S_CA = e^(−60/120) · 1.5 · (2 − 1)/2, S_CB = e^(−100/120) · (2 − 1.5)/2, S_BA = e^(−40/120) · (1.5 − 1)/1.5
    s.cost_index = np.array([1.0, 1.5, 2.0])
    expected = np.zeros((3, 3))
    expected[C, A], expected[C, B], expected[B, A] = 0.75 * math.exp(-0.5), 0.25 * math.exp(-100 / 120), math.exp(-40 / 120) / 3
    np.testing.assert_allclose(transfer.kernel(ctx)[0], expected, rtol=1e-12, atol=0.0)
    # a shorter decay (60 min) and no corridor bonus
    p["decay_minutes"], p["corridor_bonus"] = 60.0, 0.0
    expected[C, A], expected[C, B], expected[B, A] = 0.5 * math.exp(-1.0), 0.25 * math.exp(-100 / 60), math.exp(-40 / 60) / 3
    np.testing.assert_allclose(transfer.kernel(ctx)[0], expected, rtol=1e-12, atol=0.0)


def test_no_output_appears_where_every_pull_rounds_to_zero():
    # kills transfer.x_factors__mutmut_51 (coefficient 1 instead of 0 for a city with no reach)
    # A and B (cost 2) are 744 min from Mill Town (cost 1) at a decay of 1 min: e^−744 · (2 − 1)/2 is the smallest
    # positive double, 5e-324; Mill Town's land index is 0.3, so each pull S · land = 1.5e-324 rounds to 0: Σ_j w_ij = 0
    # for every city, so no city sends anything and no output may arrive anywhere (Mill Town has none of these
    # sectors yet, so even 5e-324 arriving would show).
    ctx = _transfer_ctx(corridor_bonus=0.0, decay_minutes=1.0, elasticity=1.0)
    s = ctx.state
    s.cost_index = np.array([2.0, 2.0, 1.0])
    s.travel_minutes = np.array([[0.0, 40.0, 744.0], [40.0, 0.0, 744.0], [744.0, 744.0, 0.0]])
    s.land_index = np.array([1.0, 1.0, 0.3])
    sectors = [SECTOR_INDEX[x] for x in ctx.params["transfer"]["sectors"]]
    s.base_output[C, sectors] = 0.0
    k, _ = transfer.kernel(ctx)
    assert k[A, C] == k[B, C] == 5e-324 and k[A, C] * 0.3 == 0.0  # the premise: pulls rounding to zero
    before = s.base_output.copy()
    transfer.apply(ctx)
    np.testing.assert_array_equal(s.base_output, before)
    assert len(_events(ctx, "TRANSFER")) == 0


def test_transfer_events_name_the_sector_in_chinese_and_in_english():
    # kills transfer.x_apply__mutmut_75 (the English sector label in the Chinese sentence)
    # General manufacturing only. A (cost 2, 1,000 亿元 of it) and B (cost 2, none of it) are dearer than Mill Town
    # (cost 1), 60 min from A; the capital's zone forbids the sector, so Mill Town is A's only receiver. A's reach
    # e^(−60/120) · (1 + 1 · corridor) · (2 − 1)/2 = e^−0.5 ≈ 0.61 times elasticity 1 is above the 8% cap, so
    # A sends 8% of 1,000 = 80 亿元 to Mill Town.
    ctx = _transfer_ctx(sectors=["general_manufacturing"], elasticity=1.0, max_share=0.08, corridor_bonus=1.0, decay_minutes=120.0)
    s = ctx.state
    s.cost_index = np.array([2.0, 2.0, 1.0])
    s.base_output[A, GENERAL], s.base_output[B, GENERAL] = 1000.0, 0.0
    transfer.apply(ctx)
    row = _one_event(ctx, "TRANSFER", "capital", "milltown", 80.0)
    assert row.why_zh == "80.0亿元一般制造业产出由京城转移至工城：成本指数2.00对1.00，相距60分钟"
    assert row.why_en == (
        "80.0 亿元 of general manufacturing output moved from Capital to Mill Town: cost index 2.00 vs 1.00, 60 min apart"
    )


# --- ENERGY: the demand coefficients set at initialisation ------------------------------------------------------


def _coefficients(co2_scale: float = 1.0, economy_scale: float = 1.0, clean: tuple[str, ...] = ()) -> np.ndarray:
    """energy_coeff after `initialise` on the three-city state with every CO2 intensity × co2_scale (the sectors in
    `clean` at 0) and every output × economy_scale."""
    s = three_city_context().state
    s.base_intensity[:, CO2] *= co2_scale
    for name in clean:
        s.base_intensity[SECTOR_INDEX[name], CO2] = 0.0
    s.base_output *= economy_scale
    s.fn_output *= economy_scale
    energy.initialise(s, {})
    # the documented normalisation: base-year demand Σ output · r equals base-year energy output
    assert (s.output() @ s.energy_coeff).sum() == pytest.approx(s.output()[:, ENERGY].sum(), rel=1e-12)
    return s.energy_coeff


@pytest.mark.parametrize("co2_scale", [1.0, 1e-5])
def test_the_cleanest_sectors_weight_is_a_millionth_of_the_dirtiest_whatever_the_units(co2_scale):
    # kills energy.x_initialise__mutmut_3, _9, _15 (the floor: 1 put in for energy before the max, 1e-6 / max,
    # max(max, 1))
    # r_s ∝ max(CO2 intensity_s, 1e-6 · the largest non-energy intensity): heavy industry's 40,000 t/亿元 is the
    # largest (energy's 100,000 left out), so finance with no CO2 weighs 40,000 · 1e-6 = 0.04, a millionth of heavy
    # industry's weight. Measured in other units (× 1e-5: heavy industry 0.4, energy 1) nothing changes: the
    # coefficients are scaled to energy output anyway.
    coeff = _coefficients(co2_scale, clean=("finance_business",))
    heavy, finance = SECTOR_INDEX["heavy_industry"], SECTOR_INDEX["finance_business"]
    assert coeff[ENERGY] == 0.0
    assert coeff[finance] / coeff[heavy] == pytest.approx(1e-6, rel=1e-12)
    np.testing.assert_allclose(coeff, _coefficients(1.0, clean=("finance_business",)), rtol=1e-12, atol=0.0)


def test_energy_coefficients_do_not_depend_on_the_size_of_the_economy():
    # kills energy.x_initialise__mutmut_27 (demand floored at 1 instead of 1e-12)
    # r = weights · (energy output / demand): both scale with the economy, so a region a billion times smaller
    # (base-year demand about 0.2 亿元 · t/亿元, below 1) gets the same coefficients, and its demand still equals its
    # energy output (checked in _coefficients).
    np.testing.assert_allclose(_coefficients(economy_scale=1e-9), _coefficients(), rtol=1e-12, atol=0.0)


def test_consumption_co2_starts_equal_to_production_co2():
    # kills energy.x_initialise__mutmut_28 (no consumption accounts at the start)
    s = three_city_context().state
    s.emissions[:, CO2] = [100.0, 20.0, 300.0]
    energy.initialise(s, {})
    np.testing.assert_array_equal(s.co2_consumption, [100.0, 20.0, 300.0])
    s.emissions[:, CO2] = 0.0  # a copy, not a view of this year's emissions
    np.testing.assert_array_equal(s.co2_consumption, [100.0, 20.0, 300.0])
