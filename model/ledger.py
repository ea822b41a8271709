"""The money ledger: every payment of a year between accounts (cities 0…n-1, the cooperation fund n),
by rule, so that what leaves one account arrives in another and each rule's flows can be read back."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from regionsim.model.kernels import _positive_off_diagonal, matvec, vecmat


@dataclass
class Transfers:
    """Money moved this year between accounts (cities 0…n-1, the cooperation fund n).

    Each payment is one row: rule id, payer account, payee account, amount (亿元), and the
    event detail behind it. Every payment leaves one account and arrives in another, so the net
    of all accounts is zero (up to floating-point rounding); `net()` lets tests check it.

    Payments are kept as blocks, one per `pay`, `pay_matrix` or `pay_outer` call: explicit rows
    (payer, payee and amount arrays), or — for a rule that pays along a whole city × city matrix,
    as JOINT_CONTROL and ENERGY do — the matrix in factored form, `amount[r, c] = left[r] ·
    matrix[r, c] · right[c]`, whose rows are the positive entries off the diagonal, row by row.
    A factored block is never expanded to rows to be added up: what each account pays and
    receives are matrix–vector products, so `net` and `total` cost O(n²) multiply-adds rather than
    millions of rows. Sums are order-independent (`np.sum`, `bincount`, matrix–vector products):
    money totals and nets are exact up to floating-point rounding. The rows themselves
    (`rule`, `payer`, `payee`, `amount`) are built only when read.
    """

    n_accounts: int
    _blocks: list[tuple[str, str, tuple[np.ndarray, ...], int]] = field(default_factory=list)
    _net: dict[str | None, np.ndarray] = field(default_factory=dict)

    def pay(self, rule: str, payer: np.ndarray, payee: np.ndarray, amount: np.ndarray) -> None:
        """Record payments (arrays of equal length); zero and negative amounts are dropped."""
        payer, payee, amount = np.atleast_1d(payer), np.atleast_1d(payee), np.atleast_1d(amount)
        keep = (amount > 0) & (payer != payee)
        if not keep.all():
            payer, payee, amount = payer[keep], payee[keep], amount[keep]
        self._append_rows(rule, payer, payee, amount)

    def pay_matrix(self, rule: str, amount: np.ndarray, payer_axis: int = 0) -> None:
        """Record every positive entry off the diagonal of a square matrix of payments, row by row.

        `amount[r, j]` is what r pays j (`payer_axis=0`) or what j pays r (`payer_axis=1`). The rows
        recorded, and their order, are those of `pay(rule, *np.nonzero(amount > 0), …)`.
        """
        rows, cols, values = _positive_off_diagonal(amount)
        self._append_rows(rule, *((rows, cols) if payer_axis == 0 else (cols, rows)), values)

    def pay_outer(self, rule: str, left: np.ndarray, matrix: np.ndarray, right: np.ndarray, payer_axis: int = 0) -> None:
        """Record the payments `amount[r, c] = left[r] · matrix[r, c] · right[c]` over cities, without expanding them.

        `matrix` must be non-negative with a zero diagonal (nobody pays itself); it is kept by
        reference and must not be changed afterwards (the rules pass cached, read-only kernels).
        Negative factors are treated as zero. With `payer_axis=0`, r pays c; with 1, c pays r.
        The rows (when read) are those of `pay_matrix(rule, left[:, None] * matrix * right[None, :], payer_axis)`.
        """
        left = np.maximum(np.asarray(left, dtype=float), 0.0)
        right = np.maximum(np.asarray(right, dtype=float), 0.0)
        if not left.any() or not right.any():
            return
        self._net.clear()
        self._blocks.append((rule, "outer", (left, matrix, right), payer_axis))

    def _append_rows(self, rule: str, payer: np.ndarray, payee: np.ndarray, amount: np.ndarray) -> None:
        if len(amount) == 0:
            return
        self._net.clear()
        self._blocks.append(
            (
                rule,
                "rows",
                (payer.astype(np.int64, copy=False), payee.astype(np.int64, copy=False), np.ascontiguousarray(amount, dtype=float)),
                0,
            )
        )

    def _rows(self, block: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(payer, payee, amount) of a block, expanded to rows."""
        _, kind, data, payer_axis = block
        if kind == "rows":
            return data
        left, matrix, right = data
        rows, cols, values = _positive_off_diagonal(left[:, None] * matrix * right[None, :])
        return (rows, cols, values) if payer_axis == 0 else (cols, rows, values)

    def _selected(self, rule: str | None) -> list[tuple]:
        return [b for b in self._blocks if rule is None or b[0] == rule]

    @property
    def rule(self) -> list[str]:
        """Rule id of each payment row."""
        return [b[0] for b in self._blocks for _ in range(len(self._rows(b)[2]))]

    @property
    def payer(self) -> list[int]:
        """Payer account of each payment row."""
        return [x for b in self._blocks for x in self._rows(b)[0].tolist()]

    @property
    def payee(self) -> list[int]:
        """Payee account of each payment row."""
        return [x for b in self._blocks for x in self._rows(b)[1].tolist()]

    @property
    def amount(self) -> list[float]:
        """Amount of each payment row (亿元)."""
        return [x for b in self._blocks for x in self._rows(b)[2].tolist()]

    def net(self, rule: str | None = None) -> np.ndarray:
        """Net received per account (received minus paid), for one rule or all."""
        if rule not in self._net:
            net = np.zeros(self.n_accounts)
            for _, kind, data, payer_axis in self._selected(rule):
                if kind == "rows":
                    payer, payee, amount = data
                    net += np.bincount(payee, weights=amount, minlength=self.n_accounts)
                    net -= np.bincount(payer, weights=amount, minlength=self.n_accounts)
                else:
                    left, matrix, right = data
                    by_row = left * matvec(matrix, right)  # Σ_c amount[r, c]
                    by_col = right * vecmat(left, matrix)  # Σ_r amount[r, c]
                    n = len(left)
                    if payer_axis == 0:
                        net[:n] += by_col - by_row
                    else:
                        net[:n] += by_row - by_col
            self._net[rule] = net
        return self._net[rule].copy()

    def total(self, rule: str | None = None) -> float:
        """Money moved (sum of payments), for one rule or all."""
        total = 0.0
        for _, kind, data, _ in self._selected(rule):
            if kind == "rows":
                total += float(np.sum(data[2]))
            else:
                left, matrix, right = data
                total += float(vecmat(left, matrix) @ right)
        return total

    def clear(self) -> None:
        """Start a new year."""
        self._net.clear()
        self._blocks.clear()
