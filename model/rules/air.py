"""AIR — emissions from output, ambient PM2.5 through a source–receptor matrix, coal caps.

Picture every city as a chimney whose smoke is its sector output times each sector's emission
intensity, less what end-of-pipe abatement removes. Smoke drifts: a city breathes its own and a
share of its neighbours', less with distance and more from upwind. Intensities fall each year
(cleaner technology); a coal cap holds the energy sector at its base-year size; cities above
their province's target cut backward heavy-industry capacity. Abatement is not free: what it
costs comes out of the abating city's industrial output (JOINT_CONTROL moves part of the bill
to the downwind provinces that benefit).

  intensity_sp(t) = intensity_sp(base) · (1 − intensity_decline)^(t − base)
  E_cp   = Σ_s output_cs · intensity_sp · (1 − upgrade · clean_cs) · (1 − abatement_c)
           (functions: · their emission factor; CO2 is not abated end-of-pipe)
  P_c    = E_c,pm25 + w_so2 · E_c,so2 + w_nox · E_c,nox         (PM2.5-forming load)
  PM_c   = background_c + k_c · Σ_j SR_cj · P_j,  k_c calibrated so base-year PM_c is the observed value

The source–receptor matrix has a documented, normalised form — an annual-mean box-and-plume
picture. A city's own load mixes over its own box (width ≈ its equivalent diameter 2·r_c,
r_c = √(area_c/π)); a neighbour's load, averaged over a year of wind directions, reaches c spread
over a circle of circumference 2π·d_cj, and is lost on the way (deposition, chemistry) at
e-folding distance `decay_km`. Dividing by the own-box term:

  SR_cc = 1
  SR_cj = min(1, transport_scale · (r_c / (π · d_cj)) · exp(−d_cj / decay_km) · (1 + wind_skew · cos θ_jc))
          (θ_jc: angle between the prevailing wind and the direction from source j to receptor c)

so a neighbour's tonne always counts less than one of the city's own, falling as 1/d. k_c then is
physically ≈ const / r_c; the per-city calibration absorbs inventory errors. `transport_scale`
(an uncertainty) is calibrated per scenario so Beijing's base-year share of PM2.5 from outside
Beijing lies in the published range (docs/VALIDATION.md §3; `outside_share`).

Leakage control (JOINT_CONTROL on, `leakage_ban`): new industrial capacity in a city — output
arriving by TRANSFER or growing in place — must meet the raised entry threshold (bohai_rim_outline
L806–808「统筹开展产业发展环境影响评价，…提高环境准入门槛」): it enters with intensity ·
(1 − equipment_upgrade). clean_cs is the share of city c's sector-s capacity built that way
(capacity that shrinks, shrinks pro rata). RELOCATE's moved industrial plants (energy, heavy industry,
general manufacturing) get the same cut through their emission factor.

Abatement and its cost:
  abatement_c = min(max_abatement, province goal (POLICY) + joint-control extra (JOINT_CONTROL)
                    + tonnes the fund's clean-up money bought (FUND: amount / cost per tonne) / raw tonnes)
  cost_c      = cost per tonne · tonnes removed (SO2, NOx, primary PM2.5)
  the cost is borne where it happens, by the industry that emits: sector s of city c loses
  cost_c · load_cs / Σ_s load_cs of this year's value added (at most half of it), i.e. output =
  capacity · (1 − drag_cs); next year the drag is recomputed from capacity (it does not compound).
Capacity cuts (coal cap, backward capacity) cut capacity itself.

Agreed payments for abatement (`abatement_payments`, a list of [payer province, recipient province,
亿元 per year]; empty by default; the classroom game's accepted offers set it): each year the payer's cities
pay the amount, in proportion to their tax revenue, to the recipient's cities, in proportion to their raw
tonnes of SO2, NOx and primary PM2.5; each recipient city spends what it received this year on end-of-pipe
abatement at the cost per tonne, as it spends the fund's clean-up money (the same tonnes / raw tonnes term
of abatement_c above, so every recipient city's share rises alike; money beyond max_abatement buys
nothing but is still paid). As Tianjin paid Cangzhou and Tangshan (green_development L86「天津投入4亿元支持沧州、唐山两市治理大气污染」).

Plan clauses: bohai_rim_outline L800「同治大气污染」 (air pollution control), L808「加强煤炭消费总量控制」 (coal cap),
L814「加快淘汰火电、钢铁、有色、建材、化工等重污染」 (backward capacity); capital_metro_area L327「協同培育綠色低碳能源消費模式」;
green_development L31「总量和强度双控」 (coal control), L42「将细颗粒物等环境质量指标列入约束性指标」 (PM2.5 binding).
"""

from __future__ import annotations

import numpy as np
from regionsim.model.kernels import matvec
from regionsim.model.rules.base import UNCERTAINTY, Lever, RuleSpec, StepContext, fmt, shares
from regionsim.model.sectors import POLLUTANT_INDEX, SECTOR_INDEX

_EST = "estimate: modelling assumption"
RULE = RuleSpec(
    id="AIR",
    key="air",
    stage="environment",
    title_en="Emissions and ambient PM2.5",
    title_zh="污染物排放与PM2.5浓度",
    clauses=(
        "bohai_rim_outline L800「同治大气污染」",
        "bohai_rim_outline L808「加强煤炭消费总量控制」",
        "bohai_rim_outline L814「加快淘汰火电、钢铁、有色、建材、化工等重污染」",
        "capital_metro_area L327「協同培育綠色低碳能源消費模式」",
        "green_development L31「总量和强度双控」",
        "green_development L42「将细颗粒物等环境质量指标列入约束性指标」",
    ),
    levers=(
        Lever(
            "intensity_decline",
            0.04,
            0.0,
            0.5,
            "Yearly decline of emission intensities",
            "排放强度年下降率",
            "estimate: cleaner-technology trend",
            role=UNCERTAINTY,
        ),
        Lever("background_ugm3", 8.0, 0.0, 200.0, "Background PM2.5 (µg/m³)", "PM2.5本底浓度", _EST, role=UNCERTAINTY),
        Lever(
            "weight_so2", 0.3, 0.0, 5.0, "PM2.5 formed per tonne of SO2 (relative to primary)", "SO2二次转化系数", _EST, role=UNCERTAINTY
        ),
        Lever(
            "weight_nox", 0.2, 0.0, 5.0, "PM2.5 formed per tonne of NOx (relative to primary)", "NOx二次转化系数", _EST, role=UNCERTAINTY
        ),
        Lever("decay_km", 120.0, 1.0, 5000.0, "Transport distance of pollution (km)", "污染传输距离（公里）", _EST, role=UNCERTAINTY),
        Lever(
            "transport_scale",
            0.82,
            0.0,
            20.0,
            "Weight of transported load relative to the plume picture",
            "区域传输强度系数",
            "estimate: calibrated per scenario to Beijing's published regional-transport share",
            role=UNCERTAINTY,
        ),
        Lever("wind_skew", 0.3, 0.0, 0.95, "Upwind–downwind asymmetry", "上下风向不对称系数", _EST, role=UNCERTAINTY),
        Lever(
            "wind_toward_deg",
            30.0,
            0.0,
            360.0,
            "Direction the prevailing wind blows toward (° from north)",
            "主导风去向（自北顺时针度数）",
            _EST,
            role=UNCERTAINTY,
        ),
        Lever(
            "coal_cap_factor",
            1.0,
            0.0,
            10.0,
            "Energy-sector output cap relative to the base year",
            "煤炭消费（能源产出）上限倍数",
            "bohai_rim_outline L808「加强煤炭消费总量控制」",
        ),
        Lever(
            "backward_cut_rate",
            0.02,
            0.0,
            0.5,
            "Yearly cut of heavy industry where PM2.5 is above target",
            "超标城市淘汰落后产能年比例",
            "bohai_rim_outline L814「加快淘汰火电、钢铁、有色、建材、化工等重污染」",
        ),
        Lever(
            "cost_10k_yuan_per_t",
            30.9,
            0.0,
            1000.0,
            "Abatement cost (万元 per tonne removed)",
            "减排成本（万元/吨）",
            "estimate: calibrated per scenario to green_development L86「天津投入4亿元支持沧州、唐山两市治理大气污染」",
            role=UNCERTAINTY,
        ),
    ),
    list_params={"abatement_payments": "province_payments"},
    list_defaults={"abatement_payments": []},
)

PAYMENT_CLAUSE = "green_development L86「天津投入4亿元支持沧州、唐山两市治理大气污染」"
"""The clause each agreed payment for abatement cites."""

ABATED = [POLLUTANT_INDEX[p] for p in ("so2", "nox", "pm25")]
ENERGY, HEAVY = SECTOR_INDEX["energy"], SECTOR_INDEX["heavy_industry"]
INDUSTRY = [SECTOR_INDEX[s] for s in ("energy", "heavy_industry", "general_manufacturing")]
"""Sectors whose new capacity leakage control upgrades."""
MAX_DRAG = 0.5
"""Largest share of a sector's value added that abatement cost may take in one year."""


def equivalent_radius_km(state) -> np.ndarray:
    """r_c = √(area_c / π): the radius of a disc as large as the city."""
    return np.sqrt(np.maximum(state.area_km2, 1e-9) / np.pi)


def source_receptor(state, p: dict) -> np.ndarray:
    """SR[c, j]: how much of source j's load reaches receptor c, relative to c's own (SR_cc = 1)."""
    x = (state.lon[None, :] - state.lon[:, None]) * np.cos(np.radians(state.lat.mean()))  # j − c, eastward
    y = state.lat[None, :] - state.lat[:, None]
    # direction from source j to receptor c is −(x, y)
    angle = np.radians(p["wind_toward_deg"])
    wind = np.array([np.sin(angle), np.cos(angle)])
    norm = np.hypot(x, y)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_theta = np.where(norm > 0, (-x * wind[0] - y * wind[1]) / norm, 0.0)
        d = np.maximum(state.distance_km, 1e-9)
        plume = equivalent_radius_km(state)[:, None] / (np.pi * d)
    sr = np.minimum(1.0, p["transport_scale"] * plume * np.exp(-d / p["decay_km"]) * (1.0 + p["wind_skew"] * cos_theta))
    np.fill_diagonal(sr, 1.0)
    return sr


def emission_factor(state) -> np.ndarray:
    """City × sector multiplier on intensities: 1 − upgrade · clean share (1 where nothing was upgraded)."""
    return 1.0 - state.clean_upgrade * state.clean_share


def emissions(state) -> tuple[np.ndarray, np.ndarray]:
    """City × pollutant emissions after abatement, and before it (tonnes)."""
    raw = (state.base_output * emission_factor(state)) @ state.intensity
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
    n, s = state.base_output.shape
    state.clean_share = np.zeros((n, s))
    state.clean_upgrade = 0.0
    state.abatement_drag = np.zeros((n, s))
    state.industry_capacity = state.base_output.copy()
    state.fund_cleanup = np.zeros(n)
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


def outside_share(state, p: dict, province: int) -> float:
    """Share of the population-weighted PM2.5 of `province`'s cities that does not come from the
    province's own emissions (other provinces' load plus background) — what a source apportionment
    calls regional transport."""
    members = state.city_province == province
    own = load(state, p, state.emissions) * members
    local = state.pm25_scale * matvec(state.source_receptor, own)
    w = state.population * members
    total = float((w * state.pm25).sum())
    return float((w * (state.pm25 - local)).sum() / max(total, 1e-12))


def _restore_capacity(state) -> None:
    """Undo last year's abatement drag (output back to capacity) and track new clean capacity."""
    capacity = state.base_output / (1.0 - state.abatement_drag)
    state.base_output = capacity
    state.abatement_drag = np.zeros_like(capacity)
    new = np.maximum(capacity[:, INDUSTRY] - state.industry_capacity[:, INDUSTRY], 0.0)
    clean_new = new if state.clean_upgrade > 0 else np.zeros_like(new)
    old = np.minimum(capacity[:, INDUSTRY], state.industry_capacity[:, INDUSTRY])
    state.clean_share[:, INDUSTRY] = np.where(
        capacity[:, INDUSTRY] > 0, (state.clean_share[:, INDUSTRY] * old + clean_new) / np.maximum(capacity[:, INDUSTRY], 1e-12), 0.0
    )


def _bear_cost(state, p: dict) -> None:
    """Take this year's abatement cost out of the abating city's emitting sectors' value added."""
    weights = (
        state.base_output
        * emission_factor(state)
        * (
            state.intensity[:, POLLUTANT_INDEX["pm25"]]
            + p["weight_so2"] * state.intensity[:, POLLUTANT_INDEX["so2"]]
            + p["weight_nox"] * state.intensity[:, POLLUTANT_INDEX["nox"]]
        )[None, :]
    )
    share = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-300)
    drag = np.minimum(MAX_DRAG, state.abatement_cost[:, None] * share / np.maximum(state.base_output, 1e-12))
    state.abatement_drag = np.where(state.base_output > 0, drag, 0.0)
    state.base_output = state.base_output * (1.0 - state.abatement_drag)


def pay_for_abatement(ctx: StepContext, raw: np.ndarray) -> np.ndarray:
    """This year's agreed payments for abatement (module docstring), recorded in the ledger; return the
    亿元 each city received for its abatement."""
    state = ctx.state
    received = np.zeros(state.n_cities)
    tax = state.tax_revenue()
    tonnes = raw[:, ABATED].sum(axis=1)
    cost = max(ctx.params["air"]["cost_10k_yuan_per_t"], 1e-12)
    for payer_id, recipient_id, amount in ctx.params["air"]["abatement_payments"]:
        if amount <= 0:
            continue
        i, j = state.province_ids.index(payer_id), state.province_ids.index(recipient_id)
        payers, payees = np.nonzero(state.city_province == i)[0], np.nonzero(state.city_province == j)[0]
        paid, got = amount * shares(tax[payers]), amount * shares(tonnes[payees])
        flows = np.outer(paid, got) / amount  # payer city × payee city; rows sum to paid, columns to got
        state.transfers.pay("AIR", np.repeat(payers, len(payees)), np.tile(payees, len(payers)), flows.ravel())
        received[payees] += got
        bought_t = amount * 1e4 / cost
        ctx.events.add(
            ctx.year,
            "AIR",
            "payment",
            payer_id,
            recipient_id,
            units=len(payees),
            amount=float(amount),
            unit="100m yuan",
            clause=PAYMENT_CLAUSE,
            why_en=(
                f"{state.province_names_en[i]} pays {state.province_names_en[j]} {fmt(amount, 3)} 亿元 as agreed for its "
                f"abatement: about {bought_t:,.0f} t of SO2, NOx and dust removed there"
            ),
            why_zh=(
                f"{state.province_names_zh[i]}按约定向{state.province_names_zh[j]}支付{fmt(amount, 3)}亿元减排费用："
                f"可在当地削减约{bought_t:,.0f}吨二氧化硫、氮氧化物和烟粉尘"
            ),
        )
    return received


def apply(ctx: StepContext) -> None:
    """Cleaner technology, coal cap, backward-capacity cuts, emissions, PM2.5 and abatement cost for this year."""
    state, p = ctx.state, ctx.params["air"]
    jc = ctx.params["joint_control"]
    state.clean_upgrade = float(jc["equipment_upgrade"]) if ctx.on("joint_control") and jc["leakage_ban"] else 0.0
    _restore_capacity(state)
    years = state.year - state.base_year
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
                ctx.year,
                "AIR",
                "policy",
                state.province_ids[prov],
                state.province_ids[prov],
                amount=amount,
                unit="100m yuan output",
                clause="bohai_rim_outline L808「加强煤炭消费总量控制」",
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
        return [
            f"{c} closes {x:,.1f} 亿元 of backward heavy-industry capacity: PM2.5 {pm:,.1f} above target {t:,.1f}"
            for c, x, pm, t in zip(en[closing].tolist(), closed.tolist(), pm_now.tolist(), target.tolist(), strict=True)
        ]

    def why_zh() -> list[str]:
        return [
            f"{c}淘汰落后重化工产能{x:,.1f}亿元：PM2.5为{pm:,.1f}，高于目标{t:,.1f}"
            for c, x, pm, t in zip(zh[closing].tolist(), closed.tolist(), pm_now.tolist(), target.tolist(), strict=True)
        ]

    ids = state.labels("city_ids")
    ctx.events.add_many(
        len(closing),
        ctx.year,
        "AIR",
        "closure",
        ids[closing],
        ids[closing],
        amount=closed,
        unit="100m yuan output",
        clause="bohai_rim_outline L814「加快淘汰火电、钢铁、有色、建材、化工等重污染」",
        why_en=why_en,
        why_zh=why_zh,
    )

    max_abatement = ctx.params["policy"]["max_abatement"]
    own = state.province_abatement_goal[state.city_province] if ctx.on("policy") else np.zeros(state.n_cities)
    state.abatement = np.minimum(max_abatement, own + state.jc_abatement)
    _, raw = emissions(state)
    bought = state.fund_cleanup
    if ctx.params["air"].get("abatement_payments"):
        bought = bought + pay_for_abatement(ctx, raw)
    funded_t = bought * 1e4 / max(p["cost_10k_yuan_per_t"], 1e-12)  # 亿元 → tonnes
    funded = funded_t / np.maximum(raw[:, ABATED].sum(axis=1), 1e-12)
    state.abatement = np.minimum(max_abatement, own + state.jc_abatement + funded)
    e, raw = emissions(state)
    removed_t = (raw[:, ABATED] - e[:, ABATED]).sum(axis=1)
    state.abatement_cost = removed_t * p["cost_10k_yuan_per_t"] * 1e-4  # 万元 → 亿元
    state.industry_capacity = state.base_output.copy()
    _bear_cost(state, p)
    e, _ = emissions(state)
    state.emissions = e
    state.pm25 = concentration(state, p, e)
