"""Writing a run's files so they appear whole or not at all.

Everything is written into a hidden temporary folder beside the destination, flushed to disk,
and only then renamed into place. A reader (or a later run) therefore sees either the previous
complete folder, no folder, or the new complete folder — never a half-written one. Each folder
also carries `run.json`, written last, so a folder without it is not a finished run.

Replacing an existing folder swaps the two in one step where the system can (Linux `renameat2`
with RENAME_EXCHANGE), so even a SIGKILL between two renames cannot leave the destination
missing. A process killed part-way leaves its hidden `.NAME.tmp-PID-…` (or `.NAME.old-PID-…`)
folder behind; the next run that creates NAME removes those whose process is gone.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import queue
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from regionsim.model.errors import UserError


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (renames, new files) to disk; a no-op where the OS does not allow it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame to Parquet deterministically (same frame, same bytes)."""
    frame.to_parquet(path, index=False, engine="pyarrow", compression="zstd")


_POLL_S = 0.1
"""How often a waiting writer thread (or the thread waiting for it) looks again."""


class ParquetStream:
    """A Parquet file written a table at a time (one row group per table, e.g. per simulated year).

    The writing (encoding and compression, which release the GIL) happens on a background thread, so a run
    computes its next year while the last one is written; at most `depth` tables wait in the queue, so memory
    stays that of a few tables however long the run. The file is written as hidden `.NAME.part` and renamed
    to NAME by `close`, so NAME is always a whole file. The same tables in the same order give the same bytes.
    """

    def __init__(self, path: Path, schema=None, *, depth: int = 2, background: bool = True):
        self.path = Path(path)
        self.part = self.path.with_name(f".{self.path.name}.part")
        self.schema = schema
        """The file's schema: given, or that of the first table (later tables are cast to it)."""
        self.rows = 0
        self.row_groups = 0
        self._writer = None
        self._error: BaseException | None = None
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        if background:
            self._queue = queue.Queue(maxsize=depth)
            self._thread = threading.Thread(target=self._drain, name=f"write {self.path.name}", daemon=True)
            self._thread.start()

    def write(self, table) -> None:
        """Append `table` as the next row group(s); an empty table is skipped."""
        if self._error is not None:
            raise self._error
        if table.num_rows == 0:
            return
        if self.schema is None:
            self.schema = table.schema
        elif not table.schema.equals(self.schema):
            table = table.select(self.schema.names).cast(self.schema)
        self.rows += table.num_rows
        if self._queue is None:
            self._write(table)
        else:
            self._hand_over(table)

    def _write(self, table) -> None:
        import pyarrow.parquet as pq

        if self._writer is None:
            self._writer = pq.ParquetWriter(self.part, self.schema, compression="zstd")
        self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
        self.row_groups += 1

    # The two threads meet through the queue with timeouts, never an unbounded wait: a Ctrl-C that lands inside
    # `Condition.notify` (CPython's threading is not safe against that) can lose the wake-up of the other
    # thread, which then sees the item at its next poll instead of waiting for ever.

    def _drain(self) -> None:
        assert self._queue is not None
        try:
            while True:
                try:
                    table = self._queue.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                if table is None:
                    return
                if self._error is None:
                    try:
                        self._write(table)
                    except BaseException as exc:  # reported to the writing thread by write() or close()
                        self._error = exc
        finally:
            self._done.set()

    def _hand_over(self, item) -> None:
        while not self._done.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def _stop(self) -> None:
        if self._thread is not None:
            self._hand_over(None)
            while not self._done.wait(_POLL_S):  # (not Thread.join: an interrupted join can mark a live thread stopped)
                pass
            self._thread = None

    def close(self) -> Path:
        """Finish the file (an empty one with the schema if no table had rows) and rename it into place."""
        import pyarrow.parquet as pq

        self._stop()
        if self._error is not None:
            raise self._error
        if self._writer is None:
            if self.schema is None:
                raise ValueError(f"{self.path.name}: no rows and no schema to write")
            self._writer = pq.ParquetWriter(self.part, self.schema, compression="zstd")
        self._writer.close()
        os.replace(self.part, self.path)
        return self.path

    def abort(self) -> None:
        """Stop writing (after the table being written) and remove the partial file."""
        if self._thread is not None:
            self._error = self._error or RuntimeError("aborted")
            while True:  # drop what waits, so the stop mark fits
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
            self._stop()
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:  # noqa: BLE001 - the file is being thrown away
                pass
        self.part.unlink(missing_ok=True)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2():
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_RENAMEAT2 = _renameat2() if os.name == "posix" else None


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically; False where the system or file system cannot."""
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but belongs to someone else
        return True
    return True


def remove_stale(destination: Path, before: float) -> list[Path]:
    """Remove `.NAME.tmp-PID-…`/`.NAME.old-PID-…` siblings left by dead processes before `before` (epoch s)."""
    pattern = re.compile(rf"^\.{re.escape(destination.name)}\.(?:tmp|old)-(\d+)-")
    removed = []
    try:
        siblings = list(destination.parent.iterdir())
    except OSError:
        return removed
    for sibling in siblings:
        found = pattern.match(sibling.name)
        if not found or int(found.group(1)) == os.getpid() or _alive(int(found.group(1))):
            continue
        try:
            if not sibling.is_dir() or sibling.is_symlink() or sibling.lstat().st_mtime >= before:
                continue
        except OSError:
            continue
        shutil.rmtree(sibling, ignore_errors=True)
        removed.append(sibling)
    return removed


def atomic_directory(destination: Path, fill: Callable[[Path], None]) -> None:
    """Create `destination` by filling a temporary sibling folder and renaming it into place."""
    started = time.time()
    destination = destination.resolve()
    parent = destination.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{parent}: cannot create the output folder: {exc.strerror}") from None
    if destination.exists() and not destination.is_dir():
        raise UserError(f"{destination}: exists and is not a folder")
    if destination.is_dir() and any(destination.iterdir()) and not (destination / "run.json").exists():
        raise UserError(f"{destination}: exists, is not empty and is not a regionsim run; choose another --out")
    remove_stale(destination, started)
    try:
        temporary = Path(tempfile.mkdtemp(prefix=f".{destination.name}.tmp-{os.getpid()}-", dir=parent))
    except OSError as exc:
        raise UserError(f"{parent}: cannot write there: {exc.strerror}") from None
    try:
        fill(temporary)
        for item in temporary.iterdir():
            with open(item, "rb") as handle:
                os.fsync(handle.fileno())
        fsync_dir(temporary)
        temporary.chmod(0o755)
        if destination.exists() and _exchange(temporary, destination):
            shutil.rmtree(temporary, ignore_errors=True)  # now the previous run
        elif destination.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{destination.name}.old-{os.getpid()}-", dir=parent))
            old.rmdir()
            destination.rename(old)
            temporary.rename(destination)
            shutil.rmtree(old, ignore_errors=True)
        else:
            temporary.rename(destination)
        fsync_dir(parent)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def write_json(data: dict, path: Path) -> None:
    """Write JSON with sorted keys and UTF-8 text."""
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
