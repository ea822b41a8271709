"""Browser-test fixtures: a dashboard server in a subprocess, headless Chromium with the network cut.

Chromium is Debian's (`/usr/bin/chromium`, or `$REGIONSIM_CHROMIUM`); Playwright's own browser
download is not used. Without Chromium the browser tests skip, except under `CI=true`, where
they fail: CI must run them. Every page gets a route that aborts any request not addressed to
this machine and records it; `offline_page` tests assert that none was made.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def chromium_path() -> str | None:
    """Debian's Chromium, if installed."""
    for candidate in (
        os.environ.get("REGIONSIM_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def pytest_collection_modifyitems(config, items):
    """Mark every test here `browser`; skip them without Chromium unless CI requires them."""
    here = Path(__file__).parent
    missing = chromium_path() is None
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
            if missing and not CI:
                item.add_marker(pytest.mark.skip(reason="Chromium not installed (apt-get install chromium)"))


def artifact_log(name: str):
    """A log file under tests/artifacts/ for a server a test starts, one per pytest worker (`make test` runs the
    suite in parallel processes: two workers' servers must not write one file)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    path = ARTIFACTS / (f"{Path(name).stem}-{worker}{Path(name).suffix}" if worker else name)
    return open(path, "w")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_dashboard(log_name: str, env: dict | None = None, ready_path: str = ""):
    """`regionsim dashboard capital_region --no-open` on a free localhost port; yields (process, url)
    once `url + ready_path` answers, and stops the server afterwards."""
    port = _free_port()
    log = artifact_log(log_name)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "regionsim.model.cli",
            "dashboard",
            "capital_region",
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--no-open",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        printed = process.stdout.readline()
        assert f":{port}/" in printed, f"the dashboard did not print its address: {printed!r}"
        wait_until_answering(process, url + ready_path.lstrip("/"), "the dashboard server")
        yield process, url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def wait_until_answering(process, url: str, name: str, seconds: float = 60.0, pause: float = 0.2) -> None:
    """Poll `url` until it answers 200; fail if `process` exits first or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        assert process.poll() is None, f"{name} exited"
        assert time.monotonic() < deadline, f"{name} did not answer within {seconds:.0f} s"
        time.sleep(pause)


@pytest.fixture(scope="session")
def dashboard_url():
    """The dashboard served for the browser tests of this session."""
    with running_dashboard("dashboard-server.log") as (_, url):
        yield url


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Debian's)."""
    path = chromium_path()
    if path is None:
        pytest.fail("Chromium is required under CI=true: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class OfflinePage:
    """A page whose requests may only go to this machine; `external` lists any that tried not to."""

    def __init__(self, browser, url: str, viewport: tuple[int, int] = (1500, 1000)) -> None:
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, accept_downloads=True)
        self.external: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.url = url

    def _route(self, route) -> None:
        target = urlparse(route.request.url)
        if target.scheme in ("data", "blob") or target.hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def open(self):
        """Load the dashboard and wait for the map."""
        self.page.goto(self.url)
        self.page.wait_for_selector(".rs-map circle.rs-city", timeout=60_000)
        return self.page

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def offline(browser, dashboard_url):
    """A fresh browser session (own cookies, so its own dashboard state) with the network cut."""
    session = OfflinePage(browser, dashboard_url)
    yield session
    session.close()
    assert session.external == [], f"the page asked for non-local addresses: {session.external}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
