"""Where a sweep's runs are computed: local worker processes or a Dask distributed cluster, and the driver.

Runs go to local processes (`--workers N`, a process pool forked from a server that has the model
imported) or to a Dask cluster (`--scheduler tcp://host:port`). Either way the sweep's scenario
goes to each worker process once, as content (`task.ScenarioPayload`: the pool's initializer
argument, or one object Dask broadcasts), is checked there once and serves all its runs; tasks go
out in batches of several runs (`task.run_batch`), each run `task.run_one(RunTask)` — with the
same outcomes as `store.rerun(folder, run_id)`, so any row can be reproduced alone. A batch whose
worker process died is submitted again run by run (each run up to `MAX_ATTEMPTS` times); a run
that raises is recorded as a `failed` row with its error, and the sweep goes on. A killed driver
loses at most the rows not yet flushed (`store.PartWriter`); running it again finishes the rest.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
import uuid
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from regionsim.model.errors import UserError
from regionsim.model.sweeps.spec import SweepSpec, load_sweep
from regionsim.model.sweeps.store import FLUSH_SECONDS, PART_ROWS, PartWriter, SweepFolder, write_duckdb
from regionsim.model.sweeps.task import STATUS_OK, RunTask, ScenarioPayload, failed_row, install, payload_of, run_batch

MAX_ATTEMPTS = 3
"""A run whose worker died this many times is recorded as failed."""
MAX_BATCH = 16
"""Most runs in one task (batches are smaller when a sweep is short, so every worker stays busy to the end)."""
BATCHES_PER_WORKER = 8
"""A sweep is cut into at least this many batches per worker (when it has that many runs)."""

Batch = tuple[RunTask, ...]


def batch_size_for(pending: int, workers: int) -> int:
    """Runs per task: enough to cut scheduling overhead, few enough that each worker gets several batches."""
    return max(1, min(MAX_BATCH, pending // (max(1, workers) * BATCHES_PER_WORKER)))


def batches(tasks: Iterator[RunTask], size: int) -> Iterator[Batch]:
    """`tasks` in consecutive groups of `size` (the last may be shorter)."""
    tasks = iter(tasks)
    while True:
        batch = tuple(itertools.islice(tasks, size))
        if not batch:
            return
        yield batch


def _worker_init(driver_pid: int, payload: ScenarioPayload | None = None) -> None:
    """In each local worker: install the sweep's scenario (checked once, for all its runs here), and exit
    when the driver is gone (killed with SIGKILL, say), instead of waiting forever for work that will not
    come. (The fork server outlives the driver while its children hold its pipe, so a worker cannot rely
    on its parent dying.)"""
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle (see _start_forkserver_deaf_to_ctrl_c)
    if payload is not None:
        try:
            install(payload)
        except Exception:  # noqa: BLE001 - each run then loads the scenario by reference and reports what is wrong
            pass
    import gc

    gc.freeze()  # the imported modules and the installed scenario live as long as the worker: the collector skips them

    def watch() -> None:
        while _alive(driver_pid):
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="regionsim-driver-watch").start()


def _start_forkserver_deaf_to_ctrl_c() -> None:
    """Start the fork server (if not running) with SIGINT ignored, so the workers it forks ignore it from birth.

    Ctrl-C in a terminal signals the whole process group: the driver stops the sweep and keeps what finished;
    a worker must not also raise KeyboardInterrupt (a traceback on the user's screen). The fork server gives
    its children the SIGINT handler it started with; a Python started with SIGINT ignored keeps it ignored."""
    import signal
    import threading
    from multiprocessing import forkserver

    if threading.current_thread() is not threading.main_thread():
        forkserver.ensure_running()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)


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


def run_local(
    tasks: Iterator[RunTask],
    workers: int,
    on_row: Any,
    runner: Any = None,
    payload: ScenarioPayload | None = None,
    batch_size: int = 1,
) -> None:
    """Run tasks in local worker processes, `batch_size` runs per task; recover from a worker that dies by rebuilding the pool."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["regionsim.model.sweeps.task", "regionsim.model.api", "regionsim.model.model"])
    _start_forkserver_deaf_to_ctrl_c()
    retry: deque[tuple[Batch, int]] = deque()
    in_flight: dict[Any, tuple[Batch, int]] = {}
    pending = batches(tasks, batch_size)
    exhausted = False

    def new_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_init, initargs=(os.getpid(), payload))

    pool = new_pool()
    try:
        while True:
            broken = False
            while len(in_flight) < _window(workers) and not broken:
                if retry:
                    batch, attempt = retry.popleft()
                elif not exhausted:
                    batch = next(pending, None)
                    if batch is None:
                        exhausted = True
                        continue
                    attempt = 1
                else:
                    break
                try:
                    in_flight[pool.submit(run_batch, batch, runner)] = (batch, attempt)
                except BrokenProcessPool:
                    retry.appendleft((batch, attempt))
                    broken = True
            if not in_flight and not broken:
                break
            finished, _ = wait(list(in_flight), timeout=0.5, return_when=FIRST_COMPLETED)
            for future in finished:
                batch, attempt = in_flight.pop(future)
                try:
                    rows = future.result()
                except BrokenProcessPool:
                    broken = True
                    _retry_or_fail(batch, attempt, retry, on_row, "a worker process died")
                else:
                    _deliver(rows, on_row)
            if not finished:
                on_row(None)  # a tick: lets the writer flush on time
            if broken:
                for batch, attempt in list(in_flight.values()):
                    _retry_or_fail(batch, attempt, retry, on_row, "a worker process died")
                in_flight.clear()
                pool.shutdown(wait=True, cancel_futures=True)
                pool = new_pool()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _deliver(rows: list[dict[str, Any]], on_row: Any) -> None:
    for row in rows:
        on_row(row)


def _retry_or_fail(batch: Batch, attempt: int, retry: deque, on_row: Any, why: str) -> None:
    """A lost batch: each of its runs again on its own (which of them lost it is not known), or failed after `MAX_ATTEMPTS`."""
    for task in batch:
        if attempt >= MAX_ATTEMPTS:
            on_row(failed_row(task, f"{why} on each of {attempt} attempts"))
        else:
            retry.append(((task,), attempt + 1))


def run_dask(
    tasks: Iterator[RunTask],
    address: str,
    on_row: Any,
    runner: Any = None,
    connect_timeout: float = 20.0,
    payload: ScenarioPayload | None = None,
    batch_size: int | None = None,
    pending_runs: int | None = None,
) -> None:
    """Run tasks on a Dask distributed cluster, in batches; the scenario is broadcast to the workers once; resubmit runs lost with a worker.

    `batch_size` None: chosen from `pending_runs` and the cluster's threads (`batch_size_for`).
    """
    from distributed import Client, as_completed
    from distributed.scheduler import KilledWorker

    try:
        client = Client(address, timeout=connect_timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise UserError(f"--scheduler {address}: cannot reach a Dask scheduler there ({exc})") from None
    try:
        workers = max(1, sum(client.nthreads().values()))
        size = batch_size or (batch_size_for(pending_runs, workers) if pending_runs is not None else 1)
        stamp = uuid.uuid4().hex[:8]
        pending = batches(tasks, size)
        meta: dict[Any, tuple[Batch, int]] = {}
        shared: dict[str, Any] = {}

        def scenario() -> Any:
            """The payload on the cluster (scattered to every worker once; again only if the cluster lost it)."""
            if payload is None:
                return None
            if shared.get("future") is None or shared["future"].status != "finished":
                shared["future"] = client.scatter(payload, broadcast=True, hash=False)
            return shared["future"]

        def submit(batch: Batch, attempt: int) -> Any:
            key = f"regionsim-runs-{stamp}-{batch[0].run_id}-{len(batch)}-{attempt}"
            future = client.submit(run_batch, batch, runner, scenario(), key=key, pure=False)
            meta[future] = (batch, attempt)
            return future

        initial = []
        for batch in pending:
            initial.append(submit(batch, 1))
            if len(initial) >= _window(workers):
                break
        queue = as_completed(initial, loop=client.loop, with_results=False)
        retry: deque[tuple[Batch, int]] = deque()
        while not queue.is_empty() or retry:
            while retry:
                queue.add(submit(*retry.popleft()))
            if queue.is_empty():
                continue
            future = next(queue)
            batch, attempt = meta.pop(future)
            try:
                rows = future.result()
            except KilledWorker:
                _retry_or_fail(batch, attempt, retry, on_row, "the Dask worker running it died")
            except Exception as exc:  # lost connection, cancelled: try again, a few times
                _retry_or_fail(batch, attempt, retry, on_row, f"{type(exc).__name__}: {exc}")
            else:
                _deliver(rows, on_row)
            future.release()
            nxt = next(pending, None)
            if nxt is not None:
                queue.add(submit(nxt, 1))
    finally:
        client.close()


# --- the driver --------------------------------------------------------------------------------------


def run_sweep(
    spec_or_file: SweepSpec | str | Path,
    out: Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    part_rows: int = PART_ROWS,
    flush_seconds: float = FLUSH_SECONDS,
    runner: Any = None,
    connect_timeout: float = 20.0,
    batch_size: int | None = None,
) -> dict[str, Any]:
    """Run (or finish) a sweep into folder `out`; return a summary (runs, new, failed, seconds).

    `runner(task) -> row` replaces `task.run_one` (tests use it to kill workers); `batch_size` is the runs
    per task (None: `batch_size_for` the pending runs and workers).
    """
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
                payload = payload_of(spec)
                if scheduler:
                    run_dask(tasks, scheduler, on_row, runner, connect_timeout, payload, batch_size, todo)
                else:
                    n = workers or os.cpu_count() or 1
                    run_local(tasks, n, on_row, runner, payload, batch_size or batch_size_for(todo, n))
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

    return tqdm(
        total=total, initial=initial, unit="run", desc=name, disable=not enabled, smoothing=0.1, dynamic_ncols=True, file=sys.stderr
    )
