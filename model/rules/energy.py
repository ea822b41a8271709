"""ENERGY — power and coal flow from energy-rich cities to the cities that need them.

Picture Inner Mongolia and Shanxi as the region's power plants: where a city's energy sector
produces more than its own industry and households use, it sells the surplus along the lines to
deficit cities, nearer ones first, and is paid for it. The smoke stays where the coal burns
(production-based accounting, AIR's physics); the CO2 can also be counted where the power is
used (consumption-based accounting), which shows the "leakage" of emissions to exporters.

  demand_c  = Σ_s output_cs · r_s, r_s ∝ the sector's CO2 intensity (non-energy sectors), scaled so
              that base-year regional demand equals regional energy output
  surplus_c = energy output_c − demand_c;  exportable_e = min(surplus_e, export_share_max · energy output_e)
              for the scenario's energy bases (`exporters`; when none are named, every city with a surplus)
  flow_ec   = exportable_e · deficit_c · exp(−km_ec / decay_km) / Σ_c' (…), then scaled so no importer
              receives more than its deficit
  payment c→e = price_factor · flow_ec (亿元);  consumption CO2_c = production CO2_c − CO2 of energy exported
              + CO2 embodied in energy imported
  `consumption_accounting` chooses the basis of the model-level province CO2 series (co2_<province>_t,
  model.outputs.province_co2): production by default, consumption when on. The region's total is the
  same on both bases; what moves is which province carries the CO2 of the energy bases' exports.

Plan clauses: bohai_rim_outline L590「强化内蒙古、山西清洁能源输出基地地位」, L598–600「内蒙古赤峰建设京津冀清洁
能源输出基地」 (energy bases), L637「山西至沿海地区电力外送通道」 (power transmission); inner_mongolia_bohai
L30「依托电力通道打捆外送」, L53「加强电力通道合作共建」 (power lines and coal corridors). Where CO2 is counted
is an accounting choice of the model (the plans say nothing about it), not a clause.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from regionsim.model.events import text_join, text_number, text_pick
from regionsim.model.kernels import derived, entries_above, matvec, vecmat
from regionsim.model.rules.base import POLICY, UNCERTAINTY, Lever, RuleSpec, StepContext
from regionsim.model.sectors import POLLUTANT_INDEX, SECTOR_INDEX

RULE = RuleSpec(
    id="ENERGY",
    key="energy",
    stage="environment",
    title_en="Energy flows and emission accounting",
    title_zh="能源调配与排放核算",
    clauses=(
        "bohai_rim_outline L590「清洁能源输出基地」",
        "bohai_rim_outline L637「电力外送通道」",
        "inner_mongolia_bohai L30「依托电力通道打捆外送」",
        "inner_mongolia_bohai L53「加强电力通道合作共建」",
    ),
    levers=(
        Lever(
            "export_share_max",
            0.6,
            0.0,
            1.0,
            "Largest share of an exporter's energy output sold to others",
            "能源输出占产出的最大比例",
            "bohai_rim_outline L641–643「提高能源产品外送能力」 (the share: estimate)",
            role=POLICY,
        ),
        Lever(
            "decay_km",
            600.0,
            1.0,
            10000.0,
            "Distance decay of energy trade (km)",
            "能源输送距离衰减（公里）",
            "estimate: modelling assumption",
            role=UNCERTAINTY,
        ),
        Lever(
            "price_factor",
            1.0,
            0.0,
            10.0,
            "Payment per 亿元 of energy value delivered",
            "每亿元能源价值的结算系数",
            "estimate: at output value",
            role=UNCERTAINTY,
        ),
        Lever(
            "consumption_accounting",
            False,
            kind="bool",
            label_en="Count CO2 where energy is consumed",
            label_zh="按消费地核算CO2",
            clause="estimate: an accounting choice; the plans do not say where CO2 is counted",
            role=POLICY,
        ),
    ),
    list_params={"exporters": "city"},
    list_defaults={"exporters": []},
)

EVENT_MIN = 0.05
"""Smallest delivery (亿元) written as its own event row (all deliveries are in the money totals)."""
ENERGY = SECTOR_INDEX["energy"]
CO2 = POLLUTANT_INDEX["co2"]


def initialise(state, params: dict) -> None:
    """Set energy-use coefficients so base-year demand matches base-year energy output; consumption CO2
    starts equal to production CO2."""
    weights = state.base_intensity[:, CO2].copy()
    weights[ENERGY] = 0.0
    weights = np.maximum(weights, 1e-6 * max(weights.max(), 1e-12))
    weights[ENERGY] = 0.0
    output = state.output()
    demand = (output @ weights).sum()
    state.energy_coeff = weights * (output[:, ENERGY].sum() / max(demand, 1e-12))
    state.co2_consumption = state.emissions[:, CO2].copy()  # nothing traded yet: both bases agree


def kernel(state, decay_km: float) -> tuple[np.ndarray, np.ndarray]:
    """exp(−km / decay_km) with a zero diagonal, and each row's largest entry (cached while unchanged)."""

    def build() -> tuple[np.ndarray, np.ndarray]:
        k = np.exp(-state.distance_km / decay_km)
        np.fill_diagonal(k, 0.0)
        return k, k.max(axis=1) if state.n_cities else np.zeros(0)

    return derived(state, "energy.kernel", (state.distance_km, float(decay_km)), build)


def trade_factors(state, p: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """flow[e, c] = a[e] · K[e, c] · b[c]: the trade below in factored form (a, K, b)."""
    output = state.output()
    supply = output[:, ENERGY]
    demand = output @ state.energy_coeff
    surplus = supply - demand
    exportable = np.minimum(np.maximum(surplus, 0.0), p["export_share_max"] * supply)
    if p.get("exporters"):
        exportable = exportable * np.isin(np.arange(state.n_cities), [state.city_ids.index(c) for c in p["exporters"]])
    deficit = np.maximum(-surplus, 0.0)
    k, _ = kernel(state, p["decay_km"])
    gravity = matvec(k, deficit)
    # exportable_e / Σ_c gravity_ec; an exporter with no reachable deficit sells nothing
    a = np.divide(exportable, gravity, out=np.zeros_like(exportable), where=gravity > 1e-150)
    received = deficit * vecmat(a, k)
    scale = np.ones_like(deficit)
    over = received > deficit
    scale[over] = deficit[over] / received[over]  # no importer receives more than its deficit
    b = deficit * scale
    return a, k, b


def trade(state, p: dict) -> np.ndarray:
    """flow[e, c]: energy (亿元 of value) delivered from exporter e to importer c this year (the whole matrix,
    for reading and tests; `apply` works on the factors)."""
    a, k, b = trade_factors(state, p)
    return a[:, None] * k * b[None, :]


def delivery_text(en, zh, e_idx, c_idx, delivered):
    """The deliveries' sentences, as two lazy text columns (Arrow string arrays, built column-wise), row by row
    f"{en[c]} buys {x:,.2f} 亿元 of power and coal from {en[e]}, whose energy output exceeds its own use" and
    f"{zh[c]}从{zh[e]}购入{x:,.2f}亿元电力和煤炭：后者能源产出超过自身需求" (tests/test_event_text.py)."""
    amount = cache(lambda: text_number(delivered, 2, grouping=True))  # shared by the two languages

    def why_en():
        c, e = text_pick(en, c_idx), text_pick(en, e_idx)
        return text_join(c, " buys ", amount(), " 亿元 of power and coal from ", e, ", whose energy output exceeds its own use")

    def why_zh():
        return text_join(text_pick(zh, c_idx), "从", text_pick(zh, e_idx), "购入", amount(), "亿元电力和煤炭：后者能源产出超过自身需求")

    return why_en, why_zh


def apply(ctx: StepContext) -> None:
    """Deliver surplus energy, settle payments and compute consumption-based CO2."""
    state, p = ctx.state, ctx.params["energy"]
    a, k, b = trade_factors(state, p)  # flow = a[:, None] · k · b[None, :], never built whole
    energy_output = state.output()[:, ENERGY]
    energy_co2 = state.base_output[:, ENERGY] * state.intensity[ENERGY, CO2] + np.bincount(
        state.fn_host,
        weights=state.fn_output * state.intensity[state.fn_sector, CO2] * (state.fn_sector == ENERGY),
        minlength=state.n_cities,
    )
    co2_per_unit = np.divide(energy_co2, energy_output, out=np.zeros_like(energy_co2), where=energy_output > 1e-12)
    exported = a * matvec(k, b)
    imported_co2 = b * vecmat(a * co2_per_unit, k)
    state.co2_consumption = state.emissions[:, CO2] - exported * co2_per_unit + imported_co2
    state.transfers.pay_outer("ENERGY", p["price_factor"] * a, k, b, payer_axis=1)  # importer c pays exporter e
    e_idx, c_idx, delivered = entries_above(a, k, b, EVENT_MIN, row_max=kernel(state, p["decay_km"])[1])
    why_en, why_zh = delivery_text(state.labels("city_names_en"), state.labels("city_names_zh"), e_idx, c_idx, delivered)
    ids = state.labels("city_ids")
    ctx.events.add_many(
        len(e_idx),
        ctx.year,
        "ENERGY",
        "payment",
        ids[c_idx],
        ids[e_idx],
        amount=p["price_factor"] * delivered,
        unit="100m yuan",
        clause="bohai_rim_outline L590「清洁能源输出基地」",
        why_en=why_en,
        why_zh=why_zh,
    )
