"""Shared test helpers: the hand-made three-city state and small model runs."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from regionsim.model.events import EventLog
from regionsim.model.rules import INITIALISED
from regionsim.model.rules.base import StepContext
from regionsim.model.scenario import load_scenario
from regionsim.model.state import build_state

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "three_cities.toml"
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def three_city_context(overrides: dict | None = None, seed: int = 0) -> StepContext:
    """A fresh three-city state (A = capital, B = newtown, C = milltown) ready for one rule."""
    scenario = load_scenario(FIXTURE, overrides or {})
    state = build_state(scenario)
    params = copy.deepcopy(scenario.params)
    for module in INITIALISED:
        module.initialise(state, params)
    state.year += 1
    return StepContext(state, params, np.random.default_rng(seed), EventLog())


@pytest.fixture
def ctx() -> StepContext:
    """The three-city context with the fixture's parameters."""
    return three_city_context()


def regionsim(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the `regionsim` console script in a fresh process."""
    exe = Path(sys.executable).parent / "regionsim"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd or ROOT, timeout=timeout)


def default_sigint() -> None:
    """Give a child process Ctrl-C's default meaning (preexec_fn): a shell that started the suite in the background
    made SIGINT ignored, and a child would inherit that and never see the tests' Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
