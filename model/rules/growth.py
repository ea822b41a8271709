"""GROWTH — output grows by sector, faster where activity is dense and near innovation hubs.

Picture each city's sector drawers filling a little every year: at the sector's trend rate, a bit
faster in dense cities (agglomeration), and — for manufacturing and R&D — faster near the cities
where research is concentrated (value-chain spillovers: research in Beijing, pilot production and
manufacturing in Langfang, the Northern Three Counties, Tianjin; capital_metro_area L461, L611–659).

  z_c      = clip(ln density_c − population-weighted mean ln density, −2, 2)
  access_c = Σ_{i≠c} R_i · exp(−minutes_ic / decay) / Σ_i R_i      (R = research output)
  rate_cs  = growth_scale · g_s + agglomeration · z_c + spillover · access_c · [s ∈ manufacturing, R&D]
  output_cs ← output_cs · (1 + rate_cs)        (base output and hosted functions alike)
  labour productivity_s ← productivity_s · (1 + productivity_growth)
so jobs grow by (1 + rate)/(1 + productivity_growth).

Growth needs workers. The region's jobs may not exceed its labour force (participation · residents,
MIGRATE's participation) times max(base-year jobs per worker, `max_jobs_per_worker`). When this
year's rates would need more, the part of every rate above productivity growth is scaled by one
factor k ∈ [0, 1] (rate' = g + k · (rate − g)) so that jobs just fill the labour force: in the long
run output then grows with productivity, as it must, rather than compounding without limit.

Plan clauses: capital_metro_area L461 (Tongzhou R&D, Northern Three Counties pilot production),
L611–659 (innovation chain: 原始创新 → 孵化转化 → 生产制造).
"""

from __future__ import annotations

import numpy as np
from regionsim.model.rules.base import Lever, RuleSpec, StepContext
from regionsim.model.sectors import SECTOR_INDEX
from regionsim.model.state import matvec, travel_kernel, zero_self_pairs

RULE = RuleSpec(
    id="GROWTH",
    key="growth",
    stage="economy",
    title_en="Economic growth, agglomeration and innovation spillovers",
    title_zh="经济增长、集聚与创新溢出",
    clauses=("capital_metro_area L461", "capital_metro_area L611–659"),
    levers=(
        Lever("growth_scale", 1.0, 0.0, 3.0, "Multiplier on sector trend growth", "行业趋势增速倍数",
              "estimate: modelling assumption"),
        Lever("agglomeration", 0.005, 0.0, 0.1, "Extra growth per unit of log density", "集聚效应（每单位对数密度）",
              "estimate: modelling assumption"),
        Lever("spillover", 0.03, 0.0, 0.2, "Growth from access to research hubs", "创新溢出强度",
              "capital_metro_area L461"),
        Lever("spillover_decay_minutes", 90.0, 1.0, 5000.0, "Distance decay of spillovers (minutes)", "溢出距离衰减（分钟）",
              "estimate: modelling assumption"),
        Lever("productivity_growth", 0.035, -0.1, 0.1, "Labour productivity growth", "劳动生产率增速",
              "estimate: modelling assumption"),
        Lever("max_jobs_per_worker", 1.0, 0.5, 2.0, "Jobs the labour force can fill, per worker", "每名劳动力可承担的岗位数",
              "estimate: full employment"),
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
    rate = p["growth_scale"] * state.output_growth[None, :] + p["agglomeration"] * z[:, None]
    rate = np.repeat(rate, 1, axis=0)
    rate[:, SPILLOVER_SECTORS] += p["spillover"] * access[:, None]
    return np.maximum(rate, -0.9)


def labour_force(ctx: StepContext) -> float:
    """The region's workers: participation (MIGRATE's lever) times residents."""
    return float(ctx.params["migrate"]["participation"] * ctx.state.population.sum())


def initialise(state, params: dict) -> None:
    """Remember the base year's jobs per worker (the labour limit is never below it)."""
    state.jobs_per_worker0 = float(state.jobs().sum() / max(params["migrate"]["participation"] * state.population.sum(), 1.0))


def labour_limited(ctx: StepContext, rate: np.ndarray) -> tuple[np.ndarray, float]:
    """Rates scaled so jobs do not outgrow the labour force, and the factor k used (1 = unconstrained)."""
    state, p = ctx.state, ctx.params["growth"]
    g = p["productivity_growth"]
    base_jobs = state.base_output * 1e4 / state.productivity[None, :]
    now = base_jobs.sum() + state.fn_jobs.sum()
    fn_rate = rate[state.fn_host, state.fn_sector]
    extra = ((base_jobs * (rate - g)).sum() + (state.fn_jobs * (fn_rate - g)).sum()) / (1.0 + g)
    limit = max(state.jobs_per_worker0, p["max_jobs_per_worker"]) * labour_force(ctx)
    if extra <= 0 or now + extra <= limit:
        return rate, 1.0
    k = float(np.clip((limit - now) / extra, 0.0, 1.0))
    return g + k * (rate - g), k


def apply(ctx: StepContext) -> None:
    """Grow output and productivity within the labour force; hosted functions grow with their host's sector."""
    state, p = ctx.state, ctx.params["growth"]
    rate, _ = labour_limited(ctx, rates(ctx))
    state.base_output *= 1.0 + rate
    fn_rate = rate[state.fn_host, state.fn_sector]
    state.fn_output *= 1.0 + fn_rate
    state.fn_jobs *= (1.0 + fn_rate) / (1.0 + p["productivity_growth"])
    state.productivity *= 1.0 + p["productivity_growth"]
