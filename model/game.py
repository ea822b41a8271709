"""The classroom game: students play the provinces of one shared region, round by round.

Two layers, both plain Python (no server, no browser):

* **Decisions** — what one province (a *role*) may choose, and how the class's choices map onto the
  model's rule parameters before each round (`resolve`, `apply_decisions`):

  - `joint_control` (join joint air-pollution control): JOINT_CONTROL's `members`; nobody at the
    table switches the rule off (bohai_rim_outline L802–804「强化区域大气污染联防联控」);
  - `abatement_floor` (own end-of-pipe abatement effort, a share): POLICY's `abatement_floor`
    (bohai_rim_outline L802「贯彻落实大气污染防治行动计划」);
  - `incentives` (receiving incentive of each of the role's cities): RELOCATE's `incentives`
    (capital_metro_area L607「不低於在京水準」);
  - `fund` (contribute to the cooperation fund): FUND's `members`; nobody contributing sets the
    contribution rate to 0, and the fund stays on while it still holds money
    (bohai_rim_outline L1228「联合建立环渤海地区合作发展基金」);
  - `eco_comp_payer` (pay ecological compensation to the water-source areas): ECO_COMP's
    `payer_provinces`; nobody paying sets both payment rates to 0, while the water-source areas keep
    restricting polluting industry (bohai_rim_outline L790–792「横向生态补偿」).

  Offers between roles (`OFFER_KINDS`): a role proposes something to another role for a number of rounds;
  the other accepts or declines (the proposer may withdraw an open offer). Offers are numbered 1, 2, 3… on their
  own (a game saved when they shared the sequence of all actions keeps its numbers and continues after the
  highest). An accepted offer holds in every year of those rounds, from the round it was accepted in:

  - "abatement": pay an amount (亿元 a year) for the other's abatement — an agreed payment of AIR
    (`abatement_payments`, green_development L86「天津投入4亿元支持沧州、唐山两市治理大气污染」): the payer's
    cities pay the recipient's through the model's ledger, and the recipient's cities buy end-of-pipe
    abatement with it at AIR's cost per tonne. AIR's payments are between provinces, so these offers are
    made by and to lead roles (below);
  - "tax_split": the origin of relocated firms (either party) and their host agree the origin's share of
    those firms' taxes (TAX_SHARE's `pair_split` for contracts from the origin's cities to the host's,
    instead of `split_to_origin`; capital_metro_area L719「探索跨區域産業合作責任共擔和利益分享」); the latest
    accepted split of a pair holds;
  - "eco_comp": pay an amount (亿元 a year) of ecological compensation to a role with water-source cities
    (ECO_COMP's `agreed_payments`, on top of the scenario's rates: the payer's other cities pay the
    recipient's water-source cities through the ledger; bohai_rim_outline
    L790–792「鼓励地区间探索建立横向生态补偿…受益区之间开展横向生态补偿试点」).

  Every decision's default is what the scenario already sets, so a class that changes nothing follows
  the scenario exactly (`plan_as_written`). A role that does not submit in a round keeps its previous
  round's decisions. Students sharing a role see the role's decisions as its latest submission of the round set
  them (`role_decisions`, `last_submission`); a round is due when every role with a player has submitted.

* **Roles and score from the lesson** — the scenario's lesson (scenarios/lessons/NAME.toml) may hold a
  `[game]` table (`game_setup`): `[[game.roles]]` (id, province, name_en, name_zh, cities) split a
  province into several roles, each city of that province in exactly one of them; provinces not listed are
  one role each. City-level decisions (`CITY_CHOICES`: receiving incentives) belong to the role holding the
  city; the province-level ones (joint control, abatement floor, fund, eco-comp payer, payments for
  abatement) to the province's first-listed role, its *lead* (the student's screen says who that is). Tax
  splits and ecological compensation are agreed between any two roles, on their own cities. `score = {
  gdp_per_head, clean_air, budget }` sets the score's weights. The table is kept with the game (game.json,
  game.toml), so a resumed or replayed game keeps its roles and score.

* **The game** (`Game`) — one room for one scenario: a join code, one role per province, per-session
  tokens (a student acts only for the role the server gave their token; anything else is refused and
  logged), rounds that step the one shared model `years_per_round` years with the class's decisions,
  every submission, every offer, acceptance, decline and withdrawal, and every applied decision written to
  the run's event log (rule `GAME`, the role as
  source, the round in `detail`), the whole game saved atomically to its folder after every
  submission and every round, `Game.resume(folder)` that rebuilds the model by replaying the completed
  rounds (the model is deterministic for a seed and the same decisions, so it continues identically),
  a debrief against `no_coordination` and `plan_as_written` runs of the same scenario, and an export
  as a run folder like `regionsim run` writes plus `game.toml` (the rounds' decisions, which
  `regionsim game --replay` re-runs) and `variant.toml` (the final decisions as a variant file).

Score of a role (a teaching score, not a statistic; default weights are estimates chosen so a role starts
at 100; a lesson may set others): 40 × GDP per head ÷ its base-year value + 40 × base-year PM2.5 ÷ PM2.5
+ 20 × (1 + money received net since the start ÷ base-year tax revenue). It starts at the weights' sum.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import re
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from regionsim.model.errors import UserError
from regionsim.model.rules.eco_comp import AGREED_CLAUSE

LOG = logging.getLogger("regionsim.game")

FORMAT = 1
"""Version of `game.json`."""
STATE_FILE = "game.json"
LOG_FILE = "game.log"
MAX_NAME = 24
"""Longest player name kept (characters)."""
INCENTIVE_MAX = 3.0
"""Largest receiving incentive a role may offer in the game (RELOCATE's own check allows any number
from 0; 3 is a teaching bound: three times New Town's incentive in classroom)."""
OFFER_MAX_SHARE = 0.1
"""Largest yearly payment a role may offer, as a share of its base-year tax revenue (a teaching bound,
estimate: classroom's East could pay up to 191 亿元 a year, West 29)."""
OFFER_MAX_ROUNDS = 10
"""Most rounds an offer may run (a teaching bound)."""
OFFER_CLAUSE = "green_development L86「天津投入4亿元支持沧州、唐山两市治理大气污染」"
"""What an offer between roles carries out: one province paying another for its air-pollution control."""
OFFER_ACTIONS = {"offer": "offer", "accept": "acceptance", "decline": "decline", "withdraw": "withdrawal"}
"""An offer action → the kind of its event."""
TAX_SPLIT_CLAUSE = "capital_metro_area L719「探索跨區域産業合作責任共擔和利益分享」"
"""What a tax-split offer carries out: origin and host agree how they share a relocated firm's taxes."""
OFFER_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "abatement": (OFFER_CLAUSE, ("amount",)),
    "tax_split": (TAX_SPLIT_CLAUSE, ("split", "origin", "host")),
    "eco_comp": (AGREED_CLAUSE, ("amount",)),
}
"""Kind of offer → (the clause it carries out, its own fields): a payment for the other's abatement (AIR's
`abatement_payments`), the origin's share of relocated firms' taxes between the two (TAX_SHARE's `pair_split`),
ecological compensation to the other's water-source areas (ECO_COMP's `agreed_payments`)."""
SCORE_WEIGHTS = {"gdp_per_head": 40.0, "clean_air": 40.0, "budget": 20.0}
"""Teaching weights of the score (estimate: chosen so every role starts at 100)."""


class Refused(Exception):
    """A request the game will not carry out (forged role, wrong join code, closed round, bad value).

    The message is plain English for a student (no internal field names); `key` names the message and `values`
    fill it, so a screen can say it in another language (viz/game_text.py `refusal`)."""

    def __init__(self, message: str, key: str = "", **values: Any) -> None:
        super().__init__(message)
        self.key = key
        self.values = values


# --- decisions ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """One decision a role makes each round."""

    key: str
    kind: str  # "bool", "share" or "incentives"
    label_en: str
    label_zh: str
    explain_en: str
    explain_zh: str
    clause: str
    high: float = 1.0


CHOICES: dict[str, Choice] = {
    c.key: c
    for c in (
        Choice(
            "joint_control",
            "bool",
            "Join joint air-pollution control",
            "加入大气污染联防联控",
            "At the table, your cities clean up more whenever the region misses its shared PM2.5 target; you help pay "
            "for clean-up upwind that clears your air, and are paid for your clean-up that clears others'. Outside, "
            "you neither pay nor get paid.",
            "加入后，区域PM2.5未达共同目标时你的城市要多减排；上风向的治理让你受益，你要分担费用；你的治理让别人受益，别人付钱给你。"
            "不加入则既不付钱也拿不到钱。",
            "bohai_rim_outline L802–804「强化区域大气污染联防联控」",
        ),
        Choice(
            "abatement_floor",
            "share",
            "Own abatement effort (share of smoke removed at least)",
            "自身减排力度（至少削减的排放比例）",
            "Your province removes at least this share of its cities' smoke every year, whatever its own target says. "
            "Cleaner air for you and your neighbours downwind; the cost is lost output in your industry.",
            "无论本省目标如何，每年至少削减这一比例的排放。你和下风向邻居的空气更好；代价是本省工业产出减少。",
            "bohai_rim_outline L802「贯彻落实大气污染防治行动计划」",
        ),
        Choice(
            "incentives",
            "incentives",
            "Receiving incentives for relocated functions",
            "承接迁移功能的激励",
            "How much each of your cities offers firms and institutions that move (subsidies, pay parity). More brings "
            "jobs and taxes, and also their smoke.",
            "你的每座城市给迁入企业和机构的优惠（补贴、待遇不低于原地）。越高越能吸引就业和税收，也会带来排放。",
            "capital_metro_area L607「不低於在京水準」",
            high=INCENTIVE_MAX,
        ),
        Choice(
            "fund",
            "bool",
            "Contribute to the cooperation fund",
            "向合作发展基金出资",
            "Members put a share of their tax revenue into a common purse that pays for roads and rail in lagging "
            "members, ecological compensation and clean-up where the air is worst.",
            "成员按税收的一定比例出资；基金用于较落后成员的交通基础设施、生态补偿和空气最差地区的治理。",
            "bohai_rim_outline L1228「联合建立环渤海地区合作发展基金」",
        ),
        Choice(
            "eco_comp_payer",
            "bool",
            "Pay ecological compensation to water-source areas",
            "向水源地支付生态补偿",
            "The water-source counties keep polluting industry out to protect the water you drink. Paying them "
            "compensates the output they give up; if nobody pays, they still protect the water but get nothing.",
            "水源地为保护你喝的水而限制污染产业。付费是补偿它们放弃的产出；如果没人付费，它们照样保护水源但得不到补偿。",
            "bohai_rim_outline L790–792「横向生态补偿」",
        ),
    )
}


@dataclass(frozen=True)
class Role:
    """A province the class plays, or a part of one (a lesson may split a province, `game_setup`)."""

    id: str
    name_en: str
    name_zh: str
    cities: tuple[str, ...]
    city_names_en: tuple[str, ...]
    city_names_zh: tuple[str, ...]
    province: str = ""
    lead: bool = True
    """Makes its province's own decisions (the province's first-listed part, or the whole province)."""
    whole: bool = True
    """Holds every city of its province."""


CITY_CHOICES = ("incentives",)
"""Decisions made city by city: each city's belongs to the role holding the city. Every other decision (joint
control, abatement floor, fund, ecological-compensation payer) and every payment for abatement (AIR's payments
are between provinces) belongs to the province, and so to its lead role."""


def roles_of(model, parts: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Role]:
    """One role per province of the model, in the scenario's order; a province in `parts` (province id → its
    parts as the lesson lists them: id, name_en, name_zh, cities) is played by those parts instead, the
    first-listed leading. A role's cities keep the scenario's order."""
    s = model.state
    roles = {}
    for i, pid in enumerate(s.province_ids):
        listed = (parts or {}).get(pid) or [
            {"id": pid, "name_en": s.province_names_en[i], "name_zh": s.province_names_zh[i], "cities": None}
        ]
        for k, part in enumerate(listed):
            mine = set(part["cities"]) if part["cities"] is not None else None
            idx = [c for c in range(s.n_cities) if s.city_province[c] == i and (mine is None or s.city_ids[c] in mine)]
            roles[part["id"]] = Role(
                part["id"],
                part["name_en"],
                part["name_zh"],
                tuple(s.city_ids[c] for c in idx),
                tuple(s.city_names_en[c] for c in idx),
                tuple(s.city_names_zh[c] for c in idx),
                province=pid,
                lead=k == 0,
                whole=len(listed) == 1,
            )
    return roles


# --- the lesson's [game] table -----------------------------------------------------------------------


def lesson_setup(model) -> tuple[dict[str, Any], str]:
    """The `[game]` table of the lesson of the model's scenario (scenarios/lessons/NAME.toml, NAME the scenario
    or, for a variant, the first of its bases that has a lesson) and where it was read; ({}, "") without one."""
    import tomllib
    from importlib import resources

    folder = resources.files("regionsim.scenarios").joinpath("lessons")
    for path in model.region.chain:
        lesson = folder.joinpath(f"{Path(path).stem}.toml")
        if lesson.is_file():
            where = f"lessons/{Path(path).stem}.toml"
            try:
                table = tomllib.loads(lesson.read_text(encoding="utf-8")).get("game", {})
            except ValueError as exc:
                raise UserError(f"{where}: not valid TOML ({exc})") from None
            return table, where
    return {}, ""


ROLE_KEYS = ("id", "province", "name_en", "name_zh", "cities")


def _check_part(part: Any, at: str, model, seen: dict[str, str]) -> str:
    """One listed role of a lesson's `[game] roles`; return its province. `seen`: city → role so far."""
    s = model.state
    if not isinstance(part, dict) or set(part) != set(ROLE_KEYS):
        raise UserError(f"{at}: must be a table with exactly {', '.join(ROLE_KEYS)}")
    rid, pid = part["id"], part["province"]
    if not isinstance(rid, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", rid) or rid in s.province_ids:
        raise UserError(f"{at}.id: must be a new lowercase id (letters, digits, _), not a province id, not {rid!r}")
    if pid not in s.province_ids:
        raise UserError(f"{at}.province: unknown province {pid!r}; valid: {', '.join(s.province_ids)}")
    for name in ("name_en", "name_zh"):
        if not isinstance(part[name], str) or not part[name].strip():
            raise UserError(f"{at}.{name}: must be a non-empty name")
    if not isinstance(part["cities"], list) or not part["cities"]:
        raise UserError(f"{at}.cities: must be a non-empty list of city ids of {pid}")
    for city in part["cities"]:
        if city not in s.city_ids:
            raise UserError(f"{at}.cities: unknown city {str(city)[:40]!r}")
        home = s.province_ids[int(s.city_province[s.city_ids.index(city)])]
        if home != pid:
            raise UserError(f"{at}.cities: {city!r} is in {home}, not {pid}: a role holds cities of its own province only")
        if city in seen:
            raise UserError(f"{at}.cities: {city!r} is listed twice (also in role {seen[city]!r}): every city exactly once")
        seen[city] = rid
    return pid


def _check_roles(listed: Any, model, where: str) -> dict[str, list[dict[str, Any]]]:
    """A lesson's `[game] roles` (a list of parts of provinces), checked: province id → its parts, in order."""
    if not isinstance(listed, list):
        raise UserError(f"{where}: game.roles: must be a list of [[game.roles]] tables")
    s = model.state
    parts: dict[str, list[dict[str, Any]]] = {}
    seen: dict[str, str] = {}
    for k, part in enumerate(listed):
        at = f"{where}: game.roles[{k}]"
        pid = _check_part(part, at, model, seen)
        if part["id"] in {x["id"] for xs in parts.values() for x in xs}:
            raise UserError(f"{at}.id: {part['id']!r} is listed twice")
        parts.setdefault(pid, []).append(part)
    for pid in parts:
        i = s.province_ids.index(pid)
        missing = [c for c in range(s.n_cities) if s.city_province[c] == i and s.city_ids[c] not in seen]
        if missing:
            shown = ", ".join(s.city_ids[c] for c in missing)
            raise UserError(f"{where}: game.roles: {pid}'s cities {shown} are in no role: every city of a split province exactly once")
    return parts


def _check_score(score: Any, where: str) -> dict[str, float]:
    """A lesson's `[game] score` weights, checked."""
    keys = ", ".join(SCORE_WEIGHTS)
    if not isinstance(score, dict) or set(score) != set(SCORE_WEIGHTS):
        raise UserError(f"{where}: game.score: must be a table of all three weights {keys}, e.g. {{ gdp_per_head = 40, … }}")
    for key, value in score.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1000.0:
            raise UserError(f"{where}: game.score.{key}: must be a number from 0 to 1000, not {value!r}")
    if sum(float(v) for v in score.values()) <= 0:
        raise UserError(f"{where}: game.score: the weights must not all be 0")
    return {key: float(score[key]) for key in SCORE_WEIGHTS}


def game_setup(setup: Any, model, where: str = "game") -> tuple[dict[str, Role], dict[str, float]]:
    """The roles and score weights of a lesson's `[game]` table (module docstring), checked; UserError names the
    key path of the first problem. An empty table: one role per province and the default weights."""
    if not isinstance(setup, dict) or set(setup) - {"roles", "score"}:
        raise UserError(f"{where}: game: must be a table with roles and/or score")
    parts = _check_roles(setup["roles"], model, where) if "roles" in setup else {}
    weights = _check_score(setup["score"], where) if "score" in setup else dict(SCORE_WEIGHTS)
    return roles_of(model, parts), weights


def choices_for(params: dict[str, Any], model) -> list[str]:
    """The decisions this scenario offers (a rule a decision could not touch is left out)."""
    keys = ["joint_control"]
    if params["policy"]["enabled"]:
        keys.append("abatement_floor")
    if params["relocate"]["enabled"]:
        keys.append("incentives")
    keys.append("fund")
    if bool(np.any(model.state.water_source)):
        keys.append("eco_comp_payer")
    return keys


def offer_kinds_for(params: dict[str, Any], model) -> list[str]:
    """The kinds of offer this scenario allows (OFFER_KINDS): tax splits where functions move, ecological
    compensation where there are water-source areas."""
    kinds = ["abatement"]
    if params["relocate"]["enabled"]:
        kinds.append("tax_split")
    if bool(np.any(model.state.water_source)):
        kinds.append("eco_comp")
    return kinds


def role_choices(role: Role, offered: list[str]) -> list[str]:
    """The decisions of `offered` that belong to `role` (CITY_CHOICES to every role, the rest to lead roles)."""
    return [k for k in offered if role.lead or k in CITY_CHOICES]


def default_decisions(params: dict[str, Any], roles: dict[str, Role], offered: list[str]) -> dict[str, dict[str, Any]]:
    """Each role's decisions as the scenario already sets them."""
    jc, fund, eco = params["joint_control"], params["fund"], params["eco_comp"]
    out: dict[str, dict[str, Any]] = {}
    for rid, role in roles.items():
        pid = role.province or rid
        d: dict[str, Any] = {
            "joint_control": bool(jc["enabled"]) and (not jc["members"] or pid in jc["members"]),
            "fund": bool(fund["enabled"]) and (not fund["members"] or pid in fund["members"]),
            "eco_comp_payer": bool(eco["enabled"]) and (not eco["payer_provinces"] or pid in eco["payer_provinces"]),
            "abatement_floor": float((params["policy"].get("abatement_floor") or {}).get(pid, 0.0)),
            "incentives": {c: float((params["relocate"]["incentives"] or {}).get(c, 0.0)) for c in role.cities},
        }
        out[rid] = {k: v for k, v in d.items() if k in role_choices(role, offered)}
    return out


def check_decisions(raw: Any, role: Role, offered: list[str], max_abatement: float) -> dict[str, Any]:
    """The decisions in `raw` (from a browser), checked; raise Refused naming what is wrong."""
    if not isinstance(raw, dict):
        raise Refused("The decisions must be a table of choice = value", "table")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in offered:
            raise Refused(
                f"There is no decision {str(key)[:40]!r} here; valid: {', '.join(offered)}", "unknown_decision", key=str(key)[:40]
            )
        kind = CHOICES[key].kind
        if kind == "bool":
            if not isinstance(value, bool):
                raise Refused(f"“{CHOICES[key].label_en}” must be yes or no", "bool", choice=key)
            out[key] = value
        elif kind == "share":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= max_abatement:
                raise Refused(
                    f"“{CHOICES[key].label_en}” must be a share from 0 to {max_abatement:g}", "share", choice=key, high=max_abatement
                )
            out[key] = float(value)
        else:
            if not isinstance(value, dict):
                raise Refused("The incentives must be a table of city = incentive", "table")
            table = {}
            for city, number in value.items():
                if city not in role.cities:
                    raise Refused(
                        f"{str(city)[:40]!r} is not one of your cities ({', '.join(role.city_names_en)})",
                        "not_your_city",
                        city=str(city)[:40],
                        cities_en=", ".join(role.city_names_en),
                        cities_zh="、".join(role.city_names_zh),
                    )
                if isinstance(number, bool) or not isinstance(number, (int, float)) or not 0.0 <= float(number) <= INCENTIVE_MAX:
                    name_en, name_zh = (role.city_names_en[role.cities.index(city)], role.city_names_zh[role.cities.index(city)])
                    raise Refused(
                        f"The incentive of {name_en} must be a number from 0 to {INCENTIVE_MAX:g}",
                        "incentive",
                        city_en=name_en,
                        city_zh=name_zh,
                        high=INCENTIVE_MAX,
                    )
                table[city] = float(number)
            out[key] = table
    return out


def _province_of(decisions: dict[str, Any], roles: dict[str, Role] | None) -> dict[str, str]:
    """Each role's province (a role without `roles` is a province)."""
    return {r: (roles[r].province if roles else r) for r in decisions}


def _party_of(role: str, roles: dict[str, Role] | None) -> str | list[str]:
    """How the rules name a role's cities: its province id when it holds the whole province, else its city ids."""
    if roles is None or roles[role].whole:
        return roles[role].province if roles else role
    return list(roles[role].cities)


def _resolve_agreements(
    out: dict[tuple[str, str], Any],
    base: dict[str, Any],
    roles: dict[str, Role] | None,
    payments: list[list[Any]] | None,
    tax_splits: list[list[Any]] | None,
    eco_payments: list[list[Any]] | None,
) -> None:
    """The accepted offers in force as AIR's abatement_payments (between provinces), TAX_SHARE's pair_split and
    ECO_COMP's agreed_payments (between roles' cities), after the scenario's own entries."""
    if payments is not None:
        out["air", "abatement_payments"] = [list(x) for x in base["air"].get("abatement_payments") or []] + [
            [roles[a].province if roles else str(a), roles[b].province if roles else str(b), float(x)] for a, b, x in payments
        ]
    if tax_splits is not None:
        b = base["tax_share"]
        out["tax_share", "pair_split"] = copy.deepcopy(b.get("pair_split") or []) + [
            {"origin": _party_of(o, roles), "host": _party_of(h, roles), "split": float(s)} for o, h, s in tax_splits
        ]
        if not b["enabled"]:  # a scenario without tax sharing: only the agreed pairs share
            out["tax_share", "enabled"] = bool(tax_splits)
            out["tax_share", "split_to_origin"] = 0.0
    if eco_payments is not None:
        out["eco_comp", "agreed_payments"] = copy.deepcopy(base["eco_comp"].get("agreed_payments") or []) + [
            {"payer": _party_of(a, roles), "recipient": _party_of(b, roles), "amount": float(x)} for a, b, x in eco_payments
        ]


def _resolve_money(
    out: dict[tuple[str, str], Any],
    decisions: dict[str, dict[str, Any]],
    base: dict[str, Any],
    members,
    everyone: set,
    fund_balance: float,
    agreed_eco: bool,
) -> None:
    """The fund and ecological compensation: who pays, and the rates (0 when nobody does)."""
    if any("fund" in d for d in decisions.values()):
        payers = members("fund")
        b = base["fund"]
        out["fund", "enabled"] = bool(b["enabled"]) or bool(payers) or fund_balance > 1e-9
        out["fund", "members"] = ([] if set(payers) == everyone else payers) if payers else list(b["members"] or [])
        out["fund", "contribution_rate"] = b["contribution_rate"] if payers else 0.0
    if any("eco_comp_payer" in d for d in decisions.values()):
        payers = members("eco_comp_payer")
        b = base["eco_comp"]
        out["eco_comp", "enabled"] = bool(b["enabled"]) or bool(payers) or agreed_eco
        listed = list(b["payer_provinces"] or [])
        if not payers or (set(payers) == everyone and not listed):
            out["eco_comp", "payer_provinces"] = listed  # nobody: rates 0 below; everyone: [] means every province
        else:
            out["eco_comp", "payer_provinces"] = payers
        out["eco_comp", "payment_10k_yuan_per_km2"] = b["payment_10k_yuan_per_km2"] if payers else 0.0
        out["eco_comp", "compensation_share"] = b["compensation_share"] if payers else 0.0


def resolve(
    decisions: dict[str, dict[str, Any]],
    base: dict[str, Any],
    fund_balance: float = 0.0,
    payments: list[list[Any]] | None = None,
    *,
    tax_splits: list[list[Any]] | None = None,
    eco_payments: list[list[Any]] | None = None,
    roles: dict[str, Role] | None = None,
) -> dict[tuple[str, str], Any]:
    """The rule parameters (rule key, name) → value that carry out the class's `decisions`, given the
    scenario's parameters `base` (and the fund's balance, which keeps a fund with money spending), and
    the accepted offers in force (None: no offers of that kind): `payments` ([payer role, recipient role,
    亿元 a year] for abatement), `tax_splits` ([origin role, host role, origin's share]) and `eco_payments`
    ([payer role, recipient role, 亿元 a year] of ecological compensation). `roles` maps role ids to their
    provinces and cities; without it every role is the province of the same id."""
    province = _province_of(decisions, roles)
    everyone = set(roles[r].province for r in roles) if roles else set(decisions)
    out: dict[tuple[str, str], Any] = {}
    _resolve_agreements(out, base, roles, payments, tax_splits, eco_payments)

    def members(key: str) -> list[str]:
        return sorted({province[r] for r, d in decisions.items() if d.get(key)})

    if any("joint_control" in d for d in decisions.values()):
        joined = members("joint_control")
        out["joint_control", "enabled"] = bool(joined)
        out["joint_control", "members"] = [] if set(joined) == everyone else joined
    if any("abatement_floor" in d for d in decisions.values()):
        floor = dict(base["policy"].get("abatement_floor") or {})
        for r, d in decisions.items():
            if "abatement_floor" not in d:
                continue
            if d["abatement_floor"] > 0:
                floor[province[r]] = float(d["abatement_floor"])
            else:
                floor.pop(province[r], None)
        out["policy", "abatement_floor"] = floor
    if any("incentives" in d for d in decisions.values()):
        incentives = dict(base["relocate"]["incentives"] or {})
        for d in decisions.values():
            for city, value in (d.get("incentives") or {}).items():
                if value or city in incentives:
                    incentives[city] = float(value)
        out["relocate", "incentives"] = incentives
    _resolve_money(out, decisions, base, members, everyone, fund_balance, bool(eco_payments))
    return out


def apply_decisions(
    model,
    decisions: dict[str, dict[str, Any]],
    base: dict[str, Any],
    payments: list[list[Any]] | None = None,
    **agreements: Any,
) -> dict[tuple[str, str], Any]:
    """Set the model's rule parameters to carry out `decisions` (and the accepted offers in force: `payments`,
    and `resolve`'s keywords tax_splits, eco_payments, roles) from its next step on; return them."""
    values = resolve(decisions, base, float(model.state.fund_balance), payments, **agreements)
    for (rule, name), value in values.items():
        model.params[rule][name] = copy.deepcopy(value)
    return values


def as_overrides(values: dict[tuple[str, str], Any]) -> dict[str, Any]:
    """`resolve`'s result as `--set` key paths (rules.KEY.NAME = value)."""
    return {f"rules.{rule}.{name}": value for (rule, name), value in sorted(values.items())}


# --- indicators and score ---------------------------------------------------------------------------


def city_roles(model, roles: dict[str, Role] | None) -> np.ndarray:
    """The number (in `roles`' order) of the role holding each city; without roles, its province's number."""
    s = model.state
    if roles is None:
        return np.asarray(s.city_province)
    number = {c: k for k, role in enumerate(roles.values()) for c in role.cities}
    return np.array([number[c] for c in s.city_ids], dtype=int)


def province_indicators(model, roles: dict[str, Role] | None = None) -> dict[str, dict[str, float]]:
    """This year's population (万), GDP (亿元), population-weighted PM2.5 (µg/m³), tax revenue and net
    money received this year (亿元) of each role (without `roles`: of each province)."""
    s = model.state
    which = city_roles(model, roles)
    ids = list(roles) if roles is not None else list(s.province_ids)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(which, weights=values, minlength=len(ids))

    pop = total(s.population)
    gdp = total(s.gdp())
    pm = total(s.population * s.pm25) / np.maximum(pop, 1e-9)
    tax = total(s.tax_revenue())
    net = total(s.transfers.net()[: s.n_cities]) if s.year > model.region.base_year else np.zeros(len(ids))
    return {
        pid: {
            "population_10k": float(pop[i]) / 1e4,  # the state counts persons
            "gdp_100m_yuan": float(gdp[i]),
            "pm25_ugm3": float(pm[i]),
            "tax_100m_yuan": float(tax[i]),
            "net_received_100m_yuan": float(net[i]),
        }
        for i, pid in enumerate(ids)
    }


def money_moved(model) -> float:
    """Money moved between cities (and the fund) this year (亿元)."""
    return float(model.state.transfers.total()) if model.state.year > model.region.base_year else 0.0


class Path_:
    """A run's yearly indicators of each role, cumulative money and scores (the class's, or a comparison run's)."""

    def __init__(self, model, roles: dict[str, Role] | None = None, weights: dict[str, float] | None = None) -> None:
        self.roles = roles
        self.weights = dict(weights or SCORE_WEIGHTS)
        self.years: list[int] = []
        self.rows: list[dict[str, dict[str, float]]] = []
        self.cumulative: dict[str, float] = {}
        self.moved = 0.0
        self.base: dict[str, dict[str, float]] = {}
        self.record(model)

    def record(self, model) -> None:
        """Add the model's current year."""
        row = province_indicators(model, self.roles)
        if not self.base:
            self.base = copy.deepcopy(row)
            self.cumulative = {p: 0.0 for p in row}
        for p, v in row.items():
            self.cumulative[p] += v["net_received_100m_yuan"]
            v["net_received_cumulative_100m_yuan"] = self.cumulative[p]
            v["score"] = score(v, self.base[p], self.weights)
        self.moved += money_moved(model)
        region = region_row(row)
        region["money_moved_cumulative_100m_yuan"] = self.moved
        row["region"] = region
        self.years.append(int(model.state.year))
        self.rows.append(row)

    def to_dict(self) -> dict[str, Any]:
        return {"years": self.years, "rows": self.rows}


def score(now: dict[str, float], base: dict[str, float], weights: dict[str, float] | None = None) -> float:
    """A role's teaching score (module docstring) with `weights` (default SCORE_WEIGHTS): their sum in the base year."""
    w = weights or SCORE_WEIGHTS
    gdp_pc = now["gdp_100m_yuan"] / max(now["population_10k"], 1e-9)
    gdp_pc0 = base["gdp_100m_yuan"] / max(base["population_10k"], 1e-9)
    return (
        w["gdp_per_head"] * gdp_pc / max(gdp_pc0, 1e-12)
        + w["clean_air"] * base["pm25_ugm3"] / max(now["pm25_ugm3"], 1e-9)
        + w["budget"] * (1.0 + now.get("net_received_cumulative_100m_yuan", 0.0) / max(base["tax_100m_yuan"], 1e-9))
    )


def region_row(row: dict[str, dict[str, float]]) -> dict[str, float]:
    """The region's totals (population-weighted PM2.5; mean score weighted by population)."""
    pop = sum(v["population_10k"] for v in row.values())
    return {
        "population_10k": pop,
        "gdp_100m_yuan": sum(v["gdp_100m_yuan"] for v in row.values()),
        "pm25_ugm3": sum(v["pm25_ugm3"] * v["population_10k"] for v in row.values()) / max(pop, 1e-9),
        "score": sum(v.get("score", 100.0) * v["population_10k"] for v in row.values()) / max(pop, 1e-9),
    }


# --- comparison runs ---------------------------------------------------------------------------------

NO_COORDINATION = {
    "rules.joint_control.enabled": False,
    "rules.eco_comp.enabled": False,
    "rules.tax_share.enabled": False,
    "rules.fund.enabled": False,
}
"""Each province for itself, as the shipped `…-no_coordination` variants set it (used when the scenario
ships no such variant, e.g. classroom)."""


def comparison_cases(scenario: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """name → (scenario or variant to run, overrides) for the debrief's two comparison runs."""
    from regionsim.model.scenario import list_scenarios

    shipped = set(list_scenarios())
    cases = {}
    for name, fallback in (("no_coordination", NO_COORDINATION), ("plan_as_written", {})):
        variant = f"{scenario}-{name}"
        cases[name] = (variant, {}) if variant in shipped else (scenario, dict(fallback))
    return cases


# --- offers between roles ------------------------------------------------------------------------------


def offers_from(actions: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Every offer's state after `actions` (in order): id → kind (OFFER_KINDS; "abatement" when not given),
    from, to, the kind's fields (amount in 亿元 a year; or split, origin and host), rounds, round made, status
    (open, accepted, declined, withdrawn) and, once accepted, its first and last round and the acceptance's
    sequence number."""
    offers: dict[int, dict[str, Any]] = {}
    for a in actions:
        if a["action"] == "offer":
            kind = a.get("kind", "abatement")
            offers[a["offer"]] = {
                "id": a["offer"],
                "kind": kind,
                "from": a["from"],
                "to": a["to"],
                **{f: a[f] for f in OFFER_KINDS[kind][1]},
                "rounds": a["rounds"],
                "made_round": a["round"],
                "by": a["name"],
                "status": "open",
            }
            continue
        offer = offers[a["offer"]]
        offer["status"] = {"accept": "accepted", "decline": "declined", "withdraw": "withdrawn"}[a["action"]]
        offer["answered_round"] = a["round"]
        if a["action"] == "accept":
            offer["first_round"], offer["last_round"] = a["round"], a["round"] + offer["rounds"] - 1
            offer["accepted_seq"] = a["seq"]
    return offers


def in_force(offers: dict[int, dict[str, Any]], round_no: int, kind: str) -> list[dict[str, Any]]:
    """The accepted offers of `kind` that hold in round `round_no`, by offer id."""
    return [
        o
        for _, o in sorted(offers.items())
        if o.get("kind", "abatement") == kind and o["status"] == "accepted" and o["first_round"] <= round_no <= o["last_round"]
    ]


def payments_in(offers: dict[int, dict[str, Any]], round_no: int) -> list[list[Any]]:
    """[payer, recipient, 亿元 a year] of the accepted abatement offers that pay in round `round_no`, by offer id."""
    return [[o["from"], o["to"], o["amount"]] for o in in_force(offers, round_no, "abatement")]


def splits_in(offers: dict[int, dict[str, Any]], round_no: int) -> list[list[Any]]:
    """[origin, host, origin's share] of the accepted tax-split offers in force in round `round_no`, in the order
    they were accepted (so the latest accepted split of a pair holds)."""
    held = sorted(in_force(offers, round_no, "tax_split"), key=lambda o: o["accepted_seq"])
    return [[o["origin"], o["host"], o["split"]] for o in held]


def eco_payments_in(offers: dict[int, dict[str, Any]], round_no: int) -> list[list[Any]]:
    """[payer, water-source recipient, 亿元 a year] of the accepted ecological-compensation offers that pay in
    round `round_no`, by offer id."""
    return [[o["from"], o["to"], o["amount"]] for o in in_force(offers, round_no, "eco_comp")]


def offer_words(o: dict[str, Any], roles: dict[str, Role], lang: str) -> str:
    """What an offer (or an action on one) agrees, in plain words."""
    kind, n = o.get("kind", "abatement"), o["rounds"]
    a, b = roles[o["from"]], roles[o["to"]]
    if lang == "zh":
        if kind == "tax_split":
            origin, host = roles[o["origin"]].name_zh, roles[o["host"]].name_zh
            return f"从{origin}迁往{host}的企业，税收的{o['split']:.0%}归迁出地{origin}，共{n}轮"
        what = "生态补偿（付给其水源地）" if kind == "eco_comp" else "减排费用"
        return f"{a.name_zh}每年向{b.name_zh}支付{o['amount']:,.1f}亿元{what}，共{n}轮"
    if kind == "tax_split":
        origin, host = roles[o["origin"]].name_en, roles[o["host"]].name_en
        return f"{host} hands {origin} {o['split']:.0%} of the taxes of firms that moved from {origin} to {host}, for {n} round(s)"
    what = "ecological compensation for its water-source areas" if kind == "eco_comp" else "for its abatement"
    return f"{a.name_en} pays {b.name_en} {o['amount']:,.1f} 亿元 a year {what}, for {n} round(s)"


# --- the game ----------------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def clean_name(name: Any) -> str:
    """A player's name: printable characters only, white space collapsed, at most MAX_NAME characters."""
    text = "".join(ch for ch in str(name or "") if ch.isprintable() and ch not in "<>&\"'`\\")
    text = re.sub(r"\s+", " ", text).strip()[:MAX_NAME]
    return text or "student"


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` whole or not at all (temporary sibling, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Game:
    """One game room: a scenario, its roles, players, rounds, and the shared model (module docstring)."""

    def __init__(
        self,
        scenario: str,
        folder: Path,
        *,
        seed: int = 0,
        years_per_round: int = 2,
        round_seconds: float = 180.0,
        join_code: str | None = None,
        teacher_key: str | None = None,
        setup: dict[str, Any] | None = None,
        _saved: dict[str, Any] | None = None,
    ) -> None:
        from regionsim.model.model import RegionModel

        self.lock = threading.RLock()
        self.folder = Path(folder)
        self.scenario = scenario
        self.seed = int(seed)
        if int(years_per_round) < 1:
            raise UserError(f"years per round must be 1 or more, not {years_per_round}")
        self.years_per_round = int(years_per_round)
        self.round_seconds = float(round_seconds)
        self.model = RegionModel(scenario, rng=self.seed)
        self.base_params = copy.deepcopy(self.model.params)
        where = "game"
        if setup is None:
            setup, where = lesson_setup(self.model)
        self.setup = copy.deepcopy(setup)
        """The lesson's `[game]` table the game was set up with (roles, score), kept for resume and replay."""
        self.roles, self.weights = game_setup(self.setup, self.model, where or "game")
        self.offered = choices_for(self.base_params, self.model)
        self.offer_kinds = offer_kinds_for(self.base_params, self.model)
        self.max_abatement = float(self.base_params["policy"]["max_abatement"])
        self.defaults = default_decisions(self.base_params, self.roles, self.offered)
        self.current = copy.deepcopy(self.defaults)
        """Each role's decisions in force (the last applied, or the scenario's)."""
        self.join_code = join_code or "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
        self.teacher_key = teacher_key or secrets.token_urlsafe(16)
        self.players: dict[str, dict[str, Any]] = {}  # token hash → {name, role}
        self.rounds: list[dict[str, Any]] = []
        self.pending: list[dict[str, Any]] = []
        self.pending_offers: list[dict[str, Any]] = []
        """Offer actions of the round being played (offer, accept, decline, withdraw), in order."""
        self.refusals: list[dict[str, Any]] = []
        self.seq = 0
        self.ended = False
        self.version = 0
        """Increases with every change a screen should show."""
        self.path = Path_(self.model, self.roles, self.weights)
        self.deadline = time.time() + self.round_seconds if self.round_seconds > 0 else None
        self._debrief: dict[str, Any] | None = None
        if _saved is not None:
            self._restore(_saved)
        self.save()

    # --- persistence -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Everything needed to resume (tokens only as hashes)."""
        return {
            "format": FORMAT,
            "scenario": self.scenario,
            "seed": self.seed,
            "years_per_round": self.years_per_round,
            "round_seconds": self.round_seconds,
            "join_code": self.join_code,
            "teacher_key": self.teacher_key,
            "setup": self.setup,
            "players": self.players,
            "rounds": self.rounds,
            "pending": self.pending,
            "pending_offers": self.pending_offers,
            "refusals": self.refusals,
            "seq": self.seq,
            "ended": self.ended,
        }

    def save(self) -> None:
        """Write game.json atomically."""
        with self.lock:
            atomic_write(self.folder / STATE_FILE, json.dumps(self.to_dict(), indent=1, ensure_ascii=False, sort_keys=True))

    @classmethod
    def resume(cls, folder: Path) -> Game:
        """The game saved in `folder`, continued from its last completed round (pending submissions kept)."""
        path = Path(folder) / STATE_FILE
        if not path.is_file():
            raise UserError(f"--resume {folder}: no {STATE_FILE} there (not a game folder)")
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"--resume {folder}: {STATE_FILE} cannot be read: {exc}") from None
        if saved.get("format") != FORMAT:
            raise UserError(f"--resume {folder}: {STATE_FILE} has format {saved.get('format')!r}, this regionsim reads {FORMAT}")
        return cls(
            saved["scenario"],
            folder,
            seed=saved["seed"],
            years_per_round=saved["years_per_round"],
            round_seconds=saved["round_seconds"],
            join_code=saved["join_code"],
            teacher_key=saved["teacher_key"],
            setup=saved.get("setup", {}),  # a game saved before lessons set up roles had one role per province
            _saved=saved,
        )

    def _restore(self, saved: dict[str, Any]) -> None:
        self.players = saved["players"]
        self.refusals = saved["refusals"]
        self.seq = saved["seq"]
        for record in saved["rounds"]:
            self._play(record)
        self.pending = saved["pending"]
        self.pending_offers = saved.get("pending_offers", [])
        self.ended = saved["ended"] or not self.model.running

    # --- players ---------------------------------------------------------------------------------
    def check_code(self, code: Any) -> None:
        """Refuse a wrong join code."""
        if not isinstance(code, str) or not secrets.compare_digest(code.strip().upper(), self.join_code):
            raise Refused("Wrong join code", "code")

    def join(self, code: Any, name: Any, role: str | None = None) -> tuple[str, str]:
        """A new player: (token, role). Without a role, the role with fewest players."""
        with self.lock:
            self.check_code(code)
            if role is not None and role not in self.roles:
                raise Refused(f"There is no role {str(role)[:40]!r}; roles: {', '.join(self.roles)}", "no_role", role=str(role)[:40])
            if role is None:
                counts = {r: 0 for r in self.roles}
                for p in self.players.values():
                    counts[p["role"]] += 1
                role = min(counts, key=lambda r: (counts[r], list(self.roles).index(r)))
            token = secrets.token_urlsafe(18)
            self.players[_hash(token)] = {"name": clean_name(name), "role": role}
            self.version += 1
            self.save()
            return token, role

    def player(self, token: Any) -> dict[str, Any] | None:
        """The player holding `token` (name, role), or None."""
        if not isinstance(token, str):
            return None
        return self.players.get(_hash(token))

    def remove_player(self, teacher_key: Any, token_hash: str) -> None:
        """The teacher removes a player (e.g. a second session a student opened by mistake): their token stops
        working; their submissions of this round stay (they were the role's)."""
        with self.lock:
            self.check_teacher(teacher_key)
            if token_hash not in self.players:
                raise Refused("No such player", "no_player")
            del self.players[token_hash]
            self.version += 1
            self.save()

    def reassign(self, teacher_key: Any, token_hash: str, role: str) -> None:
        """The teacher moves a player to another role."""
        with self.lock:
            self.check_teacher(teacher_key)
            if token_hash not in self.players or role not in self.roles:
                raise Refused("No such player or role", "no_player")
            self.players[token_hash]["role"] = role
            self.version += 1
            self.save()

    def check_teacher(self, key: Any) -> None:
        """Refuse anyone but the teacher."""
        if not isinstance(key, str) or not secrets.compare_digest(key, self.teacher_key):
            self._refuse("teacher", None, "not the teacher's key")
            raise Refused("Only the teacher may do this", "teacher")

    def _refuse(self, who: str, role: Any, why: str) -> None:
        entry = {"at": time.time(), "round": self.round, "who": who, "role": str(role)[:40], "why": why}
        self.refusals.append(entry)
        LOG.warning("refused: %s", entry)
        with open(self.folder / LOG_FILE, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.save()

    # --- rounds ----------------------------------------------------------------------------------
    @property
    def round(self) -> int:
        """The round being played (1-based)."""
        return len(self.rounds) + 1

    @property
    def year(self) -> int:
        return int(self.model.state.year)

    def _authorise(self, token: Any, role: Any, round_no: int | None = None) -> dict[str, Any]:
        """The player holding `token`, who must play `role` in an open game (and round `round_no`, if
        given). Refused (and logged) for an unknown token or a role that is not the token's."""
        player = self.player(token)
        if player is None:
            self._refuse("unknown session", role, "no player holds this token")
            raise Refused("Unknown session: join the game first", "session")
        if role != player["role"]:
            self._refuse(player["name"], role, f"forged: a player of {player['role']} acted for {role}")
            mine = self.roles[player["role"]]
            raise Refused(
                f"You play {mine.name_en} ({mine.id}), not {str(role)[:40]}",
                "forged",
                mine_en=mine.name_en,
                mine_zh=mine.name_zh,
                role=str(role)[:40],
            )
        if self.ended or not self.model.running:
            raise Refused("The game has ended", "ended")
        if round_no is not None and round_no != self.round:
            raise Refused(f"Round {round_no} is closed; this is round {self.round}", "closed", n=round_no, now=self.round)
        return player

    def submit(self, token: Any, role: Any, decisions: Any, round_no: int | None = None) -> int:
        """Record a player's decisions for their role in this round; return its sequence number.
        Refused (and logged) for an unknown token, a role that is not the token's, a closed round,
        or a bad value."""
        with self.lock:
            player = self._authorise(token, role, round_no)
            mine = role_choices(self.roles[role], self.offered)
            for key in decisions if isinstance(decisions, dict) else ():
                if key in self.offered and key not in mine:
                    lead = self.lead_of(role)
                    raise Refused(
                        f"“{CHOICES[key].label_en}” is a decision of the whole province, made by {lead.name_en} ({lead.id})",
                        "province_decision",
                        choice=key,
                        lead_en=lead.name_en,
                        lead_zh=lead.name_zh,
                    )
            checked = check_decisions(decisions, self.roles[role], mine, self.max_abatement)
            self.seq += 1
            self.pending.append(
                {"seq": self.seq, "round": self.round, "role": role, "name": player["name"], "player": _hash(token), "decisions": checked}
            )
            self.version += 1
            self.save()
            return self.seq

    def submitted(self) -> set[str]:
        """Roles with a submission in this round."""
        return {s["role"] for s in self.pending}

    def role_decisions(self, role: str) -> dict[str, Any]:
        """What `role`'s decisions for this round are now: its decisions in force, with this round's submissions
        for it applied in order (what `step_round` would apply). Students sharing a role start from this."""
        with self.lock:
            decisions = copy.deepcopy(self.current[role])
            for s in sorted(self.pending, key=lambda s: s["seq"]):
                if s["role"] == role:
                    decisions.update(copy.deepcopy(s["decisions"]))
            return decisions

    def last_submission(self, role: str) -> dict[str, Any] | None:
        """This round's latest submission for `role` (name, seq, round), or None."""
        with self.lock:
            mine = [s for s in self.pending if s["role"] == role]
            if not mine:
                return None
            last = max(mine, key=lambda s: s["seq"])
            return {"name": last["name"], "seq": last["seq"], "round": last["round"]}

    def played_roles(self) -> set[str]:
        """Roles with at least one player."""
        return {p["role"] for p in self.players.values()}

    def lead_of(self, role: str) -> Role:
        """The role that makes the province-wide decisions of `role`'s province."""
        province = self.roles[role].province
        return next(r for r in self.roles.values() if r.province == province and r.lead)

    def choices_of(self, role: str) -> list[str]:
        """The decisions `role` makes (`role_choices`)."""
        return role_choices(self.roles[role], self.offered)

    # --- offers ------------------------------------------------------------------------------------
    def offers(self) -> dict[int, dict[str, Any]]:
        """Every offer of the game so far, id → its state (`offers_from`)."""
        with self.lock:
            return offers_from([a for r in self.rounds for a in r.get("offers", [])] + self.pending_offers)

    def offer_limit(self, role: str) -> float:
        """The largest yearly payment `role` may offer (亿元; OFFER_MAX_SHARE of its base-year tax revenue)."""
        return OFFER_MAX_SHARE * float(self.path.base[role]["tax_100m_yuan"])

    def _act(self, player: dict[str, Any], token: Any, action: dict[str, Any]) -> int:
        self.seq += 1
        entry = {"seq": self.seq, "round": self.round, "name": player["name"], "player": _hash(token), **action}
        entry.setdefault("offer", max(self.offers(), default=0) + 1)  # offers count 1, 2, 3… on their own
        self.pending_offers.append(entry)
        self.version += 1
        self.save()
        return int(entry["offer"])

    def offer_targets(self, role: str, kind: str) -> list[str]:
        """The roles `role` may make an offer of `kind` to (in the roles' order)."""
        me, water = self.roles[role], self._water_roles()
        if kind == "abatement":  # AIR's payments are between provinces: their lead roles make them
            return [r for r, x in self.roles.items() if me.lead and x.lead and x.province != me.province]
        if kind == "eco_comp":  # to a role with water-source cities, from one with other cities
            return [r for r in self.roles if r != role and r in water] if self._has_other_cities(role) else []
        return [r for r in self.roles if r != role]

    def _water_roles(self) -> set[str]:
        water = {c for c, w in zip(self.model.state.city_ids, self.model.state.water_source, strict=True) if w}
        return {r for r, x in self.roles.items() if water & set(x.cities)}

    def _has_other_cities(self, role: str) -> bool:
        water = {c for c, w in zip(self.model.state.city_ids, self.model.state.water_source, strict=True) if w}
        return bool(set(self.roles[role].cities) - water)

    def _offer_terms(self, role: str, to: Any, kind: Any, amount: Any, split: Any, origin: Any) -> dict[str, Any]:
        """The kind's own fields of an offer by `role` to `to`, checked (Refused names what is wrong)."""
        if kind not in self.offer_kinds:
            raise Refused(f"The kind of offer must be one of {', '.join(self.offer_kinds)}", "kind")
        targets = self.offer_targets(role, kind)
        if to not in targets:
            if kind == "abatement" and not self.roles[role].lead:
                lead = self.lead_of(role)
                raise Refused(
                    f"Payments for abatement are between provinces: {lead.name_en} ({lead.id}) makes them for yours",
                    "lead_pays",
                    lead_en=lead.name_en,
                    lead_zh=lead.name_zh,
                )
            shown = ", ".join(self.roles[r].name_en for r in targets) or "none"
            raise Refused(
                f"This kind of offer ({kind}) goes to one of: {shown}",
                "target",
                targets_en=shown,
                targets_zh="、".join(self.roles[r].name_zh for r in targets) or "无",
            )
        if kind == "tax_split":
            if isinstance(split, bool) or not isinstance(split, (int, float)) or not 0.0 <= float(split) <= 1.0:
                raise Refused("The origin's share of the taxes must be a number from 0 to 1", "split")
            if origin not in (role, to):
                a, b = self.roles[role], self.roles[to]
                raise Refused(
                    f"The firms must move from {a.name_en} ({role}) or {b.name_en} ({to}): the role whose cities they leave",
                    "origin",
                    a_en=a.name_en,
                    a_zh=a.name_zh,
                    b_en=b.name_en,
                    b_zh=b.name_zh,
                )
            return {"split": float(split), "origin": origin, "host": to if origin == role else role}
        limit = self.offer_limit(role)
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not 0.0 < float(amount) <= limit:
            raise Refused(f"The yearly amount must be more than 0 and at most {limit:,.1f} 亿元", "amount", limit=limit)
        return {"amount": float(amount)}

    def offer(
        self, token: Any, role: Any, to: Any, amount: Any, rounds: Any, kind: Any = "abatement", split: Any = None, origin: Any = None
    ) -> int:
        """`role` makes role `to` an offer for `rounds` rounds from the round it is accepted in; return its id.
        Kinds (OFFER_KINDS): "abatement", to pay `amount` 亿元 a year for the other's abatement; "tax_split", that
        the origin (`origin`, `role` or `to`) receives `split` of the taxes of firms that moved from its cities to
        the other's; "eco_comp", to pay `amount` 亿元 a year of ecological compensation to the other's water-source
        cities. Refused (and logged, if forged) as `submit`."""
        with self.lock:
            player = self._authorise(token, role)
            if to not in self.roles or to == role:
                raise Refused(f"Make an offer to one of the other roles: {', '.join(r for r in self.roles if r != role)}", "other_role")
            terms = self._offer_terms(role, to, kind, amount, split, origin)
            if isinstance(rounds, bool) or not isinstance(rounds, int) or not 1 <= rounds <= OFFER_MAX_ROUNDS:
                raise Refused(f"The number of rounds must be a whole number from 1 to {OFFER_MAX_ROUNDS}", "rounds", n=OFFER_MAX_ROUNDS)
            action = {"action": "offer", "role": role, "kind": kind, "from": role, "to": to, **terms, "rounds": int(rounds)}
            return self._act(player, token, action)

    def answer(self, token: Any, role: Any, offer_id: Any, action: Any) -> None:
        """`role` accepts or declines an open offer made to it (`action` "accept" or "decline"), or
        withdraws an open offer it made ("withdraw"). Anyone else is refused, and logged."""
        with self.lock:
            player = self._authorise(token, role)
            if action not in ("accept", "decline", "withdraw"):
                raise Refused("You may accept, decline or withdraw an offer", "action")
            offer = self.offers().get(offer_id) if isinstance(offer_id, int) and not isinstance(offer_id, bool) else None
            if offer is None:
                raise Refused(f"There is no offer No. {str(offer_id)[:40]}", "no_offer", id=str(offer_id)[:40])
            party = offer["from"] if action == "withdraw" else offer["to"]
            if role != party:
                self._refuse(player["name"], role, f"forged: {role} may not {action} offer {offer_id} ({offer['from']} to {offer['to']})")
                raise Refused(
                    f"Only {party} may {action} offer No. {offer_id}",
                    "not_party",
                    party_en=self.roles[party].name_en,
                    party_zh=self.roles[party].name_zh,
                    action=action,
                    id=offer_id,
                )
            if offer["status"] != "open":
                raise Refused(f"Offer No. {offer_id} is {offer['status']}, not open", "not_open", id=offer_id, status=offer["status"])
            keep = ("kind", "from", "to", *OFFER_KINDS[offer["kind"]][1], "rounds")
            self._act(player, token, {"action": action, "role": role, "offer": offer_id, **{k: offer[k] for k in keep}})

    def due(self) -> bool:
        """Whether the round should close now: every role with a player has submitted (students sharing a role
        need not all submit), or time is up."""
        with self.lock:
            if self.ended or not self.model.running:
                return False
            played = self.played_roles()
            if played and played <= self.submitted():
                return True
            return self.deadline is not None and time.time() >= self.deadline

    def agreements(self, round_no: int) -> dict[str, list[list[Any]]]:
        """The accepted offers in force in round `round_no`: payments (abatement), tax_splits, eco_payments."""
        offers = self.offers()
        return {
            "payments": payments_in(offers, round_no),
            "tax_splits": splits_in(offers, round_no),
            "eco_payments": eco_payments_in(offers, round_no),
        }

    def seconds_left(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.time())

    def step_round(self) -> dict[str, Any]:
        """Close this round: merge the submissions (the last per role wins; missing roles keep their
        decisions), log them, apply them, step the model, save. Return the round's record."""
        with self.lock:
            if self.ended or not self.model.running:
                raise Refused("The game has ended", "ended")
            decisions = copy.deepcopy(self.current)
            for s in sorted(self.pending, key=lambda s: s["seq"]):
                decisions[s["role"]].update(copy.deepcopy(s["decisions"]))
            record = {
                "round": self.round,
                "year_from": self.year,
                "decisions": decisions,
                "submissions": self.pending,
                "offers": self.pending_offers,
                **self.agreements(self.round),
            }
            self._play(record)
            self.pending = []
            self.pending_offers = []
            self.deadline = time.time() + self.round_seconds if self.round_seconds > 0 else None
            if not self.model.running:
                self.ended = True
            self.version += 1
            self.save()
            return record

    def _play(self, record: dict[str, Any]) -> None:
        """Log, apply and step one round (also how `resume` replays the saved rounds)."""
        model, round_no = self.model, record["round"]
        first_year = self.year + 1
        for s in record["submissions"]:
            shown = json.dumps(s["decisions"], sort_keys=True)
            model.events.add(
                first_year,
                "GAME",
                "submission",
                s["role"],
                s["role"],
                units=int(s["seq"]),
                unit="submission no.",
                clause=CHOICES["joint_control"].clause,
                why_en=f"Round {round_no}: {s['name']} submits for {self.roles[s['role']].name_en}: {shown}",
                why_zh=(
                    f"第{round_no}轮：{s['name']}代表{self.roles[s['role']].name_zh}提交："
                    f"{json.dumps(s['decisions'], sort_keys=True, ensure_ascii=False)}"
                ),
                detail=json.dumps({"round": round_no, "role": s["role"], "seq": s["seq"], "decisions": s["decisions"]}, sort_keys=True),
            )
        for a in record.get("offers", []):
            self._log_offer(first_year, round_no, a)
        submitted = {s["role"] for s in record["submissions"]}
        for rid, d in record["decisions"].items():
            for key, value in sorted(d.items()):
                choice = CHOICES[key]
                shown = json.dumps(value, sort_keys=True)
                how_en = "" if rid in submitted else " (no submission: kept)"
                how_zh = "" if rid in submitted else "（未提交：沿用）"
                model.events.add(
                    first_year,
                    "GAME",
                    "decision",
                    rid,
                    "region",
                    amount=float(value) if isinstance(value, (bool, int, float)) else float(sum(value.values())),
                    unit=key,
                    clause=choice.clause,
                    why_en=f"Round {round_no}: {self.roles[rid].name_en} — {choice.label_en}: {shown}{how_en}",
                    why_zh=f"第{round_no}轮：{self.roles[rid].name_zh}——{choice.label_zh}：{shown}{how_zh}",
                    detail=json.dumps({"round": round_no, "role": rid, "decision": key, "value": value}, sort_keys=True),
                )
        apply_decisions(
            model,
            record["decisions"],
            self.base_params,
            record.get("payments", []),
            tax_splits=record.get("tax_splits", []),
            eco_payments=record.get("eco_payments", []),
            roles=self.roles,
        )
        for _ in range(self.years_per_round):
            if not model.running:
                break
            model.step()
            self.path.record(model)
        record["year_to"] = self.year
        self.current = copy.deepcopy(record["decisions"])
        self.rounds.append(record)
        self._debrief = None
        self.version += 1

    def _log_offer(self, year: int, round_no: int, a: dict[str, Any]) -> None:
        """One offer action as an event (rule GAME, the acting role as source, the other as target)."""
        other = a["to"] if a["role"] == a["from"] else a["from"]
        kind = a.get("kind", "abatement")
        verb_en = {"offer": "offers", "accept": "accepts", "decline": "declines", "withdraw": "withdraws"}[a["action"]]
        verb_zh = {"offer": "提议", "accept": "接受", "decline": "拒绝", "withdraw": "撤回"}[a["action"]]
        actor = self.roles[a["role"]]
        keys = ("round", "role", "seq", "action", "offer", "from", "to", "amount", "rounds")
        if kind != "abatement":
            keys = ("round", "role", "seq", "action", "offer", "kind", "from", "to", *OFFER_KINDS[kind][1], "rounds")
        self.model.events.add(
            year,
            "GAME",
            OFFER_ACTIONS[a["action"]],
            a["role"],
            other,
            units=int(a["offer"]),
            amount=float(a["split"] if kind == "tax_split" else a["amount"]),
            unit="origin's share of tax" if kind == "tax_split" else "100m yuan per year",
            clause=OFFER_KINDS[kind][0],
            why_en=f"Round {round_no}: {a['name']} for {actor.name_en} {verb_en} offer {a['offer']}: {offer_words(a, self.roles, 'en')}",
            why_zh=f"第{round_no}轮：{a['name']}代表{actor.name_zh}{verb_zh}第{a['offer']}号提议：{offer_words(a, self.roles, 'zh')}",
            detail=json.dumps({k: a[k] for k in keys}, sort_keys=True),
        )

    def end(self, teacher_key: Any) -> None:
        """The teacher ends the game (no more rounds)."""
        with self.lock:
            self.check_teacher(teacher_key)
            self.ended = True
            self.version += 1
            self.save()

    # --- what screens show -----------------------------------------------------------------------
    def role_view(self, role: str) -> dict[str, Any]:
        """A role's indicators now and at the start, its decisions in force, and whether it submitted."""
        with self.lock:
            now = self.path.rows[-1][role]
            return {
                "role": role,
                "year": self.year,
                "round": self.round,
                "now": dict(now),
                "base": dict(self.path.base[role]),
                "decisions": copy.deepcopy(self.current[role]),
                "draft": self.role_decisions(role),
                "last_submission": self.last_submission(role),
                "submitted": role in self.submitted(),
                "offers": [o for o in self.offers().values() if role in (o["from"], o["to"])],
                "offer_limit": self.offer_limit(role),
                "choices": self.choices_of(role),
                "lead": self.lead_of(role).id,
                "weights": dict(self.weights),
            }

    def status(self) -> dict[str, Any]:
        """Teacher's overview: round, year, who submitted, players per role, time left."""
        with self.lock:
            players: dict[str, list[str]] = {r: [] for r in self.roles}
            for p in self.players.values():
                players[p["role"]].append(p["name"])
            return {
                "round": self.round,
                "year": self.year,
                "horizon": self.model.until,
                "submitted": sorted(self.submitted()),
                "players": players,
                "seconds_left": self.seconds_left(),
                "ended": self.ended or not self.model.running,
                "rounds_played": len(self.rounds),
                "played": sorted(self.played_roles()),
                "refusals": len(self.refusals),
                "offers": list(self.offers().values()),
            }

    def debrief(self) -> dict[str, Any]:
        """The class's path against no_coordination and plan_as_written runs of the same scenario, seed
        and years (the runs stop where the class stopped): per role and region, each year."""
        from regionsim.model.model import RegionModel

        with self.lock:
            if self._debrief is not None:
                return self._debrief
            paths = {"class": self.path.to_dict()}
            for name, (scenario, overrides) in comparison_cases(self.scenario).items():
                model = RegionModel(scenario, rng=self.seed, **overrides)
                path = Path_(model, self.roles, self.weights)
                while model.running and model.state.year < self.year:
                    model.step()
                    path.record(model)
                paths[name] = path.to_dict()
            self._debrief = {"roles": list(self.roles), "weights": dict(self.weights), "paths": paths}
            return self._debrief

    # --- export ----------------------------------------------------------------------------------
    def game_toml(self) -> str:
        """The rounds' decisions as TOML (what `replay` re-runs)."""
        import tomlkit

        doc = tomlkit.document()
        doc.add(
            tomlkit.comment("A classroom game's decisions, round by round. Re-run it with: regionsim game --replay game.toml --out DIR")
        )
        doc["game"] = {"scenario": self.scenario, "seed": self.seed, "years_per_round": self.years_per_round}
        if self.setup:
            doc["game"]["setup"] = self.setup  # the lesson's roles and score the game was played with
        rounds = tomlkit.aot()
        for r in self.rounds:
            rounds.append(
                {
                    "round": r["round"],
                    "year_from": r["year_from"],
                    "year_to": r["year_to"],
                    "decisions": r["decisions"],
                    "submissions": r["submissions"],
                    "offers": r.get("offers", []),
                    "payments": r.get("payments", []),
                    "tax_splits": r.get("tax_splits", []),
                    "eco_payments": r.get("eco_payments", []),
                }
            )
        doc["rounds"] = rounds
        return tomlkit.dumps(doc)

    def variant_toml(self) -> str:
        """The class's final decisions as a variant file of the scenario (`regionsim run variant.toml`)."""
        import tomlkit

        last = self.rounds[-1] if self.rounds else {}
        values = as_overrides(
            resolve(
                self.current,
                self.base_params,
                payments=last.get("payments", []),
                tax_splits=last.get("tax_splits", []),
                eco_payments=last.get("eco_payments", []),
                roles=self.roles,
            )
        )
        doc = tomlkit.document()
        doc.add(tomlkit.comment("The classroom game's FINAL decisions, held from the base year: regionsim run variant.toml --seed"))
        doc.add(tomlkit.comment(f"{self.seed} --out DIR. It replays the game exactly only if the class never changed its decisions."))
        doc.add(tomlkit.comment("The offers accepted and in force in the last round are held from the base year too"))
        doc.add(tomlkit.comment("(rules.air.abatement_payments, rules.tax_share.pair_split, rules.eco_comp.agreed_payments)."))
        doc.add(tomlkit.comment("Every round's decisions are in game.toml (regionsim game --replay game.toml --out DIR)."))
        doc["variant"] = {
            "base": self.scenario,
            "name": f"{self.scenario}-game",
            "title_en": f"{self.scenario}: the class's final decisions in the game",
            "title_zh": f"{self.scenario}：课堂博弈中全班的最终决定",
        }
        doc["set"] = {key: value for key, value in values.items()}
        return tomlkit.dumps(doc)

    def export(self, out: Path) -> Path:
        """Write the game as a run folder (the files `regionsim run` writes) plus game.toml, variant.toml
        and game.json without the teacher's key; whole or not at all."""
        from regionsim.model import io
        from regionsim.model.run import write_results

        with self.lock:
            state = self.to_dict()
            state.pop("teacher_key")
            timings = {"years": self.year - self.model.region.base_year, "stages_s": dict(sorted(self.model.stage_seconds.items()))}

            def fill(folder: Path) -> None:
                write_results(self.model, folder, seed=self.seed, timings=timings)
                (folder / "game.toml").write_text(self.game_toml(), encoding="utf-8")
                (folder / "variant.toml").write_text(self.variant_toml(), encoding="utf-8")
                (folder / STATE_FILE).write_text(json.dumps(state, indent=1, ensure_ascii=False, sort_keys=True), encoding="utf-8")

            io.atomic_directory(Path(out), fill)
            return Path(out).resolve()


def replay(game_file: Path) -> Any:
    """Re-run the decisions of an exported `game.toml` from the base year; return the model."""
    import tomllib

    try:
        doc = tomllib.loads(Path(game_file).read_text(encoding="utf-8"))
        spec = doc["game"]
        rounds = doc.get("rounds", [])
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"{game_file}: not a game file ({exc})") from None
    with tempfile.TemporaryDirectory(prefix="regionsim-replay-") as folder:
        game = Game(
            spec["scenario"],
            Path(folder),
            seed=spec["seed"],
            years_per_round=spec["years_per_round"],
            round_seconds=0,
            setup=spec.get("setup", {}),
        )
        for r in rounds:
            record = {
                "round": r["round"],
                "year_from": r["year_from"],
                "decisions": r["decisions"],
                "submissions": r.get("submissions", []),
                "offers": r.get("offers", []),
                "payments": r.get("payments", []),
                "tax_splits": r.get("tax_splits", []),
                "eco_payments": r.get("eco_payments", []),
            }
            game._play(record)
        return game.model
