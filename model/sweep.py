"""Batch parameter sweeps: many runs of one scenario, streamed to Parquet, resumable, local or on Dask.

Picture a sweep folder as a ledger. `design.parquet` is the list of every run the sweep file asks
for (run_id, point, replicate, seed, lever values) and `sweep.json` its fingerprint. Each finished
run becomes one row (its levers, seed, outcomes, and `status`/`error`) in a small Parquet part file
under `parts/`, written beside its final name and renamed into place, so a reader sees a part
whole or not at all. Nothing else is kept in memory: rows are flushed every few seconds or every
few hundred runs, so a sweep of a million runs needs no more memory than one of a thousand.
`sweep.duckdb` holds views that read all parts as one table (`runs`, deduplicated on run_id).

Resuming is reading the ledger: the run ids already in a part are done; the rest are submitted.
A killed driver loses at most the rows not yet flushed; a run whose worker process died is
submitted again (up to `MAX_ATTEMPTS` times); a run that raises is recorded as a `failed` row with
its error, and the sweep goes on. A folder made from a different design refuses the file.

Runs go to local processes (`--workers N`, a process pool forked from a server that has the model
imported) or to a Dask distributed cluster (`--scheduler tcp://host:port`). Either way a run is
`run_one(task)`: `RegionModel(scenario, rng=seed, until=…, **levers)` — exactly what
`rerun(folder, run_id)` does, so any row can be reproduced alone.

    regionsim sweep scenarios/sweeps/capital_lhs.toml --out sweeps/capital_lhs
    regionsim analyze sweeps/capital_lhs
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
import uuid
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from regionsim.model.errors import UserError
from regionsim.model.io import fsync_dir
from regionsim.model.sweep_spec import SweepSpec, fixed_columns, load_sweep, outcome_column

FORMAT_VERSION = 1
MAX_ATTEMPTS = 3
"""A run whose worker died this many times is recorded as failed."""
PART_ROWS = 500
"""Rows buffered before a part file is written."""
FLUSH_SECONDS = 2.0
"""…or seconds since the last part, whichever comes first (bounds what a killed driver loses). The interval
grows with the sweep's age (a thirtieth of it, at most `MAX_FLUSH_SECONDS`), so a sweep of many hours writes
hundreds of parts, not tens of thousands."""
MAX_FLUSH_SECONDS = 60.0
PARTS = "parts"
RUN_COLUMNS = ("run_id", "point_id", "replicate", "seed")
STATUS_OK, STATUS_FAILED = "ok", "failed"


# --- one run (executed on a worker) -----------------------------------------------------------------


def make_task(spec: SweepSpec, row: dict[str, Any]) -> dict[str, Any]:
    """What a worker needs to compute one run: the design row plus the sweep's fixed settings."""
    levers = {lever.column: _plain(row[lever.column]) for lever in spec.levers}
    return {
        "run_id": int(row["run_id"]), "point_id": int(row["point_id"]), "replicate": int(row["replicate"]),
        "seed": int(row["seed"]), "scenario": spec.scenario, "until": spec.until, "levers": levers,
        "fixed": dict(spec.fixed), "indicators": list(spec.indicators), "years": list(spec.years),
        "series": list(spec.series),
    }


def _plain(value: Any) -> Any:
    """numpy scalars to Python ones (for keyword arguments and JSON)."""
    return value.item() if hasattr(value, "item") else value


def run_one(task: dict[str, Any]) -> dict[str, Any]:
    """Run one design row and return its result row. Never raises for a model error: the row says so."""
    started = time.perf_counter()
    row: dict[str, Any] = {key: task[key] for key in RUN_COLUMNS}
    row.update(task["levers"])
    row.update(fixed_columns(task["fixed"]))
    try:
        row.update(simulate(task))
        row["status"], row["error"] = STATUS_OK, None
    except Exception as exc:  # a failing run is data, not the end of the sweep
        row["status"] = STATUS_FAILED
        row["error"] = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exc(limit=-3))
    row["elapsed_s"] = time.perf_counter() - started
    row["worker"] = f"{os.uname().nodename}:{os.getpid()}"
    return row


def simulate(task: dict[str, Any]) -> dict[str, Any]:
    """Build and run the model for one task; return its outcome columns."""
    from regionsim.model.model import RegionModel

    model = RegionModel(task["scenario"], rng=task["seed"], until=task["until"], record_functions=False,
                        **task["fixed"], **task["levers"])
    model.run()
    series = model.datacollector.model_vars
    years = [int(y) for y in series["year"]]
    index = {year: i for i, year in enumerate(years)}
    outcomes: dict[str, Any] = {}
    for indicator in task["indicators"]:
        values = series[indicator]
        for year in task["years"]:
            outcomes[outcome_column(indicator, year)] = float(values[index[year]])
    for indicator in task["series"]:
        outcomes[f"{indicator}_series"] = [float(v) for v in series[indicator]]
    return outcomes


# --- the folder: design, fingerprint, parts -----------------------------------------------------------


def result_schema(spec: SweepSpec):
    """The Arrow schema of every part file (the same for ok and failed rows)."""
    import pyarrow as pa

    fields = [pa.field(name, pa.int64()) for name in RUN_COLUMNS]
    arrow = {"float": pa.float64(), "int": pa.int64(), "bool": pa.bool_()}
    fields += [pa.field(lever.column, arrow[lever.kind]) for lever in spec.levers]
    for column, value in spec.fixed_columns().items():
        kind = pa.bool_() if isinstance(value, bool) else pa.int64() if isinstance(value, int) else \
            pa.float64() if isinstance(value, float) else pa.string()
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
        for stale in self.parts.glob(".*.tmp"):
            stale.unlink(missing_ok=True)

    def _difference(self, info: dict[str, Any]) -> str:
        old, new = info.get("describe", {}), self.spec.describe()
        changed = sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))
        if changed == ["scenario_sha256"]:
            what = ("the scenario's data changed since this sweep started: "
                    + ", ".join(str(p) for p in self.spec.scenario_files))
        elif changed:
            what = "the sweep file now differs in " + ", ".join(changed)
        else:
            what = "the design computed from the sweep file differs (another scipy/numpy version?)"
        return (f"{self.root}: holds a sweep with a different design ({what}); it was made from "
                f"{info.get('sweep_file')}. Resume it with the unchanged file, or choose another --out.")

    def _write_design(self, fingerprint: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        spec = self.spec
        table = spec.design_table()
        for column, value in spec.fixed_columns().items():
            table[column] = value
        table["scenario"] = spec.scenario
        table["until"] = spec.until
        _atomic_write(self.root / "design.parquet",
                      lambda tmp: pq.write_table(pa.Table.from_pandas(table, preserve_index=False), tmp))
        (self.root / "sweep.toml").write_bytes(spec.path.read_bytes())
        info = {
            "format_version": FORMAT_VERSION, "name": spec.name, "sweep_file": str(spec.path),
            "fingerprint": fingerprint, "describe": spec.describe(), "runs": spec.n_runs, "points": spec.n_points,
            "levers": [lever.column for lever in spec.levers], "lever_keys": [lever.key for lever in spec.levers],
            "outcomes": spec.outcome_columns(), "series": spec.series_columns(), "series_years": spec.series_years,
            "fixed": spec.fixed_columns(), "scenario": spec.scenario, "until": spec.until, "design": spec.design,
            "samples": spec.samples, "replicates": spec.replicates,
        }
        _atomic_write(self.root / "sweep.json",
                      lambda tmp: Path(tmp).write_text(json.dumps(info, indent=2, default=str) + "\n", encoding="utf-8"))

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

    def pending_tasks(self, done: set[int]) -> Iterator[dict[str, Any]]:
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


# --- executors ---------------------------------------------------------------------------------------


def failed_row(task: dict[str, Any], error: str) -> dict[str, Any]:
    """A failed result row for a task that never returned (its worker died too often)."""
    row = {key: task[key] for key in RUN_COLUMNS}
    row.update(task["levers"])
    row.update(fixed_columns(task["fixed"]))
    row.update({"status": STATUS_FAILED, "error": error, "elapsed_s": None, "worker": None})
    return row


def _worker_init(driver_pid: int) -> None:
    """In each local worker: exit when the driver is gone (killed with SIGKILL, say), instead of waiting
    forever for work that will not come. (The fork server outlives the driver while its children hold
    its pipe, so a worker cannot rely on its parent dying.)"""
    import threading

    def watch() -> None:
        while _alive(driver_pid):
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="regionsim-driver-watch").start()


def _alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _window(workers: int) -> int:
    return max(4, 4 * workers)


def run_local(tasks: Iterator[dict[str, Any]], workers: int, on_row: Any, runner: Any = None) -> None:
    """Run tasks in local worker processes; recover from a worker that dies by rebuilding the pool."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    runner = runner or run_one
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["regionsim.model.sweep", "regionsim.model.model"])
    retry: deque[tuple[dict[str, Any], int]] = deque()
    in_flight: dict[Any, tuple[dict[str, Any], int]] = {}
    tasks = iter(tasks)
    exhausted = False
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_init, initargs=(os.getpid(),))
    try:
        while True:
            broken = False
            while len(in_flight) < _window(workers) and not broken:
                if retry:
                    task, attempt = retry.popleft()
                elif not exhausted:
                    task = next(tasks, None)
                    if task is None:
                        exhausted = True
                        continue
                    attempt = 1
                else:
                    break
                try:
                    in_flight[pool.submit(runner, task)] = (task, attempt)
                except BrokenProcessPool:
                    retry.appendleft((task, attempt))
                    broken = True
            if not in_flight and not broken:
                break
            finished, _ = wait(list(in_flight), timeout=0.5, return_when=FIRST_COMPLETED)
            for future in finished:
                task, attempt = in_flight.pop(future)
                try:
                    on_row(future.result())
                except BrokenProcessPool:
                    broken = True
                    _retry_or_fail(task, attempt, retry, on_row, "a worker process died")
            if not finished:
                on_row(None)  # a tick: lets the writer flush on time
            if broken:
                for task, attempt in list(in_flight.values()):
                    _retry_or_fail(task, attempt, retry, on_row, "a worker process died")
                in_flight.clear()
                pool.shutdown(wait=True, cancel_futures=True)
                pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_init, initargs=(os.getpid(),))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _retry_or_fail(task: dict[str, Any], attempt: int, retry: deque, on_row: Any, why: str) -> None:
    if attempt >= MAX_ATTEMPTS:
        on_row(failed_row(task, f"{why} on each of {attempt} attempts"))
    else:
        retry.append((task, attempt + 1))


def run_dask(tasks: Iterator[dict[str, Any]], address: str, on_row: Any, runner: Any = None,
             connect_timeout: float = 20.0) -> None:
    """Run tasks on a Dask distributed cluster; resubmit a run lost with its worker."""
    from distributed import Client, as_completed
    from distributed.scheduler import KilledWorker

    runner = runner or run_one
    try:
        client = Client(address, timeout=connect_timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise UserError(f"--scheduler {address}: cannot reach a Dask scheduler there ({exc})") from None
    try:
        workers = max(1, sum(client.nthreads().values()))
        stamp = uuid.uuid4().hex[:8]
        tasks = iter(tasks)
        meta: dict[Any, tuple[dict[str, Any], int]] = {}

        def submit(task: dict[str, Any], attempt: int) -> Any:
            future = client.submit(runner, task, key=f"regionsim-run-{stamp}-{task['run_id']}-{attempt}", pure=False)
            meta[future] = (task, attempt)
            return future

        initial = []
        for task in tasks:
            initial.append(submit(task, 1))
            if len(initial) >= _window(workers):
                break
        queue = as_completed(initial, loop=client.loop, with_results=False)
        retry: deque[tuple[dict[str, Any], int]] = deque()
        while not queue.is_empty() or retry:
            while retry:
                queue.add(submit(*retry.popleft()))
            if queue.is_empty():
                continue
            future = next(queue)
            task, attempt = meta.pop(future)
            try:
                on_row(future.result())
            except KilledWorker:
                _retry_or_fail(task, attempt, retry, on_row, "the Dask worker running it died")
            except Exception as exc:  # lost connection, cancelled: try again, a few times
                _retry_or_fail(task, attempt, retry, on_row, f"{type(exc).__name__}: {exc}")
            future.release()
            nxt = next(tasks, None)
            if nxt is not None:
                queue.add(submit(nxt, 1))
    finally:
        client.close()


# --- the driver --------------------------------------------------------------------------------------


def run_sweep(spec_or_file: SweepSpec | str | Path, out: Path, *, workers: int | None = None, scheduler: str | None = None,
              progress: bool = True, part_rows: int = PART_ROWS, flush_seconds: float = FLUSH_SECONDS,
              runner: Any = None, connect_timeout: float = 20.0) -> dict[str, Any]:
    """Run (or finish) a sweep into folder `out`; return a summary (runs, new, failed, seconds)."""
    import duckdb  # noqa: F401 - imported now, not at the end, where a Ctrl-C inside its import aborts the process
    import pyarrow.parquet  # noqa: F401

    spec = spec_or_file if isinstance(spec_or_file, SweepSpec) else load_sweep(spec_or_file)
    folder = SweepFolder(Path(out), spec)
    folder.prepare()
    started = time.perf_counter()
    try:
        done = folder.done_run_ids()
        total = spec.n_runs
        todo = total - len(done)
        summary = {"runs": total, "done_before": len(done), "new": 0, "failed_new": 0}
        if todo > 0:
            writer = PartWriter(folder, part_rows=part_rows, flush_seconds=flush_seconds)
            bar = _progress_bar(total, len(done), spec.name, enabled=progress)

            def on_row(row: dict[str, Any] | None) -> None:
                if row is not None:
                    writer.add(row)
                    summary["new"] += 1
                    summary["failed_new"] += row["status"] != STATUS_OK
                    bar.update(1)
                else:
                    writer.maybe_flush()

            try:
                tasks = folder.pending_tasks(done)
                if scheduler:
                    run_dask(tasks, scheduler, on_row, runner, connect_timeout)
                else:
                    run_local(tasks, workers or os.cpu_count() or 1, on_row, runner)
            finally:
                writer.flush()  # keep every finished row, also on Ctrl-C
                bar.close()
        write_duckdb(folder.root)
    finally:
        folder.release()
    summary["seconds"] = time.perf_counter() - started
    return summary


def _progress_bar(total: int, initial: int, name: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="run", desc=name, disable=not enabled, smoothing=0.1,
                dynamic_ncols=True, file=sys.stderr)


# --- reading results ---------------------------------------------------------------------------------


RUNS_VIEW = """
CREATE OR REPLACE VIEW runs_all AS SELECT * FROM read_parquet('{parts}', union_by_name = true);
CREATE OR REPLACE VIEW runs AS
  SELECT * EXCLUDE (_rank) FROM (
    SELECT *, row_number() OVER (PARTITION BY run_id ORDER BY (status = 'ok') DESC, worker) AS _rank FROM runs_all
  ) WHERE _rank = 1;
CREATE OR REPLACE VIEW design AS SELECT * FROM read_parquet('{design}');
CREATE OR REPLACE VIEW missing AS SELECT design.* FROM design ANTI JOIN runs USING (run_id);
"""


def _views(root: Path) -> str:
    root = root.resolve()
    parts = (root / PARTS / "part-*.parquet").as_posix().replace("'", "''")
    design = (root / "design.parquet").as_posix().replace("'", "''")
    return RUNS_VIEW.format(parts=parts, design=design)


def write_duckdb(root: Path) -> Path | None:
    """(Re)write `sweep.duckdb`: views `runs` (one row per run), `runs_all`, `design`, `missing`."""
    import duckdb

    root = Path(root)
    if not any((root / PARTS).glob("part-*.parquet")):
        return None
    target = root / "sweep.duckdb"
    tmp = root / f".sweep.duckdb.{uuid.uuid4().hex[:8]}.tmp"
    try:
        con = duckdb.connect(str(tmp))
        con.execute(_views(root))
        con.close()
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    return target


def open_results(folder: str | Path):
    """An in-memory DuckDB connection with the views `runs`, `runs_all`, `design`, `missing`."""
    import duckdb

    root = Path(folder)
    if not (root / "sweep.json").exists():
        raise UserError(f"{root}: not a sweep folder (no sweep.json); run `regionsim sweep FILE --out {root}` first")
    con = duckdb.connect()
    if any((root / PARTS).glob("part-*.parquet")):
        con.execute(_views(root))
    else:
        con.execute(f"CREATE VIEW design AS SELECT * FROM read_parquet('{(root.resolve() / 'design.parquet').as_posix()}')")
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


def rerun(folder: str | Path, run_id: int) -> dict[str, Any]:
    """Re-run one row of a sweep from its design row alone; return its result row."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    info = read_info(folder)
    table = pq.read_table(Path(folder) / "design.parquet")
    rows = table.filter(pc.equal(table["run_id"], run_id)).to_pylist()
    if not rows:
        raise UserError(f"{folder}: no run {run_id} (the design has run ids 0…{table.num_rows - 1})")
    row = rows[0]
    levers = {column: row[column] for column in info["levers"]}
    fixed = info["describe"]["set"]
    task = {key: row[key] for key in RUN_COLUMNS}
    task.update({"scenario": row["scenario"], "until": row["until"], "levers": levers, "fixed": fixed,
                 "indicators": info["describe"]["indicators"], "years": info["describe"]["years"],
                 "series": info["describe"]["series"]})
    return run_one(task)


# --- command line ------------------------------------------------------------------------------------


def cli_sweep(args: argparse.Namespace) -> int:
    """`regionsim sweep FILE --out DIR [--workers N] [--scheduler ADDRESS] [--quiet]`."""
    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers {args.workers}: must be 1 or more")
    spec = load_sweep(args.file)
    where = f"Dask scheduler {args.scheduler}" if args.scheduler else f"{args.workers or os.cpu_count()} local processes"
    if not args.quiet:
        print(f"sweep {spec.name}: {spec.design}, {spec.n_points} points × {spec.replicates} seeds = {spec.n_runs} runs "
              f"of {Path(spec.scenario).stem} to {spec.until}, {len(spec.levers)} levers, on {where}", file=sys.stderr)
    try:
        summary = run_sweep(spec, args.out, workers=args.workers, scheduler=args.scheduler, progress=not args.quiet)
    except KeyboardInterrupt:
        print(f"regionsim: sweep interrupted; finished runs are kept in {args.out}/parts. "
              f"Run the same command again to finish the rest.", file=sys.stderr)
        raise
    con = open_results(args.out)
    try:
        rows, runs, failed = con.execute(
            "SELECT count(*), count(DISTINCT run_id), count(*) FILTER (WHERE status <> 'ok') FROM runs").fetchone()
    finally:
        con.close()
    if not args.quiet:
        rate = summary["new"] / summary["seconds"] if summary["seconds"] > 0 else 0.0
        if summary["new"] == 0:
            print(f"nothing to do: all {summary['runs']} runs were already in {args.out}")
        else:
            print(f"ran {summary['new']} runs in {summary['seconds']:.1f} s ({rate:.1f} runs/s); "
                  f"{summary['done_before']} were already done")
        print(f"{args.out}: {rows} rows for {runs} of {summary['runs']} runs, {failed} failed; "
              f"query {args.out}/sweep.duckdb (view runs), design in {args.out}/design.parquet")
    if failed:
        print(f"regionsim: {failed} runs failed; their rows hold the error "
              f"(SELECT run_id, error FROM runs WHERE status = 'failed')", file=sys.stderr)
    return 0 if runs == summary["runs"] else 1


def cli_analyze(args: argparse.Namespace) -> int:
    """`regionsim analyze DIR`: sensitivity of the outcomes to the levers; a table and a PNG."""
    from regionsim.model.sweep_analyze import analyze_folder

    return analyze_folder(Path(args.folder))
