"""FUND — the cooperation fund and pairing aid.

Picture a common purse. Member provinces' cities put in a share of their tax revenue each year;
the purse pays for cross-border infrastructure in the lagging members (links there get faster),
for ecological compensation of water-source areas, and for pollution clean-up where the air is
worst. Separately, named donor cities give pairing aid (对口帮扶) to named recipients.

  contribution_c = contribution_rate · tax revenue_c                   (member cities → fund)
  spending       = spend_rate · fund balance, split by share_infrastructure / _compensation / _cleanup
    infrastructure → member cities with GDP per capita below the member mean, by population;
                     every link touching a recipient gets faster: its time factor f (1 = base time) moves
                     toward the floor m = min_time_factor, f ← m + (f − m) · max(0, 1 − speedup · amount / (1 − m)),
                     so a 亿元 cuts `speedup` of the base time on a new link and less as the link nears its
                     floor (the easy minutes go first; f never passes m; with m = 1 nothing changes)
                     (travel times between cities follow at the start of a year; above 200 cities they
                     are recomputed only once some link's minutes moved by more than 1% since the last
                     computation, so in between the exact fastest route may be up to 1% shorter
                     than the time used — see `model.network.travel_times`)
    compensation   → water-source cities, by area
    clean-up       → cities above their PM2.5 target, by population · excess; next year AIR spends it
                     on end-of-pipe abatement: tonnes = amount / AIR's cost per tonne
  pairing aid donor→recipient = pairing_rate · tax revenue_donor
The fund is an account of its own: what cities put in, it holds or pays out; nothing is lost.

Plan clauses: bohai_rim_outline L1228–1230「联合建立环渤海地区合作发展基金…基础设施建设、区际利益补偿、生态环境
整治」 (cooperation development fund), L1483「继续推动北京对口帮扶内蒙古贫困地区工作」; inner_mongolia_bohai
L115「继续推进京蒙对口帮扶」, 「实施赤峰、乌兰察布职业技能提升计划」 (pairing aid from Beijing to Chifeng and
Ulanqab). The plans give no rates or shares: every number here is an estimate.
"""

from __future__ import annotations

import numpy as np
from regionsim.model.rules.base import POLICY, UNCERTAINTY, Lever, RuleSpec, StepContext, fmt

RULE = RuleSpec(
    id="FUND",
    key="fund",
    stage="money",
    title_en="Cooperation fund and pairing aid",
    title_zh="合作发展基金与对口帮扶",
    clauses=(
        "bohai_rim_outline L1228「联合建立环渤海地区合作发展基金」",
        "bohai_rim_outline L1483「北京对口帮扶内蒙古」",
        "inner_mongolia_bohai L115「继续推进京蒙对口帮扶」",
    ),
    levers=(
        Lever(
            "contribution_rate",
            0.005,
            0.0,
            0.2,
            "Share of tax revenue paid into the fund",
            "按税收缴入基金的比例",
            "bohai_rim_outline L1226–1228「由七省（区、市）共同出资」 (the rate: estimate)",
            role=POLICY,
        ),
        Lever(
            "spend_rate",
            0.8,
            0.0,
            1.0,
            "Share of the fund balance spent each year",
            "基金年度支出比例",
            "estimate: modelling assumption",
            role=POLICY,
        ),
        Lever(
            "share_infrastructure",
            0.5,
            0.0,
            1.0,
            "Share of spending on cross-region infrastructure",
            "基础设施支出占比",
            "bohai_rim_outline L1228–1230「专项用于跨区域…基础设施建设」 (the share: estimate)",
            role=POLICY,
        ),
        Lever(
            "share_compensation",
            0.25,
            0.0,
            1.0,
            "Share of spending on ecological compensation",
            "生态补偿支出占比",
            "bohai_rim_outline L1230「区际利益补偿」 (the share: estimate)",
            role=POLICY,
        ),
        Lever(
            "share_cleanup",
            0.25,
            0.0,
            1.0,
            "Share of spending on pollution clean-up",
            "污染治理支出占比",
            "bohai_rim_outline L1230「生态环境整治」 (the share: estimate)",
            role=POLICY,
        ),
        Lever(
            "speedup_per_100m_yuan",
            0.002,
            0.0,
            0.1,
            "Travel-time cut per 亿元 spent on a city's links",
            "每亿元投资缩短通行时间比例",
            "estimate: modelling assumption",
            role=UNCERTAINTY,
        ),
        Lever(
            "min_time_factor",
            0.6,
            0.1,
            1.0,
            "Fastest a link can become (share of its base time)",
            "通行时间最低可降至",
            "estimate: modelling assumption",
            role=UNCERTAINTY,
        ),
        Lever(
            "pairing_rate",
            0.005,
            0.0,
            0.2,
            "Pairing aid as a share of the donor's tax revenue",
            "对口帮扶占援助方税收比例",
            "inner_mongolia_bohai L115「继续推进京蒙对口帮扶」 (the rate: estimate)",
            role=POLICY,
        ),
    ),
    list_params={"members": "province", "pairing": "city_pairs"},
    list_defaults={"members": [], "pairing": []},
)


FUND_CLAUSE = "bohai_rim_outline L1228「联合建立环渤海地区合作发展基金」"
"""The clause each fund payment cites."""


def _pay_out(ctx: StepContext, purpose_en: str, purpose_zh: str, recipients: np.ndarray, weights: np.ndarray, total: float) -> np.ndarray:
    state = ctx.state
    fund = state.n_cities
    if total <= 0 or len(recipients) == 0 or weights.sum() <= 0:
        return np.zeros(0)
    amounts = total * weights / weights.sum()
    state.transfers.pay("FUND", np.full(len(recipients), fund), recipients, amounts)
    state.fund_balance -= float(amounts.sum())
    logged = amounts > 1e-9
    c_idx, paid = recipients[logged], amounts[logged]
    en, zh = state.labels("city_names_en"), state.labels("city_names_zh")

    def why_en() -> list[str]:
        return [
            f"The cooperation fund pays {c} {x:,.3f} 亿元 for {purpose_en}" for c, x in zip(en[c_idx].tolist(), paid.tolist(), strict=True)
        ]

    def why_zh() -> list[str]:
        return [f"合作发展基金向{c}拨付{x:,.3f}亿元，用于{purpose_zh}" for c, x in zip(zh[c_idx].tolist(), paid.tolist(), strict=True)]

    ctx.events.add_many(
        len(c_idx),
        ctx.year,
        "FUND",
        "payment",
        "fund",
        state.labels("city_ids")[c_idx],
        amount=paid,
        unit="100m yuan",
        clause=FUND_CLAUSE,
        why_en=why_en,
        why_zh=why_zh,
    )
    return amounts


def faster_links(factor: np.ndarray, amount: np.ndarray, speedup: float, floor: float) -> np.ndarray:
    """Links' time factors after `amount` 亿元 each: f ← m + (f − m) · max(0, 1 − speedup · amount / (1 − m))."""
    if floor >= 1.0:
        return factor
    return floor + (factor - floor) * np.maximum(0.0, 1.0 - speedup * amount / (1.0 - floor))


def apply(ctx: StepContext) -> None:
    """Collect contributions, spend the fund, pay pairing aid."""
    state, p = ctx.state, ctx.params["fund"]
    n, fund = state.n_cities, state.n_cities
    tax = state.tax_revenue()
    members = np.ones(n, dtype=bool)
    if p["members"]:
        members = np.isin(state.city_province, [state.province_ids.index(x) for x in p["members"]])
    contribution = p["contribution_rate"] * tax * members
    state.transfers.pay("FUND", np.nonzero(members)[0], np.full(int(members.sum()), fund), contribution[members])
    state.fund_balance += float(contribution.sum())
    if contribution.sum() > 0:
        ctx.events.add(
            ctx.year,
            "FUND",
            "payment",
            "members",
            "fund",
            units=int(members.sum()),
            amount=float(contribution.sum()),
            unit="100m yuan",
            clause=FUND_CLAUSE,
            why_en=f"{int(members.sum())} member cities pay {p['contribution_rate']:.1%} of their tax revenue into the cooperation fund",
            why_zh=f"{int(members.sum())}个成员城市按税收的{p['contribution_rate']:.1%}缴入合作发展基金",
        )

    budget = p["spend_rate"] * state.fund_balance
    shares = np.array([p["share_infrastructure"], p["share_compensation"], p["share_cleanup"]])
    shares = shares / shares.sum() if shares.sum() > 0 else shares
    gdp_pc = state.gdp() / np.maximum(state.population, 1.0)
    mean_pc = state.gdp()[members].sum() / max(state.population[members].sum(), 1.0)
    lagging = np.nonzero(members & (gdp_pc < mean_pc))[0]
    spent = _pay_out(ctx, "cross-region infrastructure", "跨区域基础设施", lagging, state.population[lagging], budget * shares[0])
    if len(spent):
        per_city = np.zeros(n)
        per_city[lagging] = spent
        touched = per_city[state.link_from] + per_city[state.link_to]
        state.link_speedup = faster_links(state.link_speedup, touched, p["speedup_per_100m_yuan"], p["min_time_factor"])
    water = np.nonzero(state.water_source)[0]
    _pay_out(ctx, "ecological compensation", "生态补偿", water, state.area_km2[water], budget * shares[1])
    excess = np.maximum(0.0, state.pm25 - state.pm25_target[state.city_province])
    dirty = np.nonzero(excess > 0)[0]
    cleanup = _pay_out(ctx, "pollution clean-up", "污染治理", dirty, state.population[dirty] * excess[dirty], budget * shares[2])
    state.fund_cleanup = np.zeros(n)
    state.fund_cleanup[dirty[: len(cleanup)]] = cleanup  # AIR buys abatement with it next year

    for donor_id, recipient_id in p["pairing"] or []:
        d, r = state.city_ids.index(donor_id), state.city_ids.index(recipient_id)
        x = p["pairing_rate"] * tax[d]
        state.transfers.pay("FUND", np.array([d]), np.array([r]), np.array([x]))
        ctx.events.add(
            ctx.year,
            "FUND",
            "payment",
            donor_id,
            recipient_id,
            amount=float(x),
            unit="100m yuan",
            clause="inner_mongolia_bohai L115「继续推进京蒙对口帮扶」",
            why_en=f"Pairing aid: {state.city_names_en[d]} gives {state.city_names_en[r]} {fmt(x, 3)} 亿元",
            why_zh=f"对口帮扶：{state.city_names_zh[d]}援助{state.city_names_zh[r]}{fmt(x, 3)}亿元",
        )
