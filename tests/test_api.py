"""`regionsim.simulate` (levers in, outcomes out) and the checks RegionModel makes of what it is given.

Every value `simulate` returns is compared with the same run of `RegionModel` read from its
model frame; lever values may be numpy scalars; every bad input is a ScenarioError that names
the key (bad input).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from mesa.experimental.scenarios import Scenario as MesaScenario
from regionsim import RegionModel, RegionScenario, ScenarioError, simulate
from regionsim.model.rules import REGISTRY

from tests.conftest import cli

OUTCOMES = ["pm25_population_weighted", "population_total", "gdp_total_100m_yuan", "population_receiving_cities"]
BASE_YEAR = 2025  # classroom's meta.base_year
HORIZON = 2035  # classroom's meta.horizon


def frame(**kwargs):
    return RegionModel("classroom", **kwargs).run().model_frame().set_index("year")


def test_simulate_returns_the_asked_outcomes_equal_to_a_direct_run():
    asked = ["pm25_population_weighted", "population_total@2028", "gdp_total_100m_yuan@2025", "population_receiving_cities"]
    result = simulate("classroom", seed=5, until=2030, outcomes=asked, rules__joint_control__enabled=False)
    assert list(result) == asked
    direct = frame(rng=5, until=2030, rules__joint_control__enabled=False)
    assert direct.index[-1] == 2030
    assert result["pm25_population_weighted"] == pytest.approx(direct.loc[2030, "pm25_population_weighted"], rel=1e-12)
    assert result["population_total@2028"] == pytest.approx(direct.loc[2028, "population_total"], rel=1e-12)
    assert result["gdp_total_100m_yuan@2025"] == pytest.approx(direct.loc[2025, "gdp_total_100m_yuan"], rel=1e-12)
    assert result["population_receiving_cities"] == pytest.approx(direct.loc[2030, "population_receiving_cities"], rel=1e-12)
    assert all(isinstance(value, float) for value in result.values())


def test_simulate_without_outcomes_returns_every_series_at_the_last_year():
    result = simulate("classroom", seed=3)
    direct = frame(rng=3)
    assert set(result) == set(direct.columns), "every model-level series, and `year` is not an outcome"
    assert "year" not in result
    last = direct.loc[HORIZON]
    for name, value in result.items():
        assert value == pytest.approx(float(last[name]), rel=1e-12, abs=1e-12), name


def test_simulate_is_deterministic_per_seed_and_seeds_matter():
    first = simulate("classroom", seed=11, outcomes=OUTCOMES)
    again = simulate("classroom", seed=11, outcomes=OUTCOMES)
    other = simulate("classroom", seed=12, outcomes=OUTCOMES)
    assert first == again
    assert first != other, "classroom draws random numbers: another seed gives another run"


def test_levers_change_outcomes_in_the_expected_direction():
    # joint control abates when the region misses its air target: switching it off cannot lower PM2.5
    on = simulate("classroom", seed=1, outcomes=["pm25_population_weighted"])
    off = simulate("classroom", seed=1, outcomes=["pm25_population_weighted"], rules__joint_control__enabled=False)
    assert off["pm25_population_weighted"] > on["pm25_population_weighted"] + 0.1


def test_numpy_scalars_are_the_same_lever_values_as_python_ones():
    python = simulate(
        "classroom",
        seed=2,
        outcomes=OUTCOMES,
        rules__services__lag_years=4,
        rules__policy__max_abatement=0.5,
        rules__joint_control__leakage_ban=False,
    )
    numpy = simulate(
        "classroom",
        seed=np.int64(2),
        outcomes=OUTCOMES,
        rules__services__lag_years=np.int64(4),
        rules__policy__max_abatement=np.float64(0.5),
        rules__joint_control__leakage_ban=np.bool_(False),
    )
    assert numpy == python
    model = RegionModel(
        "classroom",
        rng=0,
        rules__services__lag_years=np.int32(4),
        rules__policy__max_abatement=np.float32(0.5),
        rules__joint_control__leakage_ban=np.bool_(True),
    )
    assert type(model.params["services"]["lag_years"]) is int and model.params["services"]["lag_years"] == 4
    assert type(model.params["policy"]["max_abatement"]) is float
    assert model.params["policy"]["max_abatement"] == pytest.approx(0.5)
    assert model.params["joint_control"]["leakage_ban"] is True


def test_an_int_lever_given_a_whole_float_is_stored_as_an_int():
    model = RegionModel("classroom", rng=0, **{"rules.services.lag_years": 3.0})
    assert type(model.params["services"]["lag_years"]) is int and model.params["services"]["lag_years"] == 3
    assert type(model.region.data["rules"]["services"]["lag_years"]) is int
    assert model.region.overrides == {"rules.services.lag_years": 3}


def test_until_is_a_year_from_the_base_year():
    assert RegionModel("classroom", rng=0, until=BASE_YEAR).run().state.year == BASE_YEAR
    assert RegionModel("classroom", rng=0, until=np.int64(2027)).run().state.year == 2027
    assert RegionModel("classroom", rng=0, until=2027.0).run().state.year == 2027


def test_a_mesa_scenario_carries_name_until_seed_and_levers():
    mesa_native = RegionModel(scenario=RegionScenario(name="classroom", rng=4, until=2029, rules__services__lag_years=5))
    keywords = RegionModel("classroom", rng=4, until=2029, rules__services__lag_years=5)
    assert mesa_native.until == keywords.until == 2029
    a, b = mesa_native.run().model_frame(), keywords.run().model_frame()
    assert a.equals(b)
    assert mesa_native.scenario.lever_overrides() == {"rules.services.lag_years": 5}


@pytest.mark.parametrize(
    ("kwargs", "key", "valid"),
    [
        ({"rules__joint_controll__enabled": False}, "rules.joint_controll.enabled", "did you mean 'joint_control'"),
        ({"rules__joint_control__enabeld": False}, "rules.joint_control.enabeld", "did you mean 'enabled'"),
        ({"rules__services__lag_years": 3.5}, "rules.services.lag_years", "whole number from 0 to 20"),
        ({"rules__services__lag_years": np.float64(2.5)}, "rules.services.lag_years", "whole number from 0 to 20"),
        ({"rules__services__lag_years": 21}, "rules.services.lag_years", "from 0 to 20"),
        ({"rules__policy__max_abatement": float("nan")}, "rules.policy.max_abatement", "finite number from 0 to 0.95"),
        ({"rules__policy__max_abatement": np.float32("inf")}, "rules.policy.max_abatement", "finite number from 0 to 0.95"),
        ({"rules__policy__max_abatement": np.nan}, "rules.policy.max_abatement", "finite number"),
        ({"rules__policy__max_abatement": "0.5"}, "rules.policy.max_abatement", "must be a number from 0 to 0.95"),
        ({"rules__policy__max_abatement": True}, "rules.policy.max_abatement", "must be a number"),
        ({"rules__joint_control__enabled": 1}, "rules.joint_control.enabled", "true or false"),
        ({"rules__joint_control__leakage_ban": "yes"}, "rules.joint_control.leakage_ban", "true or false"),
        ({"until": 1990}, "until", f"from the base year {BASE_YEAR}"),
        ({"until": 2030.5}, "until", f"from the base year {BASE_YEAR}"),
        ({"until": "2030"}, "until", "year"),
        ({"rng": -1}, "rng", "whole number of at least 0"),
        ({"rng": 1.5}, "rng", "whole number of at least 0"),
        ({"rng": "seven"}, "rng", "whole number of at least 0"),
        ({"rng": True}, "rng", "whole number of at least 0"),
        ({"scenario": "classroon"}, "scenario", "classroom"),
        ({"scenario": 3}, "scenario", "scenario name"),
        ({"scenario": MesaScenario(name="classroom", density=0.8)}, "scenario.density", "valid: name, until, rng"),
        ({"scenario": RegionScenario(name="classroom", levers={"x": 1})}, "scenario.levers", "lever key paths"),
        ({"scenario": RegionScenario(name="classroom", rng=1), "rng": 2}, "rng", "given twice and different"),
        ({"scenario": RegionScenario(name="classroom", rules__air__wind_skew=np.inf)}, "rules.air.wind_skew", "finite"),
    ],
)
def test_bad_input_is_a_scenario_error_naming_the_key(kwargs, key, valid):
    kwargs = {"scenario": "classroom", **kwargs}
    with pytest.raises(ScenarioError) as raised:
        RegionModel(**kwargs)
    message = str(raised.value)
    assert any(problem.key == key for problem in raised.value.problems), message
    assert valid in message, message


def test_several_problems_are_reported_at_once():
    with pytest.raises(ScenarioError) as raised:
        RegionModel("classroom", rng=-3, until=1990, rules__services__lag_years=3.5, rules__policy__max_abatement=np.nan)
    keys = {problem.key for problem in raised.value.problems}
    assert {"rng", "rules.services.lag_years", "rules.policy.max_abatement"} <= keys


@pytest.mark.parametrize(
    ("outcomes", "key", "valid"),
    [
        (["pm25_population_weightd"], "outcomes.pm25_population_weightd", "did you mean 'pm25_population_weighted'"),
        (["nonsense"], "outcomes.nonsense", "valid: population_total"),
        (["population_total@1990"], "outcomes.population_total@1990", f"from {BASE_YEAR} to 2030"),
        (["population_total@2031"], "outcomes.population_total@2031", f"from {BASE_YEAR} to 2030"),
        (["population_total@x"], "outcomes.population_total@x", "the year after '@'"),
        (["year"], "outcomes.year", "unknown series"),
        (3, "outcomes", "list of series names"),
    ],
)
def test_bad_outcomes_are_refused_before_the_run(outcomes, key, valid):
    with pytest.raises(ScenarioError) as raised:
        simulate("classroom", seed=0, until=2030, outcomes=outcomes)
    assert [p.key for p in raised.value.problems] == [key], str(raised.value)
    assert valid in str(raised.value)


def test_simulate_takes_dotted_levers_and_a_single_outcome_name():
    dotted = simulate("classroom", seed=1, outcomes="pm25_population_weighted", **{"rules.joint_control.enabled": False})
    keyword = simulate("classroom", seed=1, outcomes=["pm25_population_weighted"], rules__joint_control__enabled=False)
    assert dotted == keyword


def test_every_int_lever_takes_its_whole_float_bounds_and_every_float_lever_refuses_nan():
    for spec in REGISTRY.values():
        for lever in spec.levers:
            if lever.kind == "int":
                assert lever.check(float(lever.low)) is None and lever.coerce(float(lever.high)) == int(lever.high)
                assert type(lever.coerce(np.int64(lever.high))) is int
                assert "whole number" in lever.check(lever.low + 0.5)
            elif lever.kind == "float":
                assert "finite" in lever.check(math.nan), lever.name
                assert lever.check(np.float32(lever.default)) is None, lever.name
            else:
                assert lever.check(np.bool_(lever.default)) is None, lever.name


def test_cli_refuses_a_fractional_int_lever_and_an_early_until_with_exit_2(tmp_path):
    for args in (["--set", "rules.services.lag_years=3.5"], ["--until", "1990"]):
        done = cli("run", "classroom", *args, "--out", str(tmp_path / "out"))
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert ("rules.services.lag_years" if "--set" in args else "until") in done.stderr
