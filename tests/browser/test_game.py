"""The classroom game in offline Chromium: a teacher and six students, each in their own browser
context, play three rounds of classroom; the debrief shows the three paths, in a table and as charts over
the years; the export re-runs to the same outputs; a student forging another role's decision is refused
and logged; a reload keeps the role; students agree a payment and a tax split on their screens."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd

from tests.browser.conftest import ARTIFACTS, ROOT, OfflinePage, _free_port, artifact_log, wait_until_answering


@contextlib.contextmanager
def running_game(folder: Path):
    """`regionsim game classroom` on a free port with no countdown; yields (student url, teacher url, code)."""
    port = _free_port()
    log = artifact_log("game-server.log")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "regionsim.model.cli",
            "game",
            "classroom",
            "--port",
            str(port),
            "--folder",
            str(folder),
            "--round-seconds",
            "0",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        first, second = process.stdout.readline(), process.stdout.readline()
        student = re.search(r"students open (\S+) and type the code (\w+)", first)
        teacher = re.search(r"teacher's screen (\S+)", second)
        assert student and teacher, (first, second)
        wait_until_answering(process, student.group(1), "the game server")
        yield student.group(1), teacher.group(1), student.group(2)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def open_student(browser, url: str, code: str, name: str) -> OfflinePage:
    session = OfflinePage(browser, url, viewport=(420, 900))
    page = session.page
    page.goto(url)
    page.wait_for_selector(".rs-join", timeout=60_000)
    page.get_by_label("Join code").fill(code)
    page.get_by_label("Your name").fill(name)
    page.click(".rs-join")
    page.wait_for_selector(".rs-role", timeout=60_000)
    return session


def wait_share_shown(page, value: float, timeout: float = 30.0) -> None:
    """Wait until the student's form shows `value` as its own abatement effort."""
    page.wait_for_function(
        "v => Math.abs(parseFloat(document.querySelector('.rs-choice-abatement_floor input').value) - v) < 1e-9",
        arg=value,
        timeout=timeout * 1000,
    )


def test_a_teacher_and_six_students_play_three_rounds(browser, tmp_path: Path) -> None:
    folder = tmp_path / "game"
    with running_game(folder) as (student_url, teacher_url, code):
        teacher = OfflinePage(browser, teacher_url)
        tpage = teacher.page
        tpage.goto(teacher_url)
        tpage.wait_for_selector(".rs-code", timeout=60_000)
        assert tpage.inner_text(".rs-code").strip() == code
        assert tpage.locator(".rs-qr svg").count() == 1  # the QR code, drawn locally

        students = [open_student(browser, student_url, code, f"Student {i}") for i in range(6)]
        roles = [s.page.get_attribute(".rs-role", "data-role") for s in students]
        assert sorted(roles) == ["east"] * 3 + ["west"] * 3

        # a reload keeps the role
        students[0].page.reload()
        students[0].page.wait_for_selector(".rs-role", timeout=60_000)
        assert students[0].page.get_attribute(".rs-role", "data-role") == roles[0]

        # a forged decision for the other role is refused by the server, and logged
        token = re.search(r"[?&]t=([^&]+)", students[0].page.url).group(1)
        other = "west" if roles[0] == "east" else "east"
        status = students[0].page.evaluate(
            """async ([token, role]) => (await fetch('/game-api/submit', {method: 'POST', headers: {'Content-Type': 'application/json'},
                 body: JSON.stringify({token, role, round: 1, decisions: {joint_control: false}})})).status""",
            [token, other],
        )
        assert status == 403
        logged = [json.loads(line) for line in (folder / "game.log").read_text().splitlines()]
        assert logged[-1]["why"].startswith("forged") and logged[-1]["role"] == other

        # each round East's three students submit in turn (each sees who submitted last, and the form of a
        # teammate shows what was just set), then one West student: the round closes when every role has submitted
        east_ones = [i for i, r in enumerate(roles) if r == "east"]
        west_one = roles.index("west")
        for round_no in (1, 2, 3):
            for i in [*east_ones, west_one]:
                page = students[i].page
                page.wait_for_selector(f".rs-round:text-is('{round_no}')", timeout=60_000)
                page.wait_for_selector(f".rs-form-round-{round_no}", timeout=60_000)  # this round's form, not the last one's
                if i != west_one and i != east_ones[0]:  # the form made afresh after the teammate's submission, not the old one
                    before = east_ones[east_ones.index(i) - 1]
                    page.wait_for_selector(f".rs-last-by:has-text('Student {before} submitted')", timeout=30_000)
                    # and its fields in place: typing into the old form as it is replaced would be lost (the label
                    # can arrive before the new fields on a busy machine)
                    wait_share_shown(page, 0.1 * round_no + 0.02 * before)
                share = page.locator(".rs-choice-abatement_floor input")
                value = 0.1 * round_no + 0.02 * i
                share.fill(f"{value:.2f}")
                share.press("Enter")
                page.click(".rs-submit")
                if i == west_one:
                    break
                try:
                    page.wait_for_selector(
                        f".rs-last-by:has-text('Student {i} submitted for East Province at round {round_no}')", timeout=30_000
                    )
                except Exception:
                    page.screenshot(path=str(ARTIFACTS / f"game-student-{i}-round{round_no}.png"), full_page=True)
                    raise
                mate = students[next(k for k in east_ones if k != i)].page
                mate.wait_for_selector(f".rs-last-by:has-text('Student {i} submitted')", timeout=30_000)
                try:
                    wait_share_shown(mate, value)
                except Exception:
                    mate.screenshot(path=str(ARTIFACTS / f"game-mate-of-{i}-round{round_no}.png"), full_page=True)
                    shown = mate.locator(".rs-choice-abatement_floor input").input_value()
                    raise AssertionError(f"student {i} set {value}; a teammate's form shows {shown}") from None
                assert tpage.locator(".rs-round").inner_text().strip() == str(round_no)  # East alone does not close it
            tpage.wait_for_selector(f".rs-round:text-is('{round_no + 1}')", timeout=60_000)
        assert tpage.inner_text(".rs-year").strip() == "2031"

        tpage.click(".rs-debrief-button")
        tpage.wait_for_selector(".rs-debrief", timeout=60_000)
        # one legend above the charts, whole chart titles that fit their chart, first and last years ticked
        assert tpage.locator(".rs-debrief-legend").count() == 1
        assert tpage.locator(".rs-debrief-legend").inner_text().count("each for itself (no coordination)") == 1
        titles = tpage.locator(".rs-chart-title").evaluate_all("els => els.map(e => [e.textContent, e.scrollWidth <= e.clientWidth])")
        assert ["Money received net, cumulative (亿元)", True] in titles and all(fits for _, fits in titles)
        ticks = tpage.locator(".rs-debrief-chart").first.evaluate(
            "s => [...s.querySelectorAll('text[text-anchor=middle]')].map(t => t.textContent).filter(t => /^\\d{4}$/.test(t))"
        )
        assert ticks[0] == "2025" and ticks[-1] == "2031", ticks
        for path in ("class", "no_coordination", "plan_as_written"):
            assert tpage.locator(f".rs-debrief-{path}").count() == 3  # East, West and the region
        # the charts over the years: score, PM2.5, GDP and money for East, West and the region, each with a line
        # per path over the seven years 2025–2031
        charts = tpage.locator(".rs-debrief-charts svg.rs-debrief-chart")
        assert charts.count() == 12
        assert tpage.locator(".rs-debrief-who").evaluate_all("els => els.map(e => e.dataset.who)") == ["east", "west", "region"]
        lines = charts.evaluate_all(
            """svgs => svgs.map(s => [...s.querySelectorAll('polyline.rs-line')].map(
                   p => [p.querySelector('title').textContent, p.getAttribute('points').split(' ').length]))"""
        )
        paths = ["the class", "each for itself (no coordination)", "full coordination (plan as written)"]
        assert lines == [[[name, 7] for name in paths]] * 12
        assert tpage.locator(".rs-debrief-charts svg.rs-debrief-chart-pm25_ugm3").count() == 3
        assert students[0].page.locator(".rs-score-words").inner_text().startswith("Your score = 40 × GDP per head")
        tpage.click(".rs-lang")
        tpage.wait_for_selector("text=课堂博弈", timeout=30_000)
        assert tpage.inner_text(".rs-round-line").startswith("第4轮 · 2031年")
        tpage.screenshot(path=str(ARTIFACTS / "game-teacher-debrief.png"), full_page=True)

        tpage.click(".rs-export")
        tpage.wait_for_selector(".rs-message", timeout=60_000)
        exported = Path(re.search(r"(/\S+)", tpage.inner_text(".rs-message")).group(1))
        for session in [teacher, *students]:
            assert session.external == [], session.external
            session.close()

    events = pd.read_parquet(exported / "events.parquet").query("rule == 'GAME'")
    assert (events.kind == "submission").sum() == 12  # four students × three rounds, none lost or doubled
    replayed = tmp_path / "replayed"
    done = subprocess.run(
        [sys.executable, "-m", "regionsim.model.cli", "game", "--replay", str(exported / "game.toml"), "--out", str(replayed)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for name in ("model.parquet", "agents.parquet", "events.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(exported / name), pd.read_parquet(replayed / name))


def pick(page, css: str, option: str) -> None:
    """Choose `option` in the Solara select with class `css`."""
    page.locator(f".{css}").first.click()
    page.locator("[role=option]:visible, .v-menu__content .v-list-item:visible", has_text=option).first.click()
    page.wait_for_function("() => !document.querySelector('.menuable__content__active')", timeout=10_000)


def post(page, path: str, body: dict) -> int:
    """POST `body` to the game's JSON API from inside `page`; the response status."""
    return page.evaluate(
        """async ([path, body]) => (await fetch(path, {method: 'POST', headers: {'Content-Type': 'application/json'},
             body: JSON.stringify(body)})).status""",
        [path, body],
    )


def test_students_trade_an_offer_and_the_teacher_reassigns_and_ends(browser, tmp_path: Path) -> None:
    folder = tmp_path / "game"
    with running_game(folder) as (student_url, teacher_url, code):
        teacher = OfflinePage(browser, teacher_url)
        tpage = teacher.page
        tpage.goto(teacher_url)
        tpage.wait_for_selector(".rs-code", timeout=60_000)
        east, west = (open_student(browser, student_url, code, name) for name in ("Ann", "Bo"))
        assert [s.page.get_attribute(".rs-role", "data-role") for s in (east, west)] == ["east", "west"]

        # East proposes to pay West 12 亿元 a year for 2 rounds, on its screen
        epage, wpage = east.page, west.page
        amount = epage.locator(".rs-offer-amount input")
        amount.fill("12")
        amount.press("Enter")
        rounds = epage.locator(".rs-offer-rounds input")
        rounds.fill("2")
        rounds.press("Enter")
        epage.click(".rs-offer-send")
        wpage.wait_for_selector(".rs-accept-1", timeout=30_000)  # West sees it, with Accept and Decline

        # nobody but West may accept it: East's token, as East or claiming West, is refused and logged
        token = re.search(r"[?&]t=([^&]+)", epage.url).group(1)
        assert post(epage, "/game-api/answer", {"token": token, "role": "east", "offer": 1, "action": "accept"}) == 403
        assert post(epage, "/game-api/answer", {"token": token, "role": "west", "offer": 1, "action": "accept"}) == 403
        logged = [json.loads(line) for line in (folder / "game.log").read_text().splitlines()]
        assert [x["why"].split(":")[0] for x in logged] == ["forged", "forged"]

        wpage.click(".rs-accept-1")
        epage.wait_for_selector(".rs-offer-1.rs-offer-accepted", timeout=30_000)
        tpage.wait_for_selector(".rs-teacher-offer.rs-offer-accepted", timeout=30_000)
        wpage.wait_for_selector(".rs-offer-1.rs-offer-accepted", timeout=30_000)  # West's own screen too, before it types on

        # West proposes, on its screen, that East (the origin of the firms that move) keeps 80% of their taxes
        pick(wpage, "rs-offer-kind", "Tax split on firms that moved")
        split = wpage.locator(".rs-offer-split input")
        split.fill("0.8")
        split.press("Enter")
        pick(wpage, "rs-offer-origin", "East Province")
        wpage.click(".rs-offer-send")
        epage.wait_for_selector(".rs-accept-2", timeout=30_000)  # offers are numbered 1, 2, … on their own
        assert "No. 2: West Province hands East Province 80% of the taxes of firms that moved from East Province" in epage.inner_text(
            ".rs-offer-2"
        )
        epage.click(".rs-accept-2")
        wpage.wait_for_selector(".rs-offer-2.rs-offer-accepted", timeout=30_000)
        epage.wait_for_selector(".rs-offer-2.rs-offer-accepted", timeout=30_000)

        # out-of-range and non-numbers are refused in plain words, not changed silently
        share = epage.locator(".rs-choice-abatement_floor input")
        share.fill("0.9")
        epage.wait_for_selector(".rs-field-error-abatement_floor:has-text('must be from 0 to 0.7, not 0.9')", timeout=30_000)
        epage.click(".rs-submit")
        epage.wait_for_selector(".rs-error:has-text('Not submitted')", timeout=30_000)
        share.fill("abc")
        epage.wait_for_selector(".rs-field-error-abatement_floor:has-text('“abc” is not a number')", timeout=30_000)
        amount.fill("0")
        epage.click(".rs-offer-send")
        epage.wait_for_selector(".rs-offer-error:has-text('The yearly amount must be more than 0 and at most')", timeout=30_000)
        assert "amount:" not in epage.inner_text(".rs-offer-error")
        assert json.loads((folder / "game.json").read_text())["pending"] == []

        # re-opening the join address in the same browser returns Ann to her page: no second player
        epage.goto(student_url)
        epage.wait_for_selector(".rs-role[data-role='east']", timeout=60_000)
        assert "t=" in epage.url
        assert len(json.loads((folder / "game.json").read_text())["players"]) == 2
        # a ghost joins from another browser; the teacher removes it, and its page asks it to join again
        ghost = open_student(browser, student_url, code, "Zed")
        tpage.wait_for_selector(".rs-who >> text=Zed", timeout=30_000)
        tpage.click(".rs-remove-2")
        ghost.page.wait_for_selector(".rs-join", timeout=30_000)
        assert len(json.loads((folder / "game.json").read_text())["players"]) == 2
        tpage.wait_for_selector(".rs-who >> text=Zed", state="detached", timeout=30_000)  # the teacher's list shows it
        ghost.close()
        tpage.click(".rs-step")
        tpage.wait_for_selector(".rs-round:text-is('2')", timeout=60_000)

        # the teacher moves Ann to West; her screen follows, and she keeps her session
        pick(tpage, "rs-reassign-0", "West")
        epage.wait_for_selector(".rs-role[data-role='west']", timeout=30_000)
        epage.reload()
        epage.wait_for_selector(".rs-role[data-role='west']", timeout=60_000)
        tpage.wait_for_selector(".rs-who[data-role='west'] >> text=Ann", timeout=30_000)

        # the teacher ends the game: the debrief opens, students see the end, no more decisions pass
        tpage.click(".rs-end")
        tpage.wait_for_selector(".rs-debrief", timeout=60_000)
        assert tpage.inner_text(".rs-round-line").strip() == "Game over after round 1 · 2027"
        for page in (epage, wpage):
            page.wait_for_selector(".rs-ended", timeout=30_000)
        body = {"token": token, "role": "west", "round": 2, "decisions": {"joint_control": False}}
        assert post(epage, "/game-api/submit", body) == 403
        tpage.screenshot(path=str(ARTIFACTS / "game-teacher-ended.png"), full_page=True)
        tpage.click(".rs-export")
        tpage.wait_for_selector(".rs-message", timeout=60_000)
        exported = Path(re.search(r"(/\S+)", tpage.inner_text(".rs-message")).group(1))
        for session in (teacher, east, west):
            assert session.external == [], session.external
            session.close()

    events = pd.read_parquet(exported / "events.parquet")
    game = events.query("rule == 'GAME' and kind in ('offer', 'acceptance')")
    assert [(json.loads(d)["offer"], s, k) for d, s, k in zip(game.detail, game.source, game.kind, strict=True)] == [
        (1, "east", "offer"),
        (1, "west", "acceptance"),
        (2, "west", "offer"),
        (2, "east", "acceptance"),
    ]
    assert [(json.loads(d)["round"], s, k) for d, s, k in zip(game.detail, game.source, game.kind, strict=True)] == [
        (1, "east", "offer"),
        (1, "west", "acceptance"),
        (1, "west", "offer"),
        (1, "east", "acceptance"),
    ]
    split = [json.loads(d) for d in game.detail][2]
    assert (split["kind"], split["split"], split["origin"], split["host"]) == ("tax_split", 0.8, "east", "west")
    said = events.query("rule == 'TAX_SHARE' and source == 'milltown'").why_en
    assert said.str.contains("80% of the taxes").all() and len(said) == 2  # 2026 and 2027: the split held both years
    paid = events.query("rule == 'AIR' and kind == 'payment'")
    assert list(paid.year) == [2026, 2027] and list(paid.amount) == [12.0, 12.0]  # round 1 stepped two years; the game ended


def test_the_dashboard_starts_a_game_on_its_scenario_and_links_the_teachers_screen(browser, tmp_path: Path) -> None:
    import os

    from tests.browser.conftest import running_dashboard

    env = {**os.environ, "REGIONSIM_GAMES_DIR": str(tmp_path / "games")}
    with running_dashboard("dashboard-game-server.log", env=env) as (_, url):
        session = OfflinePage(browser, url)
        page = session.open()
        page.click(".rs-start-game")
        page.wait_for_selector(".rs-game-teacher", timeout=120_000)
        teacher_url = page.get_attribute(".rs-game-teacher", "href")
        code = page.inner_text(".rs-game-code").strip()
        page.click(".rs-start-game")  # one game per dashboard: a second click shows the same game
        page.wait_for_timeout(1000)
        assert page.get_attribute(".rs-game-teacher", "href") == teacher_url
        with session.context.expect_page() as opened:
            page.click(".rs-game-teacher")  # opens in a new tab
        tpage = opened.value
        tpage.wait_for_selector(".rs-code", timeout=60_000)
        assert tpage.inner_text(".rs-code").strip() == code
        roles = tpage.locator(".rs-who").evaluate_all("rows => rows.map(r => r.dataset.role)")
        assert roles == ["beijing", "tianjin", "hebei_rest", "xiongan_baoding"]  # capital_region; its lesson splits Hebei
        assert session.external == [], session.external
        session.close()
        saved = list((tmp_path / "games").glob("capital_region-*/game.json"))
        assert len(saved) == 1
    student, deadline = teacher_url.split("teacher?")[0], time.monotonic() + 30
    while True:  # the game stops with the dashboard
        try:
            urllib.request.urlopen(student, timeout=2)
        except OSError:
            break
        assert time.monotonic() < deadline, "the game outlived the dashboard by 30 s"
        time.sleep(0.5)
