"""MIGRATE — people: natural change, migration toward jobs and services, caps respected.

Picture each city's residents weighing the cities they could move to: more jobs within commuting
reach per worker, better public services and higher incomes pull; distance and the receiving
city's hukou (household-registration) barrier hold them back. Staff of relocated units move with
their unit. Cities and provinces at their population cap admit no more than their room.

  natural_c  = pop_c · (births − deaths per 1,000 of c's province) / 1000
  access_c   = Σ_j jobs_j [minutes_cj ≤ band] / Σ_j pop_j [minutes_cj ≤ band]   (jobs per resident in the commuting
               circle; a share of residents who work would be one factor for every city and cancel in A_j − A_i)
  A_c        = w_jobs · ln access_c + w_services · ln service_c + w_income · ln(GDP per capita_c / mean)
               − w_cost · ln cost_c − A_c(base year)     (cost_c moves with relative income and density: GROWTH)
               (calibration: the base year is taken as a migration equilibrium, so people respond to how
               a city's draw changes from then on — more jobs, better services — not to the standing
               differences between, say, Beijing and Hengshui, which hukou, housing and ties already hold
               in balance. Switch off with `calibrate_to_base_year = false`.)
  M_ij       = rate · pop_i · exp(−minutes_ij / decay) · max(0, A_j − A_i) · (1 − hukou_j)  (i ≠ j)
             + followers_ij (staff of units moved from i to j this year, from RELOCATE)
  rows scaled so no city loses more than `max_outflow_share` of its residents in a year, and columns
  so no city gains more than `max_inflow_share` (housing and schools cannot be built faster: a new
  rail link that suddenly brings a city into a metropolis's commuting band fills it over years);
  inflows into a city (or from outside into a province) scaled down to its remaining room under
  its cap; then pop_c ← pop_c + natural_c + Σ_i M_ic − Σ_j M_cj.
So population change = natural change + net migration, exactly, for every city and year.

Plan clauses: capital_metro_area L197「通勤圈強調職住協同」 (commuting circle; the plan gives no minutes, the band is
an estimate), L251「通勤圈強化軌道引領作用」 (rail-led commuting), L341「以職住平衡為導向,提高通勤圈基本公共服務資源配置效率」
(services); harbin_changchun L190「促进有能力在城镇稳定就业和生活的常住人口有序实现市民化」, L194「全面放开牡丹江、松原等城市落户限制」
(hukou opened in medium cities); green_development L69「北京市常住人口控制在2300万人以内」 (cap).
"""

from __future__ import annotations

import numpy as np
from regionsim.model import demography
from regionsim.model.kernels import derived
from regionsim.model.network import travel_kernel
from regionsim.model.rules.base import UNCERTAINTY, Lever, RuleSpec, StepContext

RULE = RuleSpec(
    id="MIGRATE",
    key="migrate",
    stage="people",
    title_en="Migration, commuting and natural change",
    title_zh="人口迁移、通勤与自然增长",
    clauses=(
        "capital_metro_area L197「通勤圈強調職住協同」",
        "capital_metro_area L251「通勤圈強化軌道引領作用」",
        "capital_metro_area L341「提高通勤圈基本公共服務資源配置效率」",
        "harbin_changchun L190「有序实现市民化」",
        "harbin_changchun L194「全面放开牡丹江、松原等城市落户限制」",
        "green_development L69「北京市常住人口控制在2300万人以内」",
    ),
    levers=(
        Lever(
            "migration_rate",
            0.05,
            0.0,
            1.0,
            "Migration response to attractiveness gaps",
            "迁移对吸引力差的响应",
            "estimate: modelling assumption",
            role=UNCERTAINTY,
        ),
        Lever(
            "decay_minutes",
            120.0,
            1.0,
            5000.0,
            "Distance decay of migration (minutes)",
            "迁移距离衰减（分钟）",
            "estimate: modelling assumption",
            role=UNCERTAINTY,
        ),
        Lever(
            "weight_jobs",
            1.0,
            0.0,
            20.0,
            "Weight of job access",
            "就业可达性权重",
            "capital_metro_area L197「通勤圈強調職住協同」 (the weight is an estimate)",
            role=UNCERTAINTY,
        ),
        Lever(
            "weight_services",
            1.0,
            0.0,
            20.0,
            "Weight of public services",
            "公共服务权重",
            "capital_metro_area L341「提高通勤圈基本公共服務資源配置效率」 (the weight is an estimate)",
            role=UNCERTAINTY,
        ),
        Lever(
            "weight_income",
            0.5,
            0.0,
            20.0,
            "Weight of income (GDP per capita)",
            "收入权重",
            "estimate: modelling assumption",
            role=UNCERTAINTY,
        ),
        Lever(
            "weight_cost",
            0.5,
            0.0,
            20.0,
            "Weight of living costs (housing, wages)",
            "生活成本权重",
            "estimate: modelling assumption",
            role=UNCERTAINTY,
        ),
        Lever(
            "calibrate_to_base_year",
            True,
            kind="bool",
            label_en="Treat the base year as migration equilibrium",
            label_zh="以基年为迁移均衡",
            clause="estimate: calibration choice",
            role=UNCERTAINTY,
        ),
        Lever(
            "hukou_friction",
            0.3,
            0.0,
            1.0,
            "Hukou barrier in receiving cities (0 open, 1 closed)",
            "户籍迁入门槛（0开放，1封闭）",
            "harbin_changchun L194「全面放开牡丹江、松原等城市落户限制」",
        ),
        Lever(
            "commute_band_minutes",
            60.0,
            0.0,
            600.0,
            "Commuting band (minutes)",
            "通勤圈时间（分钟）",
            "capital_metro_area L197「通勤圈強調職住協同」 (the plan names the circle's counties, not minutes: 60 is an estimate)",
        ),
        Lever(
            "max_inflow_share",
            0.03,
            0.0,
            0.5,
            "Largest share of residents arriving in a city per year",
            "每年最大迁入比例",
            "estimate: modelling assumption (housing supply)",
            role=UNCERTAINTY,
        ),
        Lever(
            "max_outflow_share",
            0.05,
            0.0,
            0.5,
            "Largest share of residents leaving a city per year",
            "每年最大迁出比例",
            "estimate: modelling assumption",
            role=UNCERTAINTY,
        ),
    ),
    list_params={"hukou_friction_by_city": "city_numbers"},
    list_defaults={"hukou_friction_by_city": {}},
)


def commuting(state, band: float):
    """[minutes_cj ≤ band] as a sparse 0/1 matrix (few pairs are within commuting reach; cached while unchanged)."""
    from scipy.sparse import csr_matrix

    def build():
        rows, cols = np.nonzero(state.travel_minutes <= band)
        return csr_matrix((np.ones(len(rows)), (rows, cols)), shape=state.travel_minutes.shape)

    return derived(state, "migrate.commuting", (state.travel_minutes, float(band)), build)


def reach(state, decay: float, open_share: np.ndarray) -> np.ndarray:
    """exp(−minutes_ij / decay) · (1 − hukou_j) (cached while travel times, the decay and hukou are unchanged)."""

    def entries(minutes: np.ndarray, rows: np.ndarray | None, cols: np.ndarray | None, out: np.ndarray | None) -> np.ndarray:
        out = np.divide(minutes, -decay, out=out)
        with np.errstate(over="ignore"):
            np.exp(out, out=out)
        out *= open_share[None, :] if cols is None else open_share[cols]
        return out

    return travel_kernel(state, "migrate.reach", (float(decay), open_share.tobytes()), entries)


def raw_attractiveness(state, p: dict) -> np.ndarray:
    """How strongly city c draws migrants, before the base-year calibration."""
    jobs = state.jobs().sum(axis=1)
    within = commuting(state, p["commute_band_minutes"])
    access = (within @ jobs) / np.maximum(within @ state.population, 1e-9)
    gdp_pc = state.gdp() / np.maximum(state.population, 1.0)
    mean_pc = state.gdp().sum() / max(state.population.sum(), 1.0)
    return (
        p["weight_jobs"] * np.log(np.maximum(access, 1e-9))
        + p["weight_services"] * np.log(np.maximum(state.service_level, 1e-9))
        + p["weight_income"] * np.log(np.maximum(gdp_pc / mean_pc, 1e-9))
        - p["weight_cost"] * np.log(np.maximum(state.cost_index, 1e-9))
    )


def initialise(state, params: dict) -> None:
    """Remember the base year's attractiveness (the calibration point)."""
    state.attractiveness0 = raw_attractiveness(state, params["migrate"])


def attractiveness(state, p: dict) -> np.ndarray:
    """A_c: how strongly city c draws migrants (relative to the base year when calibrated)."""
    raw = raw_attractiveness(state, p)
    return raw - state.attractiveness0 if p["calibrate_to_base_year"] else raw


def hukou(state, p: dict) -> np.ndarray:
    """Hukou friction per city: scenario city value, else rule overrides, else the lever."""
    friction = np.where(np.isnan(state.hukou_friction), float(p["hukou_friction"]), state.hukou_friction)
    overrides = p.get("hukou_friction_by_city") or {}
    for city, value in overrides.items():
        friction[state.city_ids.index(city)] = value
    return friction


def flows(ctx: StepContext, natural: np.ndarray) -> np.ndarray:
    """Migration matrix M[i, j] (persons moving from i to j this year), caps applied."""
    return _flows(ctx, natural)[0]


def _flows(ctx: StepContext, natural: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """M (written into `out` when given), and its column sums (inflow) and row sums (outflow)."""
    state, p = ctx.state, ctx.params["migrate"]
    a = attractiveness(state, p)
    # built in place, in one n × n array: a fresh city × city array costs tens of milliseconds at 3,000 cities
    m = np.subtract(a[None, :], a[:, None], out=out)
    np.maximum(m, 0.0, out=m)  # gain
    m *= reach(state, p["decay_minutes"], 1.0 - hukou(state, p))
    m *= (p["migration_rate"] * state.population)[:, None]
    followers = _followers_at(state)  # few pairs: staff of this year's moves
    m.ravel()[followers] += state.relocation_followers.ravel()[followers]
    np.fill_diagonal(m, 0.0)
    state.planned_pre = m.ravel()[followers].copy()  # to tell how much of the planned moves the caps let through
    out = m.sum(axis=1)
    limit = p["max_outflow_share"] * state.population
    if (out > limit).any():
        m *= np.where(out > limit, limit / np.maximum(out, 1e-12), 1.0)[:, None]
    inflow = m.sum(axis=0)
    limit = p["max_inflow_share"] * state.population
    if (inflow > limit).any():
        m *= np.where(inflow > limit, limit / np.maximum(inflow, 1e-12), 1.0)[None, :]
    province = state.city_province
    capped = [np.flatnonzero(province == prov) for prov in np.nonzero(np.isfinite(state.province_population_cap))[0]]
    for _ in range(50):
        inflow, outflow = m.sum(axis=0), m.sum(axis=1)
        room = np.maximum(0.0, state.population_cap - state.population - natural + outflow)
        over = np.flatnonzero(inflow > room)
        if len(over):
            _scale_columns(m, over, (room[over] / inflow[over]) * (1.0 - 1e-12))
        changed = len(over) > 0
        for members in capped:
            prov = province[members[0]]
            outside = np.ones(state.n_cities, dtype=bool)
            outside[members] = False
            incoming = m[:, members][outside].sum()  # from other provinces into this one
            leaving = m[members, :][:, outside].sum()
            room_p = max(0.0, state.province_population_cap[prov] - state.population[members].sum() - natural[members].sum() + leaving)
            if incoming > room_p:
                within = m[np.ix_(members, members)]
                _scale_columns(m, members, np.full(len(members), room_p / incoming * (1.0 - 1e-12)))
                m[np.ix_(members, members)] = within  # moves within the province are not capped
                changed = True
        if not changed:
            return m, inflow, outflow
    # Not settled in 50 rounds (two capped cities trading residents shrink each other's room a little every
    # round): fall back to the room without credit for departures, which one pass makes hold whatever the
    # other flows do — inflows only shrink, so no city or province ends above its cap.
    inflow = m.sum(axis=0)
    strict = np.maximum(0.0, state.population_cap - state.population - natural)
    over = np.flatnonzero(inflow > strict)
    if len(over):
        _scale_columns(m, over, strict[over] / inflow[over])
    for members in capped:
        prov = province[members[0]]
        outside = np.ones(state.n_cities, dtype=bool)
        outside[members] = False
        incoming = m[:, members][outside].sum()
        room_p = max(0.0, state.province_population_cap[prov] - state.population[members].sum() - natural[members].sum())
        if incoming > room_p:
            within = m[np.ix_(members, members)]
            _scale_columns(m, members, np.full(len(members), room_p / incoming))
            m[np.ix_(members, members)] = within
    return m, m.sum(axis=0), m.sum(axis=1)


def _followers_at(state) -> np.ndarray:
    """Flat indices of the nonzero entries of `relocation_followers`: as RELOCATE recorded them this
    year, else (followers set some other way) by scanning the matrix."""
    recorded = state.followers_at
    if recorded is not None:
        return recorded
    return np.flatnonzero(state.relocation_followers)


def _count_planned_moves(state, m: np.ndarray) -> None:
    """Add this year's planned moves (staff following their unit, scheduled residents) to the cumulative
    counts, as far as the caps let them through: each entry of M was scaled by one row and one column
    factor, so the planned part of an entry went through in the same proportion as the entry."""
    at = _followers_at(state)
    pre, state.planned_pre = state.planned_pre, None
    if len(at) == 0 or pre is None or len(pre) != len(at):
        return
    planned = state.relocation_followers.ravel()[at]
    through = planned * np.divide(m.ravel()[at], pre, out=np.zeros(len(at)), where=pre > 0)
    rows, cols = np.divmod(at, state.n_cities)
    state.planned_out_cum += np.bincount(rows, weights=through, minlength=state.n_cities)
    state.planned_in_cum += np.bincount(cols, weights=through, minlength=state.n_cities)


def _scale_columns(m: np.ndarray, columns: np.ndarray, factors: np.ndarray) -> None:
    """m[:, columns] *= factors, in place (a few columns by index; many by one pass over m)."""
    if len(columns) * 8 < m.shape[1]:
        m[:, columns] *= factors[None, :]
    else:
        scale = np.ones(m.shape[1])
        scale[columns] = factors
        m *= scale[None, :]


def apply(ctx: StepContext) -> None:
    """Apply natural change and migration; record both for the population identity."""
    state = ctx.state
    natural = state.population * demography.rate_per_1000(state)[state.city_province] / 1000.0  # published rates by year
    n = state.n_cities
    buffer = state.migration_buffer  # this year's M, in last year's memory
    if buffer is None or buffer.shape != (n, n):
        buffer = state.migration_buffer = np.empty((n, n))
    m, inflow, outflow = _flows(ctx, natural, buffer)
    state.natural_change = natural
    state.migration_in = inflow
    state.migration_out = outflow
    state.population = state.population + natural + state.migration_in - state.migration_out
    _count_planned_moves(state, m)
    state.relocation_followers.ravel()[_followers_at(state)] = 0.0
    state.followers_at = None
