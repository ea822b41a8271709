"""Mesa's own SolaraViz with RegionModel (examples/solaraviz_app.py), in headless Chromium, offline.

`solara run` serves the example on a free localhost port; the page must draw both matplotlib
plots (as images with pixels), step (Mesa's "Time:" counter moves on and the plots redraw), and
reset (the counter goes back to 0: Reset rebuilds RegionModel from a RegionScenario), with no
error text and no request leaving this machine (tests/browser/conftest.py).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys

import pytest

from tests.browser.conftest import ROOT, OfflinePage, _free_port, artifact_log, wait_until_answering

APP = ROOT / "examples" / "solaraviz_app.py"
ERROR_WORDS = ("Traceback", "Error:", "Exception", "Missing required model parameter", "Invalid model parameter")


@contextlib.contextmanager
def solara_run(log_name: str):
    """`solara run examples/solaraviz_app.py` on a free port; yields the URL once it answers."""
    port = _free_port()
    log = artifact_log(log_name)
    solara = [sys.executable, "-m", "solara", "run", str(APP), "--host", "127.0.0.1", "--port", str(port), "--no-open", "--production"]
    process = subprocess.Popen(solara, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_answering(process, url, f"solara run (log: {log.name})", seconds=90.0, pause=0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def example_url():
    with solara_run("solaraviz-example.log") as url:
        yield url


def plot_images(page) -> list[dict]:
    """Every drawn plot image: its `src` (matplotlib figures arrive as PNG blobs) and how many distinct
    colours a 40×40 sample of its pixels holds (a blank image has one, a chart with axes and lines many)."""
    return page.evaluate("""() => [...document.querySelectorAll('img')]
        .filter(i => i.complete && i.naturalWidth > 100 && i.naturalHeight > 100)
        .map(i => {
            const c = document.createElement('canvas'); c.width = i.naturalWidth; c.height = i.naturalHeight;
            const g = c.getContext('2d'); g.drawImage(i, 0, 0);
            const d = g.getImageData(0, 0, c.width, c.height).data, seen = new Set();
            for (let y = 0; y < 40; y++) for (let x = 0; x < 40; x++) {
                const k = 4 * (Math.floor(y * c.height / 40) * c.width + Math.floor(x * c.width / 40));
                seen.add(d[k] + ',' + d[k + 1] + ',' + d[k + 2]);
            }
            return {src: i.src, colours: seen.size};
        })""")


def wait_plots(page, count: int, timeout: float = 60.0) -> None:
    page.wait_for_function(
        f"""() => [...document.querySelectorAll('img')]
        .filter(i => i.complete && i.naturalWidth > 100 && i.naturalHeight > 100).length >= {count}""",
        timeout=timeout * 1000,
    )


def wait_images_replaced(page, old: list[str], first: int = 2, timeout: float = 30.0) -> None:
    """Wait until the page shows at least two images and none of its first `first` is one of `old` (plots redrawn)."""
    page.wait_for_function(
        "([old, first]) => { const now = [...document.querySelectorAll('img')].map(i => i.src);"
        " return now.length >= 2 && now.slice(0, first).every(src => !old.includes(src)); }",
        arg=[old, first],
        timeout=timeout * 1000,
    )


def counter(page) -> str:
    """Mesa's "Time: …" line in the Information card."""
    return page.get_by_text("Time:").first.inner_text().strip()


def test_solaraviz_example_renders_steps_and_resets_offline(browser, example_url, artifacts):
    session = OfflinePage(browser, example_url)
    page = session.page
    try:
        page.goto(example_url)
        page.get_by_role("button", name="Step").wait_for(timeout=60_000)
        wait_plots(page, 2)
        before = plot_images(page)
        assert len(before) >= 2, "both plots draw"
        assert all(image["colours"] >= 3 for image in before[:2]), f"a plot image is blank: {before}"
        assert counter(page) == "Time: 0.0"

        page.get_by_role("button", name="Step").click()
        page.wait_for_function("() => document.body.innerText.includes('Time: 1.0')", timeout=30_000)
        page.get_by_role("button", name="Step").click()
        page.wait_for_function("() => document.body.innerText.includes('Time: 2.0')", timeout=30_000)
        wait_images_replaced(page, [image["src"] for image in before])
        page.screenshot(path=str(artifacts / "solaraviz-example-stepped.png"))

        stepped = [image["src"] for image in plot_images(page)]
        page.get_by_role("button", name="Reset").click()
        page.wait_for_function("() => document.body.innerText.includes('Time: 0.0')", timeout=30_000)
        wait_images_replaced(page, stepped)  # the plots redrawn for the reset model, not the stepped ones still on the page
        wait_plots(page, 2)
        text = page.inner_text("body")
        assert not [word for word in ERROR_WORDS if word in text], f"error text on the page after Reset: {text[:2000]}"
        after_reset = [image["src"] for image in plot_images(page)]
        page.get_by_role("button", name="Step").click()
        page.wait_for_function("() => document.body.innerText.includes('Time: 1.0')", timeout=30_000)
        wait_images_replaced(page, after_reset, first=1)
        page.screenshot(path=str(artifacts / "solaraviz-example-reset.png"))
        text = page.inner_text("body")
        assert not [word for word in ERROR_WORDS if word in text], f"error text on the page: {text[:2000]}"
    finally:
        session.close()
    assert session.external == [], f"the page asked for non-local addresses: {session.external}"
