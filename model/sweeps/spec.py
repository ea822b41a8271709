"""A sweep file, read and checked, and the design it stands for.

A sweep is the EMA-Workbench picture of the model: a function from named inputs (rule parameters,
key paths such as `rules.relocate.annual_quota_share`) to named outcomes (model-level indicators at
chosen years). The inputs may be policy levers (choices a plan makes) or uncertainties (facts about
the world the model estimates); each rule lever declares its `role`, read from the rule registry
when a sweep is analysed. The sweep file says which base scenario or variant to start from, which
inputs to vary over which ranges or values, how to place the points, how many replicate seeds each
point gets, the horizon, and which outcomes to keep:

    [sweep]
    scenario = "capital_region"      # a scenario or variant name, or a path to a .toml file
    until = 2035                     # last simulated year (default: the scenario's horizon)
    design = "latin_hypercube"       # "full_factorial" | "latin_hypercube" | "sobol" | "morris"
    samples = 50                     # LHS: points; Sobol: base samples N, a power of two (N × (k + 2) points);
                                     # Morris: trajectories r (r × (k + 1) points)
    morris_levels = 4                # Morris only: grid levels per input (even, default 4)
    replicates = 4                   # seeds per point (common to all points)
    seed = 20250501                  # the design's own seed: points and replicate seeds follow from it

    [levers]                         # policy levers and uncertainties alike
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

Sobol and Morris points are SALib's samples (`SALib.sample.sobol` without second-order terms, and
`SALib.sample.morris`) drawn on the unit cube and mapped onto each input's range or values. The
design is a pure function of the file: the same file gives the same points, the same seeds and the
same run ids (`run_id = point × replicates + replicate`), in any process, so a resumed sweep computes
exactly the design it started with. `fingerprint()` hashes everything that decides what a run
computes, so a sweep folder can refuse a file that has changed under it.

Every problem of a file is reported at once (`SweepFileError`, a `ScenarioError`: exit status 2),
each with the file, the line where it can be found, the key path and what is valid.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from regionsim.model.errors import Problem, ScenarioError, UserError

DESIGNS = ("full_factorial", "latin_hypercube", "sobol", "morris")
DESIGN_ALIASES = {
    "factorial": "full_factorial",
    "full-factorial": "full_factorial",
    "lhs": "latin_hypercube",
    "latin-hypercube": "latin_hypercube",
    "saltelli": "sobol",
    "elementary_effects": "morris",
}
SWEEP_KEYS = ("name", "description", "scenario", "until", "design", "samples", "replicates", "seed", "seeds", "morris_levels")
LEVER_KEYS = ("low", "high", "values", "levels")
OUTCOME_KEYS = ("indicators", "years", "series")
TOP_KEYS = ("sweep", "levers", "set", "outcomes")
DEFAULT_LEVELS = 3
DEFAULT_MORRIS_LEVELS = 4
POLICY, UNCERTAINTY, UNKNOWN_ROLE = "policy", "uncertainty", "unknown"


class SweepFileError(ScenarioError):
    """A sweep file with one or more problems, all reported at once (a `ScenarioError`: exit status 2)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        count = len(problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the sweep file:"
        UserError.__init__(self, "\n".join([head, *(f"  {p}" for p in problems)]))


def lever_role(key: str) -> str:
    """ "policy" or "uncertainty" for a lever key path (dotted or `__` column form), read from the rule registry now.

    A rule's `enabled` switch is a policy choice. A key the registry no longer knows is "unknown".
    """
    from regionsim.model.rules import REGISTRY

    parts = key.replace("__", ".").split(".")
    if len(parts) != 3 or parts[0] != "rules" or parts[1] not in REGISTRY:
        return UNKNOWN_ROLE
    if parts[2] == "enabled":
        return POLICY
    lever = REGISTRY[parts[1]].lever(parts[2])
    return str(getattr(lever, "role", POLICY)) if lever is not None else UNKNOWN_ROLE


@dataclass(frozen=True)
class LeverRange:
    """One input the sweep varies: a numeric range (`low`…`high`) or a list of `values`."""

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

    @property
    def role(self) -> str:
        """ "policy" (a choice) or "uncertainty" (a fact about the world), from the rule registry."""
        return lever_role(self.key)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map points of [0, 1] to input values: stretched over the range, or picking from `values`."""
        u = np.asarray(u, dtype=float)
        if self.values is not None:
            index = np.floor(np.clip(u, 0.0, np.nextafter(1.0, 0.0)) * len(self.values)).astype(np.int64)
            return np.array([self.values[i] for i in index], dtype=self.numpy_dtype)
        assert self.low is not None and self.high is not None
        if self.kind == "int":
            span = int(self.high) - int(self.low) + 1
            return (int(self.low) + np.floor(np.clip(u, 0.0, np.nextafter(1.0, 0.0)) * span)).astype(np.int64)
        return self.low + np.clip(u, 0.0, 1.0) * (self.high - self.low)

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
        return {
            "key": self.key,
            "kind": self.kind,
            "low": self.low,
            "high": self.high,
            "values": list(self.values) if self.values is not None else None,
            "levels": self.levels,
        }


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
    morris_levels: int = DEFAULT_MORRIS_LEVELS
    scenario_name: str = ""
    """The resolved scenario's name (its file's stem)."""
    scenario_data: dict[str, Any] = field(default_factory=dict, repr=False)
    """The resolved scenario document itself (hashed as `scenario_digest`): what workers receive instead of a path."""

    # --- the design -----------------------------------------------------------------------------
    @property
    def n_points(self) -> int:
        """Distinct input settings in the design."""
        k = len(self.levers)
        if self.design == "full_factorial":
            return math.prod(len(lever.grid()) for lever in self.levers)
        if self.design == "sobol":
            return self.samples * (k + 2)
        if self.design == "morris":
            return self.samples * (k + 1)
        return self.samples

    @property
    def n_runs(self) -> int:
        """Points × replicate seeds."""
        return self.n_points * self.replicates

    def salib_problem(self) -> dict[str, Any]:
        """The SALib problem: every input on the unit interval (mapped onto its range by `LeverRange.from_unit`)."""
        return {"num_vars": len(self.levers), "names": [lever.column for lever in self.levers], "bounds": [[0.0, 1.0]] * len(self.levers)}

    def unit_points(self) -> np.ndarray | None:
        """The sampled designs' points on the unit cube, one row per point (None for a full factorial).

        Sobol points are SALib's Saltelli scheme without second-order terms: for base sample j, the
        rows A_j, AB_j^1 … AB_j^k, B_j (AB_j^i is A_j with input i taken from B_j), so block j spans
        rows j·(k+2) … j·(k+2)+k+1. Morris points are SALib's r trajectories of k+1 points each, one
        input changing by Δ = p / (2(p − 1)) per step on a p-level grid.
        """
        k = len(self.levers)
        if self.design == "full_factorial":
            return None
        if self.design == "latin_hypercube":
            from scipy.stats import qmc

            return qmc.LatinHypercube(d=k, seed=np.random.default_rng(self.seed)).random(self.samples)
        if self.design == "sobol":
            from SALib.sample import sobol

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # scipy's "balance properties": samples is checked to be a power of two
                return sobol.sample(self.salib_problem(), self.samples, calc_second_order=False, scramble=True, seed=self.seed)
        from SALib.sample import morris

        return morris.sample(self.salib_problem(), self.samples, num_levels=self.morris_levels, seed=self.seed)

    def points(self) -> dict[str, np.ndarray]:
        """The design's input values, one array per input column, one entry per point."""
        if self.design == "full_factorial":
            grids = [lever.grid() for lever in self.levers]
            mesh = np.meshgrid(*[np.arange(len(g)) for g in grids], indexing="ij")
            return {
                lever.column: np.array([grid[i] for i in m.ravel()], dtype=lever.numpy_dtype)
                for lever, grid, m in zip(self.levers, grids, mesh, strict=True)
            }
        unit = self.unit_points()
        assert unit is not None
        return {lever.column: lever.from_unit(unit[:, i]) for i, lever in enumerate(self.levers)}

    def design_table(self):
        """One row per run: run_id, point_id, replicate, seed, then every input column (a DataFrame)."""
        import pandas as pd

        points = self.points()
        n, r = self.n_points, self.replicates
        point_id = np.repeat(np.arange(n, dtype=np.int64), r)
        replicate = np.tile(np.arange(r, dtype=np.int64), n)
        table = {
            "run_id": point_id * r + replicate,
            "point_id": point_id,
            "replicate": replicate,
            "seed": np.array(self.seeds, dtype=np.int64)[replicate],
        }
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
        described = {
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
        if self.design == "morris":
            described["morris_levels"] = self.morris_levels
        return described

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
    return {
        key.replace(".", "__"): value if isinstance(value, (bool, int, float, str)) else json.dumps(value, sort_keys=True)
        for key, value in fixed.items()
    }


def outcome_column(indicator: str, year: int) -> str:
    """The result column of an indicator at a year."""
    return f"{indicator}_{year}"


def data_sha256(data: dict[str, Any]) -> str:
    """SHA-256 of a resolved scenario document as data (key order, comments and layout do not count)."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()


# --- reading and checking a sweep file -----------------------------------------------------------------


class _Problems:
    """Collects a sweep file's problems, each with the line where its key (or a given phrase) appears."""

    def __init__(self, file: str, text: str):
        self.file = file
        self.lines = text.splitlines()
        self.problems: list[Problem] = []

    def add(self, key: str, message: str, needle: str | None = None) -> None:
        """Record one problem at key path `key`; `needle` is the text to find its line by (default: the key's last part)."""
        self.problems.append(Problem(self.file, key, message, self.locate(key, needle)))

    def locate(self, key: str, needle: str | None = None) -> int | None:
        """Best-effort 1-based line of `key` (`section.name`, `levers."rules.x.y".low`, …) in the file."""
        section, _, rest = key.partition(".")
        substring = needle is not None
        if needle is None:
            quoted = re.match(r'"([^"]+)"', rest)
            needle = quoted.group(1) if quoted else rest.split(".")[0] if rest else None
        start = next((i for i, line in enumerate(self.lines) if line.strip().startswith(f"[{section}")), None)
        if needle is None:
            return None if start is None else start + 1
        pattern = re.compile(rf"^\s*\"?{re.escape(needle)}\"?\s*=")
        for i in range(start + 1 if start is not None else 0, len(self.lines)):
            line = self.lines[i]
            if start is not None and re.match(r"^\s*\[", line):
                break  # the next section
            if pattern.match(line) or (substring and needle in line):
                return i + 1
        return None if start is None else start + 1


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


def _whole(value: Any, minimum: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and value >= minimum


def find_sweep_file(path: str | Path) -> Path:
    """The sweep file at `path`, or the shipped sweep of that name (`scenarios/sweeps/NAME.toml`)."""
    path = Path(path)
    if path.is_file():
        return path
    from regionsim.model.scenario import SCENARIO_DIR

    shipped = SCENARIO_DIR / "sweeps" / f"{path}.toml"
    if shipped.is_file():
        return shipped
    names = sorted(p.stem for p in (SCENARIO_DIR / "sweeps").glob("*.toml"))
    raise UserError(f"{path}: no such sweep file (shipped sweeps: {', '.join(names) or 'none'})")


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and check a sweep file. Every problem is reported at once as a `SweepFileError` (file:line, key, what is valid)."""
    path = find_sweep_file(path)
    f = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        document = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise SweepFileError([Problem(f, "", f"not a UTF-8 text file: {exc}")]) from None
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+)", str(exc))
        line = getattr(exc, "lineno", None) or (int(found.group(1)) if found else None)
        raise SweepFileError([Problem(f, "", f"not valid TOML: {exc}", line)]) from None
    p = _Problems(f, text)
    for key in document:
        if key not in TOP_KEYS:
            p.add(key, f"unknown section [{key}]; valid sections: {', '.join(TOP_KEYS)}")
    sweep = document.get("sweep")
    if not isinstance(sweep, dict):
        p.add("sweep", "missing [sweep] table (scenario, design, samples, replicates, seed)")
        sweep = {}
    for key in sweep:
        if key not in SWEEP_KEYS:
            p.add(f"sweep.{key}", f"unknown key; valid keys: {', '.join(SWEEP_KEYS)}")

    fixed_raw = document.get("set", {})
    if not isinstance(fixed_raw, dict):
        p.add("set", "must be a table of key paths and values")
        fixed_raw = {}
    fixed = dict(_flatten_set(fixed_raw))
    ref, scenario = _check_scenario(p, path, sweep, fixed)
    context, context_fixed = scenario, fixed
    if scenario is None and ref is not None:
        context, context_fixed = _without_set(ref), {}  # [set] is wrong: check years and outcomes against the bare scenario
    base_year = context.base_year if context is not None else None
    until = _check_until(p, sweep, context, scenario is not None)
    design = _check_design(p, sweep)
    replicates, seed, seeds = _check_seeds(p, sweep)
    samples = _check_samples(p, sweep, design)
    morris_levels = _check_morris_levels(p, sweep, design)

    levers = _check_levers(p, document.get("levers"), design, set(fixed))
    indicators, years, series = _check_outcomes(p, document.get("outcomes"), base_year, until, ref, context_fixed, context is not None)
    if p.problems:
        raise SweepFileError(p.problems)
    assert scenario is not None and until is not None and ref is not None
    name = str(sweep.get("name", path.stem))
    return SweepSpec(
        path=path.resolve(),
        name=name,
        scenario=ref,
        until=until,
        base_year=scenario.base_year,
        design=design,
        samples=samples,
        replicates=replicates,
        seed=seed,
        seeds=tuple(seeds),
        levers=levers,
        fixed=fixed,
        indicators=indicators,
        years=years,
        series=series,
        description=str(sweep.get("description", "")),
        scenario_files=tuple(scenario.chain),
        scenario_digest=data_sha256(scenario.data),
        morris_levels=morris_levels,
        scenario_name=scenario.name,
        scenario_data=scenario.data,
    )


def _check_scenario(p: _Problems, path: Path, sweep: dict[str, Any], fixed: dict[str, Any]) -> tuple[str | None, Any]:
    """Resolve `sweep.scenario` with `[set]` applied; (reference, Scenario) or (…, None) after recording why not."""
    from regionsim.model.scenario import find_scenario, load_scenario

    ref = sweep.get("scenario")
    if not isinstance(ref, str) or not ref:
        p.add("sweep.scenario", 'name a scenario or variant (e.g. "capital_region") or a .toml path')
        return None, None
    if ref.endswith(".toml") and not Path(ref).is_absolute():
        candidate = (path.parent / ref).resolve()
        ref = str(candidate) if candidate.is_file() else ref
    try:
        find_scenario(ref)
        return ref, load_scenario(ref, fixed)
    except ScenarioError as exc:
        for problem in exc.problems:
            if problem.file == "--set" or problem.key in fixed:  # a [set] entry of this sweep file
                p.add(f'set."{problem.key}"', problem.message, needle=problem.key)
            else:
                p.problems.append(Problem(problem.file, problem.key, f"{problem.message} (scenario of this sweep: {ref})", problem.line))
    except UserError as exc:
        p.add("sweep.scenario", f"= {ref!r}: {exc}")
    return ref, None


def _check_until(p: _Problems, sweep: dict[str, Any], context: Any, loaded: bool) -> int | None:
    """`sweep.until` (default: the horizon of `context`, the scenario the years are checked against); None if wrong.

    Checked when the file gives it or the scenario (with [set]) loaded (`loaded`).
    """
    base_year, horizon = (context.base_year, context.horizon) if context is not None else (None, None)
    until = sweep.get("until", horizon)
    if "until" in sweep or loaded:
        minimum = (base_year + 1) if base_year is not None else 1
        if not _whole(until, minimum):
            p.add("sweep.until", f"= {until!r}: must be a whole year ≥ {minimum} (the year after the scenario's base year)")
            return None
    return until


def _check_design(p: _Problems, sweep: dict[str, Any]) -> str:
    """`sweep.design`, lower-cased with aliases resolved (reported if it is no design)."""
    design = str(sweep.get("design", "latin_hypercube")).lower()
    design = DESIGN_ALIASES.get(design, design)
    if design not in DESIGNS:
        p.add("sweep.design", f"= {sweep.get('design')!r}: valid designs: {', '.join(DESIGNS)}")
    return design


def _check_morris_levels(p: _Problems, sweep: dict[str, Any], design: str) -> int:
    """`sweep.morris_levels`: only for a Morris design, an even whole number ≥ 2 (the default when it is not)."""
    morris_levels = sweep.get("morris_levels", DEFAULT_MORRIS_LEVELS)
    if "morris_levels" in sweep and design != "morris":
        p.add("sweep.morris_levels", f"only a Morris design has grid levels (this design is {design})")
    elif not _whole(morris_levels, 2) or morris_levels % 2:
        p.add("sweep.morris_levels", f"= {morris_levels!r}: an even whole number ≥ 2 (4 is usual)")
        morris_levels = DEFAULT_MORRIS_LEVELS
    return morris_levels


def _without_set(ref: str) -> Any:
    """The scenario without the sweep's [set] (None if it does not load either)."""
    from regionsim.model.scenario import load_scenario

    try:
        return load_scenario(ref)
    except UserError:
        return None


def _check_seeds(p: _Problems, sweep: dict[str, Any]) -> tuple[int, int, list[int]]:
    replicates = sweep.get("replicates", 1)
    if not _whole(replicates, 1):
        p.add("sweep.replicates", f"= {replicates!r}: must be a whole number ≥ 1")
        replicates = 1
    seed = sweep.get("seed", 0)
    if not _whole(seed, 0):
        p.add("sweep.seed", f"= {seed!r}: must be a whole number ≥ 0")
        seed = 0
    if "seeds" in sweep:
        seeds = sweep["seeds"]
        if not isinstance(seeds, list) or not seeds or not all(_whole(s, 0) for s in seeds):
            p.add("sweep.seeds", "a non-empty list of whole numbers ≥ 0")
            return replicates, seed, [0] * replicates
        if "replicates" in sweep and sweep["replicates"] != len(seeds):
            p.add("sweep.replicates", f"= {sweep['replicates']} but sweep.seeds lists {len(seeds)} seeds")
        return len(seeds), seed, list(seeds)
    return replicates, seed, [int(s) for s in np.random.SeedSequence(seed).generate_state(replicates, dtype=np.uint32)]


def _check_samples(p: _Problems, sweep: dict[str, Any], design: str) -> int:
    if design == "full_factorial":
        if "samples" in sweep:
            p.add("sweep.samples", "a full factorial design has no samples; give levels per lever")
        return 0
    if "samples" not in sweep:
        p.add("sweep", f"sweep.samples is missing: how many {'trajectories' if design == 'morris' else 'points'} ({design} needs it)")
        return 2
    samples = sweep["samples"]
    minimum = 2 if design in ("sobol", "morris") else 1
    if not _whole(samples, minimum):
        p.add("sweep.samples", f"= {samples!r}: must be a whole number ≥ {minimum}")
        return 2
    if design == "sobol" and samples & (samples - 1):
        below = 1 << (samples.bit_length() - 1)
        p.add("sweep.samples", f"= {samples}: a Sobol design needs a power of two base samples (e.g. {below} or {below * 2})")
    return samples


def _check_levers(p: _Problems, table: Any, design: str, fixed: set[str]) -> tuple[LeverRange, ...]:
    if not isinstance(table, dict) or not table:
        p.add("levers", '[levers] is missing or empty; e.g. "rules.relocate.annual_quota_share" = { low = 0.05, high = 0.4 }')
        return ()
    levers = []
    for key, entry in _flatten_levers(table):
        lever = _check_lever(p, key, entry, design, fixed)
        if lever is not None:
            levers.append(lever)
    if len({lever.key for lever in levers}) != len(levers):
        p.add("levers", "names a lever twice")
    return tuple(levers)


def _check_lever(p: _Problems, key: str, entry: Any, design: str, fixed: set[str]) -> LeverRange | None:  # noqa: C901
    """One `[levers]` entry, checked against the rule's declaration; None (and problems recorded) when it is wrong."""
    from regionsim.model.rules import REGISTRY

    where = f'levers."{key}"'
    parts = key.split(".")
    if len(parts) != 3 or parts[0] != "rules":
        p.add(where, "a lever is rules.<rule>.<lever>, e.g. rules.relocate.annual_quota_share", needle=key)
        return None
    rule, name = parts[1], parts[2]
    if rule not in REGISTRY:
        p.add(where, f"unknown rule {rule!r}; valid rules: {', '.join(REGISTRY)}", needle=key)
        return None
    spec = REGISTRY[rule]
    declared = spec.lever(name) if name != "enabled" else None
    kind = "bool" if name == "enabled" else (declared.kind if declared else None)
    if kind is None:
        valid = ", ".join(["enabled", *(lv.name for lv in spec.levers)])
        p.add(where, f"rule {rule!r} has no lever {name!r}; valid levers: {valid}", needle=key)
        return None
    before = len(p.problems)
    if key in fixed:
        p.add(where, "also fixed in [set]; a key is either varied or fixed", needle=key)
    if not isinstance(entry, dict):
        p.add(where, "give { low = …, high = … } or { values = [ … ] }", needle=key)
        return None
    for k in entry:
        if k not in LEVER_KEYS:
            p.add(f"{where}.{k}", f"unknown key; valid keys: {', '.join(LEVER_KEYS)}", needle=key)

    def check(value: Any, what: str) -> bool:
        problem = ("must be true or false" if not isinstance(value, bool) else None) if kind == "bool" else declared.check(value)
        if problem:
            bounds = "" if kind == "bool" else f" (the rule's range: {declared.low:g}…{declared.high:g})"
            p.add(f"{where}.{what}", f"= {value!r}: {problem}{bounds}", needle=key)
        return problem is None

    levels = entry.get("levels", DEFAULT_LEVELS)
    if "levels" in entry:
        if not _whole(levels, 1):
            p.add(f"{where}.levels", f"= {levels!r}: must be a whole number ≥ 1", needle=key)
            levels = DEFAULT_LEVELS
        if design != "full_factorial":
            p.add(f"{where}.levels", f"only a full factorial design has levels ({design} samples the range)", needle=key)
    if "values" in entry:
        if "low" in entry or "high" in entry or "levels" in entry:
            p.add(where, "give either values or low/high, not both", needle=key)
        values = entry["values"]
        if not isinstance(values, list) or not values:
            p.add(f"{where}.values", "a non-empty list", needle=key)
            return None
        if not all([check(value, f"values[{i}]") for i, value in enumerate(values)]):  # noqa: C419 - report every value
            return None
        if kind == "float":
            values = [float(v) for v in values]
        if len(set(values)) != len(values):
            p.add(f"{where}.values", "lists a value twice", needle=key)
        return LeverRange(key, kind, values=tuple(values)) if len(p.problems) == before else None
    if kind == "bool":
        p.add(where, "a switch takes values = [true, false], not a range", needle=key)
        return None
    if "low" not in entry or "high" not in entry:
        p.add(where, f"give both low and high (the rule allows {declared.low:g}…{declared.high:g})", needle=key)
        return None
    low, high = entry["low"], entry["high"]
    if not (check(low, "low") & check(high, "high")):
        return None
    if not low < high:
        p.add(where, f"low = {low!r} must be below high = {high!r}", needle=key)
    if len(p.problems) != before:
        return None
    as_kind = float if kind == "float" else int
    return LeverRange(key, kind, low=as_kind(low), high=as_kind(high), levels=levels)


def _check_outcomes(
    p: _Problems, table: Any, base_year: int | None, until: int | None, ref: str | None, fixed: dict[str, Any], scenario_ok: bool
) -> tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...]]:
    if not isinstance(table, dict):
        p.add("outcomes", f'[outcomes] is missing; e.g. indicators = ["pm25_population_weighted"], years = [{until or 2035}]')
        return (), (), ()
    valid = indicator_names(ref, fixed) if scenario_ok and ref else None
    for key in table:
        if key not in OUTCOME_KEYS:
            p.add(f"outcomes.{key}", f"unknown key; valid keys: {', '.join(OUTCOME_KEYS)}")
    lists: dict[str, list[str]] = {}
    for what in ("indicators", "series"):
        names = table.get(what, [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            p.add(f"outcomes.{what}", "a list of indicator names")
            names = []
        for name in names:
            if valid is not None and name not in valid:
                close = difflib.get_close_matches(name, valid, n=3)
                hint = f" Did you mean {', '.join(close)}?" if close else ""
                p.add(f"outcomes.{what}", f"unknown indicator {name!r}.{hint} Valid: {', '.join(valid)}", needle=f'"{name}"')
        if len(set(names)) != len(names):
            p.add(f"outcomes.{what}", "names an indicator twice")
        lists[what] = names
    if not lists["indicators"] and not lists["series"]:
        p.add("outcomes.indicators", "name at least one indicator to keep")
    years = table.get("years", [until])
    if not isinstance(years, list) or not years or not all(_whole(y, 0) for y in years):
        if "years" in table or until is not None:
            p.add("outcomes.years", "a non-empty list of years")
        years = []
    for year in years:
        if base_year is not None and until is not None and not base_year <= year <= until:
            p.add("outcomes.years", f"{year} is outside the run ({base_year}…{until})")
    if len(set(years)) != len(years):
        p.add("outcomes.years", "lists a year twice")
    return tuple(lists["indicators"]), tuple(years), tuple(lists["series"])


def indicator_names(ref: str, fixed: dict[str, Any]) -> list[str]:
    """The model-level indicators a run of this scenario records (the keys of `outputs.model_row`)."""
    from regionsim.model.model import RegionModel

    model = RegionModel(ref, rng=0, record_functions=False, **fixed)
    return [key for key in model.summary if key != "year"]
