"""A sweep's folder: the design, the fingerprint, the result parts, and DuckDB views over them.

Picture a sweep folder as a ledger. `design.parquet` is the list of every run the sweep file asks
for (run_id, point, replicate, seed, input values) and `sweep.json` its fingerprint. Each finished
run becomes one row (its inputs, seed, outcomes, and `status`/`error`) in a small Parquet part file
under `parts/`, written beside its final name and renamed into place, so a reader sees a part
whole or not at all. Nothing else is kept in memory: rows are flushed every few seconds or every
few hundred runs, so a sweep of a million runs needs no more memory than one of a thousand.

Resuming is reading the ledger: the run ids already in a part are done; the rest are pending. A
folder made from a different design refuses the file.

`scenario.json` is the resolved scenario itself (base, variants and the sweep's `[set]` applied; its SHA-256
is the fingerprint's `scenario_sha256`), so `rerun` repeats any row from the folder alone, after the
scenario file has changed, moved or gone.

`sweep.duckdb` holds views that read all parts as one table (`runs`, deduplicated on run_id), plus
`runs_all`, `design` and `missing`. Their paths are relative to the sweep folder, so a moved or
copied folder still queries: `open_results(folder)` sets DuckDB's `file_search_path` to the folder;
in the DuckDB shell, start it inside the folder (`cd DIR && duckdb sweep.duckdb`) or run
`SET file_search_path = 'DIR'` first.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from regionsim.model.errors import UserError
from regionsim.model.io import fsync_dir
from regionsim.model.sweeps.spec import SweepSpec
from regionsim.model.sweeps.task import RUN_COLUMNS, RunTask, ScenarioPayload, install, make_task, run_one

FORMAT_VERSION = 1
SCENARIO_FILE = "scenario.json"
"""The resolved scenario document, as the workers received it."""
PART_ROWS = 500
"""Rows buffered before a part file is written."""
FLUSH_SECONDS = 2.0
"""…or seconds since the last part, whichever comes first (bounds what a killed driver loses). The interval
grows with the sweep's age (a thirtieth of it, at most `MAX_FLUSH_SECONDS`), so a sweep of many hours writes
hundreds of parts, not tens of thousands."""
MAX_FLUSH_SECONDS = 60.0
PARTS = "parts"
UNIT_PREFIX = "unit__"
"""Design columns holding a sampled design's point on the unit cube (what SALib's Morris analysis reads)."""


def result_schema(spec: SweepSpec):
    """The Arrow schema of every part file (the same for ok and failed rows)."""
    import pyarrow as pa

    fields = [pa.field(name, pa.int64()) for name in RUN_COLUMNS]
    arrow = {"float": pa.float64(), "int": pa.int64(), "bool": pa.bool_()}
    fields += [pa.field(lever.column, arrow[lever.kind]) for lever in spec.levers]
    for column, value in spec.fixed_columns().items():
        kind = (
            pa.bool_()
            if isinstance(value, bool)
            else pa.int64()
            if isinstance(value, int)
            else pa.float64()
            if isinstance(value, float)
            else pa.string()
        )
        fields.append(pa.field(column, kind))
    fields += [pa.field("status", pa.string()), pa.field("error", pa.string())]
    fields += [pa.field(column, pa.float64()) for column in spec.outcome_columns()]
    fields += [pa.field(column, pa.list_(pa.float64())) for column in spec.series_columns()]
    fields += [pa.field("elapsed_s", pa.float64()), pa.field("worker", pa.string())]
    return pa.schema(fields)


class SweepFolder:
    """A sweep's output folder: creates it, checks it against the file, lists what is done."""

    def __init__(self, root: Path, spec: SweepSpec):
        self.root = Path(root)
        self.spec = spec
        self.parts = self.root / PARTS
        self._lock_handle: Any = None

    def prepare(self) -> None:
        """Create or check the folder; take the lock; remove stale temporary parts."""
        root = self.root
        if root.exists() and not root.is_dir():
            raise UserError(f"{root}: exists and is not a folder")
        info_path = root / "sweep.json"
        fingerprint = self.spec.fingerprint()
        if root.is_dir() and any(root.iterdir()) and not info_path.exists():
            raise UserError(f"{root}: exists, is not empty and is not a sweep folder; choose another --out")
        try:
            self.parts.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"{root}: cannot create the sweep folder: {exc.strerror}") from None
        self._lock()
        if info_path.exists():
            info = json.loads(info_path.read_text(encoding="utf-8"))
            if info.get("fingerprint") != fingerprint:
                raise UserError(self._difference(info))
        else:
            self._write_design(fingerprint)
        if not (root / SCENARIO_FILE).exists():  # (a folder started before the scenario was kept in it)
            self._write_scenario()
        for stale in self.parts.glob(".*.tmp"):
            stale.unlink(missing_ok=True)

    def _difference(self, info: dict[str, Any]) -> str:
        old, new = info.get("describe", {}), self.spec.describe()
        changed = sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))
        if changed == ["scenario_sha256"]:
            what = "the scenario's data changed since this sweep started: " + ", ".join(str(p) for p in self.spec.scenario_files)
        elif changed:
            what = "the sweep file now differs in " + ", ".join(changed)
        else:
            what = "the design computed from the sweep file differs (another scipy/numpy version?)"
        return (
            f"{self.root}: holds a sweep with a different design ({what}); it was made from "
            f"{info.get('sweep_file')}. Resume it with the unchanged file, or choose another --out."
        )

    def _write_design(self, fingerprint: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        spec = self.spec
        table = spec.design_table()
        for column, value in spec.fixed_columns().items():
            table[column] = value
        table["scenario"] = spec.scenario
        table["until"] = spec.until
        if spec.design in ("sobol", "morris"):  # the sampled unit-cube points, for SALib's analyses
            unit = spec.unit_points()
            for i, lever in enumerate(spec.levers):
                table[f"{UNIT_PREFIX}{lever.column}"] = unit[:, i].repeat(spec.replicates)
        _atomic_write(self.root / "design.parquet", lambda tmp: pq.write_table(pa.Table.from_pandas(table, preserve_index=False), tmp))
        (self.root / "sweep.toml").write_bytes(spec.path.read_bytes())
        info = {
            "format_version": FORMAT_VERSION,
            "name": spec.name,
            "sweep_file": str(spec.path),
            "fingerprint": fingerprint,
            "describe": spec.describe(),
            "runs": spec.n_runs,
            "points": spec.n_points,
            "levers": [lever.column for lever in spec.levers],
            "lever_keys": [lever.key for lever in spec.levers],
            "outcomes": spec.outcome_columns(),
            "series": spec.series_columns(),
            "series_years": spec.series_years,
            "fixed": spec.fixed_columns(),
            "scenario": spec.scenario,
            "until": spec.until,
            "design": spec.design,
            "samples": spec.samples,
            "replicates": spec.replicates,
            "morris_levels": spec.morris_levels,
        }
        _atomic_write(
            self.root / "sweep.json", lambda tmp: Path(tmp).write_text(json.dumps(info, indent=2, default=str) + "\n", encoding="utf-8")
        )

    def _write_scenario(self) -> None:
        """`scenario.json`: the resolved document the workers run (it hashes to the sweep's `scenario_sha256`)."""
        spec = self.spec
        document = {"name": spec.scenario_name, "ref": spec.scenario, "sha256": spec.scenario_digest, "data": spec.scenario_data}
        text = json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False, default=str) + "\n"
        _atomic_write(self.root / SCENARIO_FILE, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))

    def _lock(self) -> None:
        import fcntl

        handle = open(self.root / ".lock", "a+")  # noqa: SIM115 - held for the driver's lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise UserError(f"{self.root}: another `regionsim sweep` is writing to this folder") from None
        self._lock_handle = handle

    def release(self) -> None:
        """Let another driver in."""
        if self._lock_handle is not None:
            self._lock_handle.close()
            self._lock_handle = None

    def done_run_ids(self) -> set[int]:
        """Run ids that already have a row in a part file (ok or failed)."""
        import pyarrow.parquet as pq

        done: set[int] = set()
        for part in sorted(self.parts.glob("part-*.parquet")):
            done.update(pq.read_table(part, columns=["run_id"]).column(0).to_pylist())
        return done

    def pending_tasks(self, done: set[int]) -> Iterator[RunTask]:
        """Tasks of the design rows without a result, in run-id order, read in batches."""
        import pyarrow.parquet as pq

        design = pq.ParquetFile(self.root / "design.parquet")
        for batch in design.iter_batches(batch_size=4096):
            for row in batch.to_pylist():
                if row["run_id"] not in done:
                    yield make_task(self.spec, row)


def _atomic_write(path: Path, write: Any) -> None:
    """Write via a hidden temporary name in the same folder, fsync, then rename into place."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(str(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


class PartWriter:
    """Buffers result rows and writes them as numbered part files, atomically."""

    def __init__(self, folder: SweepFolder, part_rows: int = PART_ROWS, flush_seconds: float = FLUSH_SECONDS):
        self.folder = folder
        self.schema = result_schema(folder.spec)
        self.part_rows = part_rows
        self.flush_seconds = flush_seconds
        self.session = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self.sequence = 0
        self.rows: list[dict[str, Any]] = []
        self.started = self.last_flush = time.monotonic()
        self.written = 0

    def add(self, row: dict[str, Any]) -> None:
        """Buffer one row; flush if the buffer is full or old."""
        self.rows.append(row)
        self.maybe_flush()

    def maybe_flush(self) -> None:
        """Flush when the buffer holds `part_rows` rows or the flush interval has passed."""
        if not self.rows:
            return
        now = time.monotonic()
        interval = min(max(self.flush_seconds, (now - self.started) / 30), max(self.flush_seconds, MAX_FLUSH_SECONDS))
        if len(self.rows) >= self.part_rows or now - self.last_flush >= interval:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows as one part file."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.last_flush = time.monotonic()
        if not self.rows:
            return
        rows, self.rows = self.rows, []
        self.sequence += 1
        path = self.folder.parts / f"part-{self.session}-{self.sequence:05d}.parquet"
        try:
            table = pa.Table.from_pylist(rows, schema=self.schema)
            _atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
        except BaseException:
            # Interrupted (Ctrl-C) or failed: if the part did not reach its name, its rows are still ours to
            # write; if it did, they are written and must not be written again.
            if not path.exists():
                self.rows = rows + self.rows
            raise
        self.written += len(rows)


DESIGN_VIEW = "CREATE OR REPLACE VIEW design AS SELECT * FROM read_parquet('{design}');"
RUNS_VIEW = """
CREATE OR REPLACE VIEW runs_all AS SELECT * FROM read_parquet('{parts}', union_by_name = true);
CREATE OR REPLACE VIEW runs AS
  SELECT * EXCLUDE (_rank) FROM (
    SELECT *, row_number() OVER (PARTITION BY run_id ORDER BY (status = 'ok') DESC, worker) AS _rank FROM runs_all
  ) WHERE _rank = 1;
{design_view}
CREATE OR REPLACE VIEW missing AS SELECT design.* FROM design ANTI JOIN runs USING (run_id);
"""


def _quote(text: str) -> str:
    return text.replace("'", "''")


def _views(root: Path | None = None, runs: bool = True) -> str:
    """The view definitions: paths relative to the sweep folder, or absolute under `root` when one is given."""
    parts, design = f"{PARTS}/part-*.parquet", "design.parquet"
    if root is not None:
        parts, design = (root / parts).as_posix(), (root / design).as_posix()
    design_view = DESIGN_VIEW.format(design=_quote(design))
    return RUNS_VIEW.format(parts=_quote(parts), design_view=design_view) if runs else design_view


def write_duckdb(root: Path) -> Path | None:
    """(Re)write `sweep.duckdb`: views `runs` (one row per run), `runs_all`, `design`, `missing`, with paths
    relative to the folder (query it from inside the folder, or after `SET file_search_path = 'DIR'`)."""
    root = Path(root)
    if not any((root / PARTS).glob("part-*.parquet")):
        return None
    target = root / "sweep.duckdb"
    tmp = root / f".sweep.duckdb.{uuid.uuid4().hex[:8]}.tmp"
    try:
        con = connect(root, tmp)  # the views are checked when made: relative paths must resolve now too
        con.execute(_views())
        con.close()
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    return target


def connect(folder: str | Path, database: str | Path = ":memory:", read_only: bool = False):
    """A DuckDB connection whose relative file paths resolve in the sweep folder (`file_search_path`)."""
    import duckdb

    con = duckdb.connect(str(database), read_only=read_only)
    con.execute(f"SET file_search_path = '{_quote(Path(folder).resolve().as_posix())}'")
    return con


def open_results(folder: str | Path):
    """An in-memory DuckDB connection with the views `runs`, `runs_all`, `design`, `missing` of the sweep in `folder`."""
    root = Path(folder)
    if not (root / "sweep.json").exists():
        raise UserError(f"{root}: not a sweep folder (no sweep.json); run `regionsim sweep FILE --out {root}` first")
    resolved = root.resolve()
    usable = "," not in resolved.as_posix()  # file_search_path is a comma-separated list
    con = connect(root) if usable else connect(Path.cwd())
    con.execute(_views(None if usable else resolved, runs=any((root / PARTS).glob("part-*.parquet"))))
    return con


def read_runs(folder: str | Path, status: str | None = None):
    """All result rows, one per run, ordered by run_id (a pandas DataFrame)."""
    root = Path(folder)
    if not any((root / PARTS).glob("part-*.parquet")):
        raise UserError(f"{root}: the sweep has no finished runs yet")
    con = open_results(root)
    where = f"WHERE status = '{status}'" if status else ""
    try:
        return con.execute(f"SELECT * FROM runs {where} ORDER BY run_id").df()
    finally:
        con.close()


def read_info(folder: str | Path) -> dict[str, Any]:
    """The folder's `sweep.json`."""
    path = Path(folder) / "sweep.json"
    if not path.exists():
        raise UserError(f"{folder}: not a sweep folder (no sweep.json)")
    return json.loads(path.read_text(encoding="utf-8"))


def read_scenario(folder: str | Path) -> ScenarioPayload | None:
    """The sweep's resolved scenario kept in the folder (`scenario.json`), checked against the fingerprint's
    digest; None for a folder made before it was kept."""
    from regionsim.model.sweeps.spec import data_sha256

    path = Path(folder) / SCENARIO_FILE
    if not path.exists():
        return None
    document = json.loads(path.read_text(encoding="utf-8"))
    expected = read_info(folder)["describe"].get("scenario_sha256", "")
    digest = data_sha256(document["data"])
    if digest != expected:
        raise UserError(f"{path}: its content does not match the sweep's scenario_sha256 {expected[:12]}… (edited or damaged?)")
    fixed = read_info(folder)["describe"].get("set", {})
    return ScenarioPayload(ref=document["ref"], name=document["name"], data=document["data"], digest=digest, fixed=dict(fixed))


def rerun(folder: str | Path, run_id: int) -> dict[str, Any]:
    """Re-run one row of a sweep from the folder alone (its design row and `scenario.json`); return its result row.

    A folder without `scenario.json` (made by an older regionsim) re-runs from the scenario reference instead."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    info = read_info(folder)
    payload = read_scenario(folder)
    table = pq.read_table(Path(folder) / "design.parquet")
    rows = table.filter(pc.equal(table["run_id"], run_id)).to_pylist()
    if not rows:
        raise UserError(f"{folder}: no run {run_id} (the design has run ids 0…{table.num_rows - 1})")
    row = rows[0]
    described = info["describe"]
    task = RunTask(
        run_id=int(row["run_id"]),
        point_id=int(row["point_id"]),
        replicate=int(row["replicate"]),
        seed=int(row["seed"]),
        scenario=row["scenario"],
        until=int(row["until"]),
        levers={column: row[column] for column in info["levers"]},
        fixed=dict(described["set"]),
        indicators=tuple(described["indicators"]),
        years=tuple(described["years"]),
        series=tuple(described["series"]),
        series_years=tuple(info["series_years"]),
        scenario_sha256=payload.digest if payload is not None else "",
    )
    if payload is not None:
        install(payload)  # the content, [set] applied: no file of the scenario is read
    return run_one(task)
