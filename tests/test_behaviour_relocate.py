"""Behaviour tests for RELOCATE (model/rules/relocate.py), written against the module docstring's equations.

Hand calculations on the three-city fixture (A = capital 0, B = New Town 1, C = Mill Town 2; A–B 40 min,
A–C 60 min, B–C 100 min; cost index 2.0 / 1.0 / 0.7; New Town is positioned for universities, hospitals,
administrative units and research institutes, Mill Town for plants and wholesale markets) and on tiny
hand-made inputs to the matching and explanation helpers. No snapshots: every number below is derived
in the comment next to it.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from regionsim.model.rules import relocate
from regionsim.model.sectors import FUNCTION_TYPE_INDEX, ZONES

from tests.conftest import three_city_context

A, B, C = 0, 1, 2
UNIVERSITY = FUNCTION_TYPE_INDEX["university"]
PLANT = FUNCTION_TYPE_INDEX["general_manufacturing_plant"]
WHOLESALE = FUNCTION_TYPE_INDEX["wholesale_market"]


def _first(ctx, ftype: int) -> np.ndarray:
    """The first function of `ftype` (all fixture functions start in A), as a one-mover array."""
    return np.flatnonzero(ctx.state.fn_type == ftype)[:1]


# --- U_fj: the score of each receiver -------------------------------------------------------------------


def _scoring_context(**overrides):
    ctx = three_city_context(
        {
            "rules.relocate.weight_role": 2.0,
            "rules.relocate.weight_headroom": 1.5,
            "rules.relocate.weight_time": 2.0,
            "rules.relocate.weight_incentive": 0.5,
            "rules.relocate.weight_cost": 3.0,
            "rules.relocate.incentives.milltown": 0.4,
            **overrides,
        }
    )
    s = ctx.state
    # B: population 100万 of a 200万 cap → pop room 0.5; density 1000/km² of a 1250 cap → density room 0.2
    s.density_cap[B] = 1250.0
    s.land_index[B] = 0.5
    s.land_index[C] = 0.8  # C: no caps → room 1
    return ctx


def test_utility_is_the_documented_weighted_sum_of_role_headroom_time_incentive_and_cost():
    ctx = _scoring_context()
    s = ctx.state
    assert s.built_density()[B] == pytest.approx(1000.0)  # the premise of the hand numbers
    utility, parts = relocate.group_utilities(ctx, _first(ctx, UNIVERSITY))
    # headroom = land_index · clip(min(pop room, density room), 0, 1): A (no caps) 1 · 1; B 0.5 · min(0.5, 0.2) = 0.1;
    # C 0.8 · 1 = 0.8
    np.testing.assert_allclose(parts["headroom"][0], [1.0, 0.1, 0.8], atol=1e-12)
    np.testing.assert_allclose(parts["role"][0], [0.0, 1.0, 0.0])
    np.testing.assert_allclose(parts["minutes"][0], [0.0, 40.0, 60.0])
    np.testing.assert_allclose(parts["incentive"][0], [0.0, 1.0, 0.4])  # B 1.0 from the fixture, C 0.4 set above
    # U_B = 2·1 + 1.5·0.1 − 2·40/60 + 0.5·1.0 − 3·(1.0 − 1) = 2 + 0.15 − 1.3333 + 0.5 = 1.316667
    # U_C = 0 + 1.5·0.8 − 2·60/60 + 0.5·0.4 − 3·(0.7 − 1) = 1.2 − 2 + 0.2 + 0.9 = 0.3
    assert utility[0, A] == -np.inf  # a function never "moves" to its own host
    assert utility[0, B] == pytest.approx(2.0 + 0.15 - 80.0 / 60.0 + 0.5, rel=1e-12)
    assert utility[0, C] == pytest.approx(0.3, rel=1e-12)
    # `utilities` gives the same row for every mover of the group
    per_mover, _ = relocate.utilities(ctx, np.flatnonzero(s.fn_type == UNIVERSITY)[:3])
    np.testing.assert_allclose(per_mover[:, 1:], np.repeat(utility[:, 1:], 3, axis=0))


def test_each_weight_moves_the_score_by_its_own_term():
    def scores(**weights):
        ctx = _scoring_context(**{f"rules.relocate.{k}": v for k, v in weights.items()})
        return relocate.group_utilities(ctx, _first(ctx, UNIVERSITY))[0][0]

    base = scores()
    # role: only B is positioned for universities → +Δw·1 at B, nothing at C
    np.testing.assert_allclose(scores(weight_role=5.0)[1:] - base[1:], [3.0, 0.0], atol=1e-12)
    # time: a heavier weight costs Δw·minutes/60 (40 and 60 minutes from A)
    np.testing.assert_allclose(scores(weight_time=5.0)[1:] - base[1:], [-3.0 * 40 / 60, -3.0 * 60 / 60], atol=1e-12)
    # cost: −Δw·(cost − 1): B at cost 1.0 is unaffected, cheap C (0.7) gains 0.3 per unit of weight
    np.testing.assert_allclose(scores(weight_cost=4.0)[1:] - base[1:], [0.0, 0.3], atol=1e-12)
    np.testing.assert_allclose(scores(weight_cost=0.0)[1:] - base[1:], [0.0, -0.9], atol=1e-12)
    # headroom and incentive: Δw times the city's headroom (0.1, 0.8) and incentive (1.0, 0.4)
    np.testing.assert_allclose(scores(weight_headroom=3.5)[1:] - base[1:], [0.2, 1.6], atol=1e-12)
    np.testing.assert_allclose(scores(weight_incentive=2.5)[1:] - base[1:], [2.0, 0.8], atol=1e-12)


def test_headroom_follows_whichever_room_is_smaller_and_never_goes_below_zero():
    ctx = _scoring_context()
    s = ctx.state
    s.density_cap[B] = 4000.0  # density room 0.75 > pop room 0.5: the population cap binds → 0.5 · 0.5
    _, parts = relocate.group_utilities(ctx, _first(ctx, UNIVERSITY))
    assert parts["headroom"][0, B] == pytest.approx(0.25)
    s.density_cap[C] = 1250.0  # C: 500万 on 5000 km² = 1000/km² → density room 0.2 (no pop cap) → 0.8 · 0.2
    _, parts = relocate.group_utilities(ctx, _first(ctx, UNIVERSITY))
    assert parts["headroom"][0, C] == pytest.approx(0.16)
    s.population[B] = 3e6  # over its 200万 cap: the room is clipped at 0 and B may not receive
    utility, parts = relocate.group_utilities(ctx, _first(ctx, UNIVERSITY))
    assert parts["headroom"][0, B] == 0.0
    assert utility[0, B] == -np.inf


def test_a_receiver_with_exactly_no_room_is_excluded():
    ctx = _scoring_context()
    ctx.state.population[B] = ctx.state.population_cap[B]  # room exactly 0: "with no headroom" → excluded
    utility, _ = relocate.group_utilities(ctx, _first(ctx, UNIVERSITY))
    assert utility[0, B] == -np.inf and np.isfinite(utility[0, C])


def test_travel_limit_is_inclusive():
    ctx = _scoring_context(**{"rules.relocate.max_travel_minutes": 60.0})  # C is exactly 60 minutes from A
    utility, _ = relocate.group_utilities(ctx, _first(ctx, UNIVERSITY))
    assert np.isfinite(utility[0, C]) and np.isfinite(utility[0, B])
    ctx.params["relocate"]["max_travel_minutes"] = 59.0
    utility, _ = relocate.group_utilities(ctx, _first(ctx, UNIVERSITY))
    assert utility[0, C] == -np.inf and np.isfinite(utility[0, B])


def test_receivers_exclude_their_negative_list_and_forbidden_zones():
    ctx = _scoring_context()
    s = ctx.state
    s.negative[B, UNIVERSITY] = True
    utility, _ = relocate.group_utilities(ctx, _first(ctx, UNIVERSITY))
    assert utility[0, B] == -np.inf and np.isfinite(utility[0, C])
    s.zone[C] = ZONES.index("restricted")  # general manufacturing is forbidden in a restricted zone
    utility, _ = relocate.group_utilities(ctx, _first(ctx, PLANT))
    assert utility[0, C] == -np.inf and np.isfinite(utility[0, B])


# --- feasible pairs and the ranking helper --------------------------------------------------------------


def test_feasible_pairs_lists_each_movers_finite_receivers_in_order():
    inf = -np.inf
    utility = np.array([[1.0, inf, 2.0], [inf, 5.0, inf], [inf, inf, inf]])  # group 2 (the last) can go nowhere
    group = np.array([1, 0, 2, 0, 1])
    mover, receiver = relocate.feasible_pairs(utility, group)
    assert mover.tolist() == [0, 1, 1, 3, 3, 4]
    assert receiver.tolist() == [1, 0, 2, 0, 2, 1]


def test_feasible_pairs_matches_a_brute_force_listing():
    rng = np.random.default_rng(3)
    utility = np.where(rng.random((6, 5)) < 0.4, -np.inf, rng.normal(size=(6, 5)))
    group = rng.integers(0, 6, size=25)
    mover, receiver = relocate.feasible_pairs(utility, group)
    expected = [(r, j) for r, g in enumerate(group) for j in range(5) if np.isfinite(utility[g, j])]
    assert list(zip(mover.tolist(), receiver.tolist(), strict=True)) == expected


def test_rank_by_group_is_the_order_match_pairs_would_make():
    # the fast ranking must equal "by mover, falling preference, ties to the lower receiver" — also when a
    # group has no feasible receiver (here row 0) and when a group label is unused (here 2)
    rng = np.random.default_rng(11)
    utility = np.where(rng.random((5, 6)) < 0.3, -np.inf, np.round(rng.normal(size=(5, 6)), 1))
    utility[0] = -np.inf
    group = rng.choice([0, 1, 3, 4], size=40)
    group[:4] = [0, 1, 3, 4]
    mover, receiver = relocate.feasible_pairs(utility, group)
    preference = np.round(utility[group[mover], receiver] + rng.choice([0.0, 0.1], size=len(mover)), 1)  # with ties
    counts = np.bincount(mover, minlength=len(group))
    order = relocate.rank_by_group(group, counts, preference)
    np.testing.assert_array_equal(order, np.lexsort((receiver, -preference, mover)))


def test_rank_by_group_of_nothing_is_empty():
    order = relocate.rank_by_group(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    assert len(order) == 0


# --- deferred acceptance and its noise --------------------------------------------------------------------


def test_noise_is_added_to_the_movers_preference():
    # a mover prefers receiver 0 by utility (1.0 vs 0.5); noise +2 on receiver 1 makes it propose there first
    match = relocate.deferred_acceptance(np.array([[1.0, 0.5]]), np.ones(1), np.array([5.0, 5.0]), np.array([[0.0, 2.0]]))
    assert match.tolist() == [1]
    match = relocate.deferred_acceptance(np.array([[1.0, 0.5]]), np.ones(1), np.array([5.0, 5.0]), np.array([[0.0, -2.0]]))
    assert match.tolist() == [0]


def test_gumbel_noise_over_beta_gives_logit_choice_shares():
    # with ample room every mover takes its best receiver by U + Gumbel/β: P(j) = e^{βU_j} / Σ_k e^{βU_k}
    beta, n = 2.0, 60_000
    u = np.array([1.0, 0.0, -0.5])
    rng = np.random.default_rng(2024)
    match = relocate.deferred_acceptance(np.tile(u, (n, 1)), np.ones(n), np.full(3, 1e9), rng.gumbel(size=(n, 3)) / beta)
    share = np.bincount(match, minlength=3) / n
    logit = np.exp(beta * u) / np.exp(beta * u).sum()  # 0.8438, 0.1142, 0.0420
    np.testing.assert_allclose(share, logit, atol=0.008)


def test_receivers_hold_the_best_proposals_by_utility_not_noise():
    # both movers propose to receiver 0 (room for 1 unit); it keeps mover 1 (utility 2.0 > 1.0) even though
    # mover 0's noise-driven preference for it is larger; mover 0 goes on to receiver 1
    utility = np.array([[1.0, 0.0], [2.0, 0.0]])
    noise = np.array([[5.0, 0.0], [0.1, 0.0]])
    match = relocate.deferred_acceptance(utility, np.ones(2), np.array([1.0, 1.0]), noise)
    assert match.tolist() == [1, 0]


# --- explanations: reason text and runners-up ---------------------------------------------------------------


def test_reason_text_names_every_reason_bit_in_order():
    assert relocate._reason_text(1) == ("on its city's negative list", "列入所在地负面清单")
    assert relocate._reason_text(2) == ("population over or near its cap", "人口超过或接近上限")
    assert relocate._reason_text(4) == ("costs above threshold", "成本超过阈值")
    assert relocate._reason_text(8) == ("due on the release schedule", "按疏解批次计划到期")
    assert relocate._reason_text(5) == ("on its city's negative list; costs above threshold", "列入所在地负面清单；成本超过阈值")
    assert relocate._reason_text(10) == (
        "population over or near its cap; due on the release schedule",
        "人口超过或接近上限；按疏解批次计划到期",
    )
    en, zh = relocate._reason_text(15)
    assert en.split("; ") == [relocate.REASONS[b][0] for b in (1, 2, 4, 8)]
    assert zh.split("；") == [relocate.REASONS[b][1] for b in (1, 2, 4, 8)]
    assert relocate._reason_text(0) == ("", "")
    assert relocate.REASON_TEXT[9] == relocate._reason_text(9)


WEIGHTS = {"weight_role": 0.5, "weight_time": 1.0, "weight_headroom": 1.0, "weight_incentive": 1.0}


def _explain(chosen: dict, runner: dict, u_chosen: float = 2.0, u_runner: float = 1.0, weights=None):
    """runners_up on two receivers (0 chosen, 1 the runner-up) with hand-made score parts."""
    ctx = SimpleNamespace(params={"relocate": {**WEIGHTS, **(weights or {})}}, state=SimpleNamespace(city_ids=["chosen", "other"]))
    parts = {key: np.array([[chosen[key], runner[key]]]) for key in ("role", "minutes", "headroom", "incentive")}
    (out,) = relocate.runners_up(ctx, np.array([[u_chosen, u_runner]]), parts, 0, 0)
    assert out["city"] == "other"
    return out


CHOSEN = {"role": 1.0, "minutes": 40.0, "headroom": 0.6, "incentive": 0.5}


@pytest.mark.parametrize(
    ("runner", "why_en", "why_zh"),
    [
        # gaps (runner − chosen, weighted): role 0.5·(−0.5) = −0.25; time −(70 − 40)/60 = −0.5; headroom −0.1;
        # incentive −0.2 → time trails most
        (
            {"role": 0.5, "minutes": 70.0, "headroom": 0.5, "incentive": 0.3},
            "it is farther (70 vs 40 min)",
            "距离更远（70对40分钟）",
        ),
        # role 0.5·(−1) = −0.5; time −(30 − 40)/60 = +0.17 (it is closer); headroom −0.05; incentive −0.1 → role
        (
            {"role": 0.0, "minutes": 30.0, "headroom": 0.55, "incentive": 0.4},
            "its role in the plan fits less (0.0 vs 1.0)",
            "功能定位匹配较低（0.0对1.0）",
        ),
        # time −60/60 = −1.0 just below headroom 0.01 − 1.0 = −0.99 (role −0.05, incentive −0.05) → time
        (
            {"role": 0.9, "minutes": 100.0, "headroom": 0.01, "incentive": 0.45, "chosen_headroom": 1.0},
            "it is farther (100 vs 40 min)",
            "距离更远（100对40分钟）",
        ),
        # role −0.05; time −1/60 = −0.017; headroom −0.5; incentive −0.08 → headroom
        (
            {"role": 0.9, "minutes": 41.0, "headroom": 0.1, "incentive": 0.42},
            "it has less room (0.10 vs 0.60)",
            "容量余量较小（0.10对0.60）",
        ),
        # role −0.05; time −5/60 = −0.083; headroom −0.1; incentive −2.0 → incentive
        (
            {"role": 0.9, "minutes": 45.0, "headroom": 0.5, "incentive": -1.5},
            "it offers less (-1.5 vs 0.5)",
            "激励较少（-1.5对0.5）",
        ),
    ],
)
def test_runner_up_is_explained_by_the_score_part_it_trails_most(runner, why_en, why_zh):
    runner = dict(runner)
    chosen = {**CHOSEN, "headroom": runner.pop("chosen_headroom", CHOSEN["headroom"])}
    out = _explain(chosen, runner)
    assert out["why"] == why_en
    assert out["why_zh"] == why_zh


def test_runner_up_weights_scale_each_part_of_the_gap():
    runner = {"role": 0.0, "minutes": 70.0, "headroom": 0.5, "incentive": 0.3}
    # role gap w·(−1): at w_role 0.4 it is −0.4, above time's −0.5 → time; at 0.6 it is −0.6 → role
    assert _explain(CHOSEN, runner, weights={"weight_role": 0.4})["why"].startswith("it is farther")
    assert _explain(CHOSEN, runner, weights={"weight_role": 0.6})["why"].startswith("its role")
    # time gap −w·30/60: a weight of 0.1 makes it −0.05, so incentive's −0.2 leads (role weight 0 → 0)
    out = _explain(CHOSEN, runner, weights={"weight_role": 0.0, "weight_time": 0.1})
    assert out["why"] == "it offers less (0.3 vs 0.5)"
    # headroom weight 10 makes its −0.1 gap −1.0
    assert _explain(CHOSEN, runner, weights={"weight_headroom": 10.0})["why"] == "it has less room (0.50 vs 0.60)"


def test_runner_up_score_gap_is_rounded_to_three_decimals():
    out = _explain(CHOSEN, {"role": 0.0, "minutes": 30.0, "headroom": 0.55, "incentive": 0.4}, u_chosen=2.0, u_runner=1.87654)
    assert out["score_gap"] == pytest.approx(0.123, abs=1e-12)  # 2.0 − 1.87654 = 0.12346 → 0.123


def test_a_runner_up_that_scored_as_well_lost_on_room_or_the_draw():
    en = "it scored as well but had no room left this year or lost the draw"
    zh = "得分相当，但今年已无接收容量或抽签落选"
    tie = _explain(CHOSEN, {"role": 0.0, "minutes": 90.0, "headroom": 0.1, "incentive": 0.0}, u_chosen=1.25, u_runner=1.25)
    assert (tie["why"], tie["why_zh"], tie["score_gap"]) == (en, zh, 0.0)
    higher = _explain(CHOSEN, {"role": 0.0, "minutes": 90.0, "headroom": 0.1, "incentive": 0.0}, u_chosen=1.0, u_runner=1.5)
    assert (higher["why"], higher["why_zh"]) == (en, zh)
    assert higher["score_gap"] == pytest.approx(-0.5)


def _runners(utility_row, chosen, n_runners=None):
    n = len(utility_row)
    ctx = SimpleNamespace(params={"relocate": dict(WEIGHTS)}, state=SimpleNamespace(city_ids=[f"c{j}" for j in range(n)]))
    parts = {key: np.zeros((1, n)) for key in ("role", "minutes", "headroom", "incentive")}
    return relocate.runners_up(ctx, np.array([utility_row]), parts, 0, chosen)


def test_runners_up_are_the_next_best_feasible_receivers_in_score_order():
    out = _runners([1.5, 2.0, -np.inf, 1.8, 0.2], chosen=1)
    assert [r["city"] for r in out] == ["c3", "c0"]  # best after the chosen, at most RUNNERS_UP of them
    assert [r["score_gap"] for r in out] == pytest.approx([0.2, 0.5])
    out = _runners([-np.inf, 2.0, -np.inf, 1.0, -np.inf], chosen=1)
    assert [r["city"] for r in out] == ["c3"]  # infeasible receivers are never named
    assert _runners([-np.inf, 2.0, -np.inf], chosen=1) == []


def test_tied_runners_up_are_named_in_city_order():
    # as match_pairs breaks ties to the lower receiver, equally scored runners-up are named lowest index first
    out = _runners([1.0, 0.0, 1.0, 1.0, 1.0], chosen=0)
    assert [r["city"] for r in out] == ["c2", "c3"]
    out = _runners([0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -1.0], chosen=8)
    assert [r["city"] for r in out] == ["c1", "c2"]


def test_relocation_event_detail_carries_the_runner_up_of_the_move():
    # one university leaves A on the schedule: B wins on role; C is the runner-up and trails most in role
    # (weight 2 · (0 − 1) = −2 against time −(60 − 40)/60, headroom and incentive)
    ctx = three_city_context({"rules.relocate.annual_quota_share": 0.0, "rules.relocate.choice_sharpness": 100.0})
    ctx.state.schedule = {
        "city": np.array([A]),
        "type": np.array([UNIVERSITY]),
        "rate": np.array([1.0]),
        "start": np.array([ctx.state.year]),
        "end": np.array([2100]),
        "due": np.zeros(1),
        "moved": np.zeros(1),
    }
    relocate.apply(ctx)
    events = ctx.events.frame()
    (row,) = events[events.kind == "relocation"].itertuples()
    detail = json.loads(row.detail)
    (runner,) = detail["runners_up"]
    assert runner["city"] == "milltown"
    assert runner["why"] == "its role in the plan fits less (0.0 vs 1.0)"


# --- schedules: initialise, active window, release --------------------------------------------------------


def _with_schedules(release=(), residents=(), **overrides):
    ctx = three_city_context({"rules.relocate.annual_quota_share": 0.0, **overrides})
    ctx.params["relocate"]["release_schedule"] = list(release)
    ctx.params["relocate"]["resident_schedule"] = list(residents)
    relocate.initialise(ctx.state, ctx.params)
    return ctx


def test_initialise_turns_schedule_entries_into_arrays_with_default_years():
    ctx = _with_schedules(
        release=[
            {"from": "capital", "type": "university", "units_per_year": 2.5},
            {"from": "newtown", "type": "wholesale_market", "units_per_year": 1, "start": 2027, "end": 2030},
        ],
        residents=[{"from": "capital", "to": "milltown", "persons_10k": 12.0, "start": 2026, "end": 2029}],
    )
    s = ctx.state
    sched = s.schedule
    assert sched["city"].tolist() == [A, B]
    assert sched["type"].tolist() == [UNIVERSITY, WHOLESALE]
    np.testing.assert_allclose(sched["rate"], [2.5, 1.0])
    assert sched["start"].tolist() == [s.base_year + 1, 2027]  # no start: from the first simulated year
    assert sched["end"][1] == 2030 and sched["end"][0] > 2100  # no end: open-ended
    assert sched["due"].tolist() == [0.0, 0.0] and sched["moved"].tolist() == [0.0, 0.0]
    res = s.resident_schedule
    assert (res["source"].tolist(), res["target"].tolist()) == ([A], [C])
    np.testing.assert_allclose(res["per_year"], [12.0 * 1e4 / 4])  # 12万 over 2026–2029 inclusive: 3万 a year
    assert (res["start"].tolist(), res["end"].tolist(), res["moved"].tolist()) == ([2026], [2029], [0.0])


def test_scheduled_mask_covers_the_entry_years_inclusively():
    ctx = _with_schedules(release=[{"from": "capital", "type": "wholesale_market", "units_per_year": 1, "start": 2027, "end": 2030}])
    s = ctx.state
    for year, on in ((2026, False), (2027, True), (2030, True), (2031, False)):
        s.year = year
        mask = relocate.scheduled_mask(s)
        assert mask.sum() == int(on) and bool(mask[A, WHOLESALE]) == on


def test_scheduled_release_rounds_the_cumulative_due_to_the_nearest_unit():
    # rate 0.5: due 0.5 → 1 unit at once ("half a unit a year or more starts in its first year"); rate 0.4: due
    # 0.4 → nothing, then 0.8 → 1; rate 2.5 · scale 2 = 5 a year
    for rate, scale, first, second in ((0.5, 1.0, 1, 1), (0.4, 1.0, 0, 1), (2.5, 2.0, 5, 10), (2.4, 1.0, 2, 5)):
        ctx = _with_schedules(
            release=[{"from": "capital", "type": "university", "units_per_year": rate}], **{"rules.relocate.release_schedule_scale": scale}
        )
        chosen, entry = relocate.scheduled_release(ctx)
        assert len(chosen) == first and len(entry) == first and set(entry.tolist()) <= {0}
        assert (ctx.state.fn_type[chosen] == UNIVERSITY).all() and len(set(chosen.tolist())) == len(chosen)
        assert ctx.state.schedule["due"][0] == pytest.approx(rate * scale)
        ctx.state.year += 1  # nothing moved: the whole cumulative due comes forward (up to the 6 universities)
        chosen, _ = relocate.scheduled_release(ctx)
        assert len(chosen) == min(second, 6)


def test_scheduled_release_subtracts_what_moved_and_respects_bundles():
    ctx = _with_schedules(release=[{"from": "capital", "type": "general_manufacturing_plant", "units_per_year": 6.0}])
    chosen, _ = relocate.scheduled_release(ctx)
    assert len(chosen) == 1  # plants come in bundles of 4 units: one fits in 6, two (8) do not
    ctx.state.schedule["moved"][0] = 4.0
    ctx.state.year += 1
    chosen, _ = relocate.scheduled_release(ctx)
    assert ctx.state.fn_units[chosen].sum() == 8  # due 12 − moved 4 = 8 → two bundles


def test_scheduled_release_waits_for_the_start_and_never_picks_a_function_twice():
    ctx = _with_schedules(
        release=[
            {"from": "capital", "type": "university", "units_per_year": 4.0},
            {"from": "capital", "type": "university", "units_per_year": 4.0},
            {"from": "capital", "type": "wholesale_market", "units_per_year": 4.0, "start": 2030},
        ]
    )
    chosen, entry = relocate.scheduled_release(ctx)
    assert len(chosen) == 6 and len(set(chosen.tolist())) == 6  # 4 + the 2 universities left, none twice
    assert entry.tolist() == [0] * 4 + [1] * 2
    assert ctx.state.schedule["due"][2] == 0.0  # not active before 2030
    empty = _with_schedules()
    chosen, entry = relocate.scheduled_release(empty)
    assert len(chosen) == 0 and len(entry) == 0


# --- push: candidates and the quota release ----------------------------------------------------------------


def test_candidates_sum_the_reason_codes():
    ctx = three_city_context()  # A's negative list: plants, wholesale, universities; A's cost 2.0 > 1.6
    s = ctx.state
    pushed, reason = relocate.candidates(ctx)
    assert len(pushed) == s.n_functions
    assert set(reason[s.fn_type == PLANT]) == {1 + 4}  # negative list + costly (market-driven)
    assert set(reason[s.fn_type == WHOLESALE]) == {1 + 4}
    assert set(reason[s.fn_type == UNIVERSITY]) == {1}  # a university is not market-driven
    ctx.params["relocate"]["cost_threshold"] = 2.0  # not above the threshold: no cost push
    assert set(relocate.candidates(ctx)[1][s.fn_type == PLANT]) == {1}
    ctx.params["relocate"]["cost_threshold"] = 1.99
    s.negative[:] = False
    pushed, reason = relocate.candidates(ctx)
    assert set(s.fn_type[pushed]) == {PLANT, WHOLESALE} and set(reason[pushed]) == {4}


def test_candidates_cap_push_needs_the_switch_and_spares_the_hosts_own_roles():
    ctx = three_city_context({"rules.relocate.cap_push": True})
    s = ctx.state
    s.population_cap[A] = s.population[A] / 1.1  # A over its cap by 10%
    _, reason = relocate.candidates(ctx)
    assert set(reason[s.fn_type == PLANT]) == {1 + 2 + 4} and set(reason[s.fn_type == UNIVERSITY]) == {1 + 2}
    s.role[A, UNIVERSITY] = True  # a function the host is positioned for is not pushed by the cap
    assert set(relocate.candidates(ctx)[1][s.fn_type == UNIVERSITY]) == {1}
    ctx.params["relocate"]["cap_push"] = False
    assert set(relocate.candidates(ctx)[1][s.fn_type == PLANT]) == {1 + 4}


def test_candidates_a_province_near_its_cap_pushes_its_cities_functions():
    ctx = three_city_context({"rules.relocate.cap_push": True, "rules.relocate.cost_threshold": 100.0})
    s = ctx.state
    s.negative[:] = False
    assert len(relocate.candidates(ctx)[0]) == 0
    s.province_near_cap[:] = [False, True]  # C's province: but all functions are in A
    assert len(relocate.candidates(ctx)[0]) == 0
    s.province_near_cap[:] = [True, False]  # A's province
    pushed, reason = relocate.candidates(ctx)
    assert len(pushed) == s.n_functions and set(reason[pushed]) == {2}


def test_release_takes_the_quota_share_times_pressure_per_province_and_type():
    ctx = three_city_context({"rules.relocate.annual_quota_share": 0.25})
    s = ctx.state
    s.relocation_pressure[:] = [2.0, 1.0]  # province east: 0.25 · 2 = half of each type
    pushed, _ = relocate.candidates(ctx)
    chosen = relocate.release(ctx, pushed)
    assert np.all(np.diff(chosen) > 0) and set(chosen.tolist()) <= set(pushed.tolist())
    assert (s.fn_type[chosen] == PLANT).sum() == 5  # 10 plants · 0.5
    assert (s.fn_type[chosen] == UNIVERSITY).sum() == 3  # 6 · 0.5
    assert (s.fn_type[chosen] == WHOLESALE).sum() in (2, 3)  # 5 · 0.5 = 2.5, rounded at random
    s.relocation_pressure[:] = [5.0, 1.0]  # share clipped at 1: all go
    assert len(relocate.release(ctx, pushed)) == len(pushed)
    assert len(relocate.release(ctx, pushed[:0])) == 0


def test_release_quota_is_per_source_province():
    ctx = three_city_context({"rules.relocate.annual_quota_share": 0.5})
    s = ctx.state
    plants = np.flatnonzero(s.fn_type == PLANT)
    s.fn_host[plants[:4]] = C  # four plants in Mill Town (province west), on its negative list
    s.negative[C, PLANT] = True
    s.relocation_pressure[:] = [1.0, 0.0]  # no pressure in the west
    pushed, _ = relocate.candidates(ctx)
    assert set(plants[:4]) <= set(pushed.tolist())
    chosen = relocate.release(ctx, pushed)
    assert not np.isin(plants[:4], chosen).any()
    assert np.isin(plants[4:], chosen).sum() == 3  # 6 plants in A · 0.5


def test_release_rounds_the_expected_count_stochastically_and_picks_at_random():
    # 5 wholesale markets · 0.5 = 2.5: 2 or 3 a year, 2.5 on average; each market equally likely
    ctx = three_city_context({"rules.relocate.annual_quota_share": 0.5}, seed=5)
    s = ctx.state
    s.negative[:] = False
    pushed, _ = relocate.candidates(ctx)
    pushed = pushed[s.fn_type[pushed] == WHOLESALE]
    counts, picked = [], np.zeros(s.n_functions)
    for _ in range(400):
        chosen = relocate.release(ctx, pushed)
        counts.append(len(chosen))
        picked[chosen] += 1
    assert set(counts) == {2, 3}
    assert np.mean(counts) == pytest.approx(2.5, abs=0.1)
    np.testing.assert_allclose(picked[pushed] / 400, 0.5, atol=0.1)


# --- the market run end to end on the three cities ------------------------------------------------------------


def _schedule_only(ctx, ftype: int, rate: float) -> None:
    ctx.state.schedule = {
        "city": np.array([A]),
        "type": np.array([ftype]),
        "rate": np.array([rate]),
        "start": np.array([ctx.state.year]),
        "end": np.array([2100]),
        "due": np.zeros(1),
        "moved": np.zeros(1),
    }


def test_moved_functions_bring_followers_contracts_and_cleaner_plants():
    ctx = three_city_context(
        {"rules.relocate.annual_quota_share": 0.0, "rules.relocate.follow_share": 0.3, "rules.relocate.choice_sharpness": 100.0}
    )
    s = ctx.state
    _schedule_only(ctx, PLANT, 8.0)  # two plants (4 units, 4000 jobs each); Mill Town is positioned for them
    relocate.apply(ctx)
    moved = np.flatnonzero(s.moved_this_year)
    assert len(moved) == 2 and (s.fn_host[moved] == C).all() and (s.fn_year_moved[moved] == s.year).all()
    assert s.schedule["moved"][0] == 8.0
    assert s.relocation_followers[A, C] == pytest.approx(0.3 * 8000.0)
    assert s.relocation_followers.sum() == pytest.approx(0.3 * 8000.0)
    assert s.followers_at.tolist() == [A * 3 + C]
    np.testing.assert_allclose(s.fn_emission_factor[moved], 0.5)  # leakage ban: upgraded by equipment_upgrade 0.5
    assert (s.fn_emission_factor[s.fn_year_moved < 0] == 1.0).all()
    assert (s.fn_contract_origin[moved] == A).all() and (s.fn_contract_origin[s.fn_year_moved < 0] == -1).all()
    # the homes of the 2400 followers leaving the optimised capital are converted (share 1.0)
    assert s.housing_converted[A] == pytest.approx(2400.0) and s.housing_converted[C] == 0.0
    # next year the flags start afresh; a further move adds to the followers and to the noted pairs
    s.year += 1
    _schedule_only(ctx, UNIVERSITY, 1.0)
    relocate.apply(ctx)
    assert s.moved_this_year.sum() == 1 and s.fn_type[s.moved_this_year][0] == UNIVERSITY
    assert s.relocation_followers[A, B] == pytest.approx(0.3 * 3000.0)
    assert s.followers_at.tolist() == [A * 3 + B, A * 3 + C]
    assert s.fn_emission_factor[s.moved_this_year][0] == 1.0  # a university is not an industrial plant


@pytest.mark.parametrize("override", [{"rules.joint_control.leakage_ban": False}, {"rules.joint_control.enabled": False}])
def test_without_the_leakage_ban_plants_move_unchanged(override):
    ctx = three_city_context({"rules.relocate.annual_quota_share": 0.0, **override})
    _schedule_only(ctx, PLANT, 4.0)
    relocate.apply(ctx)
    assert ctx.state.moved_this_year.sum() == 1
    assert (ctx.state.fn_emission_factor == 1.0).all()


def test_without_tax_sharing_or_zoning_no_contract_and_no_conversion():
    ctx = three_city_context({"rules.relocate.annual_quota_share": 0.0, "rules.tax_share.enabled": False, "rules.zoning.enabled": False})
    _schedule_only(ctx, UNIVERSITY, 2.0)
    relocate.apply(ctx)
    s = ctx.state
    assert s.moved_this_year.sum() == 2
    assert (s.fn_contract_origin == -1).all()
    assert (s.housing_converted == 0.0).all()


def test_receiver_capacity_default_applies_where_no_city_value_is_given():
    # all 21 functions pushed; New Town's and Mill Town's capacity come from the default when not listed
    ctx = three_city_context({"rules.relocate.annual_quota_share": 1.0, "rules.relocate.receiver_capacity_default": 3.0})
    ctx.params["relocate"]["receiver_capacity"] = {"newtown": 2}
    relocate.apply(ctx)
    s = ctx.state
    units_in = np.bincount(s.fn_host[s.moved_this_year], weights=s.fn_units[s.moved_this_year], minlength=3)
    assert units_in[B] == 2  # six 1-unit universities want B; its room is 2
    assert 0 < units_in[C] <= 3
    ctx2 = three_city_context({"rules.relocate.annual_quota_share": 1.0, "rules.relocate.receiver_capacity_default": 0.0})
    ctx2.params["relocate"]["receiver_capacity"] = {}
    relocate.apply(ctx2)
    assert not ctx2.state.moved_this_year.any()


def test_movers_without_a_receiver_are_logged_as_staying_with_their_units():
    ctx = three_city_context({"rules.relocate.annual_quota_share": 1.0})
    ctx.params["relocate"]["receiver_capacity"] = {"newtown": 0, "milltown": 0}
    relocate.apply(ctx)
    events = ctx.events.frame()
    assert (events.kind == "relocation").sum() == 0
    stayed = events[events.kind == "stayed"].set_index("function_type")
    # per (host, type): 10 plants · 4 units, 5 markets · 2, 6 universities · 1
    assert stayed.units.to_dict() == {"general_manufacturing_plant": 40, "wholesale_market": 10, "university": 6}
    assert (stayed.source == "capital").all() and (stayed.target == "capital").all()
    assert stayed.loc["university", "why_en"].startswith("6 ")
    assert stayed.loc["general_manufacturing_plant", "why_en"].startswith("10 ")


def test_relocation_events_carry_type_units_jobs_and_the_reason():
    ctx = three_city_context({"rules.relocate.annual_quota_share": 0.0})
    _schedule_only(ctx, PLANT, 4.0)
    relocate.apply(ctx)
    events = ctx.events.frame()
    (ev,) = events[events.kind == "relocation"].itertuples()
    assert (ev.source, ev.target, ev.function_type, ev.units, ev.amount) == (
        "capital",
        "milltown",
        "general_manufacturing_plant",
        4,
        4000.0,
    )
    # plants are on A's negative list, but a scheduled type leaves at the schedule's pace: its reason is the schedule (8)
    assert "due on the release schedule" in ev.why_en and "on its city's negative list" not in ev.why_en
    detail = json.loads(ev.detail)
    assert detail["role_match"] == 1.0 and detail["travel_minutes"] == 60.0 and detail["jobs"] == 4000.0
    assert detail["headroom"] == pytest.approx(1.0) and detail["incentive"] == 0.0


# --- residents --------------------------------------------------------------------------------------------------


def test_resident_schedule_moves_the_yearly_share_times_the_scale_within_its_years():
    ctx = _with_schedules(
        residents=[{"from": "capital", "to": "milltown", "persons_10k": 12.0, "start": 2026, "end": 2029}],
        **{"rules.relocate.resident_schedule_scale": 1.5, "rules.zoning.vacated_housing_converted": 0.5},
    )
    s = ctx.state
    relocate.apply(ctx)
    assert s.relocation_followers[A, C] == pytest.approx(1.5 * 3e4)
    assert s.resident_schedule["moved"][0] == pytest.approx(4.5e4)
    assert s.followers_at.tolist() == [A * 3 + C]
    assert s.housing_converted[A] == pytest.approx(0.5 * 4.5e4)
    events = ctx.events.frame()
    (ev,) = events[events.kind == "residents"].itertuples()
    assert (ev.source, ev.target, ev.amount, ev.unit) == ("capital", "milltown", pytest.approx(4.5e4), "persons")
    s.relocation_followers[:] = 0.0
    s.year = 2030  # after the schedule's end: nothing more
    relocate.apply(ctx)
    assert s.relocation_followers.sum() == 0.0 and s.resident_schedule["moved"][0] == pytest.approx(4.5e4)


def test_resident_schedule_at_scale_zero_moves_no_one():
    ctx = _with_schedules(
        residents=[{"from": "capital", "to": "milltown", "persons_10k": 12.0, "start": 2026, "end": 2029}],
        **{"rules.relocate.resident_schedule_scale": 0.0},
    )
    relocate.apply(ctx)
    assert ctx.state.relocation_followers.sum() == 0.0 and ctx.state.followers_at is None
    assert (ctx.events.frame().kind != "residents").all() if len(ctx.events.frame()) else True


def test_homes_left_outside_optimised_zones_are_not_converted():
    ctx = _with_schedules(residents=[{"from": "newtown", "to": "milltown", "persons_10k": 4.0, "start": 2026, "end": 2029}])
    s = ctx.state
    cap_b = s.population_cap[B]
    relocate.apply(ctx)
    assert s.relocation_followers[B, C] == pytest.approx(1e4)
    assert (s.housing_converted == 0.0).all()
    assert s.population_cap[B] == pytest.approx(cap_b)


def test_noise_drawn_only_for_feasible_pairs_is_the_same_process(monkeypatch):
    # above DENSE_NOISE_MAX_DRAWS the noise is drawn per feasible pair; with a sharp choice (β 100) both
    # forms send each university to New Town (U 2.43 vs −0.05 at Mill Town), as far as its room allows
    for limit in (10**9, 0):
        monkeypatch.setattr(relocate, "DENSE_NOISE_MAX_DRAWS", limit)
        ctx = three_city_context(
            {
                "rules.relocate.annual_quota_share": 0.0,
                "rules.relocate.choice_sharpness": 100.0,
                "rules.relocate.receiver_capacity.newtown": 4,
            }
        )
        _schedule_only(ctx, UNIVERSITY, 6.0)
        relocate.apply(ctx)
        s = ctx.state
        assert np.bincount(s.fn_host[s.fn_type == UNIVERSITY], minlength=3).tolist() == [0, 4, 2]


def test_a_move_into_the_first_city_is_logged_with_its_own_score_parts():
    # a plant leaves Mill Town on a schedule; New Town has no room, so it goes to the capital (city 0)
    ctx = three_city_context({"rules.relocate.annual_quota_share": 0.0, "rules.relocate.receiver_capacity.newtown": 0})
    s = ctx.state
    s.negative[:] = False
    plant = np.flatnonzero(s.fn_type == PLANT)[0]
    s.fn_host[plant] = C
    ctx.state.schedule = {
        "city": np.array([C]),
        "type": np.array([PLANT]),
        "rate": np.array([4.0]),
        "start": np.array([s.year]),
        "end": np.array([2100]),
        "due": np.zeros(1),
        "moved": np.zeros(1),
    }
    relocate.apply(ctx)
    assert s.fn_host[plant] == A and s.relocation_followers[C, A] == pytest.approx(0.5 * 4000.0)
    events = ctx.events.frame()
    (ev,) = events[events.kind == "relocation"].itertuples()
    assert (ev.source, ev.target) == ("milltown", "capital")
    detail = json.loads(ev.detail)
    assert (detail["role_match"], detail["travel_minutes"], detail["function"]) == (0.0, 60.0, int(plant))
    # New Town scored higher (U_B = 0.5 − 100/60 + 1 = −0.167 against U_A = 1 − 1 − 0.5·(2 − 1) = −0.5) but had no room
    (runner,) = detail["runners_up"]
    assert runner["city"] == "newtown" and runner["score_gap"] == pytest.approx(-0.333, abs=1e-9)
    assert runner["why"] == "it scored as well but had no room left this year or lost the draw"


def test_a_state_without_schedules_releases_and_moves_nothing_on_schedule():
    # State's default (before relocate.initialise) is an empty dict for both schedules
    ctx = three_city_context({"rules.relocate.annual_quota_share": 0.0})
    ctx.state.schedule, ctx.state.resident_schedule = {}, {}
    assert not relocate.scheduled_mask(ctx.state).any()
    chosen, entry = relocate.scheduled_release(ctx)
    assert len(chosen) == 0 and len(entry) == 0
    relocate.apply(ctx)
    assert not ctx.state.moved_this_year.any() and ctx.state.relocation_followers.sum() == 0.0


def test_cap_push_starts_only_above_the_cap_plus_its_tolerance():
    ctx = three_city_context({"rules.relocate.cap_push": True, "rules.relocate.cost_threshold": 100.0})
    s = ctx.state
    s.negative[:] = False
    cap = 8e6
    s.population_cap[A] = cap
    for population, pushed in ((cap, False), (cap * (1.0 + relocate.AT_CAP_TOLERANCE), False), (cap * (1.0 + 1e-5), True)):
        s.population[A] = population
        assert (len(relocate.candidates(ctx)[0]) == s.n_functions) is pushed
        assert len(relocate.candidates(ctx)[0]) in (0, s.n_functions)


def test_a_state_without_province_flags_pushes_on_city_caps_only():
    # State's default before POLICY runs: no province flags at all (an empty array)
    ctx = three_city_context({"rules.relocate.cap_push": True, "rules.relocate.cost_threshold": 100.0})
    s = ctx.state
    s.negative[:] = False
    s.province_near_cap = np.zeros(0, dtype=bool)
    assert len(relocate.candidates(ctx)[0]) == 0
    s.population_cap[A] = s.population[A] / 1.5
    assert len(relocate.candidates(ctx)[0]) == s.n_functions


def test_a_single_pushed_function_obeys_the_quota_too():
    ctx = three_city_context({"rules.relocate.annual_quota_share": 0.0})
    one = _first(ctx, UNIVERSITY)
    assert len(relocate.release(ctx, one)) == 0  # share 0: it stays
    ctx.params["relocate"]["annual_quota_share"] = 1.0
    assert relocate.release(ctx, one).tolist() == one.tolist()


def test_a_schedule_entry_still_releases_in_its_last_year():
    ctx = _with_schedules(release=[{"from": "capital", "type": "university", "units_per_year": 2.0, "start": 2026, "end": 2026}])
    assert ctx.state.year == 2026
    chosen, _ = relocate.scheduled_release(ctx)
    assert len(chosen) == 2
    ctx.state.year = 2027  # over: nothing more falls due
    relocate.scheduled_release(ctx)
    assert ctx.state.schedule["due"][0] == pytest.approx(2.0)


def test_release_rounds_each_group_with_its_own_draw():
    # share 0.25: plants 10 · 0.25 = 2.5 (2 or 3), universities 6 · 0.25 = 1.5 (1 or 2): independent draws per
    # (province, type) group, so in about half the years one rounds up and the other down
    ctx = three_city_context({"rules.relocate.annual_quota_share": 0.25}, seed=9)
    s = ctx.state
    pushed, _ = relocate.candidates(ctx)
    differ = 0
    for _ in range(200):
        chosen = relocate.release(ctx, pushed)
        differ += int((s.fn_type[chosen] == PLANT).sum() == 3) != int((s.fn_type[chosen] == UNIVERSITY).sum() == 2)
    assert 70 <= differ <= 130


def test_an_entry_with_nothing_to_release_does_not_hold_up_the_next():
    ctx = _with_schedules(
        release=[
            {"from": "capital", "type": "general_manufacturing_plant", "units_per_year": 3.0},  # a 4-unit bundle won't fit in 3
            {"from": "capital", "type": "hospital", "units_per_year": 2.0},  # the capital hosts no hospital
            {"from": "capital", "type": "university", "units_per_year": 0.2},  # due 0.2 rounds to nothing yet
            {"from": "capital", "type": "university", "units_per_year": 2.0},
        ]
    )
    chosen, entry = relocate.scheduled_release(ctx)
    assert entry.tolist() == [3, 3] and (ctx.state.fn_type[chosen] == UNIVERSITY).all()


def test_residents_still_move_in_the_schedules_last_year():
    ctx = _with_schedules(residents=[{"from": "capital", "to": "milltown", "persons_10k": 3.0, "start": 2024, "end": 2026}])
    assert ctx.state.year == 2026
    relocate.apply(ctx)
    assert ctx.state.relocation_followers[A, C] == pytest.approx(1e4)  # 3万 over 2024–2026: 1万 in 2026


def test_relocation_sentences_name_units_type_cities_and_reason():
    from regionsim.model.sectors import FUNCTION_TYPE_LABELS

    ctx = three_city_context({"rules.relocate.annual_quota_share": 0.0, "rules.relocate.choice_sharpness": 100.0})
    _schedule_only(ctx, PLANT, 4.0)
    relocate.apply(ctx)
    ctx.state.year += 1
    _schedule_only(ctx, UNIVERSITY, 1.0)
    relocate.apply(ctx)
    ctx.state.year += 1
    _schedule_only(ctx, WHOLESALE, 2.0)
    relocate.apply(ctx)
    moves = ctx.events.frame()
    moves = moves[moves.kind == "relocation"].set_index("function_type")
    plant_zh, plant_en = FUNCTION_TYPE_LABELS["general_manufacturing_plant"]
    uni_zh, uni_en = FUNCTION_TYPE_LABELS["university"]
    plant, uni = moves.loc["general_manufacturing_plant"], moves.loc["university"]
    assert plant.why_en.startswith(f"4 {plant_en}s moved from Capital to Mill Town (due on the release schedule): role match 1.0")
    assert uni.why_en.startswith(f"1 {uni_en} moved from Capital to New Town (due on the release schedule): role match 1.0")
    market_en = FUNCTION_TYPE_LABELS["wholesale_market"][1]
    assert moves.loc["wholesale_market"].why_en.startswith(f"2 {market_en}s moved from Capital to Mill Town")
    assert plant.why_zh.startswith(f"4个{plant_zh}由京城迁往工城（按疏解批次计划到期）")
    keys = [k for k, _ in json.loads(plant.detail, object_pairs_hook=lambda pairs: pairs)]
    assert keys == sorted(keys)  # the detail is written with sorted keys, so exports are stable


def test_resident_moves_accumulate_and_skip_entries_with_no_one():
    ctx = _with_schedules(
        residents=[
            {"from": "capital", "to": "newtown", "persons_10k": 0.0, "start": 2026, "end": 2030},  # no one
            {"from": "capital", "to": "milltown", "persons_10k": 0.0002, "start": 2026, "end": 2027},  # 1 person a year
            {"from": "newtown", "to": "milltown", "persons_10k": 0.00005, "start": 2026, "end": 2026},  # half a person
        ],
        **{"rules.zoning.vacated_housing_converted": 0.5},
    )
    s = ctx.state
    relocate.apply(ctx)
    assert s.relocation_followers[A, C] == pytest.approx(1.0) and s.relocation_followers[B, C] == pytest.approx(0.5)
    assert s.relocation_followers[A, B] == 0.0
    assert s.housing_converted[A] == pytest.approx(0.5)  # only the capital is optimised
    s.year += 1
    relocate.apply(ctx)
    np.testing.assert_allclose(s.resident_schedule["moved"], [0.0, 2.0, 0.5])
    # the followers were not handed on (no MIGRATE here): the 2 waiting in A count again, converted on top of last year's
    assert s.housing_converted[A] == pytest.approx(0.5 + 0.5 * 2.0)


def test_match_pairs_marks_movers_without_any_pair_minus_one():
    # mover 2 (the last) has no feasible receiver at all; receiver 1 has room for 5, receiver 0 for none
    args = (np.array([0, 1]), np.array([1, 0]), np.array([1.0, 1.0]), np.array([1.0, 1.0]), np.ones(3))
    assert relocate.match_pairs(3, *args, np.array([0.0, 5.0])).tolist() == [1, -1, -1]
    assert relocate.match_pairs(3, *args, np.array([1.0, 0.0])).tolist() == [-1, 0, -1]
