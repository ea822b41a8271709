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

Plan clauses: bohai_rim_outline L44「产业层次梯度明显」 (the cost gradient), L1093–1109「推进产业转移承接…
利益共享机制」 (transfer and receiving), L972–974「钢厂环保搬迁」 (steel); inner_mongolia_bohai L128「加快建设承接
产业转移基地」; harbin_changchun L194「有效承接产业转移」, L196「积极承接大中城市产业转移」; capital_metro_area
L683「沿京津、京雄、京保石、京唐秦、京張等方向,引導産業轉移承接佈局」 (corridors); zones that forbid a sector:
green_development L15「重点生态功能区实行产业准入负面清单」. The response sizes (elasticity, largest share, distance
decay) are estimates, not plan numbers.
"""

from __future__ import annotations

import numpy as np
from regionsim.model.kernels import derived, entries_above, matvec, vecmat, zero_self_pairs
from regionsim.model.network import travel_kernel
from regionsim.model.rules.base import POLICY, UNCERTAINTY, Lever, RuleSpec, StepContext
from regionsim.model.rules.zoning import forbidden_mask
from regionsim.model.sectors import SECTOR_INDEX, SECTOR_LABELS

RULE = RuleSpec(
    id="TRANSFER",
    key="transfer",
    stage="transfer",
    title_en="Market-driven industrial transfer",
    title_zh="市场驱动的产业梯度转移",
    clauses=(
        "bohai_rim_outline L44「产业层次梯度明显」",
        "bohai_rim_outline L1093–1109「推进产业转移承接…利益共享机制」",
        "bohai_rim_outline L972–974「钢厂环保搬迁」",
        "inner_mongolia_bohai L128「加快建设承接产业转移基地」",
        "harbin_changchun L194「有效承接产业转移」",
        "harbin_changchun L196「积极承接大中城市产业转移」",
        "capital_metro_area L683「沿京津、京雄、京保石、京唐秦、京張等方向」",
    ),
    levers=(
        Lever(
            "elasticity",
            0.05,
            0.0,
            1.0,
            "Transfer elasticity to the cost gap",
            "成本差转移弹性",
            "estimate: modelling assumption (firms' response to the cost gap of bohai_rim_outline L44「产业层次梯度明显」)",
            role=UNCERTAINTY,
        ),
        Lever(
            "max_share",
            0.08,
            0.0,
            0.5,
            "Largest share of a sector leaving a city per year",
            "每年最大转出比例",
            "estimate: modelling assumption",
            role=UNCERTAINTY,
        ),
        Lever(
            "corridor_bonus",
            1.0,
            0.0,
            20.0,
            "Extra pull along the plan's corridors",
            "沿通道转移加成",
            "capital_metro_area L683「沿京津、京雄、京保石、京唐秦、京張等方向,引導産業轉移承接佈局」 (the size: estimate)",
            role=POLICY,
        ),
        Lever(
            "decay_minutes",
            120.0,
            1.0,
            5000.0,
            "Distance decay of transfer (minutes)",
            "转移距离衰减（分钟）",
            "estimate: modelling assumption",
            role=UNCERTAINTY,
        ),
    ),
    list_params={"sectors": "sector", "event_threshold_100m_yuan": "display_number"},
    list_defaults={"sectors": ["heavy_industry", "general_manufacturing"], "event_threshold_100m_yuan": 1.0},
)
"""`event_threshold_100m_yuan` is a display setting, not a lever: it decides only which flows (亿元) are written
to the event log as their own rows (every flow is in the model's output either way), so it is a setting of the
rule table with the list parameters and changes no simulated quantity."""


EVENT_CLAUSE = "bohai_rim_outline L1093「推进产业转移承接」"
"""The clause each transfer event cites."""


def kernel(ctx: StepContext) -> tuple[np.ndarray, np.ndarray]:
    """S_ij = exp(−minutes_ij / decay) · (1 + corridor_bonus · corridor_ij) · gap_ij (zero diagonal), and each
    row's largest entry: the part of w_ij that does not change from year to year (cached while unchanged)."""
    state, p = ctx.state, ctx.params["transfer"]
    n = state.n_cities

    def build_corridor() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        corridor = np.zeros((n, n), dtype=bool)
        corridor[state.link_from[state.link_corridor], state.link_to[state.link_corridor]] = True
        corridor |= corridor.T
        return (corridor, *np.nonzero(corridor))

    corridor, c_rows, c_cols = derived(
        state, "transfer.corridor", (state.link_from.tobytes(), state.link_to.tobytes(), state.link_corridor.tobytes()), build_corridor
    )
    cost = state.cost_index.copy()
    decay, bonus = float(p["decay_minutes"]), float(p["corridor_bonus"])

    def entries(minutes: np.ndarray, rows: np.ndarray | None, cols: np.ndarray | None, out: np.ndarray | None) -> np.ndarray:
        if rows is None:  # the whole matrix, in place (each fresh n × n temporary costs tens of ms at 3,000 cities)
            w = np.divide(minutes, -decay, out=out)
            with np.errstate(over="ignore"):
                np.exp(w, out=w)
            gap = np.subtract.outer(cost, cost)  # this year's only fresh n × n array, and only when rebuilding
            np.maximum(gap, 0.0, out=gap)
            gap /= cost[:, None]
            w *= gap
            del gap
            w[c_rows, c_cols] *= 1.0 + bonus  # the few corridor pairs
        else:
            with np.errstate(over="ignore"):
                w = np.exp(np.divide(minutes, -decay))
            w *= np.maximum(0.0, cost[rows] - cost[cols]) / cost[rows]
            w *= 1.0 + bonus * corridor[rows, cols]
        return zero_self_pairs(w, rows, cols)

    params = (decay, bonus, state.cost_index.tobytes(), state.link_from.tobytes(), state.link_to.tobytes(), state.link_corridor.tobytes())
    s_matrix = travel_kernel(state, "transfer.kernel", params, entries)
    row_max = derived(state, "transfer.row_max", (state.travel_minutes, *params), lambda: s_matrix.max(axis=1) if n else np.zeros(0))
    return s_matrix, row_max


def factors(ctx: StepContext) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """flow_ijs = coef[i, k] · S_ij · col[j, k] for the k-th transferable sector s: the flows in factored form.

    With col_js = land_j · allowed_js, Σ_j w_ij = (S @ col)_i, and coef_is = base_output_is · share_i / Σ_j w_ij.
    """
    state, p = ctx.state, ctx.params["transfer"]
    sectors = [SECTOR_INDEX[s] for s in p["sectors"]]
    s_matrix, _ = kernel(ctx)
    allowed = ~forbidden_mask(state, ctx.params)
    col = state.land_index[:, None] * allowed[:, sectors]
    total = matvec(s_matrix, col)
    share = np.minimum(p["max_share"], p["elasticity"] * total)
    with np.errstate(invalid="ignore", divide="ignore"):
        coef = np.where(total > 0, state.base_output[:, sectors] * share / total, 0.0)
    return coef, s_matrix, col, sectors


def flows(ctx: StepContext) -> tuple[np.ndarray, list[int]]:
    """City × city × sector output flows for this year (亿元) and the sector indices they cover."""
    coef, s_matrix, col, sectors = factors(ctx)
    out = np.zeros((*s_matrix.shape, len(sectors)))
    for k in range(len(sectors)):
        out[:, :, k] = coef[:, k, None] * s_matrix * col[None, :, k]
    return out, sectors


def apply(ctx: StepContext) -> None:
    """Move base output of transferable sectors down the cost gradient."""
    state, p = ctx.state, ctx.params["transfer"]
    coef, s_matrix, col, sectors = factors(ctx)  # the n × n × sectors flows are never built whole
    _, row_max = kernel(ctx)
    inflow = col * vecmat(coef, s_matrix)
    outflow = coef * matvec(s_matrix, col)
    for k, s in enumerate(sectors):
        state.base_output[:, s] += inflow[:, k] - outflow[:, k]
    state.base_output = np.maximum(state.base_output, 0.0)
    found = [
        entries_above(coef[:, k], s_matrix, col[:, k], float(p["event_threshold_100m_yuan"]), row_max=row_max) for k in range(len(sectors))
    ]
    i_idx = np.concatenate([f[0] for f in found]).astype(np.int64)
    j_idx = np.concatenate([f[1] for f in found]).astype(np.int64)
    k_idx = np.concatenate([np.full(len(f[0]), k, dtype=np.int64) for k, f in enumerate(found)])
    moved = np.concatenate([f[2] for f in found])
    order = np.lexsort((k_idx, j_idx, i_idx))  # row by row, as np.nonzero on the city × city × sector array
    i_idx, j_idx, k_idx, moved = i_idx[order], j_idx[order], k_idx[order], moved[order]
    sector_names = [next(name for name, idx in SECTOR_INDEX.items() if idx == s) for s in sectors]
    label_en = [SECTOR_LABELS[name][1].lower() for name in sector_names]
    label_zh = [SECTOR_LABELS[name][0] for name in sector_names]
    en, zh = state.labels("city_names_en"), state.labels("city_names_zh")
    cost, minutes = state.cost_index[i_idx], state.travel_minutes[i_idx, j_idx]
    cost_to = state.cost_index[j_idx]

    def why_en() -> list[str]:
        return [
            f"{x:,.1f} 亿元 of {label_en[k]} output moved from {a} to {b}: cost index {ca:.2f} vs {cb:.2f}, {t:.0f} min apart"
            for x, k, a, b, ca, cb, t in zip(
                moved.tolist(),
                k_idx.tolist(),
                en[i_idx].tolist(),
                en[j_idx].tolist(),
                cost.tolist(),
                cost_to.tolist(),
                minutes.tolist(),
                strict=True,
            )
        ]

    def why_zh() -> list[str]:
        return [
            f"{x:,.1f}亿元{label_zh[k]}产出由{a}转移至{b}：成本指数{ca:.2f}对{cb:.2f}，相距{t:.0f}分钟"
            for x, k, a, b, ca, cb, t in zip(
                moved.tolist(),
                k_idx.tolist(),
                zh[i_idx].tolist(),
                zh[j_idx].tolist(),
                cost.tolist(),
                cost_to.tolist(),
                minutes.tolist(),
                strict=True,
            )
        ]

    ids = state.labels("city_ids")
    ctx.events.add_many(
        len(i_idx),
        ctx.year,
        "TRANSFER",
        "transfer",
        ids[i_idx],
        ids[j_idx],
        amount=moved,
        unit="100m yuan output",
        clause=EVENT_CLAUSE,
        why_en=why_en,
        why_zh=why_zh,
    )
