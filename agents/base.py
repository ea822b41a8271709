"""What every agent shares: it is a window onto one row of the model's state arrays."""

from __future__ import annotations

import mesa


class RowAgent(mesa.Agent):
    """A Mesa agent that reads row `index` of the model's state arrays (`model.state`)."""

    def __init__(self, model: mesa.Model, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def _state(self):
        return self.model.state
