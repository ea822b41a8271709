"""`regionsim synth`: a synthetic region of any size that validates, runs, and is the same for the same seed."""

from __future__ import annotations

import numpy as np
import pytest
from regionsim.model.model import RegionModel
from regionsim.model.provenance import numbers_with_sources
from regionsim.model.scenario import load_scenario
from regionsim.model.synth import source_text, synth_scenario, write_synth

from tests.conftest import cli


@pytest.fixture(scope="module")
def synth_200(tmp_path_factory):
    """A 200-city, 4,000-function synthetic scenario written by the command line."""
    path = tmp_path_factory.mktemp("synth") / "synth_200.toml"
    done = cli("synth", "--cities", "200", "--functions", "4000", "--seed", "5", "--out", str(path))
    assert done.returncode == 0, done.stderr
    assert "200 cities" in done.stdout and "4000 functions" in done.stdout
    return path


def test_synth_validates_with_every_number_sourced(synth_200):
    scenario = load_scenario(synth_200)
    data = scenario.data
    assert len(data["cities"]) == 200
    assert sum(s["units"] for s in data["function_stocks"]) == 4000
    assert 5 <= len(data["provinces"]) <= 9  # about one province per 30 cities
    rows = numbers_with_sources(data)
    assert rows and all(source == source_text(5) or source.startswith("estimate: synthetic") for _, _, source in rows)
    assert all(scenario.params[key]["enabled"] for key in scenario.params)  # every rule on
    lon = np.array([c["lon"] for c in data["cities"]])
    lat = np.array([c["lat"] for c in data["cities"]])
    assert (lon >= 111).all() and (lon <= 123).all() and (lat >= 35.5).all() and (lat <= 43).all()


def test_synth_runs_two_years_with_no_scaled_stocks(synth_200):
    model = RegionModel(str(synth_200), rng=1, until=2025).run()
    assert model.state.year == 2025
    assert model.state.notes == []  # stocks sized so loading never scales them down
    assert model.state.fn_units.sum() == 4000
    assert np.isfinite(model.state.travel_minutes).all()  # one connected road graph
    frame = model.model_frame()
    assert len(frame) == 3 and frame["units_moved"].iloc[1:].sum() > 0  # the relocation market works at this size
    assert (frame["population_total"] > 0).all()


def test_same_seed_same_file_other_seed_other_region(tmp_path):
    a, b, c = tmp_path / "a.toml", tmp_path / "b.toml", tmp_path / "c.toml"
    write_synth(a, 60, 900, seed=3)
    write_synth(b, 60, 900, seed=3)
    write_synth(c, 60, 900, seed=4)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_synth_sizes_are_exact_and_bad_sizes_are_user_errors(tmp_path):
    document = synth_scenario(2, 0, seed=0)
    assert len(document["cities"]) == 2 and document["function_stocks"] == []
    done = cli("synth", "--cities", "1", "--functions", "10", "--out", str(tmp_path / "x.toml"))
    assert done.returncode == 2 and "--cities 1" in done.stderr and "Traceback" not in done.stderr
    done = cli("synth", "--cities", "10", "--functions", "-5", "--out", str(tmp_path / "x.toml"))
    assert done.returncode == 2 and "--functions -5" in done.stderr
