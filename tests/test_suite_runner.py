"""tests/suite.py, which `make test` runs: the two parts' statuses make the suite's, and an interruption stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import suite

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("codes", "expected"),
    [([0, 0], 0), ([1, 0], 1), ([0, 1], 1), ([2, 1], 2), ([0, 5], 1), ([5, 0], 1), ([0, 130], 130)],
)
def test_the_suite_fails_when_a_part_fails_or_collects_nothing(codes, expected):
    assert suite.status_of(codes) == expected


def _env(tmp_path: Path) -> dict[str, str]:
    """This script's environment with the report in `tmp_path` (the suite running this test writes the usual one)."""
    return {**os.environ, "REGIONSIM_SUITE_LOG": str(tmp_path / "report.log")}


def _selecting_nothing(tmp_path: Path, *options: str) -> subprocess.CompletedProcess:
    """Run the script with `options` and a selection that matches no test."""
    return subprocess.run(
        [sys.executable, "tests/suite.py", *options, "-k", "no_test_has_this_name", "-p", "no:randomly"],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_suite_that_selects_no_test_fails_and_says_so(tmp_path):
    done = _selecting_nothing(tmp_path)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "no tests collected" in done.stderr
    assert "tests without a browser: running alongside at nice 19" in done.stdout


def _descendants(pid: int) -> set[int]:
    import psutil

    try:
        return {child.pid for child in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def test_sigterm_stops_both_parts_and_what_they_started(tmp_path):
    """SIGTERM while the parts run: the script exits 143 and leaves none of its processes behind (sweep workers included)."""
    import psutil

    process = subprocess.Popen(
        [sys.executable, "tests/suite.py", "tests/test_sweep.py", "-p", "no:randomly"],  # its sweeps run long enough
        cwd=ROOT,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    started: set[int] = set()
    while time.monotonic() < deadline and len(started) < 3:  # both pytest processes and an xdist worker
        started |= _descendants(process.pid)
        time.sleep(0.2)
    assert len(started) >= 3, f"the parts did not start: {started}"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=90)
    assert process.returncode == 143, err
    time.sleep(0.5)
    alive = [pid for pid in started if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"left running: {alive}"
    assert (tmp_path / "report.log").exists()


def test_check_runs_the_tests_without_a_browser_alone_and_fails_on_none(tmp_path):
    """`make check` (`suite.py --check`): a selection with no test is a failure naming that part."""
    done = _selecting_nothing(tmp_path, "--check")
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "no tests collected: the tests without a browser selected none" in done.stderr
    assert "running alongside" not in done.stdout
    assert not (tmp_path / "report.log").exists()
