"""One import package: a wheel of the project holds `regionsim/…` and nothing else at the top
level, so no `model`, `agents`, `viz` or `scenarios` lands in a user's site-packages, and the scenario,
variant, sweep and dashboard data files travel with it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.fail(done.stdout + done.stderr)
    (path,) = out.glob("regionsim-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_installs_only_the_regionsim_package(wheel):
    tops = {name.split("/")[0] for name in wheel.namelist() if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"regionsim"}
    top_level = next(n for n in wheel.namelist() if n.endswith(".dist-info/top_level.txt"))
    assert wheel.read(top_level).decode().split() == ["regionsim"]


def test_wheel_carries_the_data_files_and_subpackages(wheel):
    names = set(wheel.namelist())
    for needed in (
        "regionsim/__init__.py",
        "regionsim/model/__init__.py",
        "regionsim/model/rules/relocate.py",
        "regionsim/agents/city.py",
        "regionsim/viz/app.py",
        "regionsim/scenarios/capital_region.toml",
        "regionsim/scenarios/variants/capital_region-no_coordination.toml",
        "regionsim/scenarios/geo/provinces.json",
        "regionsim/scenarios/FORMAT.md",
    ):
        assert needed in names, needed
    assert any(n.startswith("regionsim/scenarios/sweeps/") and n.endswith(".toml") for n in names)
    assert any(n.startswith("regionsim/viz/vue/") and n.endswith(".vue") for n in names)
    assert not any(n.startswith("regionsim/tests/") for n in names)


def test_version_comes_from_package_metadata():
    import importlib.metadata

    import regionsim

    assert regionsim.__version__ == importlib.metadata.version("regionsim")
    done = subprocess.run([sys.executable, "-m", "regionsim.model.cli", "--version"], capture_output=True, text=True)
    assert done.stdout.strip() == f"regionsim {regionsim.__version__}"


def test_import_from_another_directory_ignores_a_local_model_py(tmp_path):
    (tmp_path / "model.py").write_text("raise ImportError('the user\\'s own model.py was imported')\n")
    (tmp_path / "agents.py").write_text("raise ImportError('the user\\'s own agents.py was imported')\n")
    code = (
        "from regionsim import RegionModel; from regionsim.agents import City; "
        "m = RegionModel('classroom', rng=1); m.step(); print(m.state.year)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().isdigit()
