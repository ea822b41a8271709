"""The classroom game's screens (Solara, offline): `/` for students, `/teacher?key=…` for the teacher.

Every screen reads the one game of this server (`regionsim.viz.game_server.GAME`) and re-renders when
it changes (a poller per screen watches `Game.version` and the countdown). A student's link carries
their session token (`/?t=…`), so a reload or a reconnect keeps their role; the server checks the
token on every submission (`Game.submit`).
"""

from __future__ import annotations

import functools
import time
from html import escape
from urllib.parse import parse_qs

import solara
from regionsim.model.game import CHOICES, OFFER_MAX_ROUNDS, Refused, offer_words
from regionsim.viz import game_server
from regionsim.viz.game_text import tr
from regionsim.viz.svg import PALETTE, Series, line_chart_svg

CSS = """
.rs-game { font-family: sans-serif; max-width: 1200px; margin: 0 auto; padding: 8px; }
.rs-game table { border-collapse: collapse; }
.rs-game td, .rs-game th { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: right; }
.rs-game td:first-child, .rs-game th:first-child { text-align: left; }
.rs-code { font-size: 56px; font-weight: bold; letter-spacing: 6px; }
.rs-explain { font-size: 13px; color: #444; margin: 0 0 10px 0; }
.rs-debrief-who { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 8px; }
.rs-offer-form { flex-wrap: wrap; }
.rs-offer-form > * { min-width: 150px; }
"""


def _query(router) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(router.search or "").items()}


def _poll(cancel, clock: bool = False):
    """Yield whenever the game changes (and, with `clock`, every second for the countdown), until the
    screen closes. A student's screen has no clock: a re-render while they type would be wasted."""
    seen = None
    while not cancel.is_set():
        game = game_server.GAME
        now = (game.version, int(time.time()) if clock else 0) if game is not None else (None, 0)
        if now != seen:
            seen = now
            yield now
        time.sleep(0.3)


def _num(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


@solara.component
def LanguageToggle(lang: str, set_lang):
    solara.Button(tr("language", lang), on_click=lambda: set_lang("zh" if lang == "en" else "en"), text=True, classes=["rs-lang"])


# --- student ----------------------------------------------------------------------------------------


@solara.component
def StudentJoin(lang: str, router):
    game = game_server.GAME
    code, set_code = solara.use_state("")
    name, set_name = solara.use_state("")
    role, set_role = solara.use_state("")
    error, set_error = solara.use_state("")
    labels = {"": tr("role_any", lang)}
    labels |= {r: (v.name_zh if lang == "zh" else v.name_en) for r, v in game.roles.items()}

    def join():
        try:
            token, _ = game.join(code, name, role or None)
        except Refused as exc:
            set_error(tr("refused", lang, why=str(exc)))
            return
        router.push(f"/?t={token}&lang={lang}")

    solara.HTML(tag="h2", unsafe_innerHTML=escape(tr("join_title", lang)))
    solara.InputText(tr("code", lang), value=code, on_value=set_code, continuous_update=True)
    solara.InputText(tr("name", lang), value=name, on_value=set_name, continuous_update=True)
    solara.Select(
        tr("role", lang),
        values=list(labels.values()),
        value=labels[role],
        on_value=lambda v: set_role(next(k for k, x in labels.items() if x == v)),
    )
    solara.Button(tr("join", lang), on_click=join, color="primary", classes=["rs-join"])
    if error:
        solara.HTML(tag="div", unsafe_innerHTML=escape(error), classes=["rs-error"], style="color:#b71c1c")


@solara.component
def DecisionForm(lang: str, token: str, role: str, round_no: int):
    game = game_server.GAME
    current = game.current[role]
    draft, set_draft = solara.use_state(dict(current))
    message, set_message = solara.use_state("")
    cities = dict(
        zip(game.roles[role].cities, game.roles[role].city_names_zh if lang == "zh" else game.roles[role].city_names_en, strict=True)
    )

    def put(key, value):
        set_draft({**draft, key: value})

    def submit():
        try:
            game.submit(token, role, draft, round_no)  # a form left open from a closed round is refused, not moved on
        except Refused as exc:
            set_message(tr("refused", lang, why=str(exc)))
            return
        set_message("")

    solara.HTML(tag="h3", unsafe_innerHTML=escape(tr("decisions", lang)), classes=[f"rs-form-round-{round_no}"])
    for key in game.choices_of(role):
        choice = CHOICES[key]
        label = choice.label_zh if lang == "zh" else choice.label_en
        explain = choice.explain_zh if lang == "zh" else choice.explain_en
        if choice.kind == "bool":
            with solara.Div(classes=[f"rs-choice-{key}"]):
                solara.Checkbox(label=label, value=bool(draft[key]), on_value=lambda v, k=key: put(k, bool(v)))
        elif choice.kind == "share":
            solara.InputFloat(
                f"{label} (0–{game.max_abatement:g})",
                value=float(draft[key]),
                on_value=lambda v, k=key: put(k, max(0.0, min(game.max_abatement, float(v or 0.0)))),
                continuous_update=True,
                classes=[f"rs-choice-{key}"],
            )
        else:
            solara.HTML(tag="div", unsafe_innerHTML=escape(label))
            for city, shown in cities.items():
                solara.InputFloat(
                    f"{shown} (0–{choice.high:g})",
                    value=float(draft[key].get(city, 0.0)),
                    on_value=lambda v, c=city, k=key, h=choice.high: put(k, {**draft[k], c: max(0.0, min(h, float(v or 0.0)))}),
                    continuous_update=True,
                    classes=[f"rs-choice-{key}-{city}"],
                )
        solara.HTML(tag="p", unsafe_innerHTML=escape(explain), classes=["rs-explain"])
    solara.Button(tr("submit", lang), on_click=submit, color="primary", classes=["rs-submit"])
    if message:
        solara.HTML(tag="div", unsafe_innerHTML=escape(message), classes=["rs-error"], style="color:#b71c1c")


def offer_line(game, offer: dict, lang: str) -> str:
    """One offer in plain words: what it agrees, and where it stands."""
    status = tr(f"offer_{offer['status']}", lang)
    if offer["status"] == "accepted":
        status += " · " + tr("offer_paying", lang, a=offer["first_round"], b=offer["last_round"])
    return tr("offer_line", lang, id=offer["id"], what=offer_words(offer, game.roles, lang), status=status)


@solara.component
def OfferRow(lang: str, token: str, role: str, offer: dict, act):
    """One offer to or from this role, with the buttons its role may press."""
    game = game_server.GAME
    oid = offer["id"]
    with solara.Row(classes=["rs-offer", f"rs-offer-{oid}", f"rs-offer-{offer['status']}"]):
        solara.HTML(tag="span", unsafe_innerHTML=escape(offer_line(game, offer, lang)))
        if offer["status"] == "open" and offer["to"] == role:
            for action in ("accept", "decline"):
                solara.Button(
                    tr(action, lang),
                    on_click=lambda a=action: act(lambda: game.answer(token, role, oid, a)),
                    classes=[f"rs-{action}-{oid}"],
                )
        elif offer["status"] == "open" and offer["from"] == role:
            solara.Button(
                tr("withdraw", lang),
                on_click=lambda: act(lambda: game.answer(token, role, oid, "withdraw")),
                classes=[f"rs-withdraw-{oid}"],
            )


def _pick(label: str, options: dict[str, str], value: str, on_value, css: str) -> None:
    """A select of `options` (key → shown text), or the one option as text."""
    if len(options) > 1:
        solara.Select(
            label,
            values=list(options.values()),
            value=options[value],
            on_value=lambda v: on_value(next(k for k, x in options.items() if x == v)),
            classes=[css],
        )
    else:
        solara.HTML(tag="span", unsafe_innerHTML=f"{escape(label)}: <b>{escape(options[value])}</b>", classes=[css])


@solara.component
def OffersPanel(lang: str, token: str, role: str, offers: list, limit: float):
    """Offers to and from this role (accept, decline, withdraw) and a form to propose one of each kind."""
    game = game_server.GAME
    names = {r: (v.name_zh if lang == "zh" else v.name_en) for r, v in game.roles.items()}
    kind, set_kind = solara.use_state(game.offer_kinds[0])
    to, set_to = solara.use_state("")
    amount, set_amount = solara.use_state(round(min(limit, 10.0), 1))
    split, set_split = solara.use_state(0.5)
    origin, set_origin = solara.use_state(role)
    rounds, set_rounds = solara.use_state(2)
    message, set_message = solara.use_state("")
    tonnes = 1e4 / max(game.model.params["air"]["cost_10k_yuan_per_t"], 1e-12)
    targets = game.offer_targets(role, kind)
    target = to if to in targets else (targets[0] if targets else "")

    def act(call):
        try:
            call()
        except Refused as exc:
            set_message(tr("refused", lang, why=str(exc)))
            return
        set_message("")

    solara.HTML(tag="h3", unsafe_innerHTML=escape(tr("offers", lang)))
    solara.HTML(tag="p", unsafe_innerHTML=escape(tr("offers_explain", lang, t=tonnes)), classes=["rs-explain"])
    for extra in ("tax_split", "eco_comp"):
        if extra in game.offer_kinds:
            solara.HTML(tag="p", unsafe_innerHTML=escape(tr(f"{extra}_explain", lang)), classes=["rs-explain"])
    if not offers:
        solara.HTML(tag="div", unsafe_innerHTML=escape(tr("no_offers", lang)), classes=["rs-no-offers"])
    for offer in sorted(offers, key=lambda o: -o["id"]):
        OfferRow(lang, token, role, offer, act)
    with solara.Row(classes=["rs-offer-form"]):
        _pick(tr("offer_kind", lang), {k: tr(f"kind_{k}", lang) for k in game.offer_kinds}, kind, set_kind, "rs-offer-kind")
        if not targets:
            solara.HTML(tag="span", unsafe_innerHTML=escape(tr("no_target", lang)), classes=["rs-no-target"])
        else:
            _pick(tr("offer_to", lang), {r: names[r] for r in targets}, target, set_to, "rs-offer-to")
            if kind == "tax_split":
                solara.InputFloat(
                    tr("offer_split", lang),
                    value=split,
                    on_value=lambda v: set_split(float(v or 0.0)),
                    continuous_update=True,
                    classes=["rs-offer-split"],
                )
                mine = {role: names[role], target: names[target]}
                _pick(tr("offer_origin", lang), mine, origin if origin in mine else role, set_origin, "rs-offer-origin")
            else:
                solara.InputFloat(
                    tr("offer_amount", lang, limit=limit),
                    value=amount,
                    on_value=lambda v: set_amount(float(v or 0.0)),
                    continuous_update=True,
                    classes=["rs-offer-amount"],
                )
            solara.InputInt(
                tr("offer_rounds", lang, n=OFFER_MAX_ROUNDS),
                value=rounds,
                on_value=lambda v: set_rounds(int(v or 0)),
                continuous_update=True,
                classes=["rs-offer-rounds"],
            )
            solara.Button(
                tr("offer_send", lang),
                on_click=lambda: act(
                    lambda: game.offer(
                        token, role, target, amount, rounds, kind=kind, split=split, origin=origin if origin in (role, target) else role
                    )
                ),
                classes=["rs-offer-send"],
            )
    if message:
        solara.HTML(tag="div", unsafe_innerHTML=escape(message), classes=["rs-error", "rs-offer-error"], style="color:#b71c1c")


@solara.component
def StudentPage():
    router = solara.use_router()
    query = _query(router)
    lang, set_lang = solara.use_state(query.get("lang", "en") if query.get("lang") in ("en", "zh") else "en")
    solara.use_thread(_poll, dependencies=[])
    game = game_server.GAME
    solara.Style(CSS)
    with solara.Column(classes=["rs-game"]):
        with solara.Row():
            solara.HTML(tag="h1", unsafe_innerHTML=escape(tr("title", lang)))
            LanguageToggle(lang, set_lang)
        token = query.get("t")
        if not token:
            StudentJoin(lang, router)
            return
        player = game.player(token)
        if player is None:
            solara.HTML(tag="div", unsafe_innerHTML=escape(tr("unknown_session", lang)), classes=["rs-error"])
            StudentJoin(lang, router)
            return
        role = player["role"]
        info = game.roles[role]
        view = game.role_view(role)
        solara.HTML(
            tag="h2",
            unsafe_innerHTML=f"{escape(tr('you_play', lang))}: <span class='rs-role' data-role='{escape(role)}'>"
            f"{escape(info.name_zh if lang == 'zh' else info.name_en)}</span> — {escape(player['name'])}",
        )
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"{escape(tr('round', lang))} <b class='rs-round'>{view['round']}</b> · "
            f"{escape(tr('year', lang))} <b class='rs-year'>{view['year']}</b>",
        )
        now, base = view["now"], view["base"]
        rows = [
            ("population", "population_10k", 1),
            ("gdp", "gdp_100m_yuan", 0),
            ("pm25", "pm25_ugm3", 1),
            ("net", "net_received_cumulative_100m_yuan", 1),
            ("score", "score", 1),
        ]
        w = view["weights"]
        start_score = sum(w.values())
        table = "".join(
            f"<tr><td>{escape(tr(k, lang))}</td><td class='rs-ind-{col}'>{_num(now.get(col, 0.0), d)}</td>"
            f"<td>({_num(base.get(col, start_score if col == 'score' else 0.0), d)})</td></tr>"
            for k, col, d in rows
        )
        solara.HTML(tag="h3", unsafe_innerHTML=escape(tr("indicators", lang)))
        solara.HTML(tag="table", unsafe_innerHTML=table, classes=["rs-indicators"])
        words = tr("score_words", lang, g=w["gdp_per_head"], a=w["clean_air"], b=w["budget"], total=start_score)
        solara.HTML(tag="p", unsafe_innerHTML=escape(words), classes=["rs-explain", "rs-score-words"])
        if not info.whole:
            solara.HTML(tag="p", unsafe_innerHTML=escape(lead_words(game, role, lang)), classes=["rs-explain", "rs-lead"])
        if game.ended or not game.model.running:
            solara.HTML(tag="div", unsafe_innerHTML=escape(tr("ended", lang)), classes=["rs-ended"])
            return
        state = tr("submitted", lang, n=view["round"]) if view["submitted"] else tr("waiting", lang, n=view["round"])
        solara.HTML(tag="div", unsafe_innerHTML=escape(state), classes=["rs-status", "rs-done" if view["submitted"] else "rs-waiting"])
        DecisionForm(lang, token, role, view["round"]).key(f"form-{view['round']}-{role}-{lang}")  # a fresh form each round
        OffersPanel(lang, token, role, view["offers"], view["offer_limit"]).key(f"offers-{role}-{lang}")


def lead_words(game, role: str, lang: str) -> str:
    """Who makes the province-wide decisions of a role that is part of a province, in plain words."""
    info = game.roles[role]
    s = game.model.state
    i = s.province_ids.index(info.province)
    province = s.province_names_zh[i] if lang == "zh" else s.province_names_en[i]
    names = {r: (v.name_zh if lang == "zh" else v.name_en) for r, v in game.roles.items()}
    if info.lead:
        others = [names[r] for r, v in game.roles.items() if v.province == info.province and r != role]
        return tr("lead_self", lang, province=province, others=("、" if lang == "zh" else ", ").join(others))
    return tr("lead_other", lang, province=province, lead=names[game.lead_of(role).id])


# --- teacher ----------------------------------------------------------------------------------------


def debrief_html(game, lang: str) -> str:
    """The class's path against each-for-itself and full coordination, per role and the region (last year)."""
    data = game.debrief()
    names = {r: (v.name_zh if lang == "zh" else v.name_en) for r, v in game.roles.items()} | {"region": tr("region", lang)}
    head = (
        f"<tr><th>{escape(tr('role', lang))}</th><th>{escape(tr('path', lang))}</th><th>{escape(tr('score', lang))}</th>"
        f"<th>{escape(tr('pm25', lang))}</th><th>{escape(tr('gdp', lang))}</th>"
        f"<th>{escape(tr('net', lang))} / {escape(tr('money_moved', lang))}</th></tr>"
    )
    body = []
    for who in [*data["roles"], "region"]:
        for path in ("class", "no_coordination", "plan_as_written"):
            row = data["paths"][path]["rows"][-1][who]
            money = row.get("net_received_cumulative_100m_yuan", row.get("money_moved_cumulative_100m_yuan", 0.0))
            body.append(
                f"<tr class='rs-debrief-{path}'><td>{escape(names[who])}</td><td>{escape(tr(path, lang))}</td>"
                f"<td>{_num(row['score'])}</td><td>{_num(row['pm25_ugm3'])}</td>"
                f"<td>{_num(row['gdp_100m_yuan'], 0)}</td><td>{_num(money)}</td></tr>"
            )
    year = data["paths"]["class"]["years"][-1]
    return f"<caption>{escape(tr('debrief', lang))} — {year}</caption>{head}{''.join(body)}"


DEBRIEF_PATHS = (("class", PALETTE[0], False), ("no_coordination", PALETTE[1], True), ("plan_as_written", PALETTE[2], False))
"""The debrief's three paths: text key, colour, dashed."""
DEBRIEF_MEASURES = (
    ("score", "chart_score", ""),
    ("pm25_ugm3", "chart_pm25", "µg/m³"),
    ("gdp_100m_yuan", "chart_gdp", "亿元"),
    ("money", "chart_net", "亿元"),
)
"""The debrief's charts of each role (column, title key, unit); "money" is a role's net received, the region's money moved."""


def debrief_charts_html(game, lang: str) -> str:
    """The class's path against each-for-itself and full coordination over the years: for each role and the
    region, a line chart (viz/svg.py, inline SVG) of score, PM2.5, GDP and money, one line per path."""
    data = game.debrief()
    names = {r: (v.name_zh if lang == "zh" else v.name_en) for r, v in game.roles.items()} | {"region": tr("region", lang)}
    blocks = []
    for who in [*data["roles"], "region"]:
        charts = []
        for column, title, unit in DEBRIEF_MEASURES:
            if column == "money":
                column, title = (
                    ("money_moved_cumulative_100m_yuan", "chart_moved") if who == "region" else ("net_received_cumulative_100m_yuan", title)
                )
            series = [
                Series(
                    tr(path, lang), data["paths"][path]["years"], [row[who][column] for row in data["paths"][path]["rows"]], colour, dashed
                )
                for path, colour, dashed in DEBRIEF_PATHS
            ]
            charts.append(
                line_chart_svg(
                    f"{names[who]}: {tr(title, lang)}",
                    series,
                    width=290,
                    height=190,
                    unit=unit,
                    lang=lang,
                    css_class=f"rs-chart rs-debrief-chart rs-debrief-chart-{column}",
                )
            )
        blocks.append(f"<div class='rs-debrief-who' data-who='{escape(who)}'>{''.join(charts)}</div>")
    return f"<h3>{escape(tr('debrief_charts', lang))}</h3>{''.join(blocks)}"


@solara.component
def TeacherPage():
    router = solara.use_router()
    query = _query(router)
    lang, set_lang = solara.use_state("zh" if query.get("lang") == "zh" else "en")
    show_debrief, set_show_debrief = solara.use_state(False)
    message, set_message = solara.use_state("")
    solara.use_thread(functools.partial(_poll, clock=True), dependencies=[])
    game = game_server.GAME
    solara.Style(CSS)
    with solara.Column(classes=["rs-game"]):
        with solara.Row():
            solara.HTML(tag="h1", unsafe_innerHTML=escape(tr("title", lang)))
            LanguageToggle(lang, set_lang)
        key = query.get("key", "")
        try:
            game.check_teacher(key) if key else None
        except Refused:
            key = ""
        if not key:
            solara.HTML(tag="div", unsafe_innerHTML=escape(tr("teacher_only", lang)), classes=["rs-teacher-only"])
            return
        address = game_server.ADDRESS.get("student", "/")
        with solara.Row():
            solara.HTML(tag="div", unsafe_innerHTML=game_server.qr_svg(address, scale=6), classes=["rs-qr"])
            solara.HTML(
                tag="div",
                unsafe_innerHTML=f"<div>{escape(tr('students_open', lang))} <b>{escape(address)}</b> "
                f"{escape(tr('and_type_code', lang))}</div>"
                f"<div class='rs-code'>{escape(game.join_code)}</div>",
            )
        status = game.status()
        left = status["seconds_left"]
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"{escape(tr('round', lang))} <b class='rs-round'>{status['round']}</b> · {escape(tr('year', lang))} "
            f"<b class='rs-year'>{status['year']}</b> / {status['horizon']}"
            + ("" if left is None or status["ended"] else f" · {escape(tr('time_left', lang))} <b class='rs-countdown'>{int(left)} s</b>"),
        )
        rows = []
        for r, v in game.roles.items():
            done = r in status["submitted"]
            rows.append(
                f"<tr class='rs-who' data-role='{escape(r)}'><td>{escape(v.name_zh if lang == 'zh' else v.name_en)}</td>"
                f"<td>{escape(', '.join(status['players'][r]))}</td>"
                f"<td class='{'rs-done' if done else 'rs-waiting'}'>{escape(tr('done' if done else 'not_done', lang))}</td></tr>"
            )
        solara.HTML(tag="h3", unsafe_innerHTML=escape(tr("who", lang)))
        solara.HTML(tag="table", unsafe_innerHTML="".join(rows), classes=["rs-who-table"])
        names = {r: (v.name_zh if lang == "zh" else v.name_en) for r, v in game.roles.items()}
        if game.players and not status["ended"]:
            solara.HTML(tag="h3", unsafe_innerHTML=escape(tr("reassign", lang)))
            for i, (token_hash, player) in enumerate(sorted(game.players.items(), key=lambda kv: kv[1]["name"])):

                def move(label, h=token_hash):
                    game.reassign(key, h, next(r for r in game.roles if names[r] == label))

                solara.Select(
                    f"{tr('player', lang)}: {player['name']}",
                    values=list(names.values()),
                    value=names[player["role"]],
                    on_value=move,
                    classes=["rs-reassign", f"rs-reassign-{i}"],
                )
        offers = status["offers"]
        if offers:
            solara.HTML(tag="h3", unsafe_innerHTML=escape(tr("offers", lang)))
            solara.HTML(
                tag="div",
                unsafe_innerHTML="".join(
                    f"<div class='rs-teacher-offer rs-offer-{o['status']}'>{escape(offer_line(game, o, lang))}</div>" for o in offers
                ),
                classes=["rs-teacher-offers"],
            )

        def step():
            try:
                game.step_round()
            except Refused as exc:
                set_message(str(exc))

        def end():
            game.end(key)
            set_show_debrief(True)

        def export():
            out = game.folder / f"export-round{len(game.rounds)}"
            if out.exists():
                set_message(tr("exported", lang, path=str(out.resolve())))
                return
            set_message(tr("exported", lang, path=str(game.export(out))))

        with solara.Row():
            solara.Button(tr("step", lang), on_click=step, disabled=status["ended"], classes=["rs-step"])
            solara.Button(tr("end", lang), on_click=end, disabled=status["ended"], classes=["rs-end"])
            solara.Button(tr("debrief", lang), on_click=lambda: set_show_debrief(not show_debrief), classes=["rs-debrief-button"])
            solara.Button(tr("export", lang), on_click=export, classes=["rs-export"])
        if message:
            solara.HTML(tag="div", unsafe_innerHTML=escape(message), classes=["rs-message"])
        if show_debrief or status["ended"]:
            solara.HTML(tag="table", unsafe_innerHTML=debrief_html(game, lang), classes=["rs-debrief"])
            solara.HTML(tag="div", unsafe_innerHTML=debrief_charts_html(game, lang), classes=["rs-debrief-charts"])
        from regionsim.viz.views import map_view

        solara.HTML(tag="h3", unsafe_innerHTML=escape(tr("map_title", lang)))
        solara.HTML(
            tag="div", unsafe_innerHTML=map_view(game.model, "pm25", lang, arrows="cumulative", size=(700, 480)), classes=["rs-map"]
        )


@solara.component
def Layout(children=[]):  # noqa: B006 - Solara's layout signature
    """No app bar and no route tabs: a student never sees a link to the teacher's screen."""
    solara.Column(children=children, style="padding:0")


routes = [
    solara.Route(path="/", component=StudentPage, label="student", layout=Layout),
    solara.Route(path="teacher", component=TeacherPage, label="teacher"),
]
