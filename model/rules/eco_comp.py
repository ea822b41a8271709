"""ECO_COMP — horizontal ecological compensation for water-source areas.

Picture Zhangjiakou and Chengde upstream of Beijing's reservoirs: they keep polluting industry
out to protect the water, and the cities downstream that drink it pay them for that service.

Each year, for every water-source city w (`water_source = true` in the scenario):
  restricted output_ws ← restricted output_ws · (1 − restriction_rate)   for restricted sectors s
  foregone_w ← foregone_w + what was cut this year      (the output given up, year after year)
  owed_w = payment_per_km2 · area_w + compensation_share · foregone_w      (亿元)
and owed_w is paid by the beneficiary cities (the non-water-source cities of `payer_provinces`,
or of every province when none are named) in proportion to their population.

Agreed payments (`agreed_payments`, a list of { payer = …, recipient = …, amount = 亿元 a year }; empty by
default; the classroom game's accepted ecological-compensation offers set it), in addition to the rates
above: each year the payer's non-water-source cities pay `amount`, in proportion to their population, to
the recipient's water-source cities, in proportion to their area (the land they protect); payer and
recipient are each a province id or a list of city ids. The money moves through the ledger (nothing is
lost). A compensation agreed between protected and benefiting areas, as bohai_rim_outline L790–792
「鼓励地区间探索建立横向生态补偿…受益区之间开展横向生态补偿试点」 invites.

Plan clauses: bohai_rim_outline L666–668「完善生态补偿机制…京津冀水源涵养功能区」 (Zhangjiakou–Chengde
water-conservation functional zone), L790–792「横向生态补偿…在流域生态保护区与受益区之间开展横向生态补偿试点」;
capital_metro_area L731「協調跨區域利益關係,實現保護和治理的成本共擔」 (cost sharing within a watershed);
inner_mongolia_bohai L66「探索建立横向生态补偿制度」; green_development L15「建立横向和流域生态补」. The payment
rates and the yearly restriction are estimates: the plans give no numbers.
"""

from __future__ import annotations

import numpy as np
from regionsim.model.rules.base import POLICY, Lever, RuleSpec, StepContext, fmt, party_cities, shares
from regionsim.model.sectors import SECTOR_INDEX

RULE = RuleSpec(
    id="ECO_COMP",
    key="eco_comp",
    stage="money",
    title_en="Ecological compensation for water-source areas",
    title_zh="水源地横向生态补偿",
    clauses=(
        "bohai_rim_outline L666–668「完善生态补偿机制…京津冀水源涵养功能区」",
        "bohai_rim_outline L790–792「横向生态补偿」",
        "capital_metro_area L731「成本共擔」",
        "inner_mongolia_bohai L66「探索建立横向生态补偿制度」",
        "green_development L15「建立横向和流域生态补」",
    ),
    levers=(
        Lever(
            "payment_10k_yuan_per_km2",
            2.0,
            0.0,
            10000.0,
            "Payment per km² of water-source area (万元/yr)",
            "每平方公里水源涵养区补偿（万元/年）",
            "bohai_rim_outline L792「在流域生态保护区与受益区之间开展横向生态补偿试点」 (the rate: estimate)",
            role=POLICY,
        ),
        Lever(
            "compensation_share",
            0.3,
            0.0,
            1.0,
            "Share of foregone output compensated",
            "对放弃产出的补偿比例",
            "bohai_rim_outline L666「完善生态补偿机制」 (the share: estimate)",
            role=POLICY,
        ),
        Lever(
            "restriction_rate",
            0.03,
            0.0,
            1.0,
            "Yearly cut of restricted sectors in water-source areas",
            "水源地限制产业年压减比例",
            "bohai_rim_outline L666「对重要水源保护区实行强制性保护」 (the rate: estimate)",
            role=POLICY,
        ),
    ),
    list_params={"restricted_sectors": "sector", "payer_provinces": "province", "agreed_payments": "water_payments"},
    list_defaults={
        "restricted_sectors": ["energy", "heavy_industry", "general_manufacturing"],
        "payer_provinces": [],
        "agreed_payments": [],
    },
)

AGREED_CLAUSE = "bohai_rim_outline L790–792「鼓励地区间探索建立横向生态补偿…受益区之间开展横向生态补偿试点」"
"""The clause each agreed payment cites."""


def apply(ctx: StepContext) -> None:
    """Restrict polluting sectors in water-source areas and pay them for it."""
    state, p = ctx.state, ctx.params["eco_comp"]
    water = np.nonzero(state.water_source)[0]
    if len(water) == 0:
        return
    sectors = [SECTOR_INDEX[s] for s in p["restricted_sectors"]]
    cut = state.base_output[np.ix_(water, sectors)] * p["restriction_rate"]
    state.base_output[np.ix_(water, sectors)] -= cut
    state.foregone_output[water] += cut.sum(axis=1)
    owed = p["payment_10k_yuan_per_km2"] * state.area_km2[water] * 1e-4 + p["compensation_share"] * state.foregone_output[water]
    payer_provinces = [state.province_ids.index(x) for x in (p["payer_provinces"] or [])]
    payers = ~state.water_source
    if payer_provinces:
        payers &= np.isin(state.city_province, payer_provinces)
    payer_idx = np.nonzero(payers)[0]
    if len(payer_idx) > 0:
        _pay_owed(ctx, water, owed, payer_idx)
    if p.get("agreed_payments"):
        pay_agreed(ctx)


def _pay_owed(ctx: StepContext, water: np.ndarray, owed: np.ndarray, payer_idx: np.ndarray) -> None:
    """The beneficiaries `payer_idx` pay the water-source cities `water` what they are `owed`, by population."""
    state = ctx.state
    weight = state.population[payer_idx] / state.population[payer_idx].sum()
    # one payment per (water-source city, payer), water-source city by water-source city
    amounts = owed[:, None] * weight[None, :]
    payee = np.repeat(water, len(payer_idx))
    payer = np.tile(payer_idx, len(water))
    state.transfers.pay("ECO_COMP", payer, payee, amounts.ravel())
    logged = amounts.ravel() > 1e-9
    r_idx, w_idx, paid = payer[logged], payee[logged], amounts.ravel()[logged]
    foregone = state.foregone_output[w_idx]
    en, zh = state.labels("city_names_en"), state.labels("city_names_zh")

    def why_en() -> list[str]:
        return [
            f"{r} pays {w} {x:,.3f} 亿元 of ecological compensation: {w} protects a water source and has given up "
            f"{g:,.1f} 亿元 of polluting output a year"
            for r, w, x, g in zip(en[r_idx].tolist(), en[w_idx].tolist(), paid.tolist(), foregone.tolist(), strict=True)
        ]

    def why_zh() -> list[str]:
        return [
            f"{r}向{w}支付生态补偿{x:,.3f}亿元：{w}保护水源，每年放弃污染产业产出{g:,.1f}亿元"
            for r, w, x, g in zip(zh[r_idx].tolist(), zh[w_idx].tolist(), paid.tolist(), foregone.tolist(), strict=True)
        ]

    ids = state.labels("city_ids")
    ctx.events.add_many(
        len(r_idx),
        ctx.year,
        "ECO_COMP",
        "payment",
        ids[r_idx],
        ids[w_idx],
        amount=paid,
        unit="100m yuan",
        clause="bohai_rim_outline L792「横向生态补偿试点」",
        why_en=why_en,
        why_zh=why_zh,
    )


def _party_name(state, party, lang: str) -> str:
    """A party in words: the province's name, or its cities' names."""
    if isinstance(party, str):
        names = state.province_names_zh if lang == "zh" else state.province_names_en
        return names[state.province_ids.index(party)]
    names = state.labels("city_names_zh" if lang == "zh" else "city_names_en")[party_cities(state, party)]
    return ("、" if lang == "zh" else ", ").join(names)


def pay_agreed(ctx: StepContext) -> None:
    """This year's agreed payments (module docstring), recorded in the ledger and as one event each."""
    state = ctx.state
    for entry in ctx.params["eco_comp"]["agreed_payments"]:
        amount = float(entry["amount"])
        payers = party_cities(state, entry["payer"])
        payers = payers[~state.water_source[payers]]
        water = party_cities(state, entry["recipient"])
        water = water[state.water_source[water]]
        if amount <= 0 or len(payers) == 0 or len(water) == 0:
            continue
        paid, got = amount * shares(state.population[payers]), amount * shares(state.area_km2[water])
        flows = np.outer(paid, got) / amount  # payer city × water-source city; rows sum to paid, columns to got
        state.transfers.pay("ECO_COMP", np.repeat(payers, len(water)), np.tile(water, len(payers)), flows.ravel())
        source, target = (x if isinstance(x, str) else "+".join(x) for x in (entry["payer"], entry["recipient"]))
        payer_en, payer_zh = _party_name(state, entry["payer"], "en"), _party_name(state, entry["payer"], "zh")
        cities_en = ", ".join(state.labels("city_names_en")[water])
        cities_zh = "、".join(state.labels("city_names_zh")[water])
        ctx.events.add(
            ctx.year,
            "ECO_COMP",
            "agreed_payment",
            source,
            target,
            units=len(water),
            amount=amount,
            unit="100m yuan",
            clause=AGREED_CLAUSE,
            why_en=f"{payer_en} pays {fmt(amount, 3)} 亿元 of ecological compensation, as agreed, to the water-source area(s) {cities_en}",
            why_zh=f"{payer_zh}按约定向水源地{cities_zh}支付生态补偿{fmt(amount, 3)}亿元",
        )
