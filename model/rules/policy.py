"""POLICY — provinces set this year's instruments from last year's state (stage 1).

Picture each provincial government reading last year's report: if its cities' PM2.5 is above the
province's target it orders more end-of-pipe abatement; if its population is near its cap it
presses harder on relocation. Two simple, stated feedback rules:

* abatement goal_p ← clip(goal_p + response · max(0, PM_p / target_p − 1)
                              − relax · max(0, 1 − PM_p / target_p), 0, max_abatement)
  where PM_p is the population-weighted PM2.5 of province p's cities; a province that commits to its
  own effort (`abatement_floor`, province id = share; empty: none, as before) keeps at least that share:
  goal_p ← max(goal_p, min(floor_p, max_abatement)) (bohai_rim_outline L802「贯彻落实大气污染防治行动计划」:
  each province carries out the action plan; the classroom game lets a province set its own effort);
* near_cap_p ← population_p ≥ cap_p · (1 − cap_warning_share): a government acts before its cap
  binds (RELOCATE then pushes out functions its cities are not positioned for);
  relocation pressure_p ← 1 + tightening · max(0, population_p / cap_p − (1 − cap_warning_share)),
  which multiplies RELOCATE's annual quota share for province p (not the release schedule, whose
  pace the scenario states). Beijing at 2185.8万 of 2300万 is at 95% of its cap: with the default
  warning share 0.1 its quota is ×(1 + 5 · 0.05) = ×1.25.

Plan clauses: green_development L42「将细颗粒物等环境质量指标列入约束性指标」 (PM2.5 as a binding target),
L69「北京市常住人口控制在2300万人以内」; capital_metro_area L43「控增量和疏存量相結合」;
bohai_rim_outline L802「贯彻落实大气污染防治行动计划」 (air-pollution control by province).
"""

from __future__ import annotations

import numpy as np
from regionsim.model.rules.base import UNCERTAINTY, Lever, RuleSpec, StepContext, fmt

RULE = RuleSpec(
    id="POLICY",
    key="policy",
    stage="policy",
    title_en="Provincial policy feedback",
    title_zh="省级政策反馈",
    clauses=(
        "green_development L42「将细颗粒物等环境质量指标列入约束性指标」",
        "green_development L69「北京市常住人口控制在2300万人以内」",
        "capital_metro_area L43「控增量和疏存量相結合」",
        "bohai_rim_outline L802「贯彻落实大气污染防治行动计划」",
    ),
    levers=(
        Lever(
            "abatement_response",
            0.1,
            0.0,
            5.0,
            "Abatement response to PM2.5 above target",
            "PM2.5超标时减排力度响应",
            "green_development L42「将细颗粒物等环境质量指标列入约束性指标」",
        ),
        Lever(
            "abatement_relax",
            0.05,
            0.0,
            1.0,
            "Abatement relaxation below target",
            "达标后减排放松速度",
            "estimate: modelling assumption",
            role=UNCERTAINTY,
        ),
        Lever(
            "max_abatement",
            0.7,
            0.0,
            0.95,
            "Largest end-of-pipe abatement share",
            "末端治理最大削减比例",
            "estimate: best available technology",
            role=UNCERTAINTY,
        ),
        Lever(
            "quota_tightening",
            5.0,
            0.0,
            50.0,
            "Relocation push per unit of population near or above cap",
            "人口接近或超过上限时疏解加压系数",
            "green_development L69「北京市常住人口控制在2300万人以内」",
        ),
        Lever(
            "cap_warning_share",
            0.1,
            0.0,
            0.5,
            "How far below its cap a province starts pushing (share of the cap)",
            "距人口上限多远开始加压疏解（上限的比例）",
            "estimate: modelling assumption (governments act before a cap binds)",
            role=UNCERTAINTY,
        ),
    ),
    list_params={"abatement_floor": "province_shares"},
    list_defaults={"abatement_floor": {}},
)


def apply(ctx: StepContext) -> None:
    """Update each province's abatement goal and relocation pressure from last year's state."""
    state, p = ctx.state, ctx.params["policy"]
    pop_by_province = state.province_sum(state.population)
    pm_by_province = state.province_sum(state.population * state.pm25) / np.maximum(pop_by_province, 1e-9)
    ratio = pm_by_province / state.pm25_target
    before = state.province_abatement_goal.copy()
    goal = before + p["abatement_response"] * np.maximum(0.0, ratio - 1.0) - p["abatement_relax"] * np.maximum(0.0, 1.0 - ratio)
    state.province_abatement_goal = np.clip(goal, 0.0, p["max_abatement"])
    committed = np.zeros(len(before), dtype=bool)
    if p["abatement_floor"]:
        floor = np.zeros(len(before))
        for province, share in p["abatement_floor"].items():
            floor[state.province_ids.index(province)] = min(float(share), p["max_abatement"])
        committed = floor > state.province_abatement_goal
        state.province_abatement_goal = np.maximum(state.province_abatement_goal, floor)
    warning = float(p["cap_warning_share"])
    excess = np.where(np.isfinite(state.province_population_cap), pop_by_province / state.province_population_cap - (1.0 - warning), -1.0)
    state.province_near_cap = excess >= 0.0
    state.relocation_pressure = 1.0 + p["quota_tightening"] * np.maximum(0.0, excess)

    for i in np.nonzero(committed & (np.abs(state.province_abatement_goal - before) >= 0.005))[0]:
        goal_i = float(state.province_abatement_goal[i])
        ctx.events.add(
            ctx.year,
            "POLICY",
            "policy",
            state.province_ids[i],
            state.province_ids[i],
            amount=goal_i,
            unit="abatement share",
            clause="bohai_rim_outline L802「贯彻落实大气污染防治行动计划」",
            why_en=f"{state.province_names_en[i]} holds end-of-pipe abatement at its own commitment of {goal_i:.0%}",
            why_zh=f"{state.province_names_zh[i]}按自身承诺将末端减排保持在{goal_i:.0%}",
        )
    for i in np.nonzero(~committed & (np.abs(state.province_abatement_goal - before) >= 0.005))[0]:
        up = state.province_abatement_goal[i] > before[i]
        name_en, name_zh = state.province_names_en[i], state.province_names_zh[i]
        ctx.events.add(
            ctx.year,
            "POLICY",
            "policy",
            state.province_ids[i],
            state.province_ids[i],
            amount=float(state.province_abatement_goal[i]),
            unit="abatement share",
            clause="green_development L42「将细颗粒物等环境质量指标列入约束性指标」",
            why_en=(
                f"{name_en} {'raises' if up else 'relaxes'} end-of-pipe abatement to "
                f"{state.province_abatement_goal[i]:.0%}: last year's PM2.5 {fmt(pm_by_province[i])} µg/m³ "
                f"{'above' if up else 'below'} its target {fmt(state.pm25_target[i])}"
            ),
            why_zh=(
                f"{name_zh}{'提高' if up else '放松'}末端减排至{state.province_abatement_goal[i]:.0%}："
                f"上年PM2.5为{fmt(pm_by_province[i])}微克/立方米，{'高于' if up else '低于'}目标{fmt(state.pm25_target[i])}"
            ),
        )
    for i in np.nonzero(excess > 0)[0]:
        share = pop_by_province[i] / state.province_population_cap[i]
        ctx.events.add(
            ctx.year,
            "POLICY",
            "policy",
            state.province_ids[i],
            state.province_ids[i],
            amount=float(state.relocation_pressure[i]),
            unit="quota multiplier",
            clause="green_development L69「北京市常住人口控制在2300万人以内」",
            why_en=(
                f"{state.province_names_en[i]} is at {share:.1%} of its population cap (warning from "
                f"{1 - warning:.0%}): relocation quotas ×{state.relocation_pressure[i]:.2f}"
            ),
            why_zh=(
                f"{state.province_names_zh[i]}常住人口达上限的{share:.1%}（{1 - warning:.0%}起加压）："
                f"疏解配额×{state.relocation_pressure[i]:.2f}"
            ),
        )
