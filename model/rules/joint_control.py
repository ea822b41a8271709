"""JOINT_CONTROL — joint air-pollution control: a shared target, coordinated abatement, downwind pays upwind.

Picture the region's governments around one table. When the region's population-weighted PM2.5
misses the shared target, they ask the cities whose smoke reaches the most people to abate more,
wherever they are; the downwind provinces that benefit help pay for the upwind cities' clean-up
(as Tianjin paid Cangzhou and Tangshan 4亿元 in 2015, green_development L86「天津投入4亿元支持沧州、唐山两市治理大气污染」);
and new industrial capacity — a relocated plant, output moved by market transfer, or growth in
place — must meet the raised entry threshold instead of carrying old furnaces along
(bohai_rim_outline L806–808「统筹开展产业发展环境影响评价，…提高环境准入门槛」; AIR and RELOCATE apply it).
Switched off, each province acts alone (POLICY's own-target feedback only), nobody pays anyone,
and new capacity keeps its sector's emission intensity.

Who sits at the table: `members` lists the provinces that joined (empty: every province, as before;
FUND's `members` works the same way). Only member cities get the coordinated extra abatement (a
non-member's extra is 0, as when the rule is off); payments flow only from member beneficiaries to member
upwind cities, and the denominator still counts every beneficiary, so a non-member's share of the benefit
is simply not paid (it free-rides). The raised entry threshold stays region-wide while the rule is on
(AIR and RELOCATE read one switch). The plan asks for joint control between named provinces
(bohai_rim_outline L804「强化京津冀及周边地区大气污染防治」); the classroom game lets each province choose.

  R        = Σ_c pop_c PM_c / Σ_c pop_c                         (regional exposure)
  impact_j = Σ_c pop_c · k_c · SR_cj · P_j                       (exposure caused by city j)
  extra_j ← min(max_abatement, extra_j + response · max(0, R/target − 1) · impact_j / max impact)
  payment r→j = payment_rate · abatement cost_j · benefit_rj / Σ_{r'≠j} benefit_r'j,
               benefit_rj = pop_r · k_r · SR_rj, paid only across provincial borders
The payment base is city j's whole end-of-pipe cost this year (AIR's abatement_cost_j, which its
industry bears as lost value added): the 2015 example supports the two cities' air-pollution
control as a whole, not a marginal extra. AIR's cost per tonne is calibrated so that, in bohai_rim,
Tianjin's payments to Cangzhou and Tangshan in 2015 come to about 4亿元 (docs/VALIDATION.md §3).

Plan clauses: bohai_rim_outline L802–804「强化区域大气污染联防联控」; green_development L86「天津投入4亿元支持沧州、唐山两市治理大气污染」;
inner_mongolia_bohai L69「推进乌海及周边小三角地区、京津冀区域大气污染联防联控」.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
from regionsim.model.events import text_join, text_number, text_pick
from regionsim.model.kernels import derived, entries_above, vecmat
from regionsim.model.rules import air
from regionsim.model.rules.base import Lever, RuleSpec, StepContext, fmt

RULE = RuleSpec(
    id="JOINT_CONTROL",
    key="joint_control",
    stage="environment",
    title_en="Joint air-pollution control",
    title_zh="大气污染联防联控",
    clauses=(
        "bohai_rim_outline L802–804「强化区域大气污染联防联控」",
        "green_development L86「天津投入4亿元支持沧州、唐山两市治理大气污染」",
        "inner_mongolia_bohai L69「推进乌海及周边小三角地区、京津冀区域大气污染联防联控」",
    ),
    levers=(
        Lever(
            "regional_target_ugm3",
            35.0,
            1.0,
            500.0,
            "Shared regional PM2.5 target (µg/m³)",
            "区域PM2.5共同目标",
            "estimate: GB 3095-2012 class II annual limit (the plans ask for joint PM2.5 control, bohai_rim_outline "
            "L802–804「强化区域大气污染联防联控」, but give no number)",
        ),
        Lever(
            "response",
            0.1,
            0.0,
            10.0,
            "Coordinated abatement response",
            "协同减排响应强度",
            "bohai_rim_outline L802–804「强化区域大气污染联防联控」",
        ),
        Lever(
            "payment_rate",
            0.5,
            0.0,
            1.0,
            "Share of upwind abatement cost paid by downwind beneficiaries",
            "下风向受益方承担上风向减排成本比例",
            "green_development L86「天津投入4亿元支持沧州、唐山两市治理大气污染」",
        ),
        Lever(
            "leakage_ban",
            True,
            kind="bool",
            label_en="New industrial capacity (moved or grown) must meet the raised entry threshold",
            label_zh="新增产业产能（迁入或新建）须达到更高环境准入门槛",
            clause="bohai_rim_outline L806–808「统筹开展产业发展环境影响评价，…提高环境准入门槛」",
        ),
        Lever(
            "equipment_upgrade",
            0.5,
            0.0,
            1.0,
            "Emission cut required of new and moved industrial capacity",
            "新增及迁入产能须削减的排放比例",
            "estimate: size of the entry threshold (bohai_rim_outline L808「提高环境准入门槛」 gives none)",
        ),
    ),
    list_params={"members": "province"},
    list_defaults={"members": []},
)


EVENT_MIN = 0.001
"""Smallest payment (亿元) written as its own event row (all payments are in the money totals)."""


def benefit(state) -> np.ndarray:
    """benefit[r, j]: exposure at receptor r (person·µg/m³) per unit of load at source j."""
    return (state.population * state.pm25_scale)[:, None] * state.source_receptor


def kernels(state) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The source–receptor matrix split for payments (cached while it and the provinces are unchanged):
    SR across provinces (zero within a province, so zero on the diagonal), the same-province
    off-diagonal part (sparse), and the largest entry of each row of the first."""
    from scipy.sparse import csr_matrix

    def build() -> tuple[np.ndarray, Any, np.ndarray]:
        sr, province = state.source_receptor, state.city_province
        cross = sr * (province[:, None] != province[None, :])
        rows, cols = np.nonzero((province[:, None] == province[None, :]) & ~np.eye(state.n_cities, dtype=bool))
        same = csr_matrix((sr[rows, cols], (rows, cols)), shape=sr.shape)
        return cross, same, cross.max(axis=1) if state.n_cities else np.zeros(0)

    return derived(state, "joint_control.kernels", (state.source_receptor, state.city_province.tobytes()), build)


def member_cities(state, members: list[str]) -> np.ndarray:
    """1.0 for the cities of the `members` provinces, 0.0 for the others."""
    return np.isin(state.city_province, [state.province_ids.index(x) for x in members]).astype(float)


def coordinate(ctx: StepContext) -> None:
    """Raise abatement where it cuts regional exposure most, when the shared target is missed."""
    state, p = ctx.state, ctx.params["joint_control"]
    if not ctx.on("joint_control"):
        state.jc_abatement[:] = 0.0
        return
    regional = float((state.population * state.pm25).sum() / max(state.population.sum(), 1.0))
    gap = max(0.0, regional / p["regional_target_ugm3"] - 1.0)
    impact = vecmat(state.population * state.pm25_scale, state.source_receptor) * air.load(state, ctx.params["air"], state.emissions)
    share = impact / max(impact.max(), 1e-12)
    if p["members"]:
        share = share * member_cities(state, p["members"])  # only provinces at the table abate more
    before = state.jc_abatement.copy()
    state.jc_abatement = np.minimum(ctx.params["policy"]["max_abatement"], before + p["response"] * gap * share)
    if gap > 0:
        top = np.argsort(-share)[:3]
        names_en = ", ".join(state.city_names_en[i] for i in top)
        names_zh = "、".join(state.city_names_zh[i] for i in top)
        ctx.events.add(
            ctx.year,
            "JOINT_CONTROL",
            "policy",
            "region",
            "region",
            amount=regional,
            unit="µg/m³",
            clause="bohai_rim_outline L802–804「强化区域大气污染联防联控」",
            why_en=(
                f"Regional PM2.5 {fmt(regional)} misses the shared target {fmt(p['regional_target_ugm3'])}: "
                f"coordinated abatement raised most where smoke reaches most people ({names_en})"
            ),
            why_zh=(
                f"区域PM2.5为{fmt(regional)}，未达共同目标{fmt(p['regional_target_ugm3'])}：按对人口暴露的贡献协同加大减排（{names_zh}）"
            ),
        )


def payment_text(en, zh, r_idx, j_idx, paid, share):
    """The payments' sentences, as two lazy text columns (Arrow string arrays, built column-wise), row by row
    f"{en[r]} pays {en[j]} {x:,.3f} 亿元 toward its abatement: {w:.0%} of that abatement's benefit falls on {en[r]}"
    and f"{zh[r]}向{zh[j]}支付{x:,.3f}亿元减排费用：其减排收益的{w:.0%}落在{zh[r]}" (tests/test_event_text.py)."""

    @cache
    def numbers():  # shared by the two languages
        return text_number(paid, 3, grouping=True), text_number(share, 0, percent=True)

    def why_en():
        x, w = numbers()
        r = text_pick(en, r_idx)
        j = text_pick(en, j_idx)
        return text_join(r, " pays ", j, " ", x, " 亿元 toward its abatement: ", w, " of that abatement's benefit falls on ", r)

    def why_zh():
        x, w = numbers()
        r = text_pick(zh, r_idx)
        return text_join(r, "向", text_pick(zh, j_idx), "支付", x, "亿元减排费用：其减排收益的", w, "落在", r)

    return why_en, why_zh


def pay(ctx: StepContext) -> None:
    """Downwind beneficiaries in other provinces pay part of the upwind cities' abatement cost."""
    state, p = ctx.state, ctx.params["joint_control"]
    if not ctx.on("joint_control"):
        return
    cost = state.abatement_cost
    # amount[r, j] = payment_rate · cost_j · benefit_rj / Σ_r' benefit_r'j over r in other provinces, r' ≠ j:
    # left[r] · SR_cross[r, j] · right[j], kept factored (a dense matrix of millions of payments at 3,000 cities)
    cross, same, row_max = kernels(state)
    left = state.population * state.pm25_scale
    column = vecmat(left, cross) + same.T @ left  # Σ_{r ≠ j} benefit_rj
    right = p["payment_rate"] * cost / np.maximum(column, 1e-300)
    if p["members"]:  # only members pay, only members are paid; a non-member's share goes unpaid
        member = member_cities(state, p["members"])
        left, right = left * member, right * member
    state.transfers.pay_outer("JOINT_CONTROL", left, cross, right)
    r_idx, j_idx, paid = entries_above(left, cross, right, EVENT_MIN, row_max=row_max)
    share = left[r_idx] * cross[r_idx, j_idx] / np.maximum(column[j_idx], 1e-300)
    why_en, why_zh = payment_text(state.labels("city_names_en"), state.labels("city_names_zh"), r_idx, j_idx, paid, share)
    ids = state.labels("city_ids")
    ctx.events.add_many(
        len(r_idx),
        ctx.year,
        "JOINT_CONTROL",
        "payment",
        ids[r_idx],
        ids[j_idx],
        amount=paid,
        unit="100m yuan",
        clause="green_development L86「天津投入4亿元支持沧州、唐山两市治理大气污染」",
        why_en=why_en,
        why_zh=why_zh,
    )
