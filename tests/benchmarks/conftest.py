"""Benchmarks: collected only with `--benchmarks`, so the normal test command never runs them.

    .venv/bin/python -m pytest -q -s tests/benchmarks -p no:randomly --benchmarks      (= make bench)

Options: `--bench-json PATH` (default benchmarks.json at the repository root), `--bench-sizes
100,300,1000,3000` (synthetic city counts), `--bench-functions 10000,100000`.
Each benchmark prints a table and adds its figures to one JSON file written at the end of the
session, so two commits can be compared with `python tests/benchmarks/compare.py OLD.json NEW.json`.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("regionsim benchmarks")
    group.addoption("--benchmarks", action="store_true", default=False, help="run the benchmarks in tests/benchmarks")
    group.addoption("--bench-json", default=str(ROOT / "benchmarks.json"), help="where to write the results (JSON)")
    group.addoption("--bench-sizes", default="100,300,1000,3000", help="synthetic city counts")
    group.addoption("--bench-functions", default="10000,100000", help="synthetic function counts")


def _enabled(config: pytest.Config) -> bool:
    try:
        return bool(config.getoption("--benchmarks"))
    except ValueError:  # option not registered: this conftest was not loaded at start-up
        return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave the benchmark modules uncollected unless --benchmarks is given."""
    if collection_path.suffix == ".py" and collection_path.name.startswith("test_") and not _enabled(config):
        return True
    return None


def _machine() -> dict[str, Any]:
    import mesa
    import numpy
    import scipy

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "mesa": mesa.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


@pytest.fixture(scope="session")
def results(request: pytest.FixtureRequest) -> dict[str, Any]:
    """One dictionary the benchmarks fill; written as JSON when the session ends."""
    data: dict[str, Any] = {"machine": _machine()}
    yield data
    path = Path(request.config.getoption("--bench-json"))
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=float) + "\n", encoding="utf-8")
    print(f"\nbenchmark results written to {path}", file=sys.stderr)


@pytest.fixture(scope="session")
def sizes(request: pytest.FixtureRequest) -> tuple[list[int], list[int]]:
    """(city counts, function counts) of the synthetic regions."""
    cities = [int(x) for x in request.config.getoption("--bench-sizes").split(",") if x.strip()]
    functions = [int(x) for x in request.config.getoption("--bench-functions").split(",") if x.strip()]
    return cities, functions
