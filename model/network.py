"""The transport network: shortest travel times between cities over the scenario's links (new links
open in their year, the fund speeds links up), and kernels of travel time cached while it is unchanged."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from regionsim.model.state import RegionState


def _haversine_km(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lon_r, lat_r = np.radians(lon), np.radians(lat)
    dlon = lon_r[None, :] - lon_r[:, None]
    dlat = lat_r[None, :] - lat_r[:, None]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat_r[:, None]) * np.cos(lat_r[None, :]) * np.sin(dlon / 2) ** 2
    return 6371.0 * 2 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


FLOYD_WARSHALL_MAX_CITIES = 200
"""Up to this many cities, all-pairs travel times come from Floyd–Warshall; above it, from Dijkstra."""


def shortest_paths(n: int, a: np.ndarray, b: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """All-pairs fastest travel time over undirected links (inf where no route); parallel links: the fastest counts.

    Two exact methods, which differ only in how floating-point sums along a route are rounded
    (in the last bit). Up to `FLOYD_WARSHALL_MAX_CITIES` cities: Floyd–Warshall on arrays, n
    steps of an n × n minimum — a few milliseconds at 200 cities, and the method the shipped
    scenarios' published results were computed with, so they stay bit-identical. Above: Dijkstra
    from every city on the sparse link graph (scipy.sparse.csgraph), about n·L·log n for L links
    instead of n³ — a road network has a few links per city, so at 1,000 cities this is some ten
    times faster and at 3,000 some forty.
    """
    if n <= FLOYD_WARSHALL_MAX_CITIES:
        return _floyd_warshall(n, a, b, minutes)
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    source = np.concatenate([a, b]).astype(np.int64)
    target = np.concatenate([b, a]).astype(np.int64)
    weight = np.concatenate([minutes, minutes]).astype(float)
    keep = source != target
    source, target, weight = source[keep], target[keep], weight[keep]
    order = np.lexsort((weight, target, source))
    source, target, weight = source[order], target[order], weight[order]
    first = np.ones(len(source), dtype=bool)
    first[1:] = (source[1:] != source[:-1]) | (target[1:] != target[:-1])
    graph = csr_matrix((weight[first], (source[first], target[first])), shape=(n, n))
    return dijkstra(graph, directed=True)


def _floyd_warshall(n: int, a: np.ndarray, b: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    tt = np.full((n, n), np.inf)
    np.fill_diagonal(tt, 0.0)
    np.minimum.at(tt, (a, b), minutes)
    np.minimum.at(tt, (b, a), minutes)
    for k in range(n):
        np.minimum(tt, tt[:, k : k + 1] + tt[k : k + 1, :], out=tt)
    return tt


TRAVEL_REFRESH_SHARE = 0.01
"""Above `FLOYD_WARSHALL_MAX_CITIES` cities, travel times are recomputed when any open link's minutes
moved by more than this share since the last computation (see `travel_times`)."""


def travel_times(state: RegionState) -> np.ndarray:
    """Fastest travel time between every pair of cities over the links open this year.

    `state.link_speedup` (one factor per link, ≤ 1) shortens links the cooperation fund improved.
    Refresh rule: the all-pairs times are recomputed when the set of open links changes, or when
    an open link's minutes (`link_minutes · link_speedup`) changed since the last computation —
    any change up to `FLOYD_WARSHALL_MAX_CITIES` cities (a few milliseconds: exact every year, as
    in the shipped scenarios), and above that a change of more than `TRAVEL_REFRESH_SHARE` (1%)
    of the minutes used at the last computation. Otherwise the last answer is returned as it is
    (same array, no recomputation). FUND shortens links a little every year, and a recomputation
    costs about a second at 3,000 cities; since every route's time is a sum of link minutes and
    links only get faster, between refreshes a travel time is never shorter than the exact fastest
    time over this year's links, and that exact time is at least 99% of it (well inside the accuracy
    of timetable-based link times; exact again at each refresh). Above `FLOYD_WARSHALL_MAX_CITIES`, links that
    open in a year without a refresh are added to the last answer exactly, one at a time
    (`_open_link`), rather than by recomputing every route.
    """
    n = state.n_cities
    open_now = state.link_opens <= state.year
    minutes = state.link_minutes * state.link_speedup
    key = (n, state.link_from.tobytes(), state.link_to.tobytes())
    cached = state.travel_cache
    if cached is not None and cached[0] == key and not (cached[1] & ~open_now).any():
        _, open_before, used, result = cached
        tolerance = TRAVEL_REFRESH_SHARE if n > FLOYD_WARSHALL_MAX_CITIES else 0.0
        if np.all(np.abs(minutes[open_before] - used[open_before]) <= tolerance * used[open_before]):
            opened = np.flatnonzero(open_now & ~open_before)
            if len(opened) == 0:
                return result
            if n > FLOYD_WARSHALL_MAX_CITIES:
                before, result = result, result.copy()  # a new array: kernels derived from the old one are keyed by identity
                for link in opened:
                    _open_link(result, int(state.link_from[link]), int(state.link_to[link]), float(minutes[link]))
                used = np.where(open_now & ~open_before, minutes, used)
                state.travel_cache = (key, open_now, used, result)
                state.travel_change = (before, result, {})  # lets `travel_kernel` patch, not rebuild
                return result
    result = shortest_paths(n, state.link_from[open_now], state.link_to[open_now], minutes[open_now])
    state.travel_cache = (key, open_now, minutes, result)
    return result


def _open_link(times: np.ndarray, u: int, v: int, minutes: float) -> None:
    """Update all-pairs fastest times in place for one new undirected link u–v (exact).

    A route that improves uses the new link once, i → u → v → j (or the reverse), and only for
    origins i that now reach v faster through u and destinations j that u now reaches faster
    through v (otherwise the triangle inequality says the old time is already as fast).
    """
    # times is symmetric, so the routes v → u → i mirror i → u → v: one candidate block serves both directions
    rows = np.flatnonzero(times[:, u] + minutes < times[:, v])
    cols = np.flatnonzero(times[v, :] + minutes < times[u, :])
    if len(rows) and len(cols):
        block = times[np.ix_(rows, cols)]
        np.minimum(block, times[rows, u][:, None] + minutes + times[v, cols][None, :], out=block)
        times[np.ix_(rows, cols)] = block
        times[np.ix_(cols, rows)] = block.T  # the same routes driven the other way


TRAVEL_PATCH_MAX_SHARE = 0.2
"""`travel_kernel` patches a kernel when at most this share of the travel times changed, else rebuilds it."""


def travel_kernel(state: RegionState, name: str, params: tuple[Any, ...], entries: Any) -> np.ndarray:
    """A city × city matrix K_ij = entries(minutes_ij, i, j), a function of each pair's travel time (e.g.
    exp(−minutes/decay)), cached while travel times and `params` are unchanged.

    `entries(minutes, rows, cols, out)` returns K for the whole matrix (`rows`, `cols` None; written
    into `out` when that is not None: the last K's memory, reused — a fresh 3,000 × 3,000 array costs
    tens of milliseconds in page faults) or for the pairs (rows[k], cols[k]) whose travel times are
    `minutes[k]`. When travel times changed only because links opened (`travel_times` records the
    old and new arrays), only the pairs whose time changed are recomputed, in place; otherwise K is
    rebuilt. Callers must not modify K, nor keep it past the stage that asked for it.
    """
    cache = state.derived_cache
    hit = cache.get(name)
    minutes = state.travel_minutes
    if hit is not None and hit[1] == params:
        if hit[0] is minutes:
            return hit[2]
        change = state.travel_change
        if change is not None and change[0] is hit[0] and change[1] is minutes:
            if "changed" not in change[2]:
                change[2]["changed"] = np.flatnonzero(change[0] != change[1])
            changed = change[2]["changed"]
            if len(changed) <= TRAVEL_PATCH_MAX_SHARE * minutes.size:
                kernel = hit[2]
                rows, cols = np.divmod(changed, minutes.shape[1])
                kernel.ravel()[changed] = entries(minutes.ravel()[changed], rows, cols, None)
                cache[name] = (minutes, params, kernel)
                return kernel
    reuse = hit[2] if hit is not None and hit[2].shape == minutes.shape and hit[2].flags.c_contiguous else None
    kernel = entries(minutes, None, None, reuse)
    cache[name] = (minutes, params, kernel)
    return kernel
