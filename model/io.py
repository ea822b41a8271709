"""Writing a run's files so they appear whole or not at all.

Everything is written into a hidden temporary folder beside the destination, flushed to disk,
and only then renamed into place. A reader (or a later run) therefore sees either the previous
complete folder, no folder, or the new complete folder — never a half-written one. Each folder
also carries `run.json`, written last, so a folder without it is not a finished run.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from model.errors import UserError


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


def atomic_directory(destination: Path, fill: Callable[[Path], None]) -> None:
    """Create `destination` by filling a temporary sibling folder and renaming it into place."""
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
    try:
        temporary = Path(tempfile.mkdtemp(prefix=f".{destination.name}.tmp-", dir=parent))
    except OSError as exc:
        raise UserError(f"{parent}: cannot write there: {exc.strerror}") from None
    try:
        fill(temporary)
        for item in temporary.iterdir():
            with open(item, "rb") as handle:
                os.fsync(handle.fileno())
        fsync_dir(temporary)
        temporary.chmod(0o755)
        if destination.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{destination.name}.old-", dir=parent))
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
