"""Lessons: a scenario's "predict, then play" script inside the dashboard (NetLogo's Info tab idea).

A lesson is a sibling file of its scenario, `scenarios/lessons/NAME.toml`, with a title, an intro
and a sequence of steps. Each step asks a question to predict (will a measured value go up, go
down or stay about the same?), says what to press and what to notice, and may set levers for the
step (`setup`, the override key paths of `regionsim run --set`). The dashboard records the class's
prediction before play and, once the model has moved on, shows it against what happened: the
measured value in the base year and now, and its direction.

Format (every text has `_en` and `_zh`):

    [lesson]
    scenario = "classroom"
    title_en = "…"; title_zh = "…"; intro_en = "…"; intro_zh = "…"
    [[steps]]
    id = "haven"
    question_en = "…"; question_zh = "…"; press_en = "…"; press_zh = "…"; notice_en = "…"; notice_zh = "…"
    measure = { city = "milltown", column = "pm25" }        # or { series = "money_tax_share_100m_yuan", cumulative = true }
    unit_en = "µg/m³"; unit_zh = "微克/立方米"
    setup = { "rules.joint_control.enabled" = false }          # optional
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from regionsim.model.errors import ScenarioError
from regionsim.model.model import RegionModel

CHOICES = ("up", "down", "same")
"""What a class can predict for a step's measured value."""

SAME_TOLERANCE = 0.02
"""A change smaller than 2% of the base value (or 0.01 in absolute terms from zero) counts as "about the same"."""

TEXTS = ("title", "intro")
STEP_TEXTS = ("question", "press", "notice")


@dataclass(frozen=True)
class Step:
    """One step of a lesson."""

    id: str
    text: dict[str, tuple[str, str]]
    measure: dict[str, Any]
    unit: tuple[str, str] = ("", "")
    setup: dict[str, Any] = field(default_factory=dict)

    def say(self, what: str, lang: str) -> str:
        """The step's `what` (question, press, notice) in `lang`."""
        en, zh = self.text[what]
        return zh if lang == "zh" and zh else en


@dataclass(frozen=True)
class Lesson:
    """A lesson: title, intro and steps."""

    scenario: str
    text: dict[str, tuple[str, str]]
    steps: list[Step]

    def say(self, what: str, lang: str) -> str:
        """The lesson's `what` (title, intro) in `lang`."""
        en, zh = self.text[what]
        return zh if lang == "zh" and zh else en


def _pair(table: dict[str, Any], name: str, where: str) -> tuple[str, str]:
    en, zh = table.get(f"{name}_en"), table.get(f"{name}_zh")
    if not isinstance(en, str) or not isinstance(zh, str) or not en or not zh:
        raise ScenarioError([f"{where}: {name}_en and {name}_zh must both be non-empty text"])
    return en, zh


def parse_lesson(document: dict[str, Any], where: str = "lesson") -> Lesson:
    """A `Lesson` from a parsed lesson file; `ScenarioError` names the key path of any problem."""
    head = document.get("lesson")
    if not isinstance(head, dict) or not isinstance(head.get("scenario"), str):
        raise ScenarioError([f'{where}: needs a [lesson] table with scenario = "NAME"'])
    steps = document.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ScenarioError([f"{where}: needs at least one [[steps]] table"])
    parsed = []
    for k, step in enumerate(steps):
        at = f"{where}: steps[{k}]"
        measure = step.get("measure")
        if not isinstance(measure, dict) or not (("city" in measure and "column" in measure) or "series" in measure):
            raise ScenarioError([f"{at}.measure: must be {{ city = ID, column = NAME }} or {{ series = COLUMN }}"])
        setup = step.get("setup", {})
        if not isinstance(setup, dict):
            raise ScenarioError([f"{at}.setup: must be a table of key paths"])
        unit = (str(step.get("unit_en", "")), str(step.get("unit_zh", "")))
        parsed.append(
            Step(str(step.get("id", k + 1)), {name: _pair(step, name, at) for name in STEP_TEXTS}, dict(measure), unit, dict(setup))
        )
    return Lesson(head["scenario"], {name: _pair(head, name, f"{where}: lesson") for name in TEXTS}, parsed)


def load_lesson(scenario: str) -> Lesson | None:
    """The lesson shipped for `scenario` (scenarios/lessons/SCENARIO.toml), or None when it has none."""
    folder = resources.files("regionsim.scenarios").joinpath("lessons")
    path = folder.joinpath(f"{scenario}.toml")
    if not path.is_file():
        return None
    return parse_lesson(tomllib.loads(path.read_text(encoding="utf-8")), f"lessons/{scenario}.toml")


def measured(model: RegionModel, measure: dict[str, Any], index: int) -> float:
    """The step's measured value in recorded year `index` (0 = the base year, -1 = now)."""
    if "series" in measure:
        frame = model.model_frame()
        values = frame[measure["series"]].astype(float)
        if measure.get("cumulative"):
            values = values.cumsum()
        return float(values.iloc[index])
    frame = model.agent_frames[index]
    rows = [
        i for i, (kind, key) in enumerate(zip(frame["agent_type"], frame["key"], strict=True)) if kind == "city" and key == measure["city"]
    ]
    if not rows:
        raise ScenarioError([f"lesson measure: no city {measure['city']!r} in this scenario"])
    return float(frame[measure["column"]][rows[0]])


def direction(before: float, after: float) -> str:
    """ "up", "down" or "same" (a change under SAME_TOLERANCE of the base value)."""
    tolerance = max(abs(before) * SAME_TOLERANCE, 0.01)
    if after - before > tolerance:
        return "up"
    if before - after > tolerance:
        return "down"
    return "same"


def outcome(model: RegionModel, step: Step) -> tuple[float, float, str] | None:
    """(base-year value, value now, direction) once the model has stepped; None before."""
    if len(model.agent_frames) < 2:
        return None
    before, after = measured(model, step.measure, 0), measured(model, step.measure, -1)
    return before, after, direction(before, after)
