"""The event sentences built column-wise (Arrow) are, byte for byte, the ones written value by value.

The relocation, energy and joint-control events (tens of thousands a year on big regions) build their
why_en / why_zh / detail columns with the `text_*` helpers of model/events.py. This file keeps the
value-by-value Python formatting they replaced (`REFERENCE` below, the code as it was) and checks:

  * the helpers against Python's `format` / `repr(round(…))` / `json.dumps` on hard values (ties at every
    digit, -0.0, infinities, NaN, thousands, huge numbers);
  * the runner-up choice against `relocate.runners_up` on matrices with ties, −inf, NaN and tiny sizes;
  * whole runs (a synthetic region and bohai_rim): every year's events table (all columns, all rows, as
    `regionsim run` writes it) and the in-memory event frame equal those of the same run with the
    reference formatting swapped in.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from regionsim.model.events import text_int, text_join, text_number, text_pick, text_rounded
from regionsim.model.model import RegionModel
from regionsim.model.rules import energy, joint_control, relocate
from regionsim.model.sectors import FUNCTION_TYPE_LABELS, FUNCTION_TYPE_NAMES
from regionsim.model.synth import write_synth

# --- the value-by-value formatting the column-wise builders replaced (same signatures, lists of str) ---


def reference_payment_text(en, zh, r_idx, j_idx, paid, share):
    def why_en():
        return [
            f"{r} pays {j} {x:,.3f} 亿元 toward its abatement: {w:.0%} of that abatement's benefit falls on {r}"
            for r, j, x, w in zip(en[r_idx].tolist(), en[j_idx].tolist(), paid.tolist(), share.tolist(), strict=True)
        ]

    def why_zh():
        return [
            f"{r}向{j}支付{x:,.3f}亿元减排费用：其减排收益的{w:.0%}落在{r}"
            for r, j, x, w in zip(zh[r_idx].tolist(), zh[j_idx].tolist(), paid.tolist(), share.tolist(), strict=True)
        ]

    return why_en, why_zh


def reference_delivery_text(en, zh, e_idx, c_idx, delivered):
    def why_en():
        return [
            f"{c} buys {x:,.2f} 亿元 of power and coal from {e}, whose energy output exceeds its own use"
            for c, x, e in zip(en[c_idx].tolist(), delivered.tolist(), en[e_idx].tolist(), strict=True)
        ]

    def why_zh():
        return [
            f"{c}从{e}购入{x:,.2f}亿元电力和煤炭：后者能源产出超过自身需求"
            for c, x, e in zip(zh[c_idx].tolist(), delivered.tolist(), zh[e_idx].tolist(), strict=True)
        ]

    return why_en, why_zh


def _move_columns(m, names):
    return zip(
        m["ftype"].tolist(),
        m["units"].tolist(),
        m["codes"].tolist(),
        names[m["origin"]].tolist(),
        names[m["target"]].tolist(),
        m["role"].tolist(),
        m["minutes"].tolist(),
        m["headroom"].tolist(),
        m["incentive"].tolist(),
        strict=True,
    )


def reference_move_sentences(en, zh, m):
    def why_en():
        out = []
        for t, u, code, h, j, r, mi, hr, inc in _move_columns(m, en):
            en_type = FUNCTION_TYPE_LABELS[FUNCTION_TYPE_NAMES[t]][1]
            out.append(
                f"{u} {en_type}{'s' if u > 1 else ''} moved from {h} to {j} ({relocate.REASON_TEXT[code][0]}): role match "
                f"{r:.1f}, travel time {mi:.0f} min, headroom {hr:.2f}, incentive {inc:.1f}"
            )
        return out

    def why_zh():
        return [
            f"{u}个{FUNCTION_TYPE_LABELS[FUNCTION_TYPE_NAMES[t]][0]}由{h}迁往{j}（{relocate.REASON_TEXT[code][1]}）："
            f"功能定位匹配{r:.1f}，通行时间{mi:.0f}分钟，容量余量{hr:.2f}，激励{inc:.1f}"
            for t, u, code, h, j, r, mi, hr, inc in _move_columns(m, zh)
        ]

    return why_en, why_zh


def reference_move_details(ctx, utility, parts, m):
    def detail():
        return [
            json.dumps(
                {
                    "role_match": round(r, 3),
                    "travel_minutes": round(mi, 1),
                    "headroom": round(hr, 3),
                    "incentive": round(inc, 3),
                    "jobs": round(jb, 1),
                    "function": f,
                    "runners_up": relocate.runners_up(ctx, utility, parts, row, chosen),
                },
                sort_keys=True,
                ensure_ascii=False,
            )
            for r, mi, hr, inc, jb, f, row, chosen in zip(
                m["role"].tolist(),
                m["minutes"].tolist(),
                m["headroom"].tolist(),
                m["incentive"].tolist(),
                m["jobs"].tolist(),
                m["moved"].tolist(),
                m["rows"].tolist(),
                m["target"].tolist(),
                strict=True,
            )
        ]

    return detail


REFERENCE = [
    (joint_control, "payment_text", reference_payment_text),
    (energy, "delivery_text", reference_delivery_text),
    (relocate, "move_sentences", reference_move_sentences),
    (relocate, "move_details", reference_move_details),
]

# --- the helpers on hard values ---------------------------------------------------------------------

HARD = np.concatenate(
    [
        np.random.default_rng(7).normal(0.0, 1.0, 4000),
        np.random.default_rng(8).lognormal(0.0, 4.0, 4000),
        np.arange(-4000, 4001) / 8,  # exact ties at 1, 2 and 3 decimals
        np.arange(-3000, 3001) / 2000,
        np.arange(-3000, 3001) / 200 + 0.005,  # ties that are not exact in binary (2.675 and its kind)
        [0.0, -0.0, 0.5, 1.5, 2.5, -0.5, 2.675, 1.005, 0.125, -0.04, 999.9995, 999.4999, 1234.5, -98765.4321],
        [1e15, 4.5e15, 1e16, -1e17, 1e300, 5e-324, -1e-12, np.inf, -np.inf, np.nan],
    ]
)


@pytest.mark.parametrize("digits", [0, 1, 2, 3])
@pytest.mark.parametrize("grouping", [False, True])
@pytest.mark.parametrize("percent", [False, True])
def test_text_number_is_pythons_format(digits, grouping, percent):
    spec = f"{',' if grouping else ''}.{digits}{'%' if percent else 'f'}"
    assert text_number(HARD, digits, grouping=grouping, percent=percent).to_pylist() == [format(v, spec) for v in HARD.tolist()]


def test_text_number_takes_float32_and_integers_as_python_formats_them():
    small = np.array([0.1, 2.675, -3.45, 1e6], dtype=np.float32)
    assert text_number(small, 2, grouping=True).to_pylist() == [f"{v:,.2f}" for v in small]
    positive = np.array([0.5, 2.5, 1.25, 0.0, 1e-9])  # no sign anywhere: the column is written without the sign part
    assert text_number(positive, 1).to_pylist() == [f"{v:.1f}" for v in positive.tolist()]
    whole = np.array([0, -5, 1234567, 7], dtype=np.int64)
    assert text_number(whole, 1, grouping=True).to_pylist() == [f"{v:,.1f}" for v in whole.tolist()]


@pytest.mark.parametrize("digits", [1, 2, 3, 4])
def test_text_rounded_is_repr_of_round_and_json(digits):
    assert text_rounded(HARD, digits).to_pylist() == [repr(round(v, digits)) for v in HARD.tolist()]
    assert text_rounded(HARD, digits, json_float=True).to_pylist() == [json.dumps(round(v, digits)) for v in HARD.tolist()]
    whole = np.array([3, -2, 0])
    assert text_rounded(whole, digits, json_float=True).to_pylist() == [json.dumps(round(v, digits)) for v in whole.tolist()]


def test_text_int_pick_and_join():
    values = np.array([0, -7, 2**62, 12])
    assert text_int(values).to_pylist() == [str(v) for v in values.tolist()]
    assert text_int(np.array([1.0, 2.5])).to_pylist() == ["1.0", "2.5"]  # not integers: as str writes them
    labels = np.array(["北京", 'a "quoted" name', "c"], dtype=object)
    index = np.array([2, 0, 0, 1])
    picked = text_pick(labels, index)
    assert picked.to_pylist() == labels[index].tolist()
    assert text_join(picked, " → ", text_int(index)).to_pylist() == [
        f"{a} → {b}" for a, b in zip(labels[index], index.tolist(), strict=True)
    ]


# --- runner-up receivers ----------------------------------------------------------------------------


class _Ctx:
    def __init__(self, n: int):
        self.params = {"relocate": {"weight_role": 1.0, "weight_time": 0.5, "weight_headroom": 2.0, "weight_incentive": 1.0}}
        self.state = type("S", (), {"city_ids": [f"c{i}" for i in range(n)]})()


@pytest.mark.parametrize("n", [1, 2, 3, 4, 9])
def test_runner_up_receivers_are_those_runners_up_names(n):
    rng = np.random.default_rng(n)
    groups = 6
    utility = rng.choice([-1.0, 0.0, 0.5, 2.0, -np.inf], size=(groups, n))  # many ties, many that cannot receive
    utility[0, :] = -np.inf
    utility[1, rng.integers(n)] = np.nan
    rows = np.repeat(np.arange(groups), 4)
    chosen = rng.integers(0, n, len(rows))
    utility[rows, chosen] = rng.choice([0.0, 1.0, 2.0], size=len(rows))  # the chosen one could receive
    parts = {key: rng.choice([0.0, 1.0, 30.0], size=(groups, n)) for key in ("role", "minutes", "headroom", "incentive")}
    receivers, named = relocate.runner_up_receivers(utility, rows, chosen)
    ctx = _Ctx(n)
    for i, (row, c) in enumerate(zip(rows.tolist(), chosen.tolist(), strict=True)):
        expected = [ctx.state.city_ids.index(r["city"]) for r in relocate.runners_up(ctx, utility, parts, row, c)]
        assert receivers[i][named[i]].tolist() == expected


def test_move_details_equal_the_reference_on_hand_made_moves():
    """Ties in score and in score parts, a runner-up that scored as well, NaN parts (written by Python)."""
    rng = np.random.default_rng(3)
    n, groups = 7, 5
    utility = rng.choice([0.0, 0.5, 1.0, -np.inf], size=(groups, n))
    parts = {key: rng.choice([0.0, 0.25, 1.0, 45.0], size=(groups, n)) for key in ("role", "minutes", "headroom", "incentive")}
    parts["role"][2, 3] = np.nan
    rows = np.repeat(np.arange(groups), 3)
    target = rng.integers(0, n, len(rows))
    utility[rows, target] = 0.5
    m = {
        "rows": rows,
        "target": target,
        "moved": np.arange(len(rows)) * 11,
        "jobs": rng.choice([10.0, 12.25, 0.05], size=len(rows)),
        **{key: parts[key][rows, target] for key in ("role", "minutes", "headroom", "incentive")},
    }
    ctx = _Ctx(n)
    assert relocate.move_details(ctx, utility, parts, m)().to_pylist() == reference_move_details(ctx, utility, parts, m)()


# --- whole runs -------------------------------------------------------------------------------------


def _tables(scenario: str, monkeypatch: pytest.MonkeyPatch | None) -> tuple[list[pa.Table], list]:
    """Each year's events table of a whole run as `regionsim run` writes it, and the texts' types (what built them)."""
    with monkeypatch.context() if monkeypatch else _nothing() as patch:
        if patch is not None:
            for module, name, function in REFERENCE:
                patch.setattr(module, name, function)
        model = RegionModel(scenario, rng=5)
        tables, kinds = [model.events.take_table()], []
        while model.running:
            model.step()
            blocks = list(model.events._held(model.events._taken))
            tables.append(model.events.take_table())
            kinds += [(b.columns["rule"], type(b.columns["why_en"]).__module__) for b in blocks if not isinstance(b, list)]
    return tables, kinds


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *_):
        return False


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = Path(tmp_path_factory.mktemp("synth")) / "synth_80_4000.toml"
    write_synth(path, 80, 4000, 2)
    return str(path)


@pytest.mark.parametrize("which", ["synthetic", "bohai_rim"])
def test_events_tables_of_whole_runs_equal_the_reference_formatting(which, synthetic, monkeypatch):
    scenario = synthetic if which == "synthetic" else which
    built, kinds = _tables(scenario, None)
    reference, reference_kinds = _tables(scenario, monkeypatch)
    assert len(built) >= 12  # the base year and every simulated year
    for rule in ("RELOCATE", "ENERGY", "JOINT_CONTROL"):  # the run has these events, built column-wise
        assert (rule, "pyarrow.lib") in kinds, rule
    assert not any(module.startswith("pyarrow") for _, module in reference_kinds)
    assert sum(t.num_rows for t in built) > 1000
    for year, (new, old) in enumerate(zip(built, reference, strict=True)):
        assert new.schema == old.schema
        for name in new.column_names:
            assert new.column(name).to_pylist() == old.column(name).to_pylist(), (year, name)
        assert new.equals(old)


def test_event_frame_in_memory_equals_the_reference_formatting(synthetic, monkeypatch):
    """The in-memory frame (the dashboard's): built columns become the same Python strings."""
    model = RegionModel(synthetic, rng=9)
    model.step(), model.step()
    with monkeypatch.context() as patch:
        for module, name, function in REFERENCE:
            patch.setattr(module, name, function)
        reference = RegionModel(synthetic, rng=9)
        reference.step(), reference.step()
    new, old = model.events.frame(), reference.events.frame()
    assert len(new) > 500 and set(new.rule) >= {"RELOCATE", "ENERGY", "JOINT_CONTROL"}
    assert new.equals(old)
    assert model.events.table().equals(reference.events.table())
