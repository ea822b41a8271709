"""Drawing the map and the charts as SVG text, with no plotting library in the browser.

Why SVG built here: the dashboard must work with no internet, and the chart libraries Solara
offers for the browser (Altair/Vega, Plotly) load their code from a CDN. An SVG string is drawn
by the browser itself, uses the browser's fonts (so Chinese labels render wherever the reader's
system has a Chinese font, with no font packaged here), and a map city is a `<circle
data-key="xiongan">`, so one click handler on the map (viz/vue/svg_view.vue) tells Python which
city was clicked. These functions are pure: numbers in, text out; unit tests read the text.

Projection: equirectangular with the x axis shrunk by cos(mean latitude), adequate at the scale
of one region.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_hex

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
FONT = "font-family: system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', 'Microsoft YaHei', 'PingFang SC', sans-serif"


def esc(text: object) -> str:
    """Text made safe for SVG/HTML."""
    return html.escape(str(text), quote=True)


def fmt_number(value: float, digits: int = 1) -> str:
    """A compact number: 21,940,000 → '21.9M', 0.2345 → '0.23', 1234 → '1,234'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    size = abs(value)
    if size >= 1e9:
        return f"{value / 1e9:.{digits}f}B"
    if size >= 1e6:
        return f"{value / 1e6:.{digits}f}M"
    if size >= 1e4:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 1:
        return f"{value:.{digits}f}"
    if size == 0:
        return "0"
    return f"{value:.{max(digits, 2)}g}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0]
    if high <= low:
        high = low + (abs(low) * 0.1 or 1.0)
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw), default=10 * magnitude)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 0.5 and len(ticks) < 20:
        ticks.append(round(value, 12))
        value += step
    return ticks


def colour_scale(name: str, low: float, high: float):
    """A function value → hex colour on matplotlib colormap `name` over [low, high]."""
    cmap = colormaps[name]
    span = high - low if high > low else 1.0

    def colour(value: float) -> str:
        if value is None or not math.isfinite(value):
            return "#cccccc"
        return to_hex(cmap(min(max((value - low) / span, 0.0), 1.0)))

    return colour


# --- the map ---------------------------------------------------------------------------------------


@dataclass
class MapCity:
    """One city on the map."""

    key: str
    label: str
    lon: float
    lat: float
    population: float
    value: float
    tooltip: str = ""


@dataclass
class MapArrow:
    """One flow drawn as an arrow (e.g. functions relocated this year)."""

    source: str
    target: str
    units: float
    tooltip: str = ""


@dataclass
class MapSpec:
    """Everything a map drawing needs."""

    cities: list[MapCity]
    outlines: list[tuple[str, list[list[float]]]] = field(default_factory=list)
    arrows: list[MapArrow] = field(default_factory=list)
    title: str = ""
    legend_title: str = ""
    size_title: str = "population"
    arrow_title: str = ""
    colormap: str = "YlOrRd"
    vmin: float | None = None
    vmax: float | None = None
    diverging: bool = False
    selected: str | None = None
    width: int = 660
    height: int = 560
    max_population: float | None = None


def map_svg(spec: MapSpec) -> str:
    """The map as an `<svg>` element: province outlines, cities (size = population, colour =
    value, `data-key` = city id), arrows, a colour legend, a size legend and a title."""
    cities = spec.cities
    lons = [c.lon for c in cities] + [p[0] for _, ring in spec.outlines for p in ring]
    lats = [c.lat for c in cities] + [p[1] for _, ring in spec.outlines for p in ring]
    lon0, lon1, lat0, lat1 = min(lons), max(lons), min(lats), max(lats)
    shrink = math.cos(math.radians((lat0 + lat1) / 2))
    legend_w, top, pad = 150, 34, 14
    plot_w, plot_h = spec.width - legend_w - 2 * pad, spec.height - top - 2 * pad
    scale = min(plot_w / max((lon1 - lon0) * shrink, 1e-6), plot_h / max(lat1 - lat0, 1e-6))
    x_off = pad + (plot_w - (lon1 - lon0) * shrink * scale) / 2
    y_off = top + pad + (plot_h - (lat1 - lat0) * scale) / 2

    def project(lon: float, lat: float) -> tuple[float, float]:
        return x_off + (lon - lon0) * shrink * scale, y_off + (lat1 - lat) * scale

    values = np.array([c.value for c in cities], dtype=float)
    finite = values[np.isfinite(values)]
    if spec.diverging:
        bound = float(np.abs(finite).max()) if finite.size else 1.0
        bound = bound or 1.0
        vmin, vmax = -bound, bound
    else:
        vmin = spec.vmin if spec.vmin is not None else (float(finite.min()) if finite.size else 0.0)
        vmax = spec.vmax if spec.vmax is not None else (float(finite.max()) if finite.size else 1.0)
    colour = colour_scale(spec.colormap, vmin, vmax)
    max_pop = spec.max_population or max((c.population for c in cities), default=1.0) or 1.0

    def radius(population: float) -> float:
        return 3.0 + 20.0 * math.sqrt(max(population, 0.0) / max_pop)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="rs-map" width="{spec.width}" height="{spec.height}" '
           f'viewBox="0 0 {spec.width} {spec.height}" style="{FONT}; background:#f4f8fb">',
           '<defs><marker id="rs-arrowhead" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="3" markerHeight="3" '
           'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#1d3557"/></marker></defs>',
           f'<text x="{pad}" y="22" font-size="15" font-weight="600" fill="#222">{esc(spec.title)}</text>']
    fills = ("#e9eef2", "#eef0e6", "#f1ebe4", "#e6eef0", "#efe7ee", "#e8f0e6")
    # largest first, so that a province drawn without holes (Hebei around Beijing and Tianjin) lies underneath
    outlines = sorted(spec.outlines, key=lambda item: -_ring_area(item[1]))
    for i, (name, ring) in enumerate(outlines):
        if len(ring) < 3:
            continue
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (project(p[0], p[1]) for p in ring))
        out.append(f'<polygon class="rs-province" points="{points}" fill="{fills[i % len(fills)]}" stroke="#8a99a6" '
                   f'stroke-width="1.2"><title>{esc(name)}</title></polygon>')
    for name, ring in outlines:
        if len(ring) < 3:
            continue
        xs, ys = zip(*(project(p[0], p[1]) for p in ring), strict=True)
        out.append(f'<text x="{min(xs) + 6:.1f}" y="{max(ys) - 6:.1f}" font-size="12" fill="#7a8894" '
                   f'font-style="italic">{esc(name)}</text>')

    positions = {c.key: project(c.lon, c.lat) for c in cities}
    radii = {c.key: radius(c.population) for c in cities}
    max_units = max((a.units for a in spec.arrows), default=1.0) or 1.0
    arrow_parts = []
    for arrow in spec.arrows:
        if arrow.source not in positions or arrow.target not in positions:
            continue
        (x0, y0), (x1, y1) = positions[arrow.source], positions[arrow.target]
        length = math.hypot(x1 - x0, y1 - y0) or 1.0
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        sx, sy = x0 + ux * radii[arrow.source], y0 + uy * radii[arrow.source]
        ex, ey = x1 - ux * (radii[arrow.target] + 2), y1 - uy * (radii[arrow.target] + 2)
        # a slight curve so that A→B and B→A do not overlap
        mx, my = (sx + ex) / 2 - uy * length * 0.12, (sy + ey) / 2 + ux * length * 0.12
        width = 1.5 + 5.0 * arrow.units / max_units
        arrow_parts.append(
            f'<path class="rs-arrow" d="M {sx:.1f} {sy:.1f} Q {mx:.1f} {my:.1f} {ex:.1f} {ey:.1f}" fill="none" '
            f'stroke="#1d3557" stroke-opacity="0.75" stroke-width="{width:.1f}" marker-end="url(#rs-arrowhead)">'
            f'<title>{esc(arrow.tooltip)}</title></path>')

    out.extend(arrow_parts)  # under the cities, so that an arrow never hides a city from a click
    for c in sorted(cities, key=lambda c: -c.population):
        x, y = positions[c.key]
        selected = c.key == spec.selected
        out.append(
            f'<circle class="rs-city" data-key="{esc(c.key)}" cx="{x:.1f}" cy="{y:.1f}" r="{radii[c.key]:.1f}" '
            f'fill="{colour(c.value)}" fill-opacity="0.9" stroke="{"#000" if selected else "#333"}" '
            f'stroke-width="{3 if selected else 0.8}" style="cursor:pointer"><title>{esc(c.tooltip or c.label)}</title></circle>')

    # labels: largest cities first, skipping any that would overlap one already placed
    placed: list[tuple[float, float, float, float]] = []
    for c in sorted(cities, key=lambda c: (c.key != spec.selected, -c.population)):
        x, y = positions[c.key]
        w = 6.5 * sum(2 if ord(ch) > 0x2E80 else 1 for ch in c.label) + 4
        box = (x + radii[c.key] + 2, y - 7, x + radii[c.key] + 2 + w, y + 7)
        if any(not (box[2] < b[0] or box[0] > b[2] or box[3] < b[1] or box[1] > b[3]) for b in placed):
            continue
        placed.append(box)
        weight = "700" if c.key == spec.selected else "500"
        out.append(f'<text class="rs-label" data-key="{esc(c.key)}" x="{box[0]:.1f}" y="{y + 4:.1f}" font-size="12" '
                   f'font-weight="{weight}" fill="#1b1b1b" stroke="#fff" stroke-width="3" paint-order="stroke" '
                   f'style="cursor:pointer">{esc(c.label)}</text>')

    # colour legend
    lx, ly, bar_h = spec.width - legend_w + 10, top + 30, 180
    stops = "".join(f'<stop offset="{k / 10:.1f}" stop-color="{colour(vmax - (vmax - vmin) * k / 10)}"/>' for k in range(11))
    out.append(f'<defs><linearGradient id="rs-legend-gradient" x1="0" y1="0" x2="0" y2="1">{stops}</linearGradient></defs>')
    out.append(f'<g class="rs-legend"><text x="{lx}" y="{ly - 12}" font-size="12" font-weight="600">'
               f'{_wrap_tspans(spec.legend_title, lx, 16)}</text>')
    out.append(f'<rect x="{lx}" y="{ly + 10}" width="16" height="{bar_h}" fill="url(#rs-legend-gradient)" stroke="#555"/>')
    for tick in nice_ticks(vmin, vmax, 5):
        if vmin - 1e-12 <= tick <= vmax + 1e-12 and vmax > vmin:
            ty = ly + 10 + bar_h * (vmax - tick) / (vmax - vmin)
            out.append(f'<line x1="{lx + 16}" x2="{lx + 20}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#555"/>'
                       f'<text x="{lx + 23}" y="{ty + 4:.1f}" font-size="11">{esc(fmt_number(tick))}</text>')
    sy = ly + bar_h + 40
    out.append(f'<text x="{lx}" y="{sy}" font-size="12" font-weight="600">{esc(spec.size_title)}</text>')
    for k, population in enumerate(p for p in (1e6, 5e6, 1e7) if p <= max_pop * 1.5):
        r = radius(population)
        cy = sy + 18 + k * 42
        out.append(f'<circle cx="{lx + 22}" cy="{cy + r / 2:.1f}" r="{r:.1f}" fill="none" stroke="#555"/>'
                   f'<text x="{lx + 48}" y="{cy + r / 2 + 4:.1f}" font-size="11">{esc(fmt_number(population, 0))}</text>')
    if spec.arrow_title:
        ay = spec.height - 58
        out.append(f'<path d="M {lx} {ay} L {lx + 40} {ay}" stroke="#1d3557" stroke-width="4" '
                   f'marker-end="url(#rs-arrowhead)"/>'
                   f'<text x="{lx}" y="{ay + 18}" font-size="11">{_wrap_tspans(spec.arrow_title, lx, 14, 22)}</text>')
    out.append("</g></svg>")
    return "".join(out)


def _ring_area(ring: list[list[float]]) -> float:
    """Area of a lon/lat polygon (shoelace; degrees², enough to order provinces by size)."""
    if len(ring) < 3:
        return 0.0
    xs, ys = np.array([p[0] for p in ring]), np.array([p[1] for p in ring])
    return float(abs(np.dot(xs, np.roll(ys, 1)) - np.dot(ys, np.roll(xs, 1))) / 2)


def _wrap_tspans(text: str, x: float, line_height: int, width_chars: int = 20) -> str:
    """Text split into lines of about `width_chars` characters (CJK counts double), as tspans."""
    lines, line, size = [], "", 0
    for word in _tokens(text):
        cost = sum(2 if ord(ch) > 0x2E80 else 1 for ch in word)
        if line and size + cost > width_chars:
            lines.append(line)
            line, size = word.lstrip(), cost
        else:
            line, size = line + word, size + cost
    if line:
        lines.append(line)
    return "".join(f'<tspan x="{x}" dy="{0 if i == 0 else line_height}">{esc(s)}</tspan>' for i, s in enumerate(lines))


def _tokens(text: str) -> list[str]:
    tokens, word = [], ""
    for ch in text:
        if ord(ch) > 0x2E80:
            if word:
                tokens.append(word)
                word = ""
            tokens.append(ch)
        elif ch == " ":
            tokens.append(word)
            word = " "
        else:
            word += ch
    if word:
        tokens.append(word)
    return tokens


# --- charts ----------------------------------------------------------------------------------------


@dataclass
class Series:
    """One line of a chart."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    colour: str = PALETTE[0]
    dashed: bool = False
    in_legend: bool = True


def line_chart_svg(title: str, series: list[Series], *, x_range: tuple[float, float] | None = None, width: int = 470,
                   height: int = 250, zero_line: bool = False, css_class: str = "rs-chart", legend: bool = True) -> str:
    """A line chart as an `<svg>`: title, y grid with round ticks, year axis, legend below (the
    chart grows by one line per two legend entries, so the plot keeps its height)."""
    ys_all = [y for s in series for y in s.ys if y is not None and math.isfinite(y)]
    xs_all = [x for s in series for x in s.xs]
    x0, x1 = x_range if x_range else ((min(xs_all), max(xs_all)) if xs_all else (0, 1))
    if x1 <= x0:
        x1 = x0 + 1
    y_low, y_high = (min(ys_all), max(ys_all)) if ys_all else (0.0, 1.0)
    if zero_line:
        y_low, y_high = min(y_low, 0.0), max(y_high, 0.0)
    if y_high - y_low < 1e-12 * max(abs(y_high), 1.0):
        y_low, y_high = y_low - (abs(y_low) * 0.05 or 1.0), y_high + (abs(y_high) * 0.05 or 1.0)
    ticks = nice_ticks(y_low, y_high, 5)
    y_low, y_high = min(ticks[0], y_low), max(ticks[-1], y_high)
    listed = [s for s in series if s.in_legend]
    legend_rows = math.ceil(len(listed) / 2) if legend and listed else 0
    height += 16 * legend_rows
    left, right, top, bottom = 58, 14, 30, 28 + 16 * legend_rows
    tick_step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(tick_step)) + (0 if float(f"{tick_step:.3g}").is_integer() else 1)) if tick_step > 0 else 2

    def tick_text(value: float) -> str:
        return fmt_number(value, 1) if abs(value) >= 1e4 else f"{value:,.{min(decimals, 6)}f}"
    pw, ph = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return top + (y_high - y) / (y_high - y_low) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" style="{FONT}; background:#fff">',
           f'<text x="8" y="18" font-size="13" font-weight="600" fill="#222">{esc(title)}</text>']
    for tick in ticks:
        y = py(tick)
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10.5" text-anchor="end" fill="#444">'
                   f'{esc(tick_text(tick))}</text>')
    if zero_line and y_low < 0 < y_high:
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{py(0):.1f}" y2="{py(0):.1f}" stroke="#888"/>')
    for year in nice_ticks(x0, x1, max(3, min(7, int(pw // 55)))):
        if x0 <= year <= x1 and float(year).is_integer():
            x = px(year)
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + ph}" y2="{top + ph + 4}" stroke="#444"/>'
                       f'<text x="{x:.1f}" y="{top + ph + 16}" font-size="10.5" text-anchor="middle" fill="#444">{int(year)}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>')
    for s in series:
        points = [(px(x), py(y)) for x, y in zip(s.xs, s.ys, strict=True) if y is not None and math.isfinite(y)]
        if not points:
            continue
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        if len(points) == 1:
            out.append(f'<circle cx="{points[0][0]:.1f}" cy="{points[0][1]:.1f}" r="3" fill="{s.colour}"/>')
        else:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            out.append(f'<polyline class="rs-line" points="{path}" fill="none" stroke="{s.colour}" stroke-width="2"{dash}>'
                       f'<title>{esc(s.label)}</title></polyline>')
    if legend:
        for i, s in enumerate(listed):
            lx = 10 + (i % 2) * (width / 2)
            ly = top + ph + 34 + 16 * (i // 2)
            dash = ' stroke-dasharray="5 3"' if s.dashed else ""
            out.append(f'<line x1="{lx:.0f}" x2="{lx + 22:.0f}" y1="{ly - 4}" y2="{ly - 4}" stroke="{s.colour}" stroke-width="2.5"{dash}/>'
                       f'<text x="{lx + 27:.0f}" y="{ly}" font-size="11" fill="#333">{esc(_clip(s.label, 34))}</text>')
    out.append("</svg>")
    return "".join(out)


def _clip(text: str, chars: int) -> str:
    size, out = 0, ""
    for ch in text:
        size += 2 if ord(ch) > 0x2E80 else 1
        if size > chars:
            return out + "…"
        out += ch
    return out
