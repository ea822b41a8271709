"""Behaviour tests for AIR, JOINT_CONTROL, TAX_SHARE, FUND, ECO_COMP and the rule declarations (model/rules/base.py),
written against each module docstring's equations (issue 16).

Hand calculations on the three-city fixture (A = Capital 0 and B = New Town 1 in province east, C = Mill Town 2 in
province west; base-year PM2.5 40 / 35 / 50 µg/m³ against a target of 35; population 1000万 / 100万 / 500万;
area 2000 / 1000 / 5000 km²) and on tiny hand-made inputs to the pure helpers. Expected values are derived in the
test from the documented equation, written out independently of the rule's code; no snapshots of model output.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from regionsim.model.rules import air, eco_comp, fund, joint_control, tax_share
from regionsim.model.rules import base as rb
from regionsim.model.rules.base import shares
from regionsim.model.sectors import POLLUTANT_INDEX, SECTOR_INDEX

from tests.conftest import three_city_context

A, B, C = 0, 1, 2
SO2, NOX, PM, CO2 = (POLLUTANT_INDEX[p] for p in ("so2", "nox", "pm25", "co2"))
ENERGY, HEAVY, GENERAL = (SECTOR_INDEX[s] for s in ("energy", "heavy_industry", "general_manufacturing"))
QUIET = {
    "rules.air.backward_cut_rate": 0.0,
    "rules.air.coal_cap_factor": 10.0,
    "rules.joint_control.enabled": False,
    "rules.policy.enabled": False,
}
"""AIR alone: no capacity cuts, no coordinated or provincial abatement."""


def _events(ctx, rule: str, kind: str):
    frame = ctx.events.frame()
    return frame[(frame.rule == rule) & (frame.kind == kind)].reset_index(drop=True)


def _rows(state, rule: str) -> dict[tuple[int, int], float]:
    """The ledger's payment rows of one rule as {(payer, payee): amount}, summed per pair."""
    out: dict[tuple[int, int], float] = {}
    for r, payer, payee, x in zip(state.transfers.rule, state.transfers.payer, state.transfers.payee, state.transfers.amount, strict=True):
        if r == rule:
            out[(payer, payee)] = out.get((payer, payee), 0.0) + x
    return out


# =====================================================================================================
# AIR
# =====================================================================================================


def _sr_by_hand(lon, lat, area, dist, p) -> np.ndarray:
    """SR_cj = min(1, transport_scale · r_c/(π d_cj) · exp(−d_cj/decay_km) · (1 + wind_skew · cos θ_jc)), SR_cc = 1,
    θ_jc the angle between the wind (blowing toward `wind_toward_deg`, clockwise from north) and the way from j to c."""
    n = len(lon)
    coslat = math.cos(math.radians(float(np.mean(lat))))
    w = math.radians(p["wind_toward_deg"])
    sr = np.eye(n)
    for c in range(n):
        r_c = math.sqrt(area[c] / math.pi)
        for j in range(n):
            if c == j:
                continue
            east, north = (lon[c] - lon[j]) * coslat, lat[c] - lat[j]  # from source j to receptor c
            length = math.hypot(east, north)
            cos_t = (east * math.sin(w) + north * math.cos(w)) / length if length > 0 else 0.0
            d = dist[c, j]
            v = p["transport_scale"] * r_c / (math.pi * d) * math.exp(-d / p["decay_km"]) * (1 + p["wind_skew"] * cos_t)
            sr[c, j] = min(1.0, v)
    return sr


@pytest.mark.parametrize("wind", [30.0, 250.0, 135.0])
def test_source_receptor_matrix_is_the_documented_plume_form(wind):
    ctx = three_city_context({"rules.air.wind_skew": 0.6, "rules.air.wind_toward_deg": wind, "rules.air.decay_km": 90.0})
    s, p = ctx.state, ctx.params["air"]
    expected = _sr_by_hand(s.lon, s.lat, s.area_km2, s.distance_km, p)
    np.testing.assert_allclose(air.source_receptor(s, p), expected, rtol=1e-12)
    np.testing.assert_allclose(s.source_receptor, expected, rtol=1e-12)  # what initialise stored


def test_source_receptor_is_capped_at_one_and_scales_with_transport():
    ctx = three_city_context()
    s, p = ctx.state, dict(ctx.params["air"])
    small = air.source_receptor(s, {**p, "transport_scale": 0.5})
    double = air.source_receptor(s, {**p, "transport_scale": 1.0})
    off = ~np.eye(3, dtype=bool)
    np.testing.assert_allclose(double[off], 2 * small[off], rtol=1e-12)  # linear below the cap
    big = air.source_receptor(s, {**p, "transport_scale": 20.0, "decay_km": 5000.0, "wind_skew": 0.0})
    # r_A/(π·d_AB) = √(2000/π)/(π·42 km) ≈ 0.19, × 20 ≈ 3.8 > 1: capped at one (a neighbour never outweighs one's own)
    assert big[A, B] == 1.0
    expected = _sr_by_hand(s.lon, s.lat, s.area_km2, s.distance_km, {**p, "transport_scale": 20.0, "decay_km": 5000.0, "wind_skew": 0.0})
    np.testing.assert_allclose(big, expected, rtol=1e-12)
    assert (big <= 1.0).all() and (np.diag(big) == 1.0).all()


def test_source_receptor_of_co_located_cities_and_tiny_area():
    """Two cities at one place (distance 0, no direction): the plume term is capped at 1, no NaN."""
    st = SimpleNamespace(
        lon=np.array([116.0, 116.0, 117.0]),
        lat=np.array([40.0, 40.0, 40.0]),
        area_km2=np.array([100.0 * math.pi, 0.0, 100.0 * math.pi]),
        distance_km=np.array([[0.0, 0.0, 85.0], [0.0, 0.0, 85.0], [85.0, 85.0, 0.0]]),
    )
    np.testing.assert_allclose(air.equivalent_radius_km(st), [10.0, math.sqrt(1e-9 / math.pi), 10.0], rtol=1e-12)
    p = {"wind_toward_deg": 90.0, "wind_skew": 0.5, "transport_scale": 1.0, "decay_km": 100.0}
    sr = air.source_receptor(st, p)
    assert not np.isnan(sr).any()
    assert sr[0, 1] == 1.0 and sr[1, 0] == 1.0  # distance 0: capped at 1 whatever the tiny radius
    # city 2 lies due east of 0; the wind blows east: 2 is downwind of 0 (cos θ = 1), 0 upwind of 2 (cos θ = −1)
    plume = 10.0 / (math.pi * 85.0) * math.exp(-85.0 / 100.0)
    assert sr[2, 0] == pytest.approx(plume * 1.5, rel=1e-12)
    assert sr[0, 2] == pytest.approx(plume * 0.5, rel=1e-12)
    # receptor 1 has (almost) no area: r_1 = √(1e−9/π), so it hardly takes anything from 2
    assert sr[1, 2] == pytest.approx(math.sqrt(1e-9 / math.pi) / (math.pi * 85.0) * math.exp(-0.85) * 0.5, rel=1e-9)
    # co-located cities have no direction between them: the wind's skew does not change what they exchange
    # (a transport scale small enough that the plume term stays below the cap of 1)
    faint = {**p, "transport_scale": 1e-14}
    assert 0 < air.source_receptor(st, faint)[0, 1] < 1e-3
    assert air.source_receptor(st, {**faint, "wind_skew": 0.9})[0, 1] == pytest.approx(
        air.source_receptor(st, {**faint, "wind_skew": 0.0})[0, 1], rel=1e-12
    )


def test_emissions_by_hand_with_clean_capacity_function_hosts_and_abatement():
    ctx = three_city_context({"rules.air.intensity_decline": 0.0})
    s = ctx.state
    s.clean_upgrade = 0.5
    s.clean_share[C, HEAVY] = 0.4  # 40% of Mill Town's heavy industry built to the raised threshold
    s.abatement = np.array([0.1, 0.2, 0.3])
    s.fn_host[:3] = [B, C, C]
    s.fn_emission_factor[:3] = [0.5, 1.0, 0.25]
    np.testing.assert_allclose(air.emission_factor(s)[C, HEAVY], 1 - 0.5 * 0.4)
    assert air.emission_factor(s)[A, HEAVY] == 1.0
    e, raw = air.emissions(s)
    out = s.base_output.copy()
    out[C, HEAVY] *= 0.8
    want = out @ s.intensity
    for f in range(len(s.fn_host)):
        want[s.fn_host[f]] += s.fn_output[f] * s.intensity[s.fn_sector[f]] * s.fn_emission_factor[f]
    np.testing.assert_allclose(raw, want, rtol=1e-12)
    for c, ab in enumerate([0.1, 0.2, 0.3]):
        np.testing.assert_allclose(e[c, [SO2, NOX, PM]], (1 - ab) * want[c, [SO2, NOX, PM]], rtol=1e-12)
        assert e[c, CO2] == pytest.approx(want[c, CO2], rel=1e-12)  # CO2 is not abated end-of-pipe


def test_load_weights_secondary_pollutants():
    e = np.zeros((2, 4))
    e[0, PM], e[0, SO2], e[0, NOX] = 10.0, 100.0, 1000.0
    e[1, CO2] = 5e6  # CO2 forms no PM2.5
    np.testing.assert_allclose(air.load(None, {"weight_so2": 0.3, "weight_nox": 0.05}, e), [10.0 + 30.0 + 50.0, 0.0])


def test_initialise_calibrates_background_and_scale_to_the_base_year():
    ctx = three_city_context({"rules.air.background_ugm3": 20.0})
    s, p = ctx.state, ctx.params["air"]
    # background = min(background lever, half the observed): New Town's 35 µg/m³ gives 17.5
    np.testing.assert_allclose(s.pm25_background, [20.0, 17.5, 20.0])
    e, _ = air.emissions(s)
    load = air.load(s, p, e)
    np.testing.assert_allclose(s.pm25_scale, (np.array([40.0, 35.0, 50.0]) - s.pm25_background) / (s.source_receptor @ load), rtol=1e-12)
    np.testing.assert_allclose(air.concentration(s, p, s.emissions), [40.0, 35.0, 50.0], rtol=1e-12)
    np.testing.assert_allclose(s.base_energy_by_province, [400.0 + 20.0, 300.0])  # east: A + B; west: C
    assert (s.clean_share == 0).all() and (s.abatement_drag == 0).all() and (s.fund_cleanup == 0).all()
    np.testing.assert_allclose(s.industry_capacity, s.base_output)
    assert s.clean_upgrade == 0.0


def test_calibration_reproduces_the_base_year_whatever_the_size_of_the_inventory():
    """k_c absorbs inventory errors: intensities a millionth of the fixture's still reproduce the observed PM2.5."""
    ctx = three_city_context()
    s, p = ctx.state, ctx.params["air"]
    s.base_intensity = s.base_intensity * 1e-6
    s.intensity = s.intensity * 1e-6
    air.initialise(s, ctx.params)
    assert (s.source_receptor @ air.load(s, p, s.emissions)).max() < 1.0  # under a tonne of load reaches any city
    np.testing.assert_allclose(air.concentration(s, p, s.emissions), [40.0, 35.0, 50.0], rtol=1e-9)


def test_outside_share_by_hand():
    ctx = three_city_context({"rules.air.transport_scale": 3.0})
    s, p = ctx.state, ctx.params["air"]
    load = air.load(s, p, s.emissions)
    for prov, members in ((0, [A, B]), (1, [C])):
        own = np.zeros(3)
        own[members] = load[members]
        local = s.pm25_scale * (s.source_receptor @ own)
        w = s.population[members]
        share = (w * (s.pm25[members] - local[members])).sum() / (w * s.pm25[members]).sum()
        assert air.outside_share(s, p, prov) == pytest.approx(share, rel=1e-12)
        assert 0.0 < share < 1.0


def test_outside_share_is_a_population_weighted_mean_so_only_relative_population_matters():
    ctx = three_city_context({"rules.air.transport_scale": 3.0})
    s, p = ctx.state, ctx.params["air"]
    before = [air.outside_share(s, p, prov) for prov in (0, 1)]
    s.population = s.population * 1e-9  # a hundredth of a person … the weights' scale cancels
    np.testing.assert_allclose([air.outside_share(s, p, prov) for prov in (0, 1)], before, rtol=1e-12)


def test_intensity_falls_with_years_since_base():
    ctx = three_city_context({**QUIET, "rules.air.intensity_decline": 0.1})
    s = ctx.state
    s.year = s.base_year + 3
    out0 = s.base_output.copy()
    air.apply(ctx)
    np.testing.assert_allclose(s.intensity, s.base_intensity * 0.9**3, rtol=1e-12)
    np.testing.assert_allclose(s.base_output, out0)  # nothing cut, nothing abated
    # PM above background falls to 0.9³ of the base year's with output unchanged
    np.testing.assert_allclose(s.pm25 - s.pm25_background, 0.729 * (np.array([40.0, 35.0, 50.0]) - s.pm25_background), rtol=1e-9)


@pytest.mark.parametrize(
    ("factor", "a_energy", "east_cut"),
    [(1.0, 600.0, True), (1.0, 400.5, True), (1.5, 600.0, False), (1.0, 400.0, False), (1.0, 420.0 + 1e-9 - 20.0, False)],
)
def test_coal_cap_holds_each_province_at_its_base_energy(factor, a_energy, east_cut):
    ctx = three_city_context({**QUIET, "rules.air.coal_cap_factor": factor, "rules.air.intensity_decline": 0.0})
    s = ctx.state
    s.base_output[A, ENERGY] = a_energy  # base year: A 400, B 20 (east 420), C 300 (west)
    s.base_output[C, ENERGY] = 300.0 * factor  # west exactly at its cap: not cut
    # the last case: east at cap + 1e−9, the tolerance, which still counts as at the cap (not over it)
    air.apply(ctx)
    energy = s.base_output[:, ENERGY]
    cap = factor * 420.0
    if east_cut:
        ratio = cap / (a_energy + 20.0)
        np.testing.assert_allclose(energy[[A, B]], [a_energy * ratio, 20.0 * ratio], rtol=1e-12)
        ev = _events(ctx, "AIR", "policy")
        assert list(ev.source) == ["east"]
        assert ev.amount[0] == pytest.approx(a_energy + 20.0 - cap, rel=1e-9)
    else:
        np.testing.assert_allclose(energy[[A, B]], [a_energy, 20.0])
        assert len(_events(ctx, "AIR", "policy")) == 0
    assert energy[C] == pytest.approx(300.0 * factor)


def test_coal_cap_scales_small_energy_sectors_down_to_the_cap():
    """A cap of 0.42 亿元 (factor 0.001 of east's 420) on 0.5 亿元 of energy output: both cities keep 84%."""
    ctx = three_city_context({**QUIET, "rules.air.coal_cap_factor": 0.001, "rules.air.intensity_decline": 0.0})
    s = ctx.state
    s.base_output[[A, B], ENERGY] = [0.3, 0.2]
    air.apply(ctx)
    np.testing.assert_allclose(s.base_output[:, ENERGY], [0.3 * 0.84, 0.2 * 0.84, 0.3], rtol=1e-12)


@pytest.mark.parametrize(("a_heavy", "a_logged"), [(5.0, False), (10.0, True)])
def test_backward_capacity_is_cut_only_above_target(a_heavy, a_logged):
    ctx = three_city_context({**QUIET, "rules.air.backward_cut_rate": 0.1, "rules.air.intensity_decline": 0.0})
    s = ctx.state
    s.base_output[A, HEAVY] = a_heavy  # A at 40 µg/m³ (above 35): cut 0.5 (too small for its own event row) or 1.0
    s.base_output[B, HEAVY] = 100.0  # B at exactly the target: not above it, not cut
    air.apply(ctx)
    np.testing.assert_allclose(s.base_output[:, HEAVY], [0.9 * a_heavy, 100.0, 540.0], rtol=1e-12)
    ev = _events(ctx, "AIR", "closure")
    assert list(ev.source) == (["capital"] if a_logged else []) + ["milltown"]
    assert list(ev.target) == list(ev.source)
    np.testing.assert_allclose(ev.amount, ([1.0] if a_logged else []) + [60.0])


def test_backward_cut_rate_doubles_the_cut():
    cuts = []
    for rate in (0.05, 0.1):
        ctx = three_city_context({**QUIET, "rules.air.backward_cut_rate": rate})
        air.apply(ctx)
        cuts.append(600.0 - ctx.state.base_output[C, HEAVY])
    assert cuts == pytest.approx([30.0, 60.0])


def _abatement_context(**over):
    ctx = three_city_context({**QUIET, "rules.air.intensity_decline": 0.0, "rules.air.cost_10k_yuan_per_t": 10.0, **over})
    s = ctx.state
    s.province_abatement_goal[:] = [0.1, 0.2]
    s.jc_abatement[:] = [0.05, 0.0, 0.1]
    s.fund_cleanup[:] = [0.0, 0.0, 1.0]  # 1 亿元 = 1e4 万元 = 1000 t at 10 万元/t
    return ctx


@pytest.mark.parametrize(("policy_on", "max_abatement"), [(True, 0.7), (False, 0.7), (True, 0.25)])
def test_abatement_adds_province_goal_joint_extra_and_bought_tonnes(policy_on, max_abatement):
    ctx = _abatement_context(**{"rules.policy.enabled": policy_on, "rules.policy.max_abatement": max_abatement})
    s = ctx.state
    _, raw = air.emissions(s)
    tonnes = raw[:, [SO2, NOX, PM]].sum(axis=1)
    air.apply(ctx)
    own = np.array([0.1, 0.1, 0.2]) if policy_on else np.zeros(3)
    expected = np.minimum(max_abatement, own + np.array([0.05, 0.0, 0.1]) + np.array([0.0, 0.0, 1000.0 / tonnes[C]]))
    np.testing.assert_allclose(s.abatement, expected, rtol=1e-12)
    # cost = cost per tonne × tonnes removed (万元 → 亿元)
    np.testing.assert_allclose(s.abatement_cost, expected * tonnes * 10.0 * 1e-4, rtol=1e-9)
    e, _ = air.emissions(s)  # after the cost is borne output is lower; emissions follow the abated output
    np.testing.assert_allclose(s.emissions, e, rtol=1e-12)


def test_fund_money_buys_the_same_share_of_a_small_inventory():
    """abatement = (amount / cost per tonne) / raw tonnes, also for a city emitting well under a tonne."""
    ctx = three_city_context({**QUIET, "rules.air.intensity_decline": 0.0, "rules.air.cost_10k_yuan_per_t": 10.0})
    s = ctx.state
    _, raw = air.emissions(s)
    tonnes = 1e-6 * raw[C, [SO2, NOX, PM]].sum()  # apply recomputes intensities from the (scaled) base ones
    s.base_intensity = s.base_intensity * 1e-6
    assert tonnes < 1.0
    s.fund_cleanup[:] = [0.0, 0.0, 0.1 * tonnes * 10.0 * 1e-4]  # buys a tenth of Mill Town's tonnes
    air.apply(ctx)
    assert s.abatement[C] == pytest.approx(0.1, rel=1e-9)


def test_capacity_restored_from_last_years_drag_is_not_new_capacity():
    """Leakage control counts as new only capacity above last year's (before the abatement drag)."""
    ctx = three_city_context(
        {
            **QUIET,
            "rules.joint_control.enabled": True,
            "rules.joint_control.equipment_upgrade": 0.5,
            "rules.air.intensity_decline": 0.0,
            "rules.air.cost_10k_yuan_per_t": 100.0,
        }
    )
    s = ctx.state
    s.jc_abatement[:] = [0.0, 0.0, 0.3]  # Mill Town abates: its industry loses value added this year
    air.apply(ctx)
    assert s.abatement_drag[C, HEAVY] > 0
    s.year += 1
    air.apply(ctx)  # capacity comes back from the drag: nothing new
    assert s.clean_share[C, HEAVY] == 0.0
    s.year += 1
    s.base_output[C, HEAVY] *= 1.5  # now half as much again arrives: a third of the capacity is new and clean
    air.apply(ctx)
    assert s.clean_share[C, HEAVY] == pytest.approx(1.0 / 3.0, rel=1e-9)


def test_abatement_cost_doubles_with_the_cost_per_tonne():
    costs = []
    for cost in (10.0, 20.0):
        ctx = _abatement_context(**{"rules.air.cost_10k_yuan_per_t": cost, "rules.policy.enabled": True})
        ctx.state.fund_cleanup[:] = 0.0
        air.apply(ctx)
        costs.append(ctx.state.abatement_cost.copy())
    np.testing.assert_allclose(costs[1], 2 * costs[0], rtol=1e-12)


@pytest.mark.parametrize("scale", [1.0, 1e-6])
def test_cost_is_borne_by_sectors_in_proportion_to_their_load(scale):
    """Sector s of the abating city loses cost · load_s / Σ load: only the proportions matter (intensities a millionth
    as large give the same split), and a sector of half a 亿元 bears its share like any other."""
    ctx = three_city_context({"rules.air.intensity_decline": 0.0})
    s, p = ctx.state, ctx.params["air"]
    s.intensity = s.intensity * scale
    s.base_output[C, GENERAL] = 0.5
    out0 = s.base_output.copy()
    s.abatement_cost = np.array([0.0, 0.0, 10.0])
    air._bear_cost(s, p)
    i = s.intensity / scale
    w = out0[C] * (i[:, PM] + 0.3 * i[:, SO2] + 0.2 * i[:, NOX])
    lost = 10.0 * w / w.sum()
    np.testing.assert_allclose(out0[C] - s.base_output[C], lost, rtol=1e-9, atol=1e-12)
    assert lost[GENERAL] > 0
    np.testing.assert_allclose(s.base_output[[A, B]], out0[[A, B]])
    np.testing.assert_allclose(s.abatement_drag[C], np.divide(lost, out0[C], out=np.zeros(15), where=out0[C] > 0), rtol=1e-9)
    assert (s.abatement_drag[C][out0[C] == 0] == 0).all()


def test_clean_capacity_bears_less_of_the_cost():
    """load_cs counts the emission factor: heavy industry built to the raised threshold (half the emissions) bears
    half the weight."""
    ctx = three_city_context({"rules.air.intensity_decline": 0.0})
    s, p = ctx.state, ctx.params["air"]
    s.clean_upgrade, s.clean_share[C, HEAVY] = 0.5, 1.0
    out0 = s.base_output.copy()
    s.abatement_cost = np.array([0.0, 0.0, 10.0])
    air._bear_cost(s, p)
    i = s.intensity
    w = out0[C] * (i[:, PM] + 0.3 * i[:, SO2] + 0.2 * i[:, NOX])
    w[HEAVY] *= 0.5
    np.testing.assert_allclose(out0[C] - s.base_output[C], 10.0 * w / w.sum(), rtol=1e-9, atol=1e-12)


def test_cost_takes_at_most_half_of_a_sectors_value_added():
    ctx = three_city_context({"rules.air.intensity_decline": 0.0})
    s, p = ctx.state, ctx.params["air"]
    out0 = s.base_output.copy()
    s.abatement_cost = np.array([0.0, 0.0, 1e6])
    air._bear_cost(s, p)
    i = s.intensity
    emitting = (out0[C] > 0) & ((i[:, PM] + 0.3 * i[:, SO2] + 0.2 * i[:, NOX]) > 0)
    np.testing.assert_allclose(s.abatement_drag[C][emitting], air.MAX_DRAG)
    np.testing.assert_allclose(s.base_output[C][emitting], 0.5 * out0[C][emitting])
    np.testing.assert_allclose(s.base_output[C][~emitting], out0[C][~emitting])
    # next year, capacity comes back exactly (the drag does not compound)
    air._restore_capacity(s)
    np.testing.assert_allclose(s.base_output, out0, rtol=1e-12)
    assert (s.abatement_drag == 0).all()


@pytest.mark.parametrize(
    ("upgrade", "scale", "share"),
    [(0.5, 2.0, 0.75), (0.0, 2.0, 0.25), (0.5, 0.5, 0.5), (0.5, 0.0, 0.0), (0.5, 0.4 / 600.0, 0.5), (0.5, 0.9 / 600.0, 0.5)],
)
def test_clean_share_tracks_new_capacity_and_shrinks_pro_rata(upgrade, scale, share):
    """clean_cs: half of Mill Town's heavy capacity is clean; capacity doubles (new capacity is clean only
    with the raised threshold: (0.5·600 + 600)/1200 = 0.75, else 300/1200), halves (pro rata: stays 0.5) or closes."""
    ctx = three_city_context()
    s = ctx.state
    s.clean_share[C, HEAVY] = 0.5
    s.clean_upgrade = upgrade
    s.base_output[C, HEAVY] = 600.0 * scale
    air._restore_capacity(s)
    assert s.clean_share[C, HEAVY] == pytest.approx(share, rel=1e-12)
    assert s.clean_share[A, ENERGY] == 0.0
    # capacity held in industry_capacity (A's energy: 400) that grows by 100 with the threshold on: 100/500 clean
    s.clean_upgrade = 0.5
    s.industry_capacity = s.base_output.copy()
    s.base_output[A, ENERGY] = 500.0
    air._restore_capacity(s)
    assert s.clean_share[A, ENERGY] == pytest.approx(0.2)


def test_restore_capacity_undoes_last_years_drag():
    ctx = three_city_context()
    s = ctx.state
    cap = s.base_output.copy()
    s.abatement_drag = np.zeros_like(cap)
    s.abatement_drag[C, HEAVY] = 0.25
    s.base_output[C, HEAVY] *= 0.75
    air._restore_capacity(s)
    np.testing.assert_allclose(s.base_output, cap, rtol=1e-12)


def test_leakage_control_reads_joint_controls_switches():
    for on, ban, upgrade in ((True, True, 0.5), (True, False, 0.0), (False, True, 0.0)):
        ctx = three_city_context(
            {
                **QUIET,
                "rules.joint_control.enabled": on,
                "rules.joint_control.leakage_ban": ban,
                "rules.joint_control.equipment_upgrade": 0.5,
            }
        )
        air.apply(ctx)
        assert ctx.state.clean_upgrade == upgrade


def test_shares_sum_to_one_or_are_equal():
    np.testing.assert_allclose(shares(np.array([1.0, 3.0])), [0.25, 0.75])
    np.testing.assert_allclose(shares(np.array([0.0, 0.0, 0.0, 0.0])), [0.25] * 4)
    assert len(shares(np.zeros(0))) == 0


def _payment_context(payments, **over):
    return three_city_context(
        {
            **QUIET,
            "rules.air.intensity_decline": 0.0,
            "rules.air.cost_10k_yuan_per_t": 10.0,
            "rules.air.abatement_payments": payments,
            **over,
        }
    )


def test_payer_cities_pay_by_tax_and_recipient_cities_get_by_tonnes():
    """East pays west 2 亿元: A and B in proportion to their tax, all to C (the only west city); west pays east 1 亿元:
    C pays, A and B receive in proportion to their raw tonnes of SO2, NOx and primary PM2.5."""
    ctx = _payment_context([["east", "west", 2.0], ["west", "east", 1.0], ["east", "west", 0.0]])
    s = ctx.state
    tax = s.tax_revenue()
    _, raw = air.emissions(s)
    tonnes = raw[:, [SO2, NOX, PM]].sum(axis=1)
    received = air.pay_for_abatement(ctx, raw)
    rows = _rows(s, "AIR")
    assert rows[(A, C)] == pytest.approx(2.0 * tax[A] / (tax[A] + tax[B]), rel=1e-12)
    assert rows[(B, C)] == pytest.approx(2.0 * tax[B] / (tax[A] + tax[B]), rel=1e-12)
    assert rows[(C, A)] == pytest.approx(tonnes[A] / (tonnes[A] + tonnes[B]), rel=1e-12)
    assert rows[(C, B)] == pytest.approx(tonnes[B] / (tonnes[A] + tonnes[B]), rel=1e-12)
    assert set(rows) == {(A, C), (B, C), (C, A), (C, B)}  # the zero payment pays nothing
    np.testing.assert_allclose(received, [rows[(C, A)], rows[(C, B)], 2.0], rtol=1e-12)
    ev = _events(ctx, "AIR", "payment")
    assert list(zip(ev.source, ev.target, strict=True)) == [("east", "west"), ("west", "east")]
    np.testing.assert_allclose(ev.amount, [2.0, 1.0])
    np.testing.assert_allclose(ev.units, [1, 2])


def test_payments_for_abatement_buy_tonnes_in_the_recipient():
    ctx = _payment_context([["east", "west", 2.0]])
    s = ctx.state
    _, raw = air.emissions(s)
    tonnes = raw[:, [SO2, NOX, PM]].sum(axis=1)
    air.apply(ctx)
    # 2 亿元 at 10 万元/t = 2000 t; the recipient's abatement rises by that share of its raw tonnes
    np.testing.assert_allclose(s.abatement, [0.0, 0.0, 2000.0 / tonnes[C]], rtol=1e-12)
    why = _events(ctx, "AIR", "payment")
    assert "about 2,000 t of SO2" in why.why_en.iloc[0] and "约2,000吨" in why.why_zh.iloc[0]  # what the sentence tells
    assert s.abatement_cost[C] == pytest.approx(2.0, rel=1e-9)  # what was bought is what was paid
    net = s.transfers.net("AIR")
    np.testing.assert_allclose(net[:3], [-2.0 * w for w in shares(s.tax_revenue()[[A, B]])] + [2.0], rtol=1e-9)


def test_payment_beyond_max_abatement_is_paid_but_buys_nothing_more():
    ctx = _payment_context([["east", "west", 1e4]], **{"rules.policy.max_abatement": 0.3})
    s = ctx.state
    air.apply(ctx)
    assert s.abatement[C] == pytest.approx(0.3)
    assert s.transfers.net("AIR")[C] == pytest.approx(1e4)


# =====================================================================================================
# JOINT_CONTROL
# =====================================================================================================


def _impact_by_hand(s, p_air) -> np.ndarray:
    """impact_j = Σ_c pop_c · k_c · SR_cj · P_j"""
    load = air.load(s, p_air, s.emissions)
    return np.array([sum(s.population[c] * s.pm25_scale[c] * s.source_receptor[c, j] for c in range(3)) * load[j] for j in range(3)])


@pytest.mark.parametrize("members", [[], ["west"], ["east"], ["east", "west"]])
def test_coordinate_raises_abatement_by_exposure_caused(members):
    ctx = three_city_context(
        {"rules.joint_control.regional_target_ugm3": 30.0, "rules.joint_control.response": 0.4, "rules.joint_control.members": members}
    )
    s = ctx.state
    s.jc_abatement[:] = [0.1, 0.2, 0.6]
    joint_control.coordinate(ctx)
    regional = (1e7 * 40 + 1e6 * 35 + 5e6 * 50) / 1.6e7  # 42.8125
    gap = regional / 30.0 - 1.0
    impact = _impact_by_hand(s, ctx.params["air"])
    share = impact / impact.max()
    if members:
        share *= np.isin(s.city_province, [["east", "west"].index(m) for m in members])
    np.testing.assert_allclose(s.jc_abatement, np.minimum(0.7, np.array([0.1, 0.2, 0.6]) + 0.4 * gap * share), rtol=1e-12)
    ev = _events(ctx, "JOINT_CONTROL", "policy")
    assert len(ev) == 1 and ev.amount[0] == pytest.approx(regional)


def test_coordinate_does_nothing_when_the_target_is_met():
    ctx = three_city_context({"rules.joint_control.regional_target_ugm3": 42.8125})
    s = ctx.state
    s.jc_abatement[:] = [0.1, 0.2, 0.3]
    joint_control.coordinate(ctx)
    np.testing.assert_allclose(s.jc_abatement, [0.1, 0.2, 0.3])
    assert len(_events(ctx, "JOINT_CONTROL", "policy")) == 0


def test_coordinated_extra_doubles_with_the_response():
    extra = []
    for response in (0.2, 0.4):
        ctx = three_city_context({"rules.joint_control.response": response})
        joint_control.coordinate(ctx)
        extra.append(ctx.state.jc_abatement.copy())
    np.testing.assert_allclose(extra[1], 2 * extra[0], rtol=1e-12)
    assert extra[0].max() > 0


def test_coordinate_switched_off_clears_the_extra():
    ctx = three_city_context({"rules.joint_control.enabled": False})
    ctx.state.jc_abatement[:] = [0.3, 0.2, 0.1]
    joint_control.coordinate(ctx)
    np.testing.assert_array_equal(ctx.state.jc_abatement, [0.0, 0.0, 0.0])


def test_regional_exposure_is_the_population_weighted_mean():
    """R = Σ pop·PM / Σ pop: three cities of half a person each give the plain mean (40 + 35 + 50)/3."""
    ctx = three_city_context({"rules.joint_control.response": 1.0})
    s = ctx.state
    s.population = np.array([0.5, 0.5, 0.5])
    joint_control.coordinate(ctx)
    gap = (125.0 / 3.0) / 35.0 - 1.0
    impact = _impact_by_hand(s, ctx.params["air"])
    np.testing.assert_allclose(s.jc_abatement, np.minimum(0.7, gap * impact / impact.max()), rtol=1e-12)
    assert _events(ctx, "JOINT_CONTROL", "policy").amount[0] == pytest.approx(125.0 / 3.0)


def test_coordinated_extra_depends_on_relative_impact_only():
    """share_j = impact_j / max impact: scaling every k_c (hence every impact) by 1e−9 changes nothing."""
    ctx = three_city_context()
    joint_control.coordinate(ctx)
    before = ctx.state.jc_abatement.copy()
    ctx = three_city_context()
    ctx.state.pm25_scale = ctx.state.pm25_scale * 1e-9
    joint_control.coordinate(ctx)
    np.testing.assert_allclose(ctx.state.jc_abatement, before, rtol=1e-9)
    assert before.max() > 0


def _context_of(path: str):
    import copy as _copy

    from regionsim.model.events import EventLog
    from regionsim.model.rules import INITIALISED
    from regionsim.model.rules.base import StepContext
    from regionsim.model.scenario import load_scenario
    from regionsim.model.state import build_state

    scenario = load_scenario(path, {})
    state = build_state(scenario)
    params = _copy.deepcopy(scenario.params)
    for module in INITIALISED:
        module.initialise(state, params)
    state.year += 1
    return StepContext(state, params, np.random.default_rng(0), EventLog())


def test_coordination_event_names_the_three_cities_whose_smoke_reaches_most_people():

    ctx = _context_of("classroom")  # four cities (a shipped scenario, by name)
    s = ctx.state
    ctx.params["joint_control"]["enabled"] = True
    ctx.params["joint_control"]["regional_target_ugm3"] = 10.0
    load = air.load(s, ctx.params["air"], s.emissions)
    n = s.n_cities
    assert n == 4
    impact = np.array([sum(s.population[c] * s.pm25_scale[c] * s.source_receptor[c, j] for c in range(n)) * load[j] for j in range(n)])
    order = sorted(range(n), key=lambda j: -impact[j])[:3]
    joint_control.coordinate(ctx)
    ev = _events(ctx, "JOINT_CONTROL", "policy")
    assert ev.why_en[0].endswith("(" + ", ".join(s.city_names_en[j] for j in order) + ")")
    assert ev.why_zh[0].endswith("（" + "、".join(s.city_names_zh[j] for j in order) + "）")


def test_benefit_and_kernels():
    ctx = three_city_context()
    s = ctx.state
    b = joint_control.benefit(s)
    for r in range(3):
        for j in range(3):
            assert b[r, j] == pytest.approx(s.population[r] * s.pm25_scale[r] * s.source_receptor[r, j], rel=1e-12)
    cross, same, row_max = joint_control.kernels(s)
    sr = s.source_receptor
    np.testing.assert_allclose(cross, [[0, 0, sr[A, C]], [0, 0, sr[B, C]], [sr[C, A], sr[C, B], 0]])
    np.testing.assert_allclose(same.toarray(), [[0, sr[A, B], 0], [sr[B, A], 0, 0], [0, 0, 0]])
    np.testing.assert_allclose(row_max, [sr[A, C], sr[B, C], max(sr[C, A], sr[C, B])])
    # the kernels follow a change of provinces (B joins west)
    s.city_province = np.array([0, 1, 1])
    cross, same, _ = joint_control.kernels(s)
    np.testing.assert_allclose(cross, [[0, sr[A, B], sr[A, C]], [sr[B, A], 0, 0], [sr[C, A], 0, 0]])
    np.testing.assert_allclose(same.toarray(), [[0, 0, 0], [0, 0, sr[B, C]], [0, sr[C, B], 0]])


def _three_provinces(ctx):
    """B moved into a province of its own ("north"), so every city is in a different province."""
    s = ctx.state
    s.province_ids = [*s.province_ids, "north"]
    s.city_province = np.array([0, 2, 1])


def _payments_by_hand(s, rate, cost, members=None) -> np.ndarray:
    """amount[r, j] = rate · cost_j · benefit_rj / Σ_{r'≠j} benefit_r'j, r in another province (and both members)."""
    b = joint_control.benefit(s)
    out = np.zeros((3, 3))
    for j in range(3):
        denom = sum(b[r, j] for r in range(3) if r != j)
        for r in range(3):
            if s.city_province[r] != s.city_province[j] and (members is None or (members[r] and members[j])):
                out[r, j] = rate * cost[j] * b[r, j] / denom
    return out


@pytest.mark.parametrize("three", [False, True])
def test_downwind_beneficiaries_pay_upwind_abaters(three):
    ctx = three_city_context({"rules.joint_control.payment_rate": 0.4})
    s = ctx.state
    if three:
        _three_provinces(ctx)
    s.abatement_cost = np.array([1.0, 2.0, 3.0])
    joint_control.pay(ctx)
    want = _payments_by_hand(s, 0.4, s.abatement_cost)
    rows = _rows(s, "JOINT_CONTROL")
    for r in range(3):
        for j in range(3):
            assert rows.get((r, j), 0.0) == pytest.approx(want[r, j], rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(s.transfers.net("JOINT_CONTROL")[:3], want.sum(axis=0) - want.sum(axis=1), rtol=1e-12)
    ev = _events(ctx, "JOINT_CONTROL", "payment")
    logged = {(a, b): x for a, b, x in zip(ev.source, ev.target, ev.amount, strict=True)}
    ids = s.city_ids
    expected = {(ids[r], ids[j]): want[r, j] for r in range(3) for j in range(3) if want[r, j] > joint_control.EVENT_MIN}
    assert logged.keys() == expected.keys()
    for k, x in expected.items():
        assert logged[k] == pytest.approx(x, rel=1e-12)


def test_payments_and_their_explanations_do_not_depend_on_the_scale_of_benefit():
    """payment r→j = rate · cost_j · benefit_rj / Σ_{r'≠j} benefit_r'j: scaling every k_c by 1e−12 cancels; each row
    says what share of j's benefit falls on r."""
    out = []
    for scale in (1.0, 1e-12):
        ctx = three_city_context({"rules.joint_control.payment_rate": 0.4})
        s = ctx.state
        s.pm25_scale = s.pm25_scale * scale
        s.abatement_cost = np.array([1.0, 2.0, 3.0])
        joint_control.pay(ctx)
        out.append((_rows(s, "JOINT_CONTROL"), _events(ctx, "JOINT_CONTROL", "payment")))
    assert out[0][0].keys() == out[1][0].keys() and len(out[0][0]) == 4
    for k, x in out[0][0].items():
        assert out[1][0][k] == pytest.approx(x, rel=1e-9)
    b = joint_control.benefit(three_city_context().state)
    idx = {cid: i for i, cid in enumerate(three_city_context().state.city_ids)}
    for ev in (out[0][1], out[1][1]):
        assert len(ev) == 4
        for src, dst, text in zip(ev.source, ev.target, ev.why_en, strict=True):
            r, j = idx[src], idx[dst]
            w = b[r, j] / sum(b[q, j] for q in range(3) if q != j)
            assert f": {w:.0%} of that abatement's benefit falls on" in text


def test_only_members_pay_and_are_paid_non_members_free_ride():
    ctx = three_city_context({"rules.joint_control.payment_rate": 1.0, "rules.joint_control.members": ["east", "west"]})
    _three_provinces(ctx)
    s = ctx.state
    s.abatement_cost = np.array([1.0, 2.0, 3.0])
    joint_control.pay(ctx)
    member = np.array([True, False, True])  # B ("north") is not at the table
    want = _payments_by_hand(s, 1.0, s.abatement_cost, member)
    rows = _rows(s, "JOINT_CONTROL")
    assert set(rows) == {(A, C), (C, A)}
    assert rows[(A, C)] == pytest.approx(want[A, C], rel=1e-12)
    assert rows[(C, A)] == pytest.approx(want[C, A], rel=1e-12)
    # the denominator still counts B's benefit: C gets less than its whole cost though A is its only payer
    assert rows[(A, C)] < 3.0
    np.testing.assert_allclose(joint_control.member_cities(s, ["east", "west"]), [1.0, 0.0, 1.0])
    np.testing.assert_allclose(joint_control.member_cities(s, ["north"]), [0.0, 1.0, 0.0])


def test_members_in_one_province_pay_nobody():
    ctx = three_city_context({"rules.joint_control.members": ["east"]})
    s = ctx.state
    s.abatement_cost = np.array([1.0, 2.0, 3.0])
    joint_control.pay(ctx)
    assert s.transfers.total("JOINT_CONTROL") == 0.0
    assert len(_events(ctx, "JOINT_CONTROL", "payment")) == 0


def test_payment_rate_doubles_payments():
    totals = []
    for rate in (0.25, 0.5):
        ctx = three_city_context({"rules.joint_control.payment_rate": rate})
        ctx.state.abatement_cost = np.array([1.0, 2.0, 3.0])
        joint_control.pay(ctx)
        totals.append(ctx.state.transfers.total("JOINT_CONTROL"))
    assert totals[1] == pytest.approx(2 * totals[0], rel=1e-12) and totals[0] > 0


# =====================================================================================================
# TAX_SHARE
# =====================================================================================================


def test_contract_cap_is_cap_years_of_mean_pre_move_tax():
    ctx = three_city_context({"rules.tax_share.cap_years": 2.0})
    s = ctx.state
    s.fn_tax_history[[0, 1]] = [[1.0, 2.0, 6.0], [0.0, 0.0, 3.0]]
    s.fn_contract_paid[[0, 1]] = 5.0  # a previous contract's payments do not count
    tax_share.open_contracts(s, np.array([0, 1]), np.array([A, B]), ctx.params["tax_share"])
    np.testing.assert_allclose(s.fn_contract_cap[[0, 1]], [2.0 * 3.0, 2.0 * 1.0])
    np.testing.assert_allclose(s.fn_contract_paid[[0, 1]], 0.0)
    np.testing.assert_array_equal(s.fn_contract_origin[[0, 1]], [A, B])
    assert (s.fn_contract_origin[2:] == -1).all()


def test_hosts_pay_origins_their_split_until_the_cap():
    ctx = three_city_context({"rules.tax_share.split_to_origin": 0.4})
    s = ctx.state
    # five moved functions: 0 and 1 from A to C, 2 from A to B, 3 and 4 from B to C; tax = output × 0.1 (sector share)
    s.fn_host[:5] = [C, C, B, C, C]
    s.fn_output[:5] = [10.0, 20.0, 30.0, 40.0, 50.0]  # tax 1, 2, 3, 4, 5 亿元
    s.fn_contract_origin[:5] = [A, A, A, B, B]
    s.fn_contract_cap[:5] = [10.0, 1.0, 10.0, 10.0, 10.0]
    s.fn_contract_paid[:5] = [0.0, 0.5, 0.0, 0.0, 10.0]  # function 1 has 0.5 left; function 4's contract is used up
    tax = s.fn_tax()[:5]
    np.testing.assert_allclose(tax, [1.0, 2.0, 3.0, 4.0, 5.0])
    tax_share.apply(ctx)
    rows = _rows(s, "TAX_SHARE")
    # C → A: 0.4 · 1 + min(0.4 · 2, 0.5) = 0.9; B → A: 0.4 · 3 = 1.2; C → B: 0.4 · 4 = 1.6 (function 4 pays no more)
    assert rows == {(C, A): pytest.approx(0.9), (B, A): pytest.approx(1.2), (C, B): pytest.approx(1.6)}
    np.testing.assert_allclose(s.fn_contract_paid[:5], [0.4, 1.0, 1.2, 1.6, 10.0])
    np.testing.assert_array_equal(s.fn_contract_origin[:5], [A, -1, A, B, B])  # function 1 reached its cap
    ev = _events(ctx, "TAX_SHARE", "payment")
    got = {(a, b): (u, x) for a, b, u, x in zip(ev.source, ev.target, ev.units, ev.amount, strict=True)}
    assert got == {
        ("milltown", "capital"): (2, pytest.approx(0.9)),
        ("newtown", "capital"): (1, pytest.approx(1.2)),
        ("milltown", "newtown"): (1, pytest.approx(1.6)),
    }
    # next years: the remaining contracts pay again; function 0 never exceeds its cap of 10 in total
    for _ in range(40):
        tax_share.apply(ctx)
    assert s.fn_contract_paid[0] == pytest.approx(10.0)
    assert s.fn_contract_origin[0] == -1


def test_a_contract_within_the_tolerance_of_its_cap_is_closed():
    """Reaching cap − 1e−12 counts as reaching the cap: the contract closes, and one already there pays nothing."""
    ctx = three_city_context({"rules.tax_share.split_to_origin": 0.5})
    s = ctx.state
    s.fn_host[:2], s.fn_output[:2] = C, 10.0  # tax 1 亿元 each, half of it due
    s.fn_contract_origin[:2] = A
    s.fn_contract_cap[:2] = 1.0
    almost = 1.0 - 1e-12
    s.fn_contract_paid[:2] = [almost - 0.5, almost]  # function 0 reaches the tolerance this year; function 1 is there
    tax_share.apply(ctx)
    assert _rows(s, "TAX_SHARE") == {(C, A): pytest.approx(0.5)}
    np.testing.assert_array_equal(s.fn_contract_paid[:2], [almost, almost])
    assert s.fn_contract_origin[0] == -1


def test_split_doubles_payment_and_zero_split_pays_nothing():
    paid = []
    for split in (0.0, 0.25, 0.5):
        ctx = three_city_context({"rules.tax_share.split_to_origin": split})
        s = ctx.state
        s.fn_host[0], s.fn_output[0], s.fn_tax_history[0] = C, 10.0, [1.0, 1.0, 1.0]
        tax_share.open_contracts(s, np.array([0]), np.array([A]), ctx.params["tax_share"])
        tax_share.apply(ctx)
        paid.append(s.transfers.net("TAX_SHARE")[A])
        if split == 0.0:
            assert s.transfers.total("TAX_SHARE") == 0.0 and len(_events(ctx, "TAX_SHARE", "payment")) == 0
            assert s.fn_contract_origin[0] == A  # the contract stays open (nothing paid toward the cap)
    assert paid == pytest.approx([0.0, 0.25, 0.5])


def test_no_open_contract_pays_nothing():
    ctx = three_city_context()
    s = ctx.state
    s.fn_host[0], s.fn_output[0] = C, 10.0
    s.fn_contract_origin[0], s.fn_contract_cap[0] = -1, 5.0  # no contract although cap left
    tax_share.apply(ctx)
    assert s.transfers.total() == 0.0 and len(ctx.events) == 0


# =====================================================================================================
# base: levers, rule specs, the step context
# =====================================================================================================


def test_lever_check_accepts_the_range_inclusive_and_explains_refusals():
    lever = rb.Lever("x", 0.5, 0.0, 1.0)
    for ok in (0.0, 1.0, 0.5, np.float32(0.25), np.int64(1), 0):
        assert lever.check(ok) is None
    assert lever.check(1.5) == "must be from 0 to 1"
    assert lever.check(-0.1) == "must be from 0 to 1"
    assert lever.check(float("nan")) == "must be a finite number from 0 to 1"
    assert lever.check(float("inf")) == "must be a finite number from 0 to 1"
    assert lever.check(True) == "must be a number from 0 to 1"
    assert lever.check("0.5") == "must be a number from 0 to 1"
    whole = rb.Lever("n", 3, 1, 10, kind="int")
    assert whole.check(3) is None and whole.check(3.0) is None and whole.check(np.int64(10)) is None
    assert whole.check(2.5) == "must be a whole number from 1 to 10"
    assert whole.check(None) == "must be a whole number from 1 to 10"
    assert whole.check(11) == "must be from 1 to 10"
    switch = rb.Lever("b", True, kind="bool")
    assert switch.check(False) is None and switch.check(np.bool_(True)) is None
    assert switch.check(1) == "must be true or false"
    low_only, high_only, free = rb.Lever("l", 1, low=0.5), rb.Lever("h", 1, high=2.5), rb.Lever("f", 1)
    assert low_only.check(0.4) == "must be of at least 0.5" and low_only.check(1e9) is None
    assert high_only.check(3) == "must be of at most 2.5" and high_only.check(-1e9) is None
    assert free.check(-1e9) is None and free.check("a") == "must be a number (any)"


def test_lever_coerce_and_plain():
    whole = rb.Lever("n", 3, 1, 10, kind="int")
    assert whole.coerce(3.0) == 3 and type(whole.coerce(3.0)) is int
    assert type(whole.coerce(np.int64(4))) is int
    assert whole.coerce(2.5) == 2.5
    assert math.isnan(whole.coerce(float("nan")))
    assert whole.coerce(float("inf")) == float("inf")
    real = rb.Lever("x", 0.5, 0.0, 1.0)
    assert type(real.coerce(1.0)) is float and type(real.coerce(np.float32(0.5))) is float
    assert rb.plain(np.bool_(True)) is True and rb.plain("a") == "a"


def test_lever_role_and_spec_stage_are_checked():
    with pytest.raises(ValueError, match="role must be one of policy, uncertainty"):
        rb.Lever("x", 1.0, role="guess")
    assert rb.Lever("x", 1.0, role=rb.UNCERTAINTY).role == "uncertainty"
    with pytest.raises(ValueError, match="stage 'later' is not one of"):
        rb.RuleSpec("X", "x", "later", "t", "t", ())
    spec = rb.RuleSpec("X", "x", "money", "t", "t", (), (rb.Lever("a", 1.0), rb.Lever("b", False, kind="bool")))
    assert spec.lever("b").name == "b" and spec.lever("c") is None
    assert spec.defaults() == {"a": 1.0, "b": False, "enabled": True}
    assert rb.PHASES.index("environment") < rb.PHASES.index("money")


def test_rule_switches_step_context_and_names():
    params = {"air": {"enabled": True}, "fund": {"enabled": False}}
    assert rb.rule_on(params, "air") is True and rb.rule_on(params, "fund") is False
    state = SimpleNamespace(year=np.int64(2031), city_names_en=["Capital", "Mill Town"], city_names_zh=["京城", "工城"])
    ctx = rb.StepContext(state, params, None, None)
    assert ctx.year == 2031 and type(ctx.year) is int
    assert ctx.on("air") and not ctx.on("fund")
    assert rb.city_name(state, 1) == "Mill Town" and rb.city_name(state, 1, "zh") == "工城"
    assert rb.fmt(1234.5678) == "1,234.6" and rb.fmt(0.12345, 3) == "0.123"


# =====================================================================================================
# FUND
# =====================================================================================================


def _fund_context(**over):
    return three_city_context({"rules.fund.enabled": True, **over})


def test_pay_out_splits_by_weight_and_logs_what_is_not_negligible():
    ctx = _fund_context()
    s = ctx.state
    s.fund_balance = 10.0
    got = fund._pay_out(ctx, "tests", "测试", np.array([A, C]), np.array([1.0, 3.0]), 0.5)
    np.testing.assert_allclose(got, [0.125, 0.375])
    assert s.fund_balance == pytest.approx(9.5)
    assert _rows(s, "FUND") == {(3, A): pytest.approx(0.125), (3, C): pytest.approx(0.375)}  # from the fund's account (n = 3)
    np.testing.assert_allclose(fund._pay_out(ctx, "tests", "测试", np.array([B]), np.array([2.0]), 0.5), [0.5])  # one recipient takes all
    # exactly 1e−9 亿元 is paid but not logged as an event row
    np.testing.assert_allclose(fund._pay_out(ctx, "tests", "测试", np.array([B]), np.array([1.0]), 1e-9), [1e-9])
    ev = _events(ctx, "FUND", "payment")
    assert list(ev.target) == ["capital", "milltown", "newtown"]
    np.testing.assert_allclose(ev.amount, [0.125, 0.375, 0.5])
    assert all(t.endswith("for tests") for t in ev.why_en) and all(t.endswith("用于测试") for t in ev.why_zh)
    assert s.fund_balance == pytest.approx(9.0 - 1e-9)


@pytest.mark.parametrize(
    ("recipients", "weights", "total"),
    [([A, C], [1.0, 3.0], 0.0), ([A, C], [1.0, 3.0], -1.0), ([], [], 1.0), ([A, C], [0.0, 0.0], 1.0)],
)
def test_pay_out_with_nothing_to_pay_pays_nothing(recipients, weights, total):
    ctx = _fund_context()
    s = ctx.state
    s.fund_balance = 10.0
    got = fund._pay_out(ctx, "tests", "测试", np.array(recipients, dtype=int), np.array(weights), total)
    assert len(got) == 0
    assert s.fund_balance == 10.0 and s.transfers.total() == 0.0 and len(ctx.events) == 0


def test_faster_links_move_toward_the_floor_and_stop_there():
    f = np.array([1.0, 0.8, 1.0, 0.6])
    amount = np.array([10.0, 10.0, 1000.0, 10.0])
    # f ← m + (f − m) · max(0, 1 − speedup · amount / (1 − m)), m = 0.6, speedup 0.01
    np.testing.assert_allclose(fund.faster_links(f, amount, 0.01, 0.6), [0.6 + 0.4 * 0.75, 0.6 + 0.2 * 0.75, 0.6, 0.6])
    np.testing.assert_allclose(fund.faster_links(f, amount, 0.01, 1.0), f)  # m = 1: nothing changes
    np.testing.assert_allclose(fund.faster_links(f, np.zeros(4), 0.01, 0.6), f)


def test_members_contribute_their_share_of_tax_into_the_fund():
    ctx = _fund_context(**{"rules.fund.members": ["west"], "rules.fund.contribution_rate": 0.01, "rules.fund.spend_rate": 0.0})
    s = ctx.state
    s.fund_balance = 7.0  # last year's balance stays in the fund
    tax = s.tax_revenue()
    fund.apply(ctx)
    assert _rows(s, "FUND") == {(C, 3): pytest.approx(0.01 * tax[C])}
    assert s.fund_balance == pytest.approx(7.0 + 0.01 * tax[C])
    ev = _events(ctx, "FUND", "payment")
    assert list(zip(ev.source, ev.target, ev.units, strict=True)) == [("members", "fund", 1)]
    assert ev.amount[0] == pytest.approx(0.01 * tax[C])


@pytest.mark.parametrize(("rate", "logged"), [(0.0, 0), (1e-4, 1)])
def test_contribution_event_only_when_money_is_paid_in(rate, logged):
    ctx = _fund_context(**{"rules.fund.contribution_rate": rate, "rules.fund.spend_rate": 0.0})
    fund.apply(ctx)
    assert ctx.state.tax_revenue().sum() * rate < 1.0  # a small contribution (under 1 亿元) is still logged
    assert len(_events(ctx, "FUND", "payment")) == logged


def test_fund_spending_goes_to_lagging_members_water_sources_and_polluted_cities():
    """spending = spend_rate · balance, split by the normalised shares (0.2, 0.2, 0.1) → 0.4 / 0.4 / 0.2."""
    ctx = _fund_context(
        **{
            "rules.fund.contribution_rate": 0.0,
            "rules.fund.spend_rate": 0.5,
            "rules.fund.share_infrastructure": 0.2,
            "rules.fund.share_compensation": 0.2,
            "rules.fund.share_cleanup": 0.1,
            "rules.fund.speedup_per_100m_yuan": 0.01,
            "rules.fund.min_time_factor": 0.6,
        }
    )
    s = ctx.state
    s.fund_balance = 20.0  # budget 10 亿元: 4 infrastructure, 4 compensation, 2 clean-up
    s.water_source[[B, C]] = True
    s.pm25[B] = 35.5  # half a µg/m³ above the target
    gdp_pc = s.gdp() / s.population
    assert gdp_pc[A] > s.gdp().sum() / s.population.sum() > max(gdp_pc[B], gdp_pc[C])  # B and C lag
    fund.apply(ctx)
    paid = {}
    for purpose, target, x in zip(
        _events(ctx, "FUND", "payment").why_en, _events(ctx, "FUND", "payment").target, _events(ctx, "FUND", "payment").amount, strict=True
    ):
        paid[(purpose.split(" for ")[1], target)] = x
    infra = 4.0 * np.array([1.0, 5.0]) / 6.0  # B and C by population (100万, 500万)
    comp = 4.0 * np.array([1000.0, 5000.0]) / 6000.0  # by area
    w = np.array([1e7 * 5.0, 1e6 * 0.5, 5e6 * 15.0])  # population · excess
    clean = 2.0 * w / w.sum()
    assert paid == {
        ("cross-region infrastructure", "newtown"): pytest.approx(infra[0]),
        ("cross-region infrastructure", "milltown"): pytest.approx(infra[1]),
        ("ecological compensation", "newtown"): pytest.approx(comp[0]),
        ("ecological compensation", "milltown"): pytest.approx(comp[1]),
        ("pollution clean-up", "capital"): pytest.approx(clean[0]),
        ("pollution clean-up", "newtown"): pytest.approx(clean[1]),
        ("pollution clean-up", "milltown"): pytest.approx(clean[2]),
    }
    zh = set(_events(ctx, "FUND", "payment").why_zh.str.split("用于").str[1])
    assert zh == {"跨区域基础设施", "生态补偿", "污染治理"}
    assert s.fund_balance == pytest.approx(10.0)
    np.testing.assert_allclose(s.fund_cleanup, clean, rtol=1e-12)  # AIR buys abatement with it next year
    # links A–B and A–C: each touched by its lagging end's money; f = 0.6 + 0.4 · (1 − 0.01 · amount / 0.4)
    expect = [0.6 + 0.4 * (1 - 0.01 * infra[0] / 0.4), 0.6 + 0.4 * (1 - 0.01 * infra[1] / 0.4)]
    np.testing.assert_allclose(s.link_speedup, expect, rtol=1e-12)


def test_only_cities_poorer_than_the_member_mean_get_infrastructure():
    ctx = _fund_context(
        **{
            "rules.fund.members": ["east"],
            "rules.fund.contribution_rate": 0.0,
            "rules.fund.share_compensation": 0.0,
            "rules.fund.share_cleanup": 0.0,
        }
    )
    s = ctx.state
    s.fund_balance = 10.0
    fund.apply(ctx)
    # east's mean GDP per head is (A + B) / 1100万; B is below it, A above; C is not a member
    assert _rows(s, "FUND") == {(3, B): pytest.approx(8.0)}
    assert s.fund_balance == pytest.approx(2.0)
    assert s.link_speedup[1] == 1.0  # the A–C link is not touched


def test_a_lone_member_is_not_lagging_behind_itself():
    """Lagging means strictly below the member mean of GDP per head; a single member city is at the mean."""
    ctx = _fund_context(
        **{
            "rules.fund.members": ["west"],
            "rules.fund.contribution_rate": 0.0,
            "rules.fund.share_compensation": 0.0,
            "rules.fund.share_cleanup": 0.0,
        }
    )
    s = ctx.state
    s.fund_balance = 10.0
    fund.apply(ctx)
    assert s.transfers.total() == 0.0 and s.fund_balance == 10.0


def test_per_head_income_uses_people_not_a_floor_of_two():
    """A one-person city is lagging when its GDP is below the member mean per head: GDP per head divides by
    max(population, 1) (a city of 0 or 1 person counts as 1)."""
    ctx = _fund_context(**{"rules.fund.contribution_rate": 0.0, "rules.fund.share_compensation": 0.0, "rules.fund.share_cleanup": 0.0})
    s = ctx.state
    s.fund_balance = 10.0
    s.population[B] = 1.0
    mean = s.gdp().sum() / s.population.sum()
    s.base_output[B] *= 1.5 * mean / s.gdp()[B]  # B's GDP per head 1.5× the mean: not lagging
    mean = s.gdp().sum() / s.population.sum()
    assert s.gdp()[B] / 1.0 > mean > s.gdp()[B] / 2.0
    fund.apply(ctx)
    assert set(_rows(s, "FUND")) == {(3, C)}


def test_all_shares_zero_spends_nothing():
    ctx = _fund_context(
        **{
            "rules.fund.share_infrastructure": 0.0,
            "rules.fund.share_compensation": 0.0,
            "rules.fund.share_cleanup": 0.0,
            "rules.fund.contribution_rate": 0.0,
        }
    )
    s = ctx.state
    s.fund_balance = 10.0
    s.water_source[C] = True
    fund.apply(ctx)
    assert s.fund_balance == 10.0 and s.transfers.total() == 0.0


@pytest.mark.parametrize("rate", [0.01, 0.02])
def test_pairing_aid_is_a_share_of_the_donors_tax(rate):
    ctx = _fund_context(
        **{"rules.fund.pairing": [["capital", "milltown"]], "rules.fund.pairing_rate": rate, "rules.fund.contribution_rate": 0.0}
    )
    s = ctx.state
    tax = s.tax_revenue()[A]
    fund.apply(ctx)
    assert _rows(s, "FUND") == {(A, C): pytest.approx(rate * tax)}
    np.testing.assert_allclose(s.transfers.net("FUND")[:3], [-rate * tax, 0.0, rate * tax])


# =====================================================================================================
# ECO_COMP
# =====================================================================================================


def test_water_sources_cut_restricted_sectors_and_foregone_output_accumulates():
    ctx = three_city_context(
        {
            "rules.eco_comp.restriction_rate": 0.1,
            "rules.eco_comp.compensation_share": 0.2,
            "rules.eco_comp.payment_10k_yuan_per_km2": 10.0,
            "rules.eco_comp.payer_provinces": [],
        }
    )
    s = ctx.state
    s.water_source[[B, C]] = True
    out0 = s.base_output.copy()
    restricted = [ENERGY, HEAVY, GENERAL]
    cut1 = 0.1 * out0[[B, C]][:, restricted].sum(axis=1)  # B 0.1 · 100 = 10; C 0.1 · 1350 = 135
    np.testing.assert_allclose(cut1, [10.0, 135.0])
    eco_comp.apply(ctx)
    s.transfers.clear()
    eco_comp.apply(ctx)
    np.testing.assert_allclose(s.base_output[[B, C]][:, restricted], 0.81 * out0[[B, C]][:, restricted])
    np.testing.assert_allclose(s.base_output[A], out0[A])
    foregone = 1.9 * cut1  # this year's cut is 0.9 of last year's
    np.testing.assert_allclose(s.foregone_output[[B, C]], foregone)
    owed = 10.0 * np.array([1000.0, 5000.0]) * 1e-4 + 0.2 * foregone
    # the only beneficiary (the one city that is not a water source) pays all
    assert _rows(s, "ECO_COMP") == {(A, B): pytest.approx(owed[0]), (A, C): pytest.approx(owed[1])}


def test_only_named_payer_provinces_pay_and_water_sources_never_do():
    ctx = three_city_context({"rules.eco_comp.restriction_rate": 0.0, "rules.eco_comp.payment_10k_yuan_per_km2": 5.0})
    s = ctx.state
    s.water_source[B] = True  # payer_provinces = ["east"] (fixture): A pays; B is the water source, C is in west
    eco_comp.apply(ctx)
    assert _rows(s, "ECO_COMP") == {(A, B): pytest.approx(5.0 * 1000.0 * 1e-4)}
    ev = _events(ctx, "ECO_COMP", "payment")
    assert list(zip(ev.source, ev.target, strict=True)) == [("capital", "newtown")]  # 0.5 亿元 is logged


def test_restricted_sectors_are_a_list():
    ctx = three_city_context({"rules.eco_comp.restriction_rate": 0.5, "rules.eco_comp.restricted_sectors": ["heavy_industry"]})
    s = ctx.state
    s.water_source[C] = True
    out0 = s.base_output.copy()
    eco_comp.apply(ctx)
    assert s.base_output[C, HEAVY] == pytest.approx(300.0)
    assert s.base_output[C, ENERGY] == out0[C, ENERGY] and s.base_output[C, GENERAL] == out0[C, GENERAL]
    assert s.foregone_output[C] == pytest.approx(300.0)


def test_negligible_compensation_is_paid_but_not_logged():
    # 1e−8 万元/km² · 1000 km² = 1e−9 亿元 exactly: in the ledger, too small for an event row
    ctx = three_city_context({"rules.eco_comp.restriction_rate": 0.0, "rules.eco_comp.payment_10k_yuan_per_km2": 1e-8})
    s = ctx.state
    s.water_source[B] = True
    eco_comp.apply(ctx)
    assert _rows(s, "ECO_COMP") == {(A, B): pytest.approx(1e-9)}
    assert len(_events(ctx, "ECO_COMP", "payment")) == 0


def test_no_payer_no_payment():
    ctx = three_city_context({"rules.eco_comp.payer_provinces": ["west"]})
    s = ctx.state
    s.water_source[C] = True  # the only west city is the water source itself
    eco_comp.apply(ctx)
    assert s.transfers.total() == 0.0
    assert s.foregone_output[C] > 0  # the restriction still applies
