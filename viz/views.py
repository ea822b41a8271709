"""What each view shows, built from a model as SVG or HTML text (no UI framework here).

- `map_view`: cities coloured by an indicator, sized by population, this year's relocations as
  arrows; or, for a comparison, the difference B − A.
- `chart_views`: the time series that matter, for one run or two (overlaid or as differences).
- `scorecard_html`: the plan targets for the current year, met in green, missed in red.
- `city_html`: a city's state now, its history as small charts, and its events in plain words.

Per-year values are read from the model's recorded agent rows (`model.agent_frames`, one dict
of columns per year), so any recorded year can be drawn, not only the last.
"""

from __future__ import annotations

import json
import re
import weakref
from typing import Any

import numpy as np
import pandas as pd
from regionsim.model.model import RegionModel
from regionsim.model.outputs import MONEY_RULES
from regionsim.model.sectors import FUNCTION_TYPE_NAMES
from regionsim.viz.i18n import circle_label, function_type_label, rule_name, short_name, t, zone_label
from regionsim.viz.svg import PALETTE, MapArrow, MapCity, MapSpec, Series, esc, fmt_number, line_chart_svg, map_svg

INDICATORS = ("pm25", "gdp_per_capita", "population_change", "net_migration", "service_level", "transfers_net")
"""Indicators the map can colour cities by; PM2.5 first (the default)."""

COLORMAPS = {
    "pm25": "YlOrRd",
    "gdp_per_capita": "viridis",
    "population_change": "PuOr",
    "net_migration": "PuOr",
    "service_level": "YlGnBu",
    "transfers_net": "PuOr",
}
CENTRED = {"population_change", "net_migration", "transfers_net"}


def city_rows(model: RegionModel, index: int = -1) -> dict[str, np.ndarray]:
    """The city rows of recorded year `index` (default: the latest), as columns."""
    frame = model.agent_frames[index]
    mask = frame["agent_type"] == "city"
    return {key: column[mask] for key, column in frame.items()}


def indicator_values(model: RegionModel, indicator: str, index: int = -1) -> np.ndarray:
    """One value per city for `indicator` in recorded year `index`."""
    rows = city_rows(model, index)
    if indicator == "pm25":
        return rows["pm25"].astype(float)
    if indicator == "gdp_per_capita":
        return rows["gdp_per_capita_yuan"].astype(float)
    if indicator == "population_change":
        base = city_rows(model, 0)["population"].astype(float)
        return (rows["population"] / np.maximum(base, 1.0) - 1.0) * 100.0
    if indicator == "net_migration":
        return rows["net_migration"].astype(float)
    if indicator == "service_level":
        return rows["service_level"].astype(float)
    if indicator == "transfers_net":
        return rows["transfers_net"].astype(float)
    raise ValueError(f"unknown map indicator {indicator!r}; valid: {', '.join(INDICATORS)}")


def _range(model: RegionModel, indicator: str) -> tuple[float, float]:
    values = np.concatenate([indicator_values(model, indicator, i) for i in range(len(model.agent_frames))])
    values = values[np.isfinite(values)]
    if not values.size:
        return 0.0, 1.0
    if indicator in CENTRED:
        bound = float(np.abs(values).max()) or 1.0
        return -bound, bound
    return float(values.min()), float(values.max())


def _outlines(model: RegionModel, lang: str) -> list[tuple[str, list[list[float]]]]:
    s = model.state
    names = s.province_names_zh if lang == "zh" else s.province_names_en
    return [(names[i], [list(map(float, p)) for p in ring]) for i, ring in enumerate(s.province_outlines) if len(ring) >= 3]


def _city_names(model: RegionModel, lang: str) -> list[str]:
    s = model.state
    return list(s.city_names_zh if lang == "zh" else s.city_names_en)


_EVENTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def events_of(model: RegionModel) -> pd.DataFrame:
    """`model.event_frame()`, grown step by step: the event log only appends, so the frame of the
    events already seen is kept and only the new blocks are turned into rows (building the whole
    frame again every year was the slowest part of a step in the dashboard)."""
    log = model.events
    count = log.block_count()
    done, frame = _EVENTS.get(model, (0, None))
    if frame is not None and done == count:
        return frame
    new = log.frame(start=done)
    frame = new if frame is None else (pd.concat([frame, new], ignore_index=True) if len(new) else frame)
    _EVENTS[model] = (count, frame)
    return frame


def relocation_arrows(model: RegionModel, year: int, lang: str, cumulative: bool = False) -> list[MapArrow]:
    """Relocations in `year` (or, when `cumulative`, in every year up to it), one arrow per source →
    receiver with the units summed and a tooltip in plain words."""
    events = events_of(model)
    when = events["year"] <= year if cumulative else events["year"] == year
    moves = events[when & (events["kind"] == "relocation")]
    names = dict(zip(model.state.city_ids, _city_names(model, lang), strict=True))
    flows: dict[tuple[str, str], dict[str, int]] = {}
    for source, target, kind, units in zip(
        moves["source"].tolist(), moves["target"].tolist(), moves["function_type"].tolist(), moves["units"].tolist(), strict=True
    ):
        by_type = flows.setdefault((str(source), str(target)), {})
        by_type[str(kind)] = by_type.get(str(kind), 0) + int(units)
    arrows = []
    for (source, target), by_type in flows.items():
        units = float(sum(by_type.values()))
        kinds = ("、" if lang == "zh" else ", ").join(
            f"{function_type_label(k, lang)} {v}" for k, v in sorted(by_type.items(), key=lambda kv: -kv[1]) if k
        )
        head = f"{short_name(names.get(source, source))} → {short_name(names.get(target, target))}"
        arrows.append(MapArrow(source, target, units, f"{head}: {int(units)}{t('units_word', lang)} ({kinds})"))
    return arrows


def stable_range(models: list[RegionModel], indicator: str) -> tuple[float, float]:
    """The colour range of `indicator` over every recorded year of every model (run each to its
    horizon first for a scale that stays put over the run)."""
    lows, highs = zip(*(_range(m, indicator) for m in models), strict=True)
    return min(lows), max(highs)


def difference_bound(a: RegionModel, b: RegionModel, indicator: str) -> float:
    """The largest |B − A| of `indicator` over every year both runs recorded (the diverging scale's ±bound)."""
    n = min(len(a.agent_frames), len(b.agent_frames))
    bound = 0.0
    for k in range(n):
        diff = indicator_values(b, indicator, k) - indicator_values(a, indicator, k)
        diff = diff[np.isfinite(diff)]
        if diff.size:
            bound = max(bound, float(np.abs(diff).max()))
    return bound or 1.0


ZOOM_ALL = "all"
ZOOM_CAPITAL = "capital"


def zoom_choices(model: RegionModel, lang: str) -> dict[str, tuple[str, tuple[float, float, float, float] | None]]:
    """Where the map can zoom: the whole region, the cluster round the first (capital) city, each
    province. key → (label, (lon0, lon1, lat0, lat1) or None for the whole region)."""
    s = model.state
    lon, lat = np.asarray(s.lon, dtype=float), np.asarray(s.lat, dtype=float)
    choices: dict[str, tuple[str, tuple[float, float, float, float] | None]] = {ZOOM_ALL: (t("zoom_all", lang), None)}

    def box(mask: np.ndarray) -> tuple[float, float, float, float]:
        lo0, lo1, la0, la1 = lon[mask].min(), lon[mask].max(), lat[mask].min(), lat[mask].max()
        m_lon, m_lat = max((lo1 - lo0) * 0.12, 0.12), max((la1 - la0) * 0.12, 0.1)
        return float(lo0 - m_lon), float(lo1 + m_lon), float(la0 - m_lat), float(la1 + m_lat)

    shrink = np.cos(np.radians(lat[0]))
    near = np.hypot((lon - lon[0]) * shrink, lat - lat[0]) <= 1.05
    if 3 <= near.sum() < s.n_cities:
        choices[ZOOM_CAPITAL] = (t("zoom_capital", lang, city=short_name(_city_names(model, lang)[0])), box(near))
    names = s.province_names_zh if lang == "zh" else s.province_names_en
    province = np.asarray(s.city_province)
    for p, pid in enumerate(s.province_ids):
        mask = province == p
        if 0 < mask.sum() < s.n_cities:
            choices[str(pid)] = (str(names[p]), box(mask))
    return choices


def map_view(
    model: RegionModel,
    indicator: str,
    lang: str,
    *,
    selected: str | None = None,
    index: int = -1,
    compare_to: RegionModel | None = None,
    shared_with: RegionModel | None = None,
    vrange: tuple[float, float] | None = None,
    size: tuple[int, int] = (660, 560),
    zoom: str = ZOOM_ALL,
    arrows: str = "year",
) -> str:
    """The map SVG: `model`'s cities in recorded year `index`, or B − A when `compare_to` (A) is given.

    Colour scale: `vrange` when given (the dashboard passes the range over whole runs, so colours
    stay put from year to year; for a difference, ±bound); else the range over the years recorded so
    far, spanning `shared_with` too. `arrows`: "year" (this year's relocations), "cumulative" (since
    the base year) or "none". `zoom`: a key of `zoom_choices`."""
    s = model.state
    rows = city_rows(model, index)
    year = int(rows["year"][0])
    values = indicator_values(model, indicator, index)
    label = t(f"ind_{indicator}", lang)
    names = _city_names(model, lang)
    if compare_to is not None:
        values = values - indicator_values(compare_to, indicator, index)
        title = t("compare_map_title", lang, indicator=label, year=year)
        bound = abs(vrange[1]) if vrange is not None else difference_bound(compare_to, model, indicator)
        legend, colormap, diverging, vmin, vmax = f"B − A: {label}", "RdBu_r", True, -bound, bound
        arrow_title = t("compare_moves_b", lang)
    else:
        title = t("map_title", lang, year=year, indicator=label)
        legend, colormap, diverging = label, COLORMAPS[indicator], indicator in CENTRED
        if vrange is not None:
            vmin, vmax = vrange
        else:
            vmin, vmax = stable_range([model] + ([shared_with] if shared_with is not None else []), indicator)
        arrow_title = t("arrows_legend_cum" if arrows == "cumulative" else "arrows_legend", lang)
    cities = [
        MapCity(
            key=s.city_ids[i],
            label=short_name(names[i]),
            lon=float(s.lon[i]),
            lat=float(s.lat[i]),
            population=float(rows["population"][i]),
            value=float(values[i]),
            tooltip=f"{names[i]}\n{label}: {fmt_number(float(values[i]), 2, lang)}\n"
            f"{t('population', lang)}: {fmt_number(float(rows['population'][i]), 1, lang)}",
        )
        for i in range(s.n_cities)
    ]
    focus = zoom_choices(model, lang).get(zoom, ("", None))[1]
    flows = [] if arrows == "none" else relocation_arrows(model, year, lang, cumulative=arrows == "cumulative")
    spec = MapSpec(
        cities=cities,
        outlines=_outlines(model, lang),
        arrows=flows,
        title=title,
        legend_title=legend,
        size_title=t("size_legend", lang),
        arrow_title=arrow_title,
        arrow_unit=t("units_word", lang).strip(),
        colormap=colormap,
        vmin=vmin,
        vmax=vmax,
        diverging=diverging,
        selected=selected,
        width=int(size[0]),
        height=int(size[1]),
        focus=focus,
        lang=lang,
        max_population=float(max(np.max(city_rows(model, 0)["population"]), np.max(rows["population"]))),
    )
    return map_svg(spec)


# --- charts ------------------------------------------------------------------------------------------------


def _chart_specs(lang: str) -> list[tuple[str, list[tuple[str, str, float]]]]:
    """(title, [(column, series label, scale)]) for each chart."""
    return [
        (
            t("chart_population", lang),
            [
                ("population_source_cities", t("series_source", lang), 1e-6),
                ("population_receiving_cities", t("series_receivers", lang), 1e-6),
            ],
        ),
        (t("chart_gdp", lang), [("gdp_total_100m_yuan", t("series_region", lang), 1e-4)]),
        (t("chart_gdp_pc", lang), [("gdp_per_capita_yuan", t("series_region", lang), 1e-4)]),
        (t("chart_theil", lang), [("theil_gdp_per_capita", t("series_region", lang), 1.0)]),
        (t("chart_pm25", lang), [("pm25_population_weighted", t("series_region", lang), 1.0)]),
        (t("chart_moved", lang), [(f"cum:units_moved_{name}", function_type_label(name, lang), 1.0) for name in FUNCTION_TYPE_NAMES]),
        (t("chart_money", lang), [(f"money_{rule.lower()}_100m_yuan", t(f"money_{rule}", lang), 1.0) for rule in MONEY_RULES]),
    ]


def _column(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column.startswith("cum:"):
        return frame[column[4:]].astype(float).cumsum().to_numpy()
    return frame[column].astype(float).to_numpy()


def chart_views(
    model: RegionModel, lang: str, *, other: RegionModel | None = None, difference: bool = False, marker: int | None = None
) -> list[str]:
    """One SVG per chart. With `other` (case B): B dashed over A solid, or B − A when `difference`.
    `marker` (default: the model's current year) is drawn as a vertical line; hovering a year shows
    every series' value."""
    marker = int(model.state.year) if marker is None else marker
    frame = model.model_frame()
    years = frame["year"].to_numpy()
    x_range = (model.region.base_year, model.until)
    other_frame = other.model_frame() if other is not None else None
    charts = []
    for title, columns in _chart_specs(lang):
        series = []
        for k, (column, label, scale) in enumerate(columns):
            values = _column(frame, column) * scale
            if column.startswith("cum:") and not values.any() and (other_frame is None or not _column(other_frame, column).any()):
                continue  # a function type that never moves clutters the legend
            if column.startswith("money_") and not values.any() and (other_frame is None or not _column(other_frame, column).any()):
                continue
            colour = PALETTE[k % len(PALETTE)]
            if other_frame is None:
                series.append(Series(label, years, values, colour))
                continue
            n = min(len(values), len(other_frame))
            b_values = _column(other_frame, column)[:n] * scale
            if difference:
                series.append(Series(f"{label} (B − A)", years[:n], b_values - values[:n], colour))
            else:
                series.append(Series(label, years, values, colour))
                series.append(Series(f"{label} (B)", other_frame["year"].to_numpy()[:n], b_values, colour, dashed=True, in_legend=False))
        if other_frame is not None:
            title = f"{title} — B − A" if difference else f"{title} — A ——, B - - -"
        charts.append(line_chart_svg(title, series, x_range=x_range, zero_line=difference, height=200, marker_x=marker, lang=lang))
    return charts


# --- scorecard ---------------------------------------------------------------------------------------------


INDICATOR_UNITS = {
    "population_10k": ("10k persons", "万人"),
    "gdp_100m_yuan": ("100m yuan", "亿元"),
    "pm25_ugm3": ("µg/m³", "微克/立方米"),
    "density_built_per_km2": ("persons/km²", "人/平方公里"),
    "gdp_per_capita_yuan": ("yuan", "元"),
    "residents_relocated_in_10k": ("10k persons", "万人"),
    "residents_relocated_out_10k": ("10k persons", "万人"),
    "units_received": ("units", "个单位"),
}
"""The unit of each scorecard indicator (English, 中文)."""


def target_number(value: float, indicator: str, lang: str) -> str:
    """A scorecard number rounded to what the target can mean (float noise such as 1.1e-13 reads 0)."""
    value = float(value)
    if not np.isfinite(value):
        return "–"
    if abs(value) < 5e-9:
        value = 0.0
    if indicator in ("pm25_ugm3", "residents_relocated_in_10k", "residents_relocated_out_10k") or abs(value) < 100:
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def _unit(indicator: str, lang: str) -> str:
    en, zh = INDICATOR_UNITS.get(indicator, ("", ""))
    return zh if lang == "zh" else en


def scorecard_html(model: RegionModel, lang: str, *, year: int | None = None) -> str:
    """The plan targets as a table over every year so far: one row per target (with its unit and
    goal), one column per year, each cell green when met and red when missed; the current (or
    given) year is marked. Values are rounded so float noise never shows."""
    card = model.scorecard_frame()
    if card.empty:
        return f"<p class='rs-scorecard-empty'>{esc(t('no_targets', lang))}</p>"
    years = sorted(int(y) for y in card["year"].unique())
    now_year = year if year in years else years[-1]
    label_column = "label_zh" if lang == "zh" else "label_en"
    cell = "padding:3px 6px;text-align:right;white-space:nowrap"
    head = (
        f"<th style='text-align:left;padding:4px 8px'>{esc(t('target', lang))}</th>"
        f"<th style='padding:4px 6px'>{esc(t('unit', lang))}</th><th style='padding:4px 6px'>{esc(t('goal', lang))}</th>"
        f"<th style='padding:4px 6px'>{esc(t('deadline', lang))}</th>"
        + "".join(f"<th class='rs-score-year' style='{cell};{'background:#ffe0b2' if y == now_year else ''}'>{y}</th>" for y in years)
    )
    rows = []
    for target_id, group in card.groupby("target_id", sort=False):
        group = group.set_index("year")
        first = group.iloc[-1]
        indicator = str(first["indicator"])
        now = group.loc[now_year] if now_year in group.index else first
        met = bool(now["met"])
        deadline = t("every_year", lang) if int(first["deadline"]) < 0 else str(int(first["deadline"]))
        cells = []
        for y in years:
            if y not in group.index:
                cells.append(f"<td style='{cell}'></td>")
                continue
            r = group.loc[y]
            ok = bool(r["met"])
            colour = ("#d8f3dc" if ok else "#ffd6d6") if bool(r["binding"]) else ("#eef7ee" if ok else "#fbeeee")
            status = t("met", lang) if ok else t("missed", lang)
            if not bool(r["binding"]):
                status += " " + t("not_binding_yet", lang)
            cells.append(
                f"<td class='rs-score-cell' data-year='{y}' style='{cell};background:{colour};"
                f"{'font-weight:700;outline:2px solid #e65100' if y == now_year else ''}' "
                f"title='{esc(status)}; {esc(t('margin', lang))} {esc(target_number(r['margin'], indicator, lang))}'>"
                f"{esc(target_number(r['value'], indicator, lang))}</td>"
            )
        rows.append(
            f"<tr class='rs-target {'rs-met' if met else 'rs-missed'}' data-target='{esc(target_id)}' title='{esc(first['source'])}'>"
            f"<td style='padding:3px 8px'>{esc(first[label_column])}</td>"
            f"<td style='padding:3px 6px;color:#555'>{esc(_unit(indicator, lang))}</td>"
            f"<td style='{cell}'>{esc(first['comparator'])} {esc(target_number(first['target_value'], indicator, lang))}</td>"
            f"<td style='padding:3px 6px'>{esc(deadline)}</td>{''.join(cells)}</tr>"
        )
    return (
        f"<h3 style='margin:4px 0 8px'>{esc(t('scorecard_year', lang, year=now_year))}</h3>"
        f"<div style='overflow-x:auto'><table class='rs-scorecard' style='border-collapse:collapse;font-size:13px'>"
        f"<thead><tr style='background:#eceff1'>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        f"<p style='color:#666;font-size:12px'>{esc(t('scorecard_help', lang))}</p>"
    )


def scorecard_compare_html(a: RegionModel, b: RegionModel, lang: str, year: int) -> str:
    """A and B's plan targets in `year` side by side: value, unit, goal, met or missed."""
    card_a, card_b = a.scorecard_frame(), b.scorecard_frame()
    if card_a.empty:
        return f"<p class='rs-scorecard-empty'>{esc(t('no_targets', lang))}</p>"
    now_a = card_a[card_a["year"] == year].set_index("target_id")
    now_b = card_b[card_b["year"] == year].set_index("target_id") if not card_b.empty else now_a.iloc[0:0]
    label_column = "label_zh" if lang == "zh" else "label_en"
    rows = []
    for target_id, r in now_a.iterrows():
        indicator = str(r["indicator"])
        cells = []
        for case, frame in (("A", now_a), ("B", now_b)):
            if target_id not in frame.index:
                cells.append("<td></td><td></td>")
                continue
            x = frame.loc[target_id]
            ok = bool(x["met"])
            cells.append(
                f"<td class='rs-ab-{case}' style='padding:3px 8px;text-align:right'>"
                f"{esc(target_number(x['value'], indicator, lang))}</td>"
                f"<td style='padding:3px 8px;font-weight:600;color:{'#1b5e20' if ok else '#b71c1c'};"
                f"background:{'#d8f3dc' if ok else '#ffd6d6'}'>{esc(t('met' if ok else 'missed', lang))}</td>"
            )
        rows.append(
            f"<tr class='rs-ab-target' data-target='{esc(target_id)}'><td style='padding:3px 8px'>{esc(r[label_column])}</td>"
            f"<td style='padding:3px 6px;color:#555'>{esc(_unit(indicator, lang))}</td>"
            f"<td style='padding:3px 8px;text-align:right'>{esc(r['comparator'])} "
            f"{esc(target_number(r['target_value'], indicator, lang))}</td>{''.join(cells)}</tr>"
        )
    head = "".join(
        f"<th style='padding:4px 8px;text-align:left'>{esc(h)}</th>"
        for h in (t("target", lang), t("unit", lang), t("goal", lang), "A", t("status", lang), "B", t("status", lang))
    )
    return (
        f"<h4 style='margin:8px 0 4px'>{esc(t('scorecard_ab', lang, year=year))}</h4>"
        f"<table class='rs-scorecard-ab' style='border-collapse:collapse;font-size:13px'><thead><tr style='background:#eceff1'>"
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


# --- the city panel ----------------------------------------------------------------------------------------


_YI = re.compile(r"(-?[\d,]+(?:\.\d+)?)\s*亿元")


def money_words(amount_100m_yuan: float, lang: str) -> str:
    """An amount in 亿元 in the reader's words: '3.2亿元' / '320 million yuan'."""
    yuan = float(amount_100m_yuan) * 1e8
    if lang == "zh":
        return f"{amount_100m_yuan:,.2f}亿元" if abs(amount_100m_yuan) >= 0.01 else f"{yuan / 1e4:,.1f}万元"
    return f"{fmt_number(yuan, 1, 'en')} yuan"


def _reader_units(text: str, lang: str) -> str:
    """English text with amounts written '16.8 亿元' rewritten as '1.7 billion yuan'."""
    if lang == "zh":
        return text
    return _YI.sub(lambda m: money_words(float(m.group(1).replace(",", "")), "en"), text)


def _reason_part(text: str) -> str:
    """The '(…)' reason a relocation sentence gives before its colon, if any."""
    found = re.search(r"[（(]([^（）()]*)[)）][:：]", text)
    return found.group(1) if found else ""


def explain(row: Any, lang: str, names: dict[str, str]) -> str:
    """One event in a sentence a student understands, with numbers in the reader's units.

    Relocations say why the unit left and why the receiver was chosen (role in the plan, travel time,
    room, incentive) — and, when the event carries runner-up receivers (`runners_up` in its detail),
    why they lost. Other events keep the rule's own sentence, with 亿元 written out in English."""
    text = str(row.why_zh if lang == "zh" and row.why_zh else row.why_en)
    if row.kind != "relocation":
        return _reader_units(text, lang)
    try:
        detail = json.loads(row.detail) if row.detail else {}
    except ValueError:
        detail = {}
    if not isinstance(detail, dict) or "role_match" not in detail:
        return _reader_units(text, lang)
    source, target = short_name(names.get(row.source, row.source)), short_name(names.get(row.target, row.target))
    kind = function_type_label(str(row.function_type), lang)
    units = int(row.units)
    role, minutes = float(detail.get("role_match", 0)), float(detail.get("travel_minutes", 0))
    headroom, incentive = float(detail.get("headroom", 0)), float(detail.get("incentive", 0))
    why = _reason_part(text)
    if lang == "zh":
        fit = "功能定位相符" if role >= 1 else ("功能定位部分相符" if role > 0 else "功能定位不符")
        room = "容量充裕" if headroom > 0.5 else ("尚有容量" if headroom > 0.1 else "容量已紧张")
        perk = f"，并有承接激励（{incentive:g}）" if incentive > 0 else ""
        out = (
            f"{units}个{kind}由{source}迁往{target}"
            + (f"（{why}）" if why else "")
            + f"。选中{target}是因为：{fit}，相距{minutes:.0f}分钟，{room}{perk}。"
        )
    else:
        fit = "its role in the plan fits" if role >= 1 else ("its role partly fits" if role > 0 else "though its role does not fit")
        room = "has room to spare" if headroom > 0.5 else ("still has some room" if headroom > 0.1 else "is nearly full")
        perk = f", and it offers an incentive ({incentive:g})" if incentive > 0 else ""
        out = (
            f"{units} {_plural(kind) if units > 1 else kind} moved from {source} to {target}"
            + (f" ({why})" if why else "")
            + f". {target} was chosen because {fit}, it is {minutes:.0f} minutes away and {room}{perk}."
        )
    runners = detail.get("runners_up") or []
    if isinstance(runners, list) and runners:
        lost = []
        for item in runners[:3]:
            if isinstance(item, dict) and item.get("city"):
                who = short_name(names.get(item["city"], item["city"]))
                why = item.get("why_zh" if lang == "zh" else "why") or item.get("why", "")
                lost.append(f"{who}（{why}）" if lang == "zh" else f"{who} ({why})")
        if lost:
            out += ("未选中：" + "、".join(lost) + "。") if lang == "zh" else (" Not chosen: " + "; ".join(lost) + ".")
    return out


def _plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def _event_text(row: Any, lang: str, names: dict[str, str] | None = None) -> str:
    return explain(row, lang, names or {})


def merged(rows: list[tuple[Any, str]]) -> list[tuple[Any, str, int]]:
    """(row, sentence) pairs with identical sentences in the same year merged: (first row, sentence, count)."""
    out: dict[tuple[int, str], list[Any]] = {}
    for row, text in rows:
        key = (int(row.year), text)
        if key in out:
            out[key][2] += 1
        else:
            out[key] = [row, text, 1]
    return [tuple(v) for v in out.values()]


def city_html(model: RegionModel, key: str, lang: str, max_events: int = 60) -> str:
    """A city's panel: state now, history sparklines, and its events (newest first) in plain words,
    relocations and policy first, then money in and out."""
    s = model.state
    if key not in s.city_ids:
        return ""
    i = s.city_ids.index(key)
    city = model.cities[i]
    name = city.name_zh if lang == "zh" else city.name
    province = city.province
    province_name = province.name_zh if lang == "zh" and hasattr(province, "name_zh") else getattr(province, "name", "")
    rows = city_rows(model)
    facts = [
        ("population", fmt_number(city.population, 2, lang)),
        ("gdp", f"{city.gdp:,.0f}"),
        ("gdp_per_capita", f"{rows['gdp_per_capita_yuan'][i]:,.0f}"),
        ("pm25", f"{city.pm25:.1f}"),
        ("jobs", fmt_number(float(rows["jobs"][i]), 2, lang)),
        ("net_migration", f"{rows['net_migration'][i]:+,.0f}"),
        ("service_level", f"{city.service_level:.2f}"),
        ("fiscal_revenue", f"{city.fiscal_revenue:,.1f}"),
        ("transfers_net", f"{rows['transfers_net'][i]:+,.2f}"),
        ("function_units", f"{rows['function_units'][i]:,.0f}"),
        ("province", province_name),
        ("zone", zone_label(city.zone, lang)),
        ("circle", circle_label(city.circle, lang)),
        (
            "roles",
            "、".join(function_type_label(r, lang) for r in city.roles)
            if lang == "zh"
            else ", ".join(function_type_label(r, lang) for r in city.roles) or t("none", lang),
        ),
        (
            "negative_list",
            ("、" if lang == "zh" else ", ").join(function_type_label(r, lang) for r in city.negative_list) or t("none", lang),
        ),
    ]
    table = "".join(
        f"<tr><td style='color:#555;padding:2px 8px 2px 0'>{esc(t(k, lang))}</td>"
        f"<td style='padding:2px 0;font-weight:500'>{esc(v or t('none', lang))}</td></tr>"
        for k, v in facts
    )

    years = np.array([int(f["year"][0]) for f in model.agent_frames])
    history = []
    for column, label_key, scale in (
        ("population", "population", 1e-4),
        ("gdp_per_capita_yuan", "gdp_per_capita", 1e-4),
        ("pm25", "pm25", 1.0),
    ):
        values = np.array([city_rows(model, k)[column][i] for k in range(len(model.agent_frames))], dtype=float) * scale
        unit = {"population": " (万)" if lang == "zh" else " (10k)", "gdp_per_capita": " (万元)" if lang == "zh" else " (10k yuan)"}.get(
            label_key, ""
        )
        title = t(label_key, lang).split("（")[0].split(" (")[0] + unit
        history.append(
            line_chart_svg(
                title,
                [Series(title, years, values, PALETTE[0])],
                width=220,
                height=130,
                x_range=(model.region.base_year, model.until),
                css_class="rs-spark",
                legend=False,
            )
        )

    events = events_of(model)
    mine = events[(events["source"] == key) | (events["target"] == key)]
    mine = mine.iloc[::-1]
    money = mine[mine["kind"] == "payment"]
    other = mine[mine["kind"] != "payment"]
    # relocations first (the "why did this move?" answers), then policy and closures, then market transfers
    order = {"relocation": 0, "policy": 1, "closure": 2, "transfer": 3}
    other = other.assign(_rank=other["kind"].map(order).fillna(2), _year=-other["year"]).sort_values(["_rank", "_year"], kind="stable")

    def listing(frame: pd.DataFrame, css: str) -> str:
        if frame.empty:
            return f"<p style='color:#666'>{esc(t('no_events', lang))}</p>"
        items = []
        names = dict(zip(s.city_ids, _city_names(model, lang), strict=True))
        texts = [(row, explain(row, lang, names)) for row in frame.head(max_events * 3).itertuples(index=False)]
        for row, sentence, count in merged(texts)[:max_events]:
            detail = ""
            if row.detail:
                try:
                    detail = ", ".join(f"{k}={v}" for k, v in json.loads(row.detail).items())
                except (ValueError, AttributeError):
                    detail = str(row.detail)
            direction = "⬅" if row.target == key and row.source != key else ("➡" if row.source == key and row.target != key else "•")
            items.append(
                f"<li class='{css}' data-rule='{esc(row.rule)}' style='margin:3px 0' title='{esc(detail)}'>"
                f"<b>{int(row.year)}</b> <span class='rs-rule-name' style='color:#37474f;font-size:12px'>"
                f"[{esc(rule_name(row.rule, lang))}]</span> {direction} "
                f"{esc(sentence)}{f' <b>×{count}</b>' if count > 1 else ''} "
                f"<span style='color:#888;font-size:12px'>({esc(row.clause)})</span></li>"
            )
        more = len(frame) - max_events
        tail = f"<p style='color:#666'>{esc(t('more_events', lang, n=more))}</p>" if more > 0 else ""
        return f"<ul style='padding-left:18px;margin:4px 0'>{''.join(items)}</ul>{tail}"

    return (
        f"<div class='rs-city-panel' data-key='{esc(key)}'>"
        f"<h3 style='margin:2px 0 6px'>{esc(name)}</h3>"
        f"<h4 style='margin:6px 0 2px'>{esc(t('city_state', lang))} ({int(s.year)})</h4>"
        f"<table style='font-size:13px'>{table}</table>"
        f"<h4 style='margin:10px 0 2px'>{esc(t('history', lang))}</h4>"
        f"<div style='display:flex;flex-wrap:wrap;gap:4px'>{''.join(history)}</div>"
        f"<h4 style='margin:10px 0 2px'>{esc(t('events', lang))}</h4>"
        f"<div class='rs-city-events' style='font-size:13px'>{listing(other, 'rs-event')}</div>"
        f"<h4 style='margin:10px 0 2px'>{esc(t('payments', lang))}</h4>"
        f"<div class='rs-city-payments' style='font-size:13px'>{listing(money, 'rs-payment')}</div></div>"
    )


def payments_html(model: RegionModel, lang: str, limit: int = 40) -> str:
    """This year's payments (tax sharing, compensation, joint control, energy, fund) in plain words."""
    events = events_of(model)
    now = events[(events["year"] == model.state.year) & (events["kind"] == "payment")]
    if now.empty:
        return ""
    now = now.sort_values("amount", ascending=False)
    items = "".join(
        f"<li class='rs-payment' data-rule='{esc(r.rule)}' style='margin:2px 0'>"
        f"<span class='rs-rule-name' style='color:#37474f;font-size:12px'>"
        f"[{esc(rule_name(r.rule, lang))}]</span> {esc(_event_text(r, lang))} "
        f"<span style='color:#888;font-size:12px'>({esc(r.clause)})</span></li>"
        for r in now.head(limit).itertuples(index=False)
    )
    more = len(now) - limit
    tail = f"<p style='color:#666'>{esc(t('more_events', lang, n=more))}</p>" if more > 0 else ""
    return (
        f"<h4 style='margin:8px 0 2px'>{esc(t('money_this_year', lang))}</h4>"
        f"<ul style='padding-left:18px;margin:4px 0;font-size:13px'>{items}</ul>{tail}"
    )
