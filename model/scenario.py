"""Scenarios: reading, resolving variants and overrides, and checking them fully.

A scenario is a TOML file (format: `scenarios/FORMAT.md`); a variant is a small TOML file that
names a base and sets a few key paths. Loading follows the chain of variants down to the base
scenario, applies each variant's `[set]` in order, then the caller's overrides (`--set` on the
command line, keyword arguments of `RegionModel`), then checks the result as a whole and
reports every problem at once — file, line where it can be found, key path, and what is valid.

Key paths are dotted: `rules.joint_control.enabled`, `meta.horizon`,
`cities.bj_core.population_10k` (records in a list are addressed by their `id`).
"""

from __future__ import annotations

import copy
import difflib
import math
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regionsim.model.errors import Problem, ScenarioError, UserError
from regionsim.model.rules import REGISTRY
from regionsim.model.rules.base import plain, rule_on
from regionsim.model.sectors import CIRCLES, FUNCTION_TYPES, POLLUTANTS, SECONDARY, SECTORS, TERTIARY, ZONES

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
"""Where short scenario names are looked up (and `variants/` below it)."""

INDICATORS = (
    "population_10k",
    "gdp_100m_yuan",
    "pm25_ugm3",
    "density_built_per_km2",
    "gdp_per_capita_yuan",
    "residents_relocated_in_10k",
    "residents_relocated_out_10k",
    "units_received",
)
"""Indicators a plan-scorecard target may check."""

COMPARATORS = ("<=", ">=", "<", ">")

# --- field specifications --------------------------------------------------------------------
# Each record type maps a key to (kind, required, detail). Kinds:
#   str, bool, num (detail = (low, high)), int (detail = (low, high)), choice (detail = options),
#   choices (a list drawn from detail), ref (detail = collection name), shares (detail = parts),
#   points (list of [lon, lat]), table (any table), sector_nums (one number per sector),
#   strs (list of strings), pairs (list of [id, id]).

_NUM_ANY = (-1e12, 1e12)
SOURCE_KEYS = ("source", "sources")

META_FIELDS: dict[str, tuple[str, bool, Any]] = {
    "name": ("str", True, None),
    "title_zh": ("str", False, None),
    "title_en": ("str", False, None),
    "description": ("str", False, None),
    "base_year": ("int", True, (1949, 2100)),
    "horizon": ("int", True, (1950, 2200)),
    "plan_files": ("strs", False, None),
    "default_indicator": ("str", False, None),
    # national natural change per 1,000 by year (model.demography: provinces follow its change beyond their own series)
    "national_natural_change_per_1000_by_year": ("table", False, None),
}

PROVINCE_FIELDS: dict[str, tuple[str, bool, Any]] = {
    "id": ("str", True, None),
    "name_zh": ("str", True, None),
    "name_en": ("str", True, None),
    "natural_change_per_1000": ("num", True, (-50.0, 50.0)),
    "natural_change_per_1000_by_year": ("table", False, None),  # published rates by year (model.demography)
    "pm25_target_ugm3": ("num", True, (1.0, 500.0)),
    "population_cap_10k": ("num", False, (0.0, 1e6)),
    "area_km2": ("num", False, (0.0, 1e7)),
    "outline": ("points", False, None),
    # The province's published totals, against which its cities must add up (a remainder unit closes the gap);
    # `cities_cover_province = false` says the scenario models only part of the province (e.g. one city cluster).
    "published_population_10k": ("num", False, (0.0, 1e6)),
    "published_gdp_100m_yuan": ("num", False, (0.0, 1e7)),
    "cities_cover_province": ("bool", False, None),
}

CITY_FIELDS: dict[str, tuple[str, bool, Any]] = {
    "id": ("str", True, None),
    "name_zh": ("str", True, None),
    "name_en": ("str", True, None),
    "province": ("ref", True, "provinces"),
    "lon": ("num", True, (-180.0, 180.0)),
    "lat": ("num", True, (-90.0, 90.0)),
    "population_10k": ("num", True, (0.0, 1e5)),
    "gdp_100m_yuan": ("num", True, (0.0, 1e7)),
    "area_km2": ("num", True, (0.01, 1e7)),
    "pm25_ugm3": ("num", True, (0.0, 1000.0)),
    "gdp_share": ("shares", True, ("primary", "secondary", "tertiary")),
    "profile": ("ref", True, "profiles"),
    "zone": ("choice", True, ZONES),
    "circle": ("choice", False, CIRCLES),
    "roles": ("choices", False, tuple(FUNCTION_TYPES)),
    "negative_list": ("choices", False, tuple(FUNCTION_TYPES)),
    "population_cap_10k": ("num", False, (0.0, 1e5)),
    "density_cap_per_km2": ("num", False, (1.0, 1e6)),
    "water_capacity_10k": ("num", False, (0.0, 1e5)),
    "built_up_share": ("num", False, (0.0, 1.0)),
    "built_up_growth_km2": ("num", False, (0.0, 1e4)),
    "water_source": ("bool", False, None),
    "service_level": ("num", False, (0.01, 100.0)),
    "cost_index": ("num", False, (0.01, 100.0)),
    "hukou_friction": ("num", False, (0.0, 1.0)),
    "cluster": ("str", False, None),
    "tags": ("strs", False, None),
    "description": ("str", False, None),
}

LINK_FIELDS: dict[str, tuple[str, bool, Any]] = {
    "from": ("ref", True, "cities"),
    "to": ("ref", True, "cities"),
    "minutes": ("num", True, (0.1, 10000.0)),
    "mode": ("choice", False, ("rail", "road", "air", "water")),
    "opens": ("int", False, (1900, 2200)),
    "corridor": ("str", False, None),
    "km": ("num", False, (0.0, 10000.0)),
}

STOCK_FIELDS: dict[str, tuple[str, bool, Any]] = {
    "city": ("ref", True, "cities"),
    "type": ("choice", True, tuple(FUNCTION_TYPES)),
    "units": ("int", True, (1, 10_000_000)),
    "jobs_per_unit": ("num", True, (0.0, 1e6)),
    "bundle": ("int", False, (1, 1_000_000)),
}

TARGET_FIELDS: dict[str, tuple[str, bool, Any]] = {
    "id": ("str", True, None),
    "label_zh": ("str", False, None),
    "label_en": ("str", False, None),
    "indicator": ("choice", True, INDICATORS),
    "city": ("ref", False, "cities"),
    "province": ("ref", False, "provinces"),
    "cities": ("strs", False, None),
    "region": ("bool", False, None),
    "function_types": ("choices", False, tuple(FUNCTION_TYPES)),
    "comparator": ("choice", True, COMPARATORS),
    "value": ("num", True, _NUM_ANY),
    "year": ("int", False, (1900, 2200)),
    "from_year": ("int", False, (1900, 2200)),
}

SECTOR_TABLES = ("productivity_10k_yuan_per_job", "tax_share_of_output", "output_growth")
SECTOR_RANGES = {
    "productivity_10k_yuan_per_job": (0.01, 1e5),
    "tax_share_of_output": (0.0, 1.0),
    "output_growth": (-0.5, 0.5),
}
TOP_KEYS = ("meta", "sectors", "profiles", "provinces", "cities", "links", "function_stocks", "targets", "rules")
VARIANT_KEYS = ("variant", "set")


@dataclass
class Scenario:
    """A loaded, resolved and checked scenario.

    `data` is the resolved TOML document (base + variants + overrides); `params` holds every
    rule's parameters with defaults filled in; `chain` lists the files read, variant first.
    """

    name: str
    path: Path
    data: dict[str, Any]
    params: dict[str, dict[str, Any]]
    chain: list[Path] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def base_year(self) -> int:
        """First simulated year's starting state."""
        return int(self.data["meta"]["base_year"])

    @property
    def horizon(self) -> int:
        """The default last year of a run."""
        return int(self.data["meta"]["horizon"])

    def enabled(self, rule_key: str) -> bool:
        """Whether rule `rule_key` (e.g. "joint_control") is switched on."""
        return rule_on(self.params, rule_key)


# --- finding and reading files -----------------------------------------------------------------


def find_scenario(ref: str | Path) -> Path:
    """The file for a short name ("capital_region", "capital_region-no_coordination") or a path."""
    shown = str(ref) if len(str(ref)) <= 80 else str(ref)[:77] + "..."
    try:
        path = Path(ref)
        if path.suffix == ".toml" or path.exists():
            if not path.is_file():
                raise UserError(f"{shown}: no such scenario file")
            return path.resolve()
        for candidate in (SCENARIO_DIR / f"{ref}.toml", SCENARIO_DIR / "variants" / f"{ref}.toml"):
            if candidate.is_file():
                return candidate
    except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL byte…
        raise UserError(f"{shown}: not a usable scenario name or path ({exc.__class__.__name__})") from None
    names = sorted(list_scenarios())
    close = difflib.get_close_matches(str(ref), names, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise UserError(f"{shown}: no such scenario.{hint} Valid names: {', '.join(names)}")


def list_scenarios() -> list[str]:
    """Short names of the shipped scenarios and variants."""
    names = [p.stem for p in SCENARIO_DIR.glob("*.toml")]
    names += [p.stem for p in (SCENARIO_DIR / "variants").glob("*.toml")]
    return sorted(names)


_PARSED: dict[Path, tuple[bytes, dict[str, Any], str]] = {}
"""Scenario files already parsed in this process: path → (the file's bytes, document, text). Parsing
the TOML took ~30 ms of every model built (tests, dashboard sessions and sweep runs build many);
reading the bytes to compare takes microseconds, so an edited file is always parsed again. The
documents are shared: `load_scenario` copies before it changes anything."""


def _read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """A scenario file's document and text (parsed once per content of the file; do not modify)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    known = _PARSED.get(path)
    if known is not None and known[0] == raw:
        return known[1], known[2]
    document, text = _parse_toml(path, raw)
    if len(_PARSED) >= 32:  # a fuzzing session reads thousands of files: keep memory bounded
        _PARSED.clear()
    _PARSED[path] = (raw, document, text)
    return document, text


def _plain_copy(value: Any) -> Any:
    """A copy of parsed TOML (tables and arrays copied, values shared: they are immutable); several
    times faster than `copy.deepcopy`."""
    if isinstance(value, dict):
        return {key: _plain_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_copy(item) for item in value]
    return value


def _parse_toml(path: Path, raw: bytes) -> tuple[dict[str, Any], str]:
    try:
        text = raw.decode("utf-8-sig")  # an editor's byte-order mark is not a TOML error
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem(str(path), "", f"not UTF-8 text (byte {exc.start}); save the file as UTF-8")]) from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        if line is None:  # Python < 3.14 puts the position only into the message
            found = re.search(r"\(at line (\d+)", str(exc))
            line = int(found.group(1)) if found else None
        message = getattr(exc, "msg", str(exc))
        raise ScenarioError([Problem(str(path), "", f"not valid TOML: {message}", line)]) from None
    except RecursionError:
        raise ScenarioError([Problem(str(path), "", "not valid TOML: nested too deeply")]) from None


# --- key paths -----------------------------------------------------------------------------------


def parse_set(assignment: str) -> tuple[str, Any]:
    """Split a `--set key=value` string; the value is read as TOML, or as a plain string."""
    if "=" not in assignment:
        raise UserError(f"--set {assignment!r}: expected key=value, e.g. rules.joint_control.enabled=false")
    key, _, text = assignment.partition("=")
    key = key.strip()
    if not key:
        raise UserError(f"--set {assignment!r}: the key before '=' is empty")
    try:
        value = tomllib.loads(f"v = {text.strip()}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        value = text.strip()
    return key, value


def _records_by_id(items: list[Any]) -> dict[str, dict[str, Any]]:
    return {str(item.get("id")): item for item in items if isinstance(item, dict) and "id" in item}


def set_path(data: dict[str, Any], key: str, value: Any, origin: str = "") -> str | None:
    """Set dotted `key` in `data` to `value`; return why it cannot be set, or None.

    A number set this way takes `origin` (the variant file, or "--set") as its source.
    """
    parts = key.split(".")
    node: Any = data
    for depth, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            records = _records_by_id(node)
            if part not in records:
                valid = ", ".join(sorted(records)) or "none"
                return f"no record with id {part!r} under {'.'.join(parts[:depth])}; valid ids: {valid}"
            node = records[part]
            continue
        if not isinstance(node, dict):
            return f"{'.'.join(parts[:depth])} is a value, not a table"
        if part not in node:
            if depth == 0 and part not in TOP_KEYS:
                return _unknown(part, TOP_KEYS, what="section")
            if depth == 1 and parts[0] == "rules" and part not in REGISTRY:
                return _unknown(part, REGISTRY, what="rule")
            node[part] = {}
        node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        return f"{'.'.join(parts[:-1])} is a list of records; name a record id and a field"
    if not isinstance(node, dict):
        return f"{'.'.join(parts[:-1])} is a value, not a table"
    node[last] = value
    if origin and last not in SOURCE_KEYS and len(parts) > 1 and parts[0] != "meta":
        owner, field_name = node, last
        if parts[0] == "rules" and len(parts) > 3:  # an entry of a table-valued rule parameter
            owner, field_name = data["rules"][parts[1]], parts[2]
        sources = owner.get("sources")
        if not isinstance(sources, dict):
            sources = owner["sources"] = {}
        sources[field_name] = f"set by {origin}"
    return None


def normalise_override_key(key: str) -> str:
    """Keyword-argument form (`rules__joint_control__enabled`) to dotted form."""
    return key.replace("__", ".")


def coerce_override(key: str, value: Any) -> Any:
    """An override value as the scenario stores it: a numpy scalar as the Python scalar it holds
    (`np.int64(3)` → 3, from `mesa.batch_run` over `np.arange` or EMA's IntegerParameter), and a
    whole float given to an int lever as an int (3.0 → 3). Anything else is left for the checks
    to accept or refuse (3.5 for an int lever, NaN, a string)."""
    value = plain(value)
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "rules" and parts[1] in REGISTRY:
        lever = REGISTRY[parts[1]].lever(parts[2])
        if lever is not None:
            value = lever.coerce(value)
    return value


# --- loading --------------------------------------------------------------------------------------


def load_scenario(ref: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read scenario or variant `ref`, apply `overrides` (key path → value), check, and return it."""
    path = find_scenario(ref)
    chain: list[Path] = []
    texts: dict[Path, str] = {}
    layers: list[tuple[Path, dict[str, Any]]] = []
    current = path
    while True:
        if current in chain:
            cycle = " → ".join(p.name for p in [*chain, current])
            raise ScenarioError([Problem(str(path), "variant.base", f"variants form a cycle: {cycle}")])
        chain.append(current)
        document, text = _read_toml(current)
        texts[current] = text
        if "variant" not in document:
            base = document
            break
        variant = document["variant"]
        problems = _check_variant(current, document, text)
        if problems:
            raise ScenarioError(problems)
        layers.append((current, document.get("set", {})))
        try:
            current = find_scenario(_resolve_relative(current, variant["base"]))
        except UserError as exc:
            raise ScenarioError([Problem(str(current), "variant.base", str(exc), _locate(text, "variant.base"))]) from None

    data = _plain_copy(base)
    problems: list[Problem] = []
    for layer_path, assignments in reversed(layers):
        for key, value in _flatten_set(assignments):
            why = set_path(data, key, _plain_copy(value), origin=f"variant {layer_path.name}")
            if why:
                problems.append(Problem(str(layer_path), f"set.{key}", why, _locate(texts[layer_path], key)))
    applied: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if not isinstance(key, str) or not key:
            problems.append(Problem("--set", repr(key), "a key path must be a non-empty string, e.g. rules.joint_control.enabled"))
            continue
        dotted = normalise_override_key(key)
        applied[key] = value = coerce_override(dotted, value)
        why = set_path(data, dotted, value, origin="--set (user override)")
        if why:
            problems.append(Problem("--set", dotted, why))
    if problems:
        raise ScenarioError(problems)

    base_path = chain[-1]
    problems = check_document(data, str(base_path), texts[base_path])
    if layers and problems:
        # problems that come from an override name the variant chain too
        problems = [Problem(f"{p.file} (via {chain[0].name})", p.key, p.message, p.line) for p in problems]
    if problems:
        raise ScenarioError(problems)
    params = resolve_params(data)
    name = chain[0].stem
    return Scenario(name=name, path=chain[0], data=data, params=params, chain=chain, overrides=applied)


def _resolve_relative(variant_path: Path, base: str) -> str:
    candidate = variant_path.parent / base
    if base.endswith(".toml") and candidate.is_file():
        return str(candidate)
    return base


def _flatten_set(table: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """`[set]` may hold quoted dotted keys or nested tables; both flatten to key paths."""
    items: list[tuple[str, Any]] = []
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            items.extend(_flatten_set(value, f"{path}."))
        else:
            items.append((path, value))
    return items


def _check_variant(path: Path, document: dict[str, Any], text: str) -> list[Problem]:
    """What is wrong with a variant file's sections (`text`: the file, for line numbers)."""
    problems: list[Problem] = []
    for key in document:
        if key not in VARIANT_KEYS:
            problems.append(Problem(str(path), key, f"unknown section in a variant; valid: {', '.join(VARIANT_KEYS)}", _locate(text, key)))
    variant = document["variant"]
    if not isinstance(variant, dict):
        return [*problems, Problem(str(path), "variant", 'must be a table with base = "scenario name"')]
    if not isinstance(variant.get("base"), str) or not variant.get("base"):
        problems.append(Problem(str(path), "variant.base", "missing: name the base scenario or variant", _locate(text, "variant")))
    for key in variant:
        if key not in ("base", "name", "title_zh", "title_en", "description"):
            problems.append(
                Problem(str(path), f"variant.{key}", "unknown key; valid: base, name, title_zh, title_en, description", _locate(text, key))
            )
    if "set" in document and not isinstance(document["set"], dict):
        problems.append(Problem(str(path), "set", "must be a table of key paths and values"))
    return problems


# --- checking --------------------------------------------------------------------------------------


class _Checker:
    """Collects problems while walking a resolved scenario document."""

    def __init__(self, data: dict[str, Any], file: str, text: str):
        self.data = data
        self.file = file
        self.text = text
        self.problems: list[Problem] = []

    def add(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.file, key, message, _locate(self.text, key)))

    def ids(self, collection: str) -> set[str]:
        cache = self.__dict__.setdefault("_ids", {})
        if collection not in cache:
            cache[collection] = self._ids_uncached(collection)
        return cache[collection]

    def _ids_uncached(self, collection: str) -> set[str]:
        value = self.data.get(collection)
        if isinstance(value, list):
            return {str(r["id"]) for r in value if isinstance(r, dict) and isinstance(r.get("id"), str)}
        if isinstance(value, dict):
            return set(value)
        return set()

    def record(self, path: str, record: Any, spec: dict[str, tuple[str, bool, Any]], inherited_source: bool = False) -> None:
        if not isinstance(record, dict):
            self.add(path, "must be a table")
            return
        has_source = inherited_source or isinstance(record.get("source"), str) and record["source"].strip() != ""
        field_sources = record.get("sources", {})
        if not isinstance(field_sources, dict):
            self.add(f"{path}.sources", 'must be a table of field = "source"')
            field_sources = {}
        for key in record:
            if key in SOURCE_KEYS:
                continue
            if key not in spec:
                self.add(f"{path}.{key}", _unknown(key, [*spec, *SOURCE_KEYS]))
        for key in field_sources:
            if key not in spec:
                self.add(f"{path}.sources.{key}", f"names no field of this record; fields: {', '.join(spec)}")
        for key, (kind, required, detail) in spec.items():
            if key not in record:
                if required:
                    self.add(f"{path}.{key}", f"missing ({_describe(kind, detail)})")
                continue
            value = record[key]
            self.value(f"{path}.{key}", value, kind, detail)
            if _is_numeric_kind(kind) and not (has_source or key in field_sources):
                self.add(f"{path}.{key}", 'number without a source: add source = "…" to the record or sources.{key}')

    def value(self, path: str, value: Any, kind: str, detail: Any) -> None:
        """Check one field value of `kind` (its checker in `_VALUE_CHECKS`; a kind without one accepts anything)."""
        if kind == "shares":
            self.shares(path, value, detail)
            return
        check = _VALUE_CHECKS.get(kind)
        if check is not None:
            for message in check(self, value, kind, detail):
                self.add(path, message)

    def shares(self, path: str, value: Any, parts: tuple[str, ...]) -> None:
        if not isinstance(value, dict):
            self.add(path, f"must be a table of shares {{{', '.join(f'{p} = …' for p in parts)}}}")
            return
        total = 0.0
        for key, share in value.items():
            if key not in parts:
                self.add(f"{path}.{key}", _unknown(key, parts))
                continue
            if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
                self.add(f"{path}.{key}", f"must be a share from 0 to 1, not {_show(share)}")
                return
            total += share
        if abs(total - 1.0) > 1e-6:
            self.add(path, f"shares must sum to 1, they sum to {total:.6g}")


# --- one checker per field kind: (checker, value, kind, detail) → the messages for that value, in order ------


def _check_str(c: _Checker, value: Any, kind: str, detail: Any) -> Iterator[str]:
    if not isinstance(value, str) or not value.strip():
        yield "must be a non-empty string"
    elif len(value) > 2000:
        yield f"too long ({len(value)} characters; at most 2000)"


def _check_strs(c: _Checker, value: Any, kind: str, detail: Any) -> Iterator[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        yield "must be a list of strings"


def _check_bool(c: _Checker, value: Any, kind: str, detail: Any) -> Iterator[str]:
    if not isinstance(value, bool):
        yield "must be true or false"


def _check_number(c: _Checker, value: Any, kind: str, detail: tuple[float, float]) -> Iterator[str]:
    """Kinds "num" and "int": a number (a whole one for "int") within `detail` = (low, high)."""
    low, high = detail
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        yield f"must be a number from {low:g} to {high:g}, not {_show(value)}"
    elif kind == "int" and not isinstance(value, int):
        yield f"must be a whole number from {low:g} to {high:g}, not {_show(value)}"
    elif not math.isfinite(value) or value < low or value > high:
        yield f"must be from {low:g} to {high:g}, not {_show(value)}"


def _check_choice(c: _Checker, value: Any, kind: str, detail: Any) -> Iterator[str]:
    if value not in detail:
        yield _unknown(str(value), detail, what="value")


def _check_choices(c: _Checker, value: Any, kind: str, detail: Any) -> Iterator[str]:
    if not isinstance(value, list):
        yield f"must be a list drawn from: {', '.join(detail)}"
        return
    for item in value:
        if item not in detail:
            yield _unknown(str(item), detail, what="value")


def _check_ref(c: _Checker, value: Any, kind: str, detail: str) -> Iterator[str]:
    """An id of a record in collection `detail` ("cities", "provinces", …)."""
    valid = c.ids(detail)
    if not isinstance(value, str) or value not in valid:
        yield _unknown(str(value), sorted(valid), what=f"{_singular(detail)} id")


def _is_point(p: Any) -> bool:
    """A [lon, lat] pair of numbers on the globe."""
    return (
        isinstance(p, list)
        and len(p) == 2
        and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in p)
        and -180 <= p[0] <= 180
        and -90 <= p[1] <= 90
    )


def _check_points(c: _Checker, value: Any, kind: str, detail: Any) -> Iterator[str]:
    if not (isinstance(value, list) and len(value) >= 3 and all(_is_point(p) for p in value)):
        yield "must be a list of at least 3 [lon, lat] points"


def _check_year_table(c: _Checker, value: Any, kind: str, detail: Any) -> Iterator[str]:
    """A { year = rate per 1,000 } table (natural change by year; read by model.demography)."""
    if not isinstance(value, dict):
        yield "must be a table of year = rate per 1,000 (e.g. { 2015 = 4.96 })"
        return
    for key, rate in value.items():
        if not str(key).isdigit() or isinstance(rate, bool) or not isinstance(rate, (int, float)) or not -50 <= rate <= 50:
            yield f"{key}: must be a year = a rate from -50 to 50 per 1,000 (got {_show(rate)})"


_VALUE_CHECKS: dict[str, Callable[[_Checker, Any, str, Any], Iterator[str]]] = {
    "str": _check_str,
    "strs": _check_strs,
    "bool": _check_bool,
    "num": _check_number,
    "int": _check_number,
    "choice": _check_choice,
    "choices": _check_choices,
    "ref": _check_ref,
    "points": _check_points,
    "table": _check_year_table,
}
"""Field kind → its checker ("shares" is `_Checker.shares`: its messages name the part)."""


SECTION_TYPES = {
    "meta": dict,
    "sectors": dict,
    "profiles": dict,
    "provinces": list,
    "cities": list,
    "links": list,
    "function_stocks": list,
    "targets": list,
    "rules": dict,
}


def check_document(data: dict[str, Any], file: str, text: str = "") -> list[Problem]:
    """Every problem in a resolved scenario document (empty when it is valid)."""
    c = _Checker(data, file, text)
    data = _check_sections(c, data)
    c.data = data
    c.__dict__.pop("_ids", None)
    for key in ("meta", "sectors", "profiles", "provinces", "cities"):
        if key not in data:
            c.add(key, "missing section")
    _check_meta(c, data.get("meta", {}))
    _check_sectors(c, data.get("sectors"))
    _check_profiles(c, data.get("profiles"))
    for collection, spec in (("provinces", PROVINCE_FIELDS), ("cities", CITY_FIELDS)):
        _check_records_with_ids(c, data, collection, spec)
    for collection, spec in (("links", LINK_FIELDS), ("function_stocks", STOCK_FIELDS), ("targets", TARGET_FIELDS)):
        _check_records(c, data, collection, spec)
    _check_links(c, data)
    _check_targets(c, data.get("targets", []))
    _check_rules(c, data.get("rules", {}))
    return c.problems


def _check_sections(c: _Checker, data: dict[str, Any]) -> dict[str, Any]:
    """Report unknown sections and sections of the wrong kind; the document with those read as empty.

    A section of the wrong kind is reported once and then read as empty, so that the remaining
    checks see only well-formed sections.
    """
    for key in data:
        if key not in TOP_KEYS:
            c.add(key, _unknown(key, TOP_KEYS, what="section"))
    data = dict(data)
    for key, kind in SECTION_TYPES.items():
        if key in data and not isinstance(data[key], kind):
            c.add(key, f"must be {'a table [' + key + ']' if kind is dict else 'a list of [[' + key + ']] tables'}, not {_show(data[key])}")
            data[key] = kind()
    return data


def _check_meta(c: _Checker, meta: Any) -> None:
    if not isinstance(meta, dict):
        c.add("meta", "must be a table")
        return
    c.record("meta", meta, META_FIELDS, inherited_source=True)
    base, horizon = meta.get("base_year"), meta.get("horizon")
    if isinstance(base, int) and isinstance(horizon, int) and horizon <= base:
        c.add("meta.horizon", f"must be after base_year ({base}), not {horizon}")


def _check_records_with_ids(c: _Checker, data: dict[str, Any], collection: str, spec: dict[str, tuple[str, bool, Any]]) -> None:
    """A non-empty list of records (provinces, cities), each labelled by its id: fields, unique and well-formed ids."""
    records = data.get(collection, [])
    if not isinstance(records, list) or not records:
        if collection in data:
            c.add(collection, f"must be a non-empty list of [[{collection}]] tables")
        return
    seen: set[str] = set()
    for index, record in enumerate(records):
        label = record.get("id") if isinstance(record, dict) and isinstance(record.get("id"), str) else index
        c.record(f"{collection}[{label}]", record, spec)
        rid = record.get("id") if isinstance(record, dict) else None
        if isinstance(rid, str):
            if rid in seen:
                c.add(f"{collection}[{rid}].id", "duplicate id")
            seen.add(rid)
            if not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", rid):
                c.add(f"{collection}[{rid}].id", "ids use letters, digits, '_' and '-' only (at most 64)")


def _check_records(c: _Checker, data: dict[str, Any], collection: str, spec: dict[str, tuple[str, bool, Any]]) -> None:
    """A list of records labelled by position (links, function stocks, targets)."""
    records = data.get(collection, [])
    if not isinstance(records, list):
        c.add(collection, f"must be a list of [[{collection}]] tables")
        return
    for index, record in enumerate(records):
        c.record(f"{collection}[{index}]", record, spec)


def _check_sectors(c: _Checker, sectors: Any) -> None:
    if sectors is None:
        return
    if not isinstance(sectors, dict):
        c.add("sectors", "must be a table")
        return
    inherited = isinstance(sectors.get("source"), str)
    field_sources = sectors.get("sources", {}) if isinstance(sectors.get("sources"), dict) else {}
    valid = [*SECTOR_TABLES, "emission_t_per_100m_yuan", *SOURCE_KEYS]
    for key in sectors:
        if key not in valid:
            c.add(f"sectors.{key}", _unknown(key, valid))
    for table in SECTOR_TABLES:
        _check_sector_numbers(c, f"sectors.{table}", sectors.get(table), SECTOR_RANGES[table], inherited or table in field_sources)
    emissions = sectors.get("emission_t_per_100m_yuan")
    if not isinstance(emissions, dict):
        c.add("sectors.emission_t_per_100m_yuan", f"missing: one table per pollutant ({', '.join(POLLUTANTS)})")
        return
    inherited = inherited or isinstance(emissions.get("source"), str) or "emission_t_per_100m_yuan" in field_sources
    for key in emissions:
        if key not in (*POLLUTANTS, *SOURCE_KEYS):
            c.add(f"sectors.emission_t_per_100m_yuan.{key}", _unknown(key, POLLUTANTS, what="pollutant"))
    for pollutant in POLLUTANTS:
        _check_sector_numbers(c, f"sectors.emission_t_per_100m_yuan.{pollutant}", emissions.get(pollutant), (0.0, 1e7), inherited)


def _check_sector_numbers(c: _Checker, path: str, table: Any, bounds: tuple[float, float], sourced: bool) -> None:
    if not isinstance(table, dict):
        c.add(path, f"missing: a table with one number per sector ({', '.join(SECTORS)})")
        return
    sourced = sourced or isinstance(table.get("source"), str)
    for key, value in table.items():
        if key in SOURCE_KEYS:
            continue
        if key not in SECTORS:
            c.add(f"{path}.{key}", _unknown(key, SECTORS, what="sector"))
            continue
        c.value(f"{path}.{key}", value, "num", bounds)
    missing = [s for s in SECTORS if s not in table]
    if missing:
        c.add(path, f"missing sectors: {', '.join(missing)}")
    if not sourced:
        c.add(path, 'numbers without a source: add source = "…"')


def _check_profiles(c: _Checker, profiles: Any) -> None:
    if profiles is None:
        return
    if not isinstance(profiles, dict) or not profiles:
        c.add("profiles", "must hold at least one [profiles.NAME] table")
        return
    for name, profile in profiles.items():
        path = f"profiles.{name}"
        if not isinstance(profile, dict):
            c.add(path, "must be a table with secondary = {…} and tertiary = {…}")
            continue
        for key in profile:
            if key not in ("secondary", "tertiary", *SOURCE_KEYS):
                c.add(f"{path}.{key}", _unknown(key, ("secondary", "tertiary", *SOURCE_KEYS)))
        c.shares(f"{path}.secondary", profile.get("secondary"), SECONDARY)
        c.shares(f"{path}.tertiary", profile.get("tertiary"), TERTIARY)
        if not isinstance(profile.get("source"), str):
            c.add(path, 'shares without a source: add source = "…"')


def _check_links(c: _Checker, data: dict[str, Any]) -> None:
    cities = [r for r in data.get("cities", []) if isinstance(r, dict) and isinstance(r.get("id"), str)]
    links = [r for r in data.get("links", []) if isinstance(r, dict)] if isinstance(data.get("links"), list) else []
    ids = [r["id"] for r in cities]
    if len(ids) < 2:
        return
    parent = {i: i for i in ids}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for index, link in enumerate(links):
        a, b = link.get("from"), link.get("to")
        if a == b and a is not None:
            c.add(f"links[{index}]", f"links {a!r} to itself")
        if isinstance(a, str) and isinstance(b, str) and a in parent and b in parent:  # a wrong type is reported by its record
            parent[root(a)] = root(b)
    groups: dict[str, list[str]] = {}
    for i in ids:
        groups.setdefault(root(i), []).append(i)
    if len(groups) > 1:
        main = max(groups.values(), key=len)
        cut_off = sorted(i for g in groups.values() if g is not main for i in g)
        c.add("links", f"cities not connected to the rest by any link: {', '.join(cut_off)}")


def _check_targets(c: _Checker, targets: Any) -> None:
    if not isinstance(targets, list):
        return
    for index, target in enumerate(targets):
        if not isinstance(target, dict):
            continue
        scopes = [k for k in ("city", "cities", "province", "region") if target.get(k) not in (None, False)]
        if len(scopes) != 1:
            c.add(f"targets[{index}]", "name exactly one of city = …, cities = […], province = … or region = true")
        listed = target.get("cities")
        if isinstance(listed, list):
            for city in listed:
                if not isinstance(city, str) or city not in c.ids("cities"):
                    c.add(f"targets[{index}].cities", _unknown(str(city), sorted(c.ids("cities")), what="city id"))


def _check_rules(c: _Checker, rules: Any) -> None:
    if not isinstance(rules, dict):
        c.add("rules", "must be a table of [rules.NAME] tables")
        return
    for key, table in rules.items():
        path = f"rules.{key}"
        spec = REGISTRY.get(key)
        if spec is None:
            c.add(path, _unknown(key, list(REGISTRY), what="rule"))
            continue
        if not isinstance(table, dict):
            c.add(path, "must be a table")
            continue
        sourced = isinstance(table.get("source"), str)
        field_sources = table.get("sources", {}) if isinstance(table.get("sources"), dict) else {}
        for name, value in table.items():
            if name in SOURCE_KEYS:
                continue
            if name == "enabled":
                if not isinstance(value, bool):
                    c.add(f"{path}.enabled", f"must be true or false, not {_show(value)}")
                continue
            if name in spec.list_params:
                _check_list_param(c, f"{path}.{name}", name, value)
                continue
            lever = spec.lever(name)
            if lever is None:
                c.add(f"{path}.{name}", _unknown(name, ["enabled", *(lv.name for lv in spec.levers), *spec.list_params], what="lever"))
                continue
            why = lever.check(value)
            if why:
                c.add(f"{path}.{name}", f"{why}, not {_show(value)}")
            elif lever.kind != "bool" and not (sourced or name in field_sources):
                c.add(f"{path}.{name}", 'number without a source: add source = "…" to the rule table')


LIST_PARAM_KINDS = {name: kind for spec in REGISTRY.values() for name, kind in spec.list_params.items()}
"""Every rule's list parameter → its kind, as each RuleSpec declares it."""

SCHEDULE_FIELDS: dict[str, dict[str, tuple[str, bool, Any]]] = {
    "release_schedule": {
        "from": ("ref", True, "cities"),
        "type": ("choice", True, tuple(FUNCTION_TYPES)),
        "units_per_year": ("num", True, (0.0, 1e6)),
        "start": ("int", False, (1900, 2200)),
        "end": ("int", False, (1900, 2200)),
    },
    "resident_schedule": {
        "from": ("ref", True, "cities"),
        "to": ("ref", True, "cities"),
        "persons_10k": ("num", True, (0.0, 1e5)),
        "start": ("int", True, (1900, 2200)),
        "end": ("int", True, (1900, 2200)),
    },
}
"""Fields of one entry of RELOCATE's schedules (`[[rules.relocate.release_schedule]]`, …); each entry needs a source."""


def _check_list_param(c: _Checker, path: str, name: str, value: Any) -> None:
    """Check a rule's list parameter `name` by its kind (`LIST_PARAM_KINDS`, checker in `_LIST_PARAM_CHECKS`)."""
    kind = LIST_PARAM_KINDS[name]
    check = _LIST_PARAM_CHECKS.get(kind)
    if check is not None:
        check(c, path, kind, value)


def _check_id_list(c: _Checker, path: str, kind: str, value: Any) -> None:
    """Kinds "sector", "province", "city": a list of such ids."""
    valid = {"sector": SECTORS, "province": sorted(c.ids("provinces")), "city": sorted(c.ids("cities"))}[kind]
    if not isinstance(value, list):
        c.add(path, f"must be a list of {kind} ids: {', '.join(valid)}")
        return
    for item in value:
        if item not in valid:
            c.add(path, _unknown(str(item), valid, what=f"{kind} id"))


def _check_zone_sectors(c: _Checker, path: str, kind: str, value: Any) -> None:
    """A table: zone type = [sector ids]."""
    if not isinstance(value, dict):
        c.add(path, "must be a table: zone type = [sectors]")
        return
    for zone, sectors in value.items():
        if zone not in ZONES:
            c.add(f"{path}.{zone}", _unknown(zone, ZONES, what="zone type"))
        elif not isinstance(sectors, list) or any(s not in SECTORS for s in sectors):
            c.add(f"{path}.{zone}", f"must be a list of sector ids: {', '.join(SECTORS)}")


def _is_display_number(value: Any) -> bool:
    """A number from 0 to 1e9 (not a bool)."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and 0 <= value <= 1e9


def _check_id_table(c: _Checker, path: str, value: Any, form: str, collection: str, valid: Any, expected: str) -> None:
    """A table keyed by ids of `collection` whose values pass `valid` (`form`: the table's shape, as the message shows
    it; `expected`: a valid value)."""
    what = form.split(" = ")[0]
    if not isinstance(value, dict):
        c.add(path, f"must be a table: {form}")
        return
    ids = c.ids(collection)
    for key, item in value.items():
        if key not in ids:
            c.add(f"{path}.{key}", _unknown(key, sorted(ids), what=what))
        elif not valid(item):
            c.add(f"{path}.{key}", f"must be a {expected}, not {_show(item)}")


def _check_city_numbers(c: _Checker, path: str, kind: str, value: Any) -> None:
    """A table: city id = number from 0 to 1e9."""
    _check_id_table(c, path, value, "city id = number", "cities", _is_display_number, "number from 0 to 1e9")


def _is_share(value: Any) -> bool:
    """A number from 0 to 1 (not a bool)."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and 0 <= value <= 1


def _check_province_shares(c: _Checker, path: str, kind: str, value: Any) -> None:
    """A table: province id = share from 0 to 1 (POLICY's abatement_floor)."""
    _check_id_table(c, path, value, "province id = share from 0 to 1", "provinces", _is_share, "share from 0 to 1")


def _check_schedule(c: _Checker, path: str, kind: str, value: Any) -> None:
    """Kinds "release_schedule", "resident_schedule": a list of entries with the fields of `SCHEDULE_FIELDS[kind]`."""
    if not isinstance(value, list):
        c.add(path, "must be a list of tables (write each entry as [[" + path + "]])")
        return
    for index, entry in enumerate(value):
        where = f"{path}[{index}]"
        c.record(where, entry, SCHEDULE_FIELDS[kind])
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("start"), int) and isinstance(entry.get("end"), int) and entry["end"] < entry["start"]:
            c.add(f"{where}.end", f"must not be before start ({entry['start']}), not {entry['end']}")
        if kind == "resident_schedule" and entry.get("from") is not None and entry.get("from") == entry.get("to"):
            c.add(f"{where}.to", "must differ from `from`: residents move between two cities")


def _check_display_number(c: _Checker, path: str, kind: str, value: Any) -> None:
    """A display setting (not a lever): a number of at least 0."""
    if not _is_display_number(value):
        c.add(path, f"must be a number from 0 to 1e9, not {_show(value)}")


def _check_city_pairs(c: _Checker, path: str, kind: str, value: Any) -> None:
    """A list of [donor city, recipient city] pairs of known city ids."""
    if not isinstance(value, list):
        c.add(path, "must be a list of [donor city, recipient city] pairs")
        return
    cities = c.ids("cities")
    for pair in value:
        if not isinstance(pair, list) or len(pair) != 2 or any(p not in cities for p in pair):
            c.add(path, f"{_show(pair)} is not a [donor city, recipient city] pair of known city ids")


def _check_province_payments(c: _Checker, path: str, kind: str, value: Any) -> None:
    """A list of [payer province, recipient province, 亿元 per year] (AIR's abatement_payments)."""
    if not isinstance(value, list):
        c.add(path, "must be a list of [payer province, recipient province, 亿元 per year] entries")
        return
    provinces = c.ids("provinces")
    for entry in value:
        ok = isinstance(entry, list) and len(entry) == 3 and entry[0] in provinces and entry[1] in provinces
        if not ok or entry[0] == entry[1] or not _is_display_number(entry[2]):
            c.add(path, f"{_show(entry)} is not [payer province, recipient province, 亿元 per year]: two known provinces, 0 to 1e9")


def _party_cities(c: _Checker, path: str, party: Any) -> set[str] | None:
    """The city ids of an agreement's party (a province id, or a non-empty list of city ids); None, reported, when it is
    neither."""
    provinces = sorted(c.ids("provinces"))
    if isinstance(party, str) and party in provinces:
        return {str(r.get("id")) for r in c.data.get("cities", []) if isinstance(r, dict) and r.get("province") == party}
    cities = c.ids("cities")
    if isinstance(party, list) and party and all(isinstance(x, str) and x in cities for x in party) and len(set(party)) == len(party):
        return set(party)
    c.add(path, f"must be a province id ({', '.join(provinces)}) or a list of distinct known city ids, not {_show(party)}")
    return None


def _check_agreements(c: _Checker, path: str, value: Any, fields: tuple[str, str, str], form: str) -> list[tuple[str, set[str], set[str]]]:
    """A list of tables with exactly `fields` (two parties, then a number); each party checked. Return (entry path, first
    party's cities, second party's cities) of the entries whose parties are valid."""
    if not isinstance(value, list):
        c.add(path, f"must be a list of {form} tables")
        return []
    valid = []
    for index, entry in enumerate(value):
        where = f"{path}[{index}]"
        if not isinstance(entry, dict) or set(entry) != set(fields):
            c.add(where, f"must be a table {form}, not {_show(entry)}")
            continue
        first, second = (_party_cities(c, f"{where}.{name}", entry[name]) for name in fields[:2])
        if first is not None and second is not None:
            valid.append((where, first, second))
    return valid


def _check_pair_split(c: _Checker, path: str, kind: str, value: Any) -> None:
    """TAX_SHARE's pair_split: a list of { origin, host, split } (parties: a province id or a list of city ids)."""
    form = "{ origin = province or [cities], host = province or [cities], split = share from 0 to 1 }"
    _check_agreements(c, path, value, ("origin", "host", "split"), form)
    for index, entry in enumerate(value if isinstance(value, list) else []):
        if isinstance(entry, dict) and "split" in entry and not _is_share(entry["split"]):
            c.add(f"{path}[{index}].split", f"must be a share from 0 to 1, not {_show(entry['split'])}")


def _check_water_payments(c: _Checker, path: str, kind: str, value: Any) -> None:
    """ECO_COMP's agreed_payments: a list of { payer, recipient, amount } (parties: a province id or a list of city ids);
    the recipient must hold a water-source city and the payer a city that is not one."""
    form = "{ payer = province or [cities], recipient = province or [cities], amount = 亿元 a year }"
    water = {str(r.get("id")) for r in c.data.get("cities", []) if isinstance(r, dict) and r.get("water_source") is True}
    for where, payers, recipients in _check_agreements(c, path, value, ("payer", "recipient", "amount"), form):
        if not payers - water:
            c.add(f"{where}.payer", "holds no city that is not a water source: nobody would pay")
        if not recipients & water:
            c.add(f"{where}.recipient", "holds no water-source city (water_source = true): nobody would be paid")
    for index, entry in enumerate(value if isinstance(value, list) else []):
        if isinstance(entry, dict) and "amount" in entry and not _is_display_number(entry["amount"]):
            c.add(f"{path}[{index}].amount", f"must be a number from 0 to 1e9 (亿元 a year), not {_show(entry['amount'])}")


_LIST_PARAM_CHECKS: dict[str, Callable[[_Checker, str, str, Any], None]] = {
    "sector": _check_id_list,
    "province": _check_id_list,
    "city": _check_id_list,
    "zone_sectors": _check_zone_sectors,
    "city_numbers": _check_city_numbers,
    "province_shares": _check_province_shares,
    "release_schedule": _check_schedule,
    "resident_schedule": _check_schedule,
    "display_number": _check_display_number,
    "city_pairs": _check_city_pairs,
    "province_payments": _check_province_payments,
    "pair_split": _check_pair_split,
    "water_payments": _check_water_payments,
}
"""List-parameter kind (the values of `LIST_PARAM_KINDS`) → its checker (checker, key path, kind, value)."""


def resolve_params(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every rule's parameters: the rule's defaults overlaid with the scenario's values."""
    params: dict[str, dict[str, Any]] = {}
    rules = data.get("rules", {})
    for key, spec in REGISTRY.items():
        values = spec.defaults()
        for name in spec.list_params:
            values[name] = copy.deepcopy(spec.list_defaults.get(name))
        table = rules.get(key, {})
        for name, value in table.items():
            if name not in SOURCE_KEYS:
                lever = spec.lever(name)
                values[name] = lever.coerce(value) if lever is not None else value
        params[key] = values
    return params


# --- small helpers ------------------------------------------------------------------------------------


def _is_numeric_kind(kind: str) -> bool:
    return kind in ("num", "int", "shares", "points")


def _describe(kind: str, detail: Any) -> str:
    if kind in ("num", "int"):
        return f"a {'whole ' if kind == 'int' else ''}number from {detail[0]:g} to {detail[1]:g}"
    if kind == "choice":
        return f"one of: {', '.join(detail)}"
    if kind == "ref":
        return f"a {_singular(detail)} id"
    if kind == "shares":
        return f"shares {{{', '.join(detail)}}} summing to 1"
    return {"str": "a string", "bool": "true or false", "strs": "a list of strings"}.get(kind, kind)


def _singular(collection: str) -> str:
    """ "cities" → "city", "provinces" → "province" (for messages)."""
    return {"cities": "city"}.get(collection, collection[:-1])


def _unknown(key: str, valid: Any, what: str = "key") -> str:
    valid = list(valid)
    close = difflib.get_close_matches(key, [str(v) for v in valid], n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    shown = ", ".join(str(v) for v in valid[:40]) + (" …" if len(valid) > 40 else "")
    return f"unknown {what} {_show(key)}{hint}; valid: {shown}"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _locate(text: str, key: str) -> int | None:
    """Best-effort line number of a key path in a TOML text (None when not found)."""
    if not text:
        return None
    lines = text.splitlines()
    parts = [p for p in re.split(r"[.\[\]]+", key) if p]
    if not parts:
        return None
    # an array record addressed by id or index: find its [[collection]] header
    match = re.match(r"(\w+)\[([^\]]+)\]", key)
    if match:
        return _locate_in_array(lines, key, match)
    # a table path: find the deepest [a.b] header, then the key
    found = _locate_in_table(lines, parts)
    if found is not None:
        return found
    for i, line in enumerate(lines):
        if re.match(rf"\s*\"?{re.escape(key)}\"?\s*=", line) or re.match(rf"\s*{re.escape(parts[-1])}\s*=", line):
            return i + 1
    return None


def _locate_in_array(lines: list[str], key: str, match: re.Match[str]) -> int | None:
    """Line of `collection[label].field` (`match` holds collection and label): the field's line, else its record's header."""
    collection, label = match.groups()
    start = _array_header(lines, collection, label)
    if start is None:
        return None
    field_name = key[match.end() :].lstrip(".").split(".")[0]
    if not field_name:
        return start + 1
    found = _key_in_table(lines, start, field_name, min(len(lines), start + 80))
    return found if found is not None else start + 1


def _array_header(lines: list[str], collection: str, label: str) -> int | None:
    """0-based line of the `[[collection]]` header of the record at index `label`, or else of the record with id `label`."""
    headers = [i for i, line in enumerate(lines) if line.strip() == f"[[{collection}]]"]
    if label.isdigit() and int(label) < len(headers):
        return headers[int(label)]
    for i in headers:
        block = lines[i + 1 : i + 40]
        if any(re.match(rf'\s*id\s*=\s*"{re.escape(label)}"', b) for b in block):
            return i
    return None


def _locate_in_table(lines: list[str], parts: list[str]) -> int | None:
    """Line of the deepest `[a.b]` header among the key's parts (of the next part's key in it, if any); None without one."""
    for cut in range(len(parts), 0, -1):
        header = "[" + ".".join(parts[:cut]) + "]"
        start = next((i for i, line in enumerate(lines) if line.strip() == header), None)
        if start is None:
            continue
        rest = parts[cut:]
        if not rest:
            return start + 1
        found = _key_in_table(lines, start, rest[0], len(lines))
        return found if found is not None else start + 1
    return None


def _key_in_table(lines: list[str], start: int, name: str, stop: int) -> int | None:
    """1-based line of `name = …` after the header at line `start` (0-based) and before the next header or `stop`."""
    for i in range(start + 1, stop):
        if lines[i].lstrip().startswith("["):
            break
        if re.match(rf"\s*\"?{re.escape(name)}\"?\s*=", lines[i]):
            return i + 1
    return None
