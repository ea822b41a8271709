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
from typing import Any

import numpy as np
import pandas as pd
from regionsim.model.model import RegionModel
from regionsim.model.outputs import MONEY_RULES
from regionsim.model.sectors import FUNCTION_TYPE_NAMES
from regionsim.viz.i18n import circle_label, function_type_label, short_name, t, zone_label
from regionsim.viz.svg import PALETTE, MapArrow, MapCity, MapSpec, Series, esc, fmt_number, line_chart_svg, map_svg

INDICATORS = ("pm25", "gdp_per_capita", "population_change", "net_migration", "service_level", "transfers_net")
"""Indicators the map can colour cities by; PM2.5 first (the default)."""

COLORMAPS = {"pm25": "YlOrRd", "gdp_per_capita": "viridis", "population_change": "PuOr", "net_migration": "PuOr",
             "service_level": "YlGnBu", "transfers_net": "PuOr"}
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


def relocation_arrows(model: RegionModel, year: int, lang: str) -> list[MapArrow]:
    """This year's relocations, one arrow per source → receiver, units summed."""
    events = model.event_frame()
    moves = events[(events["year"] == year) & (events["kind"] == "relocation")]
    arrows = []
    for (source, target), group in moves.groupby(["source", "target"], sort=False):
        why = group["why_zh" if lang == "zh" else "why_en"].tolist()
        arrows.append(MapArrow(str(source), str(target), float(group["units"].sum()), "\n".join(why)))
    return arrows


def map_view(model: RegionModel, indicator: str, lang: str, *, selected: str | None = None, index: int = -1,
             compare_to: RegionModel | None = None, shared_with: RegionModel | None = None) -> str:
    """The map SVG: `model`'s cities in recorded year `index`, or B − A when `compare_to` (A) is given.
    With `shared_with`, the colour scale spans both runs, so two maps side by side read alike."""
    s = model.state
    rows = city_rows(model, index)
    year = int(rows["year"][0])
    values = indicator_values(model, indicator, index)
    label = t(f"ind_{indicator}", lang)
    names = _city_names(model, lang)
    if compare_to is not None:
        values = values - indicator_values(compare_to, indicator, index)
        title = t("compare_map_title", lang, indicator=label, year=year)
        legend, colormap, diverging, vmin, vmax = f"B − A: {label}", "RdBu_r", True, None, None
        arrow_title = t("compare_moves_b", lang)
    else:
        title = t("map_title", lang, year=year, indicator=label)
        legend, colormap, diverging = label, COLORMAPS[indicator], False
        vmin, vmax = _range(model, indicator)
        if shared_with is not None:
            other_min, other_max = _range(shared_with, indicator)
            vmin, vmax = min(vmin, other_min), max(vmax, other_max)
        arrow_title = t("arrows_legend", lang)
    cities = [
        MapCity(key=s.city_ids[i], label=short_name(names[i]), lon=float(s.lon[i]), lat=float(s.lat[i]),
                population=float(rows["population"][i]), value=float(values[i]),
                tooltip=f"{names[i]}\n{label}: {fmt_number(float(values[i]), 2)}\n"
                        f"{t('population', lang)}: {fmt_number(float(rows['population'][i]))}")
        for i in range(s.n_cities)
    ]
    spec = MapSpec(cities=cities, outlines=_outlines(model, lang), arrows=relocation_arrows(model, year, lang),
                   title=title, legend_title=legend, size_title=t("size_legend", lang), arrow_title=arrow_title,
                   colormap=colormap, vmin=vmin, vmax=vmax, diverging=diverging, selected=selected,
                   max_population=float(max(np.max(city_rows(model, 0)["population"]), np.max(rows["population"]))))
    return map_svg(spec)


# --- charts ------------------------------------------------------------------------------------------------


def _chart_specs(lang: str) -> list[tuple[str, list[tuple[str, str, float]]]]:
    """(title, [(column, series label, scale)]) for each chart."""
    return [
        (t("chart_population", lang), [("population_source_cities", t("series_source", lang), 1e-6),
                                       ("population_receiving_cities", t("series_receivers", lang), 1e-6)]),
        (t("chart_gdp", lang), [("gdp_total_100m_yuan", t("series_region", lang), 1e-4)]),
        (t("chart_gdp_pc", lang), [("gdp_per_capita_yuan", t("series_region", lang), 1e-4)]),
        (t("chart_theil", lang), [("theil_gdp_per_capita", t("series_region", lang), 1.0)]),
        (t("chart_pm25", lang), [("pm25_population_weighted", t("series_region", lang), 1.0)]),
        (t("chart_moved", lang), [(f"cum:units_moved_{name}", function_type_label(name, lang), 1.0)
                                  for name in FUNCTION_TYPE_NAMES]),
        (t("chart_money", lang), [(f"money_{rule.lower()}_100m_yuan", t(f"money_{rule}", lang), 1.0) for rule in MONEY_RULES]),
    ]


def _column(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column.startswith("cum:"):
        return frame[column[4:]].astype(float).cumsum().to_numpy()
    return frame[column].astype(float).to_numpy()


def chart_views(model: RegionModel, lang: str, *, other: RegionModel | None = None, difference: bool = False) -> list[str]:
    """One SVG per chart. With `other` (case B): B dashed over A solid, or B − A when `difference`."""
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
                series.append(Series(f"{label} (B)", other_frame["year"].to_numpy()[:n], b_values, colour, dashed=True,
                                     in_legend=False))
        if other_frame is not None:
            title = f"{title} — B − A" if difference else f"{title} — A ——, B - - -"
        charts.append(line_chart_svg(title, series, x_range=x_range, zero_line=difference, height=200))
    return charts


# --- scorecard ---------------------------------------------------------------------------------------------


def scorecard_html(model: RegionModel, lang: str) -> str:
    """This year's plan targets as an HTML table: each row green when met, red when missed."""
    card = model.scorecard_frame()
    if card.empty:
        return f"<p class='rs-scorecard-empty'>{esc(t('no_targets', lang))}</p>"
    year = int(card["year"].max())
    now = card[card["year"] == year]
    label_column = "label_zh" if lang == "zh" else "label_en"
    head = "".join(f"<th style='text-align:left;padding:4px 8px'>{esc(t(k, lang))}</th>"
                   for k in ("target", "value", "goal", "status", "margin", "deadline"))
    rows = []
    for row in now.itertuples(index=False):
        met = bool(row.met)
        colour = "#d8f3dc" if met else "#ffd6d6"
        status = t("met", lang) if met else t("missed", lang)
        if not row.binding:
            status += " " + t("not_binding_yet", lang)
        deadline = t("every_year", lang) if int(row.deadline) < 0 else str(int(row.deadline))
        rows.append(
            f"<tr class='rs-target {'rs-met' if met else 'rs-missed'}' data-target='{esc(row.target_id)}' "
            f"style='background:{colour}' title='{esc(row.source)}'>"
            f"<td style='padding:4px 8px'>{esc(getattr(row, label_column))}</td>"
            f"<td style='padding:4px 8px;text-align:right'>{esc(fmt_number(float(row.value), 2))}</td>"
            f"<td style='padding:4px 8px;text-align:right'>{esc(row.comparator)} {esc(fmt_number(float(row.target_value), 2))}</td>"
            f"<td style='padding:4px 8px;font-weight:600;color:{'#1b5e20' if met else '#b71c1c'}'>{esc(status)}</td>"
            f"<td style='padding:4px 8px;text-align:right'>{esc(fmt_number(float(row.margin), 2))}</td>"
            f"<td style='padding:4px 8px'>{esc(deadline)}</td></tr>")
    return (f"<h3 style='margin:4px 0 8px'>{esc(t('scorecard_year', lang, year=year))}</h3>"
            f"<table class='rs-scorecard' style='border-collapse:collapse;font-size:14px;width:100%'>"
            f"<thead><tr style='background:#eceff1'>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


# --- the city panel ----------------------------------------------------------------------------------------


def _event_text(row: Any, lang: str) -> str:
    text = row.why_zh if lang == "zh" and row.why_zh else row.why_en
    return str(text)


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
        ("population", fmt_number(city.population, 2)),
        ("gdp", f"{city.gdp:,.0f}"),
        ("gdp_per_capita", f"{rows['gdp_per_capita_yuan'][i]:,.0f}"),
        ("pm25", f"{city.pm25:.1f}"),
        ("jobs", fmt_number(float(rows["jobs"][i]), 2)),
        ("net_migration", f"{rows['net_migration'][i]:+,.0f}"),
        ("service_level", f"{city.service_level:.2f}"),
        ("fiscal_revenue", f"{city.fiscal_revenue:,.1f}"),
        ("transfers_net", f"{rows['transfers_net'][i]:+,.2f}"),
        ("function_units", f"{rows['function_units'][i]:,.0f}"),
        ("province", province_name),
        ("zone", zone_label(city.zone, lang)),
        ("circle", circle_label(city.circle, lang)),
        ("roles", "、".join(function_type_label(r, lang) for r in city.roles) if lang == "zh"
         else ", ".join(function_type_label(r, lang) for r in city.roles) or t("none", lang)),
        ("negative_list", ("、" if lang == "zh" else ", ").join(function_type_label(r, lang) for r in city.negative_list)
         or t("none", lang)),
    ]
    table = "".join(f"<tr><td style='color:#555;padding:2px 8px 2px 0'>{esc(t(k, lang))}</td>"
                    f"<td style='padding:2px 0;font-weight:500'>{esc(v or t('none', lang))}</td></tr>" for k, v in facts)

    years = np.array([int(f["year"][0]) for f in model.agent_frames])
    history = []
    for column, label_key, scale in (("population", "population", 1e-4), ("gdp_per_capita_yuan", "gdp_per_capita", 1e-4),
                                     ("pm25", "pm25", 1.0)):
        values = np.array([city_rows(model, k)[column][i] for k in range(len(model.agent_frames))], dtype=float) * scale
        unit = {"population": " (万)" if lang == "zh" else " (10k)", "gdp_per_capita": " (万元)" if lang == "zh"
                else " (10k yuan)"}.get(label_key, "")
        title = t(label_key, lang).split("（")[0].split(" (")[0] + unit
        history.append(line_chart_svg(title, [Series(title, years, values, PALETTE[0])], width=220, height=130,
                                      x_range=(model.region.base_year, model.until), css_class="rs-spark", legend=False))

    events = model.event_frame()
    mine = events[(events["source"] == key) | (events["target"] == key)]
    mine = mine.iloc[::-1]
    money = mine[mine["kind"] == "payment"]
    other = mine[mine["kind"] != "payment"]
    # relocations first (the "why did this move?" answers), then policy and closures, then market transfers
    order = {"relocation": 0, "policy": 1, "closure": 2, "transfer": 3}
    other = other.assign(_rank=other["kind"].map(order).fillna(2), _year=-other["year"]).sort_values(
        ["_rank", "_year"], kind="stable")

    def listing(frame: pd.DataFrame, css: str) -> str:
        if frame.empty:
            return f"<p style='color:#666'>{esc(t('no_events', lang))}</p>"
        items = []
        for row in frame.head(max_events).itertuples(index=False):
            detail = ""
            if row.detail:
                try:
                    detail = ", ".join(f"{k}={v}" for k, v in json.loads(row.detail).items())
                except (ValueError, AttributeError):
                    detail = str(row.detail)
            direction = "⬅" if row.target == key and row.source != key else ("➡" if row.source == key and row.target != key else "•")
            items.append(
                f"<li class='{css}' data-rule='{esc(row.rule)}' style='margin:3px 0' title='{esc(detail)}'>"
                f"<b>{int(row.year)}</b> <span style='color:#37474f;font-size:12px'>[{esc(row.rule)}]</span> {direction} "
                f"{esc(_event_text(row, lang))} <span style='color:#888;font-size:12px'>({esc(row.clause)})</span></li>")
        more = len(frame) - max_events
        tail = f"<p style='color:#666'>{esc(t('more_events', lang, n=more))}</p>" if more > 0 else ""
        return f"<ul style='padding-left:18px;margin:4px 0'>{''.join(items)}</ul>{tail}"

    return (f"<div class='rs-city-panel' data-key='{esc(key)}'>"
            f"<h3 style='margin:2px 0 6px'>{esc(name)}</h3>"
            f"<h4 style='margin:6px 0 2px'>{esc(t('city_state', lang))} ({int(s.year)})</h4>"
            f"<table style='font-size:13px'>{table}</table>"
            f"<h4 style='margin:10px 0 2px'>{esc(t('history', lang))}</h4>"
            f"<div style='display:flex;flex-wrap:wrap;gap:4px'>{''.join(history)}</div>"
            f"<h4 style='margin:10px 0 2px'>{esc(t('events', lang))}</h4>"
            f"<div class='rs-city-events' style='font-size:13px'>{listing(other, 'rs-event')}</div>"
            f"<h4 style='margin:10px 0 2px'>{esc(t('payments', lang))}</h4>"
            f"<div class='rs-city-payments' style='font-size:13px'>{listing(money, 'rs-payment')}</div></div>")


def payments_html(model: RegionModel, lang: str, limit: int = 40) -> str:
    """This year's payments (tax sharing, compensation, joint control, energy, fund) in plain words."""
    events = model.event_frame()
    now = events[(events["year"] == model.state.year) & (events["kind"] == "payment")]
    if now.empty:
        return ""
    now = now.sort_values("amount", ascending=False)
    items = "".join(
        f"<li class='rs-payment' data-rule='{esc(r.rule)}' style='margin:2px 0'><span style='color:#37474f;font-size:12px'>"
        f"[{esc(r.rule)}]</span> {esc(_event_text(r, lang))} <span style='color:#888;font-size:12px'>({esc(r.clause)})</span></li>"
        for r in now.head(limit).itertuples(index=False))
    more = len(now) - limit
    tail = f"<p style='color:#666'>{esc(t('more_events', lang, n=more))}</p>" if more > 0 else ""
    return (f"<h4 style='margin:8px 0 2px'>{esc(t('money_this_year', lang))}</h4>"
            f"<ul style='padding-left:18px;margin:4px 0;font-size:13px'>{items}</ul>{tail}")
