"""`themekit codebook lint`: per-pattern counts, findings and precision on a tiny corpus whose
expected numbers are worked out by hand below."""

from __future__ import annotations

import json

import pytest
import srsly
from click.testing import CliRunner

from themekit.cli import main
from themekit.codebook import load_codebook
from themekit.errors import CodebookError, InputError
from themekit.codebook.lint import lint_codebook, load_lint_codebook, snippet

BOOK = {
    "name": "tiny",
    "version": "1",
    "tiers": [
        {"id": "use", "type": "exclusive", "default": "no_use", "codes": [
            {"id": "own_use", "definition": "uses it", "patterns": [
                {"id": "i_use", "phrase": "i use"},
                {"id": "i_use_it", "phrase": "i use it"},
                {"id": "homework", "phrase": "homework", "weight": -1},
            ]},
            {"id": "no_use", "definition": "does not"},
        ]},
        {"id": "themes", "type": "multi", "codes": [
            {"id": "cost", "definition": "price", "patterns": [
                {"id": "free", "phrase": "free"},
                {"id": "fee", "phrase": "subscription fee"},
                {"id": "digit", "tokens": [{"IS_DIGIT": True}]},
                {"id": "my_data", "phrase": "my data", "weight": 0.4},
            ]},
            {"id": "privacy", "definition": "data", "patterns": [
                {"id": "data", "phrase": "data"},
                {"id": "sold", "tokens": [{"LOWER": {"IN": ["sold", "sells"]}}]},
            ]},
        ]},
    ],
}

# 20 comments: c01-c08 hold matches, c09-c20 none
TEXTS = {
    "c01": "i use it every night",                 # i_use, i_use_it
    "c02": "I use it for homework",                # i_use, i_use_it, homework
    "c03": "i use it when sad",                    # i_use, i_use_it
    "c04": "i use the app daily",                  # i_use
    "c05": "it is free",                           # free
    "c06": "my data is sold",                      # my_data (cost), data, sold (privacy)
    "c07": "rated 5 stars",                        # digit
    "c08": "10 out of 10",                         # digit, twice
    **{f"c{n:02}": f"a quiet comment number {'x' * n}" for n in range(9, 21)},
}

# hand codes: c99 is in no corpus and has no text; t1 brings its own text; c10 is uncoded
CODED = [
    {"id": "c01", "use": "own_use", "themes": []},
    {"id": "c02", "use": "no_use", "themes": []},
    {"id": "c04", "use": "own_use", "themes": []},
    {"id": "c05", "use": "no_use", "themes": ["cost"]},
    {"id": "c06", "use": "no_use", "themes": ["privacy"]},
    {"id": "c09", "use": "own_use", "themes": ["cost"]},
    {"id": "c99", "use": "own_use", "themes": []},
    {"id": "t1", "text": "I use it daily and it is free", "use": "own_use", "themes": []},
    {"id": "c10", "use": None, "themes": []},
]


@pytest.fixture
def files(tmp_path):
    book = tmp_path / "tiny.yaml"
    srsly.write_yaml(book, BOOK)
    corpus = tmp_path / "corpus.jsonl"
    srsly.write_jsonl(corpus, [{"id": k, "text": v} for k, v in TEXTS.items()])
    coded = tmp_path / "gold.jsonl"
    srsly.write_jsonl(coded, CODED)
    return {"book": str(book), "corpus": str(corpus), "coded": str(coded), "dir": tmp_path}


def lint(files, **kwargs):
    return lint_codebook(load_codebook(files["book"]), files["corpus"], **kwargs)


def by_id(result):
    return {p.id: p for p in result.patterns}


def test_counts_and_shares(files):
    result = lint(files)
    patterns = by_id(result)
    assert result.comments == 20 and not result.bad
    fires = {pid: p.fires for pid, p in patterns.items()}
    assert fires == {"i_use": 4, "i_use_it": 3, "homework": 1, "free": 1, "fee": 0,
                     "digit": 2, "my_data": 1, "data": 1, "sold": 1}
    assert result.share(patterns["i_use"]) == pytest.approx(0.2)
    assert result.share(patterns["homework"]) == pytest.approx(0.05)
    assert patterns["digit"].matches == 3  # "10 out of 10" matches twice, counts once


def test_never_firing_and_too_broad(files):
    result = lint(files)
    assert [p.id for p in result.never_firing] == ["fee"]
    # > 5%, i.e. 2 or more of 20: homework, free... at exactly 5% are not too broad
    assert [p.id for p in result.too_broad] == ["i_use", "i_use_it", "digit"]
    assert [p.id for p in lint(files, broad=0.15).too_broad] == ["i_use"]
    assert "never fires" in result.issues(by_id(result)["fee"])


def test_single_short_token(files):
    result = lint(files)
    # "5", "10", "10": one token of <= 2 characters each time; "free" is 4 characters
    assert [p.id for p in result.short_token] == ["digit"]
    srsly.write_jsonl(files["corpus"], [{"id": "y", "text": "since 2024"},
                                        {"id": "z", "text": "5 stars"}])
    assert lint(files).short_token == []  # one longer match clears it


def test_overlap_within_a_code_only(files):
    result = lint(files)
    # data and sold both fire on c06 alone (Jaccard 1.0); my_data fires there too, but
    # belongs to another code; i_use {c01-c04} vs i_use_it {c01-c03} is 3/4 = 0.75
    assert [(o.code, o.a, o.b, o.shared) for o in result.overlaps] == [
        ("privacy", "data", "sold", 1)]
    loose = lint(files, overlap=0.75).overlaps
    assert [(o.a, o.b, o.jaccard) for o in loose] == [
        ("i_use", "i_use_it", 0.75), ("data", "sold", 1.0)]


def test_snippets_show_the_match_in_context(files):
    result = lint(files, snippets=2)
    first, second = by_id(result)["i_use"].snippets
    assert (first.id, first.before, first.match, first.after) == ("c01", "", "i use",
                                                                    " it every night")
    assert second.id == "c02" and second.match == "I use"
    assert len(by_id(result)["i_use"].snippets) == 2
    text = "x" * 50 + " i use " + "y" * 50
    cut = snippet(text, 51, 56)
    assert cut.before == "…" + "x" * 39 + " " and cut.match == "i use"
    assert cut.after == " " + "y" * 39 + "…"


def test_precision_and_recall_against_hand_codes(files):
    result = lint(files, coded=files["coded"])
    patterns = by_id(result)
    precision = {pid: (p.coded_right, p.coded_fires) for pid, p in patterns.items()}
    assert precision == {
        "i_use": (3, 4),      # c01, c04, t1 own_use; c02 is no_use
        "i_use_it": (2, 3),   # c01, t1; not c02
        "homework": (1, 1),   # a veto: right where own_use is NOT coded (c02)
        "free": (1, 2),       # c05 has cost; t1 does not
        "fee": (0, 0), "digit": (0, 0),
        "my_data": (0, 1),    # c06 is coded privacy, not cost
        "data": (1, 1), "sold": (1, 1),
    }
    assert patterns["i_use"].precision == pytest.approx(0.75)
    assert patterns["fee"].precision is None
    coded = result.coded
    assert (coded.items, coded.used, coded.uncoded, coded.not_in_corpus) == (9, 7, 1, ["c99"])
    recall = [(r.code, r.positives, r.found, r.missed) for r in result.recall]
    # own_use: c01, c04, c09, t1, of which c09 has no match; cost: c05 found, c09 missed
    assert recall == [("own_use", 4, 3, 1), ("cost", 2, 1, 1), ("privacy", 1, 1, 0)]
    assert result.recall[0].missed_examples == [("c09", TEXTS["c09"])]


def test_json_output(files):
    result = CliRunner().invoke(main, ["codebook", "lint", files["book"], files["corpus"],
                                       "--coded", files["coded"], "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["codebook"] == "tiny@1" and data["comments"] == 20
    assert data["never_firing"] == ["fee"]
    assert data["too_broad"] == ["i_use", "i_use_it", "digit"]
    assert data["short_token"] == ["digit"]
    assert [(o["a"], o["b"], o["jaccard"]) for o in data["overlaps"]] == [("data", "sold", 1.0)]
    i_use = next(p for p in data["patterns"] if p["id"] == "i_use")
    assert (i_use["fires"], i_use["share"], i_use["precision"]) == (4, 0.2, 0.75)
    assert i_use["snippets"][0] == {"id": "c01", "line": 1, "before": "", "match": "i use",
                                    "after": " it every night"}
    assert data["coded"]["not_in_corpus"] == ["c99"]
    assert "c99" in result.stderr  # the ids left out are reported, not dropped silently


def test_markdown_output_to_a_file(files):
    out = files["dir"] / "lint.md"
    result = CliRunner().invoke(main, ["codebook", "lint", files["book"], files["corpus"],
                                       "--format", "markdown", "-o", str(out), "--broad", "0.15"])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert text.startswith("# Pattern lint: tiny@1")
    assert "| cost | fee: \"subscription fee\" | 1 | 0 | 0.0% | never fires |" in text
    assert "| own_use | i_use: \"i use\" | 1 | 4 | 20.0% | too broad (>15.0%) |" in text
    assert "| i_use | c01 | **i use** it every night |" in text
    assert "## Recall misses" not in text  # only with --coded


def test_table_output_default(files):
    result = CliRunner().invoke(main, ["codebook", "lint", files["book"], files["corpus"]])
    assert result.exit_code == 0, result.output
    assert "tiny@1 on" in result.stdout and "never fires" in result.stdout
    assert "[i use] it every night" in result.stdout


def test_bad_paths_are_one_line_errors(files):
    missing = str(files["dir"] / "nope.jsonl")
    result = CliRunner().invoke(main, ["codebook", "lint", files["book"], missing])
    assert result.exit_code == 2 and "nope.jsonl" in result.output
    assert "does not exist" in result.output
    result = CliRunner().invoke(main, ["codebook", "lint", str(files["dir"] / "nope.yaml"),
                                       files["corpus"]])
    assert result.exit_code == 1 and "nope.yaml" in result.output
    with pytest.raises(InputError, match="nope.jsonl: no such file"):
        lint_codebook(load_codebook(files["book"]), missing)


def test_bad_coded_value_names_file_line_and_field(files):
    srsly.write_jsonl(files["coded"], [{"id": "c01", "use": "own_use", "themes": []},
                                       {"id": "c02", "use": "bogus", "themes": []}])
    result = CliRunner().invoke(main, ["codebook", "lint", files["book"], files["corpus"],
                                       "--coded", files["coded"]])
    assert result.exit_code == 1
    assert f"{files['coded']}, line 2, field 'use'" in " ".join(result.output.split())


def test_invalid_regex_names_the_pattern(files):
    bad = {**BOOK, "tiers": [BOOK["tiers"][0], {
        "id": "themes", "type": "multi", "codes": [{"id": "cost", "definition": "price",
            "patterns": [{"id": "money", "tokens": [{"TEXT": {"REGEX": "(\\$"}}]}]}]}]}
    srsly.write_yaml(files["book"], bad)
    with pytest.raises(CodebookError,
                       match=r"code 'cost' pattern 'money': invalid token pattern: missing \)"):
        load_lint_codebook(files["book"])
    result = CliRunner().invoke(main, ["codebook", "lint", files["book"], files["corpus"]])
    assert result.exit_code == 1 and "invalid token pattern: missing )" in result.output
    assert "Traceback" not in result.output


def test_no_readable_comment_is_an_error(files):
    with pytest.raises(InputError, match="no comment could be read .*missing text field"):
        lint(files, text_field="body")


def test_output_may_not_replace_the_corpus(files):
    result = CliRunner().invoke(main, ["codebook", "lint", files["book"], files["corpus"],
                                       "-o", files["corpus"]])
    assert result.exit_code == 1 and "would replace the corpus" in result.output
