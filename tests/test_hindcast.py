"""Hindcast: bohai_rim from its 2014 base year against published figures (docs/VALIDATION.md §3).

Observed values and their sources:
* Beijing annual mean PM2.5 (µg/m³): 2017 58 — 北京市环保局 source-apportionment release of 2018-05-14 as
  reported「2017年PM2.5年均浓度58微克/立方米」; 2018 51, 2019 42, 2020 38 — 刘保献 et al., 环境科学 2023, 44(5)
 「3年间北京市ρ(PM2.5)分别为51、42和38 μg·m-3」.
* Resident population, end-2015 (万人): 中国统计年鉴2016 table 2-8, first-published vintage (before the
  2020-census revision).
* Real GDP growth (%, 上年=100 indices): 国家统计局 分省年度数据「地区生产总值指数(上年=100)」, the revised
  vintage after the 2018 economic census (copied in a public data repository; first-published rates differ, e.g.
  Tianjin 2016 「9%左右」 against 6.0 revised). The region's rate weights each province by its modelled GDP.
Calibrated (uncertainties only): GROWTH growth_scale, convergence, productivity_growth (GDP growth); AIR
intensity_decline 0.09 (Beijing PM2.5), transport_scale, cost per tonne.
Tolerances: PM2.5 within 15% each year; each province's 2015 population within 4%, the seven together within 1%;
the region's real GDP growth within 0.5 points each year 2015–2019 and falling from 2015 to 2019 as observed
(harbin_changchun, 2016–2019: within 1.2 points each year, RMSE under 0.7: the fit cannot follow the north-east's
sharp 2018–2019 fall).
"""

from __future__ import annotations

import numpy as np
import pytest
from regionsim.model.model import RegionModel

BEIJING_PM25 = {2017: 58.0, 2018: 51.0, 2019: 42.0, 2020: 38.0}
REAL_GDP_GROWTH = {  # % a year, revised vintage (see the module docstring)
    "beijing": {2015: 6.9, 2016: 6.9, 2017: 6.8, 2018: 6.7, 2019: 6.1},
    "tianjin": {2015: 6.9, 2016: 6.0, 2017: 3.4, 2018: 3.4, 2019: 4.8},
    "hebei": {2015: 6.8, 2016: 6.7, 2017: 6.6, 2018: 6.5, 2019: 6.7},
    "shanxi": {2015: 3.0, 2016: 4.1, 2017: 6.8, 2018: 6.6, 2019: 6.1},
    "inner_mongolia": {2015: 7.7, 2016: 7.0, 2017: 4.0, 2018: 5.2, 2019: 5.2},
    "liaoning": {2015: 2.8, 2016: 0.5, 2017: 4.2, 2018: 5.6, 2019: 5.4},
    "shandong": {2015: 7.8, 2016: 7.4, 2017: 7.3, 2018: 6.3, 2019: 5.3},
    "heilongjiang": {2016: 4.4, 2017: 6.0, 2018: 4.5, 2019: 4.0},
    "jilin": {2016: 6.5, 2017: 5.2, 2018: 4.4, 2019: 3.0},
}
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


def gdp_growth(scenario: str, until: int = 2019) -> tuple[np.ndarray, np.ndarray]:
    """The region's modelled and observed real GDP growth (%) each year after the base year, to `until`.

    Observed: each province's base-year GDP (as modelled) grown by its published index, summed."""
    model = RegionModel(scenario, rng=1, until=until, record_functions=False).run()
    frame = model.model_frame()
    provinces = model.state.province_ids
    level = {p: float(frame[f"gdp_{p}_100m_yuan"].iloc[0]) for p in provinces}
    observed = []
    for year in frame.year.iloc[1:]:
        before = sum(level.values())
        level = {p: v * (1.0 + REAL_GDP_GROWTH[p][int(year)] / 100.0) for p, v in level.items()}
        observed.append(100.0 * (sum(level.values()) / before - 1.0))
    total = sum(frame[f"gdp_{p}_100m_yuan"].to_numpy() for p in provinces)
    return 100.0 * (total[1:] / total[:-1] - 1.0), np.array(observed)


def test_bohai_rim_real_gdp_growth_within_half_a_point():
    model, observed = gdp_growth("bohai_rim")
    assert np.abs(model - observed).max() < 0.5, (model.round(2), observed.round(2))
    assert model[-1] < model[0] and observed[-1] < observed[0]


def test_harbin_changchun_real_gdp_growth_follows_the_slowdown():
    model, observed = gdp_growth("harbin_changchun")
    assert np.abs(model - observed).max() < 1.2, (model.round(2), observed.round(2))
    assert np.sqrt(((model - observed) ** 2).mean()) < 0.7
    assert (np.diff(model) < 0).all()
