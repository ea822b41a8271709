"""Natural change year by year: published provincial rates where they exist, a stated rule beyond.

Picture a table with one row per province and one column per year. Where a statistical yearbook or
bulletin published the province's natural growth rate (births − deaths per 1,000 residents) for a
year, the cell holds that number. Elsewhere the province keeps its own level but follows the
national rate's change since the province's latest published year (births fell across China after
2016; the provinces did not fall in step, but no province was spared):

  n_p(t) = published n_p(t)                                   if the scenario gives it
         = n_p(a) + N(t) − N(a)                               otherwise, a = latest published year ≤ t
                                                              (or the base year's natural_change_per_1000)
  N(t)   = national rate, linear between published years, held at the last (first) published value
           after (before) them — an assumption, stated in the scenario
With no national series in the scenario, every province keeps its base-year rate (the old rule).

Scenario keys (see scenarios/FORMAT.md):
  [meta] national_natural_change_per_1000_by_year = { 2015 = 4.96, … }
  [[provinces]] natural_change_per_1000_by_year = { 2015 = 3.01, … }
Each with a source in the table's `sources`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from regionsim.model.errors import Problem, ScenarioError

YEARS_AHEAD = 200
"""Years after the base year the schedule covers (later years use its last column)."""


def _series(table: Any, where: str, file: str = "") -> dict[int, float]:
    """A {year: rate} table from the scenario, checked."""
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise ScenarioError([Problem(file, where, "must be a table of year = rate per 1,000 (e.g. { 2015 = 4.96 })")])
    out: dict[int, float] = {}
    for key, value in table.items():
        if not str(key).isdigit() or isinstance(value, bool) or not isinstance(value, (int, float)) or not -50 <= value <= 50:
            raise ScenarioError([Problem(file, f"{where}.{key}", f"must be a year = a rate from -50 to 50 per 1,000 (got {value!r})")])
        out[int(key)] = float(value)
    return out


def national_rate(national: dict[int, float], year: int) -> float:
    """N(t): linear between published years, flat beyond them."""
    years = sorted(national)
    return float(np.interp(year, years, [national[y] for y in years]))


def schedule(data: dict[str, Any], base_year: int, file: str = "") -> np.ndarray:
    """Rates per 1,000 for years base+1 … base+YEARS_AHEAD (rows) and provinces (columns)."""
    national = _series(
        data.get("meta", {}).get("national_natural_change_per_1000_by_year"), "meta.national_natural_change_per_1000_by_year", file
    )
    provinces = data.get("provinces", [])
    years = np.arange(base_year + 1, base_year + 1 + YEARS_AHEAD)
    out = np.zeros((len(years), len(provinces)))
    for p, province in enumerate(provinces):
        own = {base_year: float(province["natural_change_per_1000"])}
        own.update(
            {
                y: v
                for y, v in _series(
                    province.get("natural_change_per_1000_by_year"), f"provinces[{p}].natural_change_per_1000_by_year", file
                ).items()
                if y >= base_year
            }
        )
        for i, year in enumerate(years):
            year = int(year)
            if year in own:
                out[i, p] = own[year]
                continue
            anchor = max(y for y in own if y <= year)
            shift = national_rate(national, year) - national_rate(national, anchor) if national else 0.0
            out[i, p] = own[anchor] + shift
    return out


def rate_per_1000(state) -> np.ndarray:
    """This year's natural change per 1,000 residents, by province."""
    table = state.natural_change_schedule
    if table.size == 0:
        return state.natural_change_per_1000
    row = min(max(int(state.year) - int(state.base_year) - 1, 0), table.shape[0] - 1)
    return table[row]
