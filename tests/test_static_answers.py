"""The dashboard server remembers its static answers (viz/server.py `StaticAnswers`).

Driven as ASGI directly, around a stand-in app that counts how often it is asked and answers in two body
chunks: a second GET of a front-end file is replayed byte for byte (status, headers, body) without asking
the app; anything else — other methods, conditional or range requests, errors, other paths, websockets —
goes to the app every time.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from regionsim.viz.server import StaticAnswers


class CountingApp:
    def __init__(self, status: int = 200) -> None:
        self.calls = 0
        self.status = status

    async def __call__(self, scope, receive, send) -> None:
        self.calls += 1
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": self.status, "headers": [(b"x-call", str(self.calls).encode())]})
        await send({"type": "http.response.body", "body": b"part one, ", "more_body": True})
        await send({"type": "http.response.body", "body": scope["path"].encode()})


def get(app, path: str, method: str = "GET", headers: list | None = None, kind: str = "http") -> tuple[dict, bytes]:
    """One request through `app`: (the start message, the whole body)."""
    messages: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        messages.append(message)

    scope = {"type": kind, "method": method, "path": path, "query_string": b"v=1", "headers": headers or [(b"accept-encoding", b"gzip")]}
    with ThreadPoolExecutor(1) as thread:  # its own thread: a browser test's event loop may be running in this one
        thread.submit(asyncio.run, app(scope, receive, send)).result()
    start = next((m for m in messages if m["type"] == "http.response.start"), {})
    return start, b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")


def test_a_static_file_is_answered_once_and_replayed_whole():
    inner = CountingApp()
    app = StaticAnswers(inner)
    first = get(app, "/_solara/cdn/app.min.js")
    second = get(app, "/_solara/cdn/app.min.js")
    assert inner.calls == 1
    assert first == second
    assert second[1] == b"part one, /_solara/cdn/app.min.js"
    assert dict(second[0]["headers"])[b"x-call"] == b"1"
    # a browser that does not accept gzip gets its own answer (the kept one may be compressed)
    get(app, "/_solara/cdn/app.min.js", headers=[(b"accept-encoding", b"identity")])
    assert inner.calls == 2
    for prefix in ("/static/main.js", "/jupyter/nbextensions/jupyter-vue/nodeps.js"):
        get(app, prefix)
        get(app, prefix)
    assert inner.calls == 4


def test_pages_errors_conditional_and_other_requests_always_reach_the_app():
    inner = CountingApp()
    app = StaticAnswers(inner)
    for _ in range(2):
        get(app, "/")  # the page itself: per session
        get(app, "/_solara/cdn/app.min.js", method="HEAD")
        get(app, "/_solara/cdn/app.min.js", headers=[(b"range", b"bytes=0-9")])
        get(app, "/_solara/cdn/app.min.js", headers=[(b"if-none-match", b'"abc"')])
        get(app, "/static/ws", kind="websocket")
    assert inner.calls == 10
    failing = CountingApp(status=404)
    app = StaticAnswers(failing)
    get(app, "/static/missing.js")
    start, _ = get(app, "/static/missing.js")
    assert failing.calls == 2 and start["status"] == 404
