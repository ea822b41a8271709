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

import ipyvuetify
import solara
import traitlets
from regionsim.model.game import CHOICES, OFFER_MAX_ROUNDS, Refused, offer_words
from regionsim.viz import game_server
from regionsim.viz.game_text import refusal, tr
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
.rs-field-error, .rs-error { color: #b71c1c; font-size: 13px; }
.rs-chart-box { width: 290px; }
.rs-chart-title { font-size: 13px; font-weight: 600; color: #222; min-height: 34px; position: relative; z-index: 1; }
.rs-chart-box svg { display: block; margin-top: -22px; }
.rs-debrief-legend { display: flex; flex-wrap: wrap; gap: 4px 18px; font-size: 13px; margin: 4px 0 10px 0; }
.rs-debrief-legend svg { vertical-align: middle; margin-right: 4px; }
"""


class TokenStore(ipyvuetify.VuetifyTemplate):
    """Keeps a student's session token in their browser (localStorage, one entry per join code): a student page
    stores it; the join page reads it back (`found`), so re-opening the join address returns the student to their
    page instead of making a second player."""

    template = traitlets.Unicode(
        """<template><span class="rs-token-store" style="display:none"></span></template>
<script>
module.exports = {
  mounted() { this.sync(); },
  watch: { token() { this.sync(); } },
  methods: {
    sync() {
      const key = 'regionsim-game-' + this.code;
      try {
        if (this.token) { window.localStorage.setItem(key, this.token); }
        else { this.found = window.localStorage.getItem(key) || ''; }
      } catch (e) { this.found = ''; }
    }
  }
}
</script>"""
    ).tag(sync=True)
    code = traitlets.Unicode("").tag(sync=True)
    token = traitlets.Unicode("").tag(sync=True)
    found = traitlets.Unicode("").tag(sync=True)


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


def number_problem(text: str, label: str, lang: str, low: float | None = None, high: float | None = None) -> str:
    """What is wrong with a number typed into a field (in plain words), or "" when it is a number in [low, high]."""
    try:
        value = float(str(text).strip())
    except ValueError:
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        return tr("not_a_number", lang, label=label, text=str(text)[:20])
    if low is not None and high is not None and not low <= value <= high:
        return tr("out_of_range", lang, label=label, low=low, high=high, value=value)
    return ""


def round_line(lang: str, round_no: int, year: int) -> str:
    """ "Round 2 · Year 2027" / "第2轮 · 2027年", the numbers marked for tests (rs-round, rs-year)."""
    return tr("round_line", lang, n=f"<b class='rs-round'>{round_no}</b>", y=f"<b class='rs-year'>{year}</b>")


def game_over_line(lang: str, rounds_played: int, year: int) -> str:
    """What the screens say once the game has ended."""
    if rounds_played == 0:
        return escape(tr("game_over_none", lang, y=year))
    return escape(tr("game_over", lang, n=rounds_played, y=year))


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
            set_error(refusal(exc, lang))
            return
        router.push(f"/?t={token}&lang={lang}")

    def found(token: str) -> None:  # this browser joined before: back to that player's page, not a new player
        if token and game.player(token) is not None:
            router.push(f"/?t={token}&lang={lang}")

    TokenStore.element(code=game.join_code, token="", on_found=found)

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


def _as_text(decisions: dict) -> dict:
    """A role's decisions as the form holds them: numbers as the text of their fields."""
    out = {}
    for key, value in decisions.items():
        if isinstance(value, dict):
            out[key] = {c: f"{float(x):g}" for c, x in value.items()}
        elif isinstance(value, bool):
            out[key] = value
        else:
            out[key] = f"{float(value):g}"
    return out


def form_problems(game, role: str, draft: dict, lang: str) -> dict[str, str]:
    """Field (key, or key.city) → what is wrong with its text; empty when the form can be sent."""
    info, problems = game.roles[role], {}
    names = dict(zip(info.cities, info.city_names_zh if lang == "zh" else info.city_names_en, strict=True))
    for key in game.choices_of(role):
        choice = CHOICES[key]
        label = choice.label_zh if lang == "zh" else choice.label_en
        if choice.kind == "share":
            problems[key] = number_problem(draft[key], label, lang, 0.0, game.max_abatement)
        elif choice.kind == "incentives":
            for city, text in draft[key].items():
                problems[f"{key}.{city}"] = number_problem(text, f"{label}: {names.get(city, city)}", lang, 0.0, choice.high)
    return {k: v for k, v in problems.items() if v}


def form_decisions(draft: dict) -> dict:
    """The form's decisions as numbers (after `form_problems` found none)."""
    return {
        k: (v if isinstance(v, bool) else {c: float(x) for c, x in v.items()} if isinstance(v, dict) else float(v))
        for k, v in draft.items()
    }


@solara.component
def DecisionForm(lang: str, token: str, role: str, round_no: int):
    """The role's decisions for this round: it starts from what the role's last submission of this round set (a
    teammate's too), else the role's decisions in force, and is made afresh when a teammate submits."""
    game = game_server.GAME
    draft, set_draft = solara.use_state(_as_text(game.role_decisions(role)))
    latest = solara.use_ref(draft)  # what was typed last, even if Submit is pressed before the form re-renders
    message, set_message = solara.use_state("")
    cities = dict(
        zip(game.roles[role].cities, game.roles[role].city_names_zh if lang == "zh" else game.roles[role].city_names_en, strict=True)
    )
    problems = form_problems(game, role, draft, lang)

    def put(key, value):
        latest.current = {**latest.current, key: value}
        set_draft(latest.current)

    def submit():
        now = form_problems(game, role, latest.current, lang)
        if now:
            set_message(tr("fix_first", lang, why=" ".join(now.values())))
            return
        try:
            game.submit(token, role, form_decisions(latest.current), round_no)  # a form left open from a closed round is refused
        except Refused as exc:
            set_message(refusal(exc, lang))
            return
        set_message("")

    def field_error(key: str) -> None:
        if key in problems:
            solara.HTML(tag="div", unsafe_innerHTML=escape(problems[key]), classes=["rs-field-error", f"rs-field-error-{key}"])

    solara.HTML(tag="h3", unsafe_innerHTML=escape(tr("decisions", lang)), classes=[f"rs-form-round-{round_no}"])
    for key in game.choices_of(role):
        choice = CHOICES[key]
        label = choice.label_zh if lang == "zh" else choice.label_en
        explain = choice.explain_zh if lang == "zh" else choice.explain_en
        if choice.kind == "bool":
            with solara.Div(classes=[f"rs-choice-{key}"]):
                solara.Checkbox(label=label, value=bool(draft[key]), on_value=lambda v, k=key: put(k, bool(v)))
        elif choice.kind == "share":
            solara.InputText(
                f"{label} (0–{game.max_abatement:g})",
                value=draft[key],
                on_value=lambda v, k=key: put(k, v),
                continuous_update=True,
                classes=[f"rs-choice-{key}"],
            )
            field_error(key)
        else:
            solara.HTML(tag="div", unsafe_innerHTML=escape(label))
            for city, shown in cities.items():
                solara.InputText(
                    f"{shown} (0–{choice.high:g})",
                    value=draft[key].get(city, "0"),
                    on_value=lambda v, c=city, k=key: put(k, {**latest.current[k], c: v}),
                    continuous_update=True,
                    classes=[f"rs-choice-{key}-{city}"],
                )
                field_error(f"{key}.{city}")
        solara.HTML(tag="p", unsafe_innerHTML=escape(explain), classes=["rs-explain"])
    solara.Button(tr("submit", lang), on_click=submit, color="primary", classes=["rs-submit"])
    if message:
        solara.HTML(tag="div", unsafe_innerHTML=escape(message), classes=["rs-error"])


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
    amount, set_amount = solara.use_state(f"{round(min(limit, 10.0), 1):g}")
    split, set_split = solara.use_state("0.5")
    origin, set_origin = solara.use_state(role)
    rounds, set_rounds = solara.use_state("2")
    message, set_message = solara.use_state("")
    tonnes = 1e4 / max(game.model.params["air"]["cost_10k_yuan_per_t"], 1e-12)
    targets = game.offer_targets(role, kind)
    target = to if to in targets else (targets[0] if targets else "")

    def act(call):
        try:
            call()
        except Refused as exc:
            set_message(refusal(exc, lang))
            return
        set_message("")

    fields = (
        {"split": (split, tr("offer_split", lang))} if kind == "tax_split" else {"amount": (amount, tr("offer_amount", lang, limit=limit))}
    )
    fields["rounds"] = (rounds, tr("offer_rounds", lang, n=OFFER_MAX_ROUNDS))
    problems = {k: number_problem(text, label, lang) for k, (text, label) in fields.items()}
    problems = {k: v for k, v in problems.items() if v}

    def send():
        if problems:
            set_message(tr("fix_first", lang, why=" ".join(problems.values())))
            return
        number = float(rounds)
        act(
            lambda: game.offer(
                token,
                role,
                target,
                float(amount) if kind != "tax_split" else None,
                int(number) if number.is_integer() else number,
                kind=kind,
                split=float(split) if kind == "tax_split" else None,
                origin=origin if origin in (role, target) else role,
            )
        )

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
            solara.HTML(tag="span", unsafe_innerHTML=escape(no_target_words(game, role, kind, lang)), classes=["rs-no-target"])
        else:
            _pick(tr("offer_to", lang), {r: names[r] for r in targets}, target, set_to, "rs-offer-to")
            if kind == "tax_split":
                solara.InputText(
                    tr("offer_split", lang), value=split, on_value=set_split, continuous_update=True, classes=["rs-offer-split"]
                )
                mine = {role: names[role], target: names[target]}
                _pick(tr("offer_origin", lang), mine, origin if origin in mine else role, set_origin, "rs-offer-origin")
            else:
                solara.InputText(
                    tr("offer_amount", lang, limit=limit),
                    value=amount,
                    on_value=set_amount,
                    continuous_update=True,
                    classes=["rs-offer-amount"],
                )
            solara.InputText(
                tr("offer_rounds", lang, n=OFFER_MAX_ROUNDS),
                value=rounds,
                on_value=set_rounds,
                continuous_update=True,
                classes=["rs-offer-rounds"],
            )
            solara.Button(tr("offer_send", lang), on_click=send, classes=["rs-offer-send"])
    for key, problem in problems.items():
        solara.HTML(tag="div", unsafe_innerHTML=escape(problem), classes=["rs-field-error", f"rs-field-error-offer-{key}"])
    if message:
        solara.HTML(tag="div", unsafe_innerHTML=escape(message), classes=["rs-error", "rs-offer-error"])


def no_target_words(game, role: str, kind: str, lang: str) -> str:
    """Why `role` cannot make an offer of `kind`: its province's lead makes payments for abatement, or nobody can take it."""
    if kind == "abatement" and not game.roles[role].lead:
        lead = game.lead_of(role)
        s = game.model.state
        i = s.province_ids.index(game.roles[role].province)
        province = s.province_names_zh[i] if lang == "zh" else s.province_names_en[i]
        return tr("no_target_lead", lang, lead=lead.name_zh if lang == "zh" else lead.name_en, province=province)
    return tr("no_target", lang)


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
        TokenStore.element(code=game.join_code, token=token)  # a re-opened join address comes back here
        role = player["role"]
        info = game.roles[role]
        view = game.role_view(role)
        solara.HTML(
            tag="h2",
            unsafe_innerHTML=f"{escape(tr('you_play', lang))}: <span class='rs-role' data-role='{escape(role)}'>"
            f"{escape(info.name_zh if lang == 'zh' else info.name_en)}</span> — {escape(player['name'])}",
        )
        over = game.ended or not game.model.running
        solara.HTML(
            tag="div",
            unsafe_innerHTML=game_over_line(lang, len(game.rounds), view["year"])
            if over
            else round_line(lang, view["round"], view["year"]),
            classes=["rs-round-line"],
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
        solara.HTML(
            tag="h3", unsafe_innerHTML=escape(tr("indicators" if info.whole else "indicators_cities", lang)), classes=["rs-indicators-head"]
        )
        solara.HTML(tag="table", unsafe_innerHTML=table, classes=["rs-indicators"])
        words = tr("score_words", lang, g=w["gdp_per_head"], a=w["clean_air"], b=w["budget"], total=start_score)
        solara.HTML(tag="p", unsafe_innerHTML=escape(words), classes=["rs-explain", "rs-score-words"])
        if not info.whole:
            solara.HTML(tag="p", unsafe_innerHTML=escape(lead_words(game, role, lang)), classes=["rs-explain", "rs-lead"])
        if over:
            solara.HTML(tag="div", unsafe_innerHTML=escape(tr("ended", lang)), classes=["rs-ended"])
            return
        state = tr("submitted", lang, n=view["round"]) if view["submitted"] else tr("waiting", lang, n=view["round"])
        solara.HTML(tag="div", unsafe_innerHTML=escape(state), classes=["rs-status", "rs-done" if view["submitted"] else "rs-waiting"])
        last = view["last_submission"]
        if last:
            who = tr("last_by", lang, name=last["name"], role=info.name_zh if lang == "zh" else info.name_en, n=last["round"])
            solara.HTML(tag="div", unsafe_innerHTML=escape(who), classes=["rs-explain", "rs-last-by"])
        # a fresh form each round, and whenever someone submits for the role (it then shows what they set)
        DecisionForm(lang, token, role, view["round"]).key(f"form-{view['round']}-{role}-{lang}-{last['seq'] if last else 0}")
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


def debrief_legend_html(lang: str) -> str:
    """The debrief charts' one legend (above them all): a line of each path's colour and dash, and its full name."""
    items = []
    for path, colour, dashed in DEBRIEF_PATHS:
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        items.append(
            f"<span class='rs-legend-{path}'><svg width='26' height='10'><line x1='1' y1='5' x2='25' y2='5' stroke='{colour}' "
            f"stroke-width='2.5'{dash}/></svg>{escape(tr(path, lang))}</span>"
        )
    return f"<div class='rs-debrief-legend'>{''.join(items)}</div>"


def debrief_charts_html(game, lang: str) -> str:
    """The class's path against each-for-itself and full coordination over the years: for each role and the
    region, a line chart (viz/svg.py, inline SVG) of score, PM2.5, GDP and money, one line per path. One legend
    above all the charts; each chart's title above it in HTML (it wraps); the first and last years ticked."""
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
            svg = line_chart_svg(
                "",
                series,
                width=290,
                height=170,
                unit=unit,
                lang=lang,
                legend=False,
                end_years=True,
                css_class=f"rs-chart rs-debrief-chart rs-debrief-chart-{column}",
            )
            charts.append(f"<div class='rs-chart-box'><div class='rs-chart-title'>{escape(tr(title, lang))}</div>{svg}</div>")
        blocks.append(
            f"<h4 class='rs-debrief-name'>{escape(names[who])}</h4>"
            f"<div class='rs-debrief-who' data-who='{escape(who)}'>{''.join(charts)}</div>"
        )
    return f"<h3>{escape(tr('debrief_charts', lang))}</h3>{debrief_legend_html(lang)}{''.join(blocks)}"


@solara.component
def PlayerRow(lang: str, key: str, i: int, token_hash: str, player: dict, names: dict):
    """A player on the teacher's screen: move them to another role, or remove them (a second session opened by mistake)."""
    game = game_server.GAME

    def move(label):
        game.reassign(key, token_hash, next(r for r in game.roles if names[r] == label))

    with solara.Row(classes=["rs-player"]):
        solara.Select(
            f"{tr('player', lang)}: {player['name']}",
            values=list(names.values()),
            value=names[player["role"]],
            on_value=move,
            classes=["rs-reassign", f"rs-reassign-{i}"],
        )
        solara.Button(tr("remove", lang), on_click=lambda: game.remove_player(key, token_hash), text=True, classes=[f"rs-remove-{i}"])


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
        if status["ended"]:
            line = f"<span class='rs-game-over'>{game_over_line(lang, status['rounds_played'], status['year'])}</span>"
        else:
            line = f"{round_line(lang, status['round'], status['year'])} / {status['horizon']}"
            line += "" if left is None else f" · {escape(tr('time_left', lang))} <b class='rs-countdown'>{int(left)} s</b>"
        solara.HTML(tag="div", unsafe_innerHTML=line, classes=["rs-round-line"])
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
        # the players and the offers each sit in a column that is always there, so the buttons below keep their
        # place among the page's children when a player joins or leaves: a click on Step as the list changes is
        # not lost on a button being replaced
        with solara.Column(classes=["rs-players"]):
            if game.players and not status["ended"]:
                solara.HTML(tag="h3", unsafe_innerHTML=escape(tr("reassign", lang)))
                for i, (token_hash, player) in enumerate(sorted(game.players.items(), key=lambda kv: (kv[1]["name"], kv[0]))):
                    PlayerRow(lang, key, i, token_hash, player, names)
        offers = status["offers"]
        with solara.Column(classes=["rs-offers-section"]):
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
                set_message(refusal(exc, lang))

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
