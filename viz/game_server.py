"""Serve the classroom game: `regionsim game SCENARIO [--host H] [--port P] [--resume FOLDER]`.

One game per server process (`GAME`): the teacher's screen is `/teacher?key=…` (the key is printed
at start and kept in the game folder), students open `/` and type the join code. Solara serves both
screens (viz/game_app.py) offline; a small JSON API beside them lets lightweight clients play too:

  POST /game-api/join    {"code", "name", "role"?}                  → {"token", "role"}
  POST /game-api/submit  {"token", "role", "round", "decisions"}    → {"seq"}; 403 when refused
  POST /game-api/offer   {"token", "role", "to", "amount", "rounds", "kind"?, "split"?, "origin"?}  → {"offer"}; 403 when refused
                         (kind: abatement (default) or eco_comp with an amount; tax_split with split and origin)
  POST /game-api/answer  {"token", "role", "offer", "action"}         → {"ok"} (accept, decline, withdraw); 403 when refused
  GET  /game-api/status                                             → round, year, roles submitted, offers

A ticker closes a round when every role with a player has submitted or the countdown ran out.
The game folder holds game.json (saved atomically after every submission and round) and game.log
(refused requests); `--resume FOLDER` continues it.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from pathlib import Path

from regionsim.model.errors import UserError
from regionsim.model.game import Game, Refused

APP = str(Path(__file__).resolve().parent / "game_app.py")
GAME: Game | None = None
"""The one game of this server."""
ADDRESS: dict[str, str] = {}
"""`student` (the address students type) and `teacher` (the teacher's link)."""


def qr_svg(text: str, scale: int = 8) -> str:
    """`text` as a QR code, an inline <svg> drawn here by segno (no outside service)."""
    import segno

    return segno.make(text, error="m").svg_inline(scale=scale, dark="#000", light="#fff")


def add_api_routes() -> None:
    """The JSON API (module docstring) on Solara's Starlette app."""
    from solara.server.starlette import app
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def read(request) -> dict:
        try:
            body = await request.json()
        except ValueError:
            body = None
        return body if isinstance(body, dict) else {}

    async def join(request):
        body = await read(request)
        try:
            token, role = GAME.join(body.get("code"), body.get("name"), body.get("role"))
        except Refused as exc:
            return JSONResponse({"error": str(exc)}, status_code=403)
        return JSONResponse({"token": token, "role": role})

    async def submit(request):
        body = await read(request)
        try:
            seq = GAME.submit(body.get("token"), body.get("role"), body.get("decisions"), body.get("round"))
        except Refused as exc:
            return JSONResponse({"error": str(exc)}, status_code=403)
        return JSONResponse({"seq": seq})

    async def offer(request):
        body = await read(request)
        try:
            offer_id = GAME.offer(
                body.get("token"),
                body.get("role"),
                body.get("to"),
                body.get("amount"),
                body.get("rounds"),
                kind=body.get("kind", "abatement"),
                split=body.get("split"),
                origin=body.get("origin"),
            )
        except Refused as exc:
            return JSONResponse({"error": str(exc)}, status_code=403)
        return JSONResponse({"offer": offer_id})

    async def answer(request):
        body = await read(request)
        try:
            GAME.answer(body.get("token"), body.get("role"), body.get("offer"), body.get("action"))
        except Refused as exc:
            return JSONResponse({"error": str(exc)}, status_code=403)
        return JSONResponse({"ok": True})

    async def status(request):
        s = GAME.status()
        s.pop("players")
        return JSONResponse(s)

    for route in (
        Route("/game-api/join", endpoint=join, methods=["POST"]),
        Route("/game-api/submit", endpoint=submit, methods=["POST"]),
        Route("/game-api/offer", endpoint=offer, methods=["POST"]),
        Route("/game-api/answer", endpoint=answer, methods=["POST"]),
        Route("/game-api/status", endpoint=status),
    ):
        app.router.routes.insert(0, route)


def tick(game: Game, stop: threading.Event, every: float = 0.25) -> None:
    """Close rounds that are due (every role with a player submitted, or time up) until `stop` is set."""
    while not stop.wait(every):
        try:
            if game.due():
                game.step_round()
        except Refused:
            pass


def serve(
    scenario: str | None,
    *,
    host: str = "127.0.0.1",
    port: int = 8766,
    resume: Path | None = None,
    folder: Path | None = None,
    seed: int = 0,
    years_per_round: int = 2,
    round_seconds: float = 180.0,
) -> int:
    """Start (or resume) a game and serve it until Ctrl-C; return the exit status."""
    global GAME
    from regionsim.viz.server import _port_free, lan_address, network_notice, solara_app

    if resume is not None:
        GAME = Game.resume(resume)
    else:
        if scenario is None:
            raise UserError("name a scenario (e.g. regionsim game classroom) or --resume FOLDER")
        from regionsim.model.scenario import load_scenario

        load_scenario(scenario)  # one clear message for a bad name
        folder = folder or Path("games") / f"{Path(scenario).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        if (folder / "game.json").exists():
            raise UserError(f"--folder {folder}: holds a game already; continue it with --resume {folder}")
        GAME = Game(scenario, folder, seed=seed, years_per_round=years_per_round, round_seconds=round_seconds)
    if not 0 <= port <= 65535:
        raise UserError(f"--port {port}: must be from 0 to 65535")
    if not _port_free(host, port):
        raise UserError(f"--port {port}: already in use on {host}; choose another with --port")
    os.environ["SOLARA_APP"] = APP
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    os.environ.setdefault("SOLARA_MODE", "production")
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")
    os.environ.setdefault("SOLARA_THEME_TITLE", "regionsim classroom game")
    add_api_routes()

    import uvicorn

    shown = host if host not in ("0.0.0.0", "::", "") else (lan_address() or "localhost")
    if host == "127.0.0.1":
        shown = "127.0.0.1"
    ADDRESS["student"] = f"http://{shown}:{port}/"
    ADDRESS["teacher"] = f"http://{shown}:{port}/teacher?key={GAME.teacher_key}"
    stop = threading.Event()
    threading.Thread(target=tick, args=(GAME, stop), daemon=True).start()
    config = uvicorn.Config(solara_app(), host=host, port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    if os.environ.get(STOP_ON_EOF_ENV) == "1":  # started by a dashboard: stop when it goes, however it goes
        threading.Thread(target=_stop_on_eof, args=(server,), daemon=True).start()
    print(f"regionsim game: {GAME.scenario}, students open {ADDRESS['student']} and type the code {GAME.join_code}", flush=True)
    print(f"regionsim game: teacher's screen {ADDRESS['teacher']}", flush=True)
    print(f"regionsim game: saved after every round in {GAME.folder}/ (continue with --resume {GAME.folder})", flush=True)
    for line in network_notice(host, port)[1:]:
        print(line, flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    stop.set()
    print("regionsim game: stopped", file=sys.stderr, flush=True)
    return 0


STOP_ON_EOF_ENV = "REGIONSIM_GAME_STOP_ON_EOF"
"""Set to 1 by the dashboard that starts a game (viz/game_launch.py): the game stops when its standard
input closes, i.e. when that dashboard's process ends, even if it was killed."""


def _stop_on_eof(server) -> None:
    sys.stdin.read()
    server.should_exit = True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
