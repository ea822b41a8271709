"""GROWTH — output grows by sector, faster where activity is dense and near innovation hubs.

Picture each city's sector drawers filling a little every year: at the sector's trend rate, a bit
faster in dense cities (agglomeration), and — for manufacturing and R&D — faster near the cities
where research is concentrated (value-chain spillovers: research in Beijing, pilot production and
manufacturing in Langfang, the Northern Three Counties, Tianjin; capital_metro_area L461「北三縣主要在中試孵化、生産製造」,
L633「實現原始創新策源、科技孵化轉化、生産製造應用的全鏈條融合」).

  z_c      = clip(ln density_c − population-weighted mean ln density, −2, 2)
  access_c = Σ_{i≠c} R_i · exp(−minutes_ic / decay) / Σ_i R_i      (R = research output)
  slow_t   = clip((ȳ_t / ȳ_0)^(−convergence), 0.25, 2)   (ȳ: the region's GDP per resident; 0: base year)
  rate_cs  = growth_scale · g_s · slow_t + agglomeration · z_c + spillover · access_c · [s ∈ manufacturing, R&D]
  output_cs ← output_cs · (1 + rate_cs)        (base output and hosted functions alike)
  labour productivity_s ← productivity_s · (1 + productivity_growth · slow_t)
so jobs grow by (1 + rate)/(1 + productivity_growth · slow_t).

Growth slows as the region grows richer: when the region's income per resident has doubled since the
base year, trend growth and productivity growth run at 2^(−convergence) of their base-year pace.
Without it, trend rates fixed per sector make the region's growth accelerate as the mix shifts toward
the fast sectors — the opposite of what was observed (the provinces of these regions grew more slowly
each year after 2014; see the hindcast in docs/VALIDATION.md §3). The slow-down is one factor for the
whole region, applied to output and productivity alike: a per-city factor on output alone would make a
rich city's jobs shrink every year at full productivity growth and empty it by migration — Beijing lost
15% of its residents by 2035 that way, against a flat observed path. `convergence` is an uncertainty.

Growth needs workers. The region's jobs may not exceed its residents times the base year's jobs per
resident times `max_jobs_per_worker` (how far jobs per worker can rise above the base year as
participation, hours and in-commuting rise; a share of residents who work would cancel here, since
only the change from the base year counts, so there is no participation lever). When this year's
rates would need more, the part of every rate above productivity growth is scaled by one factor
k ∈ [0, 1] (rate' = g + k · (rate − g)) so that jobs just fill the labour force: in the long run
output then grows with productivity, as it must, rather than compounding without limit.

Costs follow the economy. A city's cost index (wages and land, MIGRATE's and RELOCATE's cost and
TRANSFER's gradient) rises where income per resident and density rise faster than the region's:
  cost_c = cost_c0 · ((y_c / y_c0) / (ȳ / ȳ_0))^cost_income_elasticity
                   · ((pop_c / pop_c0) / (P / P_0))^cost_density_elasticity
(y: GDP per resident, ȳ: the region's, P: the region's residents; 0: base year), so the index stays
relative to the region, and a city that grows richer or denser than the rest grows dearer — wages
follow productivity, land prices follow crowding. The elasticities are uncertainties (estimates).

Plan clauses: capital_metro_area L461「明確通州區與北三縣産業定位」 (Tongzhou R&D, Northern Three Counties pilot production),
L631「北京三個科學城發揮原始創新策源、科技孵化轉化作用」, L635「北京平原新城發揮科技孵化轉化與生産製造應用優勢」
(innovation chain along the Beijing–Tianjin and Beijing–Xiong'an corridors: 原始创新 → 孵化转化 → 生产制造).
"""

from __future__ import annotations

import numpy as np
from regionsim.model.kernels import matvec, zero_self_pairs
from regionsim.model.network import travel_kernel
from regionsim.model.rules.base import UNCERTAINTY, Lever, RuleSpec, StepContext
from regionsim.model.sectors import SECTOR_INDEX

RULE = RuleSpec(
    id="GROWTH",
    key="growth",
    stage="economy",
    title_en="Economic growth, agglomeration and innovation spillovers",
    title_zh="经济增长、集聚与创新溢出",
    clauses=(
        "capital_metro_area L461「明確通州區與北三縣産業定位」",
        "capital_metro_area L631「發揮原始創新策源、科技孵化轉化作用」",
        "capital_metro_area L635「科技孵化轉化與生産製造應用優勢」",
    ),
    levers=(
        Lever(
            "growth_scale",
            1.0,
            0.0,
            3.0,
            "Multiplier on sector trend growth",
            "行业趋势增速倍数",
            "estimate: modelling assumption",
            role=UNCERTAINTY,
        ),
        Lever(
            "convergence",
            0.8,
            0.0,
            3.0,
            "Slow-down of trend growth with income (elasticity)",
            "增速随收入水平放缓的弹性",
            "estimate: calibrated in the bohai_rim hindcast",
            role=UNCERTAINTY,
        ),
        Lever(
            "agglomeration",
            0.005,
            0.0,
            0.1,
            "Extra growth per unit of log density",
            "集聚效应（每单位对数密度）",
            "estimate: modelling assumption",
            role=UNCERTAINTY,
        ),
        Lever(
            "spillover",
            0.03,
            0.0,
            0.2,
            "Growth from access to research hubs",
            "创新溢出强度",
            "capital_metro_area L461「明確通州區與北三縣産業定位」",
            role=UNCERTAINTY,
        ),
        Lever(
            "spillover_decay_minutes",
            90.0,
            1.0,
            5000.0,
            "Distance decay of spillovers (minutes)",
            "溢出距离衰减（分钟）",
            "estimate: modelling assumption",
            role=UNCERTAINTY,
        ),
        Lever(
            "productivity_growth",
            0.035,
            -0.1,
            0.1,
            "Labour productivity growth",
            "劳动生产率增速",
            "estimate: modelling assumption",
            role=UNCERTAINTY,
        ),
        Lever(
            "max_jobs_per_worker",
            1.2,
            0.5,
            2.0,
            "Largest jobs per resident, relative to the base year",
            "每名居民可承担岗位数相对基年的上限",
            "estimate: modelling assumption (participation, hours and in-commuting can rise about a fifth)",
            role=UNCERTAINTY,
        ),
        Lever(
            "cost_income_elasticity",
            0.5,
            0.0,
            3.0,
            "Elasticity of a city's cost index to its relative income per resident",
            "成本指数对相对人均收入的弹性",
            "estimate: modelling assumption (wages follow productivity)",
            role=UNCERTAINTY,
        ),
        Lever(
            "cost_density_elasticity",
            0.5,
            0.0,
            3.0,
            "Elasticity of a city's cost index to its relative density",
            "成本指数对相对人口密度的弹性",
            "estimate: modelling assumption (land prices follow crowding)",
            role=UNCERTAINTY,
        ),
    ),
)

SPILLOVER_SECTORS = [SECTOR_INDEX[s] for s in ("general_manufacturing", "advanced_manufacturing", "research")]


def reach(state, decay: float) -> np.ndarray:
    """exp(−minutes_ic / decay) with a zero diagonal (cached while travel times and the decay are unchanged)."""

    def entries(minutes: np.ndarray, rows: np.ndarray | None, cols: np.ndarray | None, out: np.ndarray | None) -> np.ndarray:
        with np.errstate(over="ignore"):
            reach = np.divide(minutes, -decay, out=out)
            return zero_self_pairs(np.exp(reach, out=reach), rows, cols)

    return travel_kernel(state, "growth.reach", (float(decay),), entries)


def rates(ctx: StepContext) -> np.ndarray:
    """City × sector growth rate this year."""
    state, p = ctx.state, ctx.params["growth"]
    density = state.population / state.area_km2
    log_density = np.log(np.maximum(density, 1e-6))
    weights = state.population / max(state.population.sum(), 1e-9)
    z = np.clip(log_density - (weights * log_density).sum(), -2.0, 2.0)
    research = state.output()[:, SECTOR_INDEX["research"]]
    access = matvec(reach(state, p["spillover_decay_minutes"]), research) / max(research.sum(), 1e-9)
    rate = p["growth_scale"] * state.output_growth[None, :] * slowdown(state, p) + p["agglomeration"] * z[:, None]
    rate = np.repeat(rate, 1, axis=0)
    rate[:, SPILLOVER_SECTORS] += p["spillover"] * access[:, None]
    return np.maximum(rate, -0.9)


def slowdown(state, p: dict) -> float:
    """slow_t: the factor on trend and productivity growth as the region's income per resident rises."""
    income = float(state.gdp().sum() / max(state.population.sum(), 1.0))
    return float(np.clip((income / state.gdp_per_capita0) ** (-p["convergence"]), 0.25, 2.0))


def productivity_growth(state, p: dict) -> float:
    """This year's labour-productivity growth: the lever's base-year pace times slow_t."""
    return p["productivity_growth"] * slowdown(state, p)


def job_limit(ctx: StepContext) -> float:
    """The most jobs the region's residents can fill: residents · base-year jobs per resident · max_jobs_per_worker."""
    state = ctx.state
    return float(ctx.params["growth"]["max_jobs_per_worker"] * state.jobs_per_resident0 * state.population.sum())


def initialise(state, params: dict) -> None:
    """Remember the base year's jobs per resident (the labour limit's reference), the region's GDP per
    resident (the reference of convergence), and each city's cost index and GDP per resident (the
    references of the cost index's path)."""
    state.gdp_per_capita0 = float(state.gdp().sum() / max(state.population.sum(), 1.0))
    state.jobs_per_resident0 = float(state.jobs().sum() / max(state.population.sum(), 1.0))
    state.cost_index0 = state.cost_index.copy()
    state.city_gdp_per_capita0 = state.gdp() / np.maximum(state.population, 1.0)


def cost_indices(state, p: dict) -> np.ndarray:
    """cost_c0 · (relative income growth)^cost_income_elasticity · (relative density growth)^cost_density_elasticity."""
    income = (state.gdp() / np.maximum(state.population, 1.0)) / np.maximum(state.city_gdp_per_capita0, 1e-12)
    region_income = float(state.gdp().sum() / max(state.population.sum(), 1.0)) / state.gdp_per_capita0
    crowding = state.population / np.maximum(state.initial_population, 1.0)
    region_crowding = float(state.population.sum() / max(state.initial_population.sum(), 1.0))
    return (
        state.cost_index0
        * np.maximum(income / region_income, 1e-6) ** p["cost_income_elasticity"]
        * np.maximum(crowding / region_crowding, 1e-6) ** p["cost_density_elasticity"]
    )


def labour_limited(ctx: StepContext, rate: np.ndarray) -> tuple[np.ndarray, float]:
    """Rates scaled so jobs do not outgrow the labour force, and the factor k used (1 = unconstrained)."""
    state, p = ctx.state, ctx.params["growth"]
    g = productivity_growth(state, p)
    base_jobs = state.base_output * 1e4 / state.productivity[None, :]
    now = base_jobs.sum() + state.fn_jobs.sum()
    fn_rate = rate[state.fn_host, state.fn_sector]
    extra = ((base_jobs * (rate - g)).sum() + (state.fn_jobs * (fn_rate - g)).sum()) / (1.0 + g)
    limit = job_limit(ctx)
    if extra <= 0 or now + extra <= limit:
        return rate, 1.0
    k = float(np.clip((limit - now) / extra, 0.0, 1.0))
    return g + k * (rate - g), k


def apply(ctx: StepContext) -> None:
    """Grow output and productivity within the labour force (hosted functions grow with their host's sector);
    move each city's cost index with its relative income and density."""
    state, p = ctx.state, ctx.params["growth"]
    g = productivity_growth(state, p)
    rate, _ = labour_limited(ctx, rates(ctx))
    state.base_output *= 1.0 + rate
    fn_rate = rate[state.fn_host, state.fn_sector]
    state.fn_output *= 1.0 + fn_rate
    state.fn_jobs *= (1.0 + fn_rate) / (1.0 + g)
    state.productivity *= 1.0 + g
    state.cost_index = cost_indices(state, p)
