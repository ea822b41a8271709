"""What a run produces: model-level series, agent rows, and the plan scorecard.

Model-level series go through Mesa's `DataCollector` (one row per year, so `mesa.batch_run` sees
them). Agent rows are built straight from the state arrays, a whole year at a time, rather than
by a Python call per agent: the same columns for every agent type (`year`, `agent_id`,
`agent_type`, `key`, `name`, `population`, `gdp`, `pm25`, …), missing values where a column does
not apply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from regionsim.model.rules import BY_ID, air
from regionsim.model.sectors import FUNCTION_TYPE_NAMES, POLLUTANTS

if TYPE_CHECKING:
    from regionsim.model.model import RegionModel

MONEY_RULES = ("TAX_SHARE", "ECO_COMP", "JOINT_CONTROL", "ENERGY", "FUND")


def theil(values: np.ndarray, weights: np.ndarray) -> float:
    """Population-weighted Theil T index of a per-capita quantity (0 = perfect equality)."""
    total_w = weights.sum()
    mean = (values * weights).sum() / total_w
    share = weights / total_w
    ratio = np.maximum(values / mean, 1e-12)
    return float((share * ratio * np.log(ratio)).sum())


def outside_shares(state, air_params: dict) -> np.ndarray:
    """Per province: the share of its cities' population-weighted PM2.5 that does not come from the
    province's own emissions (other provinces' load plus background) — what a source apportionment calls
    regional transport; `air.outside_share` for every province at once, block by block (Σ_p n_p² work, not n²)."""
    load = air.load(state, air_params, state.emissions)
    local = np.zeros(state.n_cities)
    for prov in range(state.n_provinces):
        members = np.flatnonzero(state.city_province == prov)
        local[members] = state.source_receptor[np.ix_(members, members)] @ load[members]
    local *= state.pm25_scale
    w = state.population
    total = state.province_sum(w * state.pm25)
    return state.province_sum(w * (state.pm25 - local)) / np.maximum(total, 1e-12)


def province_co2(model: RegionModel) -> np.ndarray:
    """Each province's CO2 (t) on the accounting basis ENERGY's `consumption_accounting` chooses: where the
    fuel burns (production), or where the energy is used (consumption: exporters' CO2 of the energy they
    sell is counted at the buyers). The region's total is the same either way; only who carries it differs.
    With ENERGY off nothing is traded and the two bases agree."""
    s = model.state
    consumption = model.on("energy") and bool(model.params["energy"]["consumption_accounting"]) and len(s.co2_consumption)
    co2 = s.co2_consumption if consumption else s.emissions[:, POLLUTANTS.index("co2")]
    return s.province_sum(co2)


def model_row(model: RegionModel) -> dict[str, Any]:
    """This year's model-level indicators."""
    s = model.state
    pop, gdp = s.population, s.gdp()
    row: dict[str, Any] = {"year": s.year}
    row["population_total"] = float(pop.sum())
    row["gdp_total_100m_yuan"] = float(gdp.sum())
    row["gdp_per_capita_yuan"] = float(gdp.sum() * 1e8 / max(pop.sum(), 1.0))
    pop_p, gdp_p = s.province_sum(pop), s.province_sum(gdp)
    for i, pid in enumerate(s.province_ids):
        row[f"population_{pid}"] = float(pop_p[i])
        row[f"gdp_{pid}_100m_yuan"] = float(gdp_p[i])
        row[f"population_share_{pid}"] = float(pop_p[i] / max(pop.sum(), 1.0))
        row[f"gdp_share_{pid}"] = float(gdp_p[i] / max(gdp.sum(), 1e-12))
    source = s.negative.any(axis=1)
    receiver = s.role.any(axis=1) & ~source
    row["population_source_cities"] = float(pop[source].sum())
    row["population_receiving_cities"] = float(pop[receiver].sum())
    gdp_pc = gdp / np.maximum(pop, 1.0)
    row["theil_gdp_per_capita"] = theil(gdp_pc, pop)
    row["cv_gdp_per_capita"] = float(gdp_pc.std() / gdp_pc.mean())
    row["pm25_population_weighted"] = float((pop * s.pm25).sum() / max(pop.sum(), 1.0))
    for pid, share in zip(s.province_ids, outside_shares(s, model.params["air"]), strict=True):
        row[f"pm25_outside_share_{pid}"] = float(share)  # e.g. Beijing's regional-transport share (docs/VALIDATION.md §3)
    for k, pollutant in enumerate(POLLUTANTS):
        row[f"emissions_{pollutant}_t"] = float(s.emissions[:, k].sum())
    co2 = province_co2(model)
    for i, pid in enumerate(s.province_ids):
        row[f"co2_{pid}_t"] = float(co2[i])
    moved = s.moved_this_year
    row["function_units_total"] = int(s.fn_units.sum())
    row["units_moved"] = int(s.fn_units[moved].sum())
    for t, name in enumerate(FUNCTION_TYPE_NAMES):
        row[f"units_moved_{name}"] = int(s.fn_units[moved & (s.fn_type == t)].sum())
    row["units_away_from_origin"] = int(s.fn_units[s.fn_host != s.fn_origin].sum())
    row["units_moved_on_schedule_cum"] = float(s.schedule["moved"].sum()) if s.schedule else 0.0
    row["residents_relocated_cum"] = float(s.planned_in_cum.sum())
    for rule in MONEY_RULES:
        row[f"money_{rule.lower()}_100m_yuan"] = s.transfers.total(rule)
    row["money_total_100m_yuan"] = s.transfers.total()
    row["money_net_sum_100m_yuan"] = float(s.transfers.net().sum())
    row["fund_balance_100m_yuan"] = float(s.fund_balance)
    row["abatement_cost_100m_yuan"] = float(s.abatement_cost.sum())
    row["natural_change"] = float(s.natural_change.sum())
    row["migration_moves"] = float(s.migration_in.sum())
    return row


def model_reporters(model: RegionModel) -> dict[str, Any]:
    """DataCollector reporters: one per key of `model_row`, reading the year's summary."""
    keys = list(model_row(model))
    return {key: (lambda m, key=key: m.summary[key]) for key in keys}


TYPE_NAME_ARRAY = np.array(FUNCTION_TYPE_NAMES, dtype=object)


def _agent_ids(model: RegionModel, kind: str) -> np.ndarray:
    """Unique ids of the model's provinces, cities or functions (built once: agents are never added)."""
    cache = model.__dict__.setdefault("_agent_id_arrays", {})
    agents = getattr(model, kind)
    if kind not in cache or len(cache[kind]) != len(agents):
        cache[kind] = np.array([a.unique_id for a in agents], dtype=np.int64)
    return cache[kind]


def _function_keys(model: RegionModel, k: int) -> np.ndarray:
    """ "fn00000", "fn00001", … (built once)."""
    cache = model.__dict__.setdefault("_agent_id_arrays", {})
    if len(cache.get("function_keys", ())) != k:
        cache["function_keys"] = np.array([f"fn{i:05d}" for i in range(k)], dtype=object)
    return cache["function_keys"]


def _function_constants(model: RegionModel) -> dict[str, np.ndarray]:
    """Function-row columns that are the same every year (built once; read-only: the year's columns are copies)."""
    s = model.state
    cache = model.__dict__.setdefault("_agent_id_arrays", {})
    fixed = cache.get("function_constants")
    if fixed is None or not np.array_equal(fixed["fn_type"], s.fn_type):
        k = s.n_functions
        fixed = cache["function_constants"] = {
            "fn_type": s.fn_type.copy(),
            "nan": np.full(k, np.nan),
            "agent_type": np.full(k, "function", dtype=object),
            "empty": np.full(k, "", dtype=object),
            "type_names": TYPE_NAME_ARRAY[s.fn_type],
        }
    return fixed


def agent_columns(model: RegionModel) -> dict[str, np.ndarray]:
    """This year's agent rows (provinces, cities, and functions if recorded), as columns."""
    s = model.state
    n, m = s.n_cities, s.n_provinces
    gdp, pop = s.gdp(), s.population
    jobs = s.jobs().sum(axis=1)
    net = s.transfers.net()
    pop_p, gdp_p = s.province_sum(pop), s.province_sum(gdp)
    pm_p = s.province_sum(pop * s.pm25) / np.maximum(pop_p, 1.0)
    units = s.function_units_by_city().sum(axis=1)
    nan_n, nan_m = np.full(n, np.nan), np.full(m, np.nan)

    city = {
        "agent_id": _agent_ids(model, "cities"),
        "agent_type": np.full(n, "city", dtype=object),
        "key": s.labels("city_ids"),
        "name": np.array(s.city_names_en, dtype=object),
        "name_zh": np.array(s.city_names_zh, dtype=object),
        "province": s.labels("province_ids")[s.city_province],
        "host": np.full(n, "", dtype=object),
        "population": pop.copy(),
        "gdp": gdp,
        "gdp_per_capita_yuan": gdp * 1e8 / np.maximum(pop, 1.0),
        "pm25": s.pm25.copy(),
        "jobs": jobs,
        "natural_change": s.natural_change.copy(),
        "migration_in": s.migration_in.copy(),
        "migration_out": s.migration_out.copy(),
        "net_migration": s.migration_in - s.migration_out,
        "service_level": s.service_level.copy(),
        "abatement": s.abatement.copy(),
        "so2_t": s.emissions[:, 0].copy(),
        "nox_t": s.emissions[:, 1].copy(),
        "pm25_primary_t": s.emissions[:, 2].copy(),
        "co2_t": s.emissions[:, 3].copy(),
        "co2_consumption_t": s.co2_consumption.copy(),
        "fiscal_revenue": s.fiscal_revenue.copy(),
        "transfers_net": net[:n].copy(),
        "function_units": units.astype(float),
        "density_built_per_km2": s.built_density(),
        "units": nan_n,
        "function_type": np.full(n, "", dtype=object),
        "origin": np.full(n, "", dtype=object),
        "year_moved": np.full(n, -1, dtype=np.int64),
    }
    province = {
        "agent_id": _agent_ids(model, "provinces"),
        "agent_type": np.full(m, "province", dtype=object),
        "key": np.array(s.province_ids, dtype=object),
        "name": np.array(s.province_names_en, dtype=object),
        "name_zh": np.array(s.province_names_zh, dtype=object),
        "province": np.array(s.province_ids, dtype=object),
        "host": np.full(m, "", dtype=object),
        "population": pop_p,
        "gdp": gdp_p,
        "gdp_per_capita_yuan": gdp_p * 1e8 / np.maximum(pop_p, 1.0),
        "pm25": pm_p,
        "jobs": s.province_sum(jobs),
        "natural_change": s.province_sum(s.natural_change),
        "migration_in": s.province_sum(s.migration_in),
        "migration_out": s.province_sum(s.migration_out),
        "net_migration": s.province_sum(s.migration_in - s.migration_out),
        "service_level": nan_m,
        "abatement": s.province_abatement_goal.copy(),
        "so2_t": s.province_sum(s.emissions[:, 0]),
        "nox_t": s.province_sum(s.emissions[:, 1]),
        "pm25_primary_t": s.province_sum(s.emissions[:, 2]),
        "co2_t": s.province_sum(s.emissions[:, 3]),
        "co2_consumption_t": s.province_sum(s.co2_consumption),
        "fiscal_revenue": s.province_sum(s.fiscal_revenue),
        "transfers_net": s.province_sum(net[:n]),
        "function_units": s.province_sum(units.astype(float)),
        "density_built_per_km2": nan_m,
        "units": nan_m,
        "function_type": np.full(m, "", dtype=object),
        "origin": np.full(m, "", dtype=object),
        "year_moved": np.full(m, -1, dtype=np.int64),
    }
    parts = [province, city]
    chosen = function_selection(model)
    if chosen is not None:
        k = s.n_functions
        fixed = _function_constants(model)
        nan_k, type_names = fixed["nan"], fixed["type_names"]
        ids = s.labels("city_ids")
        functions = {
            "agent_id": _agent_ids(model, "functions"),
            "agent_type": fixed["agent_type"],
            "key": _function_keys(model, k),
            "name": type_names,
            "name_zh": fixed["empty"],
            "province": s.labels("province_ids")[s.city_province[s.fn_host]],
            "host": ids[s.fn_host],
            "population": nan_k,
            "gdp": s.fn_output.copy(),
            "gdp_per_capita_yuan": nan_k,
            "pm25": s.pm25[s.fn_host],
            "jobs": s.fn_jobs.copy(),
            "natural_change": nan_k,
            "migration_in": nan_k,
            "migration_out": nan_k,
            "net_migration": nan_k,
            "service_level": nan_k,
            "abatement": s.abatement[s.fn_host],
            "so2_t": nan_k,
            "nox_t": nan_k,
            "pm25_primary_t": nan_k,
            "co2_t": nan_k,
            "co2_consumption_t": nan_k,
            "fiscal_revenue": s.fn_tax(),
            "transfers_net": nan_k,
            "function_units": nan_k,
            "density_built_per_km2": nan_k,
            "units": s.fn_units.astype(float),
            "function_type": type_names,
            "origin": ids[s.fn_origin],
            "year_moved": s.fn_year_moved.copy(),
        }
        if len(chosen) != k:  # a sample: the same functions every year
            functions = {key: values[chosen] for key, values in functions.items()}
        parts.append(functions)
    columns = {key: np.concatenate([p[key] for p in parts]) for key in city}
    columns["year"] = np.full(len(columns["agent_id"]), s.year, dtype=np.int64)
    return columns


def function_selection(model: RegionModel) -> np.ndarray | None:
    """Which functions get agent rows: `model.record_functions` is True (all), False or None (none), or the
    sorted indices of a sample (`function_sample`). None when no function rows are recorded."""
    chosen = model.record_functions
    k = model.state.n_functions
    if chosen is None or chosen is False or not k:
        return None
    if chosen is True:
        return np.arange(k)
    return np.asarray(chosen, dtype=np.int64)


def function_sample(n_functions: int, size: int) -> np.ndarray:
    """A fixed sample of `size` of `n_functions` functions (sorted indices): the same for every seed and year of
    a region of that many functions, drawn by its own generator, so sampling never touches the model's draws."""
    size = max(0, min(int(size), n_functions))
    if size == n_functions:
        return np.arange(n_functions)
    return np.sort(np.random.default_rng([20150430, n_functions]).choice(n_functions, size=size, replace=False))


AGENT_ORDER = ("year", "agent_id", "agent_type", "key", "name", "population", "gdp", "pm25")
"""The leading columns of the agent table; the rest follow in `agent_columns`' order."""
TEXT_COLUMNS = ("agent_type", "key", "name", "name_zh", "province", "host", "function_type", "origin")


def agent_table(columns: dict[str, np.ndarray]):
    """One year's agent rows (`agent_columns`) as a pyarrow Table: the columns of `agent_frame`, in its order,
    text as Arrow strings; the same schema every year, so the years append to one Parquet file."""
    import pyarrow as pa

    names = [*AGENT_ORDER, *(k for k in columns if k not in AGENT_ORDER)]
    arrays = [pa.array(columns[k], type=pa.string()) if k in TEXT_COLUMNS else pa.array(columns[k]) for k in names]
    return pa.Table.from_arrays(arrays, names=names)


def concat_agent_columns(frames: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    """All years' agent rows as one DataFrame, `year` first."""
    joined = {key: np.concatenate([f[key] for f in frames]) for key in frames[0]}
    order = list(AGENT_ORDER)
    frame = pd.DataFrame({k: joined[k] for k in order + [k for k in joined if k not in order]})
    for column in ("agent_type", "key", "name", "name_zh", "province", "host", "function_type", "origin"):
        frame[column] = frame[column].astype(object)
    return frame


# --- plan scorecard -------------------------------------------------------------------------------


def indicator_value(model: RegionModel, target: dict[str, Any]) -> float:
    """The value of a target's indicator this year, for its city, province or the region."""
    s = model.state
    if "city" in target:
        mask = s.labels("city_ids") == target["city"]
    elif "cities" in target:
        mask = np.isin(s.labels("city_ids"), list(target["cities"]))
    elif "province" in target:
        mask = s.city_province == s.province_ids.index(target["province"])
    else:
        mask = np.ones(s.n_cities, dtype=bool)
    pop, gdp = s.population[mask], s.gdp()[mask]
    indicator = target["indicator"]
    if indicator == "population_10k":
        return float(pop.sum() / 1e4)
    if indicator == "gdp_100m_yuan":
        return float(gdp.sum())
    if indicator == "pm25_ugm3":
        return float((pop * s.pm25[mask]).sum() / max(pop.sum(), 1.0))
    if indicator == "density_built_per_km2":
        return float(pop.sum() / max((s.area_km2 * s.built_up_share)[mask].sum(), 1e-9))
    if indicator == "gdp_per_capita_yuan":
        return float(gdp.sum() * 1e8 / max(pop.sum(), 1.0))
    if indicator == "residents_relocated_in_10k":  # planned moves arrived since the base year (staff, scheduled residents)
        return float(s.planned_in_cum[mask].sum() / 1e4)
    if indicator == "residents_relocated_out_10k":
        return float(s.planned_out_cum[mask].sum() / 1e4)
    if indicator == "units_received":  # function units hosted here that came from another city (of the listed types)
        kinds = [FUNCTION_TYPE_NAMES.index(t) for t in target.get("function_types", FUNCTION_TYPE_NAMES)]
        here = mask[s.fn_host] & (s.fn_host != s.fn_origin) & np.isin(s.fn_type, kinds)
        return float(s.fn_units[here].sum())
    raise ValueError(f"unknown indicator {indicator!r}")


def scorecard(model: RegionModel) -> list[dict[str, Any]]:
    """One row per target for this year: value, met or missed, by how much."""
    rows = []
    year = model.state.year
    for target in model.region.data.get("targets", []):
        if year < target.get("from_year", model.region.base_year):
            continue
        value = indicator_value(model, target)
        goal, comparator = float(target["value"]), target["comparator"]
        slack = 1e-9 * max(abs(goal), 1.0)  # rounding of float sums must not turn a binding cap into a miss
        met = {"<=": value <= goal + slack, "<": value < goal, ">=": value >= goal - slack, ">": value > goal}[comparator]
        margin = goal - value if comparator in ("<=", "<") else value - goal
        deadline = target.get("year")
        rows.append(
            {
                "year": year,
                "target_id": target["id"],
                "label_en": target.get("label_en", target["id"]),
                "label_zh": target.get("label_zh", target.get("label_en", target["id"])),
                "indicator": target["indicator"],
                "scope": target.get("city") or "+".join(target.get("cities", [])) or target.get("province") or "region",
                "comparator": comparator,
                "target_value": goal,
                "value": value,
                "met": bool(met),
                "margin": float(margin),
                "deadline": int(deadline) if deadline else -1,
                "binding": bool(deadline is None or year >= deadline),
                "source": target.get("source", ""),
            }
        )
    return rows


def scorecard_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The scorecard rows as a DataFrame (empty with the right columns when there are no targets)."""
    columns = [
        "year",
        "target_id",
        "label_en",
        "label_zh",
        "indicator",
        "scope",
        "comparator",
        "target_value",
        "value",
        "met",
        "margin",
        "deadline",
        "binding",
        "source",
    ]
    return pd.DataFrame(rows, columns=columns)


def summary_table(model: RegionModel) -> str:
    """A short plain-text table for the terminal: first and last year of the headline series."""
    frame = model.model_frame()
    first, last = frame.iloc[0], frame.iloc[-1]
    lines = [f"{'indicator':<34}{int(first['year']):>14}{int(last['year']):>14}"]
    for key, label, scale, digits in (
        ("population_total", "population (10k)", 1e-4, 1),
        ("gdp_total_100m_yuan", "GDP (100m yuan)", 1.0, 0),
        ("pm25_population_weighted", "PM2.5, pop-weighted (ug/m3)", 1.0, 1),
        ("theil_gdp_per_capita", "Theil index, GDP per capita", 1.0, 4),
        ("population_source_cities", "population of source cities (10k)", 1e-4, 1),
        ("population_receiving_cities", "population of receivers (10k)", 1e-4, 1),
        ("units_away_from_origin", "function units relocated", 1.0, 0),
    ):
        lines.append(f"{label:<34}{first[key] * scale:>14,.{digits}f}{last[key] * scale:>14,.{digits}f}")
    money = frame[[f"money_{r.lower()}_100m_yuan" for r in MONEY_RULES]].sum()
    lines.append(
        "money moved over the run (100m yuan): " + ", ".join(f"{r} {money[f'money_{r.lower()}_100m_yuan']:,.1f}" for r in MONEY_RULES)
    )
    card = model.scorecard_frame()
    if len(card):
        final = card[card["year"] == card["year"].max()]
        met = int(final["met"].sum())
        lines.append(f"plan targets met in {int(final['year'].iloc[0])}: {met} of {len(final)}")
    return "\n".join(lines)


__all__ = ["BY_ID", "MONEY_RULES", "agent_columns", "model_row", "outside_shares", "scorecard", "summary_table", "theil"]
