"""Small array kernels the rules share: single-threaded matrix–vector products, the entries of a
factored matrix above a threshold, and results cached on the state while their inputs are unchanged."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from regionsim.model.state import RegionState


def matvec(matrix: np.ndarray, x: np.ndarray) -> np.ndarray:
    """matrix @ x (x a vector, or a few columns), on one thread.

    NumPy's `@` hands a matrix–vector product to the multi-threaded BLAS, which on a busy machine
    can stall for tens of milliseconds waiting for its threads; `einsum` does the same sums in a
    single thread at memory speed (a few ms for a 3,000 × 3,000 matrix).
    """
    return np.einsum("ij,j...->i...", matrix, x)


def vecmat(x: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """x @ matrix (x a vector), or xᵀ @ matrix laid out like x (x a few columns:
    result[j, k] = Σ_i x[i, k] · matrix[i, j]), on one thread."""
    if x.ndim == 1:
        return np.einsum("i,ij->j", x, matrix)
    return np.stack([np.einsum("i,ij->j", x[:, k], matrix) for k in range(x.shape[1])], axis=1)  # column by column: 4× faster


def _positive_off_diagonal(amount: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and value of every positive entry off the diagonal of a square matrix, row by row."""
    flat = np.flatnonzero(amount > 0)
    rows, cols = np.divmod(flat, amount.shape[1])
    values = amount.ravel()[flat]
    off = rows != cols
    if not off.all():
        rows, cols, values = rows[off], cols[off], values[off]
    return rows, cols, values


def entries_above(
    left: np.ndarray, matrix: np.ndarray, right: np.ndarray, threshold: float, row_max: np.ndarray | None = None, chunk: int = 256
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and value of every entry of `left[r] · matrix[r, c] · right[c]` above `threshold` (≥ 0), row by row.

    The same entries, values and order as `np.nonzero(left[:, None] * matrix * right[None, :] > threshold)`,
    without building the whole product: rows that cannot reach the threshold (by `row_max`, each
    row's largest entry of `matrix`, when given) are skipped, the rest done a block of rows at a time.
    """
    left = np.maximum(left, 0.0)
    right = np.maximum(right, 0.0)
    candidate = left > 0
    if row_max is not None:
        candidate &= left * row_max * (right.max() if len(right) else 0.0) > threshold
    out_r, out_c, out_v = [], [], []
    for start in range(0, len(left), chunk):
        stop = min(start + chunk, len(left))
        rows = np.flatnonzero(candidate[start:stop]) + start
        if len(rows) == 0:
            continue
        if len(rows) == stop - start:  # every row of the block: a slice, not a copy
            values = left[start:stop, None] * matrix[start:stop]
        else:
            values = left[rows, None] * matrix[rows]
        values *= right[None, :]
        r, c = np.nonzero(values > threshold)
        out_r.append(rows[r])
        out_c.append(c)
        out_v.append(values[r, c])
    if not out_r:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(out_r), np.concatenate(out_c), np.concatenate(out_v)


def zero_self_pairs(values: np.ndarray, rows: np.ndarray | None, cols: np.ndarray | None) -> np.ndarray:
    """Set K's entries where row and column are the same city to 0 (a whole matrix, or the listed pairs)."""
    if rows is None:
        np.fill_diagonal(values, 0.0)
    else:
        values[rows == cols] = 0.0
    return values


def derived(state: RegionState, name: str, depends: tuple[Any, ...], build: Any) -> Any:
    """A quantity derived from the state (e.g. a city × city kernel exp(−minutes/decay)), rebuilt
    only when what it depends on changes, so a year does not pay for recomputing it unchanged.

    `depends` lists its inputs: arrays by identity (the big matrices `travel_minutes`,
    `distance_km`, `source_receptor` are replaced, never changed in place), anything else by
    equality (lever values, `tobytes()` of small vectors). Callers must not modify the result.
    """
    cache = state.derived_cache
    hit = cache.get(name)
    if (
        hit is not None
        and len(hit[0]) == len(depends)
        and all(
            (a is b) if isinstance(a, np.ndarray) else (not isinstance(b, np.ndarray) and a == b)
            for a, b in zip(hit[0], depends, strict=True)
        )
    ):
        return hit[1]
    value = build()
    cache[name] = (depends, value)
    return value
