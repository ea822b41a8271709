"""Function: one relocatable unit (a university, a plant, a wholesale market…) or a bundle of them."""

from __future__ import annotations

from regionsim.agents.base import RowAgent
from regionsim.model.sectors import FUNCTION_TYPE_NAMES, SECTORS


class Function(RowAgent):
    """A relocatable function; reads its row of the function arrays."""

    @property
    def type(self) -> str:
        """Function type, e.g. "university"."""
        return FUNCTION_TYPE_NAMES[int(self._state.fn_type[self.index])]

    @property
    def sector(self) -> str:
        """The sector whose output it carries."""
        return SECTORS[int(self._state.fn_sector[self.index])]

    @property
    def units(self) -> int:
        """How many institutions this agent bundles."""
        return int(self._state.fn_units[self.index])

    @property
    def jobs(self) -> float:
        """Jobs."""
        return float(self._state.fn_jobs[self.index])

    @property
    def output(self) -> float:
        """Value added (亿元)."""
        return float(self._state.fn_output[self.index])

    @property
    def tax(self) -> float:
        """Tax paid this year (亿元)."""
        return float(self._state.fn_tax()[self.index])

    @property
    def emission_factor(self) -> float:
        """Multiplier on its sector's emission intensity (below 1 after an equipment upgrade)."""
        return float(self._state.fn_emission_factor[self.index])

    @property
    def host(self):
        """The City agent hosting it now."""
        return self.model.cities[int(self._state.fn_host[self.index])]

    @property
    def origin(self):
        """The City agent that hosted it in the base year."""
        return self.model.cities[int(self._state.fn_origin[self.index])]

    @property
    def year_moved(self) -> int | None:
        """Year of its latest move, or None if it never moved."""
        year = int(self._state.fn_year_moved[self.index])
        return None if year < 0 else year

    @property
    def tax_contract(self) -> dict | None:
        """Open tax-sharing contract: origin city key, cap and paid so far (亿元), or None."""
        origin = int(self._state.fn_contract_origin[self.index])
        if origin < 0:
            return None
        return {
            "origin": self._state.city_ids[origin],
            "cap": float(self._state.fn_contract_cap[self.index]),
            "paid": float(self._state.fn_contract_paid[self.index]),
        }

    def __repr__(self) -> str:
        return f"Function({self.units} × {self.type} in {self.host.key})"
