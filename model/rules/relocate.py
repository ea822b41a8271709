"""RELOCATE — the relocation market: non-capital functions leave (疏解) and receivers take them in (承接).

Picture a yearly fair. Functions that must or want to leave their city come forward; every other
city says how well each one would fit; functions choose, receivers with limited room accept the
best-fitting proposals, and the rest try their next choice. What is left over stays home this year
(and, when it was on the release schedule, comes forward again next year: a backlog).

Push — function f at host h comes forward when
  * it is due on the scenario's RELEASE SCHEDULE: entry e = (city, type, units a year, first and last
    year) releases, by year t, round(Σ_years rate_e · release_schedule_scale) units in all (to the nearest
    unit, so a batch of half a unit a year or more starts in its first year); what moved
    already is subtracted, so units that found no receiver come forward again (capital_metro_area
    L145「高校、醫療機構、中央企業、事業單位、金融機構、科研院所」, L603「疏解集中承載地」: named functions
    leave in batches, at a pace the scenario states with its source or as an estimate);
  * its type is on h's negative list (capital_metro_area L43「控增量和疏存量相結合」; green_development
    L90「城六区禁限比例达79%」), or
  * h is over its own population cap (by more than a tolerance, `AT_CAP_TOLERANCE`), or h's province
    is near its cap (POLICY's `cap_warning_share`: green_development L69「北京市常住人口控制在2300万人以内」),
    and f's type is one h is not positioned for and not on a release schedule from h, or
  * h's cost index exceeds `cost_threshold` and f is market-driven (plant, wholesale market, data centre).
  Non-scheduled candidates are released at a share `annual_quota_share × pressure_p` per source
  province and type (pressure_p from POLICY), chosen at random.
  Residents move too: the RESIDENT SCHEDULE moves `persons a year × resident_schedule_scale` from one
  city to another (capital_metro_area L173「承接北京中心城區40萬—50萬常住人口疏解」), as planned migration.

Pull — receiver j scores mover f (錯位 role match, capital_metro_area L575「錯位聯動發展」):
  U_fj = w_role·role_j(type_f) + w_headroom·headroom_j − w_time·minutes(h→j)/60
         + w_incentive·incentive_j − w_cost·(cost_j − 1)
  headroom_j = land_index_j · min(1 − pop_j/cap_j, 1 − density_j/density_cap_j), clipped to [0, 1];
  incentive_j from the scenario (e.g. Xiong'an pay parity, capital_metro_area L607「不低於在京水準」).
  j is excluded when j = h, beyond `max_travel_minutes`, with no headroom, when f's type is on j's
  negative list, or when j's zone forbids f's sector (ZONING).

Match — deferred acceptance with capacities: each mover proposes to its best remaining receiver by
U_fj + Gumbel noise/β (so choice probabilities are logit with sharpness β, `choice_sharpness`);
each receiver holds the proposals with the highest U_fj up to `receiver capacity` units this
year and rejects the rest, who propose again. (The noise is drawn for every mover × city entry up to
`DENSE_NOISE_MAX_DRAWS` entries, above that only for the feasible pairs: the same process, since
each feasible pair gets its own independent draw.) Units are conserved: a function changes host, it is
never created or destroyed. A share `follow_share` of its jobs' holders move home with it; they and
the scheduled residents are handed to MIGRATE as planned moves (`relocation_followers`), and the homes
they leave in an optimised zone are converted (存量置換, ZONING's `vacated_housing_converted`), so the
source's housing cap falls with them. TAX_SHARE opens a contract between origin and host. With JOINT_CONTROL's
leakage ban on, every moved industrial plant (energy, heavy industry, general manufacturing; within its province
or across a border) enters with its emission factor cut by `equipment_upgrade`, as AIR treats all new industrial
capacity (bohai_rim_outline L808「提高环境准入门槛」).

Plan clauses: capital_metro_area L43「控增量和疏存量相結合」, L109「有序疏解北京非首都功能」,
L139「疏解與提升」, L145「高校、醫療機構」, L171「北京非首都功能疏解集中承載地」, L173「40萬—50萬」,
L193「承接中心城區適宜功能和人口疏解」, L603「疏解集中承載地」, L607「不低於在京水準」, L683「批發市場、物流中心等疏解」;
bohai_rim_outline L974「钢厂环保搬迁」; green_development L69「2300万人以内」, L90「城六区禁限比例达79%」.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import numpy as np
from regionsim.model.rules import tax_share, zoning
from regionsim.model.rules.base import UNCERTAINTY, Lever, RuleSpec, StepContext, fmt
from regionsim.model.rules.zoning import forbidden_mask
from regionsim.model.sectors import FUNCTION_TYPE_INDEX, FUNCTION_TYPE_LABELS, FUNCTION_TYPE_NAMES, FUNCTION_TYPES, SECTOR_INDEX, ZONES

RULE = RuleSpec(
    id="RELOCATE",
    key="relocate",
    stage="relocation",
    title_en="Relocation of non-capital functions (疏解 → 承接)",
    title_zh="非首都功能疏解与承接",
    clauses=(
        "capital_metro_area L43「控增量和疏存量相結合」",
        "capital_metro_area L109「有序疏解北京非首都功能」",
        "capital_metro_area L139「疏解與提升」",
        "capital_metro_area L145「高校、醫療機構」",
        "capital_metro_area L171「北京非首都功能疏解集中承載地」",
        "capital_metro_area L173「40萬—50萬」",
        "capital_metro_area L193「承接中心城區適宜功能和人口疏解」",
        "capital_metro_area L603「疏解集中承載地」",
        "capital_metro_area L607「不低於在京水準」",
        "capital_metro_area L683「批發市場、物流中心等疏解」",
        "bohai_rim_outline L974「钢厂环保搬迁」",
        "green_development L90「城六区禁限比例达79%」",
    ),
    levers=(
        Lever(
            "annual_quota_share",
            0.12,
            0.0,
            1.0,
            "Share of pushed (unscheduled) functions released per year",
            "每年疏解候选功能（非计划批次）的比例",
            "capital_metro_area L109「有序疏解北京非首都功能」",
        ),
        Lever(
            "release_schedule_scale",
            1.0,
            0.0,
            5.0,
            "Pace of the function release schedule (1 = as stated)",
            "功能疏解批次进度（1=按情景所列）",
            "capital_metro_area L145「積極穩妥有序承接」",
        ),
        Lever(
            "resident_schedule_scale",
            1.0,
            0.0,
            5.0,
            "Pace of the resident relocation schedule (1 = as stated)",
            "人口疏解进度（1=按情景所列）",
            "capital_metro_area L173「承接北京中心城區40萬—50萬常住人口疏解」",
        ),
        Lever(
            "cost_threshold",
            1.6,
            0.0,
            100.0,
            "Cost index above which market-driven functions leave",
            "市场型功能外迁的成本指数阈值",
            "estimate: modelling assumption (bohai_rim_outline L1093「推进产业转移承接」)",
            role=UNCERTAINTY,
        ),
        Lever(
            "weight_role",
            2.0,
            0.0,
            50.0,
            "Weight of role match (错位承接)",
            "功能定位匹配权重",
            "capital_metro_area L575「錯位聯動發展」",
            role=UNCERTAINTY,
        ),
        Lever(
            "weight_time",
            1.0,
            0.0,
            50.0,
            "Weight of travel time (per hour)",
            "通行时间权重（每小时）",
            "estimate: modelling assumption",
            role=UNCERTAINTY,
        ),
        Lever(
            "weight_headroom",
            1.0,
            0.0,
            50.0,
            "Weight of receiver headroom",
            "承接地容量余量权重",
            "capital_metro_area L171「按1萬人/平方公里控制」",
            role=UNCERTAINTY,
        ),
        Lever(
            "weight_incentive",
            1.0,
            0.0,
            50.0,
            "Weight of receiving incentives",
            "承接激励权重",
            "capital_metro_area L607「不低於在京水準」",
            role=UNCERTAINTY,
        ),
        Lever(
            "weight_cost",
            0.5,
            0.0,
            50.0,
            "Weight of receiver cost level",
            "承接地成本权重",
            "estimate: modelling assumption",
            role=UNCERTAINTY,
        ),
        Lever(
            "choice_sharpness",
            3.0,
            0.01,
            100.0,
            "Choice sharpness β (logit)",
            "选择敏感度β",
            "estimate: modelling assumption",
            role=UNCERTAINTY,
        ),
        Lever(
            "receiver_capacity_default",
            30.0,
            0.0,
            1e7,
            "Units a receiver can take per year",
            "承接地每年可承接单位数",
            "estimate: modelling assumption",
            role=UNCERTAINTY,
        ),
        Lever(
            "max_travel_minutes",
            240.0,
            1.0,
            10000.0,
            "Farthest a function moves (minutes)",
            "最远疏解距离（分钟）",
            "estimate: modelling assumption",
            role=UNCERTAINTY,
        ),
        Lever(
            "follow_share",
            0.5,
            0.0,
            1.0,
            "Share of staff who move home with their unit",
            "随迁职工比例",
            "estimate: modelling assumption (人随功能走)",
            role=UNCERTAINTY,
        ),
        Lever(
            "cap_push",
            True,
            kind="bool",
            label_en="A city over its cap, or a province near its cap, pushes functions out",
            label_zh="人口超过（或接近）上限推动疏解",
            clause="green_development L69「北京市常住人口控制在2300万人以内」",
        ),
    ),
    list_params={
        "incentives": "city_numbers",
        "receiver_capacity": "city_numbers",
        "release_schedule": "release_schedule",
        "resident_schedule": "resident_schedule",
    },
    list_defaults={"incentives": {}, "receiver_capacity": {}, "release_schedule": [], "resident_schedule": []},
)

AT_CAP_TOLERANCE = 1e-6
"""A city is over its cap when its population exceeds the cap by more than this share (rounding of
float sums must never decide a push)."""

SECTOR_OF_TYPE = np.array([SECTOR_INDEX[FUNCTION_TYPES[t]] for t in FUNCTION_TYPE_NAMES], dtype=np.int64)
MARKET_DRIVEN = np.array(
    [FUNCTION_TYPE_INDEX[t] for t in ("general_manufacturing_plant", "heavy_industry_plant", "wholesale_market", "data_centre")]
)

TYPE_CLAUSE = {
    "university": "capital_metro_area L145「高校」",
    "hospital": "capital_metro_area L145「醫療機構」",
    "research_institute": "capital_metro_area L145「科研院所」",
    "financial_institution": "capital_metro_area L145「金融機構」",
    "administrative_unit": "capital_metro_area L145「中央企業、事業單位」",
    "wholesale_market": "capital_metro_area L683「批發市場、物流中心等疏解」",
    "general_manufacturing_plant": "capital_metro_area L683「引導産業轉移承接佈局」",
    "heavy_industry_plant": "bohai_rim_outline L974「钢厂环保搬迁」",
    "data_centre": "capital_metro_area L221「算力」",
}


def initialise(state: Any, params: dict) -> None:
    """Turn the scenario's release and resident schedules into state arrays (one row per entry)."""
    p = params["relocate"]
    entries = p.get("release_schedule") or []
    state.schedule = {
        "city": np.array([state.city_ids.index(e["from"]) for e in entries], dtype=np.int64),
        "type": np.array([FUNCTION_TYPE_INDEX[e["type"]] for e in entries], dtype=np.int64),
        "rate": np.array([float(e["units_per_year"]) for e in entries]),
        "start": np.array([int(e.get("start", state.base_year + 1)) for e in entries], dtype=np.int64),
        "end": np.array([int(e.get("end", 10_000)) for e in entries], dtype=np.int64),
        "due": np.zeros(len(entries)),
        "moved": np.zeros(len(entries)),
    }
    moves = p.get("resident_schedule") or []
    state.resident_schedule = {
        "source": np.array([state.city_ids.index(e["from"]) for e in moves], dtype=np.int64),
        "target": np.array([state.city_ids.index(e["to"]) for e in moves], dtype=np.int64),
        "per_year": np.array([float(e["persons_10k"]) * 1e4 / (int(e["end"]) - int(e["start"]) + 1) for e in moves]),
        "start": np.array([int(e["start"]) for e in moves], dtype=np.int64),
        "end": np.array([int(e["end"]) for e in moves], dtype=np.int64),
        "moved": np.zeros(len(moves)),
    }


def scheduled_mask(state: Any) -> np.ndarray:
    """City × type: True where a release-schedule entry governs that type's pace in that city this year."""
    mask = np.zeros((state.n_cities, len(FUNCTION_TYPE_NAMES)), dtype=bool)
    sched = state.schedule
    if sched and len(sched["city"]):
        active = (sched["start"] <= state.year) & (state.year <= sched["end"])
        mask[sched["city"][active], sched["type"][active]] = True
    return mask


def candidates(ctx: StepContext) -> tuple[np.ndarray, np.ndarray]:
    """Functions pushed out this year, outside the release schedule, and the reason code of each
    (1 negative list, 2 over or near the cap, 4 cost; summed; 8 is the schedule, see `scheduled_release`)."""
    state, p = ctx.state, ctx.params["relocate"]
    host, ftype = state.fn_host, state.fn_type
    on_list = state.negative[host, ftype]
    over_city = state.population > state.population_cap * (1.0 + AT_CAP_TOLERANCE)
    near_province = state.province_near_cap[state.city_province] if len(state.province_near_cap) else False
    scheduled = scheduled_mask(state)[host, ftype]
    over_cap = (over_city | near_province)[host] & ~state.role[host, ftype] & bool(p["cap_push"]) & ~scheduled
    costly = (state.cost_index[host] > p["cost_threshold"]) & np.isin(ftype, MARKET_DRIVEN)
    reason = on_list * 1 + over_cap * 2 + costly * 4
    reason = np.where(scheduled, 0, reason)  # a scheduled type leaves at the schedule's pace, not the quota's
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


def scheduled_release(ctx: StepContext) -> tuple[np.ndarray, np.ndarray]:
    """This year's functions due on the release schedule, and the entry each belongs to.

    Entry e has released due_e units, rounded to the nearest, by now (due_e grows by rate_e · scale
    each active year);
    those not yet moved (including last years' units that found no receiver) come forward, chosen at
    random among the functions of that type its city hosts — after the entry's last year too, until the
    backlog has moved (the batch was released; only its pace ended).
    """
    state, scale = ctx.state, float(ctx.params["relocate"]["release_schedule_scale"])
    sched = state.schedule
    if not sched or len(sched["city"]) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    active = (sched["start"] <= state.year) & (state.year <= sched["end"])
    sched["due"][active] += sched["rate"][active] * scale
    backlog = (state.year > sched["end"]) & (np.floor(sched["due"] + 0.5 + 1e-9) - sched["moved"] >= 1.0)
    chosen, entry = [], []
    taken = np.zeros(state.n_functions, dtype=bool)
    for e in np.flatnonzero(active | backlog):
        want = np.floor(sched["due"][e] + 0.5 + 1e-9) - sched["moved"][e]  # rounded to the nearest unit
        if want < 1.0:
            continue
        pool = np.flatnonzero((state.fn_host == sched["city"][e]) & (state.fn_type == sched["type"][e]) & ~taken)
        if len(pool) == 0:
            continue
        pool = pool[ctx.rng.permutation(len(pool))]
        pick = pool[np.cumsum(state.fn_units[pool]) <= want + 1e-9]
        if len(pick) == 0:
            continue
        taken[pick] = True
        chosen.append(pick)
        entry.append(np.full(len(pick), e))
    if not chosen:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(chosen), np.concatenate(entry)


def move_residents(ctx: StepContext) -> None:
    """Hand this year's scheduled resident moves to MIGRATE as planned moves, and log them."""
    state = ctx.state
    sched = state.resident_schedule
    if not sched or len(sched["source"]) == 0:
        return
    scale = float(ctx.params["relocate"]["resident_schedule_scale"])
    active = np.flatnonzero((sched["start"] <= state.year) & (state.year <= sched["end"]))
    persons = sched["per_year"][active] * scale
    active, persons = active[persons > 0], persons[persons > 0]
    if len(active) == 0:
        return
    source, target = sched["source"][active], sched["target"][active]
    np.add.at(state.relocation_followers, (source, target), persons)
    sched["moved"][active] += persons
    _note_followers(state, source, target)
    en, zh, ids = state.labels("city_names_en"), state.labels("city_names_zh"), state.labels("city_ids")
    ctx.events.add_many(
        len(active),
        ctx.year,
        "RELOCATE",
        "residents",
        ids[source],
        ids[target],
        amount=persons,
        unit="persons",
        clause=np.full(len(active), "capital_metro_area L173「承接北京中心城區40萬—50萬常住人口疏解」", dtype=object),
        why_en=lambda: [
            f"{fmt(x, 0)} residents of {a} move to {b} on the resident relocation schedule"
            for x, a, b in zip(persons.tolist(), en[source].tolist(), en[target].tolist(), strict=True)
        ],
        why_zh=lambda: [
            f"按人口疏解计划，{a}{fmt(x, 0)}名常住人口迁往{b}"
            for x, a, b in zip(persons.tolist(), zh[source].tolist(), zh[target].tolist(), strict=True)
        ],
    )


def _note_followers(state: Any, origin: np.ndarray, target: np.ndarray) -> None:
    """Remember which (origin, target) entries of `relocation_followers` are set, so MIGRATE need not scan it."""
    added = np.unique(origin * state.n_cities + target)
    earlier = state.followers_at  # not yet moved by MIGRATE
    state.followers_at = added if earlier is None else np.union1d(earlier, added)


def convert_vacated_housing(ctx: StepContext) -> None:
    """Homes vacated by this year's planned moves out of optimised zones are converted (存量置換,
    capital_metro_area L143「存量置換」) by ZONING's `vacated_housing_converted` share: the housing cap
    falls with them now, so the homes are not re-let to newcomers within the year."""
    state = ctx.state
    if not ctx.on("zoning"):
        return
    share = float(ctx.params["zoning"]["vacated_housing_converted"])
    leaving = state.relocation_followers.sum(axis=1)
    optimised = state.zone == ZONES.index("optimised")
    state.housing_converted += share * leaving * optimised
    state.population_cap = zoning.population_caps(state, ctx.params["zoning"])


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
    return utility, {
        "group": group,
        "role": role,
        "minutes": minutes,
        "headroom": np.broadcast_to(headroom, role.shape),
        "incentive": np.broadcast_to(incentive, role.shape),
    }


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
        movers = by_group[bounds[g] : bounds[g + 1]]
        if len(movers) == 0 or counts[movers[0]] == 0:
            continue
        position = start[movers][:, None] + np.arange(counts[movers[0]])[None, :]
        rank = np.argsort(-preference[position], axis=1, kind="stable")
        order[position] = np.take_along_axis(position, rank, axis=1)
    return order


def match_pairs(
    m: int,
    mover: np.ndarray,
    receiver: np.ndarray,
    utility: np.ndarray,
    preference: np.ndarray,
    units: np.ndarray,
    capacity: np.ndarray,
    order: np.ndarray | None = None,
) -> np.ndarray:
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
    """Run this year's relocation market, move the matched functions and the scheduled residents."""
    state = ctx.state
    state.moved_this_year[:] = False
    pushed, reason = candidates(ctx)
    quota_movers = release(ctx, pushed)
    due, entry_of_due = scheduled_release(ctx)
    movers = np.union1d(quota_movers, due).astype(np.int64)
    reason = reason.copy()
    reason[due] |= 8
    entry = np.full(state.n_functions, -1, dtype=np.int64)
    entry[due] = entry_of_due
    if len(movers):
        _match_and_move(ctx, movers, reason, entry)
    move_residents(ctx)
    convert_vacated_housing(ctx)


def _match_and_move(ctx: StepContext, movers: np.ndarray, reason: np.ndarray, entry: np.ndarray) -> None:
    """Score, match and move `movers`; record staff who follow, tax contracts, schedule progress and events."""
    state, p = ctx.state, ctx.params["relocate"]
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
    match = match_pairs(len(movers), mover, receiver, value, preference, state.fn_units[movers].astype(float), capacity, order)

    moved = movers[match >= 0]
    origin, target = state.fn_host[moved].copy(), match[match >= 0]
    state.fn_host[moved] = target
    state.fn_year_moved[moved] = ctx.year
    state.moved_this_year[moved] = True
    scheduled = entry[moved] >= 0
    if scheduled.any():
        np.add.at(state.schedule["moved"], entry[moved][scheduled], state.fn_units[moved][scheduled])
    np.add.at(state.relocation_followers, (origin, target), p["follow_share"] * state.fn_jobs[moved])
    _note_followers(state, origin, target)  # where MIGRATE finds them without scanning the whole n × n matrix
    if ctx.on("joint_control") and ctx.params["joint_control"]["leakage_ban"]:
        upgrade = moved[np.isin(state.fn_sector[moved], INDUSTRIAL_SECTORS)]
        state.fn_emission_factor[upgrade] *= 1.0 - ctx.params["joint_control"]["equipment_upgrade"]
    if ctx.on("tax_share"):
        tax_share.open_contracts(state, moved, origin, ctx.params["tax_share"])
    _log_moves(ctx, movers, match, moved, origin, target, reason, parts, utility)


INDUSTRIAL_SECTORS = np.array([SECTOR_INDEX[s] for s in ("energy", "heavy_industry", "general_manufacturing")])
"""Sectors whose moved plants must meet the raised entry threshold (the same list as AIR's new capacity)."""


REASONS = {
    1: ("on its city's negative list", "列入所在地负面清单"),
    2: ("population over or near its cap", "人口超过或接近上限"),
    4: ("costs above threshold", "成本超过阈值"),
    8: ("due on the release schedule", "按疏解批次计划到期"),
}


def _reason_text(code: int) -> tuple[str, str]:
    parts = [REASONS[bit] for bit in (1, 2, 4, 8) if code & bit]
    return "; ".join(p[0] for p in parts), "；".join(p[1] for p in parts)


TYPE_NAMES = np.array(FUNCTION_TYPE_NAMES, dtype=object)
TYPE_CLAUSES = np.array([TYPE_CLAUSE[t] for t in FUNCTION_TYPE_NAMES], dtype=object)
REASON_TEXT = [_reason_text(code) if code else ("", "") for code in range(16)]


RUNNERS_UP = 2
"""How many runner-up receivers a relocation event names (with the reason each lost)."""

_LOST_EN = {
    "role": "its role in the plan fits less ({a:.1f} vs {b:.1f})",
    "time": "it is farther ({a:.0f} vs {b:.0f} min)",
    "headroom": "it has less room ({a:.2f} vs {b:.2f})",
    "incentive": "it offers less ({a:.1f} vs {b:.1f})",
}
_AS_WELL = ("it scored as well but had no room left this year or lost the draw", "得分相当，但今年已无接收容量或抽签落选")
"""Why a runner-up that scored at least as high as the chosen receiver was not chosen (English, Chinese)."""
_LOST_ZH = {
    "role": "功能定位匹配较低（{a:.1f}对{b:.1f}）",
    "time": "距离更远（{a:.0f}对{b:.0f}分钟）",
    "headroom": "容量余量较小（{a:.2f}对{b:.2f}）",
    "incentive": "激励较少（{a:.1f}对{b:.1f}）",
}


def runners_up(ctx: StepContext, utility: np.ndarray, parts: dict, row: int, chosen: int) -> list[dict]:
    """The receivers that scored best after `chosen` for group `row`, each with the part of the score in which
    it trails `chosen` most (or, when it scored higher, that it was full or lost the draw)."""
    p, ids = ctx.params["relocate"], ctx.state.city_ids
    scores = utility[row].copy()
    scores[chosen] = -np.inf
    out = []
    for j in np.argsort(-scores, kind="stable")[:RUNNERS_UP]:
        if not np.isfinite(scores[j]):
            break
        values = {key: (parts[key][row, j], parts[key][row, chosen]) for key in ("role", "headroom", "incentive")}
        values["time"] = (parts["minutes"][row, j], parts["minutes"][row, chosen])
        gap = {
            "role": p["weight_role"] * (values["role"][0] - values["role"][1]),
            "time": -p["weight_time"] * (values["time"][0] - values["time"][1]) / 60.0,
            "headroom": p["weight_headroom"] * (values["headroom"][0] - values["headroom"][1]),
            "incentive": p["weight_incentive"] * (values["incentive"][0] - values["incentive"][1]),
        }
        if scores[j] >= utility[row, chosen]:
            why_en, why_zh = _AS_WELL
        else:
            key = min(gap, key=gap.get)
            a, b = values[key]
            why_en, why_zh = _LOST_EN[key].format(a=a, b=b), _LOST_ZH[key].format(a=a, b=b)
        out.append({"city": ids[int(j)], "score_gap": round(float(utility[row, chosen] - scores[j]), 3), "why": why_en, "why_zh": why_zh})
    return out


# --- the relocation events' text, built column-wise as Arrow string arrays (tests/test_event_text.py holds
# the sentence and JSON each row had when written value by value, and checks whole runs against them) ---

_TYPE_LABEL_ZH = [FUNCTION_TYPE_LABELS[name][0] for name in FUNCTION_TYPE_NAMES]
_TYPE_LABEL_EN = [FUNCTION_TYPE_LABELS[name][1] for name in FUNCTION_TYPE_NAMES]


def move_sentences(en: np.ndarray, zh: np.ndarray, m: dict[str, np.ndarray]):
    """why_en and why_zh of the moves `m` (`_log_moves`'s columns), as lazy text columns; row by row
    f"{u} {type_en}{'s' if u > 1 else ''} moved from {en[origin]} to {en[target]} ({reason_en}): role match {role:.1f},
    travel time {minutes:.0f} min, headroom {headroom:.2f}, incentive {incentive:.1f}" and
    f"{u}个{type_zh}由{zh[origin]}迁往{zh[target]}（{reason_zh}）：功能定位匹配{role:.1f}，通行时间{minutes:.0f}分钟，
    容量余量{headroom:.2f}，激励{incentive:.1f}"."""
    from regionsim.model.events import text_int, text_join, text_number, text_pick

    @cache
    def numbers():  # shared by the two languages
        return text_int(m["units"]), *(text_number(m[k], d) for k, d in (("role", 1), ("minutes", 0), ("headroom", 2), ("incentive", 1)))

    def why_en():
        import pyarrow as pa
        import pyarrow.compute as pc

        u, r, t, h, i = numbers()
        plural = pc.if_else(pa.array(np.asarray(m["units"]) > 1), "s", "")
        kind, reason = text_pick(_TYPE_LABEL_EN, m["ftype"]), text_pick([text[0] for text in REASON_TEXT], m["codes"])
        origin, target = text_pick(en, m["origin"]), text_pick(en, m["target"])
        return text_join(
            u, " ", kind, plural, " moved from ", origin, " to ", target, " (", reason, "): role match ", r,
            ", travel time ", t, " min, headroom ", h, ", incentive ", i,
        )  # fmt: skip

    def why_zh():
        u, r, t, h, i = numbers()
        kind, reason = text_pick(_TYPE_LABEL_ZH, m["ftype"]), text_pick([text[1] for text in REASON_TEXT], m["codes"])
        origin, target = text_pick(zh, m["origin"]), text_pick(zh, m["target"])
        return text_join(
            u, "个", kind, "由", origin, "迁往", target, "（", reason, "）：功能定位匹配", r,
            "，通行时间", t, "分钟，容量余量", h, "，激励", i,
        )  # fmt: skip

    return why_en, why_zh


def runner_up_receivers(utility: np.ndarray, rows: np.ndarray, chosen: np.ndarray, k: int = RUNNERS_UP) -> tuple[np.ndarray, np.ndarray]:
    """For every move (group row `rows[i]`, receiver `chosen[i]`): the `k` receivers `runners_up` names, as
    (receivers, named): receiver t of move i is named if named[i, t]. Those are the best-scored others in
    order (ties: lower index first, as a stable sort), up to the first that could not receive (score not finite)."""
    n = utility.shape[1]
    groups, inverse = np.unique(rows, return_inverse=True)
    depth = min(k + 1, n)
    top = np.full((len(groups), k + 1), -1, dtype=np.int64)
    block = max(1, 2_000_000 // max(n, 1))
    for a in range(0, len(groups), block):
        scores = utility[groups[a : a + block]].copy()
        scores[np.isnan(scores)] = -np.inf  # a stable sort puts NaN after −inf; neither is ever named
        lines = np.arange(len(scores))
        for t in range(depth):
            best = np.argmax(scores, axis=1)  # the first of the highest: a stable sort's order
            # a row left with no finite score has no one more to name (argmax would point at city 0 again)
            top[a : a + block, t] = np.where(scores[lines, best] > -np.inf, best, -1)
            scores[lines, best] = -np.inf
    candidates = top[inverse.ravel()]
    other = candidates != chosen[:, None]
    order = np.argsort(~other, axis=1, kind="stable")[:, :k]  # the first k that are not the chosen one
    receivers = np.take_along_axis(candidates, order, axis=1)
    named = np.take_along_axis(other, order, axis=1) & (receivers >= 0)
    named &= np.isfinite(utility[rows[:, None], np.maximum(receivers, 0)])
    return np.where(named, receivers, 0), np.logical_and.accumulate(named, axis=1)


def _json_text(text: str) -> str:
    """`text` as it appears inside a JSON string (json.dumps with ensure_ascii=False, without the quotes)."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _lost_text(templates: dict[str, str], key: np.ndarray, values: dict[str, tuple[np.ndarray, np.ndarray]], memo: dict):
    """`templates[KEYS[key]].format(a=…, b=…)` row by row, JSON-escaped; templates hold "{a:.Nf}" / "{b:.Nf}" fields.
    `memo` keeps the numbers' texts for the other language's templates."""
    from string import Formatter

    import pyarrow as pa
    import pyarrow.compute as pc
    from regionsim.model.events import text_join, text_number

    texts = []
    for name in _LOST_KEYS:
        parts = []
        for literal, field, spec, _ in Formatter().parse(templates[name]):
            parts.append(_json_text(literal))
            if field is not None:
                if field not in ("a", "b") or not (spec.startswith(".") and spec.endswith("f")):
                    raise ValueError(f"runner-up template {templates[name]!r}: fields must be {{a:.Nf}} or {{b:.Nf}}")
                number = (name, field, int(spec[1:-1]))
                if number not in memo:
                    memo[number] = text_number(values[name][field == "b"], number[2])
                parts.append(memo[number])
        texts.append(text_join(*parts))
    return pc.choose(pa.array(key, type=pa.int8()), *texts)


_LOST_KEYS = ("role", "time", "headroom", "incentive")
"""The parts of the score a runner-up can trail in, in the order `runners_up` looks at them (ties: the first)."""


def _runner_json(
    ctx: StepContext, utility: np.ndarray, parts: dict, rows: np.ndarray, chosen: np.ndarray, j: np.ndarray, cities: list[str]
):
    """Each move's runner-up `j` as `runners_up` describes it, as JSON text (json.dumps, sort_keys, ensure_ascii=False),
    and where that was not written column-wise (a part of the score is NaN: Python's min then differs from argmin).
    `cities`: the city ids as JSON strings."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from regionsim.model.events import text_join, text_pick, text_rounded

    p = ctx.params["relocate"]
    values = {key: (parts[key][rows, j], parts[key][rows, chosen]) for key in ("role", "headroom", "incentive")}
    values["time"] = (parts["minutes"][rows, j], parts["minutes"][rows, chosen])
    gap = np.stack(
        [
            p["weight_role"] * (values["role"][0] - values["role"][1]),
            -p["weight_time"] * (values["time"][0] - values["time"][1]) / 60.0,
            p["weight_headroom"] * (values["headroom"][0] - values["headroom"][1]),
            p["weight_incentive"] * (values["incentive"][0] - values["incentive"][1]),
        ],
        axis=1,
    )
    odd = np.isnan(gap).any(axis=1)
    key = np.argmin(np.where(odd[:, None], 0.0, gap), axis=1)
    as_well, memo = pa.array(utility[rows, j] >= utility[rows, chosen]), {}
    why = [
        pc.if_else(as_well, _json_text(same), _lost_text(templates, key, values, memo))
        for same, templates in ((_AS_WELL[0], _LOST_EN), (_AS_WELL[1], _LOST_ZH))
    ]
    city = text_pick(cities, j)
    score_gap = text_rounded(utility[rows, chosen] - utility[rows, j], 3, json_float=True)
    return text_join('{"city": ', city, ', "score_gap": ', score_gap, ', "why": "', why[0], '", "why_zh": "', why[1], '"}'), odd


def move_details(ctx: StepContext, utility: np.ndarray, parts: dict, m: dict[str, np.ndarray]):
    """The moves' detail column (lazy): row by row json.dumps({"role_match": round(role, 3), "travel_minutes":
    round(minutes, 1), "headroom": round(headroom, 3), "incentive": round(incentive, 3), "jobs": round(jobs, 1),
    "function": f, "runners_up": runners_up(ctx, utility, parts, row, target)}, sort_keys=True, ensure_ascii=False)."""

    def detail():
        import pyarrow as pa
        import pyarrow.compute as pc
        from regionsim.model.events import text_int, text_join, text_rounded

        rows, chosen = m["rows"], m["target"]
        receivers, named = runner_up_receivers(utility, rows, chosen)
        listed, odd = pa.array([""] * len(rows), type=pa.string()), np.zeros(len(rows), dtype=bool)
        cities = [json.dumps(c, ensure_ascii=False) for c in ctx.state.city_ids]
        for t in range(receivers.shape[1]):
            runner, odd_t = _runner_json(ctx, utility, parts, rows, chosen, receivers[:, t], cities)
            listed = pc.if_else(pa.array(named[:, t]), text_join(listed, ", " if t else "", runner), listed)
            odd |= odd_t & named[:, t]
        text = text_join(
            '{"function": ', text_int(m["moved"]), ', "headroom": ', text_rounded(m["headroom"], 3, json_float=True),
            ', "incentive": ', text_rounded(m["incentive"], 3, json_float=True), ', "jobs": ', text_rounded(m["jobs"], 1, json_float=True),
            ', "role_match": ', text_rounded(m["role"], 3, json_float=True), ', "runners_up": [', listed,
            '], "travel_minutes": ', text_rounded(m["minutes"], 1, json_float=True), "}",
        )  # fmt: skip
        if not odd.any():
            return text
        slow = np.flatnonzero(odd)  # written value by value, as runners_up does
        again = [_detail_json(ctx, utility, parts, m, i) for i in slow.tolist()]
        return pc.replace_with_mask(text, pa.array(odd), pa.array(again, type=pa.string()))

    return detail


def _detail_json(ctx: StepContext, utility: np.ndarray, parts: dict, m: dict[str, np.ndarray], i: int) -> str:
    """One move's detail, value by value (the rare rows `move_details` cannot write column-wise)."""
    fields = {"role_match": ("role", 3), "travel_minutes": ("minutes", 1), "headroom": ("headroom", 3), "incentive": ("incentive", 3)}
    record = {name: round(m[key][i].item(), digits) for name, (key, digits) in fields.items()}
    record |= {"jobs": round(m["jobs"][i].item(), 1), "function": m["moved"][i].item()}
    record["runners_up"] = runners_up(ctx, utility, parts, int(m["rows"][i]), int(m["target"][i]))
    return json.dumps(record, sort_keys=True, ensure_ascii=False)


def _log_moves(ctx, movers, match, moved, origin, target, reason, parts, utility) -> None:
    """One event per move, and one per (city, type) whose ready movers found no receiver."""
    state = ctx.state
    rows = parts["group"][np.nonzero(match >= 0)[0]]  # each moved function's (host, type) row of the parts
    ftype, units, jobs = state.fn_type[moved], state.fn_units[moved], state.fn_jobs[moved]
    codes = reason[moved]
    role, minutes = parts["role"][rows, target], parts["minutes"][rows, target]
    headroom, incentive = parts["headroom"][rows, target], parts["incentive"][rows, target]
    en, zh = state.labels("city_names_en"), state.labels("city_names_zh")

    moves = {"ftype": ftype, "units": units, "codes": codes, "origin": origin, "target": target, "role": role}
    moves |= {"minutes": minutes, "headroom": headroom, "incentive": incentive, "jobs": jobs, "moved": moved, "rows": rows}
    why_en, why_zh = move_sentences(en, zh, moves)
    detail = move_details(ctx, utility, parts, moves)

    ids = state.labels("city_ids")
    ctx.events.add_many(
        len(moved),
        ctx.year,
        "RELOCATE",
        "relocation",
        ids[origin],
        ids[target],
        function_type=TYPE_NAMES[ftype],
        units=units,
        amount=jobs,
        unit="jobs",
        clause=TYPE_CLAUSES[ftype],
        why_en=why_en,
        why_zh=why_zh,
        detail=detail,
    )

    stayed = movers[match < 0]
    if len(stayed) == 0:
        return
    keys = np.stack([state.fn_host[stayed], state.fn_type[stayed]], axis=1)
    unique, group, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    stayed_units = np.zeros(len(unique), dtype=np.int64)
    np.add.at(stayed_units, group.ravel(), state.fn_units[stayed])
    h_idx, t_idx = unique[:, 0], unique[:, 1]

    def stayed_en() -> list[str]:
        return [
            f"{k} {FUNCTION_TYPE_LABELS[FUNCTION_TYPE_NAMES[t]][1]} agent(s) ready to leave {h} found no receiver with "
            f"room, a matching zone and travel time within reach; they stay this year"
            for k, t, h in zip(counts.tolist(), t_idx.tolist(), en[h_idx].tolist(), strict=True)
        ]

    def stayed_zh() -> list[str]:
        return [
            f"{k}个待疏解的{FUNCTION_TYPE_LABELS[FUNCTION_TYPE_NAMES[t]][0]}未找到有容量、分区允许且距离可达的承接地，今年留在{h}"
            for k, t, h in zip(counts.tolist(), t_idx.tolist(), zh[h_idx].tolist(), strict=True)
        ]

    ctx.events.add_many(
        len(unique),
        ctx.year,
        "RELOCATE",
        "stayed",
        ids[h_idx],
        ids[h_idx],
        function_type=TYPE_NAMES[t_idx],
        units=stayed_units,
        unit="units",
        clause=TYPE_CLAUSES[t_idx],
        why_en=stayed_en,
        why_zh=stayed_zh,
    )


__all__ = [
    "RULE",
    "apply",
    "candidates",
    "deferred_acceptance",
    "group_utilities",
    "initialise",
    "match_pairs",
    "move_residents",
    "release",
    "scheduled_release",
    "utilities",
    "fmt",
]
