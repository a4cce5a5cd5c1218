"""`themekit evaluate` against a tiny hand-made gold file with hand-computed scores."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from themekit.cli import main
from themekit.codebook import load_codebook
from themekit.io.coded import Labels
from themekit.analysis.evaluate import evaluate, evaluate_files, read_gold
from themekit.errors import InputError

REF = "llm-mental-health@1"

GOLD = [
    {"id": "a", "experience": "personal_use", "attitude": "positive",
     "themes": ["emotional_support"], "flags": []},
    {"id": "b", "experience": "personal_use", "attitude": "negative",
     "themes": ["generic_responses", "privacy"], "flags": ["pii.url"]},
    {"id": "c", "experience": "no_personal_use", "attitude": "neutral", "themes": [], "flags": []},
    {"id": "d", "experience": "no_personal_use", "attitude": "positive",
     "themes": ["accessibility"], "flags": []},
    {"id": "e", "experience": "no_personal_use", "attitude": "neutral", "themes": [], "flags": []},
]
SYSTEM = [
    ("a", "personal_use", "positive", ["benefit", "emotional_support"], []),
    ("b", "no_personal_use", "negative", ["concern", "generic_responses"], ["pii.url"]),
    ("c", "no_personal_use", "neutral", ["concern", "privacy"], []),
    ("d", "personal_use", "positive", [], []),
    ("z", "no_personal_use", "neutral", [], []),
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def files(tmp_path):
    coded = write_jsonl(tmp_path / "coded.jsonl", [
        {"id": i, "text": "...", "themekit": {
            "codebook": REF, "codes": {"experience": e, "attitude": a, "themes": t}, "flags": f}}
        for i, e, a, t, f in SYSTEM])
    return coded, write_jsonl(tmp_path / "gold.jsonl", GOLD)


def test_scores_match_hand_computed_values(files):
    result = evaluate_files(*files)
    assert (result.n, result.n_gold, result.missing) == (4, 5, ["e"])

    experience = result.tiers["experience"]
    use = experience.codes["personal_use"]
    assert (use.tp, use.fp, use.fn, use.tn) == (1, 1, 1, 1)
    assert (use.precision, use.recall, use.support) == (0.5, 0.5, 2)
    assert experience.accuracy == 0.5
    assert experience.kappa == pytest.approx(0.0)  # observed 0.5 = chance 0.5

    attitude = result.tiers["attitude"]
    assert attitude.accuracy == 1.0 and attitude.kappa == pytest.approx(1.0)
    assert attitude.codes["mixed"].f1 is None  # neither gold nor system ever says mixed
    assert attitude.macro_f1 == 1.0

    themes = result.tiers["themes"]
    assert themes.codes["emotional_support"].f1 == 1.0
    access = themes.codes["accessibility"]
    assert (access.precision, access.recall, access.f1) == (None, 0.0, 0.0)
    privacy = themes.codes["privacy"]
    assert (privacy.tp, privacy.fp, privacy.fn, privacy.tn) == (0, 1, 1, 2)
    assert themes.codes["dependency"].f1 is None
    assert themes.macro_f1 == pytest.approx(0.5)  # mean of 0, 1, 0, 1 over defined leaves
    assert themes.accuracy == 0.25  # only "a" has exactly the gold leaf codes
    leaves = [s for s in themes.codes.values() if s.leaf]
    tp, fp, fn = (sum(getattr(s, k) for s in leaves) for k in ("tp", "fp", "fn"))
    assert (tp, fp, fn) == (2, 1, 2)
    assert themes.micro_f1 == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))  # pooled, not averaged
    assert experience.micro_f1 is None
    benefit = themes.codes["benefit"]  # gold parents follow from children
    assert not benefit.leaf and (benefit.tp, benefit.fn) == (1, 1)

    assert result.flags.codes["pii.url"].tp == 1
    assert result.flags.macro_f1 == 1.0


def test_json_has_confusion_counts_per_code(files, tmp_path):
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(main, ["evaluate", *map(str, files), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "4 matched" in result.output and "1 not found" in result.output
    data = json.loads(out.read_text())
    assert data["codebook"] == REF and data["n"] == 4 and data["missing"] == 1
    assert data["tiers"]["experience"]["codes"]["personal_use"] == {
        "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2,
        "tp": 1, "fp": 1, "fn": 1, "tn": 1}
    # privacy on a, b, c, d: gold 0 1 0 0, system 0 0 1 0; observed 0.5, chance 0.625
    assert data["tiers"]["themes"]["codes"]["privacy"]["kappa"] == pytest.approx(-1 / 3)
    assert set(data["flags"]["codes"]) == set(load_codebook("llm-mental-health").detectors)
    # records without a model record were coded by rules alone; "z" is not in the gold
    assert data["coded_by"] == {f"the rules of {REF} alone (no model)": 4}
    assert f"coded by the rules of {REF} alone (no model): 4 of the matched" in result.output


def test_coded_by_counts_each_system_on_the_scored_records(files):
    coded, gold = files
    rows = [json.loads(line) for line in coded.read_text().splitlines()]
    rows[0]["themekit"]["model"] = {"name": "m", "codebook": REF, "sha256": "ab" * 32}
    write_jsonl(coded, rows)
    result = evaluate_files(coded, gold)
    assert result.coded_by == {f"the rules of {REF} alone (no model)": 3,
                               f"model m (sha256 {'ab' * 6}) and the rules of {REF}": 1}


def test_core_takes_several_systems_on_one_gold(tmp_path):
    book = load_codebook("llm-mental-health")
    gold = read_gold(write_jsonl(tmp_path / "g.jsonl", GOLD), book)
    perfect = ((g_id, labels) for g_id, labels in gold.items())
    assert evaluate(book, perfect, gold).tiers["themes"].accuracy == 1.0
    always_default = ((g_id, Labels({"experience": "no_personal_use", "attitude": "neutral",
                                     "themes": frozenset()})) for g_id in gold)
    result = evaluate(book, always_default, gold)
    assert result.flags.codes["pii.url"].fn == 1  # no flags predicted: all missed
    assert result.tiers["experience"].codes["personal_use"].recall == 0.0


def test_gold_with_a_byte_order_mark_or_a_bad_byte(files, tmp_path):
    coded, gold = files
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + gold.read_bytes())
    assert evaluate_files(coded, bom).n == 4
    lines = gold.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"neutral", b"neutr\xe9l")
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b"".join(lines))
    with pytest.raises(InputError, match=f"{latin}, line 3: not valid UTF-8"):
        evaluate_files(coded, latin)


def test_a_gold_id_coded_twice_is_refused(files):
    coded, gold = files
    coded.write_text(coded.read_text() + coded.read_text().splitlines()[0] + "\n")
    with pytest.raises(ValueError, match="hold gold id 'a' twice"):
        evaluate_files(coded, gold)


def test_gold_without_flags_scores_no_flags(files, tmp_path):
    coded, _ = files
    gold = write_jsonl(tmp_path / "g.jsonl", [{k: v for k, v in g.items() if k != "flags"}
                                              for g in GOLD])
    assert evaluate_files(coded, gold).flags is None


def test_unknown_code_in_gold_names_file_line_field(files, tmp_path):
    coded, _ = files
    rows = [GOLD[0], {**GOLD[1], "themes": ["privacy", "loneliness"]}]
    gold = write_jsonl(tmp_path / "g.jsonl", rows)
    with pytest.raises(InputError, match=r"g\.jsonl, line 2, field 'themes': unknown code "
                                         r"'loneliness'"):
        evaluate_files(coded, gold)
    gold = write_jsonl(tmp_path / "g.jsonl", [{**GOLD[0], "flags": ["pii.fax"]}])
    with pytest.raises(InputError, match=r"line 1, field 'flags': unknown flag 'pii.fax'"):
        evaluate_files(coded, gold)
    # a parent alone would be neither right nor wrong for any of its children
    gold = write_jsonl(tmp_path / "g.jsonl", [{**GOLD[0], "themes": ["concern"]}])
    with pytest.raises(InputError, match=r"line 1, field 'themes': parent code 'concern' "
                                         r"without any of its children \(privacy, "):
        evaluate_files(coded, gold)


def test_confusion_counts_are_integers_when_no_prediction_is_right(files, tmp_path):
    coded, _ = files
    gold = write_jsonl(tmp_path / "g.jsonl", [{**GOLD[0], "id": "b"}])  # b is coded otherwise
    data = evaluate_files(coded, gold).to_json()
    counts = data["tiers"]["experience"]["codes"]["personal_use"]
    assert [counts[k] for k in ("tp", "fp", "fn", "tn")] == [0, 0, 1, 0]
    assert all(type(counts[k]) is int for k in ("tp", "fp", "fn", "tn"))


def test_bad_gold_line_and_missing_tier(files, tmp_path):
    coded, _ = files
    gold = tmp_path / "g.jsonl"
    gold.write_text(json.dumps(GOLD[0]) + "\n{oops\n")
    with pytest.raises(InputError, match=r"g\.jsonl, line 2: invalid JSON"):
        evaluate_files(coded, gold)
    write_jsonl(gold, [{k: v for k, v in GOLD[0].items() if k != "attitude"}])
    with pytest.raises(InputError, match=r"line 1, field 'attitude': missing"):
        evaluate_files(coded, gold)
    write_jsonl(gold, [GOLD[0], GOLD[0]])
    with pytest.raises(InputError, match="line 2, field 'id': duplicate id 'a'"):
        evaluate_files(coded, gold)


def test_no_matching_ids_is_an_error(files, tmp_path):
    coded, _ = files
    gold = write_jsonl(tmp_path / "g.jsonl", [{**GOLD[0], "id": "nobody"}])
    with pytest.raises(ValueError, match="none of the 1 gold ids"):
        evaluate_files(coded, gold)
    result = CliRunner().invoke(main, ["evaluate", str(coded), str(gold)])
    assert result.exit_code == 1 and "error:" in result.output


def test_real_dev_gold_smoke(shared_data, nlp, tmp_path):
    """The 150 hand-coded ids, coded by the rules: every id matches, scores are sane."""
    gold_ids = {json.loads(line)["id"] for line in open(shared_data / "dev-gold.jsonl")}
    records = [r for line in open(shared_data / "comments-10k.jsonl")
               if (r := json.loads(line))["id"] in gold_ids]
    coded = tmp_path / "coded.jsonl"
    with open(coded, "w") as out:
        for doc, record in nlp.pipe(((r["text"], r) for r in records), as_tuples=True):
            out.write(json.dumps({**record, "themekit": doc._.themekit.to_json()}) + "\n")
    result = evaluate_files(coded, shared_data / "dev-gold.jsonl")
    assert result.n == 150 and not result.missing
    for tier in result.tiers.values():
        assert 0.0 <= tier.accuracy <= 1.0
        assert tier.kappa is not None and tier.kappa > 0  # better than chance
