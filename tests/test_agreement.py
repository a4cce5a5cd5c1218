"""Agreement: published worked examples, bootstrap, item sets, errors, adjudication, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.metrics import cohen_kappa_score

from rich.console import Console

from themekit.analysis.agreement import (
    AgreementResult,
    Estimate,
    VariableAgreement,
    adjudication_sheet,
    agreement_table,
    find_disagreements,
    kappa_replicates,
    measure_agreement,
    write_adjudication_sheet,
)
from themekit.cli import main
from themekit.codebook import load_codebook
from themekit.errors import InputError
from themekit.io.sheets import read_sheet

TOY = """
name: toy
version: "1"
tiers:
  - id: rating
    type: exclusive
    default: c1
    codes:
      - {id: c1, definition: one}
      - {id: c2, definition: two}
      - {id: c3, definition: three}
      - {id: c4, definition: four}
      - {id: c5, definition: five}
"""

YES_NO = """
name: yesno
version: "1"
tiers:
  - id: answer
    type: exclusive
    default: "no"
    codes:
      - {id: "yes", definition: yes}
      - {id: "no", definition: no}
"""


@pytest.fixture(scope="module")
def mh():
    return load_codebook("llm-mental-health")


def write_codebook(tmp_path: Path, text: str, name: str):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_codebook(path)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def mh_row(item_id: str, experience: str | None, attitude: str | None, themes=(), flags=(),
           text: str | None = "a comment") -> dict:
    return {"id": item_id, "text": text, "experience": experience, "attitude": attitude,
            "themes": list(themes), "flags": list(flags), "coder": None}


def test_krippendorff_2011_nominal_example_gives_0_743(tmp_path):
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C:
    4 observers x 12 units, nominal values 1-5 with missing data; alpha = 0.743."""
    codebook = write_codebook(tmp_path, TOY, "toy")
    nan = None
    data = {
        "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        "C": [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    }
    paths = []
    for coder, values in data.items():
        rows = []
        for unit, value in enumerate(values, start=1):
            if value is None and unit == 12:
                continue  # missing as an absent row ...
            rows.append({"id": f"u{unit}", "rating": None if value is None else f"c{value}"})
        paths.append(write_jsonl(tmp_path / f"{coder}.jsonl", rows))  # ... or as null

    result, _ = measure_agreement(paths, codebook, n_bootstrap=200, seed=0)
    tier = next(v for v in result.variables if v.code is None)
    assert tier.alpha.value == pytest.approx(0.743, abs=5e-4)
    assert tier.kappa.value is None  # Cohen's kappa is for exactly two coders
    assert tier.n_items == 11 and tier.n_dropped == 1  # unit 12: one observer only
    assert tier.alpha.low < tier.alpha.value < tier.alpha.high


def test_cohen_kappa_textbook_example_is_0_4(tmp_path):
    """Wikipedia's worked example: 50 items, 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no."""
    codebook = write_codebook(tmp_path, YES_NO, "yesno")
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    a = write_jsonl(tmp_path / "a.jsonl",
                    [{"id": i, "answer": x} for i, (x, _) in enumerate(pairs)])
    b = write_jsonl(tmp_path / "b.jsonl",
                    [{"id": i, "answer": y} for i, (_, y) in enumerate(pairs)])
    result, _ = measure_agreement([a, b], codebook, n_bootstrap=500, seed=3)
    tier = next(v for v in result.variables if v.code is None)
    assert tier.kappa.value == pytest.approx(0.4)
    assert tier.percent.value == pytest.approx(0.7)
    assert tier.n_items == 50
    assert tier.kappa.low < 0.4 < tier.kappa.high
    # the per-code binary variable of a two-code tier carries the same information
    yes = next(v for v in result.variables if v.code == "yes")
    assert yes.kappa.value == pytest.approx(0.4)


def test_bootstrap_kappa_matches_scikit_learn_on_every_resample():
    rng = np.random.default_rng(11)
    data = rng.integers(0, 3, size=(2, 40)).astype(float)
    data[0, :5] = np.nan  # missing codings are left out of each resample's table
    data[1, 3:7] = np.nan
    samples = rng.integers(0, 40, size=(60, 40))
    fast = kappa_replicates(data, samples, 3)
    for value, sample in zip(fast, samples):
        drawn = data[:, sample]
        both = ~np.isnan(drawn).any(axis=0)
        expected = cohen_kappa_score(drawn[0, both].astype(int), drawn[1, both].astype(int),
                                     labels=[0, 1, 2])
        assert value == pytest.approx(expected)


def test_intervals_are_seeded(tmp_path, mh):
    rows_a = [mh_row(f"i{i}", "personal_use" if i % 3 else "no_personal_use", "neutral")
              for i in range(30)]
    rows_b = [mh_row(f"i{i}", "personal_use" if i % 4 else "no_personal_use", "neutral")
              for i in range(30)]
    a = write_jsonl(tmp_path / "a.jsonl", rows_a)
    b = write_jsonl(tmp_path / "b.jsonl", rows_b)

    def interval(seed):
        result, _ = measure_agreement([a, b], mh, n_bootstrap=300, seed=seed)
        tier = result.variables[0]
        return tier.kappa.low, tier.kappa.high

    assert interval(1) == interval(1)
    assert interval(1) != interval(2)


def test_coders_with_different_items_use_the_shared_ones(tmp_path, mh):
    a = write_jsonl(tmp_path / "alice.jsonl",
                    [mh_row(f"i{i}", "personal_use", "positive") for i in range(10)])
    b_rows = [mh_row(f"i{i}", "personal_use", "positive") for i in range(5, 14)]
    b_rows.append(mh_row("i99", None, None))  # not coded yet: not an item of bob's
    b = write_jsonl(tmp_path / "bob.jsonl", b_rows)
    result, _ = measure_agreement([a, b], mh, n_bootstrap=0)
    assert result.pairs == {"alice & bob": 5}
    assert result.coded == {"alice": 10, "bob": 9}
    assert result.rows_read["bob"] == 10
    tier = result.variables[0]
    assert (tier.n_items, tier.n_dropped) == (5, 9)
    assert tier.percent.value == 1.0 and tier.percent.low is None  # no bootstrap asked


def test_multi_tier_parents_follow_children(tmp_path, mh):
    a = write_jsonl(tmp_path / "a.jsonl", [
        mh_row("x", "personal_use", "positive", ["accessibility"]),
        mh_row("y", "personal_use", "negative", ["privacy"]),
        mh_row("z", "no_personal_use", "neutral", []),
    ])
    b = write_jsonl(tmp_path / "b.jsonl", [
        mh_row("x", "personal_use", "positive", ["emotional_support"]),
        mh_row("y", "personal_use", "negative", ["privacy", "dependency"]),
        mh_row("z", "no_personal_use", "neutral", []),
    ])
    result, codings = measure_agreement([a, b], mh, n_bootstrap=0)
    by_code = {v.code: v for v in result.variables if v.code}
    assert by_code["benefit"].percent.value == 1.0  # both coded some benefit on x
    assert by_code["accessibility"].percent.value == pytest.approx(2 / 3, abs=1e-4)
    assert by_code["dependency"].percent.value == pytest.approx(2 / 3, abs=1e-4)
    themes = next(v for v in result.variables if v.tier == "themes" and v.code is None)
    assert themes.kind == "exact set" and themes.percent.value == pytest.approx(1 / 3, abs=1e-4)
    assert find_disagreements(codings, mh) == [("x", ["themes"]), ("y", ["themes"])]


def test_unknown_code_names_file_line_and_field(tmp_path, mh):
    a = write_jsonl(tmp_path / "a.jsonl", [mh_row("x", "personal_use", "positive"),
                                           mh_row("y", "personal_use", "happy")])
    b = write_jsonl(tmp_path / "b.jsonl", [mh_row("x", "personal_use", "positive")])
    with pytest.raises(InputError, match=r"a\.jsonl, line 2, field 'attitude': unknown code "
                                         r"'happy'"):
        measure_agreement([a, b], mh)


def test_parent_code_without_child_is_rejected(tmp_path, mh):
    a = write_jsonl(tmp_path / "a.jsonl", [mh_row("x", "personal_use", "positive", ["benefit"])])
    with pytest.raises(InputError, match="'benefit' is a parent code"):
        read_sheet(a, mh)


def test_empty_and_uncoded_sheets_are_clear_errors(tmp_path, mh):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    coded = write_jsonl(tmp_path / "coded.jsonl", [mh_row("x", "personal_use", "positive")])
    with pytest.raises(InputError, match="empty.jsonl: the sheet is empty"):
        measure_agreement([empty, coded], mh)
    blank = write_jsonl(tmp_path / "blank.jsonl", [mh_row("x", None, None)])
    with pytest.raises(ValueError, match="blank.jsonl: no coded items"):
        measure_agreement([coded, blank], mh)
    with pytest.raises(ValueError, match="at least two"):
        measure_agreement([coded], mh)
    other = write_jsonl(tmp_path / "other.jsonl", [mh_row("x", "personal_use", "negative")])
    with pytest.raises(ValueError, match=r"coded.jsonl: given twice \(as .*coded.jsonl\); "
                                         "each sheet is one coder"):
        measure_agreement([coded, other, tmp_path / "." / "coded.jsonl"], mh)


def test_adjudication_sheet_lists_each_coders_codes(tmp_path, mh):
    a = write_jsonl(tmp_path / "a.jsonl", [
        mh_row("x", "personal_use", "positive", ["accessibility"], text="hello"),
        mh_row("y", "no_personal_use", "neutral", [], ["risk.crisis"], text=None),
        mh_row("z", "no_personal_use", "neutral"),
    ])
    b = write_jsonl(tmp_path / "b.jsonl", [
        mh_row("x", "personal_use", "mixed", ["accessibility"], text=None),
        mh_row("y", "no_personal_use", "neutral", [], [], text=None),
        mh_row("z", "no_personal_use", "neutral"),
    ])
    _, codings = measure_agreement([a, b], mh, n_bootstrap=0)
    rows = adjudication_sheet(codings, mh)
    assert [r["id"] for r in rows] == ["x", "y"]
    x = rows[0]
    assert x["text"] == "hello" and x["disagree_on"] == ["attitude"]
    assert x["attitude"] is None and x["themes"] == [] and x["coder"] is None
    assert x["coders"]["a"]["attitude"] == "positive" and x["coders"]["b"]["attitude"] == "mixed"
    assert rows[1]["disagree_on"] == ["flags"]
    as_csv = tmp_path / "adjudicate.csv"
    write_adjudication_sheet(str(as_csv), codings, mh)
    assert [it.data["coders"] for it in read_sheet(as_csv, mh)] == [r["coders"] for r in rows]


def test_cli_writes_table_json_and_adjudication_sheet(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [mh_row(f"i{i}", "personal_use",
                                                  "positive" if i % 2 else "negative")
                                           for i in range(12)])
    b = write_jsonl(tmp_path / "b.jsonl", [mh_row(f"i{i}", "personal_use",
                                                  "positive" if i % 3 else "negative")
                                           for i in range(12)])
    out_json, out_sheet = tmp_path / "agr.json", tmp_path / "adj.jsonl"
    result = CliRunner().invoke(main, ["agreement", str(a), str(b), "--bootstrap", "100",
                                       "--json", str(out_json), "--disagreements",
                                       str(out_sheet)])
    assert result.exit_code == 0, result.output
    assert "Krippendorff" in result.output and "attitude" in result.output
    figures = json.loads(out_json.read_text())
    attitude = next(v for v in figures["variables"] if v["tier"] == "attitude" and not v["code"])
    assert attitude["n_items"] == 12 and len(attitude["kappa"]["ci95"]) == 2
    expected = sum(1 for i in range(12) if (i % 2 == 0) != (i % 3 == 0))
    assert figures["disagreements"] == expected
    assert len(read_sheet(out_sheet, load_codebook("llm-mental-health"))) == expected


def test_cli_reports_unknown_code_as_error(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [mh_row("x", "sometimes", "positive")])
    b = write_jsonl(tmp_path / "b.jsonl", [mh_row("x", "personal_use", "positive")])
    result = CliRunner().invoke(main, ["agreement", str(a), str(b)])
    assert result.exit_code == 1
    assert "line 1, field 'experience': unknown code 'sometimes'" in result.output


def test_real_double_coded_dev_set(shared_data, mh):
    a, b = shared_data / "dev-coder-a.jsonl", shared_data / "dev-coder-b.jsonl"
    result, codings = measure_agreement([a, b], mh, n_bootstrap=200, seed=0)
    raw_a = {r["id"]: r for r in map(json.loads, a.read_text().splitlines())}
    raw_b = {r["id"]: r for r in map(json.loads, b.read_text().splitlines())}
    ids = sorted(raw_a)
    for tier in ("experience", "attitude"):
        row = next(v for v in result.variables if v.tier == tier and v.code is None)
        expected = cohen_kappa_score([raw_a[i][tier] for i in ids], [raw_b[i][tier] for i in ids])
        assert row.n_items == 150
        assert row.kappa.value == pytest.approx(expected, abs=1e-4)
        assert row.kappa.low <= row.kappa.value <= row.kappa.high
    differing = {i for i in ids if any(
        sorted(raw_a[i][k]) != sorted(raw_b[i][k]) if isinstance(raw_a[i][k], list)
        else raw_a[i][k] != raw_b[i][k] for k in ("experience", "attitude", "themes", "flags"))}
    assert {i for i, _ in find_disagreements(codings, mh)} == differing


def test_adjudication_sheet_takes_missing_text_from_the_corpus(tmp_path, mh):
    a = write_jsonl(tmp_path / "a.jsonl", [mh_row("x", "personal_use", "positive", text=None),
                                           mh_row("y", "personal_use", "positive", text=None)])
    b = write_jsonl(tmp_path / "b.jsonl", [mh_row("x", "no_personal_use", "positive", text=None),
                                           mh_row("y", "personal_use", "positive", text=None)])
    corpus = write_jsonl(tmp_path / "corpus.jsonl", [{"id": "x", "text": "the words of x"},
                                                     {"id": "y", "text": "the words of y"}])
    out = tmp_path / "adj.jsonl"
    result = CliRunner().invoke(main, ["agreement", str(a), str(b), "--bootstrap", "0",
                                       "--disagreements", str(out), "--texts", str(corpus)])
    assert result.exit_code == 0, result.output
    items = read_sheet(out, mh)
    assert [(it.id, it.text) for it in items] == [("x", "the words of x")]
    assert items[0].data["coders"]["b"]["experience"] == "no_personal_use"


def test_figures_are_rounded_once_for_the_table_and_once_for_json():
    """0.25447 is 0.254 to three places; rounding it to 0.2545 first would show 0.255."""
    kappa = Estimate(0.25447, 0.20049, 0.31)
    variable = VariableAgreement("t", None, "nominal", 10, 0, Estimate(0.8), kappa, Estimate(None))
    result = AgreementResult("cb@1", ["a", "b"], ["a.jsonl", "b.jsonl"], {}, {}, 10, {}, 0, 0,
                             [variable])
    console = Console(record=True, width=200)
    console.print(agreement_table(result))
    assert "0.254 [0.200, 0.310]" in console.export_text()
    assert result.to_json()["variables"][0]["kappa"] == {"value": 0.2545, "ci95": [0.2005, 0.31]}
