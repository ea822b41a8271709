"""The scenario checker's dispatch tables cover every kind a field or list parameter declares.

A field kind or list-parameter kind without a checker would be accepted unchecked, whatever its value.
"""

from __future__ import annotations

from regionsim.model import scenario as S
from regionsim.model.rules import REGISTRY

FIELD_SPECS = {
    "meta": S.META_FIELDS,
    "provinces": S.PROVINCE_FIELDS,
    "cities": S.CITY_FIELDS,
    "links": S.LINK_FIELDS,
    "function_stocks": S.STOCK_FIELDS,
    "targets": S.TARGET_FIELDS,
    **{f"rules.relocate.{name}": spec for name, spec in S.SCHEDULE_FIELDS.items()},
}


CHECKED_ELSEWHERE = {"shares": "_Checker.shares", "table": "model/demography.py (year = rate tables, when the state is built)"}


def test_every_field_kind_has_a_checker():
    unchecked = [
        f"{where}.{key}: {kind}"
        for where, spec in FIELD_SPECS.items()
        for key, (kind, _required, _detail) in spec.items()
        if kind not in S._VALUE_CHECKS and kind not in CHECKED_ELSEWHERE
    ]
    assert unchecked == []


def test_every_list_parameter_has_a_declared_kind_with_a_checker():
    declared = {name for spec in REGISTRY.values() for name in spec.list_params}
    assert declared <= set(S.LIST_PARAM_KINDS), declared - set(S.LIST_PARAM_KINDS)
    assert set(S.LIST_PARAM_KINDS.values()) <= set(S._LIST_PARAM_CHECKS)


def _messages(kind: str, value, detail) -> list[str]:
    c = S._Checker({"cities": [{"id": "a"}, {"id": "b"}]}, "f.toml", "")
    c.value("k", value, kind, detail)
    return [p.message for p in c.problems]


def test_number_kinds_report_type_wholeness_and_range_in_that_order():
    assert _messages("num", "3", (0, 10)) == ["must be a number from 0 to 10, not '3'"]
    assert _messages("num", True, (0, 10)) == ["must be a number from 0 to 10, not True"]
    assert _messages("int", 2.5, (0, 10)) == ["must be a whole number from 0 to 10, not 2.5"]
    assert _messages("int", 11, (0, 10)) == ["must be from 0 to 10, not 11"]
    assert _messages("num", float("nan"), (0, 10)) == ["must be from 0 to 10, not nan"]
    assert _messages("num", 2.5, (0, 10)) == []


def test_choices_report_each_unknown_item_and_refs_name_the_collection():
    messages = _messages("choices", ["x", "y", "core"], ("core", "outside"))
    assert len(messages) == 2 and messages[0].startswith("unknown value 'x'") and messages[1].startswith("unknown value 'y'")
    assert _messages("ref", "c", "cities") == ["unknown city id 'c'; valid: a, b"]
    assert _messages("ref", "a", "cities") == []
    assert _messages("points", [[0, 0], [1, 1], [200, 0]], None) == ["must be a list of at least 3 [lon, lat] points"]
    assert _messages("unknown_kind", object(), None) == []
