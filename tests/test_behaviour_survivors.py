"""Behaviour tests for the mutation survivors left after the first round of behaviour tests (issue 16;
docs/TESTING.md, "Survivors of the after-sample not killed and not equivalent"):

- MIGRATE's cap loop gives up after 50 rounds, and its fallback (model/rules/migrate.py, after the loop) scales
  each capped city's inflows to its room *without* credit for departures, cap − population − natural change,
  and each capped province's inflows from other provinces to cap − its residents − its natural change, moves
  within the province untouched.
- RELOCATE's release-schedule backlog after an entry's last year (commit 2ed3b6a): units due by then, rounded
  to the nearest, that have not moved still come forward, one unit as much as several.
- FUND's mean GDP per head of the members divides by their residents, at least 1 (not 2).

The MIGRATE cases drive the flows only through planned moves (`relocation_followers`, which MIGRATE adds to the
gravity flows) with `migration_rate = 0`, so every entry of M is set by hand and every expectation below is
worked out in the comments from the docstring's rule; `natural` is passed to `migrate.flows` as given. The loop's
count of rounds needs more cities than the three-city fixture has: those cases use a 60-city synthetic region
(`regionsim synth`, seed 1; only its cities, populations and provinces are used, every cap and flow is set here).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from regionsim.model.events import EventLog
from regionsim.model.rules import INITIALISED, fund, migrate, relocate
from regionsim.model.rules.base import StepContext, shares
from regionsim.model.scenario import load_scenario
from regionsim.model.sectors import FUNCTION_TYPE_INDEX
from regionsim.model.state import build_state
from regionsim.model.synth import write_synth

from tests.conftest import three_city_context

A, B, C = 0, 1, 2  # capital, newtown, milltown (tests/fixtures/three_cities.toml)
UNIVERSITY = FUNCTION_TYPE_INDEX["university"]  # the capital hosts 6, of 1 unit each
ONLY_PLANNED = {"rules.migrate.migration_rate": 0.0, "rules.migrate.max_inflow_share": 0.5, "rules.migrate.max_outflow_share": 0.5}
"""No gravity flows (M is only the planned moves set by hand); the yearly share limits far above them."""


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    """A 60-city synthetic scenario (2 provinces; every city has at least 10万 residents), planned moves only."""
    path = tmp_path_factory.mktemp("survivors") / "synth_60.toml"
    write_synth(path, 60, 0, seed=1)
    return load_scenario(path, ONLY_PLANNED)


def _context(scenario) -> StepContext:
    """A fresh state of `scenario` after initialisation, one year on, with no city or province cap."""
    state = build_state(scenario)
    params = copy.deepcopy(scenario.params)
    for module in INITIALISED:
        module.initialise(state, params)
    state.year += 1
    state.population_cap = np.full(state.n_cities, np.inf)
    state.province_population_cap = np.full(state.n_provinces, np.inf)
    return StepContext(state, params, np.random.default_rng(0), EventLog())


def _plan(state, moves: dict[tuple[int, int], float]) -> np.ndarray:
    """Set the planned moves (origin, destination) → persons, as RELOCATE hands them to MIGRATE; the expected M."""
    expected = np.zeros((state.n_cities, state.n_cities))
    for (i, j), persons in moves.items():
        state.relocation_followers[i, j] = persons
        expected[i, j] = persons
    state.followers_at = np.array(sorted(i * state.n_cities + j for i, j in moves), dtype=np.int64)
    return expected


# --- MIGRATE: the cap loop's 50 rounds ----------------------------------------------------------------------


@pytest.mark.parametrize(("chain", "settles"), [(50, True), (51, False)])
def test_migrate_cap_loop_gives_up_after_50_rounds(region, chain, settles):
    # A chain of `chain` cities at their caps, each sending 100 + k persons to the next: each may admit only as many
    # as leave it. Round 1 finds only the last over its room (it sends no one: room 0) and empties its column; that
    # leaves the one before it with no departures, so round 2 empties its column; … round chain − 1 empties the
    # second's. A chain of 50 needs 49 rounds that change something and a 50th that confirms: settled. A chain of 51
    # needs 50 changing rounds: not settled in 50, so the fallback runs.
    # City h, also at its cap, admits 300 from u because it sends 500 to v (room = its departures): the loop keeps
    # that; the fallback counts no departures, so its room is 0 and the 300 are turned away.
    ctx = _context(region)
    s = ctx.state
    cities = np.arange(chain + 3)
    line, (h, u, v) = cities[:chain], cities[chain:]
    s.population_cap[line] = s.population[line]
    s.population_cap[h] = s.population[h]
    moves = {(int(line[k]), int(line[k + 1])): 100.0 + k for k in range(chain - 1)}
    moves.update({(u, h): 300.0, (h, v): 500.0})
    expected = _plan(s, moves)
    expected[line[:-1], line[1:]] = 0.0  # every column of the chain emptied, the second's in the last round
    expected[u, h] = 300.0 if settles else 0.0
    m = migrate.flows(ctx, np.zeros(s.n_cities))
    np.testing.assert_array_equal(m, expected)


# --- MIGRATE: the fallback after an unsettled loop -------------------------------------------------------------


def _unsettled(region):
    """A state whose cap loop never settles: p1 and p2 at their caps trade residents (p1 → p2 200, p2 → p1 300).
    Each may admit only as many as leave it, so each round shrinks one of the two flows by the loop's margin
    (1 − 1e−12) below the other: 50 rounds all change something, and the fallback runs. Returns the context and the
    cities the tests name: p1, p2, h, u, v in province 0, q1, q2 in province 1. Each test sets the caps (the pair
    never settles once p1 and p2 are at theirs) and the planned moves."""
    ctx = _context(region)
    s = ctx.state
    east, west = np.flatnonzero(s.city_province == 0), np.flatnonzero(s.city_province == 1)
    assert len(east) >= 6 and len(west) >= 3
    p1, p2, h, u, v = (int(c) for c in east[:5])
    q1, q2 = (int(c) for c in west[:2])
    return ctx, (p1, p2, h, u, v, q1, q2)


def _end_population(s, natural, m):
    return s.population + natural + m.sum(axis=0) - m.sum(axis=1)


def test_migrate_fallback_counts_natural_change_against_each_city_cap(region):
    ctx, (p1, p2, h, u, v, _, _) = _unsettled(region)
    s = ctx.state
    natural = np.zeros(s.n_cities)
    # p1: 40 more births than deaths, cap = its residents + those 40: the room without departures is 0
    natural[p1] = 40.0
    s.population_cap[p1] = s.population[p1] + 40.0
    s.population_cap[p2] = s.population[p2]  # p2: no natural change, at its cap: room 0
    # h: 60 more deaths than births, cap 90 above its residents: room 90 + 60 = 150; 400 want to come from u, and
    # it sends 300 to v, so the loop (room 150 + 300 ≥ 400) leaves them alone; the fallback admits 150 of the 400
    natural[h] = -60.0
    s.population_cap[h] = s.population[h] + 90.0
    expected = _plan(s, {(p1, p2): 200.0, (p2, p1): 300.0, (u, h): 400.0, (h, v): 300.0})
    m, inflow, outflow = migrate._flows(ctx, natural)
    expected[p1, p2] = expected[p2, p1] = 0.0  # both columns at room 0
    expected[u, h] = 150.0
    np.testing.assert_allclose(m, expected, rtol=1e-12, atol=0.0)
    np.testing.assert_allclose(inflow, m.sum(axis=0), rtol=1e-12)  # the sums handed to apply are those of M
    np.testing.assert_allclose(outflow, m.sum(axis=1), rtol=1e-12)
    end = _end_population(s, natural, m)
    assert end[p1] == pytest.approx(s.population_cap[p1]) and end[p2] == pytest.approx(s.population_cap[p2])
    assert end[h] == pytest.approx(s.population[h] - 60.0 + 150.0 - 300.0)  # within its cap (90 above)
    # the other direction: with 60 more births than deaths h's room is 90 − 60 = 30
    ctx, _ = _unsettled(region)
    s = ctx.state
    natural[h] = 60.0
    s.population_cap[[p1, p2, h]] = s.population[[p1, p2, h]] + np.array([40.0, 0.0, 90.0])
    expected = _plan(s, {(p1, p2): 200.0, (p2, p1): 300.0, (u, h): 400.0, (h, v): 300.0})
    m = migrate.flows(ctx, natural)
    assert m[u, h] == pytest.approx(30.0, rel=1e-12)
    assert m[p2, p1] == 0.0 and m[h, v] == 300.0


def test_migrate_fallback_turns_away_no_one_from_a_city_at_its_cap_that_no_one_enters(region):
    # z sits exactly at its cap and nobody moves there: its room and its inflow are both 0, nothing to scale
    ctx, (p1, p2, h, _, _, _, _) = _unsettled(region)
    s = ctx.state
    s.population_cap[[p1, p2, h]] = s.population[[p1, p2, h]]
    expected = _plan(s, {(p1, p2): 200.0, (p2, p1): 300.0})
    m = migrate.flows(ctx, np.zeros(s.n_cities))
    expected[p1, p2] = expected[p2, p1] = 0.0
    np.testing.assert_array_equal(m, expected)


def test_migrate_fallback_scales_a_province_inflow_from_outside_to_its_room(region):
    ctx, (p1, p2, _, u, v, q1, q2) = _unsettled(region)
    s = ctx.state
    west = np.flatnonzero(s.city_province == 1)
    natural = np.zeros(s.n_cities)
    natural[[p1, q1, q2]] = [40.0, 25.0, -10.0]
    s.population_cap[[p1, p2]] = s.population[[p1, p2]] + np.array([40.0, 0.0])
    # province 1: cap = its residents + its natural change (25 − 10 = 15) + 100: room 100 without departures.
    # From outside, u sends 150 to q1 and 250 to q2 (400); q2 sends 500 to v, so the loop's room (100 + 500) lets
    # all 400 in; the fallback scales the 400 to 100: × 0.25 → 37.5 and 62.5. q1 → q2 (70, within) is not capped.
    s.province_population_cap[1] = s.population[west].sum() + 15.0 + 100.0
    expected = _plan(s, {(p1, p2): 200.0, (p2, p1): 300.0, (u, q1): 150.0, (u, q2): 250.0, (q1, q2): 70.0, (q2, v): 500.0})
    m = migrate.flows(ctx, natural)
    expected[p1, p2] = expected[p2, p1] = 0.0
    expected[u, q1], expected[u, q2] = 37.5, 62.5
    np.testing.assert_allclose(m, expected, rtol=1e-12, atol=0.0)
    end = _end_population(s, natural, m)
    assert end[west].sum() == pytest.approx(s.population[west].sum() + 15.0 + 100.0 - 500.0)
    # counted against the room: births and deaths. With 15 more deaths than births the room is 100 + 15 + 15 = 130
    ctx, _ = _unsettled(region)
    s = ctx.state
    natural[[q1, q2]] = [-25.0, 10.0]
    s.population_cap[[p1, p2]] = s.population[[p1, p2]] + np.array([40.0, 0.0])
    s.province_population_cap[1] = s.population[west].sum() + 15.0 + 100.0
    _plan(s, {(p1, p2): 200.0, (p2, p1): 300.0, (u, q1): 150.0, (u, q2): 250.0, (q1, q2): 70.0, (q2, v): 500.0})
    m = migrate.flows(ctx, natural)
    assert m[u, q1] == pytest.approx(150.0 * 130.0 / 400.0, rel=1e-12) and m[u, q2] == pytest.approx(250.0 * 130.0 / 400.0, rel=1e-12)
    assert m[q1, q2] == 70.0
    # the province exactly at its cap once natural change is counted (room 0): no one from outside gets in, not even
    # a fraction of a person; the moves within it and out of it stay
    ctx, _ = _unsettled(region)
    s = ctx.state
    s.population_cap[[p1, p2]] = s.population[[p1, p2]] + np.array([40.0, 0.0])
    s.province_population_cap[1] = s.population[west].sum() - 15.0
    expected = _plan(s, {(p1, p2): 200.0, (p2, p1): 300.0, (u, q1): 150.0, (u, q2): 250.0, (q1, q2): 70.0, (q2, v): 500.0})
    m = migrate.flows(ctx, natural)
    expected[p1, p2] = expected[p2, p1] = expected[u, q1] = expected[u, q2] = 0.0
    np.testing.assert_allclose(m, expected, rtol=1e-12, atol=1e-6)  # room 0 up to rounding of a sum of ~10⁷ residents


def test_migrate_fallback_leaves_a_province_at_its_cap_with_no_one_arriving_as_it_is(region):
    # province 1 exactly at its cap (room 0) and no one arrives from outside: nothing to scale; q1 → q2 (within)
    # and q2 → v (leaving) stay as planned
    ctx, (p1, p2, _, _, v, q1, q2) = _unsettled(region)
    s = ctx.state
    west = np.flatnonzero(s.city_province == 1)
    s.population_cap[[p1, p2]] = s.population[[p1, p2]]
    s.province_population_cap[1] = s.population[west].sum()
    expected = _plan(s, {(p1, p2): 200.0, (p2, p1): 300.0, (q1, q2): 70.0, (q2, v): 500.0})
    m = migrate.flows(ctx, np.zeros(s.n_cities))
    expected[p1, p2] = expected[p2, p1] = 0.0
    np.testing.assert_array_equal(m, expected)


def test_migrate_fallback_caps_a_province_of_one_city(region):
    # province 1 reduced to q1 alone (its other cities counted in province 0), capped 500 above q1's residents;
    # 800 want to come from u and q1 sends no one. The loop admits 500 · (1 − 1e−12) in its first round (room
    # 500); the fallback's room is the same 500, so that stays; p1 and p2 (room 0) are emptied as before.
    ctx, (p1, p2, _, u, _, q1, _) = _unsettled(region)
    s = ctx.state
    s.city_province = np.where(np.arange(s.n_cities) == q1, 1, 0)
    s.population_cap[[p1, p2]] = s.population[[p1, p2]]
    s.province_population_cap[1] = s.population[q1] + 500.0
    expected = _plan(s, {(p1, p2): 200.0, (p2, p1): 300.0, (u, q1): 800.0})
    m = migrate.flows(ctx, np.zeros(s.n_cities))
    expected[p1, p2] = expected[p2, p1] = 0.0
    expected[u, q1] = 500.0
    np.testing.assert_allclose(m, expected, rtol=1e-9, atol=0.0)


# --- RELOCATE: the release schedule's backlog after an entry ends -------------------------------------------


@pytest.mark.parametrize("rate", [1.0, 0.5])
def test_one_unit_due_by_an_entry_last_year_still_comes_forward_after_it(rate):
    # one year (2026) at `rate` universities a year: due = rate, rounded to the nearest unit (0.5 rounds up) = 1.
    # Released in 2026; it moved nowhere (moved stays 0), so in 2027, after the entry's end, the backlog
    # 1 − 0 = 1 unit comes forward again; nothing new falls due. Once it has moved (moved = 1), nothing comes.
    ctx = three_city_context({"rules.relocate.annual_quota_share": 0.0})
    ctx.params["relocate"]["release_schedule"] = [
        {"from": "capital", "type": "university", "units_per_year": rate, "start": 2026, "end": 2026}
    ]
    ctx.params["relocate"]["resident_schedule"] = []
    relocate.initialise(ctx.state, ctx.params)
    s = ctx.state
    assert s.year == 2026
    chosen, entry = relocate.scheduled_release(ctx)
    assert len(chosen) == 1 and entry.tolist() == [0] and s.fn_type[chosen[0]] == UNIVERSITY
    s.year = 2027
    chosen, entry = relocate.scheduled_release(ctx)
    assert len(chosen) == 1 and entry.tolist() == [0] and s.fn_type[chosen[0]] == UNIVERSITY
    assert s.schedule["due"][0] == rate  # no new units after the end
    s.schedule["moved"][0] = 1.0
    s.year = 2028
    chosen, entry = relocate.scheduled_release(ctx)
    assert len(chosen) == 0 and len(entry) == 0


# --- FUND: the members' mean GDP per head ---------------------------------------------------------------------


def _fund_infrastructure_only(east_residents) -> StepContext:
    """East (A, B) the only members; no contributions; 10 亿元 to spend (spend_rate 0.5 · balance 20), all on
    infrastructure; A and B emptied to `east_residents`."""
    ctx = three_city_context(
        {
            "rules.fund.enabled": True,
            "rules.fund.members": ["east"],
            "rules.fund.contribution_rate": 0.0,
            "rules.fund.spend_rate": 0.5,
            "rules.fund.share_infrastructure": 1.0,
            "rules.fund.share_compensation": 0.0,
            "rules.fund.share_cleanup": 0.0,
        }
    )
    ctx.state.fund_balance = 20.0
    ctx.state.population[[A, B]] = east_residents
    return ctx


def _fund_payments(s) -> dict[tuple[int, int], float]:
    t = s.transfers
    return {(i, j): x for r, i, j, x in zip(t.rule, t.payer, t.payee, t.amount, strict=True) if r == "FUND"}


def test_fund_mean_gdp_per_head_of_members_with_one_resident_in_all():
    # mean_pc = members' GDP / max(their residents, 1); each city's GDP per head divides by max(its residents, 1).
    # East's two cities emptied to half a resident each: 1 resident in all, so mean_pc = GDP_A + GDP_B, and both
    # cities (GDP per head GDP_A / 1 and GDP_B / 1) are below it: both lag and share the 10 亿元 by population (½, ½)
    ctx = _fund_infrastructure_only([0.5, 0.5])
    s = ctx.state
    gdp = s.gdp()
    assert gdp[A] > gdp[B] > 0 and gdp[A] > (gdp[A] + gdp[B]) / 2  # the capital would not lag against a mean over 2
    fund.apply(ctx)
    assert _fund_payments(s) == {(3, A): pytest.approx(5.0), (3, B): pytest.approx(5.0)}  # from the fund (n = 3)
    assert s.fund_balance == pytest.approx(10.0)
    # 3 residents in all (A 2.5, B 0.5): mean_pc = (GDP_A + GDP_B) / 3; the capital (GDP_A / 2.5) is above it,
    # New Town (GDP_B / 1) below: New Town alone takes the 10 亿元
    ctx = _fund_infrastructure_only([2.5, 0.5])
    s = ctx.state
    gdp = s.gdp()
    assert gdp[A] / 2.5 > (gdp[A] + gdp[B]) / 3 > gdp[B]
    fund.apply(ctx)
    assert _fund_payments(s) == {(3, B): pytest.approx(10.0)}


def test_eco_comp_agreement_parties_in_words_and_shares_of_nothing():
    """A party named by cities is written with each language's list separator; weights that are all 0 share equally."""
    from regionsim.model.rules import eco_comp

    ctx = three_city_context()
    state = ctx.state
    names_en, names_zh = state.labels("city_names_en"), state.labels("city_names_zh")
    assert eco_comp._party_name(state, ["capital", "newtown"], "en") == f"{names_en[0]}, {names_en[1]}"
    assert eco_comp._party_name(state, ["capital", "newtown"], "zh") == f"{names_zh[0]}、{names_zh[1]}"
    assert eco_comp._party_name(state, "east", "en") == state.province_names_en[state.province_ids.index("east")]
    np.testing.assert_allclose(shares(np.zeros(4)), [0.25] * 4)
    np.testing.assert_allclose(shares(np.array([1.0, 3.0])), [0.25, 0.75])
