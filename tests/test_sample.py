"""Sampling: reproducible draws, stratification, exclusion, bad records, uncertainty, CLI."""

from __future__ import annotations

import csv
import json
import random
from dataclasses import replace
from pathlib import Path

import pytest
import spacy
from click.testing import CliRunner
from spacy.language import Language

from themekit.cli import main
from themekit.errors import InputError
from themekit.codebook import load_codebook
from themekit.io.records import Record, read_records
from themekit.handcoding.sample import allocate, draw_sample
from themekit.io.sheets import blank_item, read_sheet, write_sheet

SOURCES = {"tiktok": 30, "reddit": 15, "google-play": 4, "forum": 1}


@pytest.fixture(scope="module")
def mh():
    return load_codebook("llm-mental-health")


def write_corpus(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def corpus(tmp_path) -> Path:
    rows = [{"id": f"{source}-{i}", "text": f"comment {i} from {source}", "source": source}
            for source, count in SOURCES.items() for i in range(count)]
    return write_corpus(tmp_path / "corpus.jsonl", rows)


def ids(result) -> list[str]:
    return [item.id for item in result.items]


def test_allocation_is_proportional_with_at_least_one_each():
    sizes = {"a": 30, "b": 15, "c": 4, "d": 1}
    alloc = allocate(10, sizes)
    assert sum(alloc.values()) == 10
    assert all(alloc[s] >= 1 for s in sizes)
    assert alloc["a"] > alloc["b"] > alloc["c"] >= alloc["d"]
    assert allocate(3, sizes) == {"a": 2, "b": 1, "c": 0, "d": 0}  # fewer items than strata
    assert allocate(100, sizes) == sizes  # asking for more than there is takes everything
    assert allocate(49, sizes)["d"] == 1  # never more than a stratum holds


def test_draw_is_reproducible_and_independent_of_file_order(tmp_path, corpus, mh):
    first = draw_sample(str(corpus), 12, mh, seed=4)
    again = draw_sample(str(corpus), 12, mh, seed=4)
    other_seed = draw_sample(str(corpus), 12, mh, seed=5)
    lines = corpus.read_text().splitlines()
    random.Random(1).shuffle(lines)
    shuffled = tmp_path / "shuffled.jsonl"
    shuffled.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert ids(first) == ids(again)
    assert set(ids(first)) != set(ids(other_seed))
    assert set(ids(draw_sample(str(shuffled), 12, mh, seed=4))) == set(ids(first))
    assert len(set(ids(first))) == 12 and first.pool == 50


def test_stratified_draw_follows_the_allocation(corpus, mh):
    result = draw_sample(str(corpus), 10, mh, by="source")
    drawn: dict[str, int] = {}
    for item in result.items:
        drawn[item.id.rsplit("-", 1)[0]] = drawn.get(item.id.rsplit("-", 1)[0], 0) + 1
    expected = allocate(10, SOURCES)
    assert drawn == {s: n for s, n in expected.items() if n}
    assert result.strata == {s: (SOURCES[s], expected[s]) for s in sorted(SOURCES)}


def test_records_without_the_stratum_field_form_their_own_stratum(tmp_path, mh):
    rows = ([{"id": f"t{i}", "text": "x", "source": "tiktok"} for i in range(4)]
            + [{"id": "m1", "text": "x"}, {"id": "m2", "text": "x", "source": ""},
               {"id": "n1", "text": "x", "source": 7}])
    result = draw_sample(str(write_corpus(tmp_path / "c.jsonl", rows)), 7, mh, by="source")
    assert result.strata == {"(missing)": (2, 2), "7": (1, 1), "tiktok": (4, 4)}


def test_exclude_drops_ids_already_coded(tmp_path, corpus, mh):
    coded = tmp_path / "coded.jsonl"
    coded.write_text("".join(json.dumps({"id": f"tiktok-{i}", "experience": "personal_use"})
                             + "\n" for i in range(30)), encoding="utf-8")
    result = draw_sample(str(corpus), 40, mh, exclude=[str(coded)])
    assert result.excluded == 30 and result.pool == 20
    assert not any(i.startswith("tiktok") for i in ids(result))
    assert len(result.items) == 20


def test_exclude_reads_a_plain_id_list(tmp_path, corpus, mh):
    held_out = tmp_path / "reserved-ids.txt"
    held_out.write_text("reddit-0\n\nreddit-1\n  forum-0  \n", encoding="utf-8")
    result = draw_sample(str(corpus), 50, mh, exclude=[str(held_out)])
    assert result.excluded == 3
    assert not {"reddit-0", "reddit-1", "forum-0"} & set(ids(result))


def test_match_draws_only_among_texts_the_expression_finds(corpus, mh):
    result = draw_sample(str(corpus), 50, mh, match=r"FROM (reddit|forum)\b")
    assert result.unmatched == 34 and result.pool == 16
    assert {i.split("-")[0] for i in ids(result)} == {"reddit", "forum"}


def test_match_that_is_no_expression_is_a_clear_error(corpus, mh):
    with pytest.raises(ValueError, match="not a regular expression"):
        draw_sample(str(corpus), 5, mh, match="privacy|(")


def test_cli_match_reports_what_it_left_out(tmp_path, corpus):
    out = tmp_path / "s.jsonl"
    result = CliRunner().invoke(main, ["sample", str(corpus), "-n", "3", "-o", str(out),
                                       "--match", "google-play"])
    assert result.exit_code == 0, result.output
    assert "drew 3 of 4 comments" in result.output and "not matching --match 46" in result.output


def test_bad_records_are_reported_not_lost(tmp_path, mh):
    path = tmp_path / "messy.jsonl"
    path.write_text("\n".join([
        json.dumps({"id": "ok-1", "text": "fine"}),
        "{not json",
        json.dumps({"id": "no-text"}),
        json.dumps({"text": "no id"}),
        json.dumps({"id": "ok-1", "text": "duplicate"}),
        json.dumps({"id": "ok-2", "text": "fine too"}),
    ]) + "\n", encoding="utf-8")
    result = draw_sample(str(path), 5, mh)
    assert sorted(ids(result)) == ["ok-1", "ok-2"]
    reasons = {bad.line: bad.reason for bad in result.bad}
    assert sorted(reasons) == [2, 3, 4, 5]
    assert "invalid JSON" in reasons[2] and "missing id" in reasons[4]
    assert "duplicate id 'ok-1'" in reasons[5]


def test_sheet_fields_and_csv_round_trip(tmp_path, corpus, mh):
    out = tmp_path / "sheet.csv"
    result = CliRunner().invoke(main, ["sample", str(corpus), "-n", "6", "-o", str(out),
                                       "--by", "source"])
    assert result.exit_code == 0, result.output
    assert "drew 6 of 50 comments" in result.output
    items = read_sheet(out, mh)
    assert len(items) == 6
    assert all(not it.is_coded(mh) and it.coder is None and it.flags == () for it in items)
    assert all(it.codes == {"experience": None, "attitude": None, "themes": ()} for it in items)
    jsonl = tmp_path / "sheet.jsonl"
    CliRunner().invoke(main, ["sample", str(corpus), "-n", "6", "-o", str(jsonl), "--by",
                              "source"])
    row = json.loads(jsonl.read_text().splitlines()[0])
    assert row == {"id": row["id"], "text": row["text"], "source": row["source"],
                   "experience": None, "attitude": None, "themes": [], "flags": [],
                   "coder": None}  # the record's other fields stay, the stratum among them
    assert [it.id for it in items] == [json.loads(line)["id"]
                                       for line in jsonl.read_text().splitlines()]


def test_keep_fields_chooses_the_context_a_sheet_keeps(tmp_path, mh):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"r{i}", "text": f"comment {i}", "rating": i,
                                          "source": "app", "title": "a thread"}) + "\n"
                              for i in range(5)), encoding="utf-8")
    sheets = {}
    for name, keep in (("all", []), ("some", ["--keep-fields", "rating, title"]),
                       ("none", ["--keep-fields", ""])):
        out = tmp_path / f"{name}.jsonl"
        result = CliRunner().invoke(main, ["sample", str(corpus), "-n", "2", "-o", str(out),
                                           *keep])
        assert result.exit_code == 0, result.output
        sheets[name] = [json.loads(line) for line in out.read_text().splitlines()]
    base = {"id", "text", "experience", "attitude", "themes", "flags", "coder"}
    assert set(sheets["all"][0]) == base | {"rating", "source", "title"}
    assert set(sheets["some"][0]) == base | {"rating", "title"}
    assert set(sheets["none"][0]) == base
    assert [r["id"] for r in sheets["all"]] == [r["id"] for r in sheets["none"]]  # same draw
    assert len(read_sheet(tmp_path / "all.jsonl", mh)) == 2  # still a valid sheet


def test_a_sheet_with_or_without_a_byte_order_mark_is_read(tmp_path, corpus, mh):
    """Excel writes CSV with a byte-order mark, which must not become part of 'id'."""
    out = tmp_path / "sheet.csv"
    CliRunner().invoke(main, ["sample", str(corpus), "-n", "3", "-o", str(out)])
    assert out.read_bytes().startswith(b"\xef\xbb\xbfid,")  # so Excel reads it as UTF-8
    excel = tmp_path / "excel.csv"
    excel.write_bytes(out.read_bytes()[3:])
    assert [it.id for it in read_sheet(excel, mh)] == [it.id for it in read_sheet(out, mh)]
    excel.write_bytes(out.read_bytes().replace(b"comment", b"caf\xe9", 1))
    with pytest.raises(InputError, match=f"{excel}, line 2: not valid UTF-8"):
        read_sheet(excel, mh)


def test_a_csv_sheet_keeps_spreadsheets_from_running_texts_as_formulas(tmp_path, mh):
    texts = ["=HYPERLINK(\"http://x.example\",\"click\")", "- it helps", "+1 for this",
             "@bot hi", "'=already quoted", "'tis fine", "plain"]
    items = [replace(blank_item(str(i), text, mh), data={"note": text})
             for i, text in enumerate(texts)]
    out = tmp_path / "sheet.csv"
    write_sheet(out, items, mh)
    cells = [row["text"] for row in csv.DictReader(out.read_text("utf-8-sig").splitlines())]
    assert cells == ["'=HYPERLINK(\"http://x.example\",\"click\")", "'- it helps",
                     "'+1 for this", "'@bot hi", "''=already quoted", "'tis fine", "plain"]
    back = read_sheet(out, mh)
    assert [it.text for it in back] == texts
    assert [it.data["note"] for it in back] == texts
    as_corpus = [r for r in read_records(str(out)) if isinstance(r, Record)]
    assert [r.text for r in as_corpus] == texts  # annotate, sample and --texts read it so


def test_exclude_reads_a_csv_sheet(tmp_path, corpus, mh):
    first = tmp_path / "first.csv"
    CliRunner().invoke(main, ["sample", str(corpus), "-n", "5", "-o", str(first)])
    result = draw_sample(str(corpus), 50, mh, exclude=[str(first)])
    assert result.excluded == 5
    assert not {it.id for it in result.items} & {it.id for it in read_sheet(first, mh)}


def test_cli_rejects_a_bad_size(corpus, tmp_path):
    result = CliRunner().invoke(main, ["sample", str(corpus), "-n", "0", "-o",
                                       str(tmp_path / "s.jsonl")])
    assert result.exit_code == 2 and "Invalid value for '-n': must be at least 1" in result.output


# --- uncertainty sampling, with a stand-in for a trained text categorizer ---------------

FAKE_SCORES = {
    "alpha text": {"personal_use": 0.52},  # 0.02 from its threshold: least sure
    "beta text": {"privacy": 0.7},  # 0.2
    "delta text": {"privacy": 0.05},  # 0.45
    "gamma text": {},  # no model score at all: every code at 0, 0.5 from the threshold
}


class FakeCategorizer:
    """Sets doc.cats from a fixed table, like a trained textcat would from its weights."""

    def __init__(self, scores: dict[str, dict[str, float]], labels: list[str]) -> None:
        self.scores = scores
        self.labels = tuple(labels)

    def __call__(self, doc):
        doc.cats = dict(self.scores.get(doc.text, {}))
        return doc


@Language.factory("themekit_test_fake_textcat",
                  default_config={"scores": {}, "labels": []})
def make_fake_textcat(nlp, name, scores, labels):
    return FakeCategorizer(scores, labels)


def fake_model(mh) -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("themekit_test_fake_textcat",
                 config={"scores": FAKE_SCORES, "labels": list(mh.codes)})
    nlp.add_pipe("themekit", config={"codebook": "llm-mental-health"})
    return nlp


@pytest.fixture
def fake_corpus(tmp_path) -> Path:
    rows = [{"id": text.split()[0], "text": text} for text in FAKE_SCORES]
    return write_corpus(tmp_path / "fake.jsonl", rows)


def test_uncertainty_sampling_picks_scores_nearest_thresholds(fake_corpus, mh):
    result = draw_sample(str(fake_corpus), 2, mh, nlp=fake_model(mh))
    assert set(ids(result)) == {"alpha", "beta"}
    assert result.margins == pytest.approx({"alpha": 0.02, "beta": 0.2})


def test_uncertainty_sampling_refuses_rule_scores(fake_corpus, mh, nlp):
    with pytest.raises(ValueError, match="needs a trained model"):
        draw_sample(str(fake_corpus), 2, mh, nlp=nlp)


def test_cli_model_option_loads_a_saved_pipeline(tmp_path, fake_corpus, mh):
    model_dir = tmp_path / "model"
    fake_model(mh).to_disk(model_dir)
    out = tmp_path / "hard.jsonl"
    result = CliRunner().invoke(main, ["sample", str(fake_corpus), "-n", "3", "-o", str(out),
                                       "--model", str(model_dir)])
    assert result.exit_code == 0, result.output
    assert "by uncertainty" in result.output
    assert {it.id for it in read_sheet(out, mh)} == {"alpha", "beta", "delta"}
