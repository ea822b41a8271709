"""What every rule module declares: its id, the stage it runs in, its plan clauses, and its levers.

A lever is one number (or switch) a user may change in a scenario, with `--set`, or in the
dashboard. It has a valid range, a label in Chinese and English, and the plan clause it comes
from, so the loader can refuse an impossible value with a reason and the dashboard can explain it.

Each lever also has a role: POLICY when it is a choice a plan or a government makes (a rate, a
split, a switch, an incentive, a quota, a contribution), UNCERTAINTY when it is a fact about the
world the model estimates (a response elasticity, a decay, a lag, a productivity). `regionsim
levers` and the dashboard list the policy levers first and the uncertainties as model assumptions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Lever:
    """One adjustable parameter of a rule.

    `kind` is "float", "int" or "bool"; `low`/`high` bound numeric values (inclusive).
    """

    name: str
    default: Any
    low: float | None = None
    high: float | None = None
    label_en: str = ""
    label_zh: str = ""
    clause: str = ""
    kind: str = "float"
    role: str = "policy"
    """POLICY: a choice a plan or a government makes (a lever proper). UNCERTAINTY: a fact about the
    world we estimate (a response, a decay, an elasticity); calibrate these, never the policy levers."""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"lever {self.name!r}: role must be one of {', '.join(ROLES)}, not {self.role!r}")

    def check(self, value: Any) -> str | None:
        """Return why `value` is not valid for this lever, or None when it is.

        Python and numpy scalars are both accepted (`np.int64(3)`, `np.float32(0.5)`, `np.bool_(True)`);
        NaN and infinities are not numbers from a range; an int lever takes only whole numbers.
        """
        value = plain(value)
        if self.kind == "bool":
            return None if isinstance(value, bool) else "must be true or false"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a {'whole ' if self.kind == 'int' else ''}number {self._range()}"
        if not math.isfinite(value):
            return f"must be a finite number {self._range()}"
        if self.kind == "int" and int(value) != value:
            return f"must be a whole number {self._range()}"
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            return f"must be {self._range()}"
        return None

    def coerce(self, value: Any) -> Any:
        """`value` as this lever stores it: numpy scalars become Python ones, and an int lever's whole
        float (3.0) becomes an int (3). A value that is not valid is returned as it is, for `check`."""
        value = plain(value)
        if self.kind == "int" and isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        return value

    def _range(self) -> str:
        if self.low is not None and self.high is not None:
            return f"from {self.low:g} to {self.high:g}"
        if self.low is not None:
            return f"of at least {self.low:g}"
        if self.high is not None:
            return f"of at most {self.high:g}"
        return "(any)"


def plain(value: Any) -> Any:
    """A numpy scalar as the Python scalar it holds (`np.int64(3)` → 3, `np.bool_(True)` → True);
    anything else unchanged."""
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class RuleSpec:
    """A rule's identity: catalogue id, scenario key, stage, plan clauses and levers."""

    id: str
    key: str
    stage: str
    title_en: str
    title_zh: str
    clauses: tuple[str, ...]
    levers: tuple[Lever, ...] = field(default_factory=tuple)
    list_params: dict[str, str] = field(default_factory=dict)
    """The rule's settings that are not levers — lists of ids or sectors, tables by city, schedules, and
    display settings (e.g. TRANSFER's event-log threshold) that change no simulated quantity — each name
    with its kind; the scenario checker has one checker per kind (`_LIST_PARAM_CHECKS`)."""
    list_defaults: dict[str, Any] = field(default_factory=dict)
    """Default value of each non-numeric parameter."""

    def __post_init__(self) -> None:
        if self.stage not in PHASES:
            raise ValueError(f"{self.id}: stage {self.stage!r} is not one of {PHASES}")

    def lever(self, name: str) -> Lever | None:
        """The lever called `name`, or None."""
        for lever in self.levers:
            if lever.name == name:
                return lever
        return None

    def defaults(self) -> dict[str, Any]:
        """Every lever at its default value, plus `enabled`."""
        values = {lever.name: lever.default for lever in self.levers}
        values["enabled"] = True
        return values


PHASES = ("policy", "relocation", "transfer", "economy", "people", "environment", "money")
"""The phases of a year, in order: every rule runs in one (`RuleSpec.stage`), and the
yearly step (`regionsim.model.model.YEAR`) runs the rules in phase order."""


def rule_on(params: dict[str, Any], key: str) -> bool:
    """Whether rule `key` is switched on in these parameters: the one place that asks."""
    return bool(params[key]["enabled"])


POLICY = "policy"
UNCERTAINTY = "uncertainty"
ROLES = (POLICY, UNCERTAINTY)

ENABLED = Lever("enabled", True, kind="bool", label_en="Rule switched on", label_zh="启用规则")
"""The switch every rule has."""


@dataclass
class StepContext:
    """What a rule gets when it runs: the state arrays, every rule's parameters, the model's
    random generator and the event log. Rules consult other rules' switches through `on()`."""

    state: Any
    params: dict[str, dict[str, Any]]
    rng: Any
    events: Any

    @property
    def year(self) -> int:
        """The year being simulated."""
        return int(self.state.year)

    def on(self, key: str) -> bool:
        """Whether rule `key` is switched on."""
        return rule_on(self.params, key)


def city_name(state: Any, index: int, lang: str = "en") -> str:
    """A city's display name."""
    return state.city_names_en[index] if lang == "en" else state.city_names_zh[index]


def shares(weights: np.ndarray) -> np.ndarray:
    """`weights` as shares summing to 1 (equal shares when they are all 0): how an agreed payment is split among
    the payer's cities and among the recipient's (AIR's abatement payments, ECO_COMP's agreed payments)."""
    total = float(weights.sum())
    return weights / total if total > 0 else np.full(len(weights), 1.0 / max(len(weights), 1))


def party_cities(state: Any, party: str | list[str]) -> np.ndarray:
    """The city indices of a party of an agreement: a province id (its cities) or a list of city ids
    (TAX_SHARE's pair splits, ECO_COMP's agreements)."""
    if isinstance(party, str):
        return np.nonzero(state.city_province == state.province_ids.index(party))[0]
    index = {c: i for i, c in enumerate(state.city_ids)}
    return np.array(sorted(index[c] for c in party), dtype=int)


def fmt(value: float, digits: int = 1) -> str:
    """A number for an explanation sentence."""
    return f"{value:,.{digits}f}"
