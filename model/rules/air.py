"""AIR — emissions from output, ambient PM2.5 through a source–receptor matrix, coal caps.

Picture every city as a chimney whose smoke is its sector output times each sector's emission
intensity, less what end-of-pipe abatement removes. Smoke drifts: a city breathes its own and a
share of its neighbours', less with distance and more from upwind. Intensities fall each year
(cleaner technology); a coal cap holds the energy sector at its base-year size; cities above
their province's target cut backward heavy-industry capacity.

  intensity_sp(t) = intensity_sp(base) · (1 − intensity_decline)^(t − base)
  E_cp   = Σ_s output_cs · intensity_sp · (1 − abatement_c)      (functions: · their emission factor;
                                                                  CO2 is not abated end-of-pipe)
  P_c    = E_c,pm25 + w_so2 · E_c,so2 + w_nox · E_c,nox         (PM2.5-forming load)
  SR_cj  = exp(−km_cj / decay_km) · (1 + wind_skew · cos θ_jc), SR_cc = 1
           (θ_jc: angle between the prevailing wind and the direction from source j to receptor c)
  PM_c   = background_c + k_c · Σ_j SR_cj · P_j,  k_c calibrated so base-year PM_c is the observed value
  abatement_c = min(max_abatement, province goal (POLICY) + joint-control extra (JOINT_CONTROL))
  abatement cost_c = cost per tonne · tonnes removed (spent locally; not a transfer)

Plan clauses: bohai_rim_outline L800–821 (air pollution control, coal caps, backward capacity);
capital_metro_area L327; green_development L31 (coal control), L42 (PM2.5 as binding target).
"""

from __future__ import annotations

import numpy as np
from regionsim.model.rules.base import Lever, RuleSpec, StepContext, fmt
from regionsim.model.sectors import POLLUTANT_INDEX, SECTOR_INDEX
from regionsim.model.state import matvec

RULE = RuleSpec(
    id="AIR",
    key="air",
    stage="environment",
    title_en="Emissions and ambient PM2.5",
    title_zh="污染物排放与PM2.5浓度",
    clauses=("bohai_rim_outline L800–821", "capital_metro_area L327", "green_development L31", "green_development L42"),
    levers=(
        Lever("intensity_decline", 0.04, 0.0, 0.5, "Yearly decline of emission intensities", "排放强度年下降率",
              "bohai_rim_outline L800"),
        Lever("background_ugm3", 8.0, 0.0, 200.0, "Background PM2.5 (µg/m³)", "PM2.5本底浓度", "estimate: modelling assumption"),
        Lever("weight_so2", 0.3, 0.0, 5.0, "PM2.5 formed per tonne of SO2 (relative to primary)", "SO2二次转化系数",
              "estimate: modelling assumption"),
        Lever("weight_nox", 0.2, 0.0, 5.0, "PM2.5 formed per tonne of NOx (relative to primary)", "NOx二次转化系数",
              "estimate: modelling assumption"),
        Lever("decay_km", 120.0, 1.0, 5000.0, "Transport distance of pollution (km)", "污染传输距离（公里）",
              "estimate: modelling assumption"),
        Lever("wind_skew", 0.3, 0.0, 0.95, "Upwind–downwind asymmetry", "上下风向不对称系数", "estimate: modelling assumption"),
        Lever("wind_toward_deg", 30.0, 0.0, 360.0, "Direction the prevailing wind blows toward (° from north)",
              "主导风去向（自北顺时针度数）", "estimate: modelling assumption"),
        Lever("coal_cap_factor", 1.0, 0.0, 10.0, "Energy-sector output cap relative to the base year", "煤炭消费（能源产出）上限倍数",
              "bohai_rim_outline L806"),
        Lever("backward_cut_rate", 0.02, 0.0, 0.5, "Yearly cut of heavy industry where PM2.5 is above target",
              "超标城市淘汰落后产能年比例", "bohai_rim_outline L808"),
        Lever("cost_10k_yuan_per_t", 1.0, 0.0, 1000.0, "Abatement cost (万元 per tonne removed)", "减排成本（万元/吨）",
              "estimate: order of magnitude"),
    ),
)

ABATED = [POLLUTANT_INDEX[p] for p in ("so2", "nox", "pm25")]
ENERGY, HEAVY = SECTOR_INDEX["energy"], SECTOR_INDEX["heavy_industry"]


def source_receptor(state, p: dict) -> np.ndarray:
    """SR[c, j]: how much of source j's load reaches receptor c."""
    x = (state.lon[None, :] - state.lon[:, None]) * np.cos(np.radians(state.lat.mean()))  # j − c, eastward
    y = state.lat[None, :] - state.lat[:, None]
    # direction from source j to receptor c is −(x, y)
    angle = np.radians(p["wind_toward_deg"])
    wind = np.array([np.sin(angle), np.cos(angle)])
    norm = np.hypot(x, y)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_theta = np.where(norm > 0, (-x * wind[0] - y * wind[1]) / norm, 0.0)
    sr = np.exp(-state.distance_km / p["decay_km"]) * (1.0 + p["wind_skew"] * cos_theta)
    np.fill_diagonal(sr, 1.0)
    return sr


def emissions(state) -> tuple[np.ndarray, np.ndarray]:
    """City × pollutant emissions after abatement, and before it (tonnes)."""
    raw = state.base_output @ state.intensity
    fn = state.fn_output[:, None] * state.intensity[state.fn_sector] * state.fn_emission_factor[:, None]
    np.add.at(raw, state.fn_host, fn)
    abated = raw.copy()
    abated[:, ABATED] *= 1.0 - state.abatement[:, None]
    return abated, raw


def load(state, p: dict, e: np.ndarray) -> np.ndarray:
    """PM2.5-forming load per city."""
    return e[:, POLLUTANT_INDEX["pm25"]] + p["weight_so2"] * e[:, POLLUTANT_INDEX["so2"]] + p["weight_nox"] * e[:, POLLUTANT_INDEX["nox"]]


def initialise(state, params: dict) -> None:
    """Build the source–receptor matrix and calibrate k_c to the base year's observed PM2.5."""
    p = params["air"]
    state.source_receptor = source_receptor(state, p)
    e, _ = emissions(state)
    state.emissions = e
    modelled = matvec(state.source_receptor, load(state, p, e))
    state.pm25_background = np.minimum(p["background_ugm3"], 0.5 * state.pm25)
    state.pm25_scale = (state.pm25 - state.pm25_background) / np.maximum(modelled, 1e-12)
    state.base_energy_by_province = state.province_sum(state.base_output[:, ENERGY])


def concentration(state, p: dict, e: np.ndarray) -> np.ndarray:
    """Ambient PM2.5 per city from emissions `e`."""
    return state.pm25_background + state.pm25_scale * matvec(state.source_receptor, load(state, p, e))


def apply(ctx: StepContext) -> None:
    """Cleaner technology, coal cap, backward-capacity cuts, emissions and PM2.5 for this year."""
    state, p = ctx.state, ctx.params["air"]
    years = state.year - state.base_year + 1
    state.intensity = state.base_intensity * (1.0 - p["intensity_decline"]) ** years

    energy = state.province_sum(state.base_output[:, ENERGY])
    cap = p["coal_cap_factor"] * state.base_energy_by_province
    over = energy > cap + 1e-9
    if over.any():
        factor = np.where(over, cap / np.maximum(energy, 1e-12), 1.0)[state.city_province]
        cut = state.base_output[:, ENERGY] * (1.0 - factor)
        state.base_output[:, ENERGY] *= factor
        for prov in np.nonzero(over)[0]:
            amount = float(cut[state.city_province == prov].sum())
            ctx.events.add(
                ctx.year, "AIR", "policy", state.province_ids[prov], state.province_ids[prov], amount=amount,
                unit="100m yuan output", clause="bohai_rim_outline L806",
                why_en=f"Coal cap binds in {state.province_names_en[prov]}: {fmt(amount)} 亿元 of energy output curtailed",
                why_zh=f"{state.province_names_zh[prov]}煤炭消费总量控制生效：压减能源产出{fmt(amount)}亿元",
            )

    above = state.pm25 > state.pm25_target[state.city_province]
    cut = state.base_output[:, HEAVY] * p["backward_cut_rate"] * above
    state.base_output[:, HEAVY] -= cut
    closing = np.nonzero(cut > 0.5)[0]
    closed, pm_now = cut[closing], state.pm25[closing]
    target = state.pm25_target[state.city_province[closing]]
    en, zh = state.labels("city_names_en"), state.labels("city_names_zh")

    def why_en() -> list[str]:
        return [f"{c} closes {x:,.1f} 亿元 of backward heavy-industry capacity: PM2.5 {pm:,.1f} above target {t:,.1f}"
                for c, x, pm, t in zip(en[closing].tolist(), closed.tolist(), pm_now.tolist(), target.tolist(), strict=True)]

    def why_zh() -> list[str]:
        return [f"{c}淘汰落后重化工产能{x:,.1f}亿元：PM2.5为{pm:,.1f}，高于目标{t:,.1f}"
                for c, x, pm, t in zip(zh[closing].tolist(), closed.tolist(), pm_now.tolist(), target.tolist(), strict=True)]

    ids = state.labels("city_ids")
    ctx.events.add_many(len(closing), ctx.year, "AIR", "closure", ids[closing], ids[closing], amount=closed,
                        unit="100m yuan output", clause="bohai_rim_outline L808", why_en=why_en, why_zh=why_zh)

    max_abatement = ctx.params["policy"]["max_abatement"]
    own = state.province_abatement_goal[state.city_province] if ctx.on("policy") else np.zeros(state.n_cities)
    state.abatement = np.minimum(max_abatement, own + state.jc_abatement)
    e, raw = emissions(state)
    removed_t = (raw[:, ABATED] - e[:, ABATED]).sum(axis=1)
    state.abatement_cost = removed_t * p["cost_10k_yuan_per_t"] * 1e-4  # 万元 → 亿元
    state.emissions = e
    state.pm25 = concentration(state, p, e)
