"""The regionsim dashboard (Solara): step a scenario year by year, pull its levers, and ask why.

Layout: a top bar (title, the current year, step / play-pause / speed / reset, language); on the
left the scenario picker, the seed and every lever grouped by rule; on the right five views —
map & why, charts, plan scorecard, compare, export.

State: everything lives in component state (`solara.use_state`), so each browser session has
its own `DashboardRun` and nothing a user does reaches another session. Drawings are SVG made in
viz/svg.py and shown by a small Vue component, so the page needs no CDN (DASHBOARD.md).
"""

from __future__ import annotations

import base64
import functools
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import solara
from regionsim.model.errors import UserError
from regionsim.model.model import DEFAULT_SCENARIO
from regionsim.model.rules.base import POLICY, UNCERTAINTY
from regionsim.viz import SCENARIO_ENV, views
from regionsim.viz.clauses import quote
from regionsim.viz.i18n import pick, reason, t
from regionsim.viz.lesson import CHOICES, Lesson, load_lesson, outcome
from regionsim.viz.session import (
    DashboardRun,
    LeverRow,
    check_case,
    city_levers,
    lever_groups,
    parse_lever,
    parse_seed,
    read_variant,
    scenario_choices,
    variant_toml,
)
from regionsim.viz.svg import esc, fmt_number

HERE = Path(__file__).resolve().parent
SPEEDS = ("0.5", "1", "2", "4")
VIEWS = ("map", "charts", "scorecard", "compare", "export")
ERROR_STYLE = "color:#b71c1c;background:#ffebee;padding:6px 10px;white-space:pre-wrap;font-size:13px;margin:4px"


@solara.component_vue(str(HERE / "vue" / "svg_view.vue"))
def SvgView(
    svg: str,
    extra_class: str = "",
    event_click: Callable[[str], None] | None = None,
    fit: bool = False,
    fullscreen_label: str = "",
    event_resize: Callable[[Any], None] | None = None,
    pan_key: str = "",
    reset_label: str = "",
):
    """An SVG string; a click selects the city under it (nearest centre) as `event_click(key)`. With
    `fit`, the box fills the window below it, reports its size as `event_resize([w, h])`, offers a
    full-screen button (a fixed full-window box where the browser refuses full screen), and the map
    pans by dragging and zooms with the wheel, in the browser; a new `pan_key` (the zoom preset)
    or the `reset_label` button puts it back."""


@solara.component_vue(str(HERE / "vue" / "upload.vue"))
def Upload(label: str, extra_class: str = "", event_load: Callable[[Any], None] | None = None):
    """A button that reads a text file from the user's disk and hands it to `event_load({name, text})`."""


@solara.component_vue(str(HERE / "vue" / "ticker.vue"))
def Ticker(playing: bool, interval_ms: int, done: int = 0, event_tick: Callable[[Any], None] | None = None):
    """The play clock (runs in the browser)."""


@solara.component_vue(str(HERE / "vue" / "download.vue"))
def DownloadButton(
    label: str,
    filename: str,
    payload: str = "",
    mime_type: str = "application/octet-stream",
    extra_class: str = "",
    event_request: Callable[[Any], None] | None = None,
):
    """A button that saves bytes Python hands over on request."""


@functools.lru_cache(maxsize=32)
def scenario_levers(scenario: str) -> tuple[list, list, list[dict[str, Any]]]:
    """A scenario's lever groups (`lever_groups`), per-city lever tables (`city_levers`) and cities
    (id and names), read once per scenario in this server process and shared, read-only, by every
    session: reading a scenario takes about 15 ms, and each session opened read it three times
    (tests/browser/test_load.py opens 20 at once). A scenario file edited while the server runs is
    seen after a restart."""
    from regionsim.model.scenario import load_scenario

    region = load_scenario(scenario)
    cities = [{key: c.get(key) for key in ("id", "name_en", "name_zh")} for c in getattr(region, "data", {}).get("cities", []) if "id" in c]
    return lever_groups(scenario), city_levers(scenario), cities


def default_scenario() -> str:
    """The scenario `regionsim dashboard SCENARIO` asked for, or the default."""
    return os.environ.get(SCENARIO_ENV) or DEFAULT_SCENARIO


def _first_line(message: str) -> str:
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    return lines[-1] if len(lines) > 1 and lines[0].endswith(":") else (lines[0] if lines else "")


@solara.component
def Download(label: str, filename: str, make: Callable[[], bytes], css: str, mime_type: str = "application/octet-stream"):
    """A download button whose file is made only when clicked."""
    payload, set_payload = solara.use_state("")
    count = solara.use_ref(0)

    def request(_: Any = None) -> None:
        count.current += 1
        set_payload(f"{count.current}:" + base64.b64encode(make()).decode("ascii"))

    DownloadButton(label=label, filename=filename, payload=payload, mime_type=mime_type, extra_class=css, event_request=request)


def _slider_step(lever) -> float | None:
    """A slider step for a bounded numeric lever with a span a slider can sweep, else None."""
    if lever.kind == "bool" or lever.low is None or lever.high is None:
        return None
    span = float(lever.high) - float(lever.low)
    if span <= 0 or span > 1000:
        return None
    if lever.kind == "int":
        return 1.0
    return 10 ** (math.floor(math.log10(span)) - 2)


@solara.component
def LeverField(
    row: LeverRow, value: Any, changed: bool, lang: str, scenario: str, pending: dict[str, Any], on_value: Callable[[str, Any], None]
):
    """One lever: its label in the reader's language, the plan clause quoted in a tooltip, and a
    switch (booleans) or a slider with numeric entry (bounded numbers) or a numeric entry; an
    impossible value is refused with the reason, in the reader's language."""
    lever = row.lever
    text, set_text = solara.use_state(_plain_text(value))
    error, set_error = solara.use_state("")
    solara.use_effect(lambda: set_text(_plain_text(value)), [value])
    label_en = lever.label_en or row.rule.title_en
    label_zh = lever.label_zh or row.rule.title_zh
    first, other = (label_zh, label_en) if lang == "zh" else (label_en, label_zh)
    tooltip = f"{other}\n{t('clause', lang)}: {quote(lever.clause)}" if lever.clause else other
    css = f"rs-lever rs-lever-{row.rule.key}-{lever.name}"

    def accept(raw: Any) -> None:
        parsed, why = parse_lever(lever, raw)
        if why is None:
            trial = {**pending, row.key: parsed}
            if parsed == row.scenario_value:
                trial.pop(row.key)
            problem = check_case(scenario, trial)
            if problem:
                why = _first_line(problem)
        if why:
            set_error(f"{t('refused', lang)}: {reason(why, lang)}")
            return
        set_error("")
        on_value(row.key, parsed)

    def typed(raw: str | None) -> None:
        set_text(raw or "")
        accept(raw or "")

    with solara.Column(gap="0px", classes=[css], style="margin-bottom:6px"):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                f"<span style='font-weight:{600 if changed else 500}'>{esc(first)}</span>"
                f"{' ●' if changed else ''}"
                f" <span class='rs-clause' style='color:#1565c0;font-size:12px;cursor:help'>ⓘ</span>"
            ),
            attributes={"title": tooltip},
            classes=["rs-lever-label"],
            style="font-size:13px;line-height:1.25",
        )
        if lever.kind == "bool":
            solara.Switch(
                label=t("on" if value else "off", lang), value=bool(value), on_value=lambda v: accept(bool(v)), classes=[f"{css}-input"]
            )
        else:
            step = _slider_step(lever)
            with solara.Row(gap="6px", style="align-items:center"):
                if step is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
                    with solara.Column(style="flex:1 1 auto;min-width:90px", gap="0px", classes=[f"{css}-slider"]):
                        solara.SliderFloat(
                            label="",
                            value=float(value),
                            min=float(lever.low),
                            max=float(lever.high),
                            step=step,
                            on_value=lambda v: accept(round(float(v), 10)),
                            thumb_label=False,
                        )
                low = f"{lever.low:g}" if lever.low is not None else ""
                high = f"{lever.high:g}" if lever.high is not None else ""
                with solara.Column(style="flex:0 0 96px", gap="0px"):
                    solara.InputText(
                        label=f"{low} … {high}",
                        value=text,
                        on_value=typed,
                        error=bool(error),
                        dense=True,
                        classes=[f"{css}-input"],
                        hide_details=True,
                    )
        if error:
            solara.HTML(tag="div", unsafe_innerHTML=esc(error), classes=["rs-lever-error"], style="color:#b71c1c;font-size:12px")


def _plain_text(value: Any) -> str:
    """A lever value as the entry box shows it (no float noise)."""
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


@solara.component
def CityLeverTable(scenario: str, pending: dict[str, Any], set_pending: Callable, lang: str):
    """Per-city levers (e.g. each city's receiving incentive and yearly receiving capacity) as an
    editable table: one row per city, one column per lever; empty = the rule's default."""
    _, tables, cities = scenario_levers(scenario)
    is_open, set_open = solara.use_state(False)
    error, set_error = solara.use_state("")
    if not tables:
        return
    ids = [c["id"] for c in cities] or sorted({city for _, values in tables for city in values})
    names = {c["id"]: (c.get("name_zh") if lang == "zh" else c.get("name_en")) or c["id"] for c in cities}
    changed_here = sum(1 for key in pending if any(key.startswith(f"rules.{lev.rule.key}.{lev.name}.") for lev, _ in tables))
    solara.Button(
        f"{'▾' if is_open else '▸'} {t('city_levers', lang)}{f' ({changed_here})' if changed_here else ''}",
        on_click=lambda: set_open(not is_open),
        text=True,
        classes=["rs-rule", "rs-city-levers"],
        style="justify-content:flex-start;text-transform:none;letter-spacing:0;width:100%;font-size:13px;"
        "white-space:normal;height:auto;min-height:30px;text-align:left;padding:2px 4px",
    )
    if not is_open:
        return

    def set_cell(key: str, lever, raw: str, scenario_value: Any) -> None:
        updated = dict(pending)
        raw = (raw or "").strip()
        if raw == "":
            updated.pop(key, None)
        else:
            try:
                number = float(raw.replace(",", ""))
            except ValueError:
                set_error(f"{t('refused', lang)}: {reason('must be a number, not ' + repr(raw), lang)}")
                return
            if number == scenario_value:
                updated.pop(key, None)
            else:
                updated[key] = number
        problem = check_case(scenario, updated)
        if problem:
            set_error(f"{t('refused', lang)}: {reason(_first_line(problem), lang)}")
            return
        set_error("")
        set_pending(updated)

    head = "".join(
        f"<th style='padding:2px 4px;font-size:12px;text-align:left'>{esc(pick((lev.label_en, lev.label_zh), lang))}</th>"
        for lev, _ in tables
    )
    solara.HTML(
        tag="div", unsafe_innerHTML=f"<table style='width:100%'><tr><th></th>{head}</tr></table>", style="font-size:12px;color:#555"
    )
    with solara.Column(gap="0px", classes=["rs-city-lever-table"], style="padding-left:6px;border-left:3px solid #90caf9"):
        for city in ids:
            with solara.Row(gap="4px", style="align-items:center", classes=[f"rs-city-lever-row rs-city-lever-{city}"]):
                solara.HTML(tag="div", unsafe_innerHTML=esc(names.get(city, city)), style="flex:1 1 90px;font-size:12px")
                for lev, values in tables:
                    key = lev.key(city)
                    scenario_value = values.get(city)
                    shown = pending.get(key, scenario_value)
                    with solara.Column(style="flex:0 0 80px", gap="0px"):
                        solara.InputText(
                            label="",
                            value="" if shown is None else f"{shown:g}",
                            on_value=lambda raw, k=key, lv=lev, sv=scenario_value: set_cell(k, lv, raw, sv),
                            dense=True,
                            hide_details=True,
                            classes=[f"rs-city-lever-{lev.name}-{city}"],
                        )
    if error:
        solara.HTML(tag="div", unsafe_innerHTML=esc(error), classes=["rs-lever-error"], style="color:#b71c1c;font-size:12px")


@solara.component
def LeverPanel(scenario: str, pending: dict[str, Any], set_pending: Callable, lang: str):
    """Every lever of the scenario, one collapsible group per rule: the policy levers first, then the
    model assumptions (uncertainties) under their own heading."""
    groups = scenario_levers(scenario)[0]
    open_rules, set_open_rules = solara.use_state(frozenset())

    def set_value(key: str, value: Any, scenario_value: Any) -> None:
        updated = dict(pending)
        if value == scenario_value:
            updated.pop(key, None)
        else:
            updated[key] = value
        set_pending(updated)

    solara.HTML(tag="div", unsafe_innerHTML=f"<b>{esc(t('levers', lang))}</b>", style="margin:8px 0 4px")
    if pending:  # whether these run yet is shown above the panel (`_run_state`: running vs not yet applied)
        solara.Button(t("levers_clear", lang), on_click=lambda: set_pending({}), text=True, classes=["rs-levers-clear"])
    # policy levers (choices a plan or a government makes) first, rule by rule; then the model's
    # assumptions (uncertainties it estimates) under their own heading, rule by rule
    policy = [(spec, [r for r in rows if r.lever.role == POLICY], spec.key, f"rs-rule-{spec.key}") for spec, rows in groups]
    assumed = [
        (spec, [r for r in rows if r.lever.role == UNCERTAINTY], f"{spec.key}:assumptions", f"rs-rule-{spec.key}-assumptions")
        for spec, rows in groups
    ]
    assumed = [group for group in assumed if group[1]]
    for section, entries in (("policy", policy), ("assumptions", assumed)):
        if section == "assumptions" and entries:
            solara.HTML(
                tag="div",
                unsafe_innerHTML=f"<b>{esc(pick(('Model assumptions', '模型假设'), lang))}</b>",
                classes=["rs-assumptions-heading"],
                style="margin:12px 0 2px",
            )
            solara.HTML(
                tag="div",
                unsafe_innerHTML=esc(
                    pick(("Facts about the world the model estimates, not policy choices", "模型估计的客观条件，而非政策选择"), lang)
                ),
                style="color:#777;font-size:12px;margin-bottom:4px",
            )
        for spec, rows, group_key, css in entries:
            is_open = group_key in open_rules
            changed_here = sum(1 for r in rows if r.key in pending)
            title = pick((spec.title_en, spec.title_zh), lang)
            marker = "▾" if is_open else "▸"

            def toggle(key: str = group_key) -> None:
                set_open_rules(open_rules - {key} if key in open_rules else open_rules | {key})

            solara.Button(
                f"{marker} {title}{f' ({changed_here})' if changed_here else ''}",
                on_click=toggle,
                text=True,
                classes=["rs-rule", css, f"rs-{section}"],
                style="justify-content:flex-start;text-transform:none;letter-spacing:0;width:100%;font-size:13px;"
                "white-space:normal;height:auto;min-height:30px;text-align:left;padding:2px 4px",
            )
            if is_open:
                with solara.Column(
                    style="padding-left:10px;border-left:3px solid " + ("#90caf9" if section == "policy" else "#bdbdbd"), gap="2px"
                ):
                    for row in rows:
                        value = pending.get(row.key, row.scenario_value)
                        LeverField(
                            row=row,
                            value=value,
                            changed=row.key in pending,
                            lang=lang,
                            scenario=scenario,
                            pending=pending,
                            on_value=lambda key, v, sv=row.scenario_value: set_value(key, v, sv),
                        ).key(row.key)


def _start_run(name: str, overrides: dict[str, Any], seed: int | None, seed_text: str, lang: str) -> tuple[DashboardRun | None, str]:
    """A new run of `name` with `overrides` and `seed` (None: the seed typed in the box), or (None,
    why not, in the reader's language)."""
    if seed is None:
        seed, why = parse_seed(seed_text)
        if why:
            return None, f"{t('seed', lang)}: {reason(why, lang)}"
    try:
        return DashboardRun(name, seed=seed, overrides=overrides), ""
    except UserError as exc:
        return None, reason(str(exc), lang)


def _read_payload(payload: dict, lang: str) -> tuple[tuple[str, dict[str, Any], int | None] | None, str]:
    """A loaded variant file's (base, overrides, seed), or (None, why not, in the reader's language)."""
    try:
        return read_variant(str(payload.get("text", ""))), ""
    except UserError as exc:
        return None, reason(str(exc), lang)


@solara.component
def Page():
    """The dashboard page: one per browser session. It holds the session's state and its actions;
    the top bar, the left panel (scenario, seed, levers of A or B) and the views draw it."""
    lang, set_lang = solara.use_state("en")
    # the first run is made once per session and handed to the state; the memo's holder then lets go
    # of it, so a Reset frees the run it replaces
    first = solara.use_memo(lambda: [DashboardRun(default_scenario())], [])
    run, set_run = solara.use_state(first.pop() if first else None)
    scenario, set_scenario = solara.use_state(run.scenario)
    tick, set_tick = solara.use_state(0)
    playing, set_playing = solara.use_state(False)
    speed, set_speed = solara.use_state("2")
    seed_text, set_seed_text = solara.use_state("0")
    pending, set_pending = solara.use_state({})
    message, set_message = solara.use_state("")
    notice, set_notice = solara.use_state("")
    view, set_view = solara.use_state("map")
    indicator, set_indicator = solara.use_state("pm25")
    selected, set_selected = solara.use_state(None)
    comparison, set_comparison = solara.use_state(None)
    compare_mode, set_compare_mode = solara.use_state("overlay")
    compare_year, set_compare_year = solara.use_state(None)
    variant_name, set_variant_name = solara.use_state("my_variant")
    b_scenario, set_b_scenario = solara.use_state(None)
    b_pending, set_b_pending = solara.use_state({})
    editing, set_editing = solara.use_state("A")
    presenter, set_presenter = solara.use_state(False)
    map_options, set_map_options = solara.use_state({"zoom": views.ZOOM_ALL, "arrows": "year", "scale": "run", "size": (660, 560)})
    lesson_state, set_lesson_state = solara.use_state({"step": 0, "predictions": {}})

    choices = solara.use_memo(scenario_choices, [])
    lesson = solara.use_memo(lambda: load_lesson(scenario), [scenario])
    b_name = b_scenario if b_scenario in choices else run.scenario

    def step(_: Any = None) -> None:
        if run.step():
            set_tick(lambda n: n + 1)
        else:
            set_playing(False)

    def restart(name: str, overrides: dict[str, Any], seed: int | None = None) -> bool:
        new_run, problem = _start_run(name, overrides, seed, seed_text, lang)
        if new_run is None:
            set_message(problem)
            return False
        set_playing(False)
        set_message("")
        set_run(new_run)
        set_tick(lambda n: n + 1)
        set_comparison(None)
        return True

    def choose_scenario(name: str) -> None:
        if name == scenario:
            return
        set_pending({})
        set_scenario(name)
        set_notice("")
        set_lesson_state({"step": 0, "predictions": {}})
        set_selected(None)  # the old scenario's city may not exist here; the panel shows the hint instead
        restart(name, {})

    def load_into_a(payload: dict) -> None:
        """A variant file becomes this run (A): its scenario, its levers and its seed, run at once."""
        loaded, problem = _read_payload(payload, lang)
        set_notice("")
        if loaded is None:
            set_message(problem)
            return
        base, overrides, seed = loaded
        set_scenario(base)
        set_pending(overrides)
        set_seed_text(seed_text if seed is None else str(seed))
        if restart(base, overrides, seed=seed):
            set_notice(t("loaded_variant", lang, file=str(payload.get("name", "")), base=base, n=len(overrides)))

    def load_into_b(payload: dict) -> None:
        """A variant file becomes case B (its scenario and levers; the comparison uses A's seed)."""
        loaded, problem = _read_payload(payload, lang)
        set_notice("")
        if loaded is None:
            set_message(problem)
            return
        base, overrides, _ = loaded
        set_message("")
        set_b_scenario(base)
        set_b_pending(overrides)
        set_comparison(None)
        set_editing("B")
        set_notice(t("loaded_variant_b", lang, file=str(payload.get("name", "")), base=base, n=len(overrides), seed=run.seed))

    def setup_lesson_step(overrides: dict[str, Any]) -> None:
        set_pending(dict(overrides))
        restart(scenario, dict(overrides))

    # a tick sent just before Pause may arrive after it: this handler is the one of the latest
    # render, so it knows the clock is stopped and ignores it
    Ticker(playing=playing, interval_ms=int(1000 / float(speed)), done=tick, event_tick=lambda _=None: step() if playing else None)
    TopBar(
        run=run,
        tick=tick,
        lang=lang,
        set_lang=set_lang,
        playing=playing,
        set_playing=set_playing,
        speed=speed,
        set_speed=set_speed,
        presenter=presenter,
        set_presenter=set_presenter,
        on_step=step,
        on_reset=lambda: restart(scenario, pending),
    )
    _banner(message, "rs-message", "pre", ERROR_STYLE)
    _banner(notice, "rs-notice", "div", "color:#1b5e20;background:#e8f5e9;padding:4px 10px;font-size:13px;margin:4px")
    with solara.Row(style="padding:4px 6px;align-items:flex-start;flex-wrap:nowrap", gap="8px"):
        if not presenter:
            LeftPanel(
                run=run,
                lang=lang,
                choices=choices,
                scenario=scenario,
                on_scenario=choose_scenario,
                seed_text=seed_text,
                set_seed_text=set_seed_text,
                pending=pending,
                set_pending=set_pending,
                editing=editing,
                set_editing=set_editing,
                b_name=b_name,
                set_b_scenario=set_b_scenario,
                b_pending=b_pending,
                set_b_pending=set_b_pending,
            )
        with solara.Column(gap="4px", style="flex:1 1 auto;min-width:0"):
            shown = _view_tabs(["lesson"] if lesson is not None else [], view, set_view, lang, presenter)
            _view_area(
                shown,
                run=run,
                tick=tick,
                lang=lang,
                map_props={
                    "indicator": indicator,
                    "set_indicator": set_indicator,
                    "selected": selected,
                    "set_selected": set_selected,
                    "options": map_options,
                    "set_options": set_map_options,
                    "presenter": presenter,
                },
                lesson_props={"lesson": lesson, "state": lesson_state, "set_state": set_lesson_state, "setup": setup_lesson_step},
                compare_props={
                    "b_name": b_name,
                    "b_pending": b_pending,
                    "comparison": comparison,
                    "set_comparison": set_comparison,
                    "mode": compare_mode,
                    "set_mode": set_compare_mode,
                    "year": compare_year,
                    "set_year": set_compare_year,
                    "indicator": indicator,
                    "set_message": set_message,
                    "set_editing": set_editing,
                    "size": map_options["size"],
                },
                export_props={
                    "scenario": scenario,
                    "pending": pending,
                    "variant_name": variant_name,
                    "set_variant_name": set_variant_name,
                    "on_load": load_into_a,
                    "on_load_b": load_into_b,
                },
            )


def _view_area(
    shown: str,
    *,
    run: DashboardRun,
    tick: int,
    lang: str,
    map_props: dict[str, Any],
    lesson_props: dict[str, Any],
    compare_props: dict[str, Any],
    export_props: dict[str, Any],
) -> None:
    """The view picked by the tabs: each view gets the run, the year counter and the language, plus its own props."""
    if shown == "map":
        MapView(run=run, tick=tick, lang=lang, **map_props)
    elif shown == "lesson":
        LessonView(run=run, tick=tick, lang=lang, **lesson_props)
    elif shown == "charts":
        ChartsView(run=run, tick=tick, lang=lang)
    elif shown == "scorecard":
        solara.HTML(tag="div", unsafe_innerHTML=views.scorecard_html(run.model, lang), classes=["rs-scorecard-view"])
    elif shown == "compare":
        CompareView(run=run, lang=lang, **compare_props)
    else:
        ExportView(run=run, tick=tick, lang=lang, **export_props)


def _banner(text: str, css: str, tag: str, style: str) -> None:
    """A message line under the top bar (an error, or a notice), when there is one."""
    if text:
        solara.HTML(tag=tag, unsafe_innerHTML=esc(text), classes=[css], style=style)


def _view_tabs(extra: list[str], view: str, set_view: Callable[[str], None], lang: str, presenter: bool) -> str:
    """The view buttons (hidden in presenter mode); returns the view to show."""
    names = extra + list(VIEWS)
    if not presenter:
        with solara.Row(gap="4px", style="flex-wrap:wrap"):
            for name in names:
                solara.Button(
                    t(f"view_{name}", lang),
                    on_click=lambda name=name: set_view(name),
                    classes=[f"rs-view-{name}"],
                    color="primary" if view == name else None,
                    outlined=view != name,
                )
    return "map" if presenter else (view if view in names else "map")


@solara.component
def TopBar(
    run: DashboardRun,
    tick: int,
    lang: str,
    set_lang: Callable,
    playing: bool,
    set_playing: Callable,
    speed: str,
    set_speed: Callable,
    presenter: bool,
    set_presenter: Callable,
    on_step: Callable,
    on_reset: Callable,
):
    """Title, the current year, step / play-pause / speed / reset, language and presenter mode.
    `tick` counts steps: the run steps in place, so the bar must see a prop change to redraw."""
    with solara.Row(
        style="align-items:center;flex-wrap:wrap;gap:8px;padding:4px 10px;background:#263238;color:#fff", classes=["rs-topbar"]
    ):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=esc(t("app_title_short", lang)),
            attributes={"title": t("app_title", lang)},
            style="font-size:16px;font-weight:600;color:#fff",
        )
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                f"{esc(t('year', lang))} <span class='rs-year' data-year='{run.year}'>{run.year}</span>"
                f" <span style='font-size:12px;color:#b0bec5'>({run.base_year}–{run.horizon})</span>"
            ),
            classes=["rs-year-box"],
            style="font-size:22px;font-weight:700;color:#ffeb3b;padding:0 8px",
        )
        solara.Button(t("step", lang), on_click=on_step, disabled=not run.running, classes=["rs-step"], color="primary")
        solara.Button(
            t("pause", lang) if playing else t("play", lang),
            on_click=lambda: set_playing(not playing),
            disabled=not run.running and not playing,
            classes=["rs-play"],
            color="primary",
        )
        with solara.Column(style="width:110px;background:#fff;border-radius:4px;padding:0 6px", gap="0px"):
            solara.Select(label=t("speed", lang), values=list(SPEEDS), value=speed, on_value=set_speed, dense=True, classes=["rs-speed"])
        solara.Button(t("reset", lang), on_click=on_reset, classes=["rs-reset"], color="warning")
        solara.Button(
            t("language", lang),
            on_click=lambda: set_lang("zh" if lang == "en" else "en"),
            classes=["rs-lang"],
            outlined=True,
            style="color:#fff",
        )
        solara.Button(
            t("presenter_exit" if presenter else "presenter", lang),
            on_click=lambda: set_presenter(not presenter),
            classes=["rs-presenter"],
            outlined=True,
            style="color:#fff",
        )
        if not run.running:
            solara.HTML(
                tag="span", unsafe_innerHTML=esc(t("finished", lang)), classes=["rs-finished"], style="color:#ffcc80;font-size:13px"
            )
        from regionsim.viz.game_launch import GameLauncher

        GameLauncher(run.scenario, lang)  # starts `regionsim game` on this scenario and links its teacher's screen


@solara.component
def LeftPanel(
    run: DashboardRun,
    lang: str,
    choices: list[str],
    scenario: str,
    on_scenario: Callable[[str], None],
    seed_text: str,
    set_seed_text: Callable,
    pending: dict[str, Any],
    set_pending: Callable,
    editing: str,
    set_editing: Callable,
    b_name: str,
    set_b_scenario: Callable,
    b_pending: dict[str, Any],
    set_b_pending: Callable,
):
    """The scenario picker, the seed, what runs now, and the levers of case A (this run) or of case B."""
    with solara.Column(
        style="flex:0 0 270px;width:270px;max-height:calc(100vh - 70px);overflow-y:auto;padding-right:4px",
        gap="4px",
        classes=["rs-left"],
    ):
        solara.Select(label=t("scenario", lang), values=choices, value=scenario, on_value=on_scenario, classes=["rs-scenario"])
        _, seed_why = parse_seed(seed_text)
        solara.InputText(
            label=t("seed", lang),
            value=seed_text,
            on_value=lambda v: set_seed_text((v or "").strip()),
            error=bool(seed_why),
            classes=["rs-seed"],
            dense=True,
            hide_details=True,
        )
        if seed_why:
            solara.HTML(
                tag="div",
                unsafe_innerHTML=esc(f"{t('refused', lang)}: {reason(seed_why, lang)}"),
                classes=["rs-seed-error"],
                style="color:#b71c1c;font-size:12px",
            )
        _run_state(run, pending, lang)
        with solara.Row(gap="4px", style="align-items:center;font-size:13px;margin-top:4px"):
            solara.HTML(tag="span", unsafe_innerHTML=esc(t("edit_levers_of", lang)))
            for case in ("A", "B"):
                solara.Button(
                    t(f"case_{case.lower()}", lang),
                    on_click=lambda case=case: set_editing(case),
                    classes=[f"rs-edit-{case}"],
                    small=True,
                    color="primary" if editing == case else None,
                    outlined=editing != case,
                    style="text-transform:none",
                )
        if editing == "B":
            solara.Select(
                label=t("compare_b", lang),
                values=choices,
                value=b_name,
                on_value=lambda v: (set_b_scenario(v), set_b_pending({})),
                classes=["rs-compare-b"],
            )
            LeverPanel(scenario=b_name, pending=b_pending, set_pending=set_b_pending, lang=lang).key(f"B-{b_name}")
            CityLeverTable(scenario=b_name, pending=b_pending, set_pending=set_b_pending, lang=lang).key(f"Bc-{b_name}")
        else:
            LeverPanel(scenario=scenario, pending=pending, set_pending=set_pending, lang=lang).key(f"A-{scenario}")
            CityLeverTable(scenario=scenario, pending=pending, set_pending=set_pending, lang=lang).key(f"Ac-{scenario}")


def _run_state(run: DashboardRun, pending: dict[str, Any], lang: str) -> None:
    """What is running now, and whether lever changes wait for Reset."""
    if pending != run.overrides:
        n = len(set(pending.items()) ^ set(run.overrides.items())) if _hashable(pending, run.overrides) else len(pending)
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"● {esc(t('not_applied', lang, n=n))}",
            classes=["rs-pending"],
            style="color:#e65100;font-size:13px;font-weight:600",
        )
    elif run.overrides:
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"▶ {esc(t('running_yours', lang, n=len(run.overrides)))}",
            classes=["rs-running"],
            style="color:#1b5e20;font-size:13px;font-weight:600",
        )
    else:
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"▶ {esc(t('running_scenario', lang))}",
            classes=["rs-running"],
            style="color:#37474f;font-size:13px",
        )


def _hashable(*tables: dict[str, Any]) -> bool:
    try:
        for table in tables:
            set(table.items())
    except TypeError:
        return False
    return True


def _indicator_select(lang: str, indicator: str, set_indicator: Callable[[str], None], css: str) -> None:
    labels = {t(f"ind_{name}", lang): name for name in views.INDICATORS}
    solara.Select(
        label=t("colour_by", lang),
        values=list(labels),
        value=t(f"ind_{indicator}", lang),
        on_value=lambda label: set_indicator(labels.get(label, "pm25")),
        classes=[css],
        dense=True,
    )


def _option_select(label: str, options: dict[str, str], value: str, on_value: Callable[[str], None], css: str) -> None:
    shown = {v: k for k, v in options.items()}
    with solara.Column(style="min-width:120px;flex:1 1 120px", gap="0px"):
        solara.Select(
            label=label,
            values=list(options.values()),
            value=options.get(value, next(iter(options.values()))),
            on_value=lambda v: on_value(shown.get(v, value)),
            classes=[css],
            dense=True,
        )


@solara.component
def MapView(
    run: DashboardRun,
    tick: int,
    lang: str,
    indicator: str,
    set_indicator: Callable,
    selected: str | None,
    set_selected: Callable,
    options: dict[str, Any],
    set_options: Callable,
    presenter: bool = False,
):
    """The map (fills the window; click a city, zoom, arrows, scale) beside the selected city's panel."""
    model = run.model
    zoom, arrows, scale, size = options["zoom"], options["arrows"], options["scale"], options["size"]
    zooms = solara.use_memo(lambda: views.zoom_choices(model, lang), [id(run), lang])
    if zoom not in zooms:
        zoom = views.ZOOM_ALL

    def draw() -> str:
        vrange = None
        if scale == "run":
            low, high = run.scale(indicator)
            now_low, now_high = views.stable_range([model], indicator)
            vrange = (min(low, now_low), max(high, now_high))
        elif scale == "year":
            values = views.indicator_values(model, indicator)
            vrange = (float(values.min()), float(values.max()))
            if indicator in views.CENTRED:
                bound = float(abs(values).max()) or 1.0
                vrange = (-bound, bound)
        return views.map_view(model, indicator, lang, selected=selected, vrange=vrange, size=size, zoom=zoom, arrows=arrows)

    svg = solara.use_memo(draw, [id(run), tick, indicator, lang, selected, zoom, arrows, scale, size])
    names = model.state.city_names_zh if lang == "zh" else model.state.city_names_en
    by_name = dict(zip(names, model.state.city_ids, strict=True))

    def update(**changes: Any) -> None:
        set_options({**options, **changes})

    def resized(wh: Any) -> None:
        try:
            w, h = int(wh[0]), int(wh[1])
        except (TypeError, ValueError, IndexError):
            return
        if (w, h) != tuple(size):
            set_options({**options, "size": (w, h)})

    with solara.Row(style="flex-wrap:nowrap;align-items:flex-start", gap="8px"):
        with solara.Column(style="flex:1 1 auto;min-width:0", gap="2px"):
            with solara.Row(gap="6px", style="flex-wrap:wrap;align-items:center"):
                with solara.Column(style="min-width:140px;flex:1 1 140px", gap="0px"):
                    _indicator_select(lang, indicator, set_indicator, "rs-indicator")
                _option_select(t("zoom", lang), {k: v[0] for k, v in zooms.items()}, zoom, lambda v: update(zoom=v), "rs-zoom")
                _option_select(
                    t("arrows", lang),
                    {k: t(f"arrows_{k}", lang) for k in ("year", "cumulative", "none")},
                    arrows,
                    lambda v: update(arrows=v),
                    "rs-arrows",
                )
                _option_select(
                    t("scale", lang), {k: t(f"scale_{k}", lang) for k in ("run", "year")}, scale, lambda v: update(scale=v), "rs-scale"
                )
            SvgView(
                svg=svg,
                extra_class="rs-map-view",
                event_click=set_selected,
                fit=True,
                event_resize=resized,
                fullscreen_label=t("fullscreen", lang),
                pan_key=str(zoom),
                reset_label=t("pan_reset", lang),
            )
        if not presenter:
            with solara.Column(
                style="flex:0 0 300px;width:300px;max-height:calc(100vh - 110px);overflow-y:auto", gap="0px", classes=["rs-side"]
            ):
                with solara.Column(style="min-width:220px", gap="0px"):
                    current = names[model.state.city_ids.index(selected)] if selected in model.state.city_ids else None
                    solara.Select(
                        label=t("pick_city", lang),
                        values=list(names),
                        value=current,
                        on_value=lambda name: set_selected(by_name.get(name)),
                        classes=["rs-city-select"],
                        dense=True,
                    )
                if selected in model.state.city_ids:
                    solara.HTML(tag="div", unsafe_innerHTML=views.city_html(model, selected, lang), classes=["rs-city"])
                else:
                    solara.HTML(tag="p", unsafe_innerHTML=esc(t("click_city", lang)), classes=["rs-city-hint"])
                solara.HTML(tag="div", unsafe_innerHTML=views.payments_html(model, lang), classes=["rs-payments"])


@solara.component
def ChartsView(run: DashboardRun, tick: int, lang: str):
    """The time series that matter, one small chart each, with the current year marked."""
    charts = solara.use_memo(lambda: views.chart_views(run.model, lang), [id(run), tick, lang])
    SvgView(svg="<div style='display:flex;flex-wrap:wrap;gap:8px'>" + "".join(charts) + "</div>", extra_class="rs-charts-view")


@solara.component
def LessonView(
    lesson: Lesson,
    run: DashboardRun,
    tick: int,
    lang: str,
    state: dict[str, Any],
    set_state: Callable,
    setup: Callable[[dict[str, Any]], None],
):
    """The scenario's lesson: intro, then one step at a time — predict, press, notice — with the
    recorded prediction shown against what happened once the model has moved on."""
    k = min(int(state.get("step", 0)), len(lesson.steps) - 1)
    step = lesson.steps[k]
    predictions = dict(state.get("predictions", {}))
    started = run.year > run.base_year

    def predict(choice: str) -> None:
        set_state({**state, "predictions": {**predictions, step.id: choice}})

    def go(delta: int) -> None:
        set_state({**state, "step": max(0, min(len(lesson.steps) - 1, k + delta))})

    box = "background:#fff;border:1px solid #cfd8dc;border-radius:6px;padding:8px 12px;margin:4px 0"
    with solara.Column(gap="4px", classes=["rs-lesson"], style="max-width:980px"):
        solara.HTML(tag="h2", unsafe_innerHTML=esc(lesson.say("title", lang)), classes=["rs-lesson-title"], style="margin:4px 0")
        solara.HTML(tag="p", unsafe_innerHTML=esc(lesson.say("intro", lang)), classes=["rs-lesson-intro"], style="font-size:15px")
        with solara.Row(gap="6px", style="align-items:center"):
            solara.Button(t("lesson_prev", lang), on_click=lambda: go(-1), disabled=k == 0, classes=["rs-lesson-prev"], outlined=True)
            solara.HTML(tag="b", unsafe_innerHTML=esc(t("lesson_step", lang, k=k + 1, n=len(lesson.steps))), classes=["rs-lesson-k"])
            solara.Button(
                t("lesson_next", lang),
                on_click=lambda: go(1),
                disabled=k == len(lesson.steps) - 1,
                classes=["rs-lesson-next"],
                outlined=True,
            )
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"<b style='font-size:17px'>{esc(step.say('question', lang))}</b>",
            classes=["rs-lesson-question"],
            style=box,
        )
        solara.HTML(tag="div", unsafe_innerHTML=f"<b>{esc(t('lesson_predict', lang))}</b>")
        chosen = predictions.get(step.id)
        with solara.Row(gap="6px", style="flex-wrap:wrap"):
            for choice in CHOICES:
                solara.Button(
                    t(f"choice_{choice}", lang),
                    on_click=lambda c=choice: predict(c),
                    disabled=started,
                    classes=[f"rs-predict-{choice}"],
                    color="primary" if chosen == choice else None,
                    outlined=chosen != choice,
                    style="text-transform:none",
                )
        if started:
            solara.HTML(tag="div", unsafe_innerHTML=esc(t("lesson_locked", lang)), style="color:#666;font-size:12px")
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"<b>{esc(t('lesson_press', lang))}:</b> {esc(step.say('press', lang))}",
            classes=["rs-lesson-press"],
            style=box,
        )
        solara.Button(t("lesson_setup", lang), on_click=lambda: setup(step.setup), classes=["rs-lesson-setup"], color="warning")
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"<b>{esc(t('lesson_notice', lang))}:</b> {esc(step.say('notice', lang))}",
            classes=["rs-lesson-notice"],
            style=box,
        )
        result = outcome(run.model, step)
        if result is None:
            solara.HTML(tag="div", unsafe_innerHTML=esc(t("lesson_wait", lang)), classes=["rs-lesson-wait"], style="color:#666")
            return
        before, after, happened = result
        unit = step.unit[1] if lang == "zh" else step.unit[0]
        said = t(f"choice_{chosen}", lang) if chosen else t("lesson_none", lang)
        verdict = "" if not chosen else (t("lesson_match", lang) if chosen == happened else t("lesson_mismatch", lang))
        colour = "#e8f5e9" if chosen == happened else ("#fff3e0" if chosen else "#f5f5f5")
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                f"<table style='font-size:15px'><tr><td style='padding:2px 10px 2px 0'><b>{esc(t('lesson_predicted', lang))}</b></td>"
                f"<td class='rs-lesson-said' data-choice='{esc(chosen or '')}'>{esc(said)}</td></tr>"
                f"<tr><td style='padding:2px 10px 2px 0'><b>{esc(t('lesson_happened', lang))}</b></td>"
                f"<td class='rs-lesson-happened' data-choice='{happened}'>{esc(t(f'choice_{happened}', lang))}: "
                f"{run.base_year} {esc(fmt_number(before, 1, lang))} → {run.year} {esc(fmt_number(after, 1, lang))} {esc(unit)}</td></tr>"
                f"</table><div class='rs-lesson-verdict' style='font-weight:700;margin-top:4px'>{esc(verdict)}</div>"
            ),
            classes=["rs-lesson-result"],
            style=f"{box};background:{colour}",
        )


@solara.component
def CompareView(
    run: DashboardRun,
    lang: str,
    b_name: str,
    b_pending: dict[str, Any],
    comparison: Any,
    set_comparison: Callable,
    mode: str,
    set_mode: Callable,
    year: int | None,
    set_year: Callable,
    indicator: str,
    set_message: Callable,
    set_editing: Callable,
    size: tuple[int, int],
):
    """Case A (this run's scenario and levers) against case B (any scenario with its own levers),
    both run to the horizon with one seed: maps on one colour scale, or B − A on a scale centred on
    zero; charts; the plan targets side by side."""
    map_indicator, set_map_indicator = solara.use_state(indicator)

    def compare() -> None:
        try:
            a = run.full_run()
            b = views_run_case(b_name, run.seed, b_pending)
        except UserError as exc:
            set_message(reason(str(exc), lang))
            return
        set_comparison((a, b, b_name, run.scenario, dict(b_pending)))
        set_year(None)

    desc_a = run.scenario + (f" + {len(run.overrides)}" if run.overrides else "")
    desc_b = b_name + (f" + {len(b_pending)}" if b_pending else "")
    solara.HTML(
        tag="div",
        unsafe_innerHTML=f"<b>{esc(t('compare_a', lang))}</b>: {esc(desc_a)} · {esc(t('seed', lang))} {run.seed}"
        f"<br><b>{esc(t('compare_b', lang))}</b>: <span class='rs-compare-b-desc'>{esc(desc_b)}</span>"
        f"<br><span style='color:#666;font-size:13px'>{esc(t('compare_b_levers', lang, n=len(b_pending)))} · "
        f"{esc(t('compare_hint', lang))}</span>",
    )
    with solara.Row(gap="8px", style="align-items:center;flex-wrap:wrap"):
        solara.Button(t("case_b", lang), on_click=lambda: set_editing("B"), classes=["rs-compare-edit-b"], outlined=True)
        solara.Button(t("compare_run", lang), on_click=compare, color="primary", classes=["rs-compare-run"])
    if comparison is None:
        solara.HTML(tag="p", unsafe_innerHTML=esc(t("compare_none", lang)), classes=["rs-compare-none"])
        return
    a, b, name_b, name_a, _ = comparison
    years = [int(f["year"][0]) for f in a.agent_frames]
    shown = year if year in years else years[-1]
    modes = {"overlay": t("mode_overlay", lang), "difference": t("mode_diff", lang)}
    with solara.Row(gap="8px", style="flex-wrap:wrap"):
        _option_select(t("compare_mode", lang), modes, mode, set_mode, "rs-compare-mode")
        with solara.Column(style="min-width:120px", gap="0px"):
            solara.Select(
                label=t("compare_year", lang),
                values=[str(y) for y in years],
                value=str(shown),
                on_value=lambda v: set_year(int(v)),
                classes=["rs-compare-year"],
                dense=True,
            )
        with solara.Column(style="min-width:220px", gap="0px"):
            _indicator_select(lang, map_indicator, set_map_indicator, "rs-compare-indicator")
    index = years.index(shown)
    solara.HTML(tag="div", unsafe_innerHTML=f"A = {esc(name_a)} · B = {esc(name_b)}", style="font-weight:600")
    width = max(int(size[0]) if size else 660, 480)
    if mode == "difference":
        svg = views.map_view(b, map_indicator, lang, index=index, compare_to=a, size=(width, int(width * 0.75)))
        SvgView(svg=svg, extra_class="rs-compare-map")
    else:
        vrange = views.stable_range([a, b], map_indicator)
        half = max(360, width // 2 - 6)
        with solara.Row(gap="8px", style="flex-wrap:wrap"):
            for label, m in (("A", a), ("B", b)):
                svg = views.map_view(m, map_indicator, lang, index=index, vrange=vrange, size=(half, int(half * 0.85)))
                SvgView(svg=f"<div style='font-weight:700'>{label}</div>" + svg, extra_class=f"rs-compare-map rs-compare-map-{label}")
    solara.HTML(tag="div", unsafe_innerHTML=views.scorecard_compare_html(a, b, lang, shown), classes=["rs-compare-scorecard"])
    charts = views.chart_views(a, lang, other=b, difference=mode == "difference", marker=shown)
    SvgView(svg="<div style='display:flex;flex-wrap:wrap;gap:8px'>" + "".join(charts) + "</div>", extra_class="rs-compare-charts")


def views_run_case(scenario: str, seed: int, overrides: dict[str, Any]):
    """Run one comparison case (kept here so tests can see what the view runs)."""
    from regionsim.viz.session import run_case

    return run_case(scenario, seed, overrides)


@solara.component
def ExportView(
    run: DashboardRun,
    tick: int,
    lang: str,
    scenario: str,
    pending: dict[str, Any],
    variant_name: str,
    set_variant_name: Callable,
    on_load: Callable[[dict], None],
    on_load_b: Callable[[dict], None] | None = None,
):
    """Download the run's files; save the lever settings as a variant file, and load one back —
    into A (this run: its scenario, levers and seed, run at once) or into B (the comparison case)."""
    solara.HTML(tag="p", unsafe_innerHTML=esc(t("export_run_help", lang)))
    Download(label=t("export_run", lang), filename=run.export_name(), make=run.export_zip, css="rs-export-run", mime_type="application/zip")
    name = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in (variant_name or "my_variant")) or "my_variant"
    overrides = {**run.overrides, **pending} if scenario == run.scenario else dict(pending)
    solara.HTML(tag="hr")
    with solara.Column(style="max-width:360px", gap="0px"):
        solara.InputText(label=t("variant_name", lang), value=variant_name, on_value=set_variant_name, classes=["rs-variant-name"])
    text = variant_toml(scenario, overrides, name=name, seed=run.seed)
    with solara.Row(gap="8px", style="flex-wrap:wrap;align-items:center"):
        Download(
            label=t("export_variant", lang),
            filename=f"{name}.toml",
            make=lambda: text.encode("utf-8"),
            css="rs-export-variant",
            mime_type="application/toml",
        )
    with solara.Row(gap="8px", style="flex-wrap:wrap;align-items:center;margin-top:6px"):
        Upload(label=t("load_variant", lang), extra_class="rs-load-variant", event_load=on_load)
        if on_load_b is not None:
            Upload(label=t("load_variant_b", lang), extra_class="rs-load-variant-b", event_load=on_load_b)
    solara.HTML(tag="p", unsafe_innerHTML=esc(t("export_variant_help", lang, file=f"{name}.toml")))
    solara.HTML(
        tag="pre", unsafe_innerHTML=esc(text), classes=["rs-variant-preview"], style="background:#f5f5f5;padding:8px;font-size:12px"
    )
