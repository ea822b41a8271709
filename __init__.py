"""regionsim: a multi-agent simulator of regional coordination in China, on Mesa.

The repository's top-level folders are this package's sub-packages: `regionsim.model` (the Mesa
model, its rules, outputs, sweeps and command line), `regionsim.agents` (Province, City, Function),
`regionsim.scenarios` (scenario, variant and sweep files) and `regionsim.viz` (the dashboard).

    from regionsim import RegionModel, simulate
    model = RegionModel(scenario="capital_region", rng=7).run()
    simulate("capital_region", seed=7, until=2030, outcomes=["pm25_pop_weighted"])

Names are imported on first use, so `regionsim --help` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("regionsim")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

_LAZY = {
    "RegionModel": "regionsim.model.model",
    "RegionScenario": "regionsim.model.model",
    "simulate": "regionsim.model.api",
    "ScenarioError": "regionsim.model.errors",
    "load_scenario": "regionsim.model.scenario",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'regionsim' has no attribute {name!r}")
