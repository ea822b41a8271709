"""Scenario files are parsed once per content (model/scenario.py `_read_toml`): a file edited in place is
read again even when its size and modification time do not change, and what one load hands out (and a
caller then changes) never reaches the next load."""

from __future__ import annotations

import os
import shutil

from regionsim.model.scenario import SCENARIO_DIR, load_scenario


def test_an_edited_file_is_read_again_even_with_the_same_size_and_time(tmp_path):
    path = tmp_path / "classroom.toml"
    shutil.copy(SCENARIO_DIR / "classroom.toml", path)
    first = load_scenario(path)
    text = path.read_text(encoding="utf-8")
    stat = path.stat()
    old, new = 'name_en = "', 'name_en = "X'
    assert old in text
    edited = text.replace(old, new, 1).replace("\n\n", "\n", 1)  # one character more, one less: same size
    assert len(edited.encode()) == len(text.encode())
    path.write_text(edited, encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_mtime_ns == stat.st_mtime_ns and path.stat().st_size == stat.st_size
    second = load_scenario(path)
    assert second.data != first.data
    assert any(str(v).startswith("X") for v in _values(second.data, "name_en"))


def test_a_changed_scenario_does_not_change_the_next_load():
    first = load_scenario("capital_region-no_joint_control")
    pristine = load_scenario("capital_region-no_joint_control").data
    first.data["rules"]["joint_control"]["enabled"] = "spoiled"
    first.data["cities"][0]["id"] = "spoiled"
    first.data["cities"].append({"id": "extra"})
    again = load_scenario("capital_region-no_joint_control")
    assert again.data == pristine
    assert again.data["rules"]["joint_control"]["enabled"] is False


def _values(node, key):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from _values(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from _values(item, key)
