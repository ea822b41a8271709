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
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import solara
from regionsim.model.errors import UserError
from regionsim.model.model import DEFAULT_SCENARIO
from regionsim.viz import SCENARIO_ENV, views
from regionsim.viz.clauses import quote
from regionsim.viz.i18n import pick, t
from regionsim.viz.session import DashboardRun, LeverRow, check_case, lever_groups, parse_lever, parse_seed, scenario_choices, variant_toml
from regionsim.viz.svg import esc

HERE = Path(__file__).resolve().parent
SPEEDS = ("0.5", "1", "2", "4")
VIEWS = ("map", "charts", "scorecard", "compare", "export")


@solara.component_vue(str(HERE / "vue" / "svg_view.vue"))
def SvgView(svg: str, extra_class: str = "", event_click: Callable[[str], None] | None = None):
    """An SVG string, with clicks on `data-key` elements reported as `event_click(key)`."""


@solara.component_vue(str(HERE / "vue" / "ticker.vue"))
def Ticker(playing: bool, interval_ms: int, done: int = 0, event_tick: Callable[[Any], None] | None = None):
    """The play clock (runs in the browser)."""


@solara.component_vue(str(HERE / "vue" / "download.vue"))
def DownloadButton(label: str, filename: str, payload: str = "", mime_type: str = "application/octet-stream", extra_class: str = "",
                   event_request: Callable[[Any], None] | None = None):
    """A button that saves bytes Python hands over on request."""


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


@solara.component
def LeverField(row: LeverRow, value: Any, changed: bool, lang: str, scenario: str, pending: dict[str, Any],
               on_value: Callable[[str, Any], None]):
    """One lever: labels in both languages, the plan clause quoted in a tooltip, and an input that
    refuses impossible values with the reason."""
    lever = row.lever
    text, set_text = solara.use_state(str(value))
    error, set_error = solara.use_state("")
    solara.use_effect(lambda: set_text(str(value)), [value])
    label_en = lever.label_en or row.rule.title_en
    label_zh = lever.label_zh or row.rule.title_zh
    first, second = (label_zh, label_en) if lang == "zh" else (label_en, label_zh)
    tooltip = f"{t('clause', lang)}: {quote(lever.clause)}" if lever.clause else ""
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
            set_error(f"{t('refused', lang)}: {why}")
            return
        set_error("")
        on_value(row.key, parsed)

    def typed(raw: str | None) -> None:
        set_text(raw or "")
        accept(raw or "")

    with solara.Column(gap="0px", classes=[css], style="margin-bottom:6px"):
        solara.HTML(tag="div", unsafe_innerHTML=(
            f"<span style='font-weight:{600 if changed else 500}'>{esc(first)}</span>"
            f"{' ●' if changed else ''} <span style='color:#777;font-size:12px'>{esc(second)}</span>"
            f" <span class='rs-clause' style='color:#1565c0;font-size:12px;cursor:help'>ⓘ {esc(lever.clause)}</span>"),
            attributes={"title": tooltip}, classes=["rs-lever-label"], style="font-size:13px;line-height:1.25")
        if lever.kind == "bool":
            solara.Switch(label=f"{value}", value=bool(value), on_value=lambda v: accept(bool(v)), classes=[f"{css}-input"])
        else:
            low = f"{lever.low:g}" if lever.low is not None else ""
            high = f"{lever.high:g}" if lever.high is not None else ""
            solara.InputText(label=f"{low} … {high}", value=text, on_value=typed, error=bool(error), dense=True,
                             classes=[f"{css}-input"], hide_details=True)
        if error:
            solara.HTML(tag="div", unsafe_innerHTML=esc(error), classes=["rs-lever-error"],
                        style="color:#b71c1c;font-size:12px")


@solara.component
def LeverPanel(scenario: str, pending: dict[str, Any], set_pending: Callable, lang: str):
    """Every lever of the scenario, one collapsible group per rule."""
    groups = solara.use_memo(lambda: lever_groups(scenario), [scenario])
    open_rules, set_open_rules = solara.use_state(frozenset())

    def set_value(key: str, value: Any, scenario_value: Any) -> None:
        updated = dict(pending)
        if value == scenario_value:
            updated.pop(key, None)
        else:
            updated[key] = value
        set_pending(updated)

    solara.HTML(tag="div", unsafe_innerHTML=f"<b>{esc(t('levers', lang))}</b>", style="margin:8px 0 4px")
    if pending:
        solara.HTML(tag="div", unsafe_innerHTML=f"● {len(pending)} {esc(t('levers_pending', lang))}", classes=["rs-pending"],
                    style="color:#e65100;font-size:13px")
        solara.Button(t("levers_clear", lang), on_click=lambda: set_pending({}), text=True, classes=["rs-levers-clear"])
    for spec, rows in groups:
        is_open = spec.key in open_rules
        changed_here = sum(1 for r in rows if r.key in pending)
        title = pick((spec.title_en, spec.title_zh), lang)
        marker = "▾" if is_open else "▸"

        def toggle(key: str = spec.key) -> None:
            set_open_rules(open_rules - {key} if key in open_rules else open_rules | {key})

        solara.Button(f"{marker} {spec.id} · {title}{f' ({changed_here})' if changed_here else ''}", on_click=toggle, text=True,
                      classes=["rs-rule", f"rs-rule-{spec.key}"],
                      style="justify-content:flex-start;text-transform:none;letter-spacing:0;width:100%;font-size:13px;"
                            "white-space:normal;height:auto;min-height:30px;text-align:left;padding:2px 4px")
        if is_open:
            with solara.Column(style="padding-left:10px;border-left:3px solid #90caf9", gap="2px"):
                for row in rows:
                    value = pending.get(row.key, row.scenario_value)
                    LeverField(row=row, value=value, changed=row.key in pending, lang=lang, scenario=scenario, pending=pending,
                               on_value=lambda key, v, sv=row.scenario_value: set_value(key, v, sv)).key(row.key)


@solara.component
def Page():
    """The dashboard page: one per browser session."""
    lang, set_lang = solara.use_state("en")
    initial = solara.use_memo(lambda: DashboardRun(default_scenario()), [])
    run, set_run = solara.use_state(initial)
    scenario, set_scenario = solara.use_state(initial.scenario)
    tick, set_tick = solara.use_state(0)
    playing, set_playing = solara.use_state(False)
    speed, set_speed = solara.use_state("2")
    seed_text, set_seed_text = solara.use_state("0")
    pending, set_pending = solara.use_state({})
    message, set_message = solara.use_state("")
    view, set_view = solara.use_state("map")
    indicator, set_indicator = solara.use_state("pm25")
    selected, set_selected = solara.use_state(None)
    other, set_other = solara.use_state(None)
    comparison, set_comparison = solara.use_state(None)
    compare_mode, set_compare_mode = solara.use_state("overlay")
    compare_year, set_compare_year = solara.use_state(None)
    variant_name, set_variant_name = solara.use_state("my_variant")

    choices = solara.use_memo(scenario_choices, [])
    model = run.model

    def step(_: Any = None) -> None:
        if run.step():
            set_tick(lambda n: n + 1)
        else:
            set_playing(False)

    def reset(name: str | None = None) -> None:
        name = name or scenario
        seed, why = parse_seed(seed_text)
        if why:
            set_message(f"{t('seed', lang)}: {why}")
            return
        overrides = pending if name == scenario else {}
        try:
            new_run = DashboardRun(name, seed=seed, overrides=overrides)
        except UserError as exc:
            set_message(str(exc))
            return
        set_playing(False)
        set_message("")
        set_run(new_run)
        set_tick(lambda n: n + 1)
        set_comparison(None)

    def choose_scenario(name: str) -> None:
        if name == scenario:
            return
        set_pending({})
        set_scenario(name)
        reset(name)

    # --- top bar ---------------------------------------------------------------------------------------
    Ticker(playing=playing, interval_ms=int(1000 / float(speed)), done=tick, event_tick=step)
    with solara.Row(style="align-items:center;flex-wrap:wrap;gap:10px;padding:6px 10px;background:#263238;color:#fff",
                    classes=["rs-topbar"]):
        solara.HTML(tag="div", unsafe_innerHTML=esc(t("app_title", lang)), style="font-size:17px;font-weight:600;color:#fff")
        solara.HTML(tag="div", unsafe_innerHTML=(
            f"{esc(t('year', lang))} <span class='rs-year' data-year='{run.year}'>{run.year}</span>"
            f" <span style='font-size:12px;color:#b0bec5'>({run.base_year}–{run.horizon})</span>"),
            classes=["rs-year-box"], style="font-size:22px;font-weight:700;color:#ffeb3b;padding:0 12px")
        solara.Button(t("step", lang), on_click=step, disabled=not run.running, classes=["rs-step"], color="primary")
        solara.Button(t("pause", lang) if playing else t("play", lang), on_click=lambda: set_playing(not playing),
                      disabled=not run.running and not playing, classes=["rs-play"], color="primary")
        with solara.Column(style="min-width:150px;background:#fff;border-radius:4px;padding:0 6px", gap="0px"):
            solara.Select(label=t("speed", lang), values=list(SPEEDS), value=speed, on_value=set_speed, dense=True,
                          classes=["rs-speed"])
        solara.Button(t("reset", lang), on_click=lambda: reset(), classes=["rs-reset"], color="warning")
        solara.Button(t("language", lang), on_click=lambda: set_lang("zh" if lang == "en" else "en"), classes=["rs-lang"],
                      outlined=True, style="color:#fff")
        if not run.running:
            solara.HTML(tag="span", unsafe_innerHTML=esc(t("finished", lang)), classes=["rs-finished"],
                        style="color:#ffcc80;font-size:13px")
    if message:
        solara.HTML(tag="pre", unsafe_innerHTML=esc(message), classes=["rs-message"],
                    style="color:#b71c1c;background:#ffebee;padding:6px 10px;white-space:pre-wrap;font-size:13px;margin:4px")

    with solara.Columns([1, 3], style="padding:6px"):
        # --- left: scenario, seed, levers ---------------------------------------------------------------
        with solara.Column(style="max-height:calc(100vh - 90px);overflow-y:auto;padding-right:6px", gap="4px"):
            solara.Select(label=t("scenario", lang), values=choices, value=scenario, on_value=choose_scenario,
                          classes=["rs-scenario"])
            seed_value, seed_why = parse_seed(seed_text)
            solara.InputText(label=t("seed", lang), value=seed_text, on_value=lambda v: set_seed_text((v or "").strip()),
                             error=bool(seed_why), classes=["rs-seed"], dense=True, hide_details=True)
            if seed_why:
                solara.HTML(tag="div", unsafe_innerHTML=esc(f"{t('refused', lang)}: {seed_why}"), classes=["rs-seed-error"],
                            style="color:#b71c1c;font-size:12px")
            LeverPanel(scenario=scenario, pending=pending, set_pending=set_pending, lang=lang)

        # --- right: the views ---------------------------------------------------------------------------
        with solara.Column(gap="6px"):
            with solara.Row(gap="4px", style="flex-wrap:wrap"):
                for name in VIEWS:
                    solara.Button(t(f"view_{name}", lang), on_click=lambda name=name: set_view(name),
                                  classes=[f"rs-view-{name}"], color="primary" if view == name else None,
                                  outlined=view != name)
            if view == "map":
                MapView(run=run, tick=tick, lang=lang, indicator=indicator, set_indicator=set_indicator, selected=selected,
                        set_selected=set_selected)
            elif view == "charts":
                ChartsView(run=run, tick=tick, lang=lang)
            elif view == "scorecard":
                solara.HTML(tag="div", unsafe_innerHTML=views.scorecard_html(model, lang), classes=["rs-scorecard-view"])
            elif view == "compare":
                CompareView(run=run, lang=lang, choices=choices, other=other, set_other=set_other, comparison=comparison,
                            set_comparison=set_comparison, mode=compare_mode, set_mode=set_compare_mode,
                            year=compare_year, set_year=set_compare_year, indicator=indicator, set_message=set_message)
            else:
                ExportView(run=run, tick=tick, lang=lang, scenario=scenario, pending=pending, variant_name=variant_name,
                           set_variant_name=set_variant_name)


def _indicator_select(lang: str, indicator: str, set_indicator: Callable[[str], None], css: str) -> None:
    labels = {t(f"ind_{name}", lang): name for name in views.INDICATORS}
    solara.Select(label=t("colour_by", lang), values=list(labels), value=t(f"ind_{indicator}", lang),
                  on_value=lambda label: set_indicator(labels.get(label, "pm25")), classes=[css], dense=True)


@solara.component
def MapView(run: DashboardRun, tick: int, lang: str, indicator: str, set_indicator: Callable, selected: str | None,
            set_selected: Callable):
    """The map (click a city) beside the selected city's panel."""
    model = run.model
    svg = solara.use_memo(lambda: views.map_view(model, indicator, lang, selected=selected),
                          [id(run), tick, indicator, lang, selected])
    names = model.state.city_names_zh if lang == "zh" else model.state.city_names_en
    by_name = dict(zip(names, model.state.city_ids, strict=True))
    with solara.Row(style="flex-wrap:wrap;align-items:flex-start", gap="12px"):
        with solara.Column(style="flex:0 0 auto", gap="4px"):
            with solara.Row(gap="8px"):
                with solara.Column(style="min-width:260px", gap="0px"):
                    _indicator_select(lang, indicator, set_indicator, "rs-indicator")
                with solara.Column(style="min-width:260px", gap="0px"):
                    current = names[model.state.city_ids.index(selected)] if selected in model.state.city_ids else None
                    solara.Select(label=t("pick_city", lang), values=list(names), value=current,
                                  on_value=lambda name: set_selected(by_name.get(name)), classes=["rs-city-select"], dense=True)
            SvgView(svg=svg, extra_class="rs-map-view", event_click=set_selected)
        with solara.Column(style="flex:1 1 340px;min-width:320px;max-height:calc(100vh - 150px);overflow-y:auto", gap="0px"):
            if selected:
                solara.HTML(tag="div", unsafe_innerHTML=views.city_html(model, selected, lang), classes=["rs-city"])
            else:
                solara.HTML(tag="p", unsafe_innerHTML=esc(t("click_city", lang)), classes=["rs-city-hint"])
            solara.HTML(tag="div", unsafe_innerHTML=views.payments_html(model, lang), classes=["rs-payments"])


@solara.component
def ChartsView(run: DashboardRun, tick: int, lang: str):
    """The time series that matter, one small chart each."""
    charts = solara.use_memo(lambda: views.chart_views(run.model, lang), [id(run), tick, lang])
    SvgView(svg="<div style='display:flex;flex-wrap:wrap;gap:8px'>" + "".join(charts) + "</div>", extra_class="rs-charts-view")


@solara.component
def CompareView(run: DashboardRun, lang: str, choices: list[str], other: str | None, set_other: Callable, comparison: Any,
                set_comparison: Callable, mode: str, set_mode: Callable, year: int | None, set_year: Callable, indicator: str,
                set_message: Callable):
    """Two cases run to the horizon with one seed: maps and charts side by side or as differences."""
    default_other = next((c for c in choices if c != run.scenario and c.startswith(run.scenario)), None) or \
        next((c for c in choices if c != run.scenario), run.scenario)
    b_name = other or default_other
    map_indicator, set_map_indicator = solara.use_state(indicator)

    def compare() -> None:
        try:
            a = views_run_case(run.scenario, run.seed, run.overrides)
            b = views_run_case(b_name, run.seed, {})
        except UserError as exc:
            set_message(str(exc))
            return
        set_comparison((a, b, b_name, run.scenario, dict(run.overrides)))
        set_year(None)

    desc_a = run.scenario + (f" + {len(run.overrides)} lever(s)" if run.overrides else "")
    solara.HTML(tag="div", unsafe_innerHTML=f"<b>{esc(t('compare_a', lang))}</b>: {esc(desc_a)} · seed {run.seed}"
                f"<br><span style='color:#666;font-size:13px'>{esc(t('compare_hint', lang))}</span>")
    with solara.Row(gap="8px", style="align-items:center;flex-wrap:wrap"):
        with solara.Column(style="min-width:320px", gap="0px"):
            solara.Select(label=t("compare_b", lang), values=choices, value=b_name, on_value=set_other, classes=["rs-compare-b"])
        solara.Button(t("compare_run", lang), on_click=compare, color="primary", classes=["rs-compare-run"])
    if comparison is None:
        solara.HTML(tag="p", unsafe_innerHTML=esc(t("compare_none", lang)), classes=["rs-compare-none"])
        return
    a, b, name_b, name_a, _ = comparison
    years = [int(f["year"][0]) for f in a.agent_frames]
    shown = year if year in years else years[-1]
    modes = {t("mode_overlay", lang): "overlay", t("mode_diff", lang): "difference"}
    with solara.Row(gap="8px", style="flex-wrap:wrap"):
        with solara.Column(style="min-width:280px", gap="0px"):
            shown_mode = t("mode_diff" if mode == "difference" else "mode_overlay", lang)
            solara.Select(label=t("compare_mode", lang), values=list(modes), value=shown_mode,
                          on_value=lambda label: set_mode(modes.get(label, "overlay")), classes=["rs-compare-mode"], dense=True)
        with solara.Column(style="min-width:160px", gap="0px"):
            solara.Select(label=t("compare_year", lang), values=[str(y) for y in years], value=str(shown),
                          on_value=lambda v: set_year(int(v)), classes=["rs-compare-year"], dense=True)
        with solara.Column(style="min-width:260px", gap="0px"):
            _indicator_select(lang, map_indicator, set_map_indicator, "rs-compare-indicator")
    index = years.index(shown)
    solara.HTML(tag="div", unsafe_innerHTML=f"A = {esc(name_a)} · B = {esc(name_b)}", style="font-weight:600")
    if mode == "difference":
        svg = views.map_view(b, map_indicator, lang, index=index, compare_to=a)
        SvgView(svg=svg, extra_class="rs-compare-map")
    else:
        with solara.Row(gap="8px", style="flex-wrap:wrap"):
            for label, m, twin in (("A", a, b), ("B", b, a)):
                svg = views.map_view(m, map_indicator, lang, index=index, shared_with=twin).replace('width="660" height="560"',
                                                                                   'width="520" height="441"', 1)
                SvgView(svg=f"<div style='font-weight:700'>{label}</div>" + svg, extra_class=f"rs-compare-map rs-compare-map-{label}")
    charts = views.chart_views(a, lang, other=b, difference=mode == "difference")
    SvgView(svg="<div style='display:flex;flex-wrap:wrap;gap:8px'>" + "".join(charts) + "</div>", extra_class="rs-compare-charts")


def views_run_case(scenario: str, seed: int, overrides: dict[str, Any]):
    """Run one comparison case (kept here so tests can see what the view runs)."""
    from regionsim.viz.session import run_case

    return run_case(scenario, seed, overrides)


@solara.component
def ExportView(run: DashboardRun, tick: int, lang: str, scenario: str, pending: dict[str, Any], variant_name: str,
               set_variant_name: Callable):
    """Download the run's files, and save the lever settings as a variant file."""
    solara.HTML(tag="p", unsafe_innerHTML=esc(t("export_run_help", lang)))
    Download(label=t("export_run", lang), filename=run.export_name(), make=run.export_zip, css="rs-export-run",
             mime_type="application/zip")
    name = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in (variant_name or "my_variant")) or "my_variant"
    overrides = {**run.overrides, **pending} if scenario == run.scenario else dict(pending)
    solara.HTML(tag="hr")
    with solara.Column(style="max-width:360px", gap="0px"):
        solara.InputText(label=t("variant_name", lang), value=variant_name, on_value=set_variant_name, classes=["rs-variant-name"])
    text = variant_toml(scenario, overrides, name=name, seed=run.seed)
    Download(label=t("export_variant", lang), filename=f"{name}.toml", make=lambda: text.encode("utf-8"),
             css="rs-export-variant", mime_type="application/toml")
    solara.HTML(tag="p", unsafe_innerHTML=esc(t("export_variant_help", lang, file=f"{name}.toml")))
    solara.HTML(tag="pre", unsafe_innerHTML=esc(text), classes=["rs-variant-preview"],
                style="background:#f5f5f5;padding:8px;font-size:12px")
