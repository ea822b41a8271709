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

import functools
import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_hex
from matplotlib.path import Path

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
FONT = "font-family: system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', 'Microsoft YaHei', 'PingFang SC', sans-serif"


def esc(text: object) -> str:
    """Text made safe for SVG/HTML."""
    return html.escape(str(text), quote=True)


def fmt_number(value: float, digits: int = 1, lang: str = "en") -> str:
    """A compact number in the reader's convention.

    English: 21,940,000 → '21.9 million', 1234 → '1,234', 0.2345 → '0.23'.
    中文: 21,940,000 → '2194万', 312,000,000 → '3.1亿', 1234 → '1,234'. Float noise (1.1e-13) reads 0.
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    value = float(value)
    size = abs(value)
    if size < 1e-9:
        return "0"
    if lang == "zh":
        if size >= 1e8:
            return f"{value / 1e8:.{digits}f}亿"
        if size >= 1e5:
            return f"{value / 1e4:,.0f}万"
        if size >= 1e4:
            return f"{value / 1e4:.{digits}f}万"
    else:
        if size >= 1e9:
            return f"{value / 1e9:.{digits}f} billion"
        if size >= 1e6:
            return f"{value / 1e6:.{digits}f} million"
    if size >= 100 or value.is_integer():
        return f"{value:,.0f}"
    if size >= 1:
        return f"{value:.{digits}f}"
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
    """Everything a map drawing needs.

    `vmin`/`vmax` fix the colour scale (the dashboard passes the range over the whole run, so a
    city changes colour only when its value changes); `diverging` centres it on zero (±`vmax` when
    given). `focus` = (lon0, lon1, lat0, lat1) zooms to that box; cities outside it are not drawn.
    `width`/`height` are the pixels the drawing is made for (the page measures its map box)."""

    cities: list[MapCity]
    outlines: list[tuple[str, list[list[float]]]] = field(default_factory=list)
    arrows: list[MapArrow] = field(default_factory=list)
    title: str = ""
    legend_title: str = ""
    size_title: str = "population"
    arrow_title: str = ""
    arrow_unit: str = "units"
    colormap: str = "YlOrRd"
    vmin: float | None = None
    vmax: float | None = None
    diverging: bool = False
    selected: str | None = None
    width: int = 660
    height: int = 560
    max_population: float | None = None
    focus: tuple[float, float, float, float] | None = None
    lang: str = "en"


def text_width(text: str, size: float = 12.0, latin: float = 0.58) -> float:
    """Approximate pixel width of `text` at font `size` (CJK characters count as one em, others `latin` em)."""
    return sum(size if ord(ch) > 0x2E80 else size * latin for ch in text)


REPAIRS = 12
"""How many times `_place_labels` re-places every label with the longest leader moved up (a better layout, for time)."""


def place_labels(
    anchors: list[tuple[str, float, float, float, float]],
    obstacles: list[tuple[float, float, float, float]],
    bounds: tuple[float, float, float, float],
    height: float = 14.0,
) -> dict[str, tuple[float, float, bool]]:
    """Positions for labels (see `_place_labels`), remembered for the last few hundred inputs: a map redrawn
    for the next year, whose circles did not grow past a whole pixel, reuses its layout at once."""
    key = (tuple(map(tuple, anchors)), tuple(map(tuple, obstacles)), tuple(bounds), float(height))
    return dict(_place_labels(*key))


@functools.lru_cache(maxsize=256)
def _place_labels(
    anchors: tuple[tuple[str, float, float, float, float], ...],
    obstacles: tuple[tuple[float, float, float, float], ...],
    bounds: tuple[float, float, float, float],
    height: float,
) -> dict[str, tuple[float, float, bool]]:
    """Positions for labels that never overlap each other, the obstacles or the edge.

    `anchors` are (key, x, y, radius, text width) in placing order (most important first);
    `obstacles` are boxes (left, top, right, bottom) no label may cover (the cities' centres).
    Each label takes the free spot that costs least: the eight spots touching its circle (right,
    left, above, below, then the diagonals, in that order of preference) cost the circle's radius;
    a spot on a 5-px grid around it (within 110 px, else anywhere in the plot) costs its distance
    from the circle's centre. Covering other cities' circles costs a little (at most 10 px of
    distance), and so does a spot off the circle but nearer another city's circle (6 px). A label
    more than 8 px from its circle, or off it and nearer another circle, needs a leader line. Then
    the label with the longest leader is placed second (after the most important one) and all are
    placed again, up to 12 times, keeping the placing whose leaders are shortest (sum of squares).
    Returns key → (x of the left edge, baseline y, needs a leader line). Only when the plot has no
    free room left does a label overlap (it is then put beside its circle)."""
    x_min, y_min, x_max, y_max = bounds
    fixed = np.array(obstacles, dtype=float).reshape(-1, 4)
    discs = np.array([(x - r, y - r, x + r, y + r) for _, x, y, r, _ in anchors], dtype=float).reshape(-1, 4)
    gx, gy = np.meshgrid(np.arange(x_min, x_max, 5.0), np.arange(y_min, y_max, 5.0))
    grid = (gx.ravel(), gy.ravel())
    order = list(range(len(anchors)))
    boxes, reach, leaders = _place_in_order(anchors, order, fixed, discs, bounds, grid, height)
    best = (float(np.sum(reach**2)), boxes, leaders)
    for _ in range(min(len(anchors), REPAIRS)):
        worst = int(np.argmax(reach))
        if reach[worst] <= 8.0 or order.index(worst) <= 1:
            break
        order = [order[0], worst] + [k for k in order[1:] if k != worst]
        boxes, reach, leaders = _place_in_order(anchors, order, fixed, discs, bounds, grid, height)
        if float(np.sum(reach**2)) < best[0]:
            best = (float(np.sum(reach**2)), boxes, leaders)
    _, boxes, leaders = best
    return {key: (boxes[i][0], boxes[i][3] - 3.0, leaders[i]) for i, (key, *_) in enumerate(anchors)}


def _place_in_order(
    anchors: list[tuple[str, float, float, float, float]],
    order: list[int],
    fixed: np.ndarray,
    discs: np.ndarray,
    bounds: tuple[float, float, float, float],
    grid: tuple[np.ndarray, np.ndarray],
    height: float,
) -> tuple[list[tuple[float, float, float, float]], np.ndarray, list[bool]]:
    """The labels placed one by one in `order`: each one's box, how far beyond its circle it lies
    and whether it needs a leader line."""
    placed = fixed
    boxes: list[tuple[float, float, float, float]] = [(0.0, 0.0, 0.0, 0.0)] * len(anchors)
    reach = np.zeros(len(anchors))
    leaders = [False] * len(anchors)
    for i in order:
        _, x, y, r, w = anchors[i]
        boxes[i], reach[i], leaders[i] = _best_spot((x, y, r, w, height), placed, np.delete(discs, i, axis=0), bounds, grid)
        placed = np.vstack([placed, boxes[i]])
    return boxes, reach, leaders


def _near_spots(x: float, y: float, r: float, w: float, h: float) -> tuple[np.ndarray, np.ndarray]:
    """The left and top edges of the eight boxes touching a circle: right, left, above, below, then
    upper right, lower right, upper left, lower left."""
    d = r * math.sqrt(0.5) + 1.0
    lefts = [x + r + 2, x - r - 2 - w, x - w / 2, x - w / 2, x + d, x + d, x - d - w, x - d - w]
    tops = [y - h / 2, y - h / 2, y - r - 2 - h, y + r + 2, y - d - h, y + d, y - d - h, y + d]
    return np.array(lefts), np.array(tops)


def _covered_area(lefts: np.ndarray, tops: np.ndarray, w: float, h: float, boxes: np.ndarray) -> np.ndarray:
    """For each box (left, top, w, h), the area it shares with `boxes` (summed)."""
    if not len(boxes):
        return np.zeros(len(lefts))
    ix = np.minimum(lefts[:, None] + w, boxes[None, :, 2]) - np.maximum(lefts[:, None], boxes[None, :, 0])
    iy = np.minimum(tops[:, None] + h, boxes[None, :, 3]) - np.maximum(tops[:, None], boxes[None, :, 1])
    return (np.clip(ix, 0.0, None) * np.clip(iy, 0.0, None)).sum(axis=1)


def _best_spot(
    label: tuple[float, float, float, float, float],
    placed: np.ndarray,
    others: np.ndarray,
    bounds: tuple[float, float, float, float],
    grid: tuple[np.ndarray, np.ndarray],
) -> tuple[tuple[float, float, float, float], float, bool]:
    """The cheapest free box (left, top, right, bottom) for one label (x, y, radius, width, height)
    of a circle, how far beyond the circle it lies (0 for a spot touching it), and whether it needs
    a leader line; see `place_labels`."""
    x, y, r, w, h = label
    near_x, near_y = _near_spots(x, y, r, w, h)
    near_cost = r + 0.01 * np.arange(len(near_x)) + np.minimum(_covered_area(near_x, near_y, w, h, others) / h, 100.0) / 10.0
    near_cost[~_free_spots(near_x, near_y, w, h, placed, bounds)] = np.inf
    if near_cost.min() <= r + 2.5:  # no spot off the circle can cost less: no grid search needed
        best = int(np.argmin(near_cost))
        return (float(near_x[best]), float(near_y[best]), float(near_x[best] + w), float(near_y[best] + h)), 0.0, False
    grid_x, grid_y = grid
    keep = np.zeros(0, dtype=int)
    for window in ((np.abs(grid_x + w / 2 - x) < 110 + w / 2) & (np.abs(grid_y + h / 2 - y) < 110), slice(None)):
        lefts, tops = np.concatenate([near_x, grid_x[window]]), np.concatenate([near_y, grid_y[window]])
        reach = np.maximum(_box_distance(lefts, tops, w, h, np.array([[x, y]]))[:, 0] - r, 0.0)
        reach[: len(near_x)] = 0.0
        keep = _nearest_free(lefts, tops, reach, (w, h), placed, bounds)
        if len(keep):
            break
    else:  # no free room left anywhere: beside the circle
        return (float(near_x[0]), float(near_y[0]), float(near_x[0] + w), float(near_y[0] + h)), 0.0, False
    lefts, tops, reach = lefts[keep], tops[keep], reach[keep]
    # a label off its circle with another city's circle nearer to it than its own would be read as that city's
    gap = (_box_distance(lefts, tops, w, h, (others[:, :2] + others[:, 2:]) / 2) - (others[:, 2] - others[:, 0]) / 2).min(
        axis=1, initial=np.inf
    )
    ambiguous = (reach > 2.5) & (gap < reach - 1.0) & (keep >= len(near_x))
    cost = r + np.maximum(reach, 2.0) + 0.5 + 6.0 * ambiguous + np.minimum(_covered_area(lefts, tops, w, h, others) / h, 100.0) / 10.0
    near = keep < len(near_x)
    cost[near] = near_cost[keep[near]]
    best = int(np.argmin(cost))
    box = (float(lefts[best]), float(tops[best]), float(lefts[best] + w), float(tops[best] + h))
    return box, float(reach[best]), bool(reach[best] > 8.0 or ambiguous[best])


def _nearest_free(
    lefts: np.ndarray,
    tops: np.ndarray,
    reach: np.ndarray,
    size: tuple[float, float],
    placed: np.ndarray,
    bounds: tuple[float, float, float, float],
) -> np.ndarray:
    """The indices of the free boxes (left, top, size) that may cost least: those at most 16.5 px
    (the most the extra costs add up to) farther out (`reach`) than the nearest free one, or than
    2 px. Checked nearest first, a few hundred at a time, so the whole grid is rarely tested."""
    order = np.argsort(reach, kind="stable")
    for start in range(0, len(order), 400):
        chunk = order[start : start + 400]
        ok = _free_spots(lefts[chunk], tops[chunk], size[0], size[1], placed, bounds)
        if ok.any():
            near = order[: int(np.searchsorted(reach[order], max(reach[chunk][ok].min(), 2.0) + 16.5, side="right"))]
            return np.sort(near[_free_spots(lefts[near], tops[near], size[0], size[1], placed, bounds)])
    return np.zeros(0, dtype=int)


def _box_distance(lefts: np.ndarray, tops: np.ndarray, w: float, h: float, points: np.ndarray) -> np.ndarray:
    """Distance from each box (left, top, w, h) to each point (x, y): an array boxes × points."""
    px, py = points[None, :, 0], points[None, :, 1]
    dx = np.maximum(np.maximum(lefts[:, None] - px, px - lefts[:, None] - w), 0.0)
    dy = np.maximum(np.maximum(tops[:, None] - py, py - tops[:, None] - h), 0.0)
    return np.hypot(dx, dy)


def _free_spots(
    lefts: np.ndarray, tops: np.ndarray, w: float, height: float, placed: np.ndarray, bounds: tuple[float, float, float, float]
) -> np.ndarray:
    """Which boxes (left, top, w, height) lie inside `bounds` and overlap none of `placed`."""
    x_min, y_min, x_max, y_max = bounds
    rights, bottoms = lefts + w, tops + height
    ok = (lefts >= x_min) & (rights <= x_max) & (tops >= y_min) & (bottoms <= y_max)
    if len(placed) and len(lefts):  # only the placed boxes that reach the candidates' area can hit one
        placed = placed[
            (placed[:, 0] < rights.max()) & (placed[:, 2] > lefts.min()) & (placed[:, 1] < bottoms.max()) & (placed[:, 3] > tops.min())
        ]
        hit = (
            (lefts[:, None] < placed[None, :, 2])
            & (rights[:, None] > placed[None, :, 0])
            & (tops[:, None] < placed[None, :, 3])
            & (bottoms[:, None] > placed[None, :, 1])
        )
        ok &= ~hit.any(axis=1)
    return ok


@dataclass(frozen=True)
class _MapFrame:
    """Where a map is drawn: the picture's size, the plot box and the projection into it."""

    width: int
    height: int
    legend_w: int
    top: int
    pad: int
    plot_w: int
    plot_h: int
    lon0: float
    lat1: float
    shrink: float
    scale: float
    x_off: float
    y_off: float

    @property
    def plot_x0(self) -> int:
        return self.pad

    @property
    def plot_y0(self) -> int:
        return self.top + self.pad

    def project(self, lon: float, lat: float) -> tuple[float, float]:
        """Longitude/latitude → pixels (equirectangular, x shrunk by cos(mean latitude))."""
        return self.x_off + (lon - self.lon0) * self.shrink * self.scale, self.y_off + (self.lat1 - lat) * self.scale


def _map_frame(spec: MapSpec) -> tuple[_MapFrame, list[MapCity]]:
    """The map's frame, and the cities it draws (those inside `spec.focus` when zoomed)."""
    width, height = max(int(spec.width), 320), max(int(spec.height), 260)
    legend_w = 150 if width >= 520 else 120
    top, pad = 34, 14
    cities = spec.cities
    if spec.focus is not None:
        lon0, lon1, lat0, lat1 = spec.focus
        cities = [c for c in cities if lon0 <= c.lon <= lon1 and lat0 <= c.lat <= lat1]
    else:
        lons = [c.lon for c in cities] + [p[0] for _, ring in spec.outlines for p in ring]
        lats = [c.lat for c in cities] + [p[1] for _, ring in spec.outlines for p in ring]
        lon0, lon1, lat0, lat1 = min(lons), max(lons), min(lats), max(lats)
    shrink = math.cos(math.radians((lat0 + lat1) / 2))
    plot_x0, plot_y0 = pad, top + pad
    plot_w, plot_h = width - legend_w - 2 * pad, height - top - 2 * pad
    scale = min(plot_w / max((lon1 - lon0) * shrink, 1e-6), plot_h / max(lat1 - lat0, 1e-6))
    x_off = plot_x0 + (plot_w - (lon1 - lon0) * shrink * scale) / 2
    y_off = plot_y0 + (plot_h - (lat1 - lat0) * scale) / 2
    frame = _MapFrame(width, height, legend_w, top, pad, plot_w, plot_h, lon0, lat1, shrink, scale, x_off, y_off)
    return frame, cities


def _colour_range(spec: MapSpec) -> tuple[float, float]:
    """The colour scale's (low, high): the spec's, else the values' range (±the largest |value| when diverging)."""
    values = np.array([c.value for c in spec.cities], dtype=float)
    finite = values[np.isfinite(values)]
    if spec.diverging:
        bound = spec.vmax if spec.vmax is not None else (float(np.abs(finite).max()) if finite.size else 1.0)
        bound = abs(bound) or 1.0
        return -bound, bound
    vmin = spec.vmin if spec.vmin is not None else (float(finite.min()) if finite.size else 0.0)
    vmax = spec.vmax if spec.vmax is not None else (float(finite.max()) if finite.size else 1.0)
    return vmin, vmax


def _radius_of(spec: MapSpec, frame: _MapFrame) -> tuple[Callable[[float], float], float]:
    """A city's circle radius as a function of its population (area ∝ population), and the population
    the largest circle stands for."""
    max_pop = spec.max_population or max((c.population for c in spec.cities), default=1.0) or 1.0
    zoom = 1.0 if spec.focus is None else min(2.0, max(1.0, (frame.plot_h / 300.0)))
    big = min(max(min(frame.plot_w, frame.plot_h) / 22.0, 14.0), 34.0) * zoom

    def radius(population: float) -> float:
        return 3.5 + big * math.sqrt(max(population, 0.0) / max_pop)

    return radius, max_pop


def _arrow_width_of(arrows: list[MapArrow]) -> tuple[Callable[[float], float], float]:
    """An arrow's stroke width as a function of its units, and the most units one arrow carries."""
    max_units = max((a.units for a in arrows), default=1.0) or 1.0

    def arrow_width(units: float) -> float:
        return 2.5 + 9.0 * math.sqrt(max(units, 0.0) / max_units)

    return arrow_width, max_units


def _map_head(frame: _MapFrame, title: str) -> list[str]:
    """The `<svg>` opening, the arrowhead and the plot's clip path, the title, and the clipped group's opening."""
    width, height = frame.width, frame.height
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="rs-map" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" style="{FONT}; background:#f4f8fb; display:block">',
        '<defs><marker id="rs-arrowhead" viewBox="0 0 10 10" refX="6" refY="5" markerWidth="1.8" markerHeight="1.8" '
        'orient="auto-start-reverse" markerUnits="strokeWidth"><path d="M 0 0 L 10 5 L 0 10 z" fill="#0b3c8c"/></marker>'
        f'<clipPath id="rs-plot-clip"><rect x="{frame.plot_x0}" y="{frame.plot_y0}" width="{frame.plot_w}" '
        f'height="{frame.plot_h}"/></clipPath></defs>',
        f'<text x="{frame.pad}" y="22" font-size="15" font-weight="600" fill="#222">{esc(title)}</text>',
        '<g clip-path="url(#rs-plot-clip)">',
    ]


def _province_polygons(outlines: list[tuple[str, list[list[float]]]], frame: _MapFrame) -> list[str]:
    """The provinces as filled polygons (in the order given: largest first)."""
    fills = ("#e9eef2", "#eef0e6", "#f1ebe4", "#e6eef0", "#efe7ee", "#e8f0e6")
    out = []
    for i, (name, ring) in enumerate(outlines):
        if len(ring) < 3:
            continue
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (frame.project(p[0], p[1]) for p in ring))
        out.append(
            f'<polygon class="rs-province" points="{points}" fill="{fills[i % len(fills)]}" stroke="#8a99a6" '
            f'stroke-width="1.2"><title>{esc(name)}</title></polygon>'
        )
    return out


def _city_circles(
    cities: list[MapCity],
    positions: dict[str, tuple[float, float]],
    radii: dict[str, float],
    colour: Callable[[float], str],
    selected: str | None,
) -> list[str]:
    """The cities, largest first, so the smallest lie on top and each keeps a clickable disc."""
    out = []
    for c in sorted(cities, key=lambda c: -c.population):
        x, y = positions[c.key]
        chosen = c.key == selected
        out.append(
            f'<circle class="rs-city" data-key="{esc(c.key)}" cx="{x:.1f}" cy="{y:.1f}" r="{radii[c.key]:.1f}" '
            f'fill="{colour(c.value)}" fill-opacity="0.88" stroke="{"#000" if chosen else "#333"}" '
            f'stroke-width="{3 if chosen else 0.8}" style="cursor:pointer"><title>{esc(c.tooltip or c.label)}</title></circle>'
        )
    return out


def _arrow_paths(
    arrows: list[MapArrow],
    positions: dict[str, tuple[float, float]],
    radii: dict[str, float],
    arrow_width: Callable[[float], float],
) -> list[str]:
    """Flows as curved arrows, widest first; pointer-events only on the stroke, and the page's click
    handler hit-tests cities by nearest centre, so an arrow never takes a city's click."""
    out = []
    for arrow in sorted(arrows, key=lambda a: -a.units):
        if arrow.source not in positions or arrow.target not in positions:
            continue
        (x0, y0), (x1, y1) = positions[arrow.source], positions[arrow.target]
        length = math.hypot(x1 - x0, y1 - y0) or 1.0
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        sx, sy = x0 + ux * radii[arrow.source] * 0.6, y0 + uy * radii[arrow.source] * 0.6
        w = arrow_width(arrow.units)
        ex, ey = x1 - ux * (radii[arrow.target] + w * 1.2), y1 - uy * (radii[arrow.target] + w * 1.2)
        # a curve so that A→B and B→A do not overlap
        bend = min(length * 0.18, 40.0)
        mx, my = (sx + ex) / 2 - uy * bend, (sy + ey) / 2 + ux * bend
        out.append(
            f'<path class="rs-arrow" data-source="{esc(arrow.source)}" data-target="{esc(arrow.target)}" '
            f'd="M {sx:.1f} {sy:.1f} Q {mx:.1f} {my:.1f} {ex:.1f} {ey:.1f}" fill="none" stroke="#0b3c8c" stroke-opacity="0.8" '
            f'stroke-linecap="round" stroke-width="{w:.1f}" marker-end="url(#rs-arrowhead)" pointer-events="visibleStroke">'
            f"<title>{esc(arrow.tooltip)}</title></path>"
        )
    return out


def _city_labels(
    cities: list[MapCity],
    positions: dict[str, tuple[float, float]],
    radii: dict[str, float],
    selected: str | None,
    frame: _MapFrame,
) -> tuple[list[str], np.ndarray]:
    """Every city named, most important first, moved away with a leader line where needed: the
    leader lines, then the labels; and the boxes (left, top, right, bottom) the labels and the
    cities' centres take, for the province names to keep clear of."""
    font = 12.0
    # most important first: the selected city, then by circle size, rounded up to an even number of pixels (ties by
    # key); labels are placed around those rounded circles, so the layout holds from year to year while circles grow
    # a little (`place_labels` remembers recent layouts: a step's map reuses the last year's)
    size = {c.key: 2.0 * math.ceil(radii[c.key] / 2.0) for c in cities}
    order = sorted(cities, key=lambda c: (c.key != selected, -size[c.key], c.key))
    # widths on the safe side (0.6 em a Latin letter), with 2 px to spare at each end
    widths = {c.key: text_width(c.label, font, 0.6) + 4 for c in order}
    anchors = [(c.key, *positions[c.key], size[c.key], widths[c.key]) for c in order]
    centres = [(x - 3, y - 3, x + 3, y + 3) for x, y in positions.values()]
    spots = place_labels(anchors, centres, _plot_bounds(frame), height=font + 3)
    leaders, texts, boxes = [], [], list(centres)
    for c in order:
        lx, ly, leader = spots[c.key]
        box = (lx, ly + 3 - (font + 3), lx + widths[c.key], ly + 3)
        boxes.append(box)
        if leader:
            leaders.append(_leader_line(*positions[c.key], radii[c.key], box))
        # the text hugs the side of its box nearest the circle (the font may be narrower than the box)
        share = (positions[c.key][0] - box[0]) / (box[2] - box[0])
        anchor, tx = ("start", box[0] + 2) if share < 1 / 3 else ("end", box[2] - 2) if share > 2 / 3 else ("middle", (box[0] + box[2]) / 2)
        weight = "700" if c.key == selected else "500"
        texts.append(
            f'<text class="rs-label" data-key="{esc(c.key)}" x="{tx:.1f}" y="{ly:.1f}" font-size="{font:g}" '
            f'text-anchor="{anchor}" font-weight="{weight}" fill="#1b1b1b" stroke="#fff" stroke-width="3" paint-order="stroke" '
            f'style="cursor:pointer">{esc(c.label)}</text>'
        )
    return leaders + texts, np.array(boxes, dtype=float).reshape(-1, 4)


def _leader_line(x: float, y: float, r: float, box: tuple[float, float, float, float]) -> str:
    """A thin line from the edge of the circle at (x, y) to the nearest point of a label's box."""
    tx, ty = min(max(x, box[0]), box[2]), min(max(y, box[1] + 2), box[3] - 2)
    dist = math.hypot(tx - x, ty - y) or 1.0
    return (
        f'<line class="rs-leader" x1="{x + (tx - x) / dist * r:.1f}" y1="{y + (ty - y) / dist * r:.1f}" '
        f'x2="{tx:.1f}" y2="{ty:.1f}" stroke="#555" stroke-width="0.8" pointer-events="none"/>'
    )


def _plot_bounds(frame: _MapFrame) -> tuple[float, float, float, float]:
    """The plot box (left, top, right, bottom): labels stay inside it."""
    return (frame.plot_x0, frame.plot_y0, frame.plot_x0 + frame.plot_w, frame.plot_y0 + frame.plot_h)


def _province_names(outlines: list[tuple[str, list[list[float]]]], frame: _MapFrame, taken: np.ndarray, discs: np.ndarray) -> list[str]:
    """Each province's name inside it, in the free room nearest its lower-left corner (whole-region
    map only), placed after the city labels: no name covers a label, a city's centre or another
    name, and names keep off the cities' circles where they can. A province with no free room
    inside it (a small one full of cities, whose labels already say where they are) goes unnamed."""
    out = []
    for name, ring in outlines:
        if len(ring) < 3:
            continue
        points = np.array([frame.project(p[0], p[1]) for p in ring], dtype=float)
        box = _province_name_spot(points, text_width(name, 12, 0.6) + 4, 15.0, taken, discs, _plot_bounds(frame))
        if box is None:
            continue
        taken = np.vstack([taken, box])
        out.append(
            f'<text class="rs-province-name" x="{box[0] + 2:.1f}" y="{box[3] - 3:.1f}" font-size="12" fill="#7a8894" '
            f'font-style="italic" pointer-events="none">{esc(name)}</text>'
        )
    return out


def _province_name_spot(
    points: np.ndarray, w: float, h: float, taken: np.ndarray, discs: np.ndarray, bounds: tuple[float, float, float, float]
) -> tuple[float, float, float, float] | None:
    """The box (left, top, right, bottom) for a province name of size w × h: inside the province's
    outline (`points`, in pixels; else, in a small province, with at least its middle inside) and the
    plot, clear of `taken`, covering as little of `discs` as it can, then nearest the outline's
    lower-left corner; None if there is no such box."""
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    step = max(4.0, float(x1 - x0 + y1 - y0) / 200.0)
    gx, gy = np.meshgrid(np.arange(x0 - w / 2, x1 - w / 2, step), np.arange(y1 - h, y0 - h / 2, -step))
    lefts, tops = gx.ravel() + 4.0, gy.ravel() - 4.0
    free = _free_spots(lefts, tops, w, h, taken, bounds)
    outline = Path(points)
    inside = [
        outline.contains_points(np.column_stack([lefts + dx, tops + dy])) for dx, dy in ((w / 2, h / 2), (0, 0), (w, 0), (0, h), (w, h))
    ]
    ok = free & np.logical_and.reduce(inside)
    if not ok.any():
        ok = free & inside[0]
    if not ok.any():
        return None
    cost = np.hypot(lefts - x0, tops + h - y1) + 20.0 * _covered_area(lefts, tops, w, h, discs) / h
    best = int(np.argmin(np.where(ok, cost, np.inf)))
    return (float(lefts[best]), float(tops[best]), float(lefts[best] + w), float(tops[best] + h))


def _colour_legend(spec: MapSpec, frame: _MapFrame, vmin: float, vmax: float, colour: Callable[[float], str]) -> tuple[list[str], int]:
    """The colour bar with round ticks (it opens the legend group); and its height."""
    lx, ly, bar_h = frame.width - frame.legend_w + 10, frame.top + 30, max(min(180, frame.height - frame.top - 300), 90)
    stops = "".join(f'<stop offset="{k / 10:.1f}" stop-color="{colour(vmax - (vmax - vmin) * k / 10)}"/>' for k in range(11))
    out = [
        f'<defs><linearGradient id="rs-legend-gradient" x1="0" y1="0" x2="0" y2="1">{stops}</linearGradient></defs>',
        f'<g class="rs-legend" data-vmin="{vmin:.6g}" data-vmax="{vmax:.6g}"><text x="{lx}" y="{ly - 12}" font-size="12" '
        f'font-weight="600">{_wrap_tspans(spec.legend_title, lx, 14)}</text>',
        f'<rect x="{lx}" y="{ly + 10}" width="16" height="{bar_h}" fill="url(#rs-legend-gradient)" stroke="#555"/>',
    ]
    for tick in nice_ticks(vmin, vmax, 5):
        if vmin - 1e-12 <= tick <= vmax + 1e-12 and vmax > vmin:
            ty = ly + 10 + bar_h * (vmax - tick) / (vmax - vmin)
            out.append(
                f'<line x1="{lx + 16}" x2="{lx + 20}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#555"/>'
                f'<text x="{lx + 23}" y="{ty + 4:.1f}" font-size="11">{esc(fmt_number(tick, 1, spec.lang))}</text>'
            )
    return out, bar_h


def _size_legend(spec: MapSpec, lx: int, sy: int, radius: Callable[[float], float], max_pop: float) -> tuple[list[str], float]:
    """Circles for 1 and 10 million people (those not far above the largest city); and where it ends."""
    out = [f'<text x="{lx}" y="{sy}" font-size="12" font-weight="600">{esc(spec.size_title)}</text>']
    cy = sy + 10
    for population in (p for p in (1e6, 1e7) if p <= max_pop * 1.5):
        r = radius(population)
        out.append(
            f'<circle cx="{lx + 20}" cy="{cy + r:.1f}" r="{r:.1f}" fill="none" stroke="#555"/>'
            f'<text x="{lx + 46}" y="{cy + r + 4:.1f}" font-size="11">{esc(fmt_number(population, 0, spec.lang))}</text>'
        )
        cy += 2 * r + 6
    return out, cy


def _arrow_legend(spec: MapSpec, lx: int, cy: float, arrow_width: Callable[[float], float], max_units: float) -> list[str]:
    """What the arrows mean, with sample widths and their units (when there are arrows)."""
    if not spec.arrow_title:
        return []
    ay = cy + 18
    out = [f'<text x="{lx}" y="{ay}" font-size="11" class="rs-arrow-legend">{_wrap_tspans(spec.arrow_title, lx, 13, 22)}</text>']
    ay += 14 * max(1, math.ceil(text_width(spec.arrow_title, 11) / 125)) + 6
    for units in sorted({max(1.0, round(max_units / 2)), max_units}) if spec.arrows else ():
        w = arrow_width(units)
        out.append(
            f'<line x1="{lx}" x2="{lx + 34}" y1="{ay:.1f}" y2="{ay:.1f}" stroke="#0b3c8c" stroke-opacity="0.8" '
            f'stroke-width="{w:.1f}" marker-end="url(#rs-arrowhead)"/>'
            f'<text x="{lx + 52}" y="{ay + 4:.1f}" font-size="11">{esc(fmt_number(units, 0, spec.lang))} '
            f"{esc(spec.arrow_unit)}</text>"
        )
        ay += max(w, 12) + 8
    return out


def map_svg(spec: MapSpec) -> str:
    """The map as an `<svg>` element: province outlines, cities (size = population, colour =
    value, `data-key` = city id; the smallest drawn on top), relocation arrows on top of the cities
    (they let clicks through to the page's nearest-centre hit test), labels that do not overlap
    (with leader lines where a label had to move away), a colour legend, a size legend, an arrow
    legend with units and a title."""
    frame, cities = _map_frame(spec)
    vmin, vmax = _colour_range(spec)
    colour = colour_scale(spec.colormap, vmin, vmax)
    radius, max_pop = _radius_of(spec, frame)
    arrow_width, max_units = _arrow_width_of(spec.arrows)
    # largest first, so that a province drawn without holes (Hebei around Beijing and Tianjin) lies underneath
    outlines = sorted(spec.outlines, key=lambda item: -_ring_area(item[1]))
    positions = {c.key: frame.project(c.lon, c.lat) for c in cities}
    radii = {c.key: radius(c.population) for c in cities}
    out = _map_head(frame, spec.title)
    out += _province_polygons(outlines, frame)
    out += _city_circles(cities, positions, radii, colour, spec.selected)
    out += _arrow_paths(spec.arrows, positions, radii, arrow_width)  # on top of the cities
    labels, taken = _city_labels(cities, positions, radii, spec.selected, frame)
    out += labels
    out.append("</g>")
    if spec.focus is None:
        discs = np.array([(x - radii[k], y - radii[k], x + radii[k], y + radii[k]) for k, (x, y) in positions.items()], dtype=float)
        out += _province_names(outlines, frame, taken, discs.reshape(-1, 4))
    legend, bar_h = _colour_legend(spec, frame, vmin, vmax, colour)
    lx, ly = frame.width - frame.legend_w + 10, frame.top + 30
    sizes, cy = _size_legend(spec, lx, ly + bar_h + 36, radius, max_pop)
    out += legend + sizes + _arrow_legend(spec, lx, cy, arrow_width, max_units)
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


def _y_range(series: list[Series], zero_line: bool) -> tuple[float, float, list[float]]:
    """The chart's y range (widened to round ticks, to zero when `zero_line`, and off a flat line) and its ticks."""
    ys_all = [y for s in series for y in s.ys if y is not None and math.isfinite(y)]
    y_low, y_high = (min(ys_all), max(ys_all)) if ys_all else (0.0, 1.0)
    if zero_line:
        y_low, y_high = min(y_low, 0.0), max(y_high, 0.0)
    if y_high - y_low < 1e-12 * max(abs(y_high), 1.0):
        y_low, y_high = y_low - (abs(y_low) * 0.05 or 1.0), y_high + (abs(y_high) * 0.05 or 1.0)
    ticks = nice_ticks(y_low, y_high, 5)
    return min(ticks[0], y_low), max(ticks[-1], y_high), ticks


def _x_range(series: list[Series], x_range: tuple[float, float] | None) -> tuple[float, float]:
    """The chart's x range: the one given, else the series' years; never empty."""
    xs_all = [x for s in series for x in s.xs]
    x0, x1 = x_range if x_range else ((min(xs_all), max(xs_all)) if xs_all else (0, 1))
    if x1 <= x0:
        x1 = x0 + 1
    return x0, x1


def _tick_decimals(ticks: list[float]) -> int:
    """Decimals that tell the y ticks apart."""
    tick_step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    if tick_step <= 0:
        return 2
    return max(0, -math.floor(math.log10(tick_step)) + (0 if float(f"{tick_step:.3g}").is_integer() else 1))


@dataclass(frozen=True)
class _ChartFrame:
    """A chart's plot box in pixels and its data ranges."""

    left: int
    top: int
    pw: float
    ph: float
    x0: float
    x1: float
    y_low: float
    y_high: float

    def px(self, x: float) -> float:
        return self.left + (x - self.x0) / (self.x1 - self.x0) * self.pw

    def py(self, y: float) -> float:
        return self.top + (self.y_high - y) / (self.y_high - self.y_low) * self.ph


def _year_ticks(f: _ChartFrame, end_years: bool) -> list[float]:
    """The years to tick: round ones; with `end_years`, the first and last year too (round ones too close to them dropped)."""
    years = [y for y in nice_ticks(f.x0, f.x1, max(3, min(7, int(f.pw // 55)))) if f.x0 <= y <= f.x1 and float(y).is_integer()]
    if not end_years:
        return years
    ends = [y for y in (math.ceil(f.x0), math.floor(f.x1)) if f.x0 <= y <= f.x1]
    near = 40 * (f.x1 - f.x0) / max(f.pw, 1)  # years within 40 px of an end would crowd its label
    return sorted(set(ends) | {y for y in years if all(abs(y - e) >= near for e in ends)})


def _chart_axes(f: _ChartFrame, ticks: list[float], zero_line: bool, lang: str, end_years: bool = False) -> list[str]:
    """Y grid lines with their values, the zero line, year ticks along the bottom and the plot's frame."""
    decimals = _tick_decimals(ticks)

    def tick_text(value: float) -> str:
        return fmt_number(value, 1, lang) if abs(value) >= 1e4 else f"{value:,.{min(decimals, 6)}f}"

    out = []
    for tick in ticks:
        y = f.py(tick)
        out.append(
            f'<line x1="{f.left}" x2="{f.left + f.pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>'
            f'<text x="{f.left - 6}" y="{y + 4:.1f}" font-size="10.5" text-anchor="end" fill="#444">'
            f"{esc(tick_text(tick))}</text>"
        )
    if zero_line and f.y_low < 0 < f.y_high:
        out.append(f'<line x1="{f.left}" x2="{f.left + f.pw}" y1="{f.py(0):.1f}" y2="{f.py(0):.1f}" stroke="#888"/>')
    for year in _year_ticks(f, end_years):
        x = f.px(year)
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{f.top + f.ph}" y2="{f.top + f.ph + 4}" stroke="#444"/>'
            f'<text x="{x:.1f}" y="{f.top + f.ph + 16}" font-size="10.5" text-anchor="middle" fill="#444">{int(year)}</text>'
        )
    out.append(f'<rect x="{f.left}" y="{f.top}" width="{f.pw}" height="{f.ph}" fill="none" stroke="#999"/>')
    return out


def _chart_lines(f: _ChartFrame, series: list[Series]) -> list[str]:
    """Each series as a polyline (a dot when it has one value); missing values are skipped."""
    out = []
    for s in series:
        points = [(f.px(x), f.py(y)) for x, y in zip(s.xs, s.ys, strict=True) if y is not None and math.isfinite(y)]
        if not points:
            continue
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        if len(points) == 1:
            out.append(f'<circle cx="{points[0][0]:.1f}" cy="{points[0][1]:.1f}" r="3" fill="{s.colour}"/>')
        else:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            out.append(
                f'<polyline class="rs-line" points="{path}" fill="none" stroke="{s.colour}" stroke-width="2"{dash}>'
                f"<title>{esc(s.label)}</title></polyline>"
            )
    return out


def _year_marker(f: _ChartFrame, marker_x: float | None) -> list[str]:
    """The current year as a dashed vertical line, when it lies on the chart."""
    if marker_x is None or not f.x0 <= marker_x <= f.x1:
        return []
    mx = f.px(marker_x)
    return [
        f'<line class="rs-year-marker" x1="{mx:.1f}" x2="{mx:.1f}" y1="{f.top}" y2="{f.top + f.ph}" stroke="#e65100" '
        f'stroke-width="1.5" stroke-dasharray="3 2"/>'
        f'<text x="{mx + 3:.1f}" y="{f.top + 10}" font-size="10" fill="#e65100">{int(marker_x)}</text>'
    ]


def _hover_bands(f: _ChartFrame, series: list[Series], unit: str, lang: str) -> list[str]:
    """One invisible band per year whose tooltip lists every series' value that year."""
    years = sorted({float(x) for s in series for x in s.xs})
    band = f.pw / max(len(years), 1)
    out = []
    for year in years:
        lines = [f"{int(year)}"]
        for s in series:
            lines += [
                f"{s.label}: {fmt_number(float(y), 2, lang)}{(' ' + unit) if unit else ''}"
                for x, y in zip(s.xs, s.ys, strict=True)
                if float(x) == year and y is not None and math.isfinite(y)
            ]
        out.append(
            f'<rect class="rs-hover" data-year="{int(year)}" x="{f.px(year) - band / 2:.1f}" y="{f.top}" width="{band:.1f}" '
            f'height="{f.ph}" fill="#000" fill-opacity="0"><title>{esc(chr(10).join(lines))}</title></rect>'
        )
    return out


def _chart_legend(f: _ChartFrame, listed: list[Series], width: int) -> list[str]:
    """The legend below the plot, two entries a row."""
    out = []
    for i, s in enumerate(listed):
        lx = 10 + (i % 2) * (width / 2)
        ly = f.top + f.ph + 34 + 16 * (i // 2)
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        out.append(
            f'<line x1="{lx:.0f}" x2="{lx + 22:.0f}" y1="{ly - 4}" y2="{ly - 4}" stroke="{s.colour}" stroke-width="2.5"{dash}/>'
            f'<text x="{lx + 27:.0f}" y="{ly}" font-size="11" fill="#333">{esc(_clip(s.label, 34))}</text>'
        )
    return out


def line_chart_svg(
    title: str,
    series: list[Series],
    *,
    x_range: tuple[float, float] | None = None,
    width: int = 470,
    height: int = 250,
    zero_line: bool = False,
    css_class: str = "rs-chart",
    legend: bool = True,
    marker_x: float | None = None,
    unit: str = "",
    lang: str = "en",
    end_years: bool = False,
) -> str:
    """A line chart as an `<svg>`: title, y grid with round ticks, year axis (with `end_years`, the first and last
    year ticked too), legend below (the
    chart grows by one line per two legend entries, so the plot keeps its height). `marker_x` draws
    the current year as a vertical line; every year has a hover band (`rect.rs-hover`) whose
    tooltip lists each series' value that year (with `unit`)."""
    x0, x1 = _x_range(series, x_range)
    y_low, y_high, ticks = _y_range(series, zero_line)
    listed = [s for s in series if s.in_legend]
    legend_rows = math.ceil(len(listed) / 2) if legend and listed else 0
    height += 16 * legend_rows
    left, right, top, bottom = 58, 14, 30, 28 + 16 * legend_rows
    frame = _ChartFrame(left, top, width - left - right, height - top - bottom, x0, x1, y_low, y_high)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" style="{FONT}; background:#fff">',
        f'<text x="8" y="18" font-size="13" font-weight="600" fill="#222">{esc(title)}</text>',
    ]
    out += _chart_axes(frame, ticks, zero_line, lang, end_years)
    out += _chart_lines(frame, series)
    out += _year_marker(frame, marker_x)
    out += _hover_bands(frame, series, unit, lang)
    if legend:
        out += _chart_legend(frame, listed, width)
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
