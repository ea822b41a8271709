"""Hostile input for the scenario loader and `--set`: every input ends in success or a UserError.

In the normal suite each property tries a bounded number of inputs; `make campaign`
(REGIONSIM_CAMPAIGN=1) tries many more. Inputs that once found a problem are kept in
`tests/fuzz_corpus/` and replayed every time.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from regionsim.model.errors import UserError
from regionsim.model.scenario import load_scenario, parse_set

from tests.conftest import FIXTURE, ROOT, cli

CAMPAIGN = os.environ.get("REGIONSIM_CAMPAIGN") == "1"
EXAMPLES = 3000 if CAMPAIGN else 120
CORPUS = ROOT / "tests" / "fuzz_corpus"
BASE_TEXT = FIXTURE.read_bytes()
VARIANT_TEXT = (
    f'[variant]\nbase = "{FIXTURE.as_posix()}"\nname = "fuzzed"\n\n[set]\n'
    '"rules.joint_control.enabled" = false\n"rules.relocate.annual_quota_share" = 0.3\n'
    '"cities.capital.population_10k" = 900.0\n"rules.relocate.incentives.newtown" = 2.0\n'
).encode()
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not CAMPAIGN,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def load_or_user_error(path: Path, overrides: dict | None = None) -> str:
    """Load; return 'ok' or 'user error'. Any other exception is a bug and propagates."""
    try:
        load_scenario(path, overrides or {})
    except UserError as exc:
        assert str(exc).strip(), "a user error must say something"
        return "user error"
    return "ok"


@st.composite
def mutated_scenarios(draw, base: bytes = BASE_TEXT) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "delete", "insert", "duplicate", "swap_line", "replace_value"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] = draw(st.integers(0, 255))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 200))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=40))
        elif kind == "duplicate":
            span = data[at : at + draw(st.integers(1, 400))]
            data[at:at] = span
        elif kind == "swap_line":
            lines = bytes(data).split(b"\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            data = bytearray(b"\n".join(lines))
        else:
            lines = bytes(data).split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            if b"=" in lines[i]:
                key = lines[i].split(b"=", 1)[0]
                value = draw(
                    st.sampled_from(
                        [
                            b"-1",
                            b"1e309",
                            b"nan",
                            b"-inf",
                            b'"x"',
                            b"[]",
                            b"{}",
                            b"true",
                            b"0",
                            b"99999999999999999999",
                            b'"\xe4\xb8\xad\xe6\x96\x87"',
                            b"[[1,2],[3]]",
                            b'"' + b"a" * 5000 + b'"',
                            b"1979-05-27",
                            b"0x10",
                        ]
                    )
                )
                lines[i] = key + b"= " + value
            data = bytearray(b"\n".join(lines))
    return bytes(data)


@FUZZ_SETTINGS
@given(text=mutated_scenarios())
def test_mutated_scenario_files_never_crash_the_loader(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "scenario.toml"
    path.write_bytes(text)
    load_or_user_error(path)


@FUZZ_SETTINGS
@given(text=mutated_scenarios(VARIANT_TEXT))
def test_mutated_variant_files_never_crash_the_loader(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("variant") / "variant.toml"
    path.write_bytes(text)
    load_or_user_error(path)


def test_the_unmutated_variant_loads(tmp_path):
    path = tmp_path / "variant.toml"
    path.write_bytes(VARIANT_TEXT)
    assert load_or_user_error(path) == "ok"


@FUZZ_SETTINGS
@given(text=st.binary(max_size=2000))
def test_random_bytes_are_refused_cleanly(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("bytes") / "scenario.toml"
    path.write_bytes(text)
    assert load_or_user_error(path) == "user error"


KEYS = st.sampled_from(
    [
        "rules.relocate.annual_quota_share",
        "rules.joint_control.enabled",
        "rules.relocate.incentives.newtown",
        "cities.capital.population_10k",
        "meta.horizon",
        "meta.base_year",
        "provinces.east.pm25_target_ugm3",
        "rules.zoning.forbidden_sectors",
        "rules.fund.pairing",
        "cities.capital",
        "rules",
        "x.y.z",
        "rules.air",
        "cities.capital.gdp_share.primary",
        "links",
        "rules.migrate.commute_band_minutes",
        "",
    ]
) | st.text(max_size=60)
VALUES = st.text(max_size=80) | st.sampled_from(
    ["1e400", "-0", "nan", "inf", "[[[[[[[[[[1]]]]]]]]]]", "{a=1}", '"' + "x" * 10000 + '"', "true", "[1,2,3]", "'single'"]
)


@FUZZ_SETTINGS
@given(key=KEYS, value=VALUES)
def test_random_set_values_never_crash(key, value):
    try:
        key, parsed = parse_set(f"{key}={value}")
    except UserError:
        return
    load_or_user_error(FIXTURE, {key: parsed})


def test_deep_nesting_is_refused_cleanly(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 100_000 + "]" * 100_000)
    assert load_or_user_error(path) == "user error"


def test_duplicate_keys_and_wrong_encoding_are_refused(tmp_path):
    dup = tmp_path / "dup.toml"
    dup.write_bytes(BASE_TEXT.replace(b"[meta]\n", b'[meta]\nname = "a"\n', 1))
    assert load_or_user_error(dup) == "user error"
    latin = tmp_path / "latin.toml"
    latin.write_bytes(BASE_TEXT.decode("utf-8").encode("utf-16"))
    assert load_or_user_error(latin) == "user error"


def test_huge_and_unicode_values(tmp_path):
    text = BASE_TEXT.decode()
    huge = tmp_path / "huge.toml"
    huge.write_text(text.replace("population_10k = 1000.0", "population_10k = 1e300", 1))
    assert load_or_user_error(huge) == "user error"
    names = tmp_path / "names.toml"
    names.write_text(text.replace('name_en = "Capital"', 'name_en = "首都 🏙️ \\u202e evil"', 1))
    assert load_or_user_error(names) == "ok"


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*")) if CORPUS.exists() else [], ids=lambda p: p.name)
def test_corpus_regressions(path):
    load_or_user_error(path)


def test_cli_on_hostile_files_gives_status_2_without_traceback(tmp_path):
    samples = {
        "bytes.toml": bytes(range(256)),
        "empty.toml": b"",
        "only_meta.toml": b"[meta]\nname='x'\nbase_year=2020\nhorizon=2030\n",
        "array_root.toml": b"cities = 3\nprovinces = 'x'\n",
        "bom.toml": b"\xef\xbb\xbf" + BASE_TEXT,
    }
    for name, data in samples.items():
        path = tmp_path / name
        path.write_bytes(data)
        done = cli("validate", str(path))
        assert done.returncode in (0, 2), (name, done.stderr)
        assert "Traceback" not in done.stderr, (name, done.stderr)
        if name != "bom.toml":
            assert done.returncode == 2, name


def test_valid_fixture_still_loads():
    assert tomllib.loads(BASE_TEXT.decode())
    assert load_or_user_error(FIXTURE) == "ok"
