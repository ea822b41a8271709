"""The whole suite as `make test` runs it: the browser tests and the rest side by side, in two pytest processes.

* the tests without a browser run under pytest-xdist (one process per core, up to 4, an idle one taking
  tests from a busy one) at the lowest CPU priority (nice 19); their report goes to
  `tests/artifacts/suite-without-browser.log` (or `$REGIONSIM_SUITE_LOG`) and is printed when they finish;
* the browser tests run in one process at normal priority, reporting to the terminal as they go.

The browser tests leave about half a core idle while pages load and servers answer; the niced tests take
that time and never take CPU the browser tests want (the 20-session load test timed out once when a second
pytest process competed with it as an equal). On the 2-core CI machine this runs the suite in about the
time the browser tests take alone plus a minute, where one part after the other took both parts' sum.

    python tests/suite.py [PYTEST ARGS...]          # extra arguments go to both pytest processes
    python tests/suite.py --check [PYTEST ARGS...]  # `make check`: the tests without a browser alone, in the foreground

Exit status: 0 when both parts pass; otherwise the first failing part's status; a part that collected no
tests (pytest's 5) is a failure, 1. Ctrl-C (or SIGTERM) stops both parts, letting each stop what it started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOG = Path(os.environ.get("REGIONSIM_SUITE_LOG") or ROOT / "tests" / "artifacts" / "suite-without-browser.log")
"""Where the tests without a browser report (a test of this script points it elsewhere)."""
PYTEST = [sys.executable, "-m", "pytest", "-q", "--durations=15"]
WITHOUT_BROWSER = ["-m", "not browser", "-n", "auto", "--maxprocesses", "4", "--dist", "worksteal"]
BROWSER = ["-m", "browser"]
NO_TESTS = 5


def _lowest_priority() -> None:
    os.nice(19)


def status_of(codes: list[int], names: tuple[str, ...] = ("the tests without a browser", "the browser tests")) -> int:
    """The suite's exit status from the parts' pytest statuses (in the order of `names`)."""
    for code, name in zip(codes, names, strict=True):
        if code == NO_TESTS:
            print(f"no tests collected: {name} selected none", file=sys.stderr)
            return 1
        if code != 0:
            return code
    return 0


def _stop(process: subprocess.Popen) -> None:
    """Interrupt a part as Ctrl-C would (its fixtures stop the servers and browsers they started), then kill
    what is left of its process group."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _environment() -> dict[str, str]:
    """The parts' environment. The suite starts a few hundred Python processes (CLI runs, servers, sweep workers);
    each would compile the project's modules again (~0.1 s) where the machine switches bytecode writing off."""
    return {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def check(extra: list[str]) -> int:
    """The tests without a browser alone, at normal priority, reporting to the terminal."""
    done = subprocess.run([*PYTEST, *WITHOUT_BROWSER, *extra], cwd=ROOT, env=_environment())
    return status_of([done.returncode], ("the tests without a browser",))


def main(extra: list[str]) -> int:
    env = _environment()
    LOG.parent.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parts: list[subprocess.Popen] = []
    # each part in a process group of its own: the terminal's Ctrl-C reaches this script alone, which passes one
    # interrupt to each part and stops whatever a part leaves behind. A group, not a session: Linux schedules each
    # session as one autogroup, and nice works only among the processes of a group (in a session of its own, the
    # niced part took half the CPU from the browser tests, and a game test timed out)
    with open(LOG, "w", encoding="utf-8") as log:
        try:
            parts.append(
                subprocess.Popen(
                    [*PYTEST, *WITHOUT_BROWSER, *extra],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    preexec_fn=_lowest_priority,
                    process_group=0,
                )
            )
            print(f"tests without a browser: running alongside at nice 19, report in {LOG} (printed below)", flush=True)
            parts.append(subprocess.Popen([*PYTEST, *BROWSER, *extra], cwd=ROOT, env=env, process_group=0))
            browser = parts[1].wait()
            print("\nbrowser tests done; waiting for the tests without a browser", flush=True)
            rest = parts[0].wait()
        except BaseException:
            for part in parts:
                _stop(part)
            raise
    print(LOG.read_text(encoding="utf-8"), end="", flush=True)
    return status_of([rest, browser])


if __name__ == "__main__":
    try:
        sys.exit(check(sys.argv[2:]) if sys.argv[1:2] == ["--check"] else main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
