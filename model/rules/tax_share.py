"""TAX_SHARE — origin and host share a relocated firm's taxes (利益共享).

Picture a factory that moved from Beijing to Cangzhou. Its taxes are now collected in Cangzhou,
but for a while Cangzhou hands half of them back to Beijing — until Beijing has received as much
as the factory paid in its last three years before moving. The 2015 rule of the Ministry of Finance
and the State Administration of Taxation for Beijing–Tianjin–Hebei relocated enterprises is named
at green_development L82「《京津冀协同发展产业转移对接企业税收收入分享办法》」, but that line gives neither the
50:50 split nor the three-year cap. The split is published: Xinhua's report of 2015-09-29 on the 办法
(「财税新政策助推京津冀企业跨省流动」) says origin and host share the three main taxes 「一定时期内实行税收收入“五五分成”」
until the sharing period ends or a cap is reached; the cap as three years of pre-move taxes is an estimate (the
report does not give it). Both are levers here.

When a function moves (RELOCATE), a contract opens:
  cap_f = cap_years × (mean yearly tax of f over the three years before the move),  paid_f = 0.
Each year, while paid_f < cap_f:
  payment_f = min(split_to_origin × tax_f, cap_f − paid_f), paid by the host to the origin.
A function that moves again opens a new contract with its latest host as origin.

Per-pair splits (`pair_split`, a list of { origin = …, host = …, split = share }; empty by default): a
contract whose origin city lies in `origin` and whose host city lies in `host` (each a province id or a list
of city ids) uses that entry's split instead of `split_to_origin`, from the year it is set on; a later
entry of the list wins over an earlier one for the same contract. The cap is unchanged, so a higher split
pays the same total sooner. The classroom game's accepted tax-split offers set it (origin and host agree
their own split, as capital_metro_area L719「探索跨區域産業合作責任共擔和利益分享」 invites).

Plan clauses: green_development L82「税收收入分享办法」; bohai_rim_outline L1107–1109「探索创新产
业跨区域转移的利益共享机制」, L1230「区际利益补偿」; inner_mongolia_bohai L128「创新产业跨区域转移的利益共享机制」
(enclave parks, 「飞地」); capital_metro_area L719「探索跨區域産業合作責任共擔和利益分享」; harbin_changchun
L234「建立跨地区投资、地区生产总值、财税等利益分享机」.
"""

from __future__ import annotations

import numpy as np
from regionsim.model.rules.base import POLICY, Lever, RuleSpec, StepContext, party_cities

RULE = RuleSpec(
    id="TAX_SHARE",
    key="tax_share",
    stage="money",
    title_en="Tax sharing on relocated functions",
    title_zh="迁移企业税收分享",
    clauses=(
        "green_development L82「税收收入分享办法」",
        "bohai_rim_outline L1107–1109「利益共享机制」",
        "bohai_rim_outline L1230「区际利益补偿」",
        "inner_mongolia_bohai L128「创新产业跨区域转移的利益共享机制」",
        "capital_metro_area L719「責任共擔和利益分享」",
        "harbin_changchun L234「财税等利益分享」",
    ),
    levers=(
        Lever(
            "split_to_origin",
            0.5,
            0.0,
            1.0,
            "Origin's share of a relocated function's tax",
            "迁出地分享税收比例",
            "green_development L82「税收收入分享办法」 names the rule; 0.5 published: 新华社 2015-09-29「五五分成」",
            role=POLICY,
        ),
        Lever(
            "cap_years",
            3.0,
            0.0,
            30.0,
            "Cap: years of pre-move tax the origin may receive",
            "分享上限（迁移前年度税收的年数）",
            "green_development L82「税收收入分享办法」 names the rule; 3 years: estimate (the cap's size is not in the report)",
            role=POLICY,
        ),
    ),
    list_params={"pair_split": "pair_split"},
    list_defaults={"pair_split": []},
)


def contract_splits(state, p: dict, host: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """The origin's share of each contract (host and origin city indices): `split_to_origin`, or the last
    entry of `pair_split` whose origin and host hold the contract's cities."""
    split = np.full(len(host), float(p["split_to_origin"]))
    for entry in p.get("pair_split") or []:
        match = np.isin(origin, party_cities(state, entry["origin"])) & np.isin(host, party_cities(state, entry["host"]))
        split[match] = float(entry["split"])
    return split


def open_contracts(state, moved: np.ndarray, origin: np.ndarray, params: dict) -> None:
    """Start a sharing contract for each function that just moved from `origin`."""
    state.fn_contract_origin[moved] = origin
    state.fn_contract_cap[moved] = params["cap_years"] * state.fn_tax_history[moved].mean(axis=1)
    state.fn_contract_paid[moved] = 0.0


def apply(ctx: StepContext) -> None:
    """Hosts pay origins their share of this year's tax on open contracts."""
    state, p = ctx.state, ctx.params["tax_share"]
    active = np.nonzero((state.fn_contract_origin >= 0) & (state.fn_contract_paid < state.fn_contract_cap - 1e-12))[0]
    if len(active) == 0:
        return
    tax = state.fn_tax()[active]
    host, origin = state.fn_host[active], state.fn_contract_origin[active]
    share = contract_splits(state, p, host, origin)
    due = np.minimum(share * tax, state.fn_contract_cap[active] - state.fn_contract_paid[active])
    state.fn_contract_paid[active] += due
    n = state.n_cities
    pair = host * n + origin
    pairs, which = np.unique(pair, return_inverse=True)  # not a bincount over all n² pairs: 9 M at 3,000 cities
    totals = np.bincount(which, weights=due, minlength=len(pairs))
    counts = np.bincount(which, minlength=len(pairs))
    splits = np.zeros(len(pairs))
    splits[which] = share  # one split per city pair: pair_split names cities or provinces, never single contracts
    keep = totals > 0
    h_idx, o_idx = np.divmod(pairs[keep], n)
    paid, units, split = totals[keep], counts[keep], splits[keep]
    state.transfers.pay("TAX_SHARE", h_idx, o_idx, paid)
    cap = p["cap_years"]
    en, zh = state.labels("city_names_en"), state.labels("city_names_zh")

    def why_en() -> list[str]:
        return [
            f"{h} pays {o} {x:,.2f} 亿元: {s:.0%} of the taxes of {k} relocated unit(s), until "
            f"{cap:g} years of their pre-move taxes are reached"
            for h, o, x, k, s in zip(en[h_idx].tolist(), en[o_idx].tolist(), paid.tolist(), units.tolist(), split.tolist(), strict=True)
        ]

    def why_zh() -> list[str]:
        return [
            f"{h}向{o}支付{x:,.2f}亿元：{k}个迁入单位税收的{s:.0%}，累计至迁移前{cap:g}年税收为止"
            for h, o, x, k, s in zip(zh[h_idx].tolist(), zh[o_idx].tolist(), paid.tolist(), units.tolist(), split.tolist(), strict=True)
        ]

    ids = state.labels("city_ids")
    ctx.events.add_many(
        len(paid),
        ctx.year,
        "TAX_SHARE",
        "payment",
        ids[h_idx],
        ids[o_idx],
        units=units,
        amount=paid,
        unit="100m yuan",
        clause="green_development L82「税收收入分享办法」",
        why_en=why_en,
        why_zh=why_zh,
    )
    ended = active[state.fn_contract_paid[active] >= state.fn_contract_cap[active] - 1e-12]
    state.fn_contract_origin[ended] = -1
