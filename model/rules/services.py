"""SERVICES — public services follow schools and hospitals, and the money spent on them.

Picture a county that receives a branch of a famous Beijing hospital and a university campus:
after a few years of building, its residents get better services, and people start to move there
(MIGRATE reads the service level). The central city that sent them loses some of that draw.
Money matters too, but as a stock: what a city's budget spends builds schools and clinics that
wear out, so a year of extra transfers raises services a little, for a while.

  EH_c(t)  = jobs in education and health in city c: the sector base plus hosted universities and
             hospitals, counting a unit that moved only `lag_years` after its move (being set up)
  budget_c = last year's fiscal revenue: tax + net transfers received (≥ 0)
  S_c     ← (1 − depreciation) · S_c + budget_c,   S_c0 = budget_c0 / depreciation (the steady state)
  r_c      = (S_c / pop_c) / (S_c0 / pop_c0)                     (the stock per resident against the base year)
  money_c  = B^tanh(ln r_c / ln B),  B = max_money_ratio           (money_c = 1 when B = 1)
  level_c  = base_c · ((EH_c / pop_c) / (EH_c0 / pop_c0))^strength · money_c^fiscal_strength
The stock never exceeds budget/depreciation summed over the years it was fed, so one-off money
fades at `depreciation` a year. Money has diminishing returns: near the base year money_c ≈ r_c (a
tenth more stock per resident, about a tenth more), and the factor bends smoothly toward its bounds
B and 1/B, never past them (a doubling of the stock per resident gives ×1.70 with B = 2, ×1.94 with
B = 6). So B shapes every year's response, not only the years a hard clip would bind.

Plan clauses: capital_metro_area L339「推動公共服務資源共建共用」, L353「有序推進醫療衛生資源疏解和承接」
(shared public services, branch schools and hospitals); harbin_changchun L432「基本公共服务共享」,
L438「推进优质教育资源区域共享」, L446「共享医疗卫生资源」. How strongly services answer to jobs and money, and
how long a moved unit takes to serve, are estimates.
"""

from __future__ import annotations

import numpy as np
from regionsim.model.rules.base import UNCERTAINTY, Lever, RuleSpec, StepContext
from regionsim.model.sectors import SECTOR_INDEX
from regionsim.model.state import service_function_jobs

RULE = RuleSpec(
    id="SERVICES",
    key="services",
    stage="people",
    title_en="Public-service sharing",
    title_zh="公共服务共建共享",
    clauses=(
        "capital_metro_area L339「推動公共服務資源共建共用」",
        "capital_metro_area L353「有序推進醫療衛生資源疏解和承接」",
        "harbin_changchun L432「基本公共服务共享」",
        "harbin_changchun L438「推进优质教育资源区域共享」",
    ),
    levers=(
        Lever(
            "strength",
            0.5,
            0.0,
            5.0,
            "Elasticity of service level to education and health jobs per resident",
            "公共服务水平对教育医疗岗位的弹性",
            "estimate: modelling assumption (services shared as in capital_metro_area L339「推動公共服務資源共建共用」)",
            role=UNCERTAINTY,
        ),
        Lever(
            "lag_years",
            2,
            0,
            20,
            "Years before a moved school or hospital serves residents",
            "迁入学校医院发挥作用的滞后年数",
            "estimate: construction time",
            kind="int",
            role=UNCERTAINTY,
        ),
        Lever(
            "depreciation",
            0.1,
            0.01,
            1.0,
            "Yearly depreciation of the public-service stock",
            "公共服务存量年折旧率",
            "estimate: ≈10-year life of equipment, buildings' upkeep",
            role=UNCERTAINTY,
        ),
        Lever(
            "max_money_ratio",
            2.0,
            1.0,
            10.0,
            "Saturation of the money factor: the most (and 1/ the least) the service stock can do",
            "公共服务存量作用的饱和倍数（上下限）",
            "estimate: modelling assumption",
            role=UNCERTAINTY,
        ),
        Lever(
            "fiscal_strength",
            0.5,
            0.0,
            2.0,
            "Elasticity of service level to the service stock per resident",
            "公共服务水平对人均公共服务存量的弹性",
            "estimate: modelling assumption (transfers as in green_development L15「加大对农产品主产区和重点生态功能区的转移支付力度」)",
            role=UNCERTAINTY,
        ),
    ),
)

EH_SECTORS = [SECTOR_INDEX["education"], SECTOR_INDEX["health"]]


def education_health_jobs(state, lag_years: int) -> np.ndarray:
    """Jobs in education and health per city, with recently moved units not yet counted."""
    base = (state.base_output[:, EH_SECTORS] * 1e4 / state.productivity[EH_SECTORS]).sum(axis=1)
    return base + service_function_jobs(state, moved_before=state.year - lag_years)


def money_factor(ratio: np.ndarray, bound: float) -> np.ndarray:
    """money = B^tanh(ln ratio / ln B): ≈ ratio near 1, saturating smoothly within [1/B, B] (1 when B = 1)."""
    if bound <= 1.0:
        return np.ones_like(ratio, dtype=float)
    log_bound = np.log(bound)
    return np.exp(log_bound * np.tanh(np.log(np.maximum(ratio, 1e-300)) / log_bound))


def initialise(state, params: dict) -> None:
    """Remember the base year's education and health jobs per resident; start the service stock at
    its steady state for the base-year budget."""
    state.eh_per_capita0 = education_health_jobs(state, 0) / np.maximum(state.population, 1.0)
    budget = np.maximum(state.fiscal_revenue, 0.0)
    state.service_stock = budget / params["services"]["depreciation"]
    state.service_stock_per_capita0 = state.service_stock / np.maximum(state.population, 1.0)


def apply(ctx: StepContext) -> None:
    """Feed and depreciate the service stock; recompute each city's public-service level."""
    state, p = ctx.state, ctx.params["services"]
    per_capita = education_health_jobs(state, int(p["lag_years"])) / np.maximum(state.population, 1.0)
    ratio = np.clip(per_capita / np.maximum(state.eh_per_capita0, 1e-12), 0.05, 20.0)
    state.service_stock = (1.0 - p["depreciation"]) * state.service_stock + np.maximum(state.fiscal_revenue, 0.0)
    per_capita = state.service_stock / np.maximum(state.population, 1.0)
    money = money_factor(per_capita / np.maximum(state.service_stock_per_capita0, 1e-12), float(p["max_money_ratio"]))
    state.service_level = state.service_base * ratio ** p["strength"] * money ** p["fiscal_strength"]
