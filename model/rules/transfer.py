"""TRANSFER — market-driven industrial transfer along the cost gradient (梯度转移).

Picture output as water on a tilted floor: where wages and land are dear, some manufacturing
drains each year toward cheaper cities, faster along the plans' corridors and between nearby
cities, and never into a city whose zone forbids it.

For each transferable sector s (default: heavy industry and general manufacturing), each year:
  gap_ij  = max(0, cost_i − cost_j) / cost_i
  w_ij    = exp(−minutes_ij / decay) · (1 + corridor_bonus · corridor_ij) · gap_ij · land_j · allowed_js
  share_i = min(max_share, elasticity · Σ_j w_ij)
  flow_ijs = base_output_is · share_i · w_ij / Σ_j w_ij
so output leaving i equals output arriving elsewhere (conserved); jobs follow output.

Plan clauses: bohai_rim_outline L1093–1109 (梯度转移, negative lists), L972–986;
inner_mongolia_bohai L128–130; harbin_changchun L190–196; capital_metro_area L683 (corridors).
"""

from __future__ import annotations

import numpy as np

from model.rules.base import Lever, RuleSpec, StepContext
from model.rules.zoning import forbidden_mask
from model.sectors import SECTOR_INDEX, SECTOR_LABELS

RULE = RuleSpec(
    id="TRANSFER",
    key="transfer",
    stage="transfer",
    title_en="Market-driven industrial transfer",
    title_zh="市场驱动的产业梯度转移",
    clauses=("bohai_rim_outline L1093–1109", "bohai_rim_outline L972–986", "inner_mongolia_bohai L128–130",
             "harbin_changchun L190–196", "capital_metro_area L683"),
    levers=(
        Lever("elasticity", 0.05, 0.0, 1.0, "Transfer elasticity to the cost gap", "成本差转移弹性",
              "bohai_rim_outline L1093"),
        Lever("max_share", 0.08, 0.0, 0.5, "Largest share of a sector leaving a city per year", "每年最大转出比例",
              "estimate: modelling assumption"),
        Lever("corridor_bonus", 1.0, 0.0, 20.0, "Extra pull along the plan's corridors", "沿通道转移加成",
              "capital_metro_area L683"),
        Lever("decay_minutes", 120.0, 1.0, 5000.0, "Distance decay of transfer (minutes)", "转移距离衰减（分钟）",
              "estimate: modelling assumption"),
        Lever("event_threshold_100m_yuan", 1.0, 0.0, 1e6, "Smallest flow written to the event log (亿元)",
              "记入事件日志的最小转移额（亿元）", "estimate: display setting"),
    ),
    list_params=("sectors",),
    list_defaults={"sectors": ["heavy_industry", "general_manufacturing"]},
)


def flows(ctx: StepContext) -> tuple[np.ndarray, list[int]]:
    """City × city × sector output flows for this year (亿元) and the sector indices they cover."""
    state, p = ctx.state, ctx.params["transfer"]
    sectors = [SECTOR_INDEX[s] for s in p["sectors"]]
    n = state.n_cities
    cost = state.cost_index
    gap = np.maximum(0.0, cost[:, None] - cost[None, :]) / cost[:, None]
    corridor = np.zeros((n, n), dtype=bool)
    corridor[state.link_from[state.link_corridor], state.link_to[state.link_corridor]] = True
    corridor |= corridor.T
    with np.errstate(over="ignore"):
        reach = np.exp(-state.travel_minutes / p["decay_minutes"])
    base_w = reach * (1.0 + p["corridor_bonus"] * corridor) * gap * state.land_index[None, :]
    np.fill_diagonal(base_w, 0.0)
    allowed = ~forbidden_mask(state, ctx.params)
    out = np.zeros((n, n, len(sectors)))
    for k, s in enumerate(sectors):
        w = base_w * allowed[None, :, s]
        total = w.sum(axis=1)
        share = np.minimum(p["max_share"], p["elasticity"] * total)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, :, k] = np.where(total[:, None] > 0, state.base_output[:, s, None] * share[:, None] * w / total[:, None], 0.0)
    return out, sectors


def apply(ctx: StepContext) -> None:
    """Move base output of transferable sectors down the cost gradient."""
    state, p = ctx.state, ctx.params["transfer"]
    flow, sectors = flows(ctx)
    for k, s in enumerate(sectors):
        state.base_output[:, s] += flow[:, :, k].sum(axis=0) - flow[:, :, k].sum(axis=1)
    state.base_output = np.maximum(state.base_output, 0.0)
    i_idx, j_idx, k_idx = np.nonzero(flow > p["event_threshold_100m_yuan"])
    moved = flow[i_idx, j_idx, k_idx]
    sector_names = [next(name for name, idx in SECTOR_INDEX.items() if idx == s) for s in sectors]
    label_en = [SECTOR_LABELS[name][1].lower() for name in sector_names]
    label_zh = [SECTOR_LABELS[name][0] for name in sector_names]
    en, zh = state.labels("city_names_en"), state.labels("city_names_zh")
    cost, minutes = state.cost_index[i_idx], state.travel_minutes[i_idx, j_idx]
    cost_to = state.cost_index[j_idx]

    def why_en() -> list[str]:
        return [f"{x:,.1f} 亿元 of {label_en[k]} output moved from {a} to {b}: cost index {ca:.2f} vs {cb:.2f}, {t:.0f} min apart"
                for x, k, a, b, ca, cb, t in zip(moved.tolist(), k_idx.tolist(), en[i_idx].tolist(), en[j_idx].tolist(),
                                                 cost.tolist(), cost_to.tolist(), minutes.tolist(), strict=True)]

    def why_zh() -> list[str]:
        return [f"{x:,.1f}亿元{label_zh[k]}产出由{a}转移至{b}：成本指数{ca:.2f}对{cb:.2f}，相距{t:.0f}分钟"
                for x, k, a, b, ca, cb, t in zip(moved.tolist(), k_idx.tolist(), zh[i_idx].tolist(), zh[j_idx].tolist(),
                                                 cost.tolist(), cost_to.tolist(), minutes.tolist(), strict=True)]

    ids = state.labels("city_ids")
    ctx.events.add_many(len(i_idx), ctx.year, "TRANSFER", "transfer", ids[i_idx], ids[j_idx], amount=moved,
                        unit="100m yuan output", clause="bohai_rim_outline L1093–1109", why_en=why_en, why_zh=why_zh)
