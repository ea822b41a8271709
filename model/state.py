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
from regionsim.model.ledger import Transfers
from regionsim.model.network import _haversine_km, travel_times
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
    built_up_growth_km2: np.ndarray
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
    # planned relocation (RELOCATE, ZONING, POLICY, MIGRATE)
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
    # AIR: leakage control, abatement cost borne as lost value added, fund clean-up
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
    # SERVICES: public-service stock fed by spending, depreciating
    service_stock: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Public-service stock per city (亿元 of accumulated budget spending, net of depreciation)."""
    service_stock_per_capita0: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Base-year stock per resident (the reference the service level is measured against)."""

    # --- handed from one rule to another within a year -----------------------------------------------
    followers_at: np.ndarray | None = None
    """RELOCATE → MIGRATE: flat indices (origin · n + host) of this year's moves whose staff follow their
    unit home; MIGRATE adds them to its flows and clears the field."""
    planned_pre: np.ndarray | None = None
    """MIGRATE, within its step: the planned moves before caps, to count how many the caps let through."""

    # --- caches: derived from the arrays above, rebuilt when their inputs change ---------------------
    label_arrays: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    """`labels()`: ids and names as object arrays."""
    travel_cache: tuple | None = field(default=None, repr=False)
    """`network.travel_times`: the links and speeds the last shortest paths were computed for, and the result."""
    travel_change: tuple | None = field(default=None, repr=False)
    """`network.travel_times` → `network.travel_kernel`: the block of travel times that changed this year."""
    derived_cache: dict[str, Any] = field(default_factory=dict, repr=False)
    """`kernels.derived` and `network.travel_kernel`: named results with the inputs they were built from."""
    migration_buffer: np.ndarray | None = field(default=None, repr=False)
    """MIGRATE's n × n flow matrix, reused year to year (memory, not state)."""

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
        cache = self.label_arrays
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
        return (
            np.bincount(self.fn_host * t + self.fn_type, weights=self.fn_units, minlength=self.n_cities * t)
            .astype(np.int64)
            .reshape(self.n_cities, t)
        )

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
    # a stated population cap and the population the local water supply can serve; the density cap on built-up land
    # (capital_metro_area L171「規劃建設區按1萬人/平方公里控制」) is a population cap too, applied by
    # `zoning.population_caps` because built-up land can grow
    explicit_cap = np.minimum(col("population_cap_10k", np.inf), col("water_capacity_10k", np.inf)) * PERSONS_PER_10K
    land_cap = col("density_cap_per_km2", np.inf) * col("area_km2") * col("built_up_share", 1.0)
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
        built_up_growth_km2=col("built_up_growth_km2", 0.0),
        density_cap=col("density_cap_per_km2", np.inf),
        population_cap=np.minimum(explicit_cap, land_cap),
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
    state.link_speedup = np.ones(len(link_minutes))
    state.foregone_output = np.zeros(n)
    state.province_near_cap = np.zeros(len(provinces), dtype=bool)
    state.housing_converted = np.zeros(n)
    state.planned_in_cum = np.zeros(n)
    state.planned_out_cum = np.zeros(n)
    state.travel_minutes = travel_times(state)
    return state


SERVICE_TYPES = (FUNCTION_TYPE_INDEX["university"], FUNCTION_TYPE_INDEX["hospital"])


def service_function_jobs(state: RegionState, moved_before: int | None = None) -> np.ndarray:
    """Jobs in hosted universities and hospitals per city (those moved after `moved_before` excluded)."""
    mask = np.isin(state.fn_type, SERVICE_TYPES)
    if moved_before is not None:
        # a unit that moved within the lag is still being set up: it counts nowhere yet
        mask &= state.fn_year_moved <= moved_before
    jobs = np.bincount(state.fn_host[mask], weights=state.fn_jobs[mask], minlength=state.n_cities)
    return jobs
