"""Re-measure the figures of docs/VALIDATION.md: `python docs/measure.py [--seeds 1 2 3 4 5]`.

Prints markdown tables (mean and min–max over seeds) of the contrasts the validation document reports:
relocation on/off, release schedules low/high, Xiong'an's incentive low/high (capital_region, 2035), and joint
control on/off (capital_region 2035, bohai_rim 2025). Every run is `RegionModel(name, rng=seed, **levers)`.
"""

from __future__ import annotations

import argparse

import numpy as np
from regionsim import RegionModel

NAMED = ("university", "hospital", "administrative_unit", "research_institute", "financial_institution")


def _city(model: RegionModel, city: str) -> float:
    return float(model.state.population[model.state.city_ids.index(city)]) / 1e4


def relocation_row(name: str, seed: int, **levers) -> dict[str, float]:
    """The §2 quantities of one capital_region run, in 2035."""
    model = RegionModel(name, rng=seed, record_functions=False, **levers).run()
    frame = model.model_frame()
    s = model.state
    xiongan = s.city_ids.index("xiongan")
    moved = s.fn_host != s.fn_origin
    card = model.scorecard_frame()
    to_subcenter = card[(card.target_id == "subcenter_residents_moved_2035") & (card.year == card.year.max())]["value"]
    events = model.event_frame()
    to_xa = events[(events.rule == "RELOCATE") & (events.target == s.city_ids[xiongan]) & events.function_type.isin(NAMED)]
    return {
        "Beijing (万)": float(frame["population_beijing"].iloc[-1]) / 1e4,
        "core zone (万; 181.2 in 2023)": _city(model, "bj_core"),
        "central city, 4 districts (万; 915.9)": _city(model, "bj_central"),
        "Sub-center / Tongzhou (万; 184.0)": _city(model, "bj_subcenter"),
        "residents moved to the Sub-center (万; L173: 40–50)": float(to_subcenter.iloc[0]),
        "residents relocated, all planned moves (万)": float(frame["residents_relocated_cum"].iloc[-1]) / 1e4,
        "Xiong'an (万; 124.4)": _city(model, "xiongan"),
        "named units moved on schedule": float(frame["units_moved_on_schedule_cum"].iloc[-1]),
        "of which to Xiong'an": float(to_xa["units"].sum()),
        "years (of 12) Xiong'an received named units": float(to_xa["year"].nunique()),
        "all units away from origin": float((s.fn_units * moved).sum()),
    }


def air_row(name: str, seed: int, **levers) -> dict[str, float]:
    """The §3 joint-control quantities of one run at its horizon."""
    model = RegionModel(name, rng=seed, record_functions=False, **levers).run()
    frame = model.model_frame()
    return {
        "PM2.5 (µg/m³)": float(frame["pm25_population_weighted"].iloc[-1]),
        "cumulative abatement cost (亿元)": float(frame["abatement_cost_100m_yuan"].iloc[1:].sum()),
        "joint-control payments (亿元)": float(frame["money_joint_control_100m_yuan"].iloc[1:].sum()),
        "GDP (亿元)": float(frame["gdp_total_100m_yuan"].iloc[-1]),
        "Beijing (万)": float(frame["population_beijing"].iloc[-1]) / 1e4,
    }


def table(title: str, cases: dict[str, tuple[str, dict]], row, seeds: list[int]) -> None:
    results = {label: [row(name, seed, **levers) for seed in seeds] for label, (name, levers) in cases.items()}
    keys = list(next(iter(results.values()))[0])
    print(f"\n{title} (seeds {seeds[0]}–{seeds[-1]}; mean (min–max))\n")
    print("| quantity | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for key in keys:
        cells = []
        for runs in results.values():
            values = np.array([r[key] for r in runs])
            spread = "" if np.ptp(values) < 0.05 else f" ({values.min():.1f}–{values.max():.1f})"
            cells.append(f"{values.mean():.1f}{spread}")
        print(f"| {key} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    seeds = parser.parse_args().seeds
    plan = "capital_region-plan_as_written"
    table(
        "§2 capital_region, 2035",
        {
            "plan_as_written": (plan, {}),
            "relocation off": (plan, {"rules.relocate.enabled": False}),
            "quota 0.06, schedules ×0.5": (
                plan,
                {
                    "rules.relocate.annual_quota_share": 0.06,
                    "rules.relocate.release_schedule_scale": 0.5,
                    "rules.relocate.resident_schedule_scale": 0.5,
                },
            ),
            "quota 0.24, schedules ×2": (
                plan,
                {
                    "rules.relocate.annual_quota_share": 0.24,
                    "rules.relocate.release_schedule_scale": 2.0,
                    "rules.relocate.resident_schedule_scale": 2.0,
                },
            ),
            "Xiong'an incentive 0.5": (plan, {"rules.relocate.incentives.xiongan": 0.5}),
            "Xiong'an incentive 3.0": (plan, {"rules.relocate.incentives.xiongan": 3.0}),
        },
        relocation_row,
        seeds,
    )
    for name in ("capital_region", "bohai_rim"):
        table(
            f"§3 joint control, {name} at its horizon",
            {
                "joint control on": (name, {}),
                "off": (name, {"rules.joint_control.enabled": False}),
            },
            air_row,
            seeds,
        )


if __name__ == "__main__":
    main()
