"""The `regionsim` command line.

    regionsim run SCENARIO [--until YEAR] [--seed N] [--set key=value ...] --out DIR
                  [--tables model,agents,events,scorecard] [--function-rows all|none|N|SHARE]
    regionsim validate SCENARIO [SCENARIO ...]
    regionsim sources SCENARIO
    regionsim levers SCENARIO
    regionsim list
    regionsim sweep FILE --out DIR [--workers N] [--scheduler tcp://HOST:PORT]
    regionsim analyze DIR [--method sobol|morris|regression]
    regionsim synth --cities N --functions M --seed S --out FILE
    regionsim dashboard [SCENARIO] [--port N] [--host H]   (--host 0.0.0.0: students on the network connect)
    regionsim game SCENARIO [--host H] [--port N] [--resume FOLDER]   (the classroom game: students play the provinces)
    regionsim game --replay GAME.toml --out DIR             (re-run an exported game's decisions)

`regionsim --plans DIR COMMAND …` names the folder of plan texts the clause references cite (the
dashboard quotes them in tooltips); default `$REGIONSIM_PLANS_DIR`, else ../shared/plans.

Exit status: 0 success, 2 a user's mistake (bad scenario, bad option, missing file: one clear
message, no traceback), 1 a bug. Heavy modules (Mesa, pandas, the dashboard) are imported only by
the commands that need them, so `regionsim --help` stays fast.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from regionsim import __version__ as VERSION
from regionsim.model.errors import UserError


class _Parser(argparse.ArgumentParser):
    """argparse that exits with status 2 and one line, as for every user mistake."""

    def error(self, message: str) -> None:  # noqa: D401 - argparse API
        self.print_usage(sys.stderr)
        sys.stderr.write(f"regionsim: error: {message}\n")
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = _Parser(prog="regionsim", description="A multi-agent simulator of regional coordination in China.")
    parser.add_argument("--version", action="version", version=f"regionsim {VERSION}")
    parser.add_argument(
        "--plans",
        metavar="DIR",
        default=None,
        help="folder holding the plan texts (*.txt) that clause references cite "
        "(default: $REGIONSIM_PLANS_DIR, else ../shared/plans from the repository root)",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run a scenario and write its results")
    run.add_argument("scenario", help="short name from scenarios/ (e.g. capital_region) or a path to a .toml file")
    run.add_argument("--until", type=int, help="last year to simulate (default: the scenario's horizon)")
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a value, e.g. rules.joint_control.enabled=false (repeatable)",
    )
    run.add_argument("--out", required=True, type=Path, help="output folder (created whole or not at all)")
    run.add_argument("--no-function-rows", action="store_true", help="leave Function agents out of agents.parquet")
    run.add_argument(
        "--function-rows",
        metavar="WHICH",
        default=None,
        help="Function agents in agents.parquet: all (default), none, a number (1000) or a share (0.01) of them, sampled once",
    )
    run.add_argument(
        "--tables",
        metavar="LIST",
        default=None,
        help="tables to write, comma-separated from model,agents,events,scorecard (default all; scenario.toml and run.json always)",
    )
    run.add_argument("--quiet", action="store_true", help="print nothing on success")

    validate = sub.add_parser("validate", help="check scenarios and report every problem")
    validate.add_argument("scenario", nargs="+")
    validate.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")

    sources = sub.add_parser("sources", help="list every number of a scenario with its source")
    sources.add_argument("scenario")
    sources.add_argument("--missing", action="store_true", help="only numbers without a source")
    sources.add_argument(
        "--status",
        choices=("plan clause", "published", "derived", "estimate", "recalled", "unclassified"),
        help="only numbers whose source has this status (e.g. --status recalled: what is left to verify)",
    )

    levers = sub.add_parser("levers", help="list every rule lever with its value, range and plan clause")
    levers.add_argument("scenario")

    sub.add_parser("list", help="list the shipped scenarios and variants")

    sweep = sub.add_parser("sweep", help="run a parameter sweep (locally or on a Dask cluster)")
    sweep.add_argument("file", type=Path, help="sweep file (TOML), e.g. scenarios/sweeps/capital_lhs.toml")
    sweep.add_argument("--out", required=True, type=Path, help="sweep folder (resumable: run again to finish it)")
    sweep.add_argument("--workers", type=int, default=None, help="local worker processes (default: CPU count)")
    sweep.add_argument("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://127.0.0.1:8786")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")

    analyze = sub.add_parser("analyze", help="sensitivity analysis of a sweep: policy levers, then uncertainties")
    analyze.add_argument("folder", type=Path)
    analyze.add_argument(
        "--method",
        choices=("sobol", "morris", "regression"),
        default=None,
        help="SALib Sobol indices (sobol designs), SALib Morris elementary effects (morris designs), or "
        "standardised regression (any design); default: what the design was made for",
    )

    synth = sub.add_parser("synth", help="write a synthetic scenario of any size (for scale tests)")
    synth.add_argument("--cities", type=int, required=True)
    synth.add_argument("--functions", type=int, required=True)
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--out", type=Path, required=True)

    dashboard = sub.add_parser("dashboard", help="open the dashboard in a browser")
    dashboard.add_argument("scenario", nargs="?", default=None)
    dashboard.add_argument("--port", type=int, default=8765)
    dashboard.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only); 0.0.0.0 lets students on the "
        "same network connect, and prints the address they type",
    )
    dashboard.add_argument("--no-open", action="store_true", help="do not open a browser window")

    game = sub.add_parser("game", help="the classroom game: students play the provinces from their own browsers")
    game.add_argument("scenario", nargs="?", default=None, help="scenario or variant (e.g. classroom)")
    game.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: students on the same network connect)")
    game.add_argument("--port", type=int, default=8766)
    game.add_argument("--resume", type=Path, default=None, metavar="FOLDER", help="continue the game saved in FOLDER")
    game.add_argument("--folder", type=Path, default=None, help="where the game is saved (default games/SCENARIO-TIME)")
    game.add_argument("--seed", type=int, default=0)
    game.add_argument("--years-per-round", type=int, default=2)
    game.add_argument("--round-seconds", type=float, default=180.0, help="countdown of a round (0: no countdown)")
    game.add_argument("--replay", type=Path, default=None, metavar="GAME_TOML", help="re-run an exported game.toml (with --out)")
    game.add_argument("--out", type=Path, default=None, help="output folder of --replay")
    return parser


def parse_overrides(assignments: list[str]) -> dict[str, Any]:
    """`--set` strings to a key-path dictionary."""
    from regionsim.model.scenario import parse_set

    overrides: dict[str, Any] = {}
    for assignment in assignments:
        key, value = parse_set(assignment)
        overrides[key] = value
    return overrides


def cmd_run(args: argparse.Namespace) -> int:
    """Run a scenario and write its files."""
    from regionsim.model.run import parse_function_rows, parse_tables, run_to_directory

    started = time.perf_counter()
    overrides = parse_overrides(args.set)
    tables = parse_tables(args.tables)
    functions = "none" if args.no_function_rows else parse_function_rows(args.function_rows)
    model, out = run_to_directory(
        args.scenario, args.out, seed=args.seed, until=args.until, overrides=overrides, functions=functions, tables=tables
    )
    if not args.quiet:
        from regionsim.model.outputs import summary_table

        print(
            f"regionsim {VERSION}: {model.region.name}, seed {args.seed}, "
            f"{model.region.base_year}–{model.state.year}, {time.perf_counter() - started:.2f} s"
        )
        print(summary_table(model))
        from regionsim.model.run import RUN_FILES

        print(f"wrote {out}/: {' '.join(name for name in RUN_FILES if (out / name).exists())}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Check scenarios; report all problems of all files."""
    from regionsim.model.errors import ScenarioError
    from regionsim.model.scenario import load_scenario

    overrides = parse_overrides(args.set)
    failed = False
    for ref in args.scenario:
        try:
            scenario = load_scenario(ref, overrides)
        except ScenarioError as exc:
            failed = True
            print(str(exc), file=sys.stderr)
            continue
        except UserError as exc:
            failed = True
            print(f"regionsim: error: {exc}", file=sys.stderr)
            continue
        data = scenario.data
        print(
            f"{scenario.path}: ok — {len(data['provinces'])} provinces, {len(data['cities'])} cities, "
            f"{len(data.get('links', []))} links, {len(data.get('targets', []))} targets, "
            f"{data['meta']['base_year']}–{data['meta']['horizon']}"
        )
    return 2 if failed else 0


def cmd_sources(args: argparse.Namespace) -> int:
    """Print every number with its source."""
    from regionsim.model.provenance import STATUSES, numbers_with_sources, status, status_counts
    from regionsim.model.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    rows = numbers_with_sources(scenario.data)
    missing = [r for r in rows if not r[2]]
    shown = missing if args.missing else [r for r in rows if args.status is None or status(r[2]) == args.status]
    width = max((len(r[0]) for r in shown), default=10)
    print(f"{'key path':<{width}}  {'value':>14}  source")
    for key, number, source in shown:
        print(f"{key:<{width}}  {number:>14}  {source or 'MISSING'}")
    print(f"{len(rows)} numbers, {len(rows) - len(missing)} with a source, {len(missing)} without")
    counts = status_counts(rows)
    print("by status: " + ", ".join(f"{name} {counts[name]}" for name in STATUSES if counts[name] or name in STATUSES[:5]))
    return 2 if missing else 0


def cmd_levers(args: argparse.Namespace) -> int:
    """Print every lever grouped by rule: the policy levers first, then the model assumptions (uncertainties)."""
    from regionsim.model.rules import REGISTRY
    from regionsim.model.rules.base import POLICY, UNCERTAINTY
    from regionsim.model.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    headings = {
        POLICY: "POLICY LEVERS / 政策杠杆 — choices a plan or a government makes",
        UNCERTAINTY: "MODEL ASSUMPTIONS / UNCERTAINTIES / 模型假设 — facts about the world the model estimates",
    }
    for role in (POLICY, UNCERTAINTY):
        print(f"\n{'=' * 8} {headings[role]} {'=' * 8}")
        for key, spec in REGISTRY.items():
            params = scenario.params[key]
            levers = [lever for lever in spec.levers if lever.role == role]
            if not levers and not (role == POLICY and spec.list_params):
                continue
            state = "on" if scenario.enabled(key) else "off"
            print(f"\n[rules.{key}]  {spec.id} — {spec.title_en} / {spec.title_zh}  ({state})")
            for lever in levers:
                bounds = "true/false" if lever.kind == "bool" else f"{lever.low:g}…{lever.high:g}"
                print(
                    f"  [{role}] {lever.name:<28} = {params[lever.name]!s:<10} [{bounds}]  {lever.label_en} / {lever.label_zh}"
                    f"  ({lever.clause})"
                )
            if role == POLICY:
                for name in spec.list_params:
                    print(f"  [{role}] {name:<28} = {params[name]!s}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """Print the shipped scenarios and variants."""
    from regionsim.model.scenario import SCENARIO_DIR, list_scenarios

    for name in list_scenarios():
        kind = "variant" if (SCENARIO_DIR / "variants" / f"{name}.toml").exists() else "scenario"
        print(f"{name:<48} {kind}")
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Start the Solara dashboard."""
    from regionsim.viz.server import serve

    return serve(args.scenario, host=args.host, port=args.port, open_browser=not args.no_open)


def cmd_game(args: argparse.Namespace) -> int:
    """Serve the classroom game (viz/game_server.py), or re-run an exported game's decisions."""
    if args.replay is not None:
        from regionsim.model import io
        from regionsim.model.game import replay
        from regionsim.model.run import write_results

        if args.out is None:
            raise UserError("--replay needs --out DIR")
        model = replay(args.replay)
        io.atomic_directory(args.out, lambda folder: write_results(model, folder, seed=model.scenario.rng or 0, timings={}))
        print(f"regionsim game: replayed {args.replay} into {args.out}/")
        return 0
    from regionsim.viz.game_server import serve

    return serve(
        args.scenario,
        host=args.host,
        port=args.port,
        resume=args.resume,
        folder=args.folder,
        seed=args.seed,
        years_per_round=args.years_per_round,
        round_seconds=args.round_seconds,
    )


def cmd_sweep(args: argparse.Namespace) -> int:
    """`regionsim sweep FILE --out DIR [--workers N] [--scheduler ADDRESS] [--quiet]` (model/sweeps/)."""
    from regionsim.model.sweeps import load_sweep, open_results, run_sweep

    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers {args.workers}: must be 1 or more")
    spec = load_sweep(args.file)
    where = f"Dask scheduler {args.scheduler}" if args.scheduler else f"{args.workers or os.cpu_count()} local processes"
    if not args.quiet:
        print(
            f"sweep {spec.name}: {spec.design}, {spec.n_points} points × {spec.replicates} seeds = {spec.n_runs} runs "
            f"of {Path(spec.scenario).stem} to {spec.until}, {len(spec.levers)} inputs, on {where}",
            file=sys.stderr,
        )
    try:
        summary = run_sweep(spec, args.out, workers=args.workers, scheduler=args.scheduler, progress=not args.quiet)
    except KeyboardInterrupt:
        print(
            f"regionsim: sweep interrupted; finished runs are kept in {args.out}/parts. Run the same command again to finish the rest.",
            file=sys.stderr,
        )
        raise
    con = open_results(args.out)
    try:
        rows, runs, failed = con.execute(
            "SELECT count(*), count(DISTINCT run_id), count(*) FILTER (WHERE status <> 'ok') FROM runs"
        ).fetchone()
    finally:
        con.close()
    if not args.quiet:
        rate = summary["new"] / summary["seconds"] if summary["seconds"] > 0 else 0.0
        if summary["new"] == 0:
            print(f"nothing to do: all {summary['runs']} runs were already in {args.out}")
        else:
            print(
                f"ran {summary['new']} runs in {summary['seconds']:.1f} s ({rate:.1f} runs/s); {summary['done_before']} were already done"
            )
        print(
            f"{args.out}: {rows} rows for {runs} of {summary['runs']} runs, {failed} failed; "
            f"query {args.out}/sweep.duckdb (view runs; paths relative to the folder), design in {args.out}/design.parquet"
        )
    if failed:
        print(
            f"regionsim: {failed} runs failed; their rows hold the error (SELECT run_id, error FROM runs WHERE status = 'failed')",
            file=sys.stderr,
        )
    return 0 if runs == summary["runs"] else 1


def cmd_analyze(args: argparse.Namespace) -> int:
    """`regionsim analyze DIR [--method …]`: sensitivity of the outcomes, policy levers then uncertainties; a table and a PNG."""
    from regionsim.model.sweeps.analyze import analyze_folder

    analyze_folder(Path(args.folder), args.method)
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    """Write a synthetic scenario (model/synth.py)."""
    from regionsim.model.synth import cli_synth

    return cli_synth(args)


COMMANDS = {
    "run": cmd_run,
    "validate": cmd_validate,
    "sources": cmd_sources,
    "levers": cmd_levers,
    "list": cmd_list,
    "sweep": cmd_sweep,
    "analyze": cmd_analyze,
    "synth": cmd_synth,
    "dashboard": cmd_dashboard,
    "game": cmd_game,
}


class Terminated(BaseException):
    """SIGTERM arrived: unwind (temporary files are removed on the way) and exit with 128 + 15."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated


def _signal_behind(exc: BaseException) -> BaseException | None:
    """The KeyboardInterrupt or Terminated that `exc` was raised from (its cause or context chain), or None."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, (KeyboardInterrupt, Terminated)):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `regionsim` console script."""
    args = build_parser().parse_args(argv)
    if args.plans is not None:
        from regionsim.model.citations import PLAN_FILES

        missing = [f"{name}.txt" for name in PLAN_FILES if not (Path(args.plans) / f"{name}.txt").is_file()]
        if missing:
            print(f"regionsim: error: --plans {args.plans}: not a folder of the plan texts (missing {', '.join(missing)})", file=sys.stderr)
            return 2
        os.environ["REGIONSIM_PLANS_DIR"] = str(Path(args.plans).resolve())
    # `run` turns SIGTERM into a clean exit (the dashboard and sweeps handle signals themselves)
    handle = args.command == "run" and threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if handle else None
    try:
        return COMMANDS[args.command](args)
    except UserError as exc:
        print(f"regionsim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("regionsim: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("regionsim: terminated", file=sys.stderr)
        return 143
    except BrokenPipeError:
        return 0
    except ImportError as exc:
        # Ctrl-C or SIGTERM while a compiled extension initialises surfaces as "ImportError: initialization
        # failed" caused by the KeyboardInterrupt (or Terminated): the same interruption, said in one line
        signalled = _signal_behind(exc)
        if signalled is None:
            raise
        print(f"regionsim: {'terminated' if isinstance(signalled, Terminated) else 'interrupted'}", file=sys.stderr)
        return 143 if isinstance(signalled, Terminated) else 130
    finally:
        if handle:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
