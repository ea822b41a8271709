"""Province: a provincial-level unit (Beijing, Tianjin, Hebei, …) and its policy instruments."""

from __future__ import annotations

import numpy as np
from regionsim.agents.base import RowAgent


class Province(RowAgent):
    """A provincial-level unit. Reads its row of the province arrays and sums over its cities."""

    @property
    def key(self) -> str:
        """Scenario id, e.g. "beijing"."""
        return self._state.province_ids[self.index]

    @property
    def name(self) -> str:
        """English name."""
        return self._state.province_names_en[self.index]

    @property
    def name_zh(self) -> str:
        """Chinese name."""
        return self._state.province_names_zh[self.index]

    @property
    def city_indices(self) -> np.ndarray:
        """Rows of this province's cities."""
        return np.nonzero(self._state.city_province == self.index)[0]

    @property
    def population(self) -> float:
        """Residents (persons)."""
        return float(self._state.population[self.city_indices].sum())

    @property
    def gdp(self) -> float:
        """GDP (亿元)."""
        return float(self._state.gdp()[self.city_indices].sum())

    @property
    def pm25(self) -> float:
        """Population-weighted PM2.5 of its cities (µg/m³)."""
        idx = self.city_indices
        pop = self._state.population[idx]
        return float((pop * self._state.pm25[idx]).sum() / max(pop.sum(), 1.0))

    @property
    def pm25_target(self) -> float:
        """PM2.5 target (µg/m³)."""
        return float(self._state.pm25_target[self.index])

    @property
    def population_cap(self) -> float:
        """Population cap (persons; inf when none)."""
        return float(self._state.province_population_cap[self.index])

    @property
    def abatement_goal(self) -> float:
        """This year's own end-of-pipe abatement goal (share)."""
        return float(self._state.province_abatement_goal[self.index])

    @property
    def relocation_pressure(self) -> float:
        """Multiplier on relocation quotas (1 = none extra)."""
        return float(self._state.relocation_pressure[self.index])

    @property
    def fiscal_revenue(self) -> float:
        """Tax revenue plus net transfers of its cities this year (亿元)."""
        return float(self._state.fiscal_revenue[self.city_indices].sum())

    def __repr__(self) -> str:
        return f"Province({self.key}: population {self.population:,.0f}, GDP {self.gdp:,.0f} 亿元)"
