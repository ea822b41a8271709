"""Serve the dashboard: `regionsim dashboard [SCENARIO] [--port N] [--host H] [--no-open]`.

Runs Solara's Starlette app under uvicorn in this process, prints the address, and serves until
Ctrl-C. The scenario is checked before the server starts (a typo ends with one clear message,
exit status 2), then handed to the page through an environment variable; each browser session
builds its own model from it. Solara's telemetry is switched off: the dashboard makes no request
beyond the machine it runs on.

With `REGIONSIM_DEBUG_SESSIONS=1` in the environment the server also answers
`GET /regionsim-debug/sessions` with JSON counts of what is alive in it — Solara kernels (browser
sessions), `DashboardRun`s and `RegionModel`s, after a garbage collection — so a test can check
that closing browser sessions frees their models. It is off unless asked for.
"""

from __future__ import annotations

import gc
import os
import socket
import sys
import threading
import time
import webbrowser
from pathlib import Path

from regionsim.model.errors import UserError

APP = str(Path(__file__).resolve().parent / "app.py")


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def configure(scenario: str | None) -> None:
    """Environment for the Solara app (before solara.server is imported)."""
    from regionsim.viz import SCENARIO_ENV  # not viz.app: importing solara before these are set would ignore them

    if scenario:
        os.environ[SCENARIO_ENV] = scenario
    os.environ["SOLARA_APP"] = APP
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    os.environ.setdefault("SOLARA_MODE", "production")
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")
    os.environ.setdefault("SOLARA_THEME_TITLE", "regionsim dashboard")
    # a session whose browser vanished without saying goodbye (crash, lost network, sleeping laptop)
    # is freed after 10 minutes instead of Solara's default 24 hours; a reload starts a fresh model
    os.environ.setdefault("SOLARA_KERNEL_CULL_TIMEOUT", "10m")


DEBUG_ENV = "REGIONSIM_DEBUG_SESSIONS"
DEBUG_PATH = "/regionsim-debug/sessions"


def live_counts() -> dict[str, int]:
    """Solara kernels (open and closed-but-kept), dashboard runs and RegionModels alive in this process."""
    from regionsim.model.model import RegionModel
    from regionsim.viz.session import DashboardRun
    from solara.server import kernel_context

    gc.collect()
    kernels = list(kernel_context.contexts.values())
    return {
        "kernels": len(kernels),
        "kernels_open": sum(not k.closed_event.is_set() for k in kernels),
        "dashboard_runs": sum(isinstance(o, DashboardRun) for o in gc.get_objects()),
        "region_models": sum(isinstance(o, RegionModel) for o in gc.get_objects()),
    }


def add_debug_route() -> None:
    """`GET /regionsim-debug/sessions` (see the module docstring); call after `configure`."""
    from solara.server.starlette import app
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def sessions(request):
        return JSONResponse(live_counts())

    app.router.routes.insert(0, Route(DEBUG_PATH, endpoint=sessions))


class StaticAnswers:
    """ASGI middleware that remembers the answers to GETs of the front end's static files.

    Solara compresses each answer anew (gzip level 9): the front end's 2 MB of JavaScript cost about
    0.4 s of server time on every page load, and a class of thirty opening the page at once queues
    that thirty times. The files do not change while the server runs, so the first answer (status,
    headers and already compressed body) is kept and replayed. Only plain 200 answers to GETs without
    conditional or range headers are kept, per path, query and whether the browser accepts gzip."""

    PREFIXES = ("/_solara/cdn/", "/static/", "/jupyter/nbextensions/")
    LARGEST = 16 * 2**20  # bytes: a bigger answer is passed through, not kept
    PASS = (b"range", b"if-none-match", b"if-modified-since", b"if-range")

    def __init__(self, app) -> None:
        self.app = app
        self.kept: dict[tuple[str, bytes, bool], tuple[dict, bytes]] = {}

    async def __call__(self, scope, receive, send) -> None:
        static = scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(self.PREFIXES)
        headers = dict(scope.get("headers", ())) if static else {}
        if not static or any(name in headers for name in self.PASS):
            await self.app(scope, receive, send)
            return
        key = (scope["path"], scope.get("query_string", b""), b"gzip" in headers.get(b"accept-encoding", b""))
        if key in self.kept:
            start, body = self.kept[key]
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        start: dict = {}
        chunks: list[bytes] = []

        async def keep(message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and start.get("status") == 200:
                    body = b"".join(chunks)
                    if len(body) <= self.LARGEST:
                        self.kept[key] = (dict(start), body)
            await send(message)

        await self.app(scope, receive, keep)


def solara_app():
    """Solara's Starlette app, with its static answers remembered (`StaticAnswers`)."""
    from solara.server.starlette import app

    return StaticAnswers(app)


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def lan_address() -> str | None:
    """This machine's address on its local network (the one a default route would use), or None.
    No packet is sent: connecting a UDP socket only picks the outgoing interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def network_notice(host: str, port: int) -> list[str]:
    """What to print when the dashboard listens beyond this machine: the address students type, and
    a warning. Empty for a loopback host."""
    if host in LOOPBACK:
        return []
    address = host if host not in ("0.0.0.0", "::", "") else (lan_address() or socket.gethostname())
    return [
        f"regionsim dashboard: students on the same network type  http://{address}:{port}/",
        f"WARNING: --host {host} exposes the dashboard to every machine that can reach this one on port {port}: "
        "anyone there can open it and run models on this computer. Use it only on a trusted classroom network, "
        "and stop the server (Ctrl-C) after the lesson.",
    ]


def serve(scenario: str | None, host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True) -> int:
    """Start the dashboard on `scenario` (default: capital_region) at http://host:port/; return
    the exit status when stopped."""
    from regionsim.model.model import DEFAULT_SCENARIO
    from regionsim.model.scenario import load_scenario

    name = scenario or DEFAULT_SCENARIO
    load_scenario(name)  # raises UserError with the reason: no server for a scenario that cannot run
    if not 0 <= port <= 65535:
        raise UserError(f"--port {port}: must be from 0 to 65535")
    if port == 0:
        with socket.socket() as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
    if not _port_free(host, port):
        raise UserError(f"--port {port}: already in use on {host}; choose another with --port")
    configure(name)
    os.environ["REGIONSIM_DASHBOARD_HOST"] = host  # a classroom game started from the dashboard listens there too
    if os.environ.get(DEBUG_ENV) == "1":
        add_debug_route()

    import uvicorn

    shown_host = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    url = f"http://{shown_host}:{port}/"
    config = uvicorn.Config(solara_app(), host=host, port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    print(f"regionsim dashboard: scenario {name} at {url}  (Ctrl-C to stop)", flush=True)
    for line in network_notice(host, port):
        print(line, flush=True)

    if open_browser:

        def _open() -> None:
            while not server.started and not server.should_exit:
                time.sleep(0.1)
            if server.started:
                webbrowser.open(url)

        threading.Thread(target=_open, daemon=True).start()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    print("regionsim dashboard: stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover - `python -m viz.server [SCENARIO] [PORT]`
    sys.exit(serve(sys.argv[1] if len(sys.argv) > 1 else None, port=int(sys.argv[2]) if len(sys.argv) > 2 else 8765, open_browser=False))
