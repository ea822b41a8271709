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


CHECKED_ELSEWHERE = {"shares": "_Checker.shares"}


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


def test_year_tables_and_wrong_types_are_reported_not_raised():
    assert _messages("table", "x", None) == ["must be a table of year = rate per 1,000 (e.g. { 2015 = 4.96 })"]
    assert _messages("table", {"2015": 4.96, "2016": 99}, None) == ["2016: must be a year = a rate from -50 to 50 per 1,000 (got 99)"]
    assert _messages("table", {"2015": 4.96}, None) == []


def test_a_link_or_target_naming_a_list_instead_of_a_city_is_a_problem(tmp_path):
    from regionsim.model.errors import ScenarioError

    text = (S.SCENARIO_DIR / "classroom.toml").read_text(encoding="utf-8")
    first_link_from = text.index("from = ", text.index("[[links]]"))
    end = text.index("\n", first_link_from)
    broken = tmp_path / "broken.toml"
    broken.write_text(text[:first_link_from] + 'from = ["capital"]' + text[end:], encoding="utf-8")
    try:
        S.load_scenario(str(broken))
    except ScenarioError as error:
        assert any("links" in p.key for p in error.problems)
    else:
        raise AssertionError("a link from a list was accepted")
