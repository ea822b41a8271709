"""Shared test helpers: the hand-made three-city state and small model runs."""

from __future__ import annotations

import atexit
import copy
import io
import json
import locale
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
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


# --- the command line in a forked child of one warm interpreter ------------------------------------------

# A fresh `regionsim` process spends about 0.5 s (1 s on a loaded machine) importing numpy, pandas and the model
# before a `validate` that itself takes 5 ms. The server below imports that once per test session; each call
# forks a child of it that runs the console script's own entry point (`sys.exit(main())`, argv[0] "regionsim")
# with its own stdout, stderr, exit status and working directory, and stdin closed. An uncaught exception in
# the child prints Python's traceback and exits 1, as in a fresh interpreter; at exit the child runs the atexit
# handlers and flushes its output, but skips the teardown of every module (0.3 s; no command relies on it).
# The child gets the caller's environment as it is at the call (the server itself starts from the one this
# session started with); the package reads the environment only when it runs, not on import. What a fork does
# not give: a fresh interpreter start-up (tests of that, and of results agreeing across separate interpreters,
# such as hash-seed independence, keep using `regionsim()`). The server's own imports must print nothing.
CLI_SERVER = r"""
import atexit, json, os, sys
import regionsim.model.cli, regionsim.model.scenario, regionsim.model.model, regionsim.model.run
import regionsim.model.provenance, regionsim.model.citations, regionsim.model.outputs, regionsim.model.synth
import regionsim.model.sweeps, regionsim.model.rules


def serve():
    print("ready", flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            return request
        _, status = os.waitpid(pid, 0)
        print(json.dumps(os.waitstatus_to_exitcode(status)), flush=True)
    return None


request = serve()
if request is not None:
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(os.open(request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 1)
    os.dup2(os.open(request["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
    sys.stdin = open(os.devnull, encoding="utf-8")
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.argv = ["regionsim", *request["args"]]
    from regionsim.model.cli import main

    # sys.exit(main()), as the interpreter would end it, but without tearing down every module (0.3 s)
    try:
        code = main()
    except SystemExit as exc:
        code = exc.code
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            code = code or 120  # as the interpreter does when it cannot flush at exit
    os._exit((code or 0) & 0xFF)
"""
_cli_server: dict = {}
_SESSION_ENV = dict(os.environ)


def _start_cli_server() -> subprocess.Popen:
    folder = Path(tempfile.mkdtemp(prefix="regionsim-cli-"))
    errors = open(folder / "server.err", "w+b")  # noqa: SIM115 - kept open with the server
    process = subprocess.Popen(
        [sys.executable, "-c", CLI_SERVER],
        cwd=ROOT,
        env=_SESSION_ENV,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=errors,
        start_new_session=True,
    )
    ready = process.stdout.readline()
    errors.seek(0)
    printed = errors.read().decode(errors="replace")
    assert ready == b"ready\n" and not printed, f"importing the command line printed: {ready!r} {printed}"
    _cli_server.update(process=process, folder=folder, errors=errors, calls=0)
    return process


def _stop_cli_server() -> None:
    process = _cli_server.pop("process", None)
    if process is not None:
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        _cli_server.pop("errors").close()
        shutil.rmtree(_cli_server.pop("folder"), ignore_errors=True)


atexit.register(_stop_cli_server)


def _decoded(data: bytes) -> str:
    """What `subprocess.run(..., text=True)` makes of a child's output (locale encoding, universal newlines)."""
    return io.TextIOWrapper(io.BytesIO(data), encoding=locale.getpreferredencoding(False)).read()


def cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `regionsim ARGS` in a child forked from the warm server (see CLI_SERVER): a CompletedProcess like `regionsim()`'s."""
    process = _cli_server.get("process")
    if process is None or process.poll() is not None:
        _stop_cli_server()
        process = _start_cli_server()
    _cli_server["calls"] += 1
    out, err = (_cli_server["folder"] / f"{_cli_server['calls']}.{name}" for name in ("out", "err"))
    request = {"args": [str(a) for a in args], "cwd": str(cwd or ROOT), "env": dict(os.environ), "out": str(out), "err": str(err)}
    process.stdin.write((json.dumps(request) + "\n").encode())
    process.stdin.flush()
    if not select.select([process.stdout], [], [], timeout)[0]:
        os.killpg(process.pid, signal.SIGKILL)  # the server and the child that hangs
        _stop_cli_server()
        raise subprocess.TimeoutExpired(["regionsim", *request["args"]], timeout)
    line = process.stdout.readline()
    assert line, "the command-line server died"
    done = subprocess.CompletedProcess(
        ["regionsim", *request["args"]], json.loads(line), _decoded(out.read_bytes()), _decoded(err.read_bytes())
    )
    out.unlink()
    err.unlink()
    return done


def default_sigint() -> None:
    """Give a child process Ctrl-C's default meaning (preexec_fn): a shell that started the suite in the background
    made SIGINT ignored, and a child would inherit that and never see the tests' Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
