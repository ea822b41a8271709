"""Hindcast: bohai_rim from its 2014 base year against published figures (docs/VALIDATION.md §3).

Observed values and their sources:
* Beijing annual mean PM2.5 (µg/m³): 2017 58 — 北京市环保局 source-apportionment release of 2018-05-14 as
  reported「2017年PM2.5年均浓度58微克/立方米」; 2018 51, 2019 42, 2020 38 — 刘保献 et al., 环境科学 2023, 44(5)
 「3年间北京市ρ(PM2.5)分别为51、42和38 μg·m-3」.
* Resident population, end-2015 (万人): 中国统计年鉴2016 table 2-8, first-published vintage (before the
  2020-census revision).
Calibrated (uncertainties only): AIR intensity_decline 0.07 (Beijing PM2.5), transport_scale, cost per tonne.
Tolerances: PM2.5 within 15% each year; each province's 2015 population within 4%, the seven together within 1%.
"""

from __future__ import annotations

import numpy as np
import pytest
from regionsim.model.model import RegionModel

BEIJING_PM25 = {2017: 58.0, 2018: 51.0, 2019: 42.0, 2020: 38.0}
POPULATION_2015_10K = {
    "beijing": 2170.5,
    "tianjin": 1546.95,
    "hebei": 7424.92,
    "shanxi": 3664.12,
    "inner_mongolia": 2511.04,
    "liaoning": 4382.4,
    "shandong": 9847.16,
}


@pytest.fixture(scope="module")
def run() -> dict:
    m = RegionModel("bohai_rim", rng=1, until=2020)
    s = m.state
    bj = s.city_province == s.province_ids.index("beijing")
    pm, pop = {}, {}
    while m.running:
        m.step()
        pm[s.year] = float((s.population[bj] * s.pm25[bj]).sum() / s.population[bj].sum())
        if s.year == 2015:
            pop = dict(zip(s.province_ids, (s.province_sum(s.population) / 1e4).tolist(), strict=True))
    return {"pm": pm, "pop": pop}


def test_beijing_pm25_within_15_percent(run):
    for year, observed in BEIJING_PM25.items():
        assert run["pm"][year] == pytest.approx(observed, rel=0.15), year
    # and it falls year after year, as observed
    assert all(np.diff([run["pm"][y] for y in sorted(run["pm"])]) < 0)


def test_population_2015_within_tolerance(run):
    for pid, observed in POPULATION_2015_10K.items():
        assert run["pop"][pid] == pytest.approx(observed, rel=0.04), pid
    assert sum(run["pop"].values()) == pytest.approx(sum(POPULATION_2015_10K.values()), rel=0.01)
