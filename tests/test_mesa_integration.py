"""Mesa's and EMA Workbench's own tools drive RegionModel unchanged.

- `mesa.batch_run` with numpy lever values (`np.arange`), each row equal to `simulate` with the
  same Python values;
- Mesa SolaraViz's Reset path (`_build_model_init_kwargs` then `type(model)(**kwargs)`), for a
  model built from a name and from a RegionScenario, and with a plain Mesa `Scenario()`;
- EMA Workbench's `perform_experiments` over `simulate` with Real, Integer and Boolean parameters.
"""

from __future__ import annotations

import mesa
import numpy as np
import pytest
from mesa.experimental.scenarios import Scenario as MesaScenario
from regionsim import RegionModel, RegionScenario, ScenarioError, simulate

PM25 = "pm25_population_weighted"


def test_batch_run_with_numpy_lever_values():
    results = mesa.batch_run(
        RegionModel,
        parameters={
            "scenario": "classroom",
            "until": 2028,
            "record_functions": False,
            "rules__services__lag_years": np.arange(1, 4),
            "rules__policy__max_abatement": np.array([0.3, 0.7]),
            "rules__joint_control__enabled": np.array([True, False]),
        },
        rng=[3],
        number_processes=1,
        data_collection_period=-1,
        display_progress=False,
    )
    assert len(results) == 3 * 2 * 2
    for row in results:
        assert row["year"] == 2028
        expected = simulate(
            "classroom",
            seed=3,
            until=2028,
            outcomes=[PM25],
            rules__services__lag_years=int(row["rules__services__lag_years"]),
            rules__policy__max_abatement=float(row["rules__policy__max_abatement"]),
            rules__joint_control__enabled=bool(row["rules__joint_control__enabled"]),
        )
        assert row[PM25] == pytest.approx(expected[PM25], rel=1e-12)
    by_switch = {
        bool(r["rules__joint_control__enabled"]): r[PM25]
        for r in results
        if r["rules__services__lag_years"] == 1 and r["rules__policy__max_abatement"] == 0.7
    }
    assert by_switch[False] > by_switch[True], "switching joint control off leaves the air dirtier"


def _reset(model: RegionModel, model_parameters: dict) -> RegionModel:
    """What SolaraViz's Reset button does (mesa/visualization/solara_viz.py, ModelController.do_reset)."""
    from mesa.visualization.solara_viz import _build_model_init_kwargs, _check_model_params

    _check_model_params(model, model_parameters)
    kwargs = _build_model_init_kwargs(model, model_parameters, add_scenario_when_empty=True, require_model_accepts_scenario=True)
    assert isinstance(kwargs["scenario"], RegionScenario)
    return type(model)(**kwargs)


def test_solaraviz_reset_rebuilds_the_model_from_its_parameters():
    params = {"name": "classroom", "rng": "7", "until": 2029, "rules__joint_control__enabled": False}
    for first in (RegionModel("classroom", rng=7), RegionModel(scenario=RegionScenario(name="classroom", rng=7))):
        first.step()
        again = _reset(first, params)
        assert again.region.name == "classroom" and again.state.year == again.region.base_year
        assert again.until == 2029 and again.params["joint_control"]["enabled"] is False
        direct = RegionModel("classroom", rng=7, until=2029, rules__joint_control__enabled=False)
        assert again.run().model_frame().equals(direct.run().model_frame()), "Reset gives the same run as the keywords"


def test_a_plain_mesa_scenario_is_accepted():
    model = RegionModel(scenario=MesaScenario())
    assert model.region.name == "capital_region" and isinstance(model.scenario, RegionScenario)
    model = RegionModel(scenario=MesaScenario(rng=5, name="classroom", until=2027, rules__services__lag_years=np.int64(4)))
    assert (model.region.name, model.until, model.params["services"]["lag_years"], model._seed) == ("classroom", 2027, 4, 5)


def test_the_model_scenario_describes_the_run():
    model = RegionModel("classroom", rng=9, until=2030, rules__services__lag_years=np.int64(6))
    scenario = model.scenario
    assert isinstance(scenario, RegionScenario) and scenario.model is model
    assert (scenario.name, scenario.until, scenario.rng) == ("classroom", 2030, 9)
    assert scenario.lever_overrides() == {"rules.services.lag_years": 6}
    assert type(scenario.lever_overrides()["rules.services.lag_years"]) is int


def test_one_region_scenario_builds_two_models():
    shared = RegionScenario(name="classroom", rng=2, until=2027)
    a, b = RegionModel(scenario=shared), RegionModel(scenario=shared)
    assert a.run().model_frame().equals(b.run().model_frame())


def test_a_mesa_scenario_with_an_unknown_field_is_refused():
    with pytest.raises(ScenarioError) as raised:
        RegionModel(scenario=MesaScenario(width=10, height=10))
    assert {p.key for p in raised.value.problems} == {"scenario.width", "scenario.height"}


def test_ema_workbench_perform_experiments_drives_simulate():
    ema = pytest.importorskip("ema_workbench", reason="EMA Workbench is not installed (pip install 'regionsim[test]')")
    from ema_workbench import (
        BooleanParameter,
        Constant,
        IntegerParameter,
        Model,
        RealParameter,
        ScalarOutcome,
        SequentialEvaluator,
        perform_experiments,
    )

    model = Model("regionsim", function=simulate)
    model.uncertainties = [RealParameter("rules__policy__max_abatement", 0.2, 0.9), IntegerParameter("rules__services__lag_years", 0, 6)]
    model.levers = [BooleanParameter("rules__joint_control__enabled")]
    model.constants = [Constant("scenario", "classroom"), Constant("seed", 4), Constant("until", 2029)]
    model.outcomes = [ScalarOutcome(PM25), ScalarOutcome("population_total")]
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = perform_experiments(model, scenarios=4, policies=2, evaluator=evaluator)
    assert len(experiments) == 8 and outcomes[PM25].shape == (8,)
    assert np.isfinite(outcomes[PM25]).all() and (outcomes["population_total"] > 0).all()
    assert set(experiments["rules__joint_control__enabled"]) == {True, False}
    for index, row in experiments.iterrows():
        again = simulate(
            "classroom",
            seed=4,
            until=2029,
            outcomes=[PM25],
            rules__policy__max_abatement=float(row["rules__policy__max_abatement"]),
            rules__services__lag_years=int(row["rules__services__lag_years"]),
            rules__joint_control__enabled=bool(row["rules__joint_control__enabled"]),
        )
        assert outcomes[PM25][index] == pytest.approx(again[PM25], rel=1e-12)
    assert ema.__version__.startswith("3.")
