"""ZONING — main functional zones, red lines and caps constrain where growth may go.

Picture the region coloured by zone type (green_development L15「优化开发区域」): optimised zones (优化开发,
the big cities) must cut new construction land every year and stop taking heavy industry; key
development zones (重点开发) take industry and people; restricted zones (限制开发, key ecological
and water-conservation areas) apply an industry negative list (产业准入负面清单) and phase out what
is on it; prohibited zones (禁止开发, red lines) admit almost nothing.

Equations, each year:
* land_index_c ← land_index_c · (1 − construction_land_cut) for optimised zones (green_development L15「逐年减少建设用地增量」);
  RELOCATE and TRANSFER scale a receiver's headroom by it.
* New towns build land: built_up_share_c ← min(1, built_up_share_c + built_up_growth_km2_c · new_town_land_supply / area_c),
  where the scenario states a pace (Xiong'an's start-up area, capital_metro_area L171「起步區」); a density cap
  (persons per km² of built-up land, L171「規劃建設區按1萬人/平方公里控制」) then limits inflow to density_cap · built-up
  land, which grows with it.
* forbidden[c, s] = sector s is on the list of city c's zone type: no function or transferred
  output of sector s may enter city c (read by RELOCATE and TRANSFER).
* In restricted and prohibited zones, base output of forbidden sectors shrinks by phase_out_rate
  (closure, not relocation: that output leaves the economy).
* Optimised zones develop by reduction (减量发展, capital_metro_area L43「控增量和疏存量相結合」): their
  housing capacity may grow by at most `optimised_housing_growth` a year from the base year (控增量), and
  the homes that planned moves (RELOCATE: staff following their unit, scheduled residents) vacate are
  converted to other uses at the share `vacated_housing_converted` (存量置換, capital_metro_area L143
  「存量置換」): cap_c = min(explicit cap, base population · (1 + g)^years − converted homes_c).
  A cap limits INFLOW (MIGRATE admits newcomers only into room under it; RELOCATE scores headroom):
  it never sets a population. An optimised city stays at its cap only while more people want to come
  than it has room for; it falls below it when they do not.

Plan clauses: green_development L15「优化开发区域」 (zone types), L15「逐年减少建设用地增量」 (cut the
construction-land increment every year in optimised zones; negative lists in key ecological zones);
capital_metro_area L171「按1萬人/平方公里控制」 (Xiong'an density), L303「生態保護紅線」, L333「三區三線」;
harbin_changchun L380「生态保护红线」.
"""

from __future__ import annotations

import numpy as np
from regionsim.model.rules.base import Lever, RuleSpec, StepContext, rule_on
from regionsim.model.sectors import SECTOR_INDEX, SECTORS, ZONES

DEFAULT_FORBIDDEN = {
    "optimised": ["energy", "heavy_industry"],
    "key": [],
    "restricted": ["energy", "heavy_industry", "general_manufacturing"],
    "prohibited": [
        "energy",
        "heavy_industry",
        "general_manufacturing",
        "advanced_manufacturing",
        "construction",
        "wholesale_logistics",
        "data_centres",
    ],
}

RULE = RuleSpec(
    id="ZONING",
    key="zoning",
    stage="policy",
    title_en="Main functional zones, red lines and caps",
    title_zh="主体功能区、生态红线与规模管控",
    clauses=(
        "green_development L15「优化开发区域」",
        "green_development L15「逐年减少建设用地增量」",
        "capital_metro_area L43「控增量和疏存量相結合」",
        "capital_metro_area L143「存量置換」",
        "capital_metro_area L171「按1萬人/平方公里控制」",
        "capital_metro_area L303「生態保護紅線」",
        "capital_metro_area L333「三區三線」",
        "harbin_changchun L380「生态保护红线」",
    ),
    levers=(
        Lever(
            "construction_land_cut",
            0.02,
            0.0,
            0.5,
            "Yearly cut of construction-land headroom in optimised zones",
            "优化开发区每年减少建设用地增量",
            "green_development L15「逐年减少建设用地增量」",
        ),
        Lever(
            "optimised_housing_growth",
            0.0,
            -0.1,
            0.2,
            "Yearly growth of housing capacity in optimised zones",
            "优化开发区住房容量年增长率",
            "capital_metro_area L43「控增量和疏存量相結合」",
        ),
        Lever(
            "vacated_housing_converted",
            1.0,
            0.0,
            1.0,
            "Share of homes vacated by planned moves that are converted, not re-let",
            "计划疏解腾退住房转作他用的比例（存量置换）",
            "capital_metro_area L143「存量置換」",
        ),
        Lever(
            "new_town_land_supply",
            1.0,
            0.0,
            3.0,
            "Pace of new built-up land where a city's land supply is stated (1 = as stated)",
            "新城建设用地供应进度（1 = 按设定）",
            "capital_metro_area L171「重點承接北京非首都功能疏解」",
        ),
        Lever(
            "phase_out_rate",
            0.05,
            0.0,
            1.0,
            "Yearly phase-out of negative-list sectors in restricted zones",
            "限制开发区负面清单产业年退出比例",
            "green_development L15「产业准入负面清单」",
        ),
    ),
    list_params={"forbidden_sectors": "zone_sectors"},
    list_defaults={"forbidden_sectors": DEFAULT_FORBIDDEN},
)


def forbidden_mask(state, params: dict) -> np.ndarray:
    """City × sector: True where the city's zone type forbids the sector from entering."""
    by_zone = np.zeros((len(ZONES), len(SECTORS)), dtype=bool)
    if rule_on(params, "zoning"):
        for zone, sectors in (params["zoning"]["forbidden_sectors"] or {}).items():
            for sector in sectors:
                by_zone[ZONES.index(zone), SECTOR_INDEX[sector]] = True
    return by_zone[state.zone]


def population_caps(state, p: dict) -> np.ndarray:
    """Each city's population cap this year: the explicit cap (stated cap, water), the density cap on this year's
    built-up land, and in optimised zones also the housing capacity (base population grown by
    `optimised_housing_growth`, less the homes converted so far)."""
    optimised = state.zone == ZONES.index("optimised")
    years = state.year - state.base_year
    land = state.density_cap * state.area_km2 * state.built_up_share
    cap = np.minimum(state.explicit_population_cap, land)
    housing = np.maximum(state.initial_population * (1.0 + p["optimised_housing_growth"]) ** years - state.housing_converted, 0.0)
    return np.where(optimised, np.minimum(cap, housing), cap)


def build_land(state, p: dict) -> None:
    """New built-up land where the scenario states a land-supply pace (`built_up_growth_km2` a year, e.g. Xiong'an's
    start-up area), times the `new_town_land_supply` lever, up to the city's whole area."""
    grow = state.built_up_growth_km2 * p["new_town_land_supply"]
    state.built_up_share = np.minimum(1.0, state.built_up_share + grow / np.maximum(state.area_km2, 1e-9))


def apply(ctx: StepContext) -> None:
    """Cut land headroom and cap housing in optimised zones; phase out negative-list sectors in restricted zones."""
    state, p = ctx.state, ctx.params["zoning"]
    optimised = state.zone == ZONES.index("optimised")
    state.land_index[optimised] *= 1.0 - p["construction_land_cut"]
    build_land(state, p)
    state.population_cap = population_caps(state, p)
    protected = np.isin(state.zone, [ZONES.index("restricted"), ZONES.index("prohibited")])
    mask = forbidden_mask(state, ctx.params) & protected[:, None]
    closed = state.base_output * mask * p["phase_out_rate"]
    state.base_output -= closed
    closing = np.nonzero(closed.sum(axis=1) > 1e-9)[0]
    rows = closed[closing]
    total = rows.sum(axis=1)
    en, zh = state.labels("city_names_en"), state.labels("city_names_zh")

    def why_en() -> list[str]:
        return [
            f"{c} is a restricted zone: {x:,.1f} 亿元 of {', '.join(SECTORS[s] for s in np.nonzero(row > 0)[0])} "
            f"phased out under the industry negative list"
            for c, x, row in zip(en[closing].tolist(), total.tolist(), rows, strict=True)
        ]

    def why_zh() -> list[str]:
        return [
            f"{c}属限制开发区：按产业准入负面清单退出{x:,.1f}亿元产出" for c, x in zip(zh[closing].tolist(), total.tolist(), strict=True)
        ]

    ids = state.labels("city_ids")
    ctx.events.add_many(
        len(closing),
        ctx.year,
        "ZONING",
        "closure",
        ids[closing],
        ids[closing],
        amount=total,
        unit="100m yuan output",
        clause="green_development L15「产业准入负面清单」",
        why_en=why_en,
        why_zh=why_zh,
    )
