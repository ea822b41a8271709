"""A sweep file, read and checked, and the design it stands for.

A sweep is the EMA-Workbench picture of the model: a function from named levers (rule
parameters, key paths such as `rules.relocate.annual_quota_share`) to named outcomes (model-level
indicators at chosen years). The sweep file says which base scenario or variant to start from,
which levers to vary over which ranges or values, how to place the points (full factorial, Latin
hypercube, Sobol/Saltelli), how many replicate seeds each point gets, the horizon, and which
outcomes to keep:

    [sweep]
    scenario = "capital_region"      # a scenario or variant name, or a path to a .toml file
    until = 2035                     # last simulated year (default: the scenario's horizon)
    design = "latin_hypercube"       # "full_factorial" | "latin_hypercube" | "sobol"
    samples = 50                     # LHS: points; Sobol: base samples N (N × (levers + 2) points)
    replicates = 4                   # seeds per point (common to all points)
    seed = 20250501                  # the design's own seed: points and replicate seeds follow from it

    [levers]
    "rules.relocate.annual_quota_share" = { low = 0.05, high = 0.4 }
    "rules.joint_control.enabled" = { values = [true, false] }
    "rules.services.lag_years" = { low = 0, high = 5 }     # an int lever: whole numbers only
    "rules.migrate.hukou_friction" = { low = 0.1, high = 0.6, levels = 3 }   # levels: full factorial

    [set]                            # fixed for every run (any scenario key path)
    "rules.fund.enabled" = false

    [outcomes]
    indicators = ["population_beijing", "pm25_population_weighted"]
    years = [2030, 2035]             # default: the last year
    series = ["population_beijing"]  # optional: the whole yearly series as a list column

The design is a pure function of the file: the same file gives the same points, the same seeds and
the same run ids (`run_id = point × replicates + replicate`), in any process, so a resumed sweep
computes exactly the design it started with. `fingerprint()` hashes everything that decides what a
run computes, so a sweep folder can refuse a file that has changed under it.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from regionsim.model.errors import UserError

DESIGNS = ("full_factorial", "latin_hypercube", "sobol")
DESIGN_ALIASES = {"factorial": "full_factorial", "full-factorial": "full_factorial", "lhs": "latin_hypercube",
                  "latin-hypercube": "latin_hypercube", "saltelli": "sobol"}
SWEEP_KEYS = ("name", "description", "scenario", "until", "design", "samples", "replicates", "seed", "seeds")
LEVER_KEYS = ("low", "high", "values", "levels")
OUTCOME_KEYS = ("indicators", "years", "series")
TOP_KEYS = ("sweep", "levers", "set", "outcomes")
DEFAULT_LEVELS = 3


@dataclass(frozen=True)
class LeverRange:
    """One lever the sweep varies: a numeric range (`low`…`high`) or a list of `values`."""

    key: str
    """Key path, e.g. `rules.relocate.annual_quota_share`."""
    kind: str
    """"float", "int" or "bool" (from the rule's lever declaration)."""
    low: float | None = None
    high: float | None = None
    values: tuple[Any, ...] | None = None
    levels: int = DEFAULT_LEVELS

    @property
    def column(self) -> str:
        """The column name in design and result tables (also a valid `RegionModel` keyword)."""
        return self.key.replace(".", "__")

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map points of [0, 1) to lever values: stretched over the range, or picking from `values`."""
        u = np.clip(np.asarray(u, dtype=float), 0.0, np.nextafter(1.0, 0.0))
        if self.values is not None:
            index = np.floor(u * len(self.values)).astype(np.int64)
            return np.array([self.values[i] for i in index], dtype=self.numpy_dtype)
        assert self.low is not None and self.high is not None
        if self.kind == "int":
            span = int(self.high) - int(self.low) + 1
            return (int(self.low) + np.floor(u * span)).astype(np.int64)
        return self.low + u * (self.high - self.low)

    def grid(self) -> list[Any]:
        """The full-factorial levels: `values`, or `levels` evenly spaced numbers from low to high."""
        if self.values is not None:
            return list(self.values)
        assert self.low is not None and self.high is not None
        if self.kind == "int":
            points = np.unique(np.round(np.linspace(self.low, self.high, self.levels)).astype(np.int64))
            return [int(x) for x in points]
        return [float(x) for x in np.linspace(self.low, self.high, self.levels)]

    @property
    def numpy_dtype(self) -> Any:
        """The column's dtype."""
        return {"bool": np.bool_, "int": np.int64}.get(self.kind, np.float64)

    def describe(self) -> dict[str, Any]:
        """A JSON-able description (part of the fingerprint)."""
        return {"key": self.key, "kind": self.kind, "low": self.low, "high": self.high,
                "values": list(self.values) if self.values is not None else None, "levels": self.levels}


@dataclass
class SweepSpec:
    """A checked sweep file."""

    path: Path
    name: str
    scenario: str
    """The scenario reference given to `RegionModel` (a short name, or an absolute path)."""
    until: int
    base_year: int
    design: str
    samples: int
    replicates: int
    seed: int
    seeds: tuple[int, ...]
    levers: tuple[LeverRange, ...]
    fixed: dict[str, Any]
    indicators: tuple[str, ...]
    years: tuple[int, ...]
    series: tuple[str, ...]
    description: str = ""
    scenario_files: tuple[Path, ...] = field(default_factory=tuple)
    scenario_digest: str = ""
    """SHA-256 of the resolved scenario (base + variants + [set]) as data: comments and layout do not count."""

    # --- the design -----------------------------------------------------------------------------
    @property
    def n_points(self) -> int:
        """Distinct lever settings in the design."""
        k = len(self.levers)
        if self.design == "full_factorial":
            return math.prod(len(lever.grid()) for lever in self.levers)
        if self.design == "sobol":
            return self.samples * (k + 2)
        return self.samples

    @property
    def n_runs(self) -> int:
        """Points × replicate seeds."""
        return self.n_points * self.replicates

    def points(self) -> dict[str, np.ndarray]:
        """The design's lever values, one array per lever column, one entry per point.

        Sobol points follow Saltelli's scheme: for base sample j, the rows A_j, AB_j^1 … AB_j^k,
        B_j (AB_j^i is A_j with lever i taken from B_j), so block j spans rows j·(k+2) … j·(k+2)+k+1.
        """
        k = len(self.levers)
        if self.design == "full_factorial":
            grids = [lever.grid() for lever in self.levers]
            mesh = np.meshgrid(*[np.arange(len(g)) for g in grids], indexing="ij")
            return {lever.column: np.array([grid[i] for i in m.ravel()], dtype=lever.numpy_dtype)
                    for lever, grid, m in zip(self.levers, grids, mesh, strict=True)}
        from scipy.stats import qmc

        if self.design == "latin_hypercube":
            unit = qmc.LatinHypercube(d=k, seed=np.random.default_rng(self.seed)).random(self.samples)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "balance properties … power of 2": a note, not an error
                base = qmc.Sobol(d=2 * k, scramble=True, seed=np.random.default_rng(self.seed)).random(self.samples)
            a, b = base[:, :k], base[:, k:]
            blocks = np.empty((self.samples, k + 2, k))
            blocks[:, 0] = a
            for i in range(k):
                blocks[:, i + 1] = a
                blocks[:, i + 1, i] = b[:, i]
            blocks[:, k + 1] = b
            unit = blocks.reshape(-1, k)
        return {lever.column: lever.from_unit(unit[:, i]) for i, lever in enumerate(self.levers)}

    def design_table(self):
        """One row per run: run_id, point_id, replicate, seed, then every lever column (a DataFrame)."""
        import pandas as pd

        points = self.points()
        n, r = self.n_points, self.replicates
        point_id = np.repeat(np.arange(n, dtype=np.int64), r)
        replicate = np.tile(np.arange(r, dtype=np.int64), n)
        table = {"run_id": point_id * r + replicate, "point_id": point_id, "replicate": replicate,
                 "seed": np.array(self.seeds, dtype=np.int64)[replicate]}
        for column, values in points.items():
            table[column] = np.repeat(values, r)
        return pd.DataFrame(table)

    # --- what each run keeps -----------------------------------------------------------------------
    def outcome_columns(self) -> list[str]:
        """Scalar outcome columns: `<indicator>_<year>` for every indicator and year."""
        return [outcome_column(ind, year) for ind in self.indicators for year in self.years]

    def series_columns(self) -> list[str]:
        """List-valued columns holding whole yearly series."""
        return [f"{ind}_series" for ind in self.series]

    @property
    def series_years(self) -> list[int]:
        """The years a series column covers, in order."""
        return list(range(self.base_year, self.until + 1))

    def fixed_columns(self) -> dict[str, Any]:
        """Fixed key paths as columns (constant in every row), so a row alone says how to re-run it."""
        return fixed_columns(self.fixed)

    def describe(self) -> dict[str, Any]:
        """What decides the runs' outcomes, as JSON-able data (hashed by `fingerprint`)."""
        return {
            "scenario": self.scenario,
            "scenario_sha256": self.scenario_digest,
            "until": self.until,
            "design": self.design,
            "samples": self.samples,
            "replicates": self.replicates,
            "seed": self.seed,
            "seeds": list(self.seeds),
            "levers": [lever.describe() for lever in self.levers],
            "set": {k: self.fixed[k] for k in sorted(self.fixed)},
            "indicators": list(self.indicators),
            "years": list(self.years),
            "series": list(self.series),
        }

    def fingerprint(self) -> str:
        """SHA-256 over the description and the design table's bytes."""
        digest = hashlib.sha256(json.dumps(self.describe(), sort_keys=True, default=str).encode())
        table = self.design_table()
        for column in table.columns:
            digest.update(column.encode())
            digest.update(np.ascontiguousarray(table[column].to_numpy()).tobytes())
        return digest.hexdigest()


def fixed_columns(fixed: dict[str, Any]) -> dict[str, Any]:
    """`[set]` key paths as column names; a list or table value is kept as its JSON text."""
    return {key.replace(".", "__"): value if isinstance(value, (bool, int, float, str)) else json.dumps(value, sort_keys=True)
            for key, value in fixed.items()}


def outcome_column(indicator: str, year: int) -> str:
    """The result column of an indicator at a year."""
    return f"{indicator}_{year}"


def _data_sha256(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()


# --- reading and checking a sweep file -----------------------------------------------------------------


def _flatten_levers(table: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Lever entries may be quoted key paths or nested tables; a leaf is a table with low/high/values."""
    entries = []
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and not (set(value) & set(LEVER_KEYS)):
            entries.extend(_flatten_levers(value, f"{path}."))
        else:
            entries.append((path, value))
    return entries


def _flatten_set(table: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    entries = []
    for key, value in table.items():
        if isinstance(value, dict):
            entries.extend(_flatten_set(value, f"{prefix}{key}."))
        else:
            entries.append((f"{prefix}{key}", value))
    return entries


def _int(where: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UserError(f"{where} = {value!r}: must be a whole number ≥ {minimum}")
    return value


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and check a sweep file; every mistake is a `UserError` naming the file and key."""
    path = Path(path)
    if not path.is_file():
        from regionsim.model.scenario import SCENARIO_DIR

        shipped = SCENARIO_DIR / "sweeps" / f"{path}.toml"
        if shipped.is_file():
            path = shipped
        else:
            names = sorted(p.stem for p in (SCENARIO_DIR / "sweeps").glob("*.toml"))
            raise UserError(f"{path}: no such sweep file (shipped sweeps: {', '.join(names) or 'none'})")
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a valid TOML file: {exc}") from None
    f = str(path)
    for key in document:
        if key not in TOP_KEYS:
            raise UserError(f"{f}: unknown section [{key}]; valid sections: {', '.join(TOP_KEYS)}")
    sweep = document.get("sweep")
    if not isinstance(sweep, dict):
        raise UserError(f"{f}: missing [sweep] table (scenario, design, samples, replicates, seed)")
    for key in sweep:
        if key not in SWEEP_KEYS:
            raise UserError(f"{f}: sweep.{key}: unknown key; valid keys: {', '.join(SWEEP_KEYS)}")

    # scenario: resolve it, and read its base year and horizon
    from regionsim.model.scenario import find_scenario, load_scenario

    ref = sweep.get("scenario")
    if not isinstance(ref, str) or not ref:
        raise UserError(f"{f}: sweep.scenario: name a scenario or variant (e.g. \"capital_region\") or a .toml path")
    if ref.endswith(".toml") and not Path(ref).is_absolute():
        candidate = (path.parent / ref).resolve()
        ref = str(candidate) if candidate.is_file() else ref
    fixed_raw = document.get("set", {})
    if not isinstance(fixed_raw, dict):
        raise UserError(f"{f}: [set] must be a table of key paths and values")
    fixed = dict(_flatten_set(fixed_raw))
    try:
        find_scenario(ref)
        scenario = load_scenario(ref, fixed)
    except UserError as exc:
        raise UserError(f"{f}: sweep.scenario = {ref!r} with [set]: {exc}") from None
    base_year, horizon = scenario.base_year, scenario.horizon
    until = sweep.get("until", horizon)
    until = _int(f"{f}: sweep.until", until, base_year + 1)

    design = str(sweep.get("design", "latin_hypercube")).lower()
    design = DESIGN_ALIASES.get(design, design)
    if design not in DESIGNS:
        raise UserError(f"{f}: sweep.design = {sweep.get('design')!r}: valid designs: {', '.join(DESIGNS)}")
    replicates = _int(f"{f}: sweep.replicates", sweep.get("replicates", 1), 1)
    seed = _int(f"{f}: sweep.seed", sweep.get("seed", 0), 0)
    if "seeds" in sweep:
        seeds = sweep["seeds"]
        if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                                                for s in seeds):
            raise UserError(f"{f}: sweep.seeds: a non-empty list of whole numbers ≥ 0")
        if "replicates" in sweep and sweep["replicates"] != len(seeds):
            raise UserError(f"{f}: sweep.replicates = {sweep['replicates']} but sweep.seeds lists {len(seeds)} seeds")
        replicates = len(seeds)
    else:
        seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(replicates, dtype=np.uint32)]
    if design == "full_factorial":
        samples = 0
        if "samples" in sweep:
            raise UserError(f"{f}: sweep.samples: a full factorial design has no samples; give levels per lever")
    else:
        samples = _int(f"{f}: sweep.samples", sweep.get("samples"), 2 if design == "sobol" else 1) \
            if "samples" in sweep else None  # type: ignore[assignment]
        if samples is None:
            raise UserError(f"{f}: sweep.samples: how many points ({design} needs it)")

    levers = _check_levers(f, document.get("levers"), design, set(fixed))
    indicators, years, series = _check_outcomes(f, document.get("outcomes"), base_year, until, ref, fixed)
    name = str(sweep.get("name", path.stem))
    return SweepSpec(path=path.resolve(), name=name, scenario=ref, until=until, base_year=base_year, design=design,
                     samples=samples, replicates=replicates, seed=seed, seeds=tuple(seeds), levers=levers, fixed=fixed,
                     indicators=indicators, years=years, series=series, description=str(sweep.get("description", "")),
                     scenario_files=tuple(scenario.chain), scenario_digest=_data_sha256(scenario.data))


def _check_levers(f: str, table: Any, design: str, fixed: set[str]) -> tuple[LeverRange, ...]:
    from regionsim.model.rules import REGISTRY

    if not isinstance(table, dict) or not table:
        raise UserError(f"{f}: [levers] is missing or empty; e.g. \"rules.relocate.annual_quota_share\" = "
                        "{ low = 0.05, high = 0.4 }")
    levers = []
    for key, entry in _flatten_levers(table):
        where = f"{f}: levers.\"{key}\""
        parts = key.split(".")
        if len(parts) != 3 or parts[0] != "rules":
            raise UserError(f"{where}: a lever is rules.<rule>.<lever>, e.g. rules.relocate.annual_quota_share")
        rule, name = parts[1], parts[2]
        if rule not in REGISTRY:
            raise UserError(f"{where}: unknown rule {rule!r}; valid rules: {', '.join(REGISTRY)}")
        spec = REGISTRY[rule]
        lever = spec.lever(name) if name != "enabled" else None
        kind = "bool" if name == "enabled" else (lever.kind if lever else None)
        if kind is None:
            valid = ", ".join(["enabled", *(lv.name for lv in spec.levers)])
            raise UserError(f"{where}: rule {rule!r} has no lever {name!r}; valid levers: {valid}")
        if key in fixed:
            raise UserError(f"{where}: also fixed in [set]; a key is either varied or fixed")
        if not isinstance(entry, dict):
            raise UserError(f"{where}: give {{ low = …, high = … }} or {{ values = [ … ] }}")
        for k in entry:
            if k not in LEVER_KEYS:
                raise UserError(f"{where}.{k}: unknown key; valid keys: {', '.join(LEVER_KEYS)}")

        def check(value: Any, what: str, where: str = where, kind: str = kind, lever: Any = lever) -> None:
            _check_value(where, what, value, kind, lever)

        levels = entry.get("levels", DEFAULT_LEVELS)
        if "levels" in entry:
            levels = _int(f"{where}.levels", levels, 1)
            if design != "full_factorial":
                raise UserError(f"{where}.levels: only a full factorial design has levels ({design} samples the range)")
        if "values" in entry:
            if "low" in entry or "high" in entry or "levels" in entry:
                raise UserError(f"{where}: give either values or low/high, not both")
            values = entry["values"]
            if not isinstance(values, list) or not values:
                raise UserError(f"{where}.values: a non-empty list")
            for i, value in enumerate(values):
                check(value, f"values[{i}]")
            if kind == "float":
                values = [float(v) for v in values]
            if len(set(values)) != len(values):
                raise UserError(f"{where}.values: lists a value twice")
            levers.append(LeverRange(key, kind, values=tuple(values)))
            continue
        if kind == "bool":
            raise UserError(f"{where}: a switch takes values = [true, false], not a range")
        if "low" not in entry or "high" not in entry:
            raise UserError(f"{where}: give both low and high (the rule allows {lever.low:g}…{lever.high:g})")  # type: ignore[union-attr]
        low, high = entry["low"], entry["high"]
        check(low, "low")
        check(high, "high")
        if not low < high:
            raise UserError(f"{where}: low = {low!r} must be below high = {high!r}")
        levers.append(LeverRange(key, kind, low=float(low) if kind == "float" else int(low),
                                 high=float(high) if kind == "float" else int(high), levels=levels))
    if len({lever.key for lever in levers}) != len(levers):
        raise UserError(f"{f}: [levers] names a lever twice")
    return tuple(levers)


def _check_value(where: str, what: str, value: Any, kind: str, lever: Any) -> None:
    """Refuse a lever value outside the rule's declared range (or a non-boolean for a switch)."""
    if kind == "bool":
        problem = None if isinstance(value, bool) else "must be true or false"
    else:
        problem = lever.check(value)
    if problem:
        bounds = "" if kind == "bool" else f" (the rule's range: {lever.low:g}…{lever.high:g})"
        raise UserError(f"{where}.{what} = {value!r}: {problem}{bounds}")


def _check_outcomes(f: str, table: Any, base_year: int, until: int, ref: str,
                    fixed: dict[str, Any]) -> tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...]]:
    valid = indicator_names(ref, fixed)
    if not isinstance(table, dict):
        raise UserError(f"{f}: [outcomes] is missing; e.g. indicators = [\"pm25_population_weighted\"], years = [{until}]")
    for key in table:
        if key not in OUTCOME_KEYS:
            raise UserError(f"{f}: outcomes.{key}: unknown key; valid keys: {', '.join(OUTCOME_KEYS)}")
    indicators = table.get("indicators", [])
    series = table.get("series", [])
    for what, names in (("indicators", indicators), ("series", series)):
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise UserError(f"{f}: outcomes.{what}: a list of indicator names")
        for name in names:
            if name not in valid:
                import difflib

                close = difflib.get_close_matches(name, valid, n=3)
                hint = f" Did you mean {', '.join(close)}?" if close else ""
                raise UserError(f"{f}: outcomes.{what}: unknown indicator {name!r}.{hint} Valid: {', '.join(valid)}")
        if len(set(names)) != len(names):
            raise UserError(f"{f}: outcomes.{what}: names an indicator twice")
    if not indicators and not series:
        raise UserError(f"{f}: outcomes.indicators: name at least one indicator to keep")
    years = table.get("years", [until])
    if not isinstance(years, list) or not years or not all(isinstance(y, int) and not isinstance(y, bool) for y in years):
        raise UserError(f"{f}: outcomes.years: a non-empty list of years")
    for year in years:
        if not base_year <= year <= until:
            raise UserError(f"{f}: outcomes.years: {year} is outside the run ({base_year}…{until})")
    if len(set(years)) != len(years):
        raise UserError(f"{f}: outcomes.years: lists a year twice")
    return tuple(indicators), tuple(years), tuple(series)


def indicator_names(ref: str, fixed: dict[str, Any]) -> list[str]:
    """The model-level indicators a run of this scenario records (the keys of `outputs.model_row`)."""
    from regionsim.model.model import RegionModel

    model = RegionModel(ref, rng=0, record_functions=False, **fixed)
    return [key for key in model.summary if key != "year"]
