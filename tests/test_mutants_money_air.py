"""Behaviour tests for ECO_COMP's agreed payments (who pays whom, by population and by area, and the sentence each
event tells in both languages), AIR's agreed abatement payments, and the shared helpers `shares` and
`party_cities` (rules/base.py), with hand-calculated expectations on the three-city fixture.

Fixture (tests/fixtures/three_cities.toml): A = Capital / 京城 and B = New Town / 新城 in East Province / 东省,
C = Mill Town / 工城 in West Province / 西省; population 1000万 / 100万 / 500万; area 2000 / 1000 / 5000 km².
"""

from __future__ import annotations

import numpy as np
import pytest
from regionsim.model.rules import air, eco_comp
from regionsim.model.rules.base import party_cities, shares
from regionsim.model.sectors import POLLUTANT_INDEX

from tests.conftest import three_city_context

A, B, C = 0, 1, 2
ABATED = [POLLUTANT_INDEX[p] for p in ("so2", "nox", "pm25")]
NO_RATES = {"rules.eco_comp.payment_10k_yuan_per_km2": 0.0, "rules.eco_comp.compensation_share": 0.0}
"""ECO_COMP's own rates off: only the agreements pay."""


def _rows(state, rule: str) -> dict[tuple[int, int], float]:
    """The ledger's payment rows of one rule as {(payer, payee): amount}, summed per pair."""
    out: dict[tuple[int, int], float] = {}
    for r, payer, payee, x in zip(state.transfers.rule, state.transfers.payer, state.transfers.payee, state.transfers.amount, strict=True):
        if r == rule:
            out[(int(payer), int(payee))] = out.get((int(payer), int(payee)), 0.0) + float(x)
    return out


def _events(ctx, rule: str, kind: str):
    frame = ctx.events.frame()
    return frame[(frame.rule == rule) & (frame.kind == kind)].reset_index(drop=True)


# =====================================================================================================
# ECO_COMP: agreed payments
# =====================================================================================================


def test_agreed_payment_from_a_province_to_two_water_sources_is_split_by_area_and_told_in_both_languages():
    """West pays east 3 亿元; east's two cities are both water sources, so they share it by area:
    A 3 · 2000/3000 = 2.0, B 3 · 1000/3000 = 1.0, all from C (west's only city)."""
    # kills eco_comp.pay_agreed 39 (÷ shares), 87/93/94 (payer's Chinese name), 95/97 (English city list),
    # 101/103 (Chinese city list); _party_name 2/5/6 (a province in Chinese)
    ctx = three_city_context(
        {
            **NO_RATES,
            "cities.capital.water_source": True,
            "cities.newtown.water_source": True,
            "rules.eco_comp.agreed_payments": [{"payer": "west", "recipient": "east", "amount": 3.0}],
        }
    )
    s = ctx.state
    eco_comp.pay_agreed(ctx)
    assert _rows(s, "ECO_COMP") == {(C, A): pytest.approx(2.0), (C, B): pytest.approx(1.0)}
    ev = _events(ctx, "ECO_COMP", "agreed_payment")
    assert len(ev) == 1
    assert (ev.source[0], ev.target[0], int(ev.units[0]), float(ev.amount[0])) == ("west", "east", 2, 3.0)
    assert ev.why_en[0] == (
        "West Province pays 3.000 亿元 of ecological compensation, as agreed, to the water-source area(s) Capital, New Town"
    )
    assert ev.why_zh[0] == "西省按约定向水源地京城、新城支付生态补偿3.000亿元"


def test_a_province_party_is_named_in_each_language():
    ctx = three_city_context()
    assert eco_comp._party_name(ctx.state, "east", "zh") == "东省"
    assert eco_comp._party_name(ctx.state, "west", "en") == "West Province"


def test_agreed_payment_between_city_lists_is_split_by_population_and_names_both_lists():
    """Capital and New Town pay Mill Town 2 亿元 by population: A 2 · 1000/1100 = 1.818…, B 2 · 100/1100 = 0.1818…;
    the event's source and target are the city ids joined by "+"."""
    # kills eco_comp.pay_agreed 69 ("+" between the ids)
    ctx = three_city_context(
        {
            **NO_RATES,
            "cities.milltown.water_source": True,
            "rules.eco_comp.agreed_payments": [{"payer": ["capital", "newtown"], "recipient": ["milltown"], "amount": 2.0}],
        }
    )
    s = ctx.state
    eco_comp.pay_agreed(ctx)
    assert _rows(s, "ECO_COMP") == {(A, C): pytest.approx(2000.0 / 1100.0), (B, C): pytest.approx(200.0 / 1100.0)}
    ev = _events(ctx, "ECO_COMP", "agreed_payment")
    assert list(zip(ev.source, ev.target, strict=True)) == [("capital+newtown", "milltown")]
    assert ev.why_en[0] == "Capital, New Town pays 2.000 亿元 of ecological compensation, as agreed, to the water-source area(s) Mill Town"
    assert ev.why_zh[0] == "京城、新城按约定向水源地工城支付生态补偿2.000亿元"


def test_an_agreement_of_nothing_is_skipped_and_the_next_one_still_paid():
    """An amount of 0 (valid in a scenario) moves nothing and tells nothing; the 1 亿元 after it is paid by east's
    cities by population: A 1000/1100, B 100/1100, to Mill Town."""
    # kills eco_comp.pay_agreed 28/29 (amount 0 goes on), 35 (break at the skipped entry)
    ctx = three_city_context(
        {
            **NO_RATES,
            "cities.milltown.water_source": True,
            "rules.eco_comp.agreed_payments": [
                {"payer": "east", "recipient": "west", "amount": 0.0},
                {"payer": "east", "recipient": "west", "amount": 1.0},
            ],
        }
    )
    s = ctx.state
    eco_comp.pay_agreed(ctx)
    assert _rows(s, "ECO_COMP") == {(A, C): pytest.approx(1000.0 / 1100.0), (B, C): pytest.approx(100.0 / 1100.0)}
    ev = _events(ctx, "ECO_COMP", "agreed_payment")
    assert list(ev.amount) == [1.0]


@pytest.mark.parametrize("water", [[A, B, C], []], ids=["every-payer-city-a-water-source", "no-water-source-left"])
def test_an_agreement_with_nobody_to_pay_or_nobody_to_be_paid_moves_nothing_and_tells_nothing(water):
    """The agreement east → west is valid when loaded (Mill Town a water source); made by hand afterwards, either
    every east city is a water source too (no payer) or no city is (no recipient): nothing is paid, no event."""
    # kills eco_comp.pay_agreed 27 (`or` → `and` between the two emptiness tests)
    agreement = [{"payer": "east", "recipient": "west", "amount": 1.0}]
    ctx = three_city_context({**NO_RATES, "cities.milltown.water_source": True, "rules.eco_comp.agreed_payments": agreement})
    s = ctx.state
    s.water_source[:] = False
    s.water_source[water] = True
    eco_comp.pay_agreed(ctx)
    assert _rows(s, "ECO_COMP") == {}
    assert len(_events(ctx, "ECO_COMP", "agreed_payment")) == 0


# =====================================================================================================
# AIR: agreed abatement payments
# =====================================================================================================


def _air_context(payments, cost: float):
    return three_city_context(
        {
            "rules.air.backward_cut_rate": 0.0,
            "rules.air.coal_cap_factor": 10.0,
            "rules.joint_control.enabled": False,
            "rules.policy.enabled": False,
            "rules.air.intensity_decline": 0.0,
            "rules.air.cost_10k_yuan_per_t": cost,
            "rules.air.abatement_payments": payments,
        }
    )


def test_abatement_payments_skip_a_zero_entry_and_add_up_for_one_recipient():
    """East pays west 0, then 2, then 1 亿元: Mill Town (west's only city) receives 2 + 1 = 3 亿元 in all, and each
    non-zero payment is one event."""
    # kills air.pay_for_abatement 24 (break at the zero entry), 66 (received = instead of +=)
    ctx = _air_context([["east", "west", 0.0], ["east", "west", 2.0], ["east", "west", 1.0]], cost=10.0)
    s = ctx.state
    _, raw = air.emissions(s)
    received = air.pay_for_abatement(ctx, raw)
    np.testing.assert_allclose(received, [0.0, 0.0, 3.0], rtol=1e-12)
    rows = _rows(s, "AIR")
    assert set(rows) == {(A, C), (B, C)} and sum(rows.values()) == pytest.approx(3.0)
    assert list(_events(ctx, "AIR", "payment").amount) == [2.0, 1.0]


@pytest.mark.parametrize(
    ("cost", "amount", "tonnes"),
    [
        (0.5, 1.0, "20,000"),  # 1 亿元 = 10,000 万元; at 0.5 万元/t: 10,000 / 0.5 = 20,000 t
        (10.0, 10.0, "10,000"),  # 10 亿元 = 100,000 万元; at 10 万元/t: 10,000 t
    ],
)
def test_the_payment_sentence_tells_the_tonnes_the_money_buys(cost, amount, tonnes):
    # kills air.pay_for_abatement 17 (cost floored at 1 instead of 1e-12), 71 (10001 万元 to the 亿元)
    ctx = _air_context([["east", "west", amount]], cost=cost)
    _, raw = air.emissions(ctx.state)
    air.pay_for_abatement(ctx, raw)
    ev = _events(ctx, "AIR", "payment")
    assert f"about {tonnes} t of SO2, NOx and dust removed there" in ev.why_en[0]
    assert f"可在当地削减约{tonnes}吨" in ev.why_zh[0]


def test_a_payment_at_a_cost_below_one_per_tonne_buys_what_it_pays_for():
    """At 0.5 万元/t, 0.01 亿元 = 100 万元 buys 100 / 0.5 = 200 t in Mill Town: its abatement rises by 200 t over its
    raw tonnes of SO2, NOx and primary PM2.5, and the abatement it then bears costs 200 t · 0.5 万元 = 0.01 亿元."""
    # kills air.apply 156 (cost floored at 1 instead of 1e-12 when turning 亿元 into tonnes)
    ctx = _air_context([["east", "west", 0.01]], cost=0.5)
    s = ctx.state
    _, raw = air.emissions(s)
    tonnes_c = raw[C, ABATED].sum()
    air.apply(ctx)
    np.testing.assert_allclose(s.abatement, [0.0, 0.0, 200.0 / tonnes_c], rtol=1e-12)
    assert s.abatement_cost[C] == pytest.approx(0.01, rel=1e-9)


# =====================================================================================================
# Shared helpers: shares, party_cities
# =====================================================================================================


def test_shares_of_weights_summing_to_one_or_less_are_still_proportional():
    # total 0.4 (between 0 and 1): 0.1/0.4 = 0.25, 0.3/0.4 = 0.75 — kills base.shares 7 (total > 1)
    np.testing.assert_allclose(shares(np.array([0.1, 0.3])), [0.25, 0.75], rtol=1e-12)
    np.testing.assert_allclose(shares(np.array([0.2, 0.8])), [0.2, 0.8], rtol=1e-12)  # total exactly 1


def test_a_lone_party_with_zero_weight_takes_the_whole_share():
    # one city, weight 0: equal shares of 1 are 1/1 = 1 — kills base.shares 18 (1/max(n, 2))
    np.testing.assert_allclose(shares(np.array([0.0])), [1.0])


def test_party_cities_are_sorted_integer_indices_even_when_there_are_none():
    ctx = three_city_context()
    s = ctx.state
    np.testing.assert_array_equal(party_cities(s, ["milltown", "capital"]), [A, C])
    np.testing.assert_array_equal(party_cities(s, "east"), [A, B])
    # an empty list of cities is an empty index: it selects no city (kills the dtype mutants of party_cities)
    none = party_cities(s, [])
    assert none.dtype.kind == "i"
    assert len(s.population[none]) == 0
