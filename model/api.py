"""`simulate`: the model as a function — levers in, outcomes out.

Exploratory modelling tools (EMA Workbench, SALib, our own sweeps) see a model as a function of
named inputs to named outcomes. `simulate` is that function for regionsim: it builds a
`RegionModel`, runs it, and returns a dict of the outcomes asked for.

    simulate("classroom", seed=7, until=2030, outcomes=["pm25_population_weighted", "population_total@2028"],
             rules__joint_control__enabled=False)
    → {"pm25_population_weighted": 41.2…, "population_total@2028": 1234.5…}

An outcome is a model-level series (a column of `RegionModel.model_frame()`, except `year`) at the
last simulated year, or `name@year` at that year. `outcomes=None` returns every series at the last
year. Lever values may be Python or numpy scalars; everything is checked before the run, and a bad
scenario, lever, seed, `until` or outcome raises `ScenarioError` naming the key and what is valid.

It records only the model-level series (no agent rows, no scorecard, no function rows), which
makes a run about a fifth cheaper; the values are the same as `RegionModel(...).run()`'s.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from regionsim.model import outputs
from regionsim.model.errors import Problem, ScenarioError
from regionsim.model.model import RegionModel
from regionsim.model.scenario import Scenario

WHERE = "simulate"


class _OutcomeRun(RegionModel):
    """A RegionModel that records the model-level series only (what `simulate` returns)."""

    def _record(self) -> None:
        self.summary = outputs.model_row(self)
        self.datacollector.collect(self)


def simulate(
    scenario: str | Path | Scenario = "capital_region",
    *,
    seed: Any,
    until: int | None = None,
    outcomes: Iterable[str] | str | None = None,
    **levers: Any,
) -> dict[str, Any]:
    """Run `scenario` with `seed` up to `until` (default: its horizon) and return the chosen outcomes.

    `outcomes` names model-level series (`pm25_population_weighted`, `population_total`, …), each at
    the last simulated year, or as `name@year` at that year; None returns every series at the last
    year. `levers` are key paths, `__`-separated (`rules__joint_control__enabled=False`) or dotted via
    `**{"rules.fund.enabled": False}`. Returns `{outcome: value}` in the order asked.
    """
    model = _OutcomeRun(scenario, rng=seed, until=until, record_functions=False, **levers)
    wanted = _parse_outcomes(outcomes, model)
    model.run()
    series = model.datacollector.model_vars
    row_of_year = {int(year): index for index, year in enumerate(series["year"])}
    return {label: _plain(series[name][row_of_year[year]]) for label, (name, year) in wanted.items()}


def outcome_names(model: RegionModel) -> list[str]:
    """The model-level series a run records (valid outcome names), `year` excluded."""
    return [key for key in model.summary if key != "year"]


def _parse_outcomes(outcomes: Iterable[str] | str | None, model: RegionModel) -> dict[str, tuple[str, int]]:
    """`{label: (series, year)}` for each outcome asked; every bad one is reported at once."""
    names = outcome_names(model)
    first, last = model.region.base_year, model.until
    if outcomes is None:
        return {name: (name, last) for name in names}
    if isinstance(outcomes, str):
        outcomes = [outcomes]
    wanted: dict[str, tuple[str, int]] = {}
    problems: list[Problem] = []
    try:
        asked = list(outcomes)
    except TypeError:
        raise ScenarioError([Problem(WHERE, "outcomes", f"must be a list of series names, not {outcomes!r}"[:200])]) from None
    for label in asked:
        if not isinstance(label, str):
            problems.append(Problem(WHERE, "outcomes", f"{label!r}: an outcome is a string, 'name' or 'name@year'"))
            continue
        name, at, year_text = label.partition("@")
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(Problem(WHERE, f"outcomes.{label}", f"unknown series {name!r}{hint}; valid: {', '.join(names)}"))
            continue
        year = last
        if at:
            if not year_text.strip().isdigit() or not first <= int(year_text) <= last:
                problems.append(Problem(WHERE, f"outcomes.{label}", f"the year after '@' must be from {first} to {last} (this run)"))
                continue
            year = int(year_text)
        wanted[label] = (name, year)
    if problems:
        raise ScenarioError(problems)
    return wanted


def _plain(value: Any) -> Any:
    """A recorded value as a Python scalar."""
    return value.item() if hasattr(value, "item") else value
