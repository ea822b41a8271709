"""RELOCATE — the relocation market: non-capital functions leave (疏解) and receivers take them in (承接).

Picture a yearly fair. Functions that must or want to leave their city come forward; every other
city says how well each one would fit; functions choose, receivers with limited room accept the
best-fitting proposals, and the rest try their next choice. What is left over stays home this year.

Push — function f at host h is a candidate when any of
  * its type is on h's negative / non-core list (capital_metro_area L43, L139; green_development L90),
  * h (or h's province) is above its population cap and f's type is not one h is positioned for
    (capital_metro_area L173; green_development L69),
  * h's cost index exceeds `cost_threshold` and f is market-driven (plant, wholesale market, data centre).
  Per source province and function type, a share `annual_quota_share × pressure_p` of the
  candidates is released this year (pressure_p from POLICY), chosen at random.

Pull — receiver j scores mover f (错位承接, capital_metro_area L139):
  U_fj = w_role·role_j(type_f) + w_headroom·headroom_j − w_time·minutes(h→j)/60
         + w_incentive·incentive_j − w_cost·(cost_j − 1)
  headroom_j = land_index_j · min(1 − pop_j/cap_j, 1 − density_j/density_cap_j), clipped to [0, 1];
  incentive_j from the scenario (e.g. Xiong'an pay parity, capital_metro_area L607).
  j is excluded when j = h, beyond `max_travel_minutes`, with no headroom, when f's type is on j's
  negative list, or when j's zone forbids f's sector (ZONING).

Match — deferred acceptance with capacities: each mover proposes to its best remaining receiver by
U_fj + Gumbel noise/β (so choice probabilities are logit with sharpness β, `choice_sharpness`);
each receiver holds the proposals with the highest U_fj up to `receiver capacity` units this
year and rejects the rest, who propose again. (The noise is drawn for every mover × city entry up to
`DENSE_NOISE_MAX_DRAWS` entries, above that only for the feasible pairs: the same process, since
each feasible pair gets its own independent draw.) Units are conserved: a function changes host, it is
never created or destroyed. A share `follow_share` of its jobs' holders move home with it (MIGRATE
counts them as migrants), and TAX_SHARE opens a contract between origin and host.

Plan clauses: capital_metro_area L43, L109, L139, L145, L171–173, L193, L243, L575, L589, L603–607,
L683; bohai_rim_outline L269–287, L1093–1109; green_development L82, L90.
"""

from __future__ import annotations

import json

import numpy as np
from regionsim.model.rules import tax_share
from regionsim.model.rules.base import Lever, RuleSpec, StepContext, fmt
from regionsim.model.rules.zoning import forbidden_mask
from regionsim.model.sectors import FUNCTION_TYPE_INDEX, FUNCTION_TYPE_LABELS, FUNCTION_TYPE_NAMES, FUNCTION_TYPES, SECTOR_INDEX

RULE = RuleSpec(
    id="RELOCATE",
    key="relocate",
    stage="relocation",
    title_en="Relocation of non-capital functions (疏解 → 承接)",
    title_zh="非首都功能疏解与承接",
    clauses=("capital_metro_area L43", "capital_metro_area L109", "capital_metro_area L139", "capital_metro_area L145",
             "capital_metro_area L171–173", "capital_metro_area L193", "capital_metro_area L243",
             "capital_metro_area L603–607", "capital_metro_area L683", "bohai_rim_outline L1093–1109",
             "green_development L82", "green_development L90"),
    levers=(
        Lever("annual_quota_share", 0.12, 0.0, 1.0, "Share of candidate functions released per year",
              "每年疏解候选功能的比例", "capital_metro_area L109"),
        Lever("cost_threshold", 1.6, 0.0, 100.0, "Cost index above which market-driven functions leave",
              "市场型功能外迁的成本指数阈值", "bohai_rim_outline L1093"),
        Lever("weight_role", 2.0, 0.0, 50.0, "Weight of role match (错位承接)", "功能定位匹配权重",
              "capital_metro_area L139"),
        Lever("weight_time", 1.0, 0.0, 50.0, "Weight of travel time (per hour)", "通行时间权重（每小时）",
              "capital_metro_area L197"),
        Lever("weight_headroom", 1.0, 0.0, 50.0, "Weight of receiver headroom", "承接地容量余量权重",
              "capital_metro_area L171"),
        Lever("weight_incentive", 1.0, 0.0, 50.0, "Weight of receiving incentives", "承接激励权重",
              "capital_metro_area L607"),
        Lever("weight_cost", 0.5, 0.0, 50.0, "Weight of receiver cost level", "承接地成本权重",
              "bohai_rim_outline L1093"),
        Lever("choice_sharpness", 3.0, 0.01, 100.0, "Choice sharpness β (logit)", "选择敏感度β",
              "estimate: modelling assumption"),
        Lever("receiver_capacity_default", 30.0, 0.0, 1e7, "Units a receiver can take per year",
              "承接地每年可承接单位数", "estimate: modelling assumption"),
        Lever("max_travel_minutes", 240.0, 1.0, 10000.0, "Farthest a function moves (minutes)",
              "最远疏解距离（分钟）", "capital_metro_area L201"),
        Lever("follow_share", 0.5, 0.0, 1.0, "Share of staff who move home with their unit",
              "随迁职工比例", "capital_metro_area L173"),
        Lever("cap_push", True, kind="bool", label_en="Population above cap pushes functions out",
              label_zh="人口超上限推动疏解", clause="green_development L69"),
    ),
    list_params=("incentives", "receiver_capacity"),
    list_defaults={"incentives": {}, "receiver_capacity": {}},
)

SECTOR_OF_TYPE = np.array([SECTOR_INDEX[FUNCTION_TYPES[t]] for t in FUNCTION_TYPE_NAMES], dtype=np.int64)
MARKET_DRIVEN = np.array(
    [FUNCTION_TYPE_INDEX[t] for t in ("general_manufacturing_plant", "heavy_industry_plant", "wholesale_market", "data_centre")]
)

TYPE_CLAUSE = {
    "university": "capital_metro_area L145",
    "hospital": "capital_metro_area L145",
    "research_institute": "capital_metro_area L145",
    "financial_institution": "capital_metro_area L145",
    "administrative_unit": "capital_metro_area L145, L441",
    "wholesale_market": "capital_metro_area L243, L683",
    "general_manufacturing_plant": "capital_metro_area L683",
    "heavy_industry_plant": "bohai_rim_outline L1093–1109",
    "data_centre": "capital_metro_area L221",
}


def candidates(ctx: StepContext) -> tuple[np.ndarray, np.ndarray]:
    """Functions pushed out this year and the reason code of each (1 list, 2 cap, 4 cost; summed)."""
    state, p = ctx.state, ctx.params["relocate"]
    host, ftype = state.fn_host, state.fn_type
    on_list = state.negative[host, ftype]
    pop_p = state.province_sum(state.population)
    over_province = (pop_p > state.province_population_cap)[state.city_province]
    over_city = state.population > state.population_cap
    over_cap = (over_city | over_province)[host] & ~state.role[host, ftype] & bool(p["cap_push"])
    costly = (state.cost_index[host] > p["cost_threshold"]) & np.isin(ftype, MARKET_DRIVEN)
    reason = on_list * 1 + over_cap * 2 + costly * 4
    return np.nonzero(reason > 0)[0], reason


def release(ctx: StepContext, pushed: np.ndarray) -> np.ndarray:
    """Pick this year's movers among the pushed: a quota per (source province, type), at random."""
    state, p = ctx.state, ctx.params["relocate"]
    if len(pushed) == 0:
        return pushed
    n_types = len(FUNCTION_TYPE_NAMES)
    group = state.city_province[state.fn_host[pushed]] * n_types + state.fn_type[pushed]
    counts = np.bincount(group, minlength=state.n_provinces * n_types)
    share = np.clip(p["annual_quota_share"] * np.repeat(state.relocation_pressure, n_types), 0.0, 1.0)
    expected = counts * share
    quota = np.floor(expected + ctx.rng.random(len(expected))).astype(np.int64)  # stochastic rounding
    order = np.lexsort((ctx.rng.random(len(pushed)), group))
    sorted_group = group[order]
    starts = np.searchsorted(sorted_group, sorted_group, side="left")
    rank = np.arange(len(order)) - starts
    chosen = order[rank < quota[sorted_group]]
    return np.sort(pushed[chosen])


def group_utilities(ctx: StepContext, movers: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(host, type) group × receiver utility U_fj (−inf where j may not receive f) and its parts.

    Movers with the same host and type see the same receivers the same way, so the terms are
    computed once per (host, type) group — a few dozen rows where there may be thousands of movers —
    and `parts` holds them per group: mover r's row is `parts[name][parts["group"][r]]`, and its
    utilities are row `parts["group"][r]` of the first array.
    """
    state, p = ctx.state, ctx.params["relocate"]
    n_types = len(FUNCTION_TYPE_NAMES)
    pair, group = np.unique(state.fn_host[movers] * n_types + state.fn_type[movers], return_inverse=True)
    host, ftype = pair // n_types, pair % n_types
    sector = SECTOR_OF_TYPE[ftype]
    pop_room = np.where(np.isfinite(state.population_cap), 1.0 - state.population / state.population_cap, 1.0)
    density_room = np.where(np.isfinite(state.density_cap), 1.0 - state.built_density() / state.density_cap, 1.0)
    headroom = np.clip(np.minimum(pop_room, density_room), 0.0, 1.0) * state.land_index
    incentive = np.zeros(state.n_cities)
    for city, value in (p["incentives"] or {}).items():
        incentive[state.city_ids.index(city)] = value
    role = state.role[:, ftype].T.astype(float)
    minutes = state.travel_minutes[host, :]
    utility = (
        p["weight_role"] * role
        + p["weight_headroom"] * headroom[None, :]
        - p["weight_time"] * minutes / 60.0
        + p["weight_incentive"] * incentive[None, :]
        - p["weight_cost"] * (state.cost_index[None, :] - 1.0)
    )
    allowed = (
        (np.arange(state.n_cities)[None, :] != host[:, None])
        & (minutes <= p["max_travel_minutes"])
        & (headroom[None, :] > 0)
        & ~state.negative[:, ftype].T
        & ~forbidden_mask(state, ctx.params)[:, sector].T
    )
    utility = np.where(allowed, utility, -np.inf)
    return utility, {"group": group, "role": role, "minutes": minutes,
                     "headroom": np.broadcast_to(headroom, role.shape),
                     "incentive": np.broadcast_to(incentive, role.shape)}


def utilities(ctx: StepContext, movers: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Mover × receiver utility U_fj (−inf where j may not receive f) and its parts (see `group_utilities`)."""
    utility, parts = group_utilities(ctx, movers)
    return utility[parts["group"]], parts


DENSE_NOISE_MAX_DRAWS = 2_000_000
"""Up to this many mover × city entries, the choice noise is drawn for every entry (as it always was,
so the shipped scenarios keep their numbers); above it, only for the feasible (mover, receiver)
pairs. Either way each feasible pair gets its own independent Gumbel draw and the noise of a pair
that cannot match is never looked at, so the two are statistically the same process."""


def feasible_pairs(utility: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mover, receiver) of every finite entry of `utility[group]`, mover by mover, receivers in order."""
    g_row, g_col = np.nonzero(np.isfinite(utility))
    per_group = np.bincount(g_row, minlength=len(utility))
    group_start = np.concatenate([[0], np.cumsum(per_group)[:-1]])
    counts = per_group[group]
    mover = np.repeat(np.arange(len(group)), counts)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    offset = np.arange(len(mover)) - np.repeat(first, counts) + np.repeat(group_start[group], counts)
    return mover, g_col[offset]


def deferred_acceptance(utility: np.ndarray, units: np.ndarray, capacity: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Match movers (rows) to receivers (columns); −1 where a mover found no place.

    Movers propose in order of utility + noise; receivers keep the highest-utility proposals
    whose units fit their capacity. Runs until no mover has a new receiver to propose to.
    (Dense form of `match_pairs`, which does the work on the finite entries only.)
    """
    mover, receiver = np.nonzero(np.isfinite(utility))
    value = utility[mover, receiver]
    return match_pairs(len(utility), mover, receiver, value, value + noise[mover, receiver], units, capacity)


def rank_by_group(group: np.ndarray, counts: np.ndarray, preference: np.ndarray) -> np.ndarray:
    """The order of `match_pairs` (each mover's pairs by falling preference, ties to the lower receiver)
    for pairs from `feasible_pairs`: movers of a group have the same number of pairs, so each group's
    pairs are ranked as one (movers × receivers) array, row by row — much faster than one sort of all pairs."""
    start = np.cumsum(counts) - counts
    order = np.empty(len(preference), dtype=np.int64)
    by_group = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[by_group], np.arange(group.max() + 2 if len(group) else 1))
    for g in range(len(bounds) - 1):
        movers = by_group[bounds[g]:bounds[g + 1]]
        if len(movers) == 0 or counts[movers[0]] == 0:
            continue
        position = start[movers][:, None] + np.arange(counts[movers[0]])[None, :]
        rank = np.argsort(-preference[position], axis=1, kind="stable")
        order[position] = np.take_along_axis(position, rank, axis=1)
    return order


def match_pairs(m: int, mover: np.ndarray, receiver: np.ndarray, utility: np.ndarray, preference: np.ndarray,
                units: np.ndarray, capacity: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """Deferred acceptance over the feasible (mover, receiver) pairs; −1 where a mover found no place.

    Each mover ranks its feasible receivers by preference (utility + noise; ties to the lower
    receiver index) and proposes down that list; each receiver holds the proposals with the highest
    utility (ties to the lower mover index) whose units fit its capacity and rejects the rest, who
    propose to their next receiver. After the first round only the movers just rejected propose
    again. The matches are those of proposing to the best receiver not yet struck off, every round.
    `order`, when given, is that ranking already made (`rank_by_group`).
    """
    if order is None:
        order = np.lexsort((receiver, -preference, mover))
    receiver, utility = receiver[order], utility[order]
    counts = np.bincount(mover, minlength=m)
    end = np.cumsum(counts)
    pointer = end - counts  # each mover's next receiver to propose to
    match = np.full(m, -1, dtype=np.int64)
    held_utility = np.zeros(m)
    free = np.arange(m)
    while len(free):
        proposing = free[pointer[free] < end[free]]
        if len(proposing) == 0:
            break
        match[proposing] = receiver[pointer[proposing]]
        held_utility[proposing] = utility[pointer[proposing]]
        held = np.nonzero(match >= 0)[0]
        target = match[held]
        rank = np.lexsort((held, -held_utility[held], target))
        held, target = held[rank], target[rank]
        cumulative = np.cumsum(units[held])
        group_start = np.searchsorted(target, target, side="left")
        before_group = np.where(group_start > 0, cumulative[group_start - 1], 0)
        within = cumulative - before_group
        losers = held[within > capacity[target]]
        pointer[losers] += 1
        match[losers] = -1
        free = np.sort(losers)
    return match


def apply(ctx: StepContext) -> None:
    """Run this year's relocation market and move the matched functions."""
    state, p = ctx.state, ctx.params["relocate"]
    state.moved_this_year[:] = False
    pushed, reason = candidates(ctx)
    movers = release(ctx, pushed)
    if len(movers) == 0:
        return
    utility, parts = group_utilities(ctx, movers)
    capacity = np.full(state.n_cities, float(p["receiver_capacity_default"]))
    for city, value in (p["receiver_capacity"] or {}).items():
        capacity[state.city_ids.index(city)] = value
    mover, receiver = feasible_pairs(utility, parts["group"])
    value = utility[parts["group"][mover], receiver]
    if len(movers) * state.n_cities <= DENSE_NOISE_MAX_DRAWS:
        noise = (ctx.rng.gumbel(size=(len(movers), state.n_cities)) / p["choice_sharpness"])[mover, receiver]
    else:
        noise = ctx.rng.gumbel(size=len(mover)) / p["choice_sharpness"]
    preference = value + noise
    order = rank_by_group(parts["group"], np.bincount(mover, minlength=len(movers)), preference)
    match = match_pairs(len(movers), mover, receiver, value, preference, state.fn_units[movers].astype(float), capacity,
                        order)

    moved = movers[match >= 0]
    origin, target = state.fn_host[moved].copy(), match[match >= 0]
    state.fn_host[moved] = target
    state.fn_year_moved[moved] = ctx.year
    state.moved_this_year[moved] = True
    np.add.at(state.relocation_followers, (origin, target), p["follow_share"] * state.fn_jobs[moved])
    # where MIGRATE finds them without scanning the whole n × n matrix
    added = np.unique(origin * state.n_cities + target)
    earlier = state.__dict__.get("_followers_at")  # not yet moved by MIGRATE
    state.__dict__["_followers_at"] = added if earlier is None else np.union1d(earlier, added)
    cross = state.city_province[origin] != state.city_province[target]
    if ctx.on("joint_control") and ctx.params["joint_control"]["leakage_ban"]:
        heavy = state.fn_type[moved] == FUNCTION_TYPE_INDEX["heavy_industry_plant"]
        upgrade = moved[heavy & cross]
        state.fn_emission_factor[upgrade] *= 1.0 - ctx.params["joint_control"]["equipment_upgrade"]
    if ctx.on("tax_share"):
        tax_share.open_contracts(state, moved, origin, ctx.params["tax_share"])
    _log_moves(ctx, movers, match, moved, origin, target, reason, parts)


REASONS = {1: ("on its city's negative list", "列入所在地负面清单"), 2: ("population above cap", "人口超过上限"),
           4: ("costs above threshold", "成本超过阈值")}


def _reason_text(code: int) -> tuple[str, str]:
    parts = [REASONS[bit] for bit in (1, 2, 4) if code & bit]
    return "; ".join(p[0] for p in parts), "；".join(p[1] for p in parts)


TYPE_NAMES = np.array(FUNCTION_TYPE_NAMES, dtype=object)
TYPE_CLAUSES = np.array([TYPE_CLAUSE[t] for t in FUNCTION_TYPE_NAMES], dtype=object)
REASON_TEXT = [_reason_text(code) if code else ("", "") for code in range(8)]


def _log_moves(ctx, movers, match, moved, origin, target, reason, parts) -> None:
    """One event per move, and one per (city, type) whose ready movers found no receiver."""
    state = ctx.state
    rows = parts["group"][np.nonzero(match >= 0)[0]]  # each moved function's (host, type) row of the parts
    ftype, units, jobs = state.fn_type[moved], state.fn_units[moved], state.fn_jobs[moved]
    codes = reason[moved]
    role, minutes = parts["role"][rows, target], parts["minutes"][rows, target]
    headroom, incentive = parts["headroom"][rows, target], parts["incentive"][rows, target]
    en, zh = state.labels("city_names_en"), state.labels("city_names_zh")

    def why_en() -> list[str]:
        out = []
        for t, u, code, h, j, r, m, hr, inc in zip(ftype.tolist(), units.tolist(), codes.tolist(), en[origin].tolist(),
                                                    en[target].tolist(), role.tolist(), minutes.tolist(), headroom.tolist(),
                                                    incentive.tolist(), strict=True):
            en_type = FUNCTION_TYPE_LABELS[FUNCTION_TYPE_NAMES[t]][1]
            out.append(f"{u} {en_type}{'s' if u > 1 else ''} moved from {h} to {j} ({REASON_TEXT[code][0]}): role match "
                       f"{r:.1f}, travel time {m:.0f} min, headroom {hr:.2f}, incentive {inc:.1f}")
        return out

    def why_zh() -> list[str]:
        return [f"{u}个{FUNCTION_TYPE_LABELS[FUNCTION_TYPE_NAMES[t]][0]}由{h}迁往{j}（{REASON_TEXT[code][1]}）："
                f"功能定位匹配{r:.1f}，通行时间{m:.0f}分钟，容量余量{hr:.2f}，激励{inc:.1f}"
                for t, u, code, h, j, r, m, hr, inc in zip(ftype.tolist(), units.tolist(), codes.tolist(), zh[origin].tolist(),
                                                           zh[target].tolist(), role.tolist(), minutes.tolist(),
                                                           headroom.tolist(), incentive.tolist(), strict=True)]

    def detail() -> list[str]:
        return [json.dumps({"role_match": round(r, 3), "travel_minutes": round(m, 1), "headroom": round(hr, 3),
                            "incentive": round(inc, 3), "jobs": round(jb, 1), "function": f}, sort_keys=True)
                for r, m, hr, inc, jb, f in zip(role.tolist(), minutes.tolist(), headroom.tolist(), incentive.tolist(),
                                                jobs.tolist(), moved.tolist(), strict=True)]

    ids = state.labels("city_ids")
    ctx.events.add_many(len(moved), ctx.year, "RELOCATE", "relocation", ids[origin], ids[target], function_type=TYPE_NAMES[ftype],
                        units=units, amount=jobs, unit="jobs", clause=TYPE_CLAUSES[ftype], why_en=why_en, why_zh=why_zh,
                        detail=detail)

    stayed = movers[match < 0]
    if len(stayed) == 0:
        return
    keys = np.stack([state.fn_host[stayed], state.fn_type[stayed]], axis=1)
    unique, group, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    stayed_units = np.zeros(len(unique), dtype=np.int64)
    np.add.at(stayed_units, group.ravel(), state.fn_units[stayed])
    h_idx, t_idx = unique[:, 0], unique[:, 1]

    def stayed_en() -> list[str]:
        return [f"{k} {FUNCTION_TYPE_LABELS[FUNCTION_TYPE_NAMES[t]][1]} agent(s) ready to leave {h} found no receiver with "
                f"room, a matching zone and travel time within reach; they stay this year"
                for k, t, h in zip(counts.tolist(), t_idx.tolist(), en[h_idx].tolist(), strict=True)]

    def stayed_zh() -> list[str]:
        return [f"{k}个待疏解的{FUNCTION_TYPE_LABELS[FUNCTION_TYPE_NAMES[t]][0]}未找到有容量、分区允许且距离可达的承接地，今年留在{h}"
                for k, t, h in zip(counts.tolist(), t_idx.tolist(), zh[h_idx].tolist(), strict=True)]

    ctx.events.add_many(len(unique), ctx.year, "RELOCATE", "stayed", ids[h_idx], ids[h_idx], function_type=TYPE_NAMES[t_idx],
                        units=stayed_units, unit="units", clause=TYPE_CLAUSES[t_idx], why_en=stayed_en, why_zh=stayed_zh)


__all__ = ["RULE", "apply", "candidates", "deferred_acceptance", "group_utilities", "match_pairs", "release", "utilities", "fmt"]
