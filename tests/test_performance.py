"""The fast paths of the performance work compute what the plain versions compute.

Each test builds a small random case and compares the fast code with the obvious one: factored
payments with their expanded rows, threshold searches with `np.nonzero`, links opened one at a
time with a fresh shortest-path run, patched kernels with rebuilt ones, the pair-wise matching
with the dense deferred acceptance, and the travel-time refresh rule with its stated bound.
"""

from __future__ import annotations

import numpy as np
import pytest
from regionsim.model.kernels import entries_above, matvec, vecmat
from regionsim.model.ledger import Transfers
from regionsim.model.model import RegionModel
from regionsim.model.network import FLOYD_WARSHALL_MAX_CITIES, TRAVEL_REFRESH_SHARE, _open_link, shortest_paths, travel_times
from regionsim.model.rules import growth, migrate, relocate, transfer


def test_factored_payments_match_their_rows():
    rng = np.random.default_rng(1)
    n = 40
    matrix = rng.random((n, n)) * (rng.random((n, n)) < 0.5)
    np.fill_diagonal(matrix, 0.0)
    left, right = rng.random(n) * (rng.random(n) < 0.7), rng.random(n)
    for axis in (0, 1):
        fast, plain = Transfers(n + 1), Transfers(n + 1)
        fast.pay("FUND", np.array([0, 1]), np.array([n, n]), np.array([1.5, 2.5]))
        plain.pay("FUND", np.array([0, 1]), np.array([n, n]), np.array([1.5, 2.5]))
        fast.pay_outer("ENERGY", left, matrix, right, payer_axis=axis)
        plain.pay_matrix("ENERGY", left[:, None] * matrix * right[None, :], payer_axis=axis)
        assert fast.payer == plain.payer and fast.payee == plain.payee and fast.amount == plain.amount
        assert fast.rule == plain.rule
        for rule in (None, "ENERGY", "FUND"):
            np.testing.assert_allclose(fast.net(rule), plain.net(rule), rtol=1e-12, atol=1e-12)
            assert fast.total(rule) == pytest.approx(plain.total(rule), rel=1e-12)
        assert abs(fast.net().sum()) <= 1e-12 * fast.total()


def test_entries_above_is_nonzero_of_the_product():
    rng = np.random.default_rng(2)
    n = 300
    matrix = rng.random((n, n)) ** 3
    left, right = rng.random(n) * (rng.random(n) < 0.6), rng.random(n) * (rng.random(n) < 0.8)
    product = left[:, None] * matrix * right[None, :]
    rows, cols = np.nonzero(product > 0.2)
    for row_max in (None, matrix.max(axis=1)):
        r, c, v = entries_above(left, matrix, right, 0.2, row_max=row_max, chunk=37)
        assert np.array_equal(r, rows) and np.array_equal(c, cols)
        assert np.array_equal(v, product[rows, cols])


def test_single_thread_products():
    rng = np.random.default_rng(3)
    m, x, xs = rng.random((30, 30)), rng.random(30), rng.random((30, 2))
    np.testing.assert_allclose(matvec(m, x), m @ x)
    np.testing.assert_allclose(vecmat(x, m), x @ m)
    np.testing.assert_allclose(matvec(m, xs), m @ xs)
    np.testing.assert_allclose(vecmat(xs, m), (xs.T @ m).T)


def test_opening_links_one_at_a_time_is_exact():
    rng = np.random.default_rng(4)
    n, links, new = 260, 700, 30
    a, b, minutes = rng.integers(0, n, links), rng.integers(0, n, links), rng.uniform(5, 90, links)
    fresh = shortest_paths(n, a, b, minutes)
    grown = shortest_paths(n, a[:-new], b[:-new], minutes[:-new])
    for k in range(links - new, links):
        _open_link(grown, int(a[k]), int(b[k]), float(minutes[k]))
    finite = np.isfinite(fresh)
    assert np.array_equal(finite, np.isfinite(grown))
    np.testing.assert_allclose(grown[finite], fresh[finite], rtol=1e-12)


@pytest.mark.parametrize("fund", [True, False])
def test_travel_refresh_rule(tmp_path, fund):
    from regionsim.model.synth import write_synth

    path = tmp_path / "synth.toml"
    write_synth(path, FLOYD_WARSHALL_MAX_CITIES + 60, 2000, 3)  # links open in 2026 and 2027
    model = RegionModel(str(path), rng=1, rules__fund__enabled=fund)
    s = model.state
    stale = 0
    for _ in range(5):
        speedup = s.link_speedup.copy()  # travel times are computed at the start of the year, before FUND
        model.step()
        open_now = s.link_opens <= s.year
        exact = shortest_paths(s.n_cities, s.link_from[open_now], s.link_to[open_now], (s.link_minutes * speedup)[open_now])
        finite = np.isfinite(exact)
        assert np.array_equal(finite, np.isfinite(s.travel_minutes))
        # never faster than the exact fastest route, which is at least (1 − refresh share) of the time used
        assert (s.travel_minutes[finite] >= exact[finite] * (1 - 1e-12)).all()
        assert (s.travel_minutes[finite] * (1 - TRAVEL_REFRESH_SHARE) <= exact[finite] * (1 + 1e-12)).all()
        stale += not np.allclose(s.travel_minutes[finite], exact[finite], rtol=1e-12)
        # kernels patched as links opened equal kernels built from scratch
        patched = {
            "growth": growth.reach(s, model.params["growth"]["spillover_decay_minutes"]).copy(),
            "migrate": migrate.reach(s, model.params["migrate"]["decay_minutes"], 1.0 - migrate.hukou(s, model.params["migrate"])).copy(),
            "transfer": transfer.kernel(model.ctx)[0].copy(),
        }
        s.derived_cache.clear()
        assert np.array_equal(patched["growth"], growth.reach(s, model.params["growth"]["spillover_decay_minutes"]))
        assert np.array_equal(
            patched["migrate"], migrate.reach(s, model.params["migrate"]["decay_minutes"], 1.0 - migrate.hukou(s, model.params["migrate"]))
        )
        assert np.array_equal(patched["transfer"], transfer.kernel(model.ctx)[0])
    if fund:  # FUND shortens links a little every year: some years use the last (stale) times
        assert stale
    else:  # only links opening change travel times: added to the last answer, and kernels patched
        assert s.travel_change is not None


def test_small_regions_recompute_travel_times_exactly():
    model = RegionModel("classroom", rng=1)
    s = model.state
    s.link_speedup = s.link_speedup * (1 - 1e-6)  # far below the refresh share: still recomputed
    before = s.travel_minutes
    assert travel_times(s) is not before


def _dense_deferred_acceptance(utility, units, capacity, noise):
    """The matching as first written: argmax over the whole row, every round."""
    m, _ = utility.shape
    preference = np.add(utility, noise)
    np.copyto(preference, -np.inf, where=~np.isfinite(utility))
    match = np.full(m, -1, dtype=np.int64)
    free = np.arange(m)
    while len(free):
        best = np.argmax(preference[free], axis=1)
        can = np.isfinite(preference[free, best])
        proposing = free[can]
        if len(proposing) == 0:
            break
        match[proposing] = best[can]
        held = np.nonzero(match >= 0)[0]
        target = match[held]
        order = np.lexsort((held, -utility[held, target], target))
        held, target = held[order], target[order]
        cumulative = np.cumsum(units[held])
        group_start = np.searchsorted(target, target, side="left")
        within = cumulative - np.where(group_start > 0, cumulative[group_start - 1], 0)
        rejected = within > capacity[target]
        preference[held[rejected], target[rejected]] = -np.inf
        match[held[rejected]] = -1
        free = np.sort(held[rejected])
    return match


@pytest.mark.parametrize("seed", range(8))
def test_pairwise_matching_equals_dense_deferred_acceptance(seed):
    rng = np.random.default_rng(seed)
    groups, n, m = int(rng.integers(1, 20)), int(rng.integers(2, 60)), int(rng.integers(1, 500))
    utility = rng.normal(size=(groups, n))
    utility[rng.random((groups, n)) < 0.5] = -np.inf
    group = rng.integers(0, groups, m)
    units, capacity = rng.integers(1, 4, m).astype(float), rng.integers(0, 12, n).astype(float)
    noise = rng.gumbel(size=(m, n)) / 3.0
    expected = _dense_deferred_acceptance(utility[group], units, capacity, noise)
    assert np.array_equal(relocate.deferred_acceptance(utility[group], units, capacity, noise), expected)
    mover, receiver = relocate.feasible_pairs(utility, group)
    value = utility[group[mover], receiver]
    preference = value + noise[mover, receiver]
    order = relocate.rank_by_group(group, np.bincount(mover, minlength=m), preference)
    assert np.array_equal(relocate.match_pairs(m, mover, receiver, value, preference, units, capacity, order), expected)
