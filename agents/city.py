"""City: a prefecture-level city, district group or new area, and everything a user may ask of it."""

from __future__ import annotations

import numpy as np
from regionsim.agents.base import RowAgent
from regionsim.model.sectors import CIRCLES, FUNCTION_TYPE_NAMES, POLLUTANTS, SECTORS, ZONES


class City(RowAgent):
    """A city. Every attribute reads the city's row of the model's state arrays."""

    @property
    def key(self) -> str:
        """Scenario id, e.g. "xiongan"."""
        return self._state.city_ids[self.index]

    @property
    def name(self) -> str:
        """English name."""
        return self._state.city_names_en[self.index]

    @property
    def name_zh(self) -> str:
        """Chinese name."""
        return self._state.city_names_zh[self.index]

    @property
    def province(self):
        """The Province agent it belongs to."""
        return self.model.provinces[int(self._state.city_province[self.index])]

    @property
    def lonlat(self) -> tuple[float, float]:
        """Longitude and latitude."""
        return float(self._state.lon[self.index]), float(self._state.lat[self.index])

    @property
    def population(self) -> float:
        """Residents (persons)."""
        return float(self._state.population[self.index])

    @property
    def population_cap(self) -> float:
        """Population cap (persons; inf when none)."""
        return float(self._state.population_cap[self.index])

    @property
    def output_by_sector(self) -> dict[str, float]:
        """Value added by sector (亿元)."""
        return dict(zip(SECTORS, self._state.output()[self.index].tolist(), strict=True))

    @property
    def jobs_by_sector(self) -> dict[str, float]:
        """Jobs by sector."""
        return dict(zip(SECTORS, self._state.jobs()[self.index].tolist(), strict=True))

    @property
    def gdp(self) -> float:
        """GDP (亿元)."""
        return float(self._state.gdp()[self.index])

    @property
    def emissions(self) -> dict[str, float]:
        """Emissions by pollutant (tonnes/year)."""
        return dict(zip(POLLUTANTS, self._state.emissions[self.index].tolist(), strict=True))

    @property
    def pm25(self) -> float:
        """Ambient PM2.5 (µg/m³)."""
        return float(self._state.pm25[self.index])

    @property
    def service_level(self) -> float:
        """Public-service index (region mean about 1 in the base year)."""
        return float(self._state.service_level[self.index])

    @property
    def fiscal_revenue(self) -> float:
        """Tax revenue plus net transfers this year (亿元)."""
        return float(self._state.fiscal_revenue[self.index])

    @property
    def cost_index(self) -> float:
        """Wages and land cost index."""
        return float(self._state.cost_index[self.index])

    @property
    def zone(self) -> str:
        """Main functional zone type."""
        return ZONES[int(self._state.zone[self.index])]

    @property
    def circle(self) -> str:
        """Circle membership."""
        return CIRCLES[int(self._state.circle[self.index])]

    @property
    def roles(self) -> list[str]:
        """Function types it is positioned to receive (功能定位)."""
        return [FUNCTION_TYPE_NAMES[t] for t in np.nonzero(self._state.role[self.index])[0]]

    @property
    def negative_list(self) -> list[str]:
        """Function types that must leave it."""
        return [FUNCTION_TYPE_NAMES[t] for t in np.nonzero(self._state.negative[self.index])[0]]

    @property
    def water_source(self) -> bool:
        """Whether it is a compensated water-source area."""
        return bool(self._state.water_source[self.index])

    @property
    def functions(self) -> list:
        """Function agents it hosts now."""
        return [self.model.functions[i] for i in np.nonzero(self._state.fn_host == self.index)[0]]

    def __repr__(self) -> str:
        return f"City({self.key}: population {self.population:,.0f}, PM2.5 {self.pm25:.1f})"
