"""The whole model: conservation, identities, determinism, switches, Mesa conventions."""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd
import pytest
from regionsim.model.model import RegionModel
from regionsim.model.rules import REGISTRY


@pytest.fixture(scope="module")
def capital_run() -> RegionModel:
    """capital_region to 2035, seed 7, checked year by year while it runs."""
    model = RegionModel("capital_region", rng=7, until=2035)
    model.yearly_checks = []
    while model.running:
        s = model.state
        units_before = s.fn_units.copy()
        pop_before = s.population.copy()
        model.step()
        model.yearly_checks.append(
            {
                "units_same": bool((s.fn_units == units_before).all()) and s.n_functions == len(units_before),
                "money_net": float(np.abs(s.transfers.net().sum())),
                "money_total": s.transfers.total(),
                "identity_error": float(np.abs(s.population - (pop_before + s.natural_change + s.migration_in - s.migration_out)).max()),
            }
        )
    return model


def test_function_units_conserved_every_year(capital_run):
    assert all(c["units_same"] for c in capital_run.yearly_checks)
    frame = capital_run.model_frame()
    assert frame["function_units_total"].nunique() == 1
    agents = capital_run.agent_frame()
    cities = agents[agents.agent_type == "city"]
    assert cities.groupby("year")["function_units"].sum().nunique() == 1


def test_money_transfers_sum_to_zero_every_year(capital_run):
    totals = [c["money_total"] for c in capital_run.yearly_checks]
    assert min(totals) > 0  # money does move
    for check in capital_run.yearly_checks:
        assert check["money_net"] <= 1e-9 * max(1.0, check["money_total"])
    agents = capital_run.agent_frame()
    cities = agents[agents.agent_type == "city"]
    fund_net = capital_run.model_frame()["fund_balance_100m_yuan"].diff().fillna(0.0)
    per_year = cities.groupby("year")["transfers_net"].sum().values + fund_net.values
    np.testing.assert_allclose(per_year, 0.0, atol=1e-7)


def test_population_change_is_natural_change_plus_net_migration(capital_run):
    assert max(c["identity_error"] for c in capital_run.yearly_checks) < 1e-6
    agents = capital_run.agent_frame()
    cities = agents[agents.agent_type == "city"].sort_values(["key", "year"])
    change = cities.groupby("key")["population"].diff().dropna()
    flows = (cities["natural_change"] + cities["net_migration"]).loc[change.index]
    np.testing.assert_allclose(change.values, flows.values, atol=1e-6)


def test_outputs_have_the_promised_shape(capital_run):
    frame = capital_run.model_frame()
    assert frame["year"].tolist() == list(range(2023, 2036))
    agents = capital_run.agent_frame()
    for column in ("year", "agent_id", "agent_type", "name", "population", "gdp", "pm25"):
        assert column in agents.columns
    assert set(agents["agent_type"]) == {"province", "city", "function"}
    events = capital_run.event_frame()
    for column in ("year", "rule", "source", "target", "function_type", "amount", "clause", "why_en", "why_zh"):
        assert column in events.columns
    assert {"RELOCATE", "TAX_SHARE", "ECO_COMP", "JOINT_CONTROL", "FUND", "POLICY"} <= set(events["rule"])
    assert (events["clause"] != "").all()
    card = capital_run.scorecard_frame()
    assert len(card) > 0 and set(card["met"].unique()) <= {True, False}


def test_values_stay_physical(capital_run):
    agents = capital_run.agent_frame()
    numeric = agents[["population", "gdp", "pm25"]].dropna()
    assert np.isfinite(numeric.values).all()
    assert (numeric.values >= 0).all()


def test_agents_read_the_state(capital_run):
    city = next(c for c in capital_run.cities if c.key == "xiongan")
    assert city.population == pytest.approx(capital_run.state.population[city.index])
    assert city.province.key == "hebei"
    assert sum(f.units for f in capital_run.functions) == capital_run.state.fn_units.sum()
    moved = [f for f in capital_run.functions if f.year_moved is not None]
    assert moved and all(f.host.key != f.origin.key for f in moved)


def run_frames(seed: int, **overrides):
    model = RegionModel("capital_region", rng=seed, until=2030, **overrides).run()
    return model.model_frame(), model.agent_frame(), model.event_frame()


def test_same_seed_same_results_and_other_seed_other_events():
    a, b = run_frames(3), run_frames(3)
    for x, y in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(x, y)
    c = run_frames(4)
    assert not a[2].equals(c[2])


def test_joint_control_off_changes_pm25_and_payments():
    on = RegionModel("capital_region", rng=1, until=2030).run().model_frame()
    off = RegionModel("capital_region", rng=1, until=2030, **{"rules.joint_control.enabled": False}).run().model_frame()
    assert on["money_joint_control_100m_yuan"].sum() > 0
    assert off["money_joint_control_100m_yuan"].sum() == 0
    assert not np.allclose(on["pm25_population_weighted"].values[1:], off["pm25_population_weighted"].values[1:])


def test_relocate_off_leaves_every_function_home():
    model = RegionModel("capital_region", rng=1, until=2030, rules__relocate__enabled=False).run()
    assert (model.state.fn_host == model.state.fn_origin).all()
    assert (model.event_frame()["rule"] != "RELOCATE").all()


def test_each_rule_can_be_switched_off():
    for key in REGISTRY:
        model = RegionModel("classroom", rng=1, until=2028, **{f"rules.{key}.enabled": False}).run()
        assert model.state.year == 2028
        assert np.isfinite(model.state.population).all()


def test_batch_run_sweeps_levers_as_keyword_arguments():
    rows = mesa.batch_run(
        RegionModel,
        parameters={"scenario": "classroom", "rules.relocate.annual_quota_share": [0.1, 0.3], "rules.joint_control.enabled": [True, False]},
        rng=[1, 2],
        max_steps=5,
        number_processes=1,
        display_progress=False,
    )
    assert len(rows) == 8
    assert {r["rules.relocate.annual_quota_share"] for r in rows} == {0.1, 0.3}
    assert all(r["year"] == 2030 for r in rows)


def test_classroom_story_holds():
    """The teacher's predictions in scenarios/classroom.toml."""
    model = RegionModel("classroom", rng=1).run()
    events = model.event_frame()
    moves = events[events["kind"] == "relocation"]
    factories = moves[moves["function_type"] == "general_manufacturing_plant"]
    assert set(factories["target"]) == {"milltown"}
    assert set(moves[moves["function_type"] == "university"]["target"]) == {"newtown"}
    paid = events[events["kind"] == "payment"]
    assert (paid[paid["rule"] == "TAX_SHARE"]["target"] == "capital").all()
    assert set(paid[paid["rule"] == "ECO_COMP"]["target"]) == {"greencounty"}


def test_the_year_runs_every_rule_in_phase_order():
    """YEAR (model.py) is the one list of a year's stages: every rule module runs in it, the phases of
    a year never go backwards along it, and each rule's own phase (RuleSpec.stage) is one it runs in."""
    import sys

    from regionsim.model.model import YEAR
    from regionsim.model.rules import MODULES
    from regionsim.model.rules.base import PHASES

    modules = [sys.modules[function.__module__] for _, _, function, _ in YEAR]
    assert set(modules) == set(MODULES)
    order = [PHASES.index(phase) for phase, _, _, _ in YEAR]
    assert order == sorted(order)
    for module in MODULES:
        assert module.RULE.stage in {phase for (phase, _, _, _), m in zip(YEAR, modules, strict=True) if m is module}
    for _, name, function, key in YEAR:
        assert key is None or key == sys.modules[function.__module__].RULE.key, name
