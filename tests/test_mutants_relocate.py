"""RELOCATE's event detail on small hand-made scores: which runner-up receivers a move names and in what order
(`runner_up_receivers`), why each lost (`move_details`, `_lost_text`) and the detail JSON, including the rows written
value by value when a score part is NaN (`_detail_json`); and, on the three-city fixture, the market's choice noise,
movers that find no receiver, moves into city 0 and the leakage-ban upgrade (`_match_and_move`, `_log_moves`).
Every expected value is worked out in the comment beside it.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from regionsim.model.rules import relocate
from regionsim.model.sectors import FUNCTION_TYPE_INDEX

from tests.conftest import three_city_context

PART_NAMES = ("role", "minutes", "headroom", "incentive")
A, B, C = 0, 1, 2  # the three-city fixture: capital, New Town, Mill Town
PLANT = FUNCTION_TYPE_INDEX["general_manufacturing_plant"]
UNIVERSITY = FUNCTION_TYPE_INDEX["university"]


def _ctx(cities: str) -> SimpleNamespace:
    """What `move_details` reads of a step: the four weights (all 1) and the city ids (one character each)."""
    weights = {"weight_role": 1.0, "weight_time": 1.0, "weight_headroom": 1.0, "weight_incentive": 1.0}
    return SimpleNamespace(params={"relocate": weights}, state=SimpleNamespace(city_ids=list(cities)))


def _parts(*groups: dict[str, list[float]]) -> dict[str, np.ndarray]:
    """Score parts, one group (row) per argument: {part: [value at each city]}."""
    return {name: np.array([g[name] for g in groups], dtype=float) for name in PART_NAMES}


def _utility(parts: dict[str, np.ndarray]) -> np.ndarray:
    """U = role + headroom − minutes/60 + incentive (all weights 1, cost at 1 everywhere so its term is 0)."""
    return parts["role"] + parts["headroom"] - parts["minutes"] / 60.0 + parts["incentive"]


def _details(ctx, utility: np.ndarray, parts: dict, target: list[int], moved: list[int], jobs: list[float]) -> list[str]:
    """The detail JSON text of moves of groups 0, 1, … to `target`, as the relocation events carry it."""
    rows, target = np.arange(len(target)), np.array(target)
    m = {"rows": rows, "target": target, "moved": np.array(moved), "jobs": np.array(jobs, dtype=float)}
    m |= {name: parts[name][rows, target] for name in PART_NAMES}
    return relocate.move_details(ctx, utility, parts, m)().to_pylist()


# --- runner_up_receivers: who is named, in which order ----------------------------------------------------


def test_a_receiver_whose_score_is_nan_is_never_named_and_does_not_push_out_the_next_best():
    # kills runner_up_receivers _49 (NaN → None keeps NaN, which argmax takes first) and _51 (NaN → +inf)
    utility = np.array([[np.nan, 1.0, 2.0, 0.5]])
    receivers, named = relocate.runner_up_receivers(utility, np.array([0]), np.array([2]))
    # chosen is city 2 (score 2.0); the others by falling score: city 1 (1.0), city 3 (0.5); city 0 (NaN) never
    assert receivers.tolist() == [[1, 3]]
    assert named.tolist() == [[True, True]]


def test_many_runner_ups_come_in_falling_score_order():
    # kills runner_up_receivers _71, _74 (argsort's default kind, unstable on 17 or more entries)
    n = 18
    utility = (n - np.arange(n, dtype=float))[None, :]  # city i scores 18 − i: city 0 best, then 1, 2, …
    receivers, named = relocate.runner_up_receivers(utility, np.array([0]), np.array([0]), k=16)
    # the chosen city 0 left out, the next 16 in order of score are cities 1, 2, …, 16
    assert receivers.tolist() == [list(range(1, 17))]
    assert named.all()


def test_a_move_with_no_other_city_names_no_runner_up():
    # kills runner_up_receivers _112 (an unnamed slot filled with city 1, which a one-city region does not have)
    utility = np.array([[1.0]])
    receivers, named = relocate.runner_up_receivers(utility, np.array([0]), np.array([0]))
    assert not named.any()
    assert ((receivers >= 0) & (receivers < utility.shape[1])).all()  # callers index the score parts with every slot
    parts = _parts({"role": [1.0], "minutes": [0.0], "headroom": [0.5], "incentive": [0.0]})
    (text,) = _details(_ctx("a"), utility, parts, target=[0], moved=[4], jobs=[20.0])
    assert json.loads(text)["runners_up"] == []


# --- move_details: why a runner-up lost ---------------------------------------------------------------------


def test_a_runner_up_is_said_to_trail_in_the_part_of_the_score_where_its_weighted_gap_is_largest():
    # kills _runner_json _34, _45 (time gap /Δ or /61), _46 (headroom w/Δ), _56, _59, _62 (incentive w/Δ, a+b, b−b);
    # and move_details _26, _28, _29 (city ids written with \u escapes)
    parts = _parts(
        # group 0: time gap −(60 − 0)/60 = −1.00 beats headroom 0.01 − 1 = −0.99 (role and incentive equal)
        {"role": [0.0, 0.0], "minutes": [0.0, 60.0], "headroom": [1.0, 0.01], "incentive": [0.0, 0.0]},
        # group 1: role 0 − 1 = −1 beats headroom 0.5 − 1 = −0.5 (same 30 minutes, same incentive)
        {"role": [1.0, 0.0], "minutes": [30.0, 30.0], "headroom": [1.0, 0.5], "incentive": [0.0, 0.0]},
        # group 2: incentive 0 − 2 = −2 beats headroom 0.1 − 1 = −0.9
        {"role": [0.0, 0.0], "minutes": [0.0, 0.0], "headroom": [1.0, 0.1], "incentive": [2.0, 0.0]},
    )
    utility = _utility(parts)
    # U(甲), U(乙): group 0 1.0 and 0.01 − 1 = −0.99; group 1 1 + 1 − 0.5 = 1.5 and 0.5 − 0.5 = 0; group 2 3.0 and 0.1
    texts = _details(_ctx("甲乙"), utility, parts, target=[0, 0, 0], moved=[10, 11, 12], jobs=[100.0] * 3)
    runners = [json.loads(text)["runners_up"] for text in texts]
    assert runners == [
        [{"city": "乙", "score_gap": 1.99, "why": "it is farther (60 vs 0 min)", "why_zh": "距离更远（60对0分钟）"}],
        [{"city": "乙", "score_gap": 1.5, "why": "its role in the plan fits less (0.0 vs 1.0)", "why_zh": "功能定位匹配较低（0.0对1.0）"}],
        [{"city": "乙", "score_gap": 2.9, "why": "it offers less (0.0 vs 2.0)", "why_zh": "激励较少（0.0对2.0）"}],
    ]
    assert all('"city": "乙"' in text for text in texts)  # city ids as json.dumps(ensure_ascii=False) writes them


@pytest.mark.filterwarnings("ignore:invalid value encountered in subtract:RuntimeWarning")  # the unnamed slot: inf − inf
def test_infinite_values_are_written_as_json_writes_them():
    # kills _runner_json _113, _116, _119 (score_gap) and move_details _108, _111, _115, _123, _127, _132, _135, _139,
    # _144, _147, _151, _158, _161, _165 (headroom, incentive, jobs, role_match, travel_minutes): each written as repr,
    # "inf", which is not JSON
    inf = np.inf
    parts = _parts({"role": [inf, 0.0], "minutes": [inf, 0.0], "headroom": [inf, 0.0], "incentive": [inf, 0.0]})
    utility = np.array([[inf, 1.0]])  # given directly: the gap is inf − 1 = inf
    (text,) = _details(_ctx("ab"), utility, parts, target=[0], moved=[5], jobs=[inf])
    assert "inf," not in text and '"score_gap": Infinity' in text  # json.dumps(float("inf")) is Infinity
    # b's gaps: role 0 − inf = −inf (the first of the lowest), time −(0 − inf)/60 = +inf, headroom and incentive −inf
    lost = {"why": "its role in the plan fits less (0.0 vs inf)", "why_zh": "功能定位匹配较低（0.0对inf）"}
    assert json.loads(text) == {
        "function": 5,
        "headroom": inf,
        "incentive": inf,
        "jobs": inf,
        "role_match": inf,
        "runners_up": [{"city": "b", "score_gap": inf, **lost}],
        "travel_minutes": inf,
    }


@pytest.mark.parametrize(
    "runner_headroom",
    [
        np.nan,  # written value by value (`_detail_json`): numpy's argmin and Python's min disagree on NaN
        0.2,  # written column-wise; headroom gap 0.2 − 0.45678 = −0.257
    ],
)
def test_a_detail_is_written_with_the_documented_rounding_by_either_writer(runner_headroom):
    # kills _detail_json _6, _11, _16, _21 (role, minutes, headroom, incentive rounded to one more digit), move_details
    # _126 (incentive to 4 digits), _65, _66, _167 (the NaN row not sent to the value-by-value writer)
    parts = _parts(
        {
            "role": [0.12345, 0.0, 0.0],
            "minutes": [12.34, 30.0, 0.0],
            "headroom": [0.45678, runner_headroom, 0.0],
            "incentive": [0.98765, 0.0, 0.0],
        }
    )
    utility = np.array([[2.0, 1.0, -np.inf]])  # given directly (a NaN part would make a computed score NaN)
    (text,) = _details(_ctx("abc"), utility, parts, target=[0], moved=[7], jobs=[12.34])
    # b's gaps: role 0 − 0.12345 = −0.123; time −(30 − 12.34)/60 = −0.294; headroom NaN or −0.257; incentive
    # 0 − 0.98765 = −0.988. The lowest is incentive's (Python's min passes over NaN: NaN < x is False).
    assert json.loads(text) == {
        "function": 7,
        "headroom": 0.457,  # round(0.45678, 3)
        "incentive": 0.988,  # round(0.98765, 3)
        "jobs": 12.3,  # round(12.34, 1)
        "role_match": 0.123,  # round(0.12345, 3)
        "runners_up": [{"city": "b", "score_gap": 1.0, "why": "it offers less (0.0 vs 1.0)", "why_zh": "激励较少（0.0对1.0）"}],
        "travel_minutes": 12.3,  # round(12.34, 1)
    }
    assert '"why_zh": "激励较少（0.0对1.0）"' in text  # Chinese written as is, not as \u escapes


# --- _lost_text: the runner-up templates -------------------------------------------------------------------


def test_runner_up_templates_are_filled_per_row_and_json_escaped():
    values = {
        "role": (np.array([0.0] * 4), np.array([1.0] * 4)),
        "time": (np.array([90.0] * 4), np.array([45.0] * 4)),
        "headroom": (np.array([0.25] * 4), np.array([0.5] * 4)),
        "incentive": (np.array([0.5] * 4), np.array([2.0] * 4)),
    }
    texts = relocate._lost_text(relocate._LOST_EN, np.array([0, 1, 2, 3]), values, {})
    assert texts.to_pylist() == [
        "its role in the plan fits less (0.0 vs 1.0)",
        "it is farther (90 vs 45 min)",
        "it has less room (0.25 vs 0.50)",
        "it offers less (0.5 vs 2.0)",
    ]
    quoted = dict(relocate._LOST_EN, role='"role" {a:.1f}/{b:.1f}')
    first = {name: (a[:1], b[:1]) for name, (a, b) in values.items()}
    assert relocate._lost_text(quoted, np.array([0]), first, {}).to_pylist() == ['\\"role\\" 0.0/1.0']


@pytest.mark.parametrize(
    "template",
    [
        "fits less ({c:.1f} vs {b:.1f})",  # a field other than a or b (kills _lost_text _7)
        "fits less ({a:.1e} vs {b:.1f})",  # fixed decimals required: .1e starts with "." but is not "f" (kills _14)
        "fits less ({a:3f} vs {b:.1f})",  # "f" without the "." of a precision
    ],
)
def test_runner_up_templates_take_only_a_and_b_with_fixed_decimals(template):
    values = {name: (np.array([0.0]), np.array([1.0])) for name in relocate._LOST_KEYS}
    with pytest.raises(ValueError, match="fields must be"):
        relocate._lost_text(dict(relocate._LOST_EN, role=template), np.array([0]), values, {})


# --- the market on the three-city fixture (all 21 functions start in the capital A) ---------------------------


def _market(ctx, movers) -> None:
    """Score, match and move `movers` (reason: A's negative list; no schedule entry)."""
    n = ctx.state.n_functions
    relocate._match_and_move(ctx, np.asarray(movers), np.full(n, 1), np.full(n, -1))


@pytest.mark.parametrize(("limit", "dense"), [(17, False), (18, True)])
def test_choice_noise_is_one_draw_per_mover_and_city_up_to_the_limit_and_per_feasible_pair_above(monkeypatch, limit, dense):
    # kills _match_and_move _33 (movers / cities against the limit), _34 (< at the limit), _42 (one draw for all pairs)
    zero = {f"rules.relocate.weight_{w}": 0.0 for w in ("role", "time", "headroom", "incentive", "cost")}
    ctx = three_city_context({**zero, "rules.relocate.choice_sharpness": 1.0}, seed=0)
    monkeypatch.setattr(relocate, "DENSE_NOISE_MAX_DRAWS", limit)
    universities = np.flatnonzero(ctx.state.fn_type == UNIVERSITY)  # 6 movers × 3 cities = 18 entries
    _market(ctx, universities)
    # every weight 0: U = 0 at B and C (A, the host, is out), so each mover goes where its Gumbel draw is larger
    # (1-unit movers, room for 10 and 20). Up to the limit one draw per mover × city entry (18, row by row);
    # above it one per feasible pair (12: each mover's B then C).
    per_entry = np.random.default_rng(0).gumbel(size=(6, 3))[:, [B, C]]
    per_pair = np.random.default_rng(0).gumbel(size=12).reshape(6, 2)
    expected = {draws: np.where(g[:, 0] > g[:, 1], B, C).tolist() for draws, g in (("entry", per_entry), ("pair", per_pair))}
    assert expected["entry"] != expected["pair"] and expected["pair"] != [B] * 6  # seed 0 tells the draws apart
    assert ctx.state.fn_host[universities].tolist() == expected["entry" if dense else "pair"]


def test_a_mover_with_no_receiver_stays_and_is_logged_while_a_plant_moves_with_cleaner_equipment():
    # kills _match_and_move _59 (pair counts one short when the last mover has no pair), _127 (emission factor set to
    # 1 − upgrade instead of scaled by it); _log_moves _79 (no "stayed" event when exactly one mover stayed), _122
    # (the Chinese sentence with the English type label)
    ctx = three_city_context({"rules.relocate.choice_sharpness": 100.0})
    s = ctx.state
    s.negative[B, UNIVERSITY] = s.negative[C, UNIVERSITY] = True  # no city may take a university
    plant, university = 0, s.n_functions - 1  # the first function is a plant, the last a university
    assert (s.fn_type[plant], s.fn_type[university]) == (PLANT, UNIVERSITY)
    s.fn_emission_factor[plant] = 0.8
    _market(ctx, [plant, university])
    # the plant goes to Mill Town, positioned for plants: U_C = 2·1 + 1 − 60/60 − 0.5·(0.7 − 1) = 2.15 against
    # U_B = 0 + 0.5 − 40/60 + 1.0 = 0.83; its emission factor is cut by the leakage ban's upgrade: 0.8 · (1 − 0.5) = 0.4
    assert s.fn_host[plant] == C and s.fn_emission_factor[plant] == pytest.approx(0.4)
    assert s.fn_host[university] == A
    events = ctx.events.frame()
    assert events.kind.tolist() == ["relocation", "stayed"]
    stayed = events.iloc[1]
    assert (stayed.source, stayed.target, stayed.function_type, stayed.units) == ("capital", "capital", "university", 1)
    assert stayed.why_en == (
        "1 university agent(s) ready to leave Capital found no receiver with room, a matching zone and travel time "
        "within reach; they stay this year"
    )
    assert stayed.why_zh == "1个待疏解的高校未找到有容量、分区允许且距离可达的承接地，今年留在京城"


def _from_mill_town_with_the_capital_open(**overrides):
    """A university hosted in Mill Town; the capital's negative list cleared so it may receive."""
    ctx = three_city_context({"rules.relocate.choice_sharpness": 100.0, **overrides})
    ctx.state.negative[A, :] = False
    university = ctx.state.n_functions - 1
    ctx.state.fn_host[university] = C
    return ctx, university


def test_a_move_into_city_zero_is_a_move_not_a_stay():
    # kills _log_moves _76, _77 (a match to receiver 0 counted among the movers that stayed)
    ctx, university = _from_mill_town_with_the_capital_open()
    ctx.state.negative[B, UNIVERSITY] = True  # only the capital is left (60 minutes from Mill Town)
    _market(ctx, [university])
    assert ctx.state.fn_host[university] == A
    events = ctx.events.frame()
    assert events.kind.tolist() == ["relocation"]
    assert (events.source[0], events.target[0]) == ("milltown", "capital")


def test_the_only_runner_up_is_named_once():
    # a bug this campaign found: when every other city's score was −inf, runner_up_receivers named city 0 again
    ctx, university = _from_mill_town_with_the_capital_open()
    _market(ctx, [university])
    # New Town wins: U_B = 2·1 + 0.5·1 − 100/60 + 1.0 = 1.833 against the capital's U_A = 0 + 1 − 60/60 − 0.5·(2 − 1) = −0.5;
    # the capital is the one runner-up (A's role 0 against B's 1 is the largest gap: 2·(0 − 1) = −2)
    assert ctx.state.fn_host[university] == B
    (detail,) = ctx.events.frame().detail
    assert json.loads(detail)["runners_up"] == [
        {
            "city": "capital",
            "score_gap": 2.333,
            "why": "its role in the plan fits less (0.0 vs 1.0)",
            "why_zh": "功能定位匹配较低（0.0对1.0）",
        }
    ]
