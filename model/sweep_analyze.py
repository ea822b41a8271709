"""Sensitivity of a sweep's outcomes to its levers: which levers move which outcomes, and how much.

Outcomes are first averaged over the replicate seeds of each design point, so the indices speak
about the levers and not about the model's own randomness.

* A Sobol (Saltelli) design gets variance-based indices: the first-order index S1 of a lever is
  the share of an outcome's variance it explains alone, the total index ST the share it explains
  with all its interactions (Saltelli et al. 2010 for S1, Jansen 1999 for ST), each with a 95%
  bootstrap interval over the base samples. ST much above S1 means the lever acts through
  interactions; ST near 0 means the outcome does not care about it.
* Any other design (Latin hypercube, full factorial) gets a regression screening: standardised
  regression coefficients (SRC, the change of the outcome in standard deviations per standard
  deviation of the lever, all levers together) and the regression's R². SRC² sums to about R² when
  the levers are uncorrelated; a low R² says the outcome responds non-linearly or to interactions,
  so the SRCs understate what matters.

`regionsim analyze DIR` prints the table, and writes `sensitivity.csv` and `sensitivity.png`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from regionsim.model.errors import UserError

BOOTSTRAP = 500
MAX_PLOTS = 16


def point_means(runs: pd.DataFrame, levers: list[str], outcomes: list[str]) -> pd.DataFrame:
    """One row per design point: lever values and outcomes averaged over replicate seeds."""
    frame = runs[["point_id", *levers, *outcomes]].copy()
    for column in levers:
        frame[column] = frame[column].astype(float)
    return frame.groupby("point_id", sort=True).mean()


def regression_screening(points: pd.DataFrame, levers: list[str], outcomes: list[str]) -> pd.DataFrame:
    """Standardised regression coefficients of each outcome on all levers, with R²."""
    x = points[levers].to_numpy(dtype=float)
    x_sd = x.std(axis=0)
    usable = x_sd > 0
    xs = (x[:, usable] - x[:, usable].mean(axis=0)) / x_sd[usable]
    rows = []
    for outcome in outcomes:
        y = points[outcome].to_numpy(dtype=float)
        keep = np.isfinite(y)
        y_sd = y[keep].std()
        src = np.full(len(levers), np.nan)
        r2 = np.nan
        if keep.sum() > usable.sum() + 1 and y_sd > 0:
            ys = (y[keep] - y[keep].mean()) / y_sd
            design = np.column_stack([np.ones(keep.sum()), xs[keep]])
            beta, *_ = np.linalg.lstsq(design, ys, rcond=None)
            src[usable] = beta[1:]
            residual = ys - design @ beta
            r2 = 1.0 - float(residual @ residual) / float(ys @ ys)
        for lever, value in zip(levers, src, strict=True):
            rows.append({"outcome": outcome, "lever": lever, "src": value, "r2": r2, "points": int(keep.sum())})
    return pd.DataFrame(rows)


def sobol_indices(points: pd.DataFrame, levers: list[str], outcomes: list[str], seed: int = 0) -> pd.DataFrame:
    """First-order (S1) and total (ST) Sobol indices from a Saltelli design, with bootstrap 95% intervals.

    Point p belongs to base sample j = p // (k+2) at position p % (k+2): 0 is A, 1…k are AB^i,
    k+1 is B. Only complete blocks are used (an unfinished sweep is analysed on what it has).
    """
    k = len(levers)
    block = k + 2
    rng = np.random.default_rng(seed)
    rows = []
    for outcome in outcomes:
        values = points[outcome]
        ids = values.index.to_numpy()
        full = np.full((int(ids.max()) // block + 1) * block, np.nan)
        full[ids] = values.to_numpy(dtype=float)
        blocks = full.reshape(-1, block)
        blocks = blocks[np.isfinite(blocks).all(axis=1)]
        n = len(blocks)
        if n:
            blocks = blocks - blocks.mean()  # centre: S1's estimator is unbiased for any shift but noisy for a large mean
        f_a, f_b, f_ab = blocks[:, 0], blocks[:, k + 1], blocks[:, 1:k + 1]

        def estimate(index: np.ndarray, f_a=f_a, f_b=f_b, f_ab=f_ab) -> tuple[np.ndarray, np.ndarray]:
            a, b, ab = f_a[index], f_b[index], f_ab[index]
            variance = np.var(np.concatenate([a, b]), ddof=1) if len(index) > 1 else np.nan
            if not variance > 0:
                return np.full(k, np.nan), np.full(k, np.nan)
            s1 = (b[:, None] * (ab - a[:, None])).mean(axis=0) / variance
            st = 0.5 * ((a[:, None] - ab) ** 2).mean(axis=0) / variance
            return s1, st

        s1, st = estimate(np.arange(n))
        if n > 1:
            draws = [estimate(rng.integers(0, n, n)) for _ in range(BOOTSTRAP)]
            s1_draws = np.array([d[0] for d in draws])
            st_draws = np.array([d[1] for d in draws])
            with np.errstate(all="ignore"):
                s1_lo, s1_hi = np.nanpercentile(s1_draws, [2.5, 97.5], axis=0)
                st_lo, st_hi = np.nanpercentile(st_draws, [2.5, 97.5], axis=0)
        else:
            s1_lo = s1_hi = st_lo = st_hi = np.full(k, np.nan)
        for i, lever in enumerate(levers):
            rows.append({"outcome": outcome, "lever": lever, "s1": s1[i], "s1_low": s1_lo[i], "s1_high": s1_hi[i],
                         "st": st[i], "st_low": st_lo[i], "st_high": st_hi[i], "base_samples": n})
    return pd.DataFrame(rows)


def lever_label(column: str) -> str:
    """`rules__relocate__annual_quota_share` → `relocate.annual_quota_share`."""
    parts = column.split("__")
    return ".".join(parts[1:]) if parts[0] == "rules" else ".".join(parts)


def format_table(table: pd.DataFrame, method: str) -> str:
    """The indices as plain text, one block per outcome, levers by importance."""
    lines = []
    width = max(len(lever_label(lever)) for lever in table["lever"])
    for outcome, group in table.groupby("outcome", sort=False):
        if method == "sobol":
            lines.append(f"\n{outcome}  (Sobol indices, {int(group['base_samples'].iloc[0])} base samples, 95% bootstrap)")
            lines.append(f"  {'lever':<{width}}  {'S1':>7} {'[95% interval]':>17}  {'ST':>7} {'[95% interval]':>17}")
            for _, r in group.sort_values("st", ascending=False, na_position="last").iterrows():
                lines.append(f"  {lever_label(r['lever']):<{width}}  {r['s1']:>7.3f} [{r['s1_low']:>7.3f}, {r['s1_high']:>7.3f}]"
                             f"  {r['st']:>7.3f} [{r['st_low']:>7.3f}, {r['st_high']:>7.3f}]")
        else:
            r2 = group["r2"].iloc[0]
            lines.append(f"\n{outcome}  (standardised regression, R² = {r2:.3f}, {int(group['points'].iloc[0])} points)")
            lines.append(f"  {'lever':<{width}}  {'SRC':>7}")
            order = group.assign(size=group["src"].abs()).sort_values("size", ascending=False, na_position="last")
            for _, r in order.iterrows():
                bar = "#" * int(round(min(abs(r["src"]), 1.0) * 20)) if math.isfinite(r["src"]) else ""
                lines.append(f"  {lever_label(r['lever']):<{width}}  {r['src']:>+7.3f}  {bar}")
    return "\n".join(lines)


def plot(table: pd.DataFrame, method: str, path: Path, title: str) -> Path:
    """One panel per outcome: bars per lever (S1 and ST, or SRC). Saved as PNG (Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outcomes = list(dict.fromkeys(table["outcome"]))[:MAX_PLOTS]
    columns = min(4, len(outcomes))
    rows = math.ceil(len(outcomes) / columns)
    levers = list(dict.fromkeys(table["lever"]))
    labels = [lever_label(lever) for lever in levers]
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 0.45 * len(levers) * rows + 1.6 * rows), squeeze=False,
                             sharey=True)
    y = np.arange(len(levers))
    for ax, outcome in zip(axes.ravel(), outcomes, strict=False):
        group = table[table["outcome"] == outcome].set_index("lever").loc[levers]
        if method == "sobol":
            for offset, key, colour in ((-0.2, "s1", "#4c72b0"), (0.2, "st", "#dd8452")):
                err = np.vstack([group[key] - group[f"{key}_low"], group[f"{key}_high"] - group[key]]).clip(min=0)
                ax.barh(y + offset, group[key], height=0.4, color=colour, label=key.upper(),
                        xerr=np.nan_to_num(err), error_kw={"elinewidth": 0.8})
            low = np.nanmin(group[["s1_low", "st_low"]].to_numpy(dtype=float), initial=0.0)
            high = np.nanmax(group[["s1_high", "st_high"]].to_numpy(dtype=float), initial=1.0)
            ax.set_xlim(min(0.0, float(low)) - 0.05, float(high) + 0.05)
        else:
            colours = ["#c44e52" if v < 0 else "#4c72b0" for v in group["src"].fillna(0)]
            ax.barh(y, group["src"].fillna(0), color=colours)
            ax.axvline(0, color="black", linewidth=0.6)
            ax.set_xlim(-1.05, 1.05)
            ax.set_xlabel(f"SRC (R² = {group['r2'].iloc[0]:.2f})")
        ax.set_title(outcome, fontsize=9)
        ax.set_yticks(y, labels, fontsize=8)
        ax.invert_yaxis()
    for ax in axes.ravel()[len(outcomes):]:
        ax.set_visible(False)
    if method == "sobol":
        axes.ravel()[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def analyze(folder: Path) -> tuple[pd.DataFrame, str, dict[str, Any]]:
    """Compute the indices of a sweep folder: (table, method, facts)."""
    from regionsim.model.sweep import read_info, read_runs

    info = read_info(folder)
    runs = read_runs(folder)
    ok = runs[runs["status"] == "ok"]
    facts = {"runs": int(info["runs"]), "rows": len(runs), "ok": len(ok), "failed": int((runs["status"] != "ok").sum())}
    if len(ok) < 3:
        raise UserError(f"{folder}: only {len(ok)} successful runs; a sensitivity analysis needs more")
    levers, outcomes = info["levers"], info["outcomes"]
    if not outcomes:
        raise UserError(f"{folder}: the sweep kept no scalar outcomes (only series); add outcomes.indicators")
    points = point_means(ok, levers, outcomes)
    facts["points"] = len(points)
    if info["design"] == "sobol":
        return sobol_indices(points, levers, outcomes), "sobol", facts
    return regression_screening(points, levers, outcomes), "regression", facts


def analyze_folder(folder: Path) -> int:
    """Print the sensitivity table and write `sensitivity.csv` and `sensitivity.png` into the folder."""
    from regionsim.model.sweep import read_info

    info = read_info(folder)
    table, method, facts = analyze(folder)
    print(f"{info['name']}: {info['design']} design, {facts['ok']} successful runs of {facts['runs']} "
          f"({facts['failed']} failed, {facts['runs'] - facts['rows']} not run), {facts['points']} points "
          f"(outcomes averaged over replicate seeds)")
    print(format_table(table, method))
    csv = folder / "sensitivity.csv"
    table.to_csv(csv, index=False)
    png = plot(table, method, folder / "sensitivity.png",
               f"{info['name']}: {'Sobol indices' if method == 'sobol' else 'standardised regression coefficients'}")
    print(f"\nwrote {csv} and {png}")
    return 0
