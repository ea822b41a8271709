"""TAX_SHARE — origin and host share a relocated firm's taxes (利益共享).

Picture a factory that moved from Beijing to Cangzhou. Its taxes are now collected in Cangzhou,
but for a while Cangzhou hands half of them back to Beijing — until Beijing has received as much
as the factory paid in its last three years before moving. That is the 2015 rule of the Ministry
of Finance and State Administration of Taxation for Beijing–Tianjin–Hebei relocated enterprises
(green_development L82); the split and the cap are levers here.

When a function moves (RELOCATE), a contract opens:
  cap_f = cap_years × (mean yearly tax of f over the three years before the move),  paid_f = 0.
Each year, while paid_f < cap_f:
  payment_f = min(split_to_origin × tax_f, cap_f − paid_f), paid by the host to the origin.
A function that moves again opens a new contract with its latest host as origin.

Plan clauses: green_development L82; bohai_rim_outline L1109, L1230; inner_mongolia_bohai L128
(enclave parks with benefit sharing); capital_metro_area L719; harbin_changchun L234.
"""

from __future__ import annotations

import numpy as np

from model.rules.base import Lever, RuleSpec, StepContext, fmt

RULE = RuleSpec(
    id="TAX_SHARE",
    key="tax_share",
    stage="money",
    title_en="Tax sharing on relocated functions",
    title_zh="迁移企业税收分享",
    clauses=("green_development L82", "bohai_rim_outline L1109", "bohai_rim_outline L1230", "inner_mongolia_bohai L128",
             "capital_metro_area L719", "harbin_changchun L234"),
    levers=(
        Lever("split_to_origin", 0.5, 0.0, 1.0, "Origin's share of a relocated function's tax", "迁出地分享税收比例",
              "green_development L82"),
        Lever("cap_years", 3.0, 0.0, 30.0, "Cap: years of pre-move tax the origin may receive", "分享上限（迁移前年度税收的年数）",
              "green_development L82"),
    ),
)


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
    due = np.minimum(p["split_to_origin"] * tax, state.fn_contract_cap[active] - state.fn_contract_paid[active])
    state.fn_contract_paid[active] += due
    host, origin = state.fn_host[active], state.fn_contract_origin[active]
    n = state.n_cities
    pair = host * n + origin
    totals = np.bincount(pair, weights=due, minlength=n * n)
    counts = np.bincount(pair, minlength=n * n)
    for key in np.nonzero(totals > 0)[0]:
        h, o = divmod(int(key), n)
        state.transfers.pay("TAX_SHARE", np.array([h]), np.array([o]), np.array([totals[key]]))
        ctx.events.add(
            ctx.year, "TAX_SHARE", "payment", state.city_ids[h], state.city_ids[o], units=int(counts[key]),
            amount=float(totals[key]), unit="100m yuan", clause="green_development L82",
            why_en=(f"{state.city_names_en[h]} pays {state.city_names_en[o]} {fmt(totals[key], 2)} 亿元: "
                    f"{p['split_to_origin']:.0%} of the taxes of {counts[key]} relocated unit(s), until "
                    f"{p['cap_years']:g} years of their pre-move taxes are reached"),
            why_zh=(f"{state.city_names_zh[h]}向{state.city_names_zh[o]}支付{fmt(totals[key], 2)}亿元："
                    f"{counts[key]}个迁入单位税收的{p['split_to_origin']:.0%}，累计至迁移前{p['cap_years']:g}年税收为止"),
        )
    ended = active[state.fn_contract_paid[active] >= state.fn_contract_cap[active] - 1e-12]
    state.fn_contract_origin[ended] = -1
