"""Where a sweep's runs are computed: local worker processes or a Dask distributed cluster, and the driver.

Runs go to local processes (`--workers N`, a process pool forked from a server that has the model
imported) or to a Dask cluster (`--scheduler tcp://host:port`). Either way a run is
`task.run_one(RunTask)` — exactly what `store.rerun(folder, run_id)` does, so any row can be
reproduced alone. A run whose worker process died is submitted again (up to `MAX_ATTEMPTS` times);
a run that raises is recorded as a `failed` row with its error, and the sweep goes on. A killed
driver loses at most the rows not yet flushed (`store.PartWriter`); running it again finishes the rest.
"""

from __future__ import annotations

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
from regionsim.model.sweeps.task import STATUS_OK, RunTask, failed_row, run_one

MAX_ATTEMPTS = 3
"""A run whose worker died this many times is recorded as failed."""


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


def run_local(tasks: Iterator[RunTask], workers: int, on_row: Any, runner: Any = None) -> None:
    """Run tasks in local worker processes; recover from a worker that dies by rebuilding the pool."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    runner = runner or run_one
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["regionsim.model.sweeps.task", "regionsim.model.api", "regionsim.model.model"])
    retry: deque[tuple[RunTask, int]] = deque()
    in_flight: dict[Any, tuple[RunTask, int]] = {}
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


def _retry_or_fail(task: RunTask, attempt: int, retry: deque, on_row: Any, why: str) -> None:
    if attempt >= MAX_ATTEMPTS:
        on_row(failed_row(task, f"{why} on each of {attempt} attempts"))
    else:
        retry.append((task, attempt + 1))


def run_dask(tasks: Iterator[RunTask], address: str, on_row: Any, runner: Any = None, connect_timeout: float = 20.0) -> None:
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
        meta: dict[Any, tuple[RunTask, int]] = {}

        def submit(task: RunTask, attempt: int) -> Any:
            future = client.submit(runner, task, key=f"regionsim-run-{stamp}-{task.run_id}-{attempt}", pure=False)
            meta[future] = (task, attempt)
            return future

        initial = []
        for task in tasks:
            initial.append(submit(task, 1))
            if len(initial) >= _window(workers):
                break
        queue = as_completed(initial, loop=client.loop, with_results=False)
        retry: deque[tuple[RunTask, int]] = deque()
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
) -> dict[str, Any]:
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

    return tqdm(
        total=total, initial=initial, unit="run", desc=name, disable=not enabled, smoothing=0.1, dynamic_ncols=True, file=sys.stderr
    )
