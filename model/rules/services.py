"""SERVICES — public services follow schools and hospitals, and money received.

Picture a county that receives a branch of a famous Beijing hospital and a university campus:
after a few years of building, its residents get better services, and people start to move there
(MIGRATE reads the service level). The central city that sent them loses some of that draw.

  EH_c(t)  = jobs in education and health in city c: the sector base plus hosted universities and
             hospitals, counting a unit that moved only `lag_years` after its move (being set up)
  level_c  = base_c · ((EH_c / pop_c) / (EH_c0 / pop_c0))^strength
             · max(0.5, 1 + fiscal_strength · cumulative net transfers_c / GDP_c)

Plan clauses: capital_metro_area L341–369 (shared public services, branch schools and hospitals);
harbin_changchun L438–464.
"""

from __future__ import annotations

import numpy as np
from regionsim.model.rules.base import Lever, RuleSpec, StepContext
from regionsim.model.sectors import SECTOR_INDEX
from regionsim.model.state import service_function_jobs

RULE = RuleSpec(
    id="SERVICES",
    key="services",
    stage="people",
    title_en="Public-service sharing",
    title_zh="公共服务共建共享",
    clauses=("capital_metro_area L341–369", "harbin_changchun L438–464"),
    levers=(
        Lever("strength", 0.5, 0.0, 5.0, "Elasticity of service level to education and health jobs per resident",
              "公共服务水平对教育医疗岗位的弹性", "capital_metro_area L341"),
        Lever("lag_years", 2, 0, 20, "Years before a moved school or hospital serves residents",
              "迁入学校医院发挥作用的滞后年数", "estimate: construction time", kind="int"),
        Lever("fiscal_strength", 0.5, 0.0, 10.0, "Effect of money received on services", "转移支付对公共服务的作用",
              "capital_metro_area L731"),
    ),
)

EH_SECTORS = [SECTOR_INDEX["education"], SECTOR_INDEX["health"]]


def education_health_jobs(state, lag_years: int) -> np.ndarray:
    """Jobs in education and health per city, with recently moved units not yet counted."""
    base = (state.base_output[:, EH_SECTORS] * 1e4 / state.productivity[EH_SECTORS]).sum(axis=1)
    return base + service_function_jobs(state, moved_before=state.year - lag_years)


def initialise(state, params: dict) -> None:
    """Remember the base year's education and health jobs per resident."""
    state.eh_per_capita0 = education_health_jobs(state, 0) / np.maximum(state.population, 1.0)


def apply(ctx: StepContext) -> None:
    """Recompute each city's public-service level."""
    state, p = ctx.state, ctx.params["services"]
    per_capita = education_health_jobs(state, int(p["lag_years"])) / np.maximum(state.population, 1.0)
    ratio = np.clip(per_capita / np.maximum(state.eh_per_capita0, 1e-12), 0.05, 20.0)
    fiscal = np.maximum(0.5, 1.0 + p["fiscal_strength"] * state.cumulative_transfers[: state.n_cities]
                        / np.maximum(state.gdp(), 1e-9))
    state.service_level = state.service_base * ratio ** p["strength"] * fiscal
