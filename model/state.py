"""The region's state as numpy arrays: one row per city, province or relocatable function.

Think of a spreadsheet with three sheets. The city sheet has a row per city (population, output
by sector, emissions, PM2.5, capacities, zone type…); the province sheet a row per province (policy
instruments); the function sheet a row per relocatable function (type, jobs, output, host city,
origin city, tax-sharing contract). Rules read and write whole columns at once; the Mesa agents in
`agents/` are windows onto single rows.

Units: population in persons, output and money in 亿元 (100 million yuan), emissions in tonnes,
PM2.5 in µg/m³, travel times in minutes, distances in km.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from regionsim.model.scenario import Scenario
from regionsim.model import demography
from regionsim.model.sectors import (
    CIRCLES,
    FUNCTION_TYPE_INDEX,
    FUNCTION_TYPES,
    POLLUTANTS,
    SECONDARY,
    SECTOR_INDEX,
    SECTORS,
    TERTIARY,
    ZONES,
)

PERSONS_PER_10K = 10_000.0


@dataclass
class Transfers:
    """Money moved this year between accounts (cities 0…n-1, the cooperation fund n).

    Each payment is one row: rule id, payer account, payee account, amount (亿元), and the
    event detail behind it. Every payment leaves one account and arrives in another, so the net
    of all accounts is zero (up to floating-point rounding); `net()` lets tests check it.

    Payments are kept as blocks, one per `pay`, `pay_matrix` or `pay_outer` call: explicit rows
    (payer, payee and amount arrays), or — for a rule that pays along a whole city × city matrix,
    as JOINT_CONTROL and ENERGY do — the matrix in factored form, `amount[r, c] = left[r] ·
    matrix[r, c] · right[c]`, whose rows are the positive entries off the diagonal, row by row.
    A factored block is never expanded to rows to be added up: what each account pays and
    receives are matrix–vector products, so `net` and `total` cost O(n²) multiply-adds rather than
    millions of rows. Sums are order-independent (`np.sum`, `bincount`, matrix–vector products):
    money totals and nets are exact up to floating-point rounding. The rows themselves
    (`rule`, `payer`, `payee`, `amount`) are built only when read.
    """

    n_accounts: int
    _blocks: list[tuple[str, str, tuple[np.ndarray, ...], int]] = field(default_factory=list)
    _net: dict[str | None, np.ndarray] = field(default_factory=dict)

    def pay(self, rule: str, payer: np.ndarray, payee: np.ndarray, amount: np.ndarray) -> None:
        """Record payments (arrays of equal length); zero and negative amounts are dropped."""
        payer, payee, amount = np.atleast_1d(payer), np.atleast_1d(payee), np.atleast_1d(amount)
        keep = (amount > 0) & (payer != payee)
        if not keep.all():
            payer, payee, amount = payer[keep], payee[keep], amount[keep]
        self._append_rows(rule, payer, payee, amount)

    def pay_matrix(self, rule: str, amount: np.ndarray, payer_axis: int = 0) -> None:
        """Record every positive entry off the diagonal of a square matrix of payments, row by row.

        `amount[r, j]` is what r pays j (`payer_axis=0`) or what j pays r (`payer_axis=1`). The rows
        recorded, and their order, are those of `pay(rule, *np.nonzero(amount > 0), …)`.
        """
        rows, cols, values = _positive_off_diagonal(amount)
        self._append_rows(rule, *((rows, cols) if payer_axis == 0 else (cols, rows)), values)

    def pay_outer(self, rule: str, left: np.ndarray, matrix: np.ndarray, right: np.ndarray, payer_axis: int = 0) -> None:
        """Record the payments `amount[r, c] = left[r] · matrix[r, c] · right[c]` over cities, without expanding them.

        `matrix` must be non-negative with a zero diagonal (nobody pays itself); it is kept by
        reference and must not be changed afterwards (the rules pass cached, read-only kernels).
        Negative factors are treated as zero. With `payer_axis=0`, r pays c; with 1, c pays r.
        The rows (when read) are those of `pay_matrix(rule, left[:, None] * matrix * right[None, :], payer_axis)`.
        """
        left = np.maximum(np.asarray(left, dtype=float), 0.0)
        right = np.maximum(np.asarray(right, dtype=float), 0.0)
        if not left.any() or not right.any():
            return
        self._net.clear()
        self._blocks.append((rule, "outer", (left, matrix, right), payer_axis))

    def _append_rows(self, rule: str, payer: np.ndarray, payee: np.ndarray, amount: np.ndarray) -> None:
        if len(amount) == 0:
            return
        self._net.clear()
        self._blocks.append((rule, "rows", (payer.astype(np.int64, copy=False), payee.astype(np.int64, copy=False),
                                            np.ascontiguousarray(amount, dtype=float)), 0))

    def _rows(self, block: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(payer, payee, amount) of a block, expanded to rows."""
        _, kind, data, payer_axis = block
        if kind == "rows":
            return data
        left, matrix, right = data
        rows, cols, values = _positive_off_diagonal(left[:, None] * matrix * right[None, :])
        return (rows, cols, values) if payer_axis == 0 else (cols, rows, values)

    def _selected(self, rule: str | None) -> list[tuple]:
        return [b for b in self._blocks if rule is None or b[0] == rule]

    @property
    def rule(self) -> list[str]:
        """Rule id of each payment row."""
        return [b[0] for b in self._blocks for _ in range(len(self._rows(b)[2]))]

    @property
    def payer(self) -> list[int]:
        """Payer account of each payment row."""
        return [x for b in self._blocks for x in self._rows(b)[0].tolist()]

    @property
    def payee(self) -> list[int]:
        """Payee account of each payment row."""
        return [x for b in self._blocks for x in self._rows(b)[1].tolist()]

    @property
    def amount(self) -> list[float]:
        """Amount of each payment row (亿元)."""
        return [x for b in self._blocks for x in self._rows(b)[2].tolist()]

    def net(self, rule: str | None = None) -> np.ndarray:
        """Net received per account (received minus paid), for one rule or all."""
        if rule not in self._net:
            net = np.zeros(self.n_accounts)
            for _, kind, data, payer_axis in self._selected(rule):
                if kind == "rows":
                    payer, payee, amount = data
                    net += np.bincount(payee, weights=amount, minlength=self.n_accounts)
                    net -= np.bincount(payer, weights=amount, minlength=self.n_accounts)
                else:
                    left, matrix, right = data
                    by_row = left * matvec(matrix, right)  # Σ_c amount[r, c]
                    by_col = right * vecmat(left, matrix)  # Σ_r amount[r, c]
                    n = len(left)
                    if payer_axis == 0:
                        net[:n] += by_col - by_row
                    else:
                        net[:n] += by_row - by_col
            self._net[rule] = net
        return self._net[rule].copy()

    def total(self, rule: str | None = None) -> float:
        """Money moved (sum of payments), for one rule or all."""
        total = 0.0
        for _, kind, data, _ in self._selected(rule):
            if kind == "rows":
                total += float(np.sum(data[2]))
            else:
                left, matrix, right = data
                total += float(vecmat(left, matrix) @ right)
        return total

    def clear(self) -> None:
        """Start a new year."""
        self._net.clear()
        self._blocks.clear()


def matvec(matrix: np.ndarray, x: np.ndarray) -> np.ndarray:
    """matrix @ x (x a vector, or a few columns), on one thread.

    NumPy's `@` hands a matrix–vector product to the multi-threaded BLAS, which on a busy machine
    can stall for tens of milliseconds waiting for its threads; `einsum` does the same sums in a
    single thread at memory speed (a few ms for a 3,000 × 3,000 matrix).
    """
    return np.einsum("ij,j...->i...", matrix, x)


def vecmat(x: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """x @ matrix (x a vector), or xᵀ @ matrix laid out like x (x a few columns:
    result[j, k] = Σ_i x[i, k] · matrix[i, j]), on one thread."""
    if x.ndim == 1:
        return np.einsum("i,ij->j", x, matrix)
    return np.stack([np.einsum("i,ij->j", x[:, k], matrix) for k in range(x.shape[1])], axis=1)  # column by column: 4× faster


def _positive_off_diagonal(amount: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and value of every positive entry off the diagonal of a square matrix, row by row."""
    flat = np.flatnonzero(amount > 0)
    rows, cols = np.divmod(flat, amount.shape[1])
    values = amount.ravel()[flat]
    off = rows != cols
    if not off.all():
        rows, cols, values = rows[off], cols[off], values[off]
    return rows, cols, values


def entries_above(left: np.ndarray, matrix: np.ndarray, right: np.ndarray, threshold: float,
                  row_max: np.ndarray | None = None, chunk: int = 256) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and value of every entry of `left[r] · matrix[r, c] · right[c]` above `threshold` (≥ 0), row by row.

    The same entries, values and order as `np.nonzero(left[:, None] * matrix * right[None, :] > threshold)`,
    without building the whole product: rows that cannot reach the threshold (by `row_max`, each
    row's largest entry of `matrix`, when given) are skipped, the rest done a block of rows at a time.
    """
    left = np.maximum(left, 0.0)
    right = np.maximum(right, 0.0)
    candidate = left > 0
    if row_max is not None:
        candidate &= left * row_max * (right.max() if len(right) else 0.0) > threshold
    out_r, out_c, out_v = [], [], []
    for start in range(0, len(left), chunk):
        stop = min(start + chunk, len(left))
        rows = np.flatnonzero(candidate[start:stop]) + start
        if len(rows) == 0:
            continue
        if len(rows) == stop - start:  # every row of the block: a slice, not a copy
            values = left[start:stop, None] * matrix[start:stop]
        else:
            values = left[rows, None] * matrix[rows]
        values *= right[None, :]
        r, c = np.nonzero(values > threshold)
        out_r.append(rows[r])
        out_c.append(c)
        out_v.append(values[r, c])
    if not out_r:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(out_r), np.concatenate(out_c), np.concatenate(out_v)


@dataclass
class RegionState:
    """All simulated quantities, as arrays. Built by `build_state` from a checked scenario."""

    year: int
    # cities
    city_ids: list[str]
    city_names_zh: list[str]
    city_names_en: list[str]
    city_province: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    area_km2: np.ndarray
    built_up_share: np.ndarray
    density_cap: np.ndarray
    population_cap: np.ndarray
    explicit_population_cap: np.ndarray
    zone: np.ndarray
    circle: np.ndarray
    water_source: np.ndarray
    hukou_friction: np.ndarray
    cost_index: np.ndarray
    service_base: np.ndarray
    service_level: np.ndarray
    population: np.ndarray
    base_output: np.ndarray
    role: np.ndarray
    negative: np.ndarray
    pm25: np.ndarray
    pm25_background: np.ndarray
    pm25_scale: np.ndarray
    emissions: np.ndarray
    abatement: np.ndarray
    land_index: np.ndarray
    jc_abatement: np.ndarray
    # provinces
    province_ids: list[str]
    province_names_zh: list[str]
    province_names_en: list[str]
    natural_change_per_1000: np.ndarray
    natural_change_schedule: np.ndarray
    """Year × province natural change per 1,000 (model.demography: published series, stated rule beyond)."""
    pm25_target: np.ndarray
    province_population_cap: np.ndarray
    province_outlines: list[list[list[float]]]
    relocation_pressure: np.ndarray
    province_abatement_goal: np.ndarray
    # functions
    fn_type: np.ndarray
    fn_sector: np.ndarray
    fn_units: np.ndarray
    fn_jobs: np.ndarray
    fn_output: np.ndarray
    fn_host: np.ndarray
    fn_origin: np.ndarray
    fn_year_moved: np.ndarray
    fn_emission_factor: np.ndarray
    fn_tax_history: np.ndarray
    fn_contract_origin: np.ndarray
    fn_contract_cap: np.ndarray
    fn_contract_paid: np.ndarray
    # sectors
    productivity: np.ndarray
    tax_share: np.ndarray
    output_growth: np.ndarray
    base_intensity: np.ndarray
    intensity: np.ndarray
    # geography
    link_from: np.ndarray
    link_to: np.ndarray
    link_minutes: np.ndarray
    link_opens: np.ndarray
    link_corridor: np.ndarray
    distance_km: np.ndarray
    travel_minutes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    # this year's flows (reset each year)
    natural_change: np.ndarray = field(default_factory=lambda: np.zeros(0))
    migration_in: np.ndarray = field(default_factory=lambda: np.zeros(0))
    migration_out: np.ndarray = field(default_factory=lambda: np.zeros(0))
    relocation_followers: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    fiscal_revenue: np.ndarray = field(default_factory=lambda: np.zeros(0))
    transfers: Transfers = field(default_factory=lambda: Transfers(0))
    co2_consumption: np.ndarray = field(default_factory=lambda: np.zeros(0))
    abatement_cost: np.ndarray = field(default_factory=lambda: np.zeros(0))
    fund_balance: float = 0.0
    moved_this_year: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    base_year: int = 0
    initial_population: np.ndarray = field(default_factory=lambda: np.zeros(0))
    initial_fn_service_jobs: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cumulative_transfers: np.ndarray = field(default_factory=lambda: np.zeros(0))
    notes: list[str] = field(default_factory=list)
    source_receptor: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    energy_coeff: np.ndarray = field(default_factory=lambda: np.zeros(0))
    link_speedup: np.ndarray = field(default_factory=lambda: np.zeros(0))
    foregone_output: np.ndarray = field(default_factory=lambda: np.zeros(0))
    base_energy_by_province: np.ndarray = field(default_factory=lambda: np.zeros(0))
    eh_per_capita0: np.ndarray = field(default_factory=lambda: np.zeros(0))
    attractiveness0: np.ndarray = field(default_factory=lambda: np.zeros(0))
    jobs_per_resident0: float = 0.0
    cost_index0: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Each city's cost index in the base year (GROWTH moves `cost_index` from it)."""
    city_gdp_per_capita0: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Each city's GDP per resident in the base year (亿元 per person)."""
    gdp_per_capita0: float = 0.0
    """The region's base-year GDP per resident (亿元 per person; GROWTH's convergence reference)."""
    # planned relocation (RELOCATE, ZONING, POLICY, MIGRATE; issue 11)
    province_near_cap: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    """Province is within POLICY's `cap_warning_share` of its population cap (set by POLICY each year)."""
    housing_converted: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Persons' worth of homes vacated by planned moves and converted to other uses (存量置換), cumulative per city."""
    planned_in_cum: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Persons arrived by planned moves (staff following their unit, scheduled residents), cumulative per city."""
    planned_out_cum: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Persons left by planned moves, cumulative per city."""
    schedule: dict[str, np.ndarray] = field(default_factory=dict)
    """RELOCATE's function release schedule, one entry per row: city, type, rate, start, end, due, moved."""
    resident_schedule: dict[str, np.ndarray] = field(default_factory=dict)
    """RELOCATE's resident relocation schedule, one entry per row: source, target, persons a year, start, end, moved."""
    # AIR (issue 12): leakage control, abatement cost borne as lost value added, fund clean-up
    clean_share: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    """City × sector share of capacity built under the raised entry threshold (leakage control)."""
    clean_upgrade: float = 0.0
    """Emission cut of that clean capacity this year (JOINT_CONTROL's equipment_upgrade, or 0 when off)."""
    abatement_drag: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    """City × sector share of this year's value added spent on abatement (output = capacity · (1 − drag))."""
    industry_capacity: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    """City × sector capacity after last year's capacity cuts (to find new capacity this year)."""
    fund_cleanup: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """亿元 the cooperation fund paid each city for clean-up last year (AIR turns it into abatement)."""
    # SERVICES (issue 12): public-service stock fed by spending, depreciating
    service_stock: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Public-service stock per city (亿元 of accumulated budget spending, net of depreciation)."""
    service_stock_per_capita0: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Base-year stock per resident (the reference the service level is measured against)."""

    # --- sizes -----------------------------------------------------------------------------
    @property
    def n_cities(self) -> int:
        """Number of cities."""
        return len(self.city_ids)

    @property
    def n_provinces(self) -> int:
        """Number of provinces."""
        return len(self.province_ids)

    @property
    def n_functions(self) -> int:
        """Number of Function rows (each may bundle several units)."""
        return len(self.fn_type)

    def labels(self, which: str) -> np.ndarray:
        """`city_ids`, `city_names_en`, `city_names_zh` (or the province ones) as an object array,
        so event columns are built by indexing rather than by a loop (ids and names never change)."""
        cache = self.__dict__.setdefault("_label_arrays", {})
        if which not in cache:
            array = np.empty(len(getattr(self, which)), dtype=object)
            array[:] = getattr(self, which)
            cache[which] = array
        return cache[which]

    # --- derived quantities ------------------------------------------------------------------
    def function_output(self) -> np.ndarray:
        """City × sector output carried by hosted functions (亿元)."""
        # bincount adds in the same order as np.add.at into zeros would, and is several times faster
        n, s = self.base_output.shape
        return np.bincount(self.fn_host * s + self.fn_sector, weights=self.fn_output, minlength=n * s).reshape(n, s)

    def output(self) -> np.ndarray:
        """City × sector value added (亿元): the non-relocatable base plus hosted functions."""
        return self.base_output + self.function_output()

    def gdp(self) -> np.ndarray:
        """City GDP (亿元)."""
        return self.output().sum(axis=1)

    def jobs(self) -> np.ndarray:
        """City × sector jobs: base output over labour productivity, plus hosted function jobs."""
        n, s = self.base_output.shape
        hosted = np.bincount(self.fn_host * s + self.fn_sector, weights=self.fn_jobs, minlength=n * s).reshape(n, s)
        return self.base_output * 1e4 / self.productivity[None, :] + hosted

    def function_units_by_city(self) -> np.ndarray:
        """City × function type: units hosted."""
        t = len(FUNCTION_TYPES)
        return np.bincount(self.fn_host * t + self.fn_type, weights=self.fn_units,
                           minlength=self.n_cities * t).astype(np.int64).reshape(self.n_cities, t)

    def province_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum a per-city array over each province."""
        return np.bincount(self.city_province, weights=values, minlength=self.n_provinces)

    def built_density(self) -> np.ndarray:
        """Persons per km² of built-up area."""
        return self.population / np.maximum(self.area_km2 * self.built_up_share, 1e-9)

    def tax_revenue(self) -> np.ndarray:
        """This year's tax collected in each city (亿元): output by sector times the sector's tax share."""
        return (self.output() * self.tax_share[None, :]).sum(axis=1)

    def fn_tax(self) -> np.ndarray:
        """This year's tax paid by each function (亿元)."""
        return self.fn_output * self.tax_share[self.fn_sector]


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


def build_state(scenario: Scenario) -> RegionState:
    """Turn a checked scenario into arrays for its base year."""
    data = scenario.data
    provinces = data["provinces"]
    cities = data["cities"]
    province_index = {p["id"]: i for i, p in enumerate(provinces)}
    city_index = {c["id"]: i for i, c in enumerate(cities)}
    n, s_count = len(cities), len(SECTORS)
    sectors = data["sectors"]

    def sector_vector(table: dict[str, Any]) -> np.ndarray:
        return np.array([float(table[s]) for s in SECTORS])

    productivity = sector_vector(sectors["productivity_10k_yuan_per_job"])
    tax_share = sector_vector(sectors["tax_share_of_output"])
    output_growth = sector_vector(sectors["output_growth"])
    emissions_table = sectors["emission_t_per_100m_yuan"]
    intensity = np.stack([sector_vector(emissions_table[p]) for p in POLLUTANTS], axis=1)

    def col(key: str, default: float = np.nan) -> np.ndarray:
        return np.array([float(c.get(key, default)) for c in cities])

    population = col("population_10k") * PERSONS_PER_10K
    gdp = col("gdp_100m_yuan")
    base_output = np.zeros((n, s_count))
    for i, city in enumerate(cities):
        shares = city["gdp_share"]
        profile = data["profiles"][city["profile"]]
        base_output[i, SECTOR_INDEX["agriculture"]] = gdp[i] * shares.get("primary", 0.0)
        for group, names in (("secondary", SECONDARY), ("tertiary", TERTIARY)):
            for name in names:
                base_output[i, SECTOR_INDEX[name]] = gdp[i] * shares.get(group, 0.0) * profile[group].get(name, 0.0)

    t_count = len(FUNCTION_TYPES)
    role = np.zeros((n, t_count), dtype=bool)
    negative = np.zeros((n, t_count), dtype=bool)
    for i, city in enumerate(cities):
        for t in city.get("roles", []):
            role[i, FUNCTION_TYPE_INDEX[t]] = True
        for t in city.get("negative_list", []):
            negative[i, FUNCTION_TYPE_INDEX[t]] = True

    # functions: expand stocks into Function rows (bundles of `bundle` units)
    fn_type, fn_units, fn_jobs, fn_host = [], [], [], []
    for stock in data.get("function_stocks", []):
        units, bundle = int(stock["units"]), int(stock.get("bundle", 1))
        full, rest = divmod(units, bundle)
        sizes = [bundle] * full + ([rest] if rest else [])
        for size in sizes:
            fn_type.append(FUNCTION_TYPE_INDEX[stock["type"]])
            fn_units.append(size)
            fn_jobs.append(size * float(stock["jobs_per_unit"]))
            fn_host.append(city_index[stock["city"]])
    fn_type_arr = np.array(fn_type, dtype=np.int64)
    sector_of_type = np.array([SECTOR_INDEX[FUNCTION_TYPES[t]] for t in FUNCTION_TYPES], dtype=np.int64)
    fn_sector = sector_of_type[fn_type_arr] if len(fn_type_arr) else np.zeros(0, dtype=np.int64)
    fn_jobs_arr = np.array(fn_jobs, dtype=float)
    fn_host_arr = np.array(fn_host, dtype=np.int64)
    fn_output = fn_jobs_arr * productivity[fn_sector] * 1e-4 if len(fn_jobs_arr) else np.zeros(0)

    # carve the functions' output out of their host's sector output (keep ≥10% as base)
    notes: list[str] = []
    carried = np.zeros((n, s_count))
    np.add.at(carried, (fn_host_arr, fn_sector), fn_output)
    limit = 0.9 * base_output
    over = carried > limit + 1e-12
    if over.any():
        scale = np.ones((n, s_count))
        scale[over] = limit[over] / carried[over]
        factor = scale[fn_host_arr, fn_sector]
        fn_output = fn_output * factor
        fn_jobs_arr = fn_jobs_arr * factor
        for i, s in zip(*np.nonzero(over), strict=True):
            notes.append(
                f"function stocks in {cities[i]['id']}/{SECTORS[s]} exceeded 90% of the sector's output; "
                f"their jobs and output were scaled by {scale[i, s]:.3f}"
            )
        carried = np.zeros((n, s_count))
        np.add.at(carried, (fn_host_arr, fn_sector), fn_output)
    base_output = base_output - carried

    links = data.get("links", [])
    link_from = np.array([city_index[link["from"]] for link in links], dtype=np.int64)
    link_to = np.array([city_index[link["to"]] for link in links], dtype=np.int64)
    link_minutes = np.array([float(link["minutes"]) for link in links])
    link_opens = np.array([int(link.get("opens", 0)) for link in links], dtype=np.int64)
    link_corridor = np.array([bool(link.get("corridor")) for link in links], dtype=bool)

    lon, lat = col("lon"), col("lat")
    # a density cap on built-up land is a population cap too (capital_metro_area L171「規劃建設區按1萬人/平方公里控制」)
    # and so is the population the local water supply can serve (MODEL.md §1: land, water, density)
    explicit_cap = np.minimum.reduce([col("population_cap_10k", np.inf) * PERSONS_PER_10K,
                                      col("density_cap_per_km2", np.inf) * col("area_km2") * col("built_up_share", 1.0),
                                      col("water_capacity_10k", np.inf) * PERSONS_PER_10K])
    k = len(fn_type_arr)
    tax_now = fn_output * tax_share[fn_sector] if k else np.zeros(0)
    state = RegionState(
        year=scenario.base_year,
        city_ids=[c["id"] for c in cities],
        city_names_zh=[c["name_zh"] for c in cities],
        city_names_en=[c["name_en"] for c in cities],
        city_province=np.array([province_index[c["province"]] for c in cities], dtype=np.int64),
        lon=lon,
        lat=lat,
        area_km2=col("area_km2"),
        built_up_share=col("built_up_share", 1.0),
        density_cap=col("density_cap_per_km2", np.inf),
        population_cap=explicit_cap,
        explicit_population_cap=explicit_cap.copy(),
        zone=np.array([ZONES.index(c["zone"]) for c in cities], dtype=np.int64),
        circle=np.array([CIRCLES.index(c.get("circle", "outside")) for c in cities], dtype=np.int64),
        water_source=np.array([bool(c.get("water_source", False)) for c in cities]),
        hukou_friction=col("hukou_friction", np.nan),
        cost_index=col("cost_index", 1.0),
        service_base=col("service_level", 1.0),
        service_level=col("service_level", 1.0),
        population=population,
        base_output=base_output,
        role=role,
        negative=negative,
        pm25=col("pm25_ugm3"),
        pm25_background=np.zeros(n),
        pm25_scale=np.ones(n),
        emissions=np.zeros((n, len(POLLUTANTS))),
        abatement=np.zeros(n),
        land_index=np.ones(n),
        jc_abatement=np.zeros(n),
        province_ids=[p["id"] for p in provinces],
        province_names_zh=[p["name_zh"] for p in provinces],
        province_names_en=[p["name_en"] for p in provinces],
        natural_change_per_1000=np.array([float(p["natural_change_per_1000"]) for p in provinces]),
        natural_change_schedule=demography.schedule(scenario.data, scenario.base_year, str(scenario.path)),
        pm25_target=np.array([float(p["pm25_target_ugm3"]) for p in provinces]),
        province_population_cap=np.array([float(p.get("population_cap_10k", np.inf)) for p in provinces]) * PERSONS_PER_10K,
        province_outlines=[p.get("outline", []) for p in provinces],
        relocation_pressure=np.ones(len(provinces)),
        province_abatement_goal=np.zeros(len(provinces)),
        fn_type=fn_type_arr,
        fn_sector=fn_sector,
        fn_units=np.array(fn_units, dtype=np.int64),
        fn_jobs=fn_jobs_arr,
        fn_output=fn_output,
        fn_host=fn_host_arr,
        fn_origin=fn_host_arr.copy(),
        fn_year_moved=np.full(k, -1, dtype=np.int64),
        fn_emission_factor=np.ones(k),
        fn_tax_history=np.repeat(tax_now[:, None], 3, axis=1) if k else np.zeros((0, 3)),
        fn_contract_origin=np.full(k, -1, dtype=np.int64),
        fn_contract_cap=np.zeros(k),
        fn_contract_paid=np.zeros(k),
        productivity=productivity,
        tax_share=tax_share,
        output_growth=output_growth,
        base_intensity=intensity,
        intensity=intensity.copy(),
        link_from=link_from,
        link_to=link_to,
        link_minutes=link_minutes,
        link_opens=link_opens,
        link_corridor=link_corridor,
        distance_km=_haversine_km(lon, lat),
        base_year=scenario.base_year,
        notes=notes,
    )
    state.transfers = Transfers(n + 1)
    state.natural_change = np.zeros(n)
    state.migration_in = np.zeros(n)
    state.migration_out = np.zeros(n)
    state.relocation_followers = np.zeros((n, n))
    state.fiscal_revenue = state.tax_revenue()
    state.co2_consumption = np.zeros(n)
    state.abatement_cost = np.zeros(n)
    state.moved_this_year = np.zeros(k, dtype=bool)
    state.initial_population = population.copy()
    state.cumulative_transfers = np.zeros(n + 1)
    state.link_speedup = np.ones(len(link_minutes))
    state.foregone_output = np.zeros(n)
    state.province_near_cap = np.zeros(len(provinces), dtype=bool)
    state.housing_converted = np.zeros(n)
    state.planned_in_cum = np.zeros(n)
    state.planned_out_cum = np.zeros(n)
    state.travel_minutes = travel_times(state)
    state.initial_fn_service_jobs = service_function_jobs(state)
    return state


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
    cached = state.__dict__.get("_travel_cache")
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
                state.__dict__["_travel_cache"] = (key, open_now, used, result)
                state.__dict__["_travel_change"] = (before, result, {})  # lets `travel_kernel` patch, not rebuild
                return result
    result = shortest_paths(n, state.link_from[open_now], state.link_to[open_now], minutes[open_now])
    state.__dict__["_travel_cache"] = (key, open_now, minutes, result)
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
    cache = state.__dict__.setdefault("_derived", {})
    hit = cache.get(name)
    minutes = state.travel_minutes
    if hit is not None and hit[1] == params:
        if hit[0] is minutes:
            return hit[2]
        change = state.__dict__.get("_travel_change")
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


def zero_self_pairs(values: np.ndarray, rows: np.ndarray | None, cols: np.ndarray | None) -> np.ndarray:
    """Set K's entries where row and column are the same city to 0 (a whole matrix, or the listed pairs)."""
    if rows is None:
        np.fill_diagonal(values, 0.0)
    else:
        values[rows == cols] = 0.0
    return values


def derived(state: RegionState, name: str, depends: tuple[Any, ...], build: Any) -> Any:
    """A quantity derived from the state (e.g. a city × city kernel exp(−minutes/decay)), rebuilt
    only when what it depends on changes, so a year does not pay for recomputing it unchanged.

    `depends` lists its inputs: arrays by identity (the big matrices `travel_minutes`,
    `distance_km`, `source_receptor` are replaced, never changed in place), anything else by
    equality (lever values, `tobytes()` of small vectors). Callers must not modify the result.
    """
    cache = state.__dict__.setdefault("_derived", {})
    hit = cache.get(name)
    if hit is not None and len(hit[0]) == len(depends) and all(
            (a is b) if isinstance(a, np.ndarray) else (not isinstance(b, np.ndarray) and a == b)
            for a, b in zip(hit[0], depends, strict=True)):
        return hit[1]
    value = build()
    cache[name] = (depends, value)
    return value


SERVICE_TYPES = (FUNCTION_TYPE_INDEX["university"], FUNCTION_TYPE_INDEX["hospital"])


def service_function_jobs(state: RegionState, moved_before: int | None = None) -> np.ndarray:
    """Jobs in hosted universities and hospitals per city (those moved after `moved_before` excluded)."""
    mask = np.isin(state.fn_type, SERVICE_TYPES)
    if moved_before is not None:
        # a unit that moved within the lag is still being set up: it counts nowhere yet
        mask &= state.fn_year_moved <= moved_before
    jobs = np.bincount(state.fn_host[mask], weights=state.fn_jobs[mask], minlength=state.n_cities)
    return jobs
