"""The model-level series `pm25_outside_share_{province}` (model/outputs.py): the share of a province's
population-weighted PM2.5 that its own emissions do not explain — Beijing's regional-transport share."""

from __future__ import annotations

import pytest
from regionsim.model.model import RegionModel
from regionsim.model.rules import air


def test_no_transport_leaves_only_background():
    """transport_scale 0: nothing crosses a border, so the share is the background's, by hand:
    East = (1000万 · 8 + 100万 · 8) / (1000万 · 40 + 100万 · 35) = 8800 / 43500; West = (500 · 8 + 100 · 8) / (500 · 50 + 100 · 25)."""
    frame = RegionModel("classroom", rng=1, until=2025, **{"rules.air.transport_scale": 0.0}).run().model_frame()
    assert frame.pm25_outside_share_east.iloc[0] == pytest.approx(8800 / 43500, rel=1e-9)
    assert frame.pm25_outside_share_west.iloc[0] == pytest.approx(4800 / 27500, rel=1e-9)


def test_series_agrees_with_air_outside_share_every_province():
    model = RegionModel("capital_region", rng=1, until=2025).run()
    last = model.model_frame().iloc[-1]
    s = model.state
    for i, pid in enumerate(s.province_ids):
        assert last[f"pm25_outside_share_{pid}"] == pytest.approx(air.outside_share(s, model.params["air"], i), rel=1e-9)


def test_beijing_base_year_share_in_published_range():
    """28–36% (Beijing EPB 2014 apportionment; docs/VALIDATION.md §3)."""
    first = RegionModel("capital_region", rng=1, until=2023).run().model_frame().iloc[0]
    assert 0.28 <= first.pm25_outside_share_beijing <= 0.36
