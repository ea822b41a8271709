"""What every rule module declares: its id, the stage it runs in, its plan clauses, and its levers.

A lever is one number (or switch) a user may change in a scenario, with `--set`, or in the
dashboard. It has a valid range, a label in Chinese and English, and the plan clause it comes
from, so the loader can refuse an impossible value with a reason and the dashboard can explain it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    help_en: str = ""
    role: str = "policy"
    """POLICY: a choice a plan or a government makes (a lever proper). UNCERTAINTY: a fact about the
    world we estimate (a response, a decay, an elasticity); calibrate these, never the policy levers."""

    def check(self, value: Any) -> str | None:
        """Return why `value` is not valid for this lever, or None when it is."""
        if self.kind == "bool":
            return None if isinstance(value, bool) else "must be true or false"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number from {self.low:g} to {self.high:g}"
        if self.kind == "int" and int(value) != value:
            return f"must be a whole number from {self.low:g} to {self.high:g}"
        if value != value or (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            return f"must be from {self.low:g} to {self.high:g}"
        return None


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
    list_params: tuple[str, ...] = ()
    """Names of non-numeric parameters (lists of ids or sectors) this rule accepts."""
    list_defaults: dict[str, Any] = field(default_factory=dict)
    """Default value of each non-numeric parameter."""

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
        return bool(self.params[key]["enabled"])


def city_name(state: Any, index: int, lang: str = "en") -> str:
    """A city's display name."""
    return state.city_names_en[index] if lang == "en" else state.city_names_zh[index]


def fmt(value: float, digits: int = 1) -> str:
    """A number for an explanation sentence."""
    return f"{value:,.{digits}f}"
