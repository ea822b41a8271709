"""The classroom game without a browser: each role's decisions move what they should, and the game room
(join code, tokens, rounds, saving, resuming, debrief, export) holds under a forged request, a killed
process and 40 clients at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from regionsim.model.game import Game, Refused, apply_decisions, default_decisions, replay, resolve, roles_of
from regionsim.model.model import RegionModel

from tests.conftest import ROOT

SEED = 1


def run_with(decisions_by_role: dict[str, dict], until: int | None = None) -> RegionModel:
    """classroom from the base year with these decisions (on top of the scenario's) applied before the first step."""
    model = RegionModel("classroom", rng=SEED, until=until)
    base = {k: dict(v) for k, v in model.params.items()}
    roles = roles_of(model)
    offered = ["joint_control", "abatement_floor", "incentives", "fund", "eco_comp_payer"]
    decisions = default_decisions(base, roles, offered)
    for role, d in decisions_by_role.items():
        decisions[role].update(d)
    apply_decisions(model, decisions, base)
    return model.run()


def city_col(model: RegionModel, city: str, column: str) -> pd.Series:
    frame = model.agent_frame()
    return frame[(frame.agent_type == "city") & (frame.key == city)].set_index("year")[column]


def money(model: RegionModel, rule: str) -> float:
    return float(model.model_frame()[f"money_{rule.lower()}_100m_yuan"].sum())


# --- decisions -----------------------------------------------------------------------------------------


def test_default_decisions_reproduce_the_scenario_exactly() -> None:
    plain = RegionModel("classroom", rng=SEED).run()
    game = run_with({})
    pd.testing.assert_frame_equal(plain.model_frame(), game.model_frame())
    pd.testing.assert_frame_equal(plain.event_frame(), game.event_frame())


def test_joint_control_members_listing_everyone_equals_the_empty_list() -> None:
    empty = RegionModel("classroom", rng=SEED).run()
    listed = RegionModel("classroom", rng=SEED, **{"rules.joint_control.members": ["east", "west"]}).run()
    pd.testing.assert_frame_equal(empty.model_frame(), listed.model_frame())


def test_a_province_outside_joint_control_neither_abates_more_nor_pays_or_is_paid() -> None:
    both = run_with({})
    east_only = run_with({"west": {"joint_control": False}})
    nobody = run_with({"east": {"joint_control": False}, "west": {"joint_control": False}})
    assert money(both, "JOINT_CONTROL") > 1.0  # the Capital pays Mill Town (tests/test_classroom_story.py)
    assert money(east_only, "JOINT_CONTROL") == 0.0  # payments cross the border only between members
    s = east_only.state
    west = s.city_province == s.province_ids.index("west")
    assert np.all(s.jc_abatement[west] == 0.0)
    assert nobody.params["joint_control"]["enabled"] is False
    # Mill Town's air: cleaner with both at the table than with West outside
    assert city_col(both, "milltown", "pm25").iloc[-1] < city_col(east_only, "milltown", "pm25").iloc[-1]


def test_own_abatement_effort_holds_the_province_goal_and_cleans_its_air() -> None:
    lax = run_with({"west": {"joint_control": False}, "east": {"joint_control": False}})
    effort = run_with({"west": {"joint_control": False, "abatement_floor": 0.4}, "east": {"joint_control": False}})
    west = effort.state.province_ids.index("west")
    assert lax.state.province_abatement_goal[west] < 0.4 <= effort.state.province_abatement_goal[west] + 1e-12
    assert city_col(effort, "milltown", "pm25").iloc[-1] < city_col(lax, "milltown", "pm25").iloc[-1] - 1.0
    events = effort.event_frame()
    assert events.why_en.str.contains("own commitment of 40%").any()


def test_receiving_incentives_draw_functions_to_the_city_that_offers_them() -> None:
    none = run_with({"east": {"incentives": {"capital": 0.0, "newtown": 0.0}}})
    strong = run_with({"east": {"incentives": {"capital": 0.0, "newtown": 3.0}}})
    assert city_col(strong, "newtown", "function_units").iloc[-1] > city_col(none, "newtown", "function_units").iloc[-1]


def test_fund_contributions_come_only_from_the_provinces_that_joined() -> None:
    off = run_with({})
    west_only = run_with({"west": {"fund": True}})
    both = run_with({"west": {"fund": True}, "east": {"fund": True}})
    assert money(off, "FUND") == 0.0
    assert 0.0 < money(west_only, "FUND") < money(both, "FUND")
    assert west_only.params["fund"]["members"] == ["west"]
    paid_in = west_only.event_frame().query("rule == 'FUND' and target == 'fund'")
    assert set(paid_in.units) == {2}  # West's two cities


def test_ecological_compensation_is_paid_only_by_the_provinces_that_chose_to() -> None:
    east = run_with({})
    nobody = run_with({"east": {"eco_comp_payer": False}})
    both = run_with({"west": {"eco_comp_payer": True}})
    assert money(east, "ECO_COMP") > 0.0
    assert money(nobody, "ECO_COMP") == 0.0
    payers = set(both.event_frame().query("rule == 'ECO_COMP'").source)
    assert {"capital", "newtown", "milltown"} <= payers
    assert "milltown" not in set(east.event_frame().query("rule == 'ECO_COMP'").source)


def test_resolve_switches_rules_off_when_nobody_takes_part() -> None:
    model = RegionModel("classroom", rng=SEED)
    base = model.params
    roles = roles_of(model)
    d = default_decisions(base, roles, ["joint_control", "fund", "eco_comp_payer"])
    for r in d.values():
        r.update(joint_control=False, fund=False, eco_comp_payer=False)
    values = resolve(d, base)
    assert values["joint_control", "enabled"] is False
    assert values["fund", "enabled"] is False and values["fund", "contribution_rate"] == 0.0
    assert values["eco_comp", "payment_10k_yuan_per_km2"] == 0.0 and values["eco_comp", "compensation_share"] == 0.0


# --- the game room -------------------------------------------------------------------------------------


def new_game(folder: Path, **kw) -> Game:
    return Game("classroom", folder, seed=SEED, years_per_round=kw.pop("years_per_round", 2), round_seconds=0, **kw)


def test_a_forged_role_is_refused_and_logged(tmp_path: Path) -> None:
    game = new_game(tmp_path / "g")
    east, _ = game.join(game.join_code, "Ann", role="east")
    with pytest.raises(Refused, match="You play East Province"):
        game.submit(east, "west", {"joint_control": False})
    with pytest.raises(Refused, match="Unknown session"):
        game.submit("made-up-token", "west", {"joint_control": False})
    with pytest.raises(Refused, match="join code"):
        game.join("WRONG1", "Eve")
    with pytest.raises(Refused, match="not one of your cities"):
        game.submit(east, "east", {"incentives": {"milltown": 1.0}})
    with pytest.raises(Refused, match="teacher"):
        game.end("not-the-key")
    assert game.pending == []
    assert [r["why"].split(":")[0] for r in game.refusals] == ["forged", "no player holds this token", "not the teacher's key"]
    logged = (tmp_path / "g" / "game.log").read_text().splitlines()
    assert len(logged) == 3 and "forged" in logged[0]
    saved = json.loads((tmp_path / "g" / "game.json").read_text())
    assert len(saved["refusals"]) == 3
    assert all("Ann" not in h and len(h) == 64 for h in saved["players"])  # tokens kept only as hashes


def test_names_are_sanitised_and_length_limited(tmp_path: Path) -> None:
    game = new_game(tmp_path / "g")
    token, _ = game.join(game.join_code.lower(), "<script>alert(1)</script>\n" + "x" * 100)
    name = game.player(token)["name"]
    assert "<" not in name and ">" not in name and len(name) <= 24


def test_a_submission_for_a_closed_round_is_refused(tmp_path: Path) -> None:
    game = new_game(tmp_path / "g")
    token, role = game.join(game.join_code, "Ann")
    game.step_round()
    with pytest.raises(Refused, match="Round 1 is closed"):
        game.submit(token, role, {"joint_control": False}, round_no=1)


def test_rounds_log_every_submission_and_decision_with_role_and_round(tmp_path: Path) -> None:
    game = new_game(tmp_path / "g")
    a, _ = game.join(game.join_code, "Ann", role="east")
    b, _ = game.join(game.join_code, "Bo", role="west")
    game.submit(a, "east", {"abatement_floor": 0.1})
    game.submit(b, "west", {"joint_control": False})
    game.submit(b, "west", {"joint_control": True})  # the last submission of a role wins
    game.step_round()
    events = game.model.event_frame().query("rule == 'GAME'")
    details = [json.loads(x) for x in events.detail]
    assert [d["seq"] for d in details if "seq" in d] == [1, 2, 3]
    decided = {(d["role"], d["decision"]): d["value"] for d in details if "decision" in d}
    assert decided["east", "abatement_floor"] == 0.1 and decided["west", "joint_control"] is True
    assert all(d["round"] == 1 for d in details)
    assert set(events.source) == {"east", "west"}


def play(game: Game, tokens: dict[str, str], script: list[dict[str, dict]]) -> None:
    for decisions in script[len(game.rounds) :]:
        for role, d in decisions.items():
            game.submit(tokens[role], role, d)
        game.step_round()


SCRIPT = [
    {"east": {"joint_control": True, "abatement_floor": 0.1}, "west": {"joint_control": False}},
    {"west": {"joint_control": True, "fund": True}, "east": {"fund": True}},
    {"east": {"eco_comp_payer": False, "incentives": {"newtown": 2.0}}, "west": {"abatement_floor": 0.3}},
    {"west": {"incentives": {"milltown": 0.5}}},
    {},
]


def outputs(model: RegionModel) -> tuple[pd.DataFrame, ...]:
    return model.model_frame(), model.agent_frame(), model.event_frame(), model.scorecard_frame()


def assert_same(a: RegionModel, b: RegionModel) -> None:
    for x, y in zip(outputs(a), outputs(b), strict=True):
        pd.testing.assert_frame_equal(x.reset_index(drop=True), y.reset_index(drop=True))


KILLED = """
import os, signal, sys
from pathlib import Path
from regionsim.model.game import Game
sys.path.insert(0, {root!r})
from tests.test_game import SCRIPT
game = Game("classroom", Path({folder!r}), seed=1, years_per_round=2, round_seconds=0)
tokens = {{}}
for role in game.roles:
    tokens[role] = game.join(game.join_code, "p-" + role, role=role)[0]
Path({tokens!r}).write_text(repr(tokens))
for decisions in SCRIPT[:2]:
    for role, d in decisions.items():
        game.submit(tokens[role], role, d)
    game.step_round()
game.submit(tokens["east"], "east", SCRIPT[2]["east"])  # round 3 half submitted
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_and_resumed_game_ends_identical_to_an_uninterrupted_one(tmp_path: Path) -> None:
    whole = new_game(tmp_path / "whole")
    tokens = {role: whole.join(whole.join_code, "p-" + role, role=role)[0] for role in whole.roles}
    play(whole, tokens, SCRIPT)
    assert whole.ended and whole.year == 2035

    folder, token_file = tmp_path / "killed", tmp_path / "tokens.txt"
    code = KILLED.format(root=str(ROOT), folder=str(folder), tokens=str(token_file))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    resumed = Game.resume(folder)
    assert len(resumed.rounds) == 2 and [s["role"] for s in resumed.pending] == ["east"]
    tokens = eval(token_file.read_text())  # noqa: S307 - the dict the killed process wrote
    resumed.submit(tokens["west"], "west", SCRIPT[2]["west"])  # the same tokens still act for their roles
    resumed.step_round()
    play(resumed, tokens, SCRIPT)
    assert_same(whole.model, resumed.model)
    assert whole.path.rows == resumed.path.rows


def test_forty_clients_lose_no_decision_and_apply_none_twice(tmp_path: Path) -> None:
    game = new_game(tmp_path / "g", years_per_round=1)
    clients = [game.join(game.join_code, f"s{i}") for i in range(40)]
    assert sorted({role for _, role in clients}) == ["east", "west"]
    for round_no in (1, 2, 3):
        seqs: list[int] = []
        lock = threading.Lock()

        def client(i: int, token: str, role: str, round_no: int = round_no, seqs: list[int] = seqs, lock=lock) -> None:
            value = round((i + 1) / 100 + round_no / 1000, 4)  # unique per client and round
            seq = game.submit(token, role, {"abatement_floor": value}, round_no=round_no)
            with lock:
                seqs.append(seq)

        threads = [threading.Thread(target=client, args=(i, t, r)) for i, (t, r) in enumerate(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(seqs) == 40 == len(set(seqs))
        record = game.step_round()
        assert len(record["submissions"]) == 40
        for role in game.roles:
            last = max((s for s in record["submissions"] if s["role"] == role), key=lambda s: s["seq"])
            assert record["decisions"][role]["abatement_floor"] == last["decisions"]["abatement_floor"]
    events = game.model.event_frame().query("rule == 'GAME' and kind == 'submission'")
    details = [json.loads(x) for x in events.detail]
    assert len(details) == 120 == len({d["seq"] for d in details})
    values = sorted((d["round"], d["decisions"]["abatement_floor"]) for d in details)
    assert values == sorted((r, round((i + 1) / 100 + r / 1000, 4)) for r in (1, 2, 3) for i in range(40))
    applied = game.model.event_frame().query("rule == 'GAME' and kind == 'decision' and unit == 'abatement_floor'")
    assert len(applied) == 3 * 2  # once per role per round


def test_debrief_compares_the_class_with_both_comparison_runs(tmp_path: Path) -> None:
    game = new_game(tmp_path / "g")
    for _ in range(3):
        game.step_round()
    debrief = game.debrief()
    paths = debrief["paths"]
    assert set(paths) == {"class", "no_coordination", "plan_as_written"}
    assert paths["class"]["years"] == list(range(2025, 2032))  # three rounds of two years, every year recorded
    assert paths["class"]["years"] == paths["plan_as_written"]["years"] == paths["no_coordination"]["years"]
    # a class that changed nothing followed the scenario as written, exactly
    assert paths["class"]["rows"] == paths["plan_as_written"]["rows"]
    last = {name: p["rows"][-1]["region"] for name, p in paths.items()}
    assert last["no_coordination"]["pm25_ugm3"] > last["plan_as_written"]["pm25_ugm3"] + 1.0
    assert last["no_coordination"]["money_moved_cumulative_100m_yuan"] < last["plan_as_written"]["money_moved_cumulative_100m_yuan"]


def test_the_export_is_a_run_folder_whose_game_file_replays_it(tmp_path: Path) -> None:
    game = new_game(tmp_path / "g")
    tokens = {role: game.join(game.join_code, role, role=role)[0] for role in game.roles}
    play(game, tokens, SCRIPT[:3])
    out = game.export(tmp_path / "export")
    for name in (
        "model.parquet",
        "agents.parquet",
        "events.parquet",
        "scorecard.csv",
        "scenario.toml",
        "run.json",
        "game.toml",
        "variant.toml",
    ):
        assert (out / name).is_file(), name
    assert "teacher_key" not in json.loads((out / "game.json").read_text())
    again = replay(out / "game.toml")
    assert_same(game.model, again)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "model.parquet"), again.model_frame(), check_dtype=False)


def test_the_variant_file_runs_and_repeats_a_game_whose_decisions_never_changed(tmp_path: Path) -> None:
    game = Game("classroom", tmp_path / "g", seed=SEED, years_per_round=10, round_seconds=0)
    token, role = game.join(game.join_code, "Ann", role="west")
    game.submit(token, role, {"joint_control": False, "abatement_floor": 0.25})
    game.step_round()
    assert game.ended
    out = game.export(tmp_path / "export")
    env = {**os.environ}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "regionsim.model.cli",
            "run",
            str(out / "variant.toml"),
            "--seed",
            str(SEED),
            "--out",
            str(tmp_path / "rerun"),
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "rerun" / "model.parquet"), pd.read_parquet(out / "model.parquet"))


def test_resume_of_a_folder_without_a_game_is_a_user_error(tmp_path: Path) -> None:
    from regionsim.model.errors import UserError

    with pytest.raises(UserError, match="not a game folder"):
        Game.resume(tmp_path)


# --- offers between roles ------------------------------------------------------------------------------


def two_players(folder: Path, **kw) -> tuple[Game, dict[str, str]]:
    game = new_game(folder, years_per_round=kw.pop("years_per_round", 1), **kw)
    return game, {role: game.join(game.join_code, "p-" + role, role=role)[0] for role in game.roles}


def province_net(model: RegionModel, rule: str | None = None) -> dict[str, float]:
    s = model.state
    net = s.province_sum(s.transfers.net(rule)[: s.n_cities])
    return {pid: float(net[i]) for i, pid in enumerate(s.province_ids)}


def test_an_accepted_offer_moves_money_conserved_and_buys_the_recipients_abatement(tmp_path: Path) -> None:
    plain, _ = two_players(tmp_path / "plain")
    game, tokens = two_players(tmp_path / "offer")
    offer = game.offer(tokens["east"], "east", "west", 20.0, 2)
    game.answer(tokens["west"], "west", offer, "accept")
    for round_no in (1, 2, 3):
        plain.step_round()
        record = game.step_round()
        paying = round_no <= 2  # accepted in round 1 for two rounds
        assert record["payments"] == ([["east", "west", 20.0]] if paying else [])
        air = province_net(game.model, "AIR")
        if paying:  # what East pays, West receives: 20 亿元 this year, nothing lost
            assert air["east"] == pytest.approx(-20.0) and air["west"] == pytest.approx(20.0)
            assert game.model.state.transfers.total("AIR") == pytest.approx(20.0)
        else:
            assert game.model.state.transfers.total("AIR") == 0.0
        assert abs(sum(game.model.state.transfers.net())) < 1e-9  # the whole ledger stays conserved
        with_offer, without = game.path.rows[-1], plain.path.rows[-1]
        if round_no == 1:
            # the payer's budget down, the recipient's up, the recipient's air cleaner the next year
            assert with_offer["east"]["net_received_100m_yuan"] < without["east"]["net_received_100m_yuan"] - 15.0
            assert with_offer["west"]["net_received_100m_yuan"] > without["west"]["net_received_100m_yuan"] + 15.0
            assert with_offer["west"]["pm25_ugm3"] < without["west"]["pm25_ugm3"] - 0.5
            west = game.model.state.city_province == game.model.state.province_ids.index("west")
            raised = game.model.state.abatement[west] - plain.model.state.abatement[west]
            cost = game.model.params["air"]["cost_10k_yuan_per_t"]
            from regionsim.model.rules import air as air_rule

            _, raw = air_rule.emissions(game.model.state)
            bought = 20.0 * 1e4 / cost / raw[west][:, air_rule.ABATED].sum()  # what 20 亿元 buys, as a share of West's tonnes
            assert raised == pytest.approx(np.full(west.sum(), bought), rel=0.05)
    events = game.model.event_frame()
    paid = events.query("rule == 'AIR' and kind == 'payment'")
    assert list(paid.year) == [2026, 2027] and set(paid.source) == {"east"} and set(paid.target) == {"west"}


def test_a_forged_acceptance_is_refused_and_logged(tmp_path: Path) -> None:
    game, tokens = two_players(tmp_path / "g")
    offer = game.offer(tokens["east"], "east", "west", 5.0, 1)
    with pytest.raises(Refused, match="Only west may accept"):
        game.answer(tokens["east"], "east", offer, "accept")  # the payer accepting its own offer
    with pytest.raises(Refused, match="You play East Province"):
        game.answer(tokens["east"], "west", offer, "accept")  # East's token claiming to be West
    with pytest.raises(Refused, match="Unknown session"):
        game.answer("made-up-token", "west", offer, "accept")
    with pytest.raises(Refused, match="Only east may withdraw"):
        game.answer(tokens["west"], "west", offer, "withdraw")
    assert [r["why"].split(":")[0] for r in game.refusals] == ["forged"] * 2 + ["no player holds this token", "forged"]
    assert len((tmp_path / "g" / "game.log").read_text().splitlines()) == 4
    assert game.offers()[offer]["status"] == "open"
    game.answer(tokens["west"], "west", offer, "decline")
    with pytest.raises(Refused, match="declined, not open"):
        game.answer(tokens["west"], "west", offer, "accept")
    assert game.step_round()["payments"] == []
    assert game.model.state.transfers.total("AIR") == 0.0


def test_offers_are_checked(tmp_path: Path) -> None:
    game, tokens = two_players(tmp_path / "g")
    limit = game.offer_limit("west")
    assert limit == pytest.approx(0.1 * 288.0)  # a tenth of West's base-year tax revenue
    with pytest.raises(Refused, match="at most"):
        game.offer(tokens["west"], "west", "east", limit + 1.0, 1)
    with pytest.raises(Refused, match="more than 0"):
        game.offer(tokens["west"], "west", "east", 0.0, 1)
    with pytest.raises(Refused, match="rounds"):
        game.offer(tokens["west"], "west", "east", 1.0, 0)
    with pytest.raises(Refused, match="other roles"):
        game.offer(tokens["west"], "west", "west", 1.0, 1)
    with pytest.raises(Refused, match="no offer"):
        game.answer(tokens["west"], "west", 99, "accept")
    assert game.pending_offers == []


def test_every_offer_acceptance_decline_and_withdrawal_is_an_event_with_role_and_round(tmp_path: Path) -> None:
    game, tokens = two_players(tmp_path / "g")
    a = game.offer(tokens["east"], "east", "west", 5.0, 1)
    b = game.offer(tokens["west"], "west", "east", 2.0, 1)
    game.answer(tokens["west"], "west", a, "accept")
    game.answer(tokens["east"], "east", b, "decline")
    game.step_round()
    c = game.offer(tokens["east"], "east", "west", 3.0, 2)
    game.answer(tokens["east"], "east", c, "withdraw")
    game.step_round()
    events = game.model.event_frame().query("rule == 'GAME' and kind in ('offer', 'acceptance', 'decline', 'withdrawal')")
    details = [json.loads(x) for x in events.detail]
    assert [(d["round"], d["role"], d["action"], d["offer"]) for d in details] == [
        (1, "east", "offer", a),
        (1, "west", "offer", b),
        (1, "west", "accept", a),
        (1, "east", "decline", b),
        (2, "east", "offer", c),
        (2, "east", "withdraw", c),
    ]
    assert list(events.source) == [d["role"] for d in details]
    assert list(events.year) == [2026] * 4 + [2027] * 2
    assert {o["id"]: o["status"] for o in game.offers().values()} == {a: "accepted", b: "declined", c: "withdrawn"}


def test_offers_survive_a_resume_and_replay_from_the_export(tmp_path: Path) -> None:
    def opening(game: Game, tokens: dict[str, str]) -> int:
        offer = game.offer(tokens["east"], "east", "west", 15.0, 3)
        game.answer(tokens["west"], "west", offer, "accept")
        game.step_round()
        return game.offer(tokens["west"], "west", "east", 4.0, 1)  # left open when the process stops

    whole, tokens = two_players(tmp_path / "whole")
    second = opening(whole, tokens)
    whole.answer(tokens["east"], "east", second, "accept")
    for _ in range(3):
        whole.step_round()

    stopped, tokens2 = two_players(tmp_path / "stopped")
    opening(stopped, tokens2)
    resumed = Game.resume(tmp_path / "stopped")  # game.json as saved after the last action
    assert resumed.offers() == stopped.offers() and resumed.offers()[second]["status"] == "open"
    resumed.answer(tokens2["east"], "east", second, "accept")
    for _ in range(3):
        resumed.step_round()
    assert_same(whole.model, resumed.model)
    assert [r["payments"] for r in resumed.rounds] == [
        [["east", "west", 15.0]],
        [["east", "west", 15.0], ["west", "east", 4.0]],
        [["east", "west", 15.0]],
        [],
    ]
    out = resumed.export(tmp_path / "export")
    assert_same(resumed.model, replay(out / "game.toml"))
    from regionsim.model.scenario import load_scenario

    load_scenario(str(out / "variant.toml"))  # the final decisions, offers in force included, are a valid variant


# --- tax-sharing splits and ecological compensation between roles ---------------------------------------


def tax_share_paid(model: RegionModel, hosts: set[str], origins: set[str]) -> pd.Series:
    """TAX_SHARE money paid each year by cities `hosts` to cities `origins` (亿元; from the payment events, which the
    ledger records one for one)."""
    events = model.event_frame().query("rule == 'TAX_SHARE' and kind == 'payment'")
    mine = events[events.source.isin(hosts) & events.target.isin(origins)]
    return mine.groupby("year").amount.sum()


def test_an_accepted_tax_split_gives_the_origin_that_share_from_the_round_it_is_accepted(tmp_path: Path) -> None:
    """Classroom: firms move from the Capital (East) to Mill Town (West) and New Town (East). West proposes that
    East, the origin, keeps 80% of the moved firms' taxes for three rounds; East accepts. The same firms move as
    without the offer, so Mill Town pays the Capital 0.8 / 0.5 = 1.6 times as much each of those years; New Town
    (East to East) still pays 50%."""
    plain, _ = two_players(tmp_path / "plain")
    game, tokens = two_players(tmp_path / "split")
    offer = game.offer(tokens["west"], "west", "east", None, 3, kind="tax_split", split=0.8, origin="east")
    game.answer(tokens["east"], "east", offer, "accept")
    for round_no in (1, 2, 3, 4):
        plain.step_round()
        record = game.step_round()
        assert record["tax_splits"] == ([["east", "west", 0.8]] if round_no <= 3 else [])
        assert abs(sum(game.model.state.transfers.net())) < 1e-9  # the ledger stays conserved
    assert game.model.params["tax_share"]["pair_split"] == []  # the split ended with its rounds
    west_to_east = tax_share_paid(game.model, {"milltown", "greencounty"}, {"capital", "newtown"})
    before = tax_share_paid(plain.model, {"milltown", "greencounty"}, {"capital", "newtown"})
    years = [2026, 2027, 2028]
    assert before[years].min() > 1.0  # firms moved and paid in each of these years
    # 1.6 times, to 1e-6: the extra money feeds back on the firms' taxes only slightly (4e-8 by the third year)
    np.testing.assert_allclose(west_to_east[years], 1.6 * before[years], rtol=1e-6)
    assert west_to_east[years].sum() > before[years].sum() + 10.0  # the origin receives more over the same rounds
    within_east = tax_share_paid(game.model, {"newtown"}, {"capital"})
    pd.testing.assert_series_equal(within_east, tax_share_paid(plain.model, {"newtown"}, {"capital"}))
    said = game.model.event_frame().query("rule == 'TAX_SHARE' and source == 'milltown'").set_index("year").why_en
    assert "80% of the taxes" in said[2028] and "50% of the taxes" in said[2029]
    events = game.model.event_frame().query("rule == 'GAME' and kind in ('offer', 'acceptance')")
    details = [json.loads(x) for x in events.detail]
    assert [(d["role"], d["action"], d["kind"], d["split"], d["origin"], d["host"]) for d in details] == [
        ("west", "offer", "tax_split", 0.8, "east", "west"),
        ("east", "accept", "tax_split", 0.8, "east", "west"),
    ]
    assert "West Province hands East Province 80% of the taxes of firms that moved from East" in events.why_en.iloc[0]


def test_an_accepted_eco_comp_offer_moves_exactly_amount_times_years_to_the_water_source(tmp_path: Path) -> None:
    """East stops paying the scenario's ecological compensation and instead offers West 6 亿元 a year for two rounds
    of two years; West accepts. ECO_COMP then moves exactly 6 × 4 = 24 亿元, all from East's cities to Green
    County (West's water source), and nothing after."""
    game, tokens = two_players(tmp_path / "g", years_per_round=2)
    game.submit(tokens["east"], "east", {"eco_comp_payer": False})
    offer = game.offer(tokens["east"], "east", "west", 6.0, 2, kind="eco_comp")
    game.answer(tokens["west"], "west", offer, "accept")
    s = game.model.state
    for round_no in (1, 2, 3):
        record = game.step_round()
        assert record["eco_payments"] == ([["east", "west", 6.0]] if round_no <= 2 else [])
        net = dict(zip(s.city_ids, s.transfers.net("ECO_COMP")[: s.n_cities].tolist(), strict=True))
        paying = round_no <= 2
        assert net["greencounty"] == pytest.approx(6.0 if paying else 0.0, abs=1e-12)
        assert net["capital"] + net["newtown"] == pytest.approx(-6.0 if paying else 0.0, abs=1e-12)
        assert net["milltown"] == 0.0
    paid = game.model.event_frame().query("rule == 'ECO_COMP'")
    assert set(paid.kind) == {"agreed_payment"}  # the scenario's rates paid nothing: East chose not to pay
    assert list(paid.year) == [2026, 2027, 2028, 2029] and paid.amount.sum() == pytest.approx(24.0)
    assert set(paid.source) == {"east"} and set(paid.target) == {"west"}
    assert "Green County" in paid.why_en.iloc[0]
    acted = [json.loads(x) for x in game.model.event_frame().query("rule == 'GAME' and kind == 'acceptance'").detail]
    assert acted == [{**acted[0], "kind": "eco_comp", "amount": 6.0, "from": "east", "to": "west", "round": 1}]


def test_tax_split_and_eco_comp_offers_are_checked(tmp_path: Path) -> None:
    game, tokens = two_players(tmp_path / "g")
    assert game.offer_kinds == ["abatement", "tax_split", "eco_comp"]
    with pytest.raises(Refused, match="The origin's share of the taxes must be a number from 0 to 1"):
        game.offer(tokens["west"], "west", "east", None, 1, kind="tax_split", split=1.2, origin="east")
    with pytest.raises(Refused, match=r"The firms must move from West Province \(west\) or East Province \(east\)"):
        game.offer(tokens["west"], "west", "east", None, 1, kind="tax_split", split=0.6, origin="north")
    with pytest.raises(Refused, match=r"This kind of offer \(eco_comp\) goes to one of: none"):
        game.offer(tokens["west"], "west", "east", 1.0, 1, kind="eco_comp")  # East has no water source
    with pytest.raises(Refused, match="at most"):
        game.offer(tokens["east"], "east", "west", game.offer_limit("east") + 1, 1, kind="eco_comp")
    with pytest.raises(Refused, match="The kind of offer must be one of"):
        game.offer(tokens["east"], "east", "west", 1.0, 1, kind="gift")
    assert game.pending_offers == []


def test_tax_splits_and_eco_comp_offers_survive_resume_and_replay_and_make_a_valid_variant(tmp_path: Path) -> None:
    whole, tokens = two_players(tmp_path / "whole")
    a = whole.offer(tokens["west"], "west", "east", None, 4, kind="tax_split", split=0.7, origin="east")
    b = whole.offer(tokens["east"], "east", "west", 3.0, 4, kind="eco_comp")
    whole.answer(tokens["east"], "east", a, "accept")
    whole.answer(tokens["west"], "west", b, "accept")
    whole.step_round()
    resumed = Game.resume(tmp_path / "whole")
    assert resumed.offers() == whole.offers()
    for game in (whole, resumed):
        game.step_round()
    assert_same(whole.model, resumed.model)
    out = whole.export(tmp_path / "export")
    assert_same(whole.model, replay(out / "game.toml"))
    from regionsim.model.scenario import load_scenario

    variant = load_scenario(str(out / "variant.toml"))
    assert variant.params["tax_share"]["pair_split"] == [{"origin": "east", "host": "west", "split": 0.7}]
    assert variant.params["eco_comp"]["agreed_payments"] == [{"payer": "east", "recipient": "west", "amount": 3.0}]


# --- roles split by the lesson, and the lesson's score ------------------------------------------------------

HEBEI_REST = [
    "lf_north3",
    "langfang",
    "tangshan",
    "zhangjiakou",
    "chengde",
    "cangzhou",
    "qinhuangdao",
    "shijiazhuang",
    "hengshui",
    "xingtai",
    "handan",
]


def capital_game(folder: Path, setup: dict | None = None, **kw) -> tuple[Game, dict[str, str]]:
    game = Game("capital_region", folder, seed=SEED, years_per_round=1, round_seconds=0, setup=setup, **kw)
    return game, {role: game.join(game.join_code, "p-" + role, role=role)[0] for role in game.roles}


def test_the_capital_region_lesson_splits_hebei_into_two_roles_the_first_leading(tmp_path: Path) -> None:
    game, tokens = capital_game(tmp_path / "g")
    assert list(game.roles) == ["beijing", "tianjin", "hebei_rest", "xiongan_baoding"]
    rest, xa = game.roles["hebei_rest"], game.roles["xiongan_baoding"]
    assert (rest.province, rest.lead, xa.province, xa.lead) == ("hebei", True, "hebei", False)
    assert set(rest.cities) == set(HEBEI_REST) and xa.cities == ("xiongan", "baoding")
    assert game.choices_of("xiongan_baoding") == ["incentives"] and "joint_control" in game.choices_of("hebei_rest")
    # the two parts add up to Hebei
    s = game.model.state
    hebei = s.province_sum(s.population)[s.province_ids.index("hebei")] / 1e4
    assert game.path.base["hebei_rest"]["population_10k"] + game.path.base["xiongan_baoding"]["population_10k"] == pytest.approx(hebei)
    # a province-wide decision is the lead's: refused to the other part, with who makes it
    with pytest.raises(Refused, match="“Join joint air-pollution control” is a decision of the whole province, made by Rest of Hebei"):
        game.submit(tokens["xiongan_baoding"], "xiongan_baoding", {"joint_control": False})
    with pytest.raises(Refused, match="not one of your cities"):
        game.submit(tokens["xiongan_baoding"], "xiongan_baoding", {"incentives": {"shijiazhuang": 1.0}})
    with pytest.raises(Refused, match="Rest of Hebei \\(hebei_rest\\) makes them"):
        game.offer(tokens["xiongan_baoding"], "xiongan_baoding", "beijing", 1.0, 1)  # abatement payments: province to province
    game.submit(tokens["xiongan_baoding"], "xiongan_baoding", {"incentives": {"xiongan": 3.0, "baoding": 1.0}})
    game.submit(tokens["hebei_rest"], "hebei_rest", {"abatement_floor": 0.2, "joint_control": False})
    split = game.offer(tokens["xiongan_baoding"], "xiongan_baoding", "beijing", None, 2, kind="tax_split", split=0.3, origin="beijing")
    game.answer(tokens["beijing"], "beijing", split, "accept")
    game.step_round()
    p = game.model.params
    assert p["relocate"]["incentives"]["xiongan"] == 3.0 and p["relocate"]["incentives"]["baoding"] == 1.0
    assert p["policy"]["abatement_floor"] == {"hebei": 0.2}  # the lead's choice is Hebei's
    assert p["joint_control"]["members"] == ["beijing", "tianjin"]
    # the split holds between Beijing's cities and Xiong'an's and Baoding's only, not the rest of Hebei
    assert p["tax_share"]["pair_split"] == [{"origin": "beijing", "host": ["xiongan", "baoding"], "split": 0.3}]


def test_a_game_with_split_roles_that_changes_nothing_follows_the_scenario(tmp_path: Path) -> None:
    game, _ = capital_game(tmp_path / "g")
    game.step_round()
    game.step_round()
    plain = RegionModel("capital_region", rng=SEED, until=game.year).run()
    pd.testing.assert_frame_equal(plain.model_frame(), game.model.model_frame())
    pd.testing.assert_frame_equal(plain.event_frame(), game.model.event_frame().query("rule != 'GAME'").reset_index(drop=True))


@pytest.mark.parametrize(
    ("roles", "message"),
    [
        (
            [{"id": "xa", "province": "hebei", "name_en": "X", "name_zh": "雄", "cities": ["xiongan", "baoding"]}],
            "cities .* are in no role",
        ),
        (
            [
                {"id": "a", "province": "hebei", "name_en": "A", "name_zh": "甲", "cities": HEBEI_REST + ["xiongan"]},
                {"id": "b", "province": "hebei", "name_en": "B", "name_zh": "乙", "cities": ["xiongan", "baoding"]},
            ],
            r"game\.roles\[1\]\.cities: 'xiongan' is listed twice",
        ),
        (
            [{"id": "a", "province": "hebei", "name_en": "A", "name_zh": "甲", "cities": ["tj_main"]}],
            r"game\.roles\[0\]\.cities: 'tj_main' is in tianjin, not hebei",
        ),
        ([{"id": "a", "province": "hebei", "name_en": "A", "name_zh": "甲", "cities": ["atlantis"]}], r"unknown city 'atlantis'"),
        ([{"id": "hebei", "province": "hebei", "name_en": "A", "name_zh": "甲", "cities": ["xiongan"]}], r"game\.roles\[0\]\.id"),
        ([{"id": "a", "province": "mars", "name_en": "A", "name_zh": "甲", "cities": ["xiongan"]}], r"game\.roles\[0\]\.province"),
        ([{"id": "a", "province": "hebei", "cities": ["xiongan"]}], r"game\.roles\[0\]: must be a table with exactly"),
    ],
)
def test_a_bad_role_split_is_refused_naming_the_key(tmp_path: Path, roles: list, message: str) -> None:
    from regionsim.model.errors import UserError

    with pytest.raises(UserError, match=message):
        Game("capital_region", tmp_path / "g", seed=SEED, round_seconds=0, setup={"roles": roles})


def test_the_lesson_score_weights_change_the_score_as_computed_by_hand(tmp_path: Path) -> None:
    weights = {"gdp_per_head": 10.0, "clean_air": 60.0, "budget": 40.0}
    plain, _ = two_players(tmp_path / "plain")
    game = Game("classroom", tmp_path / "g", seed=SEED, years_per_round=1, round_seconds=0, setup={"score": weights})
    assert game.path.rows[0]["east"]["score"] == pytest.approx(110.0)  # the weights' sum at the start
    for g in (plain, game):
        g.step_round()
        g.step_round()
    for role in ("east", "west"):
        now, base = game.path.rows[-1][role], game.path.base[role]
        assert abs(now["net_received_cumulative_100m_yuan"]) > 1.0  # money moved (joint control, compensation): all terms count
        by_hand = (
            10.0 * (now["gdp_100m_yuan"] / now["population_10k"]) / (base["gdp_100m_yuan"] / base["population_10k"])
            + 60.0 * base["pm25_ugm3"] / now["pm25_ugm3"]
            + 40.0 * (1.0 + now["net_received_cumulative_100m_yuan"] / base["tax_100m_yuan"])
        )
        assert now["score"] == pytest.approx(by_hand, rel=1e-12)
        assert plain.path.rows[-1][role]["pm25_ugm3"] == pytest.approx(now["pm25_ugm3"])  # the same path, scored otherwise
        assert now["score"] != pytest.approx(plain.path.rows[-1][role]["score"], rel=1e-6)
    assert game.role_view("west")["weights"] == weights
    assert Game.resume(tmp_path / "g").weights == weights  # kept with the game
    from regionsim.model.errors import UserError

    with pytest.raises(UserError, match=r"game\.score: must be a table of all three weights"):
        Game("classroom", tmp_path / "bad", seed=SEED, round_seconds=0, setup={"score": {"clean_air": 100}})
    with pytest.raises(UserError, match=r"game\.score\.budget: must be a number from 0 to 1000"):
        Game("classroom", tmp_path / "bad2", seed=SEED, round_seconds=0, setup={"score": {**weights, "budget": -5}})


# --- issue 14: a teacher's walk-through -------------------------------------------------------------------------


def test_students_sharing_a_role_see_its_latest_decisions_and_who_submitted_last(tmp_path: Path) -> None:
    game = new_game(tmp_path / "g")
    ana, _ = game.join(game.join_code, "Ana", role="east")
    bo, _ = game.join(game.join_code, "Bo", role="east")
    assert game.role_decisions("east") == game.current["east"] and game.last_submission("east") is None
    seq = game.submit(ana, "east", {"abatement_floor": 0.3, "incentives": {"capital": 0.0, "newtown": 2.0}})
    view = game.role_view("east")
    assert view["draft"]["abatement_floor"] == 0.3 and view["draft"]["incentives"]["newtown"] == 2.0
    assert view["draft"]["joint_control"] == game.current["east"]["joint_control"]  # not submitted: the standing decision
    assert view["last_submission"] == {"name": "Ana", "seq": seq, "round": 1}
    seq2 = game.submit(bo, "east", {"joint_control": False})
    assert game.role_decisions("east")["joint_control"] is False and game.role_decisions("east")["abatement_floor"] == 0.3
    assert game.last_submission("east")["name"] == "Bo" and game.last_submission("east")["seq"] == seq2
    assert game.role_decisions("west") == game.current["west"]  # another role's form is untouched
    record = game.step_round()
    assert record["decisions"]["east"] == {**game.current["east"]} and game.current["east"]["abatement_floor"] == 0.3
    assert game.role_decisions("east") == game.current["east"] and game.last_submission("east") is None


def test_a_round_is_due_when_every_played_role_has_submitted_not_every_player(tmp_path: Path) -> None:
    game = new_game(tmp_path / "g")
    assert not game.due()  # nobody plays yet (and no countdown)
    ana, _ = game.join(game.join_code, "Ana", role="east")
    game.join(game.join_code, "Bo", role="east")
    cy, _ = game.join(game.join_code, "Cy", role="west")
    game.submit(ana, "east", {"abatement_floor": 0.1})
    assert not game.due()  # West has not submitted
    game.submit(cy, "west", {"fund": True})
    assert game.due()  # Bo need not submit: his role has


def test_the_teacher_removes_a_ghost_player(tmp_path: Path) -> None:
    game = new_game(tmp_path / "g")
    ana, _ = game.join(game.join_code, "Ana", role="east")
    ghost, _ = game.join(game.join_code, "Ana", role="west")  # the join page opened again
    h = next(h for h, p in game.players.items() if p["role"] == "west")
    with pytest.raises(Refused, match="Only the teacher"):
        game.remove_player("not-the-key", h)
    game.submit(ana, "east", {"abatement_floor": 0.1})
    assert not game.due()  # the ghost's role holds the round open
    game.remove_player(game.teacher_key, h)
    assert game.player(ghost) is None and len(game.players) == 1
    assert game.due()
    with pytest.raises(Refused, match="Unknown session"):
        game.submit(ghost, "west", {"fund": True})
    with pytest.raises(Refused, match="No such player"):
        game.remove_player(game.teacher_key, h)
    assert json.loads((tmp_path / "g" / "game.json").read_text())["players"].keys() == game.players.keys()


def test_offers_are_numbered_on_their_own_and_old_numbers_resume(tmp_path: Path) -> None:
    game, tokens = two_players(tmp_path / "g")
    game.submit(tokens["east"], "east", {"fund": True})  # submissions and answers do not use up offer numbers
    a = game.offer(tokens["east"], "east", "west", 5.0, 1)
    game.answer(tokens["west"], "west", a, "accept")
    game.submit(tokens["west"], "west", {"fund": True})
    b = game.offer(tokens["west"], "west", "east", 2.0, 1)
    game.step_round()
    c = game.offer(tokens["east"], "east", "west", 3.0, 2)
    assert (a, b, c) == (1, 2, 3)
    # a game saved before offers had their own counter numbered them by the sequence of all actions
    saved = json.loads((tmp_path / "g" / "game.json").read_text())
    for entry in saved["rounds"][0]["offers"]:
        entry["offer"] = {1: 2, 2: 6}[entry["offer"]]
    saved["pending_offers"][0]["offer"] = 7
    (tmp_path / "g" / "game.json").write_text(json.dumps(saved))
    old = Game.resume(tmp_path / "g")
    assert sorted(old.offers()) == [2, 6, 7] and old.offers()[2]["status"] == "accepted"
    assert old.offer(tokens["west"], "west", "east", 1.0, 1) == 8


def refusals_of(game: Game, tokens: dict[str, str]) -> list[Refused]:
    """The refusals a student can meet on their screen, one of each."""
    calls = [
        lambda: game.join("WRONG1", "Eve"),
        lambda: game.submit(tokens["east"], "west", {"fund": True}),
        lambda: game.submit("made-up", "east", {"fund": True}),
        lambda: game.submit(tokens["east"], "east", {"abatement_floor": 0.9}),
        lambda: game.submit(tokens["east"], "east", {"fund": "yes"}),
        lambda: game.submit(tokens["east"], "east", {"incentives": {"capital": 9.0}}),
        lambda: game.submit(tokens["east"], "east", {"incentives": {"milltown": 1.0}}),
        lambda: game.submit(tokens["east"], "east", {"fund": True}, round_no=7),
        lambda: game.offer(tokens["east"], "east", "west", 0.0, 1),
        lambda: game.offer(tokens["east"], "east", "west", 1.0, 0),
        lambda: game.offer(tokens["west"], "west", "east", None, 1, kind="tax_split", split=1.2, origin="east"),
        lambda: game.offer(tokens["west"], "west", "east", None, 1, kind="tax_split", split=0.5, origin="north"),
        lambda: game.offer(tokens["west"], "west", "east", 1.0, 1, kind="eco_comp"),
        lambda: game.offer(tokens["west"], "west", "east", 1.0, 1, kind="gift"),
        lambda: game.answer(tokens["west"], "west", 99, "accept"),
    ]
    out = []
    for call in calls:
        with pytest.raises(Refused) as caught:
            call()
        out.append(caught.value)
    return out


def test_refusals_are_plain_words_and_translated(tmp_path: Path) -> None:
    import re

    from regionsim.viz.game_text import REFUSALS_ZH, refusal

    game, tokens = two_players(tmp_path / "g")
    refused = refusals_of(game, tokens)
    for exc in refused:
        en, zh = refusal(exc, "en"), refusal(exc, "zh")
        assert not re.search(r"\b(amount|split|origin|rounds|kind|action|abatement_floor|incentives|fund)[.:]", en), en
        assert exc.key in REFUSALS_ZH, exc.key
        assert zh.startswith("被拒绝：") and re.search(r"[\u4e00-\u9fff]{2}", zh[4:]) and "{" not in zh, zh
        assert not re.search(r"\b(amount|split|origin|rounds|kind|must|Refused)\b", zh), zh
    amount = next(x for x in refused if x.key == "amount")
    assert str(amount) == f"The yearly amount must be more than 0 and at most {game.offer_limit('east'):,.1f} 亿元"
    assert refusal(amount, "zh") == f"被拒绝：每年金额须大于0且不超过{game.offer_limit('east'):,.1f}亿元"
    share = next(x for x in refused if x.key == "share")
    assert refusal(share, "zh") == "被拒绝：“自身减排力度（至少削减的排放比例）”须是0到0.7之间的比例"
    assert game.pending == [] and game.pending_offers == []


def test_the_screens_words_round_line_game_over_and_numbers_typed(tmp_path: Path) -> None:
    from regionsim.viz.game_app import game_over_line, number_problem, round_line

    assert round_line("zh", 2, 2027) == "第<b class='rs-round'>2</b>轮 · <b class='rs-year'>2027</b>年"
    assert round_line("en", 2, 2027) == "Round <b class='rs-round'>2</b> · Year <b class='rs-year'>2027</b>"
    assert game_over_line("en", 3, 2031) == "Game over after round 3 · 2031"
    assert game_over_line("zh", 3, 2031) == "博弈已结束：共3轮 · 2031年"
    assert number_problem("abc", "Own abatement", "en", 0.0, 0.7) == "“Own abatement”: “abc” is not a number."
    assert number_problem("0.9", "Own abatement", "en", 0.0, 0.7) == "“Own abatement” must be from 0 to 0.7, not 0.9."
    assert number_problem("0.9", "自身减排力度", "zh", 0.0, 0.7) == "“自身减排力度”须在0到0.7之间，而不是0.9。"
    assert number_problem(" 0.5 ", "x", "en", 0.0, 0.7) == "" and number_problem("nan", "x", "en") != ""
    game = new_game(tmp_path / "g")
    token, _ = game.join(game.join_code, "Ana", role="east")
    game.submit(token, "east", {"fund": True})
    game.step_round()
    game.end(game.teacher_key)
    status = game.status()
    assert status["ended"] and status["rounds_played"] == 1 and status["year"] == 2027


def test_a_split_role_is_told_its_lead_pays_for_abatement(tmp_path: Path) -> None:
    from regionsim.viz.game_app import no_target_words

    game = Game("capital_region", tmp_path / "g", seed=SEED, round_seconds=0)
    assert game.offer_targets("xiongan_baoding", "abatement") == []
    assert no_target_words(game, "xiongan_baoding", "abatement", "en") == (
        "Rest of Hebei makes payments for another province's abatement for Hebei."
    )
    assert "由" in no_target_words(game, "xiongan_baoding", "abatement", "zh")
    assert no_target_words(game, "beijing", "eco_comp", "en") == "No role can take this kind of offer from you."


def test_debrief_charts_have_one_legend_and_tick_the_first_and_last_year(tmp_path: Path) -> None:
    import re

    from regionsim.viz.game_app import debrief_charts_html
    from regionsim.viz.svg import Series, line_chart_svg

    def years_ticked(svg: str) -> list[int]:
        return [int(y) for y in re.findall(r'text-anchor="middle" fill="#444">(\d{4})</text>', svg)]

    series = [Series("a", list(range(2023, 2030)), [float(i) for i in range(7)], "#000", False)]
    assert years_ticked(line_chart_svg("t", series, width=290, height=190)) == [2025]  # the default, as the dashboard draws it
    assert years_ticked(line_chart_svg("t", series, width=290, height=190, end_years=True)) == [2023, 2025, 2029]
    wide = line_chart_svg("t", [Series("a", list(range(2020, 2041)), [0.0] * 21, "#000", False)], width=470, end_years=True)
    assert years_ticked(wide)[0] == 2020 and years_ticked(wide)[-1] == 2040 and 2030 in years_ticked(wide)
    game = new_game(tmp_path / "g")
    game.step_round()
    html = debrief_charts_html(game, "en")
    assert html.count("rs-debrief-legend") == 1  # one legend, above all the charts
    assert "rs-legend-no_coordination" in html
    svgs = re.findall(r"<svg xmlns.*?</svg>", html, re.S)
    assert len(svgs) == 12 and all(years_ticked(s)[0] == 2025 and years_ticked(s)[-1] == 2027 for s in svgs)
    assert all("rs-legend" not in s and "…" not in s for s in svgs)
    assert "Money received net, cumulative (亿元)" in html  # the whole title, in HTML that wraps


def test_the_variant_files_header_is_whole_sentences(tmp_path: Path) -> None:
    game = new_game(tmp_path / "g")
    game.step_round()
    header = [line[2:] for line in game.variant_toml().splitlines() if line.startswith("# ")]
    assert all(not line.rstrip().endswith(";") for line in header), header
    text = " ".join(header)
    assert "never changed its decisions. The offers accepted and in force in the last round are held from the base year too" in text
