"""Sensitivity of a sweep's outcomes to its inputs: which policy levers and which uncertainties move which outcomes.

Outcomes are first averaged over the replicate seeds of each design point, so the indices speak
about the inputs and not about the model's own randomness. Three methods, by design:

* **Sobol** (a `design = "sobol"` sweep): SALib's `sobol.analyze` without second-order terms — the
  first-order index S1 of an input is the share of an outcome's variance it explains alone, the
  total index ST the share it explains with all its interactions; each with SALib's bootstrap 95%
  confidence interval (± `S1_conf`, `ST_conf`). ST much above S1: the input acts through
  interactions; ST near 0: the outcome does not care about it. Only complete Saltelli blocks are
  used, so an unfinished sweep is analysed on what it has.
* **Morris** (a `design = "morris"` sweep): SALib's `morris.analyze` — elementary effects for cheap
  screening of many inputs. μ* (mean absolute effect, with a bootstrap 95% interval) ranks the
  inputs; σ large next to μ* means non-linear or interacting. Effects are per whole range of the
  input (inputs live on the unit interval), so they compare across inputs.
* **Regression screening** (any design): standardised regression coefficients (SRC, outcome
  standard deviations per input standard deviation, all inputs together) and the regression's R².
  A low R² says the outcome responds non-linearly or through interactions, so SRCs understate it.

The report lists, for each outcome, the policy levers first and then the uncertainties (model
assumptions), each lever's role read from the rule registry (`Lever.role`). `regionsim analyze DIR`
prints it and writes `sensitivity.csv` and `sensitivity.png` (inputs in the sweep file's order).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from regionsim.model.errors import UserError
from regionsim.model.sweeps.spec import POLICY, UNCERTAINTY, lever_role

METHODS = ("sobol", "morris", "regression")
RESAMPLES = 1000
CONF_LEVEL = 0.95
ANALYSIS_SEED = 20240917
"""Seed of SALib's bootstrap resampling, so the same results give the same intervals."""
MAX_PLOTS = 16
ROLE_TITLES = {POLICY: "policy levers", UNCERTAINTY: "uncertainties (model assumptions)"}
UNIT_PREFIX = "unit__"


def default_method(design: str) -> str:
    """The analysis a design was made for."""
    return design if design in ("sobol", "morris") else "regression"


def point_means(runs: pd.DataFrame, levers: list[str], outcomes: list[str]) -> pd.DataFrame:
    """One row per design point (indexed by point_id): input values and outcomes averaged over replicate seeds."""
    frame = runs[["point_id", *levers, *outcomes]].copy()
    for column in levers:
        frame[column] = frame[column].astype(float)
    return frame.groupby("point_id", sort=True).mean()


def _problem(levers: list[str]) -> dict[str, Any]:
    return {"num_vars": len(levers), "names": list(levers), "bounds": [[0.0, 1.0]] * len(levers)}


def _complete_blocks(values: pd.Series, block: int) -> np.ndarray:
    """Outcome values laid out one block (Saltelli block or Morris trajectory) per row; incomplete blocks dropped."""
    ids = values.index.to_numpy()
    full = np.full((int(ids.max()) // block + 1) * block, np.nan)
    full[ids] = values.to_numpy(dtype=float)
    blocks = full.reshape(-1, block)
    return blocks[np.isfinite(blocks).all(axis=1)]


def sobol_indices(points: pd.DataFrame, levers: list[str], outcomes: list[str], seed: int = ANALYSIS_SEED) -> pd.DataFrame:
    """First-order (S1) and total (ST) Sobol indices by SALib, with SALib's bootstrap 95% confidence intervals.

    Point p belongs to base sample j = p // (k+2) at position p % (k+2): 0 is A, 1…k are AB^i, k+1 is B.
    """
    from SALib.analyze import sobol

    k = len(levers)
    rows = []
    for outcome in outcomes:
        blocks = _complete_blocks(points[outcome], k + 2)
        n = len(blocks)
        s1 = s1_conf = st = st_conf = np.full(k, np.nan)
        if n >= 2 and np.std(blocks) > 0:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")  # SALib's notes on resample sizes
                result = sobol.analyze(
                    _problem(levers),
                    blocks.ravel(),
                    calc_second_order=False,
                    num_resamples=RESAMPLES,
                    conf_level=CONF_LEVEL,
                    print_to_console=False,
                    seed=seed,
                )
            s1, s1_conf, st, st_conf = (np.asarray(result[key], dtype=float) for key in ("S1", "S1_conf", "ST", "ST_conf"))
        for i, lever in enumerate(levers):
            rows.append(
                {
                    "outcome": outcome,
                    "lever": lever,
                    "s1": s1[i],
                    "s1_conf": s1_conf[i],
                    "s1_low": s1[i] - s1_conf[i],
                    "s1_high": s1[i] + s1_conf[i],
                    "st": st[i],
                    "st_conf": st_conf[i],
                    "st_low": st[i] - st_conf[i],
                    "st_high": st[i] + st_conf[i],
                    "base_samples": n,
                }
            )
    return pd.DataFrame(rows)


def morris_effects(
    points: pd.DataFrame, unit: pd.DataFrame, levers: list[str], outcomes: list[str], num_levels: int, seed: int = ANALYSIS_SEED
) -> pd.DataFrame:
    """Morris elementary effects by SALib: μ, μ* (with its bootstrap 95% interval) and σ per input and outcome.

    `unit` holds each point's unit-cube coordinates (columns = `levers`, indexed by point_id); point p
    belongs to trajectory p // (k+1). Only complete trajectories are used.
    """
    from SALib.analyze import morris

    k = len(levers)
    rows = []
    for outcome in outcomes:
        values = points[outcome]
        kept = [
            t
            for t in range(int(values.index.max()) // (k + 1) + 1)
            if all(np.isfinite(values.get(t * (k + 1) + j, np.nan)) for j in range(k + 1))
        ]
        ids = np.array([t * (k + 1) + j for t in kept for j in range(k + 1)], dtype=np.int64)
        mu = mu_star = sigma = conf = np.full(k, np.nan)
        if len(kept) >= 2:
            x = unit.loc[ids, levers].to_numpy(dtype=float)
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                result = morris.analyze(
                    _problem(levers),
                    x,
                    values.loc[ids].to_numpy(dtype=float),
                    num_resamples=RESAMPLES,
                    conf_level=CONF_LEVEL,
                    print_to_console=False,
                    num_levels=num_levels,
                    seed=seed,
                )
            mu, mu_star, sigma, conf = (np.asarray(result[key], dtype=float) for key in ("mu", "mu_star", "sigma", "mu_star_conf"))
        for i, lever in enumerate(levers):
            rows.append(
                {
                    "outcome": outcome,
                    "lever": lever,
                    "mu_star": mu_star[i],
                    "mu_star_conf": conf[i],
                    "mu_star_low": mu_star[i] - conf[i],
                    "mu_star_high": mu_star[i] + conf[i],
                    "mu": mu[i],
                    "sigma": sigma[i],
                    "trajectories": len(kept),
                }
            )
    return pd.DataFrame(rows)


def regression_screening(points: pd.DataFrame, levers: list[str], outcomes: list[str]) -> pd.DataFrame:
    """Standardised regression coefficients of each outcome on all inputs, with R²."""
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


def lever_label(column: str) -> str:
    """`rules__relocate__annual_quota_share` → `relocate.annual_quota_share`."""
    parts = column.split("__")
    return ".".join(parts[1:]) if parts[0] == "rules" else ".".join(parts)


def with_roles(table: pd.DataFrame) -> pd.DataFrame:
    """The table with a `role` column (policy / uncertainty / unknown), read from the rule registry now."""
    roles = {lever: lever_role(lever) for lever in dict.fromkeys(table["lever"])}
    return table.assign(role=table["lever"].map(roles))


def _role_order(role: str) -> int:
    return {POLICY: 0, UNCERTAINTY: 1}.get(role, 2)


def _sort_key(method: str) -> str:
    return {"sobol": "st", "morris": "mu_star"}.get(method, "size")


def _format_row(r: pd.Series, method: str, width: int) -> str:
    label = lever_label(r["lever"])
    if method == "sobol":
        return f"    {label:<{width}}  {r['s1']:>7.3f} ± {r['s1_conf']:<6.3f}  {r['st']:>7.3f} ± {r['st_conf']:<6.3f}"
    if method == "morris":
        return f"    {label:<{width}}  {r['mu_star']:>11.4g} ± {r['mu_star_conf']:<10.3g}  {r['mu']:>+11.4g}  {r['sigma']:>11.4g}"
    bar = "#" * int(round(min(abs(r["src"]), 1.0) * 20)) if math.isfinite(r["src"]) else ""
    return f"    {label:<{width}}  {r['src']:>+7.3f}  {bar}"


def _format_head(group: pd.DataFrame, method: str, width: int) -> list[str]:
    outcome = group["outcome"].iloc[0]
    if method == "sobol":
        return [
            f"\n{outcome}  (Sobol indices by SALib, {int(group['base_samples'].iloc[0])} base samples, ± 95% confidence)",
            f"    {'input':<{width}}  {'S1':>7}   {'':<6}  {'ST':>7}",
        ]
    if method == "morris":
        return [
            f"\n{outcome}  (Morris elementary effects by SALib, {int(group['trajectories'].iloc[0])} trajectories, "
            "per whole range of the input, μ* ± 95% confidence)",
            f"    {'input':<{width}}  {'mu*':>11}   {'':<10}  {'mu':>11}  {'sigma':>11}",
        ]
    return [
        f"\n{outcome}  (standardised regression, R² = {group['r2'].iloc[0]:.3f}, {int(group['points'].iloc[0])} points)",
        f"    {'input':<{width}}  {'SRC':>7}",
    ]


def format_table(table: pd.DataFrame, method: str) -> str:
    """The indices as plain text: per outcome, policy levers then uncertainties, each by importance."""
    table = table if "role" in table else with_roles(table)
    lines = []
    width = max(5, *(len(lever_label(lever)) for lever in table["lever"]))
    for _, group in table.groupby("outcome", sort=False):
        lines.extend(_format_head(group, method, width))
        group = group.assign(size=group["src"].abs()) if method == "regression" else group
        for role, members in sorted(group.groupby("role", sort=False), key=lambda item: _role_order(item[0])):
            lines.append(f"  {ROLE_TITLES.get(role, 'other inputs (no longer declared by a rule)')}")
            for _, r in members.sort_values(_sort_key(method), ascending=False, na_position="last").iterrows():
                lines.append(_format_row(r, method, width))
    return "\n".join(lines)


def plot(table: pd.DataFrame, method: str, path: Path, title: str, levers: list[str] | None = None) -> list[str]:
    """One panel per outcome, bars per input in the sweep file's order (`levers`); saved as PNG (Agg backend).

    Uncertainties' labels are grey and italic. Returns the input labels as drawn, top to bottom.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outcomes = list(dict.fromkeys(table["outcome"]))[:MAX_PLOTS]
    columns = min(4, len(outcomes))
    rows = math.ceil(len(outcomes) / columns)
    levers = list(levers) if levers is not None else list(dict.fromkeys(table["lever"]))
    labels = [lever_label(lever) for lever in levers]
    roles = [lever_role(lever) for lever in levers]
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 0.45 * len(levers) * rows + 1.6 * rows), squeeze=False, sharey=True)
    y = np.arange(len(levers))
    for ax, outcome in zip(axes.ravel(), outcomes, strict=False):
        group = table[table["outcome"] == outcome].set_index("lever").loc[levers]
        _panel(ax, group, method, y)
        ax.set_title(outcome, fontsize=9)
        ax.set_yticks(y, labels, fontsize=8)
        role_of = dict(zip(labels, roles, strict=True))
        for tick in ax.get_yticklabels():  # (shared axes show them on the first column only)
            if role_of.get(tick.get_text(), POLICY) != POLICY:
                tick.set_color("#666666")
                tick.set_fontstyle("italic")
        ax.set_ylim(len(levers) - 0.5, -0.5)  # the first input on top (not invert_yaxis: on shared axes it toggles)
    first = axes.ravel()[0]
    screen_y = {label: first.transData.transform((0.0, tick))[1] for label, tick in zip(labels, first.get_yticks(), strict=True)}
    drawn = sorted(labels, key=lambda label: -screen_y[label])  # top of the panel first
    for ax in axes.ravel()[len(outcomes) :]:
        ax.set_visible(False)
    if method in ("sobol", "morris"):
        axes.ravel()[0].legend(fontsize=8, loc="lower right")
    note = "  (grey italic: uncertainties / model assumptions)" if UNCERTAINTY in roles else ""
    fig.suptitle(title + note, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return drawn


def _panel(ax: Any, group: pd.DataFrame, method: str, y: np.ndarray) -> None:
    """Bars of one outcome: S1 and ST, μ* (and σ), or SRC."""
    if method == "sobol":
        for offset, key, colour in ((-0.2, "s1", "#4c72b0"), (0.2, "st", "#dd8452")):
            ax.barh(
                y + offset,
                group[key].fillna(0),
                height=0.4,
                color=colour,
                label=key.upper(),
                xerr=np.nan_to_num(group[f"{key}_conf"].to_numpy(dtype=float)),
                error_kw={"elinewidth": 0.8},
            )
        low = np.nanmin(group[["s1_low", "st_low"]].to_numpy(dtype=float), initial=0.0)
        high = np.nanmax(group[["s1_high", "st_high"]].to_numpy(dtype=float), initial=1.0)
        ax.set_xlim(min(0.0, float(low)) - 0.05, float(high) + 0.05)
    elif method == "morris":
        ax.barh(
            y - 0.2,
            group["mu_star"].fillna(0),
            height=0.4,
            color="#4c72b0",
            label="μ*",
            xerr=np.nan_to_num(group["mu_star_conf"].to_numpy(dtype=float)),
            error_kw={"elinewidth": 0.8},
        )
        ax.barh(y + 0.2, group["sigma"].fillna(0), height=0.4, color="#8172b2", label="σ")
        ax.set_xlabel("elementary effect per whole input range")
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4))
    else:
        colours = ["#c44e52" if v < 0 else "#4c72b0" for v in group["src"].fillna(0)]
        ax.barh(y, group["src"].fillna(0), color=colours)
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_xlim(-1.05, 1.05)
        ax.set_xlabel(f"SRC (R² = {group['r2'].iloc[0]:.2f})")


def _unit_design(folder: Path, levers: list[str]) -> pd.DataFrame:
    """Each point's unit-cube coordinates from `design.parquet` (indexed by point_id, columns = input columns)."""
    import pyarrow.parquet as pq

    columns = [f"{UNIT_PREFIX}{lever}" for lever in levers]
    design = pq.read_table(folder / "design.parquet").to_pandas()
    missing = [c for c in columns if c not in design]
    if missing:
        raise UserError(f"{folder}: design.parquet has no unit-cube coordinates ({missing[0]}…); re-run the sweep into a new folder")
    unit = design.groupby("point_id", sort=True)[columns].first()
    unit.columns = list(levers)
    return unit


def analyze(folder: Path, method: str | None = None) -> tuple[pd.DataFrame, str, dict[str, Any]]:
    """Compute the indices of a sweep folder: (table with a `role` column, method, facts)."""
    from regionsim.model.sweeps.store import read_info, read_runs

    folder = Path(folder)
    info = read_info(folder)
    design = info["design"]
    method = method or default_method(design)
    if method not in METHODS:
        raise UserError(f"--method {method}: valid methods: {', '.join(METHODS)}")
    if method in ("sobol", "morris") and design != method:
        raise UserError(
            f'--method {method}: needs a sweep with design = "{method}" (this one is {design}); '
            f"use --method regression, or run a {method} sweep"
        )
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
    if method == "sobol":
        table = sobol_indices(points, levers, outcomes)
    elif method == "morris":
        levels = int(info.get("morris_levels") or info["describe"].get("morris_levels", 4))
        table = morris_effects(points, _unit_design(folder, levers), levers, outcomes, levels)
    else:
        table = regression_screening(points, levers, outcomes)
    return with_roles(table), method, facts


TITLES = {
    "sobol": "Sobol indices (SALib)",
    "morris": "Morris elementary effects (SALib)",
    "regression": "standardised regression coefficients",
}


def analyze_folder(folder: Path, method: str | None = None) -> list[str]:
    """Print the sensitivity report and write `sensitivity.csv` and `sensitivity.png`; return the plot's input order."""
    from regionsim.model.sweeps.store import read_info

    folder = Path(folder)
    info = read_info(folder)
    table, method, facts = analyze(folder, method)
    print(
        f"{info['name']}: {info['design']} design, {facts['ok']} successful runs of {facts['runs']} "
        f"({facts['failed']} failed, {facts['runs'] - facts['rows']} not run), {facts['points']} points "
        f"(outcomes averaged over replicate seeds)"
    )
    print(format_table(table, method))
    csv = folder / "sensitivity.csv"
    table.to_csv(csv, index=False)
    png = folder / "sensitivity.png"
    order = plot(table, method, png, f"{info['name']}: {TITLES[method]}", levers=info["levers"])
    print(f"\nwrote {csv} and {png}")
    return order
