"""Start a classroom game from the dashboard: its "Start a classroom game" button.

One Solara server serves one app, so the game cannot live inside the dashboard's server: the button
starts `regionsim game SCENARIO` as a child process on a free port, on the host the dashboard listens
on (`regionsim dashboard --host`; loopback by default), saved under games/ (or $REGIONSIM_GAMES_DIR),
reads the addresses it prints, and shows the
teacher's link (it opens in a new tab), the students' address and the join code. One game per
dashboard process: a second click shows the running game's links; if that game has stopped, the
button starts a new one. The game stops when the dashboard's process ends (it watches its standard
input, which the dashboard holds open).
"""

from __future__ import annotations

import atexit
import os
import re
import subprocess
import sys
import threading
import time
from html import escape
from pathlib import Path

import solara
from regionsim.viz.game_text import tr

HOST_ENV = "REGIONSIM_DASHBOARD_HOST"
"""The host the dashboard listens on (viz/server.py sets it); the game listens there too."""
GAMES_ENV = "REGIONSIM_GAMES_DIR"
"""Where games started from the dashboard are saved (default: games/ in the dashboard's folder)."""
LOCK = threading.Lock()
LAUNCHED: dict[str, object] = {}
"""The running game started from this dashboard: process, scenario, student, code, teacher."""


def _stop() -> None:
    process = LAUNCHED.get("process")
    if isinstance(process, subprocess.Popen) and process.poll() is None:
        process.terminate()


atexit.register(_stop)


def launch(scenario: str, host: str | None = None, timeout: float = 120.0) -> dict[str, object]:
    """The running game of this dashboard, or a new one on `scenario`: {scenario, student, code, teacher}.
    Raise RuntimeError with the game's own message if it does not start."""
    from regionsim.viz.game_server import STOP_ON_EOF_ENV, free_port

    with LOCK:
        process = LAUNCHED.get("process")
        if isinstance(process, subprocess.Popen) and process.poll() is None:
            return {k: v for k, v in LAUNCHED.items() if k != "process"}
        host = host or os.environ.get(HOST_ENV, "127.0.0.1")
        port = free_port(host if host not in ("0.0.0.0", "::") else "127.0.0.1")
        folder = Path(os.environ.get(GAMES_ENV, "games")) / f"{Path(scenario).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        command = [sys.executable, "-m", "regionsim.model.cli", "game", scenario, "--host", host, "--port", str(port)]
        command += ["--folder", str(folder)]
        process = subprocess.Popen(
            command,
            cwd=os.getcwd(),
            stdin=subprocess.PIPE,  # held open while this dashboard runs: the game stops when it closes
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, STOP_ON_EOF_ENV: "1"},
        )
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(process.stdout.readline() for _ in range(2)), daemon=True)
        reader.start()
        reader.join(timeout)
        student = re.search(r"students open (\S+) and type the code (\w+)", lines[0]) if lines else None
        teacher = re.search(r"teacher's screen (\S+)", lines[1]) if len(lines) > 1 else None
        if not (student and teacher):
            process.terminate()
            error = process.stderr.read() if process.poll() is not None else ""
            raise RuntimeError(error.strip().splitlines()[-1] if error.strip() else "the game did not start")
        threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()  # keep its pipe drained
        _wait_until_up(student.group(1), process, timeout)
        LAUNCHED.clear()
        LAUNCHED.update(process=process, scenario=scenario, student=student.group(1), code=student.group(2), teacher=teacher.group(1))
        return {k: v for k, v in LAUNCHED.items() if k != "process"}


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the game's server did not answer")


@solara.component
def GameLauncher(scenario: str, lang: str):
    """The dashboard's button that starts a classroom game on its scenario, and the game's links."""
    game, set_game = solara.use_state(None)
    error, set_error = solara.use_state("")

    def start():
        try:
            set_game(launch(scenario))
            set_error("")
        except RuntimeError as exc:
            set_error(str(exc))

    solara.Button(tr("start_game", lang), on_click=start, classes=["rs-start-game"], outlined=True, style="color:#fff")
    if game:
        shown = "" if game["scenario"] == scenario else f" ({escape(str(game['scenario']))})"
        solara.HTML(
            tag="span",
            unsafe_innerHTML=(
                f"<a class='rs-game-teacher' href='{escape(str(game['teacher']))}' target='_blank' rel='noopener' "
                f"style='color:#80d8ff'>{escape(tr('open_teacher', lang))}</a>{shown} · "
                f"{escape(tr('students_open', lang))} <b>{escape(str(game['student']))}</b> "
                f"{escape(tr('and_type_code', lang))} <b class='rs-game-code'>{escape(str(game['code']))}</b>"
            ),
            style="font-size:13px;color:#fff",
        )
    if error:
        solara.HTML(tag="span", unsafe_innerHTML=escape(error), classes=["rs-game-error"], style="color:#ffcc80;font-size:13px")
